//! A streaming GGUF v3 writer.
//!
//! Writing happens in two steps. [`GgufWriter`] collects the metadata and the tensor table
//! (small: names, shapes and types, never data) and knows the exact size of the file it will
//! write. [`GgufWriter::start`] writes the header into any [`Write`] and returns a
//! [`GgufDataWriter`], which takes the tensor data tensor by tensor, in table order, in
//! chunks of any size, and checks that each tensor gets exactly the bytes its type and
//! dimensions need. A file of several GB is written without holding more than one chunk.
//!
//! ```
//! # fn main() -> Result<(), sizewise_gguf::GgufWriteError> {
//! use sizewise_gguf::{GgmlType, GgufFile, GgufWriter, MetadataValue};
//!
//! let mut w = GgufWriter::new();
//! w.add_metadata("general.architecture", MetadataValue::String("llama".into()))?;
//! w.add_tensor("output_norm.weight", &[8], GgmlType::F32)?;
//! let mut data = w.start(Vec::new())?;
//! data.write_tensor("output_norm.weight", &[0u8; 32])?;
//! let bytes = data.finish()?;
//! let file = GgufFile::from_bytes(&bytes).expect("a valid file");
//! assert_eq!(file.tensors().len(), 1);
//! # Ok(()) }
//! ```

use std::collections::HashSet;
use std::io::Write;

use crate::error::GgufWriteError;
use crate::file::{DEFAULT_ALIGNMENT, GGUF_MAGIC, MAX_DIMS, tensor_byte_size};
use crate::types::GgmlType;
use crate::value::{MetadataArray, MetadataValue};

type Result<T, E = GgufWriteError> = std::result::Result<T, E>;

/// The GGUF version this writer produces.
pub const GGUF_WRITE_VERSION: u32 = 3;

/// Bytes of zeros written as alignment padding, at most `alignment - 1` at a time.
const ZEROS: [u8; 4096] = [0; 4096];

/// One tensor as the writer lays it out.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorLayout {
    /// The tensor name, such as `blk.0.attn_q.weight`.
    pub name: String,
    /// Dimensions, innermost (contiguous) first, as ggml stores them.
    pub dims: Vec<u64>,
    /// The element type.
    pub ggml_type: GgmlType,
    /// Bytes of data its type and dimensions need.
    pub n_bytes: u64,
    /// Offset of its data from the start of the data section (a multiple of the alignment).
    pub offset: u64,
}

impl TensorLayout {
    /// Number of elements (product of `dims`).
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// The metadata and tensor table of a GGUF file to write (see the [module](self) docs).
#[derive(Debug, Clone, Default)]
pub struct GgufWriter {
    metadata: Vec<(String, MetadataValue)>,
    keys: HashSet<String>,
    tensors: Vec<TensorLayout>,
    names: HashSet<String>,
    alignment: Option<u64>,
}

impl GgufWriter {
    /// An empty file: no metadata, no tensors, alignment 32.
    pub fn new() -> GgufWriter {
        GgufWriter::default()
    }

    /// Adds a metadata entry. Setting `general.alignment` (an integer power of two) changes
    /// the alignment of the tensor data to that value.
    pub fn add_metadata(&mut self, key: impl Into<String>, value: MetadataValue) -> Result<()> {
        let key = key.into();
        if self.keys.contains(&key) {
            return Err(GgufWriteError::DuplicateKey { key });
        }
        if key == "general.alignment" {
            match value.as_u64() {
                Some(a) if a.is_power_of_two() && a <= u64::from(u32::MAX) => {
                    self.alignment = Some(a);
                }
                _ => {
                    return Err(GgufWriteError::InvalidAlignment {
                        value: value.to_string(),
                    });
                }
            }
        }
        self.keys.insert(key.clone());
        self.metadata.push((key, value));
        Ok(())
    }

    /// Adds a tensor to the table. Its data is written later, in the order tensors are added.
    pub fn add_tensor(
        &mut self,
        name: impl Into<String>,
        dims: &[u64],
        ggml_type: GgmlType,
    ) -> Result<()> {
        let name = name.into();
        if self.names.contains(&name) {
            return Err(GgufWriteError::DuplicateTensor { name });
        }
        if dims.is_empty() || dims.len() > MAX_DIMS as usize {
            return Err(GgufWriteError::InvalidDimCount {
                name,
                n_dims: dims.len(),
            });
        }
        // The reader (and ggml) count elements in a signed 64-bit integer.
        let fits = dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .is_some_and(|n| n <= i64::MAX as u64);
        let n_bytes = tensor_byte_size(ggml_type, dims)
            .filter(|_| fits)
            .ok_or_else(|| GgufWriteError::InvalidShape {
                name: name.clone(),
                ggml_type,
                dims: dims.to_vec(),
                block_size: ggml_type.block_size(),
            })?;
        self.names.insert(name.clone());
        self.tensors.push(TensorLayout {
            name,
            dims: dims.to_vec(),
            ggml_type,
            n_bytes,
            offset: 0,
        });
        Ok(())
    }

