//! The error type of this crate.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while reading a GGUF file or building its tokenizer.
///
/// Errors about the file's contents name what is wrong and the byte offset (from the start
/// of the file) where the offending field begins.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GgufError {
    /// The file could not be opened or its size could not be read.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// An I/O error while reading.
    #[error("I/O error at byte {offset}: {source}")]
    Io {
        /// Where the read started.
        offset: u64,
        /// The I/O error.
        source: io::Error,
    },
    /// The first four bytes are not `GGUF`.
    #[error("not a GGUF file: bytes 0..4 are {found:02x?}, expected \"GGUF\"")]
    BadMagic {
        /// The bytes found.
        found: [u8; 4],
    },
    /// The file is a big-endian GGUF, which this reader does not support.
    #[error("big-endian GGUF files are not supported (version field at byte 4 reads {raw:#010x})")]
    BigEndian {
        /// The version field as read little-endian.
        raw: u32,
    },
    /// A GGUF version other than 2 or 3.
    #[error("unsupported GGUF version {version} at byte 4 (supported: 2, 3)")]
    UnsupportedVersion {
        /// The version found.
        version: u32,
    },
    /// The file ends before a field that the header says is there.
    #[error("file truncated: {what} at byte {offset} needs {needed} bytes, only {available} left")]
    Truncated {
        /// What was being read.
        what: String,
        /// Where it starts.
        offset: u64,
        /// Bytes it needs.
        needed: u64,
        /// Bytes left in the file.
        available: u64,
    },
    /// A string length larger than the bytes left in the file.
    #[error("{what} at byte {offset} claims a length of {len} bytes, only {available} left")]
    StringTooLong {
        /// Which string.
        what: String,
        /// Where its length field starts.
        offset: u64,
        /// The claimed length.
        len: u64,
        /// Bytes left in the file after the length field.
        available: u64,
    },
    /// An array claims more elements than the bytes left in the file can hold.
    #[error(
        "{what} at byte {offset} claims {count} elements of at least {min_element_bytes} bytes, only {available} bytes left"
    )]
    ArrayTooLong {
        /// Which array.
        what: String,
        /// Where its count field starts.
        offset: u64,
        /// The claimed element count.
        count: u64,
        /// The smallest size one element can take.
        min_element_bytes: u64,
        /// Bytes left in the file after the count field.
        available: u64,
    },
    /// The tensor or metadata count of the header is more than the file could hold.
    #[error(
        "absurd {what} {count} at byte {offset}: each needs at least {min_bytes} bytes, only {available} bytes left"
    )]
    CountTooLarge {
        /// `"tensor count"` or `"metadata key/value count"`.
        what: &'static str,
        /// Where the count field starts.
        offset: u64,
        /// The claimed count.
        count: u64,
        /// The smallest size of one item.
        min_bytes: u64,
        /// Bytes left in the file after the header.
        available: u64,
    },
    /// The header (metadata and tensor table) is larger than the limit this reader accepts.
    #[error("GGUF header runs past {limit} bytes at byte {offset}; refusing to read more")]
    HeaderTooLarge {
        /// Where the read that crossed the limit starts.
        offset: u64,
        /// The limit ([`crate::MAX_HEADER_BYTES`]).
        limit: u64,
    },
    /// An unknown metadata value type.
    #[error("{what} at byte {offset} has unknown value type {type_id}")]
    InvalidValueType {
        /// Which value.
        what: String,
        /// Where the type field starts.
        offset: u64,
        /// The type id found.
        type_id: u32,
    },
    /// Arrays nested deeper than [`crate::MAX_ARRAY_NESTING`].
    #[error("{what} at byte {offset}: arrays nested deeper than {max}")]
    NestingTooDeep {
        /// Which value.
        what: String,
        /// Where the nested array starts.
        offset: u64,
        /// The maximum depth.
        max: usize,
    },
    /// A bool metadata value that is neither 0 nor 1.
    #[error("{what} at byte {offset}: invalid bool byte {value}")]
    InvalidBool {
        /// Which value.
        what: String,
        /// Where the byte is.
        offset: u64,
        /// The byte found.
        value: u8,
    },
    /// The same metadata key twice.
    #[error("duplicate metadata key {key:?} at byte {offset}")]
    DuplicateKey {
        /// The key.
        key: String,
        /// Where its second occurrence starts.
        offset: u64,
    },
    /// The same tensor name twice.
    #[error("duplicate tensor name {name:?} at byte {offset}")]
    DuplicateTensor {
        /// The name.
        name: String,
        /// Where its second tensor info starts.
        offset: u64,
    },
    /// A tensor with more than 4 dimensions (or none).
    #[error("tensor {name:?} (info at byte {offset}) has {n_dims} dimensions; 1 to 4 allowed")]
    InvalidDimCount {
        /// The tensor.
        name: String,
        /// Where its info starts.
        offset: u64,
        /// The number of dimensions found.
        n_dims: u32,
    },
    /// A dimension that does not fit ggml's signed 64-bit sizes, or whose product overflows.
    #[error(
        "tensor {name:?} (info at byte {offset}) has dimensions {dims:?} whose element count overflows"
    )]
    DimsOverflow {
        /// The tensor.
        name: String,
        /// Where its info starts.
        offset: u64,
        /// The dimensions.
        dims: Vec<u64>,
    },
    /// A ggml type id this crate does not know (or that ggml removed).
    #[error("tensor {name:?} has unknown ggml type {type_id} (type field at byte {offset})")]
    UnknownGgmlType {
        /// The tensor.
        name: String,
        /// Where the type field starts.
        offset: u64,
        /// The id found.
        type_id: u32,
    },
    /// A tensor whose rows are not a whole number of blocks of its type.
    #[error(
        "tensor {name:?} (info at byte {offset}): first dimension {ne0} is not a multiple of the {ggml_type} block size {block_size}"
    )]
    PartialBlock {
        /// The tensor.
        name: String,
        /// Where its info starts.
        offset: u64,
        /// The first dimension.
        ne0: u64,
        /// The tensor type.
        ggml_type: crate::GgmlType,
        /// Its block size.
        block_size: u64,
    },
    /// `general.alignment` is not a non-zero power of two that fits `u32`, or not an integer.
    #[error("general.alignment at byte {offset} is {value}; it must be a power of two")]
    InvalidAlignment {
        /// Where the key/value starts.
        offset: u64,
        /// The value found, as text.
        value: String,
    },
    /// A tensor offset that is not a multiple of the alignment.
    #[error(
        "tensor {name:?} (info at byte {offset}) has data offset {data_offset}, not a multiple of the alignment {alignment}"
    )]
    MisalignedTensor {
        /// The tensor.
        name: String,
        /// Where its info starts.
        offset: u64,
        /// Its offset inside the data section.
        data_offset: u64,
        /// The alignment.
        alignment: u64,
    },
    /// A tensor whose data runs past the end of the file.
    #[error(
        "tensor {name:?} (info at byte {offset}) spans bytes {start}..{end} of the file, past its end at {file_size}"
    )]
    TensorOutOfBounds {
        /// The tensor.
        name: String,
        /// Where its info starts.
        offset: u64,
        /// Absolute start of its data (saturated at `u64::MAX`).
        start: u64,
        /// Absolute end of its data (saturated at `u64::MAX`).
        end: u64,
        /// The file size.
        file_size: u64,
    },
    /// Two tensors whose data overlap.
    #[error(
        "tensor {name:?} at file bytes {start}..{end} overlaps tensor {other:?} ending at byte {other_end}"
    )]
    TensorOverlap {
        /// The later tensor.
        name: String,
        /// Absolute start of its data.
        start: u64,
        /// Absolute end of its data.
        end: u64,
        /// The tensor it overlaps.
        other: String,
        /// Absolute end of the other tensor's data.
        other_end: u64,
    },
    /// The data section would start past the end of the file.
    #[error(
        "the tensor data section starts at byte {data_offset}, past the end of the file at {file_size}"
    )]
    DataSectionOutOfBounds {
        /// Where the data section starts.
        data_offset: u64,
        /// The file size.
        file_size: u64,
    },
    /// A metadata key that is needed is missing.
    #[error("metadata key {key:?} is missing")]
    MissingKey {
        /// The key.
        key: String,
    },
    /// A metadata value has the wrong type.
    #[error("metadata key {key:?} (at byte {offset}) is {found}, expected {expected}")]
    WrongType {
        /// The key.
        key: String,
        /// Where the key/value starts.
        offset: u64,
        /// The expected type, in words.
        expected: &'static str,
        /// The type found, in words.
        found: String,
    },
    /// A `tokenizer.ggml.model` this crate cannot build.
    #[error("unsupported tokenizer model {model:?} (supported: \"gpt2\", \"llama\")")]
    UnsupportedTokenizer {
        /// The model name.
        model: String,
    },
    /// The vocabulary is inconsistent (a merge of unknown tokens, arrays of different lengths ...).
    #[error("invalid tokenizer data: {reason}")]
    InvalidTokenizer {
        /// What is wrong.
        reason: String,
    },
    /// The `tokenizers` crate refused what was built.
    #[error("building the tokenizer failed: {reason}")]
    TokenizerBuild {
        /// Its message.
        reason: String,
    },
}