    /// The alignment of tensor data: `general.alignment` when set, else 32.
    pub fn alignment(&self) -> u64 {
        self.alignment.unwrap_or(DEFAULT_ALIGNMENT)
    }

    /// The tensors in table order, with the offsets they will have.
    pub fn tensors(&self) -> Vec<TensorLayout> {
        let mut offset = 0u64;
        self.tensors
            .iter()
            .map(|t| {
                let laid = TensorLayout {
                    offset,
                    ..t.clone()
                };
                offset = align(offset.saturating_add(t.n_bytes), self.alignment());
                laid
            })
            .collect()
    }

    /// Bytes of the header: magic, version, counts, metadata and tensor table, before the
    /// padding that aligns the data section.
    pub fn header_len(&self) -> u64 {
        let kv: u64 = self
            .metadata
            .iter()
            .map(|(k, v)| string_len(k) + 4 + value_len(v))
            .sum();
        let infos: u64 = self
            .tensors
            .iter()
            .map(|t| string_len(&t.name) + 4 + 8 * t.dims.len() as u64 + 4 + 8)
            .sum();
        4 + 4 + 8 + 8 + kv + infos
    }

    /// Absolute offset where the tensor data starts.
    pub fn data_offset(&self) -> u64 {
        align(self.header_len(), self.alignment())
    }

    /// Bytes of the whole file, padding included.
    pub fn file_size(&self) -> u64 {
        let data = self.tensors.iter().fold(0u64, |acc, t| {
            align(acc.saturating_add(t.n_bytes), self.alignment())
        });
        self.data_offset().saturating_add(data)
    }

    /// Writes the header (and the padding after it) into `out` and returns the writer of the
    /// tensor data. Pass a buffered writer for a file: the header is written in small pieces.
    pub fn start<W: Write>(self, out: W) -> Result<GgufDataWriter<W>> {
        let tensors = self.tensors();
        let alignment = self.alignment();
        let mut out = Counting { inner: out, pos: 0 };
        out.write(&GGUF_MAGIC)?;
        out.write(&GGUF_WRITE_VERSION.to_le_bytes())?;
        out.write(&(tensors.len() as u64).to_le_bytes())?;
        out.write(&(self.metadata.len() as u64).to_le_bytes())?;
        for (key, value) in &self.metadata {
            out.string(key)?;
            out.write(&value.value_type().id().to_le_bytes())?;
            out.value(value)?;
        }
        for t in &tensors {
            out.string(&t.name)?;
            out.write(&(t.dims.len() as u32).to_le_bytes())?;
            for d in &t.dims {
                out.write(&d.to_le_bytes())?;
            }
            out.write(&t.ggml_type.id().to_le_bytes())?;
            out.write(&t.offset.to_le_bytes())?;
        }
        out.pad(alignment)?;
        Ok(GgufDataWriter {
            data_start: out.pos,
            out,
            tensors,
            alignment,
            next: 0,
            filled: 0,
        })
    }
}

/// Takes the tensor data after [`GgufWriter::start`] has written the header.
#[derive(Debug)]
pub struct GgufDataWriter<W: Write> {
    out: Counting<W>,
    tensors: Vec<TensorLayout>,
    alignment: u64,
    data_start: u64,
    /// Index of the tensor whose data is due.
    next: usize,
    /// Bytes of that tensor written so far.
    filled: u64,
}

impl<W: Write> GgufDataWriter<W> {
    /// The tensor whose data is due, or `None` when every tensor has its data.
    pub fn current(&self) -> Option<&TensorLayout> {
        self.tensors.get(self.next)
    }

    /// Bytes written into the output so far, header included.
    pub fn bytes_written(&self) -> u64 {
        self.out.pos
    }

    /// Appends `chunk` to the data of the current tensor. Fails, writing nothing, when the
    /// tensor would get more bytes than it needs.
    pub fn write_data(&mut self, chunk: &[u8]) -> Result<()> {
        let Some(t) = self.tensors.get(self.next) else {
            return Err(GgufWriteError::ExtraData {
                bytes: chunk.len() as u64,
            });
        };
        let got = self.filled.saturating_add(chunk.len() as u64);
        if got > t.n_bytes {
            return Err(GgufWriteError::DataLength {
                name: t.name.clone(),
                expected: t.n_bytes,
                got,
            });
        }
        self.out.write(chunk)?;
        self.filled = got;
        Ok(())
    }

    /// Closes the current tensor, checking it got all its bytes, and pads to the alignment.
    pub fn end_tensor(&mut self) -> Result<()> {
        let Some(t) = self.tensors.get(self.next) else {
            return Err(GgufWriteError::ExtraData { bytes: 0 });
        };
        if self.filled != t.n_bytes {
            return Err(GgufWriteError::DataLength {
                name: t.name.clone(),
                expected: t.n_bytes,
                got: self.filled,
            });
        }
        debug_assert_eq!(self.out.pos, self.data_start + t.offset + t.n_bytes);
        self.out.pad(self.alignment)?;
        self.next += 1;
        self.filled = 0;
        Ok(())
    }

    /// Writes the whole data of tensor `name`, which must be the current one, and closes it.
    /// Fails, writing nothing, when `data` is not exactly the length the tensor needs.
    pub fn write_tensor(&mut self, name: &str, data: &[u8]) -> Result<()> {
        match self.tensors.get(self.next) {
            Some(t) if t.name == name && self.filled == 0 => {
                if t.n_bytes != data.len() as u64 {
                    return Err(GgufWriteError::DataLength {
                        name: t.name.clone(),
                        expected: t.n_bytes,
                        got: data.len() as u64,
                    });
                }
            }
            other => {
                return Err(GgufWriteError::OutOfOrder {
                    expected: other.map_or_else(
                        || "none (all written)".to_string(),
                        |t| format!("{:?}", t.name),
                    ),
                    got: name.to_string(),
                });
            }
        }
        self.write_data(data)?;
        self.end_tensor()
    }

    /// Checks that every tensor has its data, flushes and returns the output.
    pub fn finish(mut self) -> Result<W> {
        if let Some(t) = self.tensors.get(self.next) {
            return Err(GgufWriteError::MissingData {
                missing: self.tensors.len() - self.next,
                name: t.name.clone(),
            });
        }
        let pos = self.out.pos;
        self.out
            .inner
            .flush()
            .map_err(|source| GgufWriteError::Io {
                offset: pos,
                source,
            })?;
        Ok(self.out.inner)
    }
}

fn align(n: u64, alignment: u64) -> u64 {
    n.div_ceil(alignment).saturating_mul(alignment)
}

fn string_len(s: &str) -> u64 {
    8 + s.len() as u64
}

/// Bytes of a value, without its type tag.
fn value_len(v: &MetadataValue) -> u64 {
    match v {
        MetadataValue::String(s) => string_len(s),
        MetadataValue::Array(a) => array_len(a),
        other => other.value_type().min_bytes(),
    }
}

/// Bytes of an array: element type, count and elements.
fn array_len(a: &MetadataArray) -> u64 {
    let elements = match a {
        MetadataArray::String(v) => v.iter().map(|s| string_len(s)).sum(),
        MetadataArray::Array(v) => v.iter().map(array_len).sum(),
        other => other.len() as u64 * other.element_type().min_bytes(),
    };
    4 + 8 + elements
}

/// The output, with the count of bytes written so far (for error offsets and padding).
#[derive(Debug)]
struct Counting<W> {
    inner: W,
    pos: u64,
}

impl<W: Write> Counting<W> {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.inner
            .write_all(bytes)
            .map_err(|source| GgufWriteError::Io {
                offset: self.pos,
                source,
            })?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    fn pad(&mut self, alignment: u64) -> Result<()> {
        let mut left = align(self.pos, alignment) - self.pos;
        while left > 0 {
            let n = left.min(ZEROS.len() as u64);
            self.write(&ZEROS[..n as usize])?;
            left -= n;
        }
        Ok(())
    }

    fn string(&mut self, s: &str) -> Result<()> {
        self.write(&(s.len() as u64).to_le_bytes())?;
        self.write(s.as_bytes())
    }