/// Everything that can go wrong while writing a GGUF file with [`crate::GgufWriter`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GgufWriteError {
    /// The output refused bytes.
    #[error("writing the GGUF file failed at byte {offset}: {source}")]
    Io {
        /// How many bytes had been written before the failure.
        offset: u64,
        /// The I/O error.
        source: io::Error,
    },
    /// The same metadata key twice.
    #[error("metadata key {key:?} is set twice; each key may appear once")]
    DuplicateKey {
        /// The key.
        key: String,
    },
    /// The same tensor name twice.
    #[error("tensor {name:?} is added twice; each tensor name may appear once")]
    DuplicateTensor {
        /// The name.
        name: String,
    },
    /// `general.alignment` that is not a power of two fitting `u32`.
    #[error("general.alignment must be an integer power of two up to 2^31, not {value}")]
    InvalidAlignment {
        /// The value given, as text.
        value: String,
    },
    /// A tensor with no dimensions or more than four.
    #[error("tensor {name:?} has {n_dims} dimensions; GGUF allows 1 to 4")]
    InvalidDimCount {
        /// The tensor.
        name: String,
        /// The number of dimensions given.
        n_dims: usize,
    },
    /// Dimensions that are not a whole number of blocks of the type, or whose size overflows.
    #[error(
        "tensor {name:?} of type {ggml_type} cannot have dimensions {dims:?}: the first must be a multiple of the block size {block_size} and the size must fit 64 bits"
    )]
    InvalidShape {
        /// The tensor.
        name: String,
        /// Its type.
        ggml_type: crate::GgmlType,
        /// The dimensions given.
        dims: Vec<u64>,
        /// The block size of the type.
        block_size: u64,
    },
    /// Tensor data of the wrong length.
    #[error(
        "tensor {name:?} needs exactly {expected} bytes of data for its type and dimensions, got {got}"
    )]
    DataLength {
        /// The tensor.
        name: String,
        /// Bytes its type and dimensions need.
        expected: u64,
        /// Bytes given.
        got: u64,
    },
    /// Tensor data given in another order than the tensors were added.
    #[error(
        "data for tensor {got:?} given while tensor {expected} is next; write tensor data in the order the tensors were added"
    )]
    OutOfOrder {
        /// The tensor whose data is due, or `"none (all written)"`.
        expected: String,
        /// The tensor whose data was given.
        got: String,
    },
    /// Tensor data given after every tensor already has its data.
    #[error("{bytes} bytes of tensor data given after every tensor's data was written")]
    ExtraData {
        /// How many bytes were given.
        bytes: u64,
    },
    /// [`crate::GgufDataWriter::finish`] called before every tensor has its data.
    #[error(
        "{missing} tensors have no data yet, starting with {name:?}; write them before finishing"
    )]
    MissingData {
        /// How many tensors lack data.
        missing: usize,
        /// The first of them.
        name: String,
    },
}