    fn value(&mut self, v: &MetadataValue) -> Result<()> {
        match v {
            MetadataValue::U8(x) => self.write(&x.to_le_bytes()),
            MetadataValue::I8(x) => self.write(&x.to_le_bytes()),
            MetadataValue::U16(x) => self.write(&x.to_le_bytes()),
            MetadataValue::I16(x) => self.write(&x.to_le_bytes()),
            MetadataValue::U32(x) => self.write(&x.to_le_bytes()),
            MetadataValue::I32(x) => self.write(&x.to_le_bytes()),
            MetadataValue::F32(x) => self.write(&x.to_le_bytes()),
            MetadataValue::Bool(x) => self.write(&[u8::from(*x)]),
            MetadataValue::String(s) => self.string(s),
            MetadataValue::Array(a) => self.array(a),
            MetadataValue::U64(x) => self.write(&x.to_le_bytes()),
            MetadataValue::I64(x) => self.write(&x.to_le_bytes()),
            MetadataValue::F64(x) => self.write(&x.to_le_bytes()),
        }
    }

    fn array(&mut self, a: &MetadataArray) -> Result<()> {
        self.write(&a.element_type().id().to_le_bytes())?;
        self.write(&(a.len() as u64).to_le_bytes())?;
        macro_rules! each {
            ($v:expr) => {{
                for x in $v {
                    self.write(&x.to_le_bytes())?;
                }
                Ok(())
            }};
        }
        match a {
            MetadataArray::U8(v) => self.write(v),
            MetadataArray::I8(v) => each!(v),
            MetadataArray::U16(v) => each!(v),
            MetadataArray::I16(v) => each!(v),
            MetadataArray::U32(v) => each!(v),
            MetadataArray::I32(v) => each!(v),
            MetadataArray::F32(v) => each!(v),
            MetadataArray::U64(v) => each!(v),
            MetadataArray::I64(v) => each!(v),
            MetadataArray::F64(v) => each!(v),
            MetadataArray::Bool(v) => {
                for x in v {
                    self.write(&[u8::from(*x)])?;
                }
                Ok(())
            }
            MetadataArray::String(v) => {
                for s in v {
                    self.string(s)?;
                }
                Ok(())
            }
            MetadataArray::Array(v) => {
                for inner in v {
                    self.array(inner)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GgufFile;

    fn s(x: &str) -> MetadataValue {
        MetadataValue::String(x.to_string())
    }

    #[test]
    fn round_trip_through_the_reader() {
        let mut w = GgufWriter::new();
        w.add_metadata("general.architecture", s("llama")).unwrap();
        w.add_metadata("llama.block_count", MetadataValue::U32(2))
            .unwrap();
        w.add_metadata("t.flag", MetadataValue::Bool(true)).unwrap();
        w.add_metadata(
            "t.nested",
            MetadataValue::Array(MetadataArray::Array(vec![
                MetadataArray::I32(vec![1, -2]),
                MetadataArray::String(vec!["a".into(), String::new()]),
            ])),
        )
        .unwrap();
        w.add_tensor("a", &[64, 3], GgmlType::Q4_0).unwrap();
        w.add_tensor("b", &[5], GgmlType::F32).unwrap();
        w.add_tensor("c", &[256, 2], GgmlType::Q4K).unwrap();
        let expected_size = w.file_size();
        let layout = w.tensors();
        let mut d = w.start(Vec::new()).unwrap();
        assert_eq!(d.current().map(|t| t.name.as_str()), Some("a"));
        d.write_tensor("a", &[7u8; 108]).unwrap();
        d.write_tensor("b", &[1u8; 20]).unwrap();
        // Chunked writes.
        d.write_data(&[2u8; 100]).unwrap();
        d.write_data(&[3u8; 188]).unwrap();
        d.end_tensor().unwrap();
        let bytes = d.finish().unwrap();
        assert_eq!(bytes.len() as u64, expected_size);

        let f = GgufFile::from_bytes(&bytes).unwrap();
        assert_eq!(f.version(), 3);
        assert_eq!(f.get_str("general.architecture"), Some("llama"));
        assert_eq!(f.get_u64("llama.block_count"), Some(2));
        assert_eq!(f.get("t.flag"), Some(&MetadataValue::Bool(true)));
        assert_eq!(f.metadata().len(), 4);
        assert_eq!(f.tensors().len(), 3);
        for (t, l) in f.tensors().iter().zip(&layout) {
            assert_eq!(
                (&t.name, &t.dims, t.ggml_type),
                (&l.name, &l.dims, l.ggml_type)
            );
            assert_eq!((t.offset, t.n_bytes), (l.offset, l.n_bytes));
            assert_eq!(t.offset % 32, 0);
        }
        let c = f.tensor("c").unwrap();
        let start = c.file_offset as usize;
        assert_eq!(&bytes[start..start + 100], &[2u8; 100]);
        assert_eq!(bytes[start + 100], 3);
        let b = f.tensor("b").unwrap();
        assert_eq!(&bytes[b.file_offset as usize..][..20], &[1u8; 20]);
    }

    #[test]
    fn general_alignment_is_respected() {
        let mut w = GgufWriter::new();
        w.add_metadata("general.alignment", MetadataValue::U32(128))
            .unwrap();
        w.add_tensor("a", &[3], GgmlType::F32).unwrap();
        w.add_tensor("b", &[3], GgmlType::F32).unwrap();
        let mut d = w.start(Vec::new()).unwrap();
        d.write_tensor("a", &[0; 12]).unwrap();
        d.write_tensor("b", &[0; 12]).unwrap();
        let bytes = d.finish().unwrap();
        let f = GgufFile::from_bytes(&bytes).unwrap();
        assert_eq!(f.alignment(), 128);
        assert_eq!(f.data_offset() % 128, 0);
        assert_eq!(f.tensor("b").unwrap().offset, 128);
        assert_eq!(bytes.len() % 128, 0);

        for bad in [MetadataValue::U32(48), MetadataValue::U32(0), s("32")] {
            let err = GgufWriter::new()
                .add_metadata("general.alignment", bad)
                .unwrap_err();
            assert!(
                matches!(err, GgufWriteError::InvalidAlignment { .. }),
                "{err}"
            );
        }
    }

    #[test]
    fn wrong_lengths_and_orders_are_errors() {
        let mut w = GgufWriter::new();
        w.add_tensor("a", &[32], GgmlType::Q8_0).unwrap();
        w.add_tensor("b", &[4], GgmlType::F16).unwrap();
        let mut d = w.start(Vec::new()).unwrap();
        let err = d.write_tensor("a", &[0; 33]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tensor \"a\" needs exactly 34 bytes of data for its type and dimensions, got 33"
        );
        let err = d.write_tensor("b", &[0; 8]).unwrap_err();
        assert!(matches!(err, GgufWriteError::OutOfOrder { .. }), "{err}");
        d.write_data(&[0; 30]).unwrap();
        assert!(matches!(
            d.write_data(&[0; 5]),
            Err(GgufWriteError::DataLength { got: 35, .. })
        ));
        assert!(matches!(
            d.end_tensor(),
            Err(GgufWriteError::DataLength { got: 30, .. })
        ));
        d.write_data(&[0; 4]).unwrap();
        d.end_tensor().unwrap();
        let err = d.finish().unwrap_err();
        assert!(
            matches!(err, GgufWriteError::MissingData { missing: 1, ref name } if name == "b"),
            "{err}"
        );
    }

    #[test]
    fn bad_tables_are_errors() {
        let mut w = GgufWriter::new();
        w.add_metadata("k", MetadataValue::U8(1)).unwrap();
        assert!(matches!(
            w.add_metadata("k", MetadataValue::U8(2)),
            Err(GgufWriteError::DuplicateKey { .. })
        ));
        w.add_tensor("t", &[32], GgmlType::Q4_0).unwrap();
        assert!(matches!(
            w.add_tensor("t", &[32], GgmlType::Q4_0),
            Err(GgufWriteError::DuplicateTensor { .. })
        ));
        for dims in [&[][..], &[1, 1, 1, 1, 1]] {
            assert!(matches!(
                w.add_tensor("u", dims, GgmlType::F32),
                Err(GgufWriteError::InvalidDimCount { .. })
            ));
        }
        for (dims, ty) in [
            (&[48u64, 2][..], GgmlType::Q4_0),
            (&[u64::MAX, 2], GgmlType::F32),
            (&[1u64 << 63], GgmlType::I8),
        ] {
            let err = w.add_tensor("v", dims, ty).unwrap_err();
            assert!(matches!(err, GgufWriteError::InvalidShape { .. }), "{err}");
        }
        let mut d = w.start(Vec::new()).unwrap();
        d.write_tensor("t", &[0; 18]).unwrap();
        assert!(matches!(
            d.write_data(&[1]),
            Err(GgufWriteError::ExtraData { bytes: 1 })
        ));
    }

    #[test]
    fn io_errors_name_the_offset() {
        #[derive(Debug)]
        struct Full(usize);
        impl Write for Full {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    return Err(std::io::Error::other("disk full"));
                }
                let n = buf.len().min(self.0);
                self.0 -= n;
                Ok(n)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut w = GgufWriter::new();
        w.add_metadata("k", s("value")).unwrap();
        let err = w.start(Full(10)).unwrap_err();
        assert!(err.to_string().contains("at byte 8"), "{err}");
    }
}
