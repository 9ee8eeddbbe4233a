//! Parsing and validating the GGUF header, metadata and tensor table.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use crate::error::GgufError;
use crate::types::GgmlType;
use crate::value::{MetadataArray, MetadataValue, ValueType};

/// The four bytes every GGUF file starts with.
pub const GGUF_MAGIC: [u8; 4] = *b"GGUF";

/// The alignment of tensor data when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// The most bytes of header (magic, metadata, tensor table) this reader accepts: 1 GiB.
/// Real files need a few MB; the cap bounds the memory a hostile file can make us use.
pub const MAX_HEADER_BYTES: u64 = 1 << 30;

/// How deep arrays of arrays may nest.
pub const MAX_ARRAY_NESTING: usize = 8;

/// The most dimensions a tensor may have (`GGML_MAX_DIMS`).
pub const MAX_DIMS: u32 = 4;

/// Upper bound of any capacity reserved from a count read from the file.
const MAX_CAPACITY_HINT: u64 = 4096;

/// Smallest metadata key/value: key length (u64) + type (u32) + one byte of value.
const MIN_KV_BYTES: u64 = 8 + 4 + 1;
/// Smallest tensor info: name length (u64) + n_dims (u32) + type (u32) + offset (u64).
const MIN_TENSOR_INFO_BYTES: u64 = 8 + 4 + 4 + 8;

type Result<T, E = GgufError> = std::result::Result<T, E>;

/// One metadata key/value pair, with where it starts in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataEntry {
    /// The key, such as `general.architecture`.
    pub key: String,
    /// The value.
    pub value: MetadataValue,
    /// Byte offset of the entry (its key length field) in the file.
    pub offset: u64,
}

/// One tensor of the tensor table, validated against the file.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// The tensor name, such as `blk.0.attn_q.weight`.
    pub name: String,
    /// Dimensions, innermost (contiguous) first, as ggml stores them.
    pub dims: Vec<u64>,
    /// The element type.
    pub ggml_type: GgmlType,
    /// Offset of the data relative to the start of the data section.
    pub offset: u64,
    /// Number of elements (product of `dims`).
    pub n_elements: u64,
    /// Bytes of data.
    pub n_bytes: u64,
    /// Absolute byte offset of the data in the file.
    pub file_offset: u64,
    /// Byte offset of this tensor's info record in the header.
    pub info_offset: u64,
}

/// Bytes taken by a tensor of this type and these dimensions, or `None` when the element count
/// overflows or the first dimension is not a whole number of blocks.
pub fn tensor_byte_size(ggml_type: GgmlType, dims: &[u64]) -> Option<u64> {
    if let Some(&ne0) = dims.first()
        && !ne0.is_multiple_of(ggml_type.block_size())
    {
        return None;
    }
    let n = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d))?;
    ggml_type.bytes_for(n)
}

/// A parsed and validated GGUF file: version, metadata, tensor table and where the tensor
/// data lies. The tensor data itself is not read.
#[derive(Debug, Clone)]
pub struct GgufFile {
    version: u32,
    file_size: u64,
    metadata: Vec<MetadataEntry>,
    index: HashMap<String, usize>,
    tensors: Vec<TensorInfo>,
    alignment: u64,
    data_offset: u64,
}

impl GgufFile {
    /// Opens and validates the GGUF file at `path`. Only the header, metadata and tensor table
    /// are read (buffered); the tensor data is checked against the file size, not read.
    pub fn open(path: impl AsRef<Path>) -> Result<GgufFile> {
        let path = path.as_ref();
        let open_err = |source| GgufError::Open {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(open_err)?;
        let file_size = file.metadata().map_err(open_err)?.len();
        GgufFile::from_reader(BufReader::with_capacity(1 << 20, file), file_size)
    }

    /// Parses and validates a GGUF file held in memory.
    pub fn from_bytes(bytes: &[u8]) -> Result<GgufFile> {
        GgufFile::from_reader(bytes, bytes.len() as u64)
    }

    /// Parses and validates a GGUF file from `reader`, positioned at the first byte of the
    /// file, whose total length is `file_size`. Reads only the header, metadata and tensor
    /// table; pass a buffered reader for a file.
    pub fn from_reader<R: Read>(reader: R, file_size: u64) -> Result<GgufFile> {
        Parser {
            inner: reader,
            pos: 0,
            file_size,
        }
        .parse()
    }

    /// The GGUF version (2 or 3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The size of the whole file in bytes.
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// The alignment of tensor data (`general.alignment`, 32 by default).
    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Absolute byte offset where the tensor data section starts.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// All metadata entries, in file order.
    pub fn metadata(&self) -> &[MetadataEntry] {
        &self.metadata
    }

    /// The metadata entry with this key.
    pub fn entry(&self, key: &str) -> Option<&MetadataEntry> {
        self.index.get(key).and_then(|&i| self.metadata.get(i))
    }

    /// The metadata value with this key.
    pub fn get(&self, key: &str) -> Option<&MetadataValue> {
        self.entry(key).map(|e| &e.value)
    }

    /// The string value with this key (`None` when absent or not a string).
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(MetadataValue::as_str)
    }

    /// The non-negative integer value with this key (`None` when absent or not an integer).
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(MetadataValue::as_u64)
    }

    /// The tensor table, in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// The tensor with this name.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The number of parameters: the sum of the element counts of all tensors.
    pub fn parameter_count(&self) -> u64 {
        self.tensors
            .iter()
            .fold(0u64, |acc, t| acc.saturating_add(t.n_elements))
    }

    /// Bytes of all tensor data (without alignment padding).
    pub fn weight_bytes(&self) -> u64 {
        self.tensors
            .iter()
            .fold(0u64, |acc, t| acc.saturating_add(t.n_bytes))
    }

    /// Bytes of tensor data by ggml type.
    pub fn weight_bytes_by_type(&self) -> BTreeMap<GgmlType, u64> {
        let mut out = BTreeMap::new();
        for t in &self.tensors {
            let e = out.entry(t.ggml_type).or_insert(0u64);
            *e = e.saturating_add(t.n_bytes);
        }
        out
    }

    /// Number of elements by ggml type.
    pub fn parameters_by_type(&self) -> BTreeMap<GgmlType, u64> {
        let mut out = BTreeMap::new();
        for t in &self.tensors {
            let e = out.entry(t.ggml_type).or_insert(0u64);
            *e = e.saturating_add(t.n_elements);
        }
        out
    }

    /// Average bits per weight over all tensors: `8 * weight_bytes / parameter_count`
    /// (`None` when there are no parameters).
    pub fn bits_per_weight(&self) -> Option<f64> {
        let n = self.parameter_count();
        (n > 0).then(|| self.weight_bytes() as f64 * 8.0 / n as f64)
    }

    /// The type holding the most elements among weight matrices (tensors of two or more
    /// dimensions; all tensors when there are none). Ties go to the larger type id.
    pub fn dominant_type(&self) -> Option<GgmlType> {
        let mut by_type: BTreeMap<GgmlType, u64> = BTreeMap::new();
        let matrices = self.tensors.iter().any(|t| t.dims.len() >= 2);
        for t in self
            .tensors
            .iter()
            .filter(|t| !matrices || t.dims.len() >= 2)
        {
            let e = by_type.entry(t.ggml_type).or_insert(0);
            *e = e.saturating_add(t.n_elements);
        }
        by_type
            .into_iter()
            .max_by_key(|&(t, n)| (n, t))
            .map(|(t, _)| t)
    }
}

/// Reads the header from `inner`, tracking the position to check every length against the
/// bytes really left.
struct Parser<R> {
    inner: R,
    pos: u64,
    file_size: u64,
}

impl<R: Read> Parser<R> {
    fn remaining(&self) -> u64 {
        self.file_size.saturating_sub(self.pos)
    }

    /// Checks that `n` more bytes exist and stay within the header limit.
    fn ensure(&self, n: u64, what: &dyn Fn() -> String) -> Result<()> {
        if n > self.remaining() {
            return Err(GgufError::Truncated {
                what: what(),
                offset: self.pos,
                needed: n,
                available: self.remaining(),
            });
        }
        if self.pos.saturating_add(n) > MAX_HEADER_BYTES {
            return Err(GgufError::HeaderTooLarge {
                offset: self.pos,
                limit: MAX_HEADER_BYTES,
            });
        }
        Ok(())
    }

    fn io_err(&self, e: io::Error, what: &dyn Fn() -> String, needed: u64) -> GgufError {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            GgufError::Truncated {
                what: what(),
                offset: self.pos,
                needed,
                available: 0,
            }
        } else {
            GgufError::Io {
                offset: self.pos,
                source: e,
            }
        }
    }

    fn array<const N: usize>(&mut self, what: &dyn Fn() -> String) -> Result<[u8; N]> {
        self.ensure(N as u64, what)?;
        let mut buf = [0u8; N];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| self.io_err(e, what, N as u64))?;
        self.pos += N as u64;
        Ok(buf)
    }

    fn u8(&mut self, what: &dyn Fn() -> String) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }
    fn u32(&mut self, what: &dyn Fn() -> String) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    fn u64(&mut self, what: &dyn Fn() -> String) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn string(&mut self, what: &dyn Fn() -> String) -> Result<String> {
        let offset = self.pos;
        let len = self.u64(&|| format!("length of {}", what()))?;
        if len > self.remaining() {
            return Err(GgufError::StringTooLong {
                what: what(),
                offset,
                len,
                available: self.remaining(),
            });
        }
        self.ensure(len, what)?;
        // `len` is bounded by the real bytes left and the header limit; still grow as read.
        let mut buf = Vec::with_capacity(len.min(1 << 16) as usize);
        let got = (&mut self.inner)
            .take(len)
            .read_to_end(&mut buf)
            .map_err(|e| self.io_err(e, what, len))?;
        if got as u64 != len {
            return Err(GgufError::Truncated {
                what: what(),
                offset: self.pos,
                needed: len,
                available: got as u64,
            });
        }
        self.pos += len;
        Ok(match String::from_utf8(buf) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    fn value_type(&mut self, what: &dyn Fn() -> String) -> Result<ValueType> {
        let offset = self.pos;
        let id = self.u32(&|| format!("value type of {}", what()))?;
        ValueType::from_id(id).ok_or_else(|| GgufError::InvalidValueType {
            what: what(),
            offset,
            type_id: id,
        })
    }

    fn value(
        &mut self,
        ty: ValueType,
        depth: usize,
        what: &dyn Fn() -> String,
    ) -> Result<MetadataValue> {
        Ok(match ty {
            ValueType::U8 => MetadataValue::U8(self.u8(what)?),
            ValueType::I8 => MetadataValue::I8(i8::from_le_bytes(self.array(what)?)),
            ValueType::U16 => MetadataValue::U16(u16::from_le_bytes(self.array(what)?)),
            ValueType::I16 => MetadataValue::I16(i16::from_le_bytes(self.array(what)?)),
            ValueType::U32 => MetadataValue::U32(self.u32(what)?),
            ValueType::I32 => MetadataValue::I32(i32::from_le_bytes(self.array(what)?)),
            ValueType::F32 => MetadataValue::F32(f32::from_le_bytes(self.array(what)?)),
            ValueType::Bool => MetadataValue::Bool(self.bool(what)?),
            ValueType::String => MetadataValue::String(self.string(what)?),
            ValueType::Array => MetadataValue::Array(self.array_value(depth, what)?),
            ValueType::U64 => MetadataValue::U64(self.u64(what)?),
            ValueType::I64 => MetadataValue::I64(i64::from_le_bytes(self.array(what)?)),
            ValueType::F64 => MetadataValue::F64(f64::from_le_bytes(self.array(what)?)),
        })
    }

    fn bool(&mut self, what: &dyn Fn() -> String) -> Result<bool> {
        let offset = self.pos;
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(GgufError::InvalidBool {
                what: what(),
                offset,
                value,
            }),
        }
    }

    /// Reads `count` elements with `read`, growing the vector as elements are really read.
    fn elements<T>(
        &mut self,
        count: u64,
        what: &dyn Fn() -> String,
        mut read: impl FnMut(&mut Self, &dyn Fn() -> String) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::with_capacity(count.min(MAX_CAPACITY_HINT) as usize);
        for i in 0..count {
            out.push(read(self, &|| format!("{}[{i}]", what()))?);
        }
        Ok(out)
    }

    fn array_value(&mut self, depth: usize, what: &dyn Fn() -> String) -> Result<MetadataArray> {
        let offset = self.pos;
        if depth >= MAX_ARRAY_NESTING {
            return Err(GgufError::NestingTooDeep {
                what: what(),
                offset,
                max: MAX_ARRAY_NESTING,
            });
        }
        let ty = self.value_type(what)?;
        let count_offset = self.pos;
        let count = self.u64(&|| format!("element count of {}", what()))?;
        let min = ty.min_bytes();
        if count.checked_mul(min).is_none_or(|n| n > self.remaining()) {
            return Err(GgufError::ArrayTooLong {
                what: what(),
                offset: count_offset,
                count,
                min_element_bytes: min,
                available: self.remaining(),
            });
        }
        macro_rules! num {
            ($variant:ident, $t:ty) => {
                MetadataArray::$variant(
                    self.elements(count, what, |p, w| Ok(<$t>::from_le_bytes(p.array(w)?)))?,
                )
            };
        }
        Ok(match ty {
            ValueType::U8 => num!(U8, u8),
            ValueType::I8 => num!(I8, i8),
            ValueType::U16 => num!(U16, u16),
            ValueType::I16 => num!(I16, i16),
            ValueType::U32 => num!(U32, u32),
            ValueType::I32 => num!(I32, i32),
            ValueType::F32 => num!(F32, f32),
            ValueType::U64 => num!(U64, u64),
            ValueType::I64 => num!(I64, i64),
            ValueType::F64 => num!(F64, f64),
            ValueType::Bool => MetadataArray::Bool(self.elements(count, what, |p, w| p.bool(w))?),
            ValueType::String => {
                MetadataArray::String(self.elements(count, what, |p, w| p.string(w))?)
            }
            ValueType::Array => MetadataArray::Array(
                self.elements(count, what, |p, w| p.array_value(depth + 1, w))?,
            ),
        })
    }

    fn parse(mut self) -> Result<GgufFile> {
        let magic = self.array::<4>(&|| "magic".to_string())?;
        if magic != GGUF_MAGIC {
            return Err(GgufError::BadMagic { found: magic });
        }
        let version = self.u32(&|| "version".to_string())?;
        match version {
            2 | 3 => {}
            v if matches!(v.swap_bytes(), 1..=3) => return Err(GgufError::BigEndian { raw: v }),
            v => return Err(GgufError::UnsupportedVersion { version: v }),
        }
        let tensor_count_offset = self.pos;
        let tensor_count = self.u64(&|| "tensor count".to_string())?;
        let kv_count_offset = self.pos;
        let kv_count = self.u64(&|| "metadata key/value count".to_string())?;
        let remaining = self.remaining();
        if kv_count
            .checked_mul(MIN_KV_BYTES)
            .is_none_or(|n| n > remaining)
        {
            return Err(GgufError::CountTooLarge {
                what: "metadata key/value count",
                offset: kv_count_offset,
                count: kv_count,
                min_bytes: MIN_KV_BYTES,
                available: remaining,
            });
        }
        if tensor_count
            .checked_mul(MIN_TENSOR_INFO_BYTES)
            .is_none_or(|n| n > remaining)
        {
            return Err(GgufError::CountTooLarge {
                what: "tensor count",
                offset: tensor_count_offset,
                count: tensor_count,
                min_bytes: MIN_TENSOR_INFO_BYTES,
                available: remaining,
            });
        }

        let mut metadata = Vec::with_capacity(kv_count.min(MAX_CAPACITY_HINT) as usize);
        let mut index = HashMap::with_capacity(kv_count.min(MAX_CAPACITY_HINT) as usize);
        for i in 0..kv_count {
            let offset = self.pos;
            let key = self.string(&|| format!("key of metadata entry #{i}"))?;
            if index.contains_key(&key) {
                return Err(GgufError::DuplicateKey { key, offset });
            }
            let what = || format!("value of metadata key {key:?}");
            let ty = self.value_type(&what)?;
            let value = self.value(ty, 0, &what)?;
            index.insert(key.clone(), metadata.len());
            metadata.push(MetadataEntry { key, value, offset });
        }

        let alignment = match index
            .get("general.alignment")
            .and_then(|&i| metadata.get(i))
        {
            None => DEFAULT_ALIGNMENT,
            Some(entry) => match entry.value.as_u64() {
                Some(a) if a.is_power_of_two() && a <= u64::from(u32::MAX) => a,
                _ => {
                    return Err(GgufError::InvalidAlignment {
                        offset: entry.offset,
                        value: entry.value.to_string(),
                    });
                }
            },
        };

        let mut tensors: Vec<TensorInfo> =
            Vec::with_capacity(tensor_count.min(MAX_CAPACITY_HINT) as usize);
        let mut names = HashSet::with_capacity(tensor_count.min(MAX_CAPACITY_HINT) as usize);
        for i in 0..tensor_count {
            let info_offset = self.pos;
            let name = self.string(&|| format!("name of tensor #{i}"))?;
            if names.contains(&name) {
                return Err(GgufError::DuplicateTensor {
                    name,
                    offset: info_offset,
                });
            }
            let n_dims = self.u32(&|| format!("dimension count of tensor {name:?}"))?;
            if n_dims > MAX_DIMS {
                return Err(GgufError::InvalidDimCount {
                    name,
                    offset: info_offset,
                    n_dims,
                });
            }
            let mut dims = Vec::with_capacity(n_dims as usize);
            for d in 0..n_dims {
                dims.push(self.u64(&|| format!("dimension {d} of tensor {name:?}"))?);
            }
            let type_offset = self.pos;
            let type_id = self.u32(&|| format!("type of tensor {name:?}"))?;
            let offset = self.u64(&|| format!("data offset of tensor {name:?}"))?;
            let n_elements = dims
                .iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(d))
                .filter(|&n| n <= i64::MAX as u64);
            let Some(n_elements) = n_elements else {
                return Err(GgufError::DimsOverflow {
                    name,
                    offset: info_offset,
                    dims,
                });
            };
            let Some(ggml_type) = GgmlType::from_id(type_id) else {
                return Err(GgufError::UnknownGgmlType {
                    name,
                    offset: type_offset,
                    type_id,
                });
            };
            let ne0 = dims.first().copied().unwrap_or(1);
            if !ne0.is_multiple_of(ggml_type.block_size()) {
                return Err(GgufError::PartialBlock {
                    name,
                    offset: info_offset,
                    ne0,
                    ggml_type,
                    block_size: ggml_type.block_size(),
                });
            }
            let Some(n_bytes) = ggml_type.bytes_for(n_elements) else {
                return Err(GgufError::DimsOverflow {
                    name,
                    offset: info_offset,
                    dims,
                });
            };
            if !offset.is_multiple_of(alignment) {
                return Err(GgufError::MisalignedTensor {
                    name,
                    offset: info_offset,
                    data_offset: offset,
                    alignment,
                });
            }
            names.insert(name.clone());
            tensors.push(TensorInfo {
                name,
                dims,
                ggml_type,
                offset,
                n_elements,
                n_bytes,
                file_offset: 0,
                info_offset,
            });
        }

        let header_end = self.pos;
        let data_offset = header_end.div_ceil(alignment).saturating_mul(alignment);
        if !tensors.is_empty() && data_offset > self.file_size {
            return Err(GgufError::DataSectionOutOfBounds {
                data_offset,
                file_size: self.file_size,
            });
        }
        for t in &mut tensors {
            let start = data_offset.checked_add(t.offset);
            let end = start.and_then(|s| s.checked_add(t.n_bytes));
            match (start, end) {
                (Some(start), Some(end)) if end <= self.file_size => t.file_offset = start,
                _ => {
                    return Err(GgufError::TensorOutOfBounds {
                        name: t.name.clone(),
                        offset: t.info_offset,
                        start: start.unwrap_or(u64::MAX),
                        end: end.unwrap_or(u64::MAX),
                        file_size: self.file_size,
                    });
                }
            }
        }
        let mut order: Vec<&TensorInfo> = tensors.iter().filter(|t| t.n_bytes > 0).collect();
        order.sort_by_key(|t| (t.file_offset, t.n_bytes));
        for pair in order.windows(2) {
            if let [a, b] = pair {
                let a_end = a.file_offset + a.n_bytes;
                if b.file_offset < a_end {
                    return Err(GgufError::TensorOverlap {
                        name: b.name.clone(),
                        start: b.file_offset,
                        end: b.file_offset + b.n_bytes,
                        other: a.name.clone(),
                        other_end: a_end,
                    });
                }
            }
        }

        Ok(GgufFile {
            version,
            file_size: self.file_size,
            metadata,
            index,
            tensors,
            alignment,
            data_offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_builder::*;

    #[test]
    fn parses_every_value_type_and_tensor() {
        let bytes = sample().build();
        let f = GgufFile::from_bytes(&bytes).unwrap();
        assert_eq!(f.version(), 3);
        assert_eq!(f.alignment(), 32);
        assert_eq!(f.data_offset() % 32, 0);
        assert_eq!(f.get("t.u8"), Some(&MetadataValue::U8(200)));
        assert_eq!(f.get("t.i8"), Some(&MetadataValue::I8(-5)));
        assert_eq!(f.get("t.u16"), Some(&MetadataValue::U16(60000)));
        assert_eq!(f.get("t.i16"), Some(&MetadataValue::I16(-300)));
        assert_eq!(f.get("t.i32"), Some(&MetadataValue::I32(-70000)));
        assert_eq!(f.get("t.f32"), Some(&MetadataValue::F32(1.5)));
        assert_eq!(f.get("t.bool"), Some(&MetadataValue::Bool(true)));
        assert_eq!(f.get_u64("t.u64"), Some(1 << 40));
        assert_eq!(
            f.get("t.i64").and_then(MetadataValue::as_i64),
            Some(-(1 << 40))
        );
        assert_eq!(f.get("t.f64"), Some(&MetadataValue::F64(2.25)));
        assert_eq!(
            f.get("t.nested"),
            Some(&MetadataValue::Array(MetadataArray::Array(vec![
                MetadataArray::I32(vec![1, -2, 3]),
                MetadataArray::I32(vec![]),
            ])))
        );
        assert_eq!(f.get_str("general.architecture"), Some("llama"));
        assert_eq!(f.metadata()[0].offset, 24);

        assert_eq!(f.tensors().len(), 4);
        let emb = f.tensor("token_embd.weight").unwrap();
        assert_eq!(emb.ggml_type, GgmlType::Q4_0);
        assert_eq!(emb.n_elements, 192);
        assert_eq!(emb.n_bytes, 6 * 18);
        assert_eq!(emb.file_offset, f.data_offset());
        assert_eq!(f.parameter_count(), 192 + 64 + 512 + 192);
        assert_eq!(f.weight_bytes(), 108 + 256 + 2 * 144 + 6 * 34);
        assert_eq!(f.weight_bytes_by_type()[&GgmlType::Q4K], 288);
        assert_eq!(f.parameters_by_type()[&GgmlType::F32], 64);
        let bpw = f.bits_per_weight().unwrap();
        assert!((bpw - 856.0 * 8.0 / 960.0).abs() < 1e-12);
        assert_eq!(f.dominant_type(), Some(GgmlType::Q4K));

        let arch = f.architecture();
        assert_eq!(arch.architecture.as_deref(), Some("llama"));
        assert_eq!(arch.block_count, Some(2));
        assert_eq!(arch.head_count_kv, Some(2));
        assert_eq!(arch.vocab_size, Some(3));
        assert_eq!(arch.key_length, None);
        assert_eq!(arch.head_dim(), Some(16));
        assert!(arch.has_output_weight);
        assert_eq!(arch.file_type_name, Some("Q4_0"));
    }

    #[test]
    fn version_2_and_custom_alignment() {
        let mut b = GgufBuilder::new()
            .with_alignment(64)
            .tensor("a", &[32], Q8_0)
            .tensor("b", &[8], F32);
        b.version = 2;
        let f = GgufFile::from_bytes(&b.build()).unwrap();
        assert_eq!(f.version(), 2);
        assert_eq!(f.alignment(), 64);
        assert_eq!(f.data_offset() % 64, 0);
        assert_eq!(f.tensor("b").unwrap().offset, 64);
    }

    #[test]
    fn rejects_bad_magic_and_versions() {
        let mut bytes = sample().build();
        bytes[0] = b'X';
        assert!(matches!(
            GgufFile::from_bytes(&bytes),
            Err(GgufError::BadMagic { .. })
        ));
        for (version, big_endian) in [(1u32, false), (4, false), (0x0300_0000, true)] {
            let mut b = sample();
            b.version = version;
            let err = GgufFile::from_bytes(&b.build()).unwrap_err();
            if big_endian {
                assert!(matches!(err, GgufError::BigEndian { .. }), "{err}");
            } else {
                assert!(matches!(err, GgufError::UnsupportedVersion { .. }), "{err}");
            }
        }
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample().build();
        for len in 0..bytes.len() {
            let err = GgufFile::from_bytes(&bytes[..len]);
            assert!(err.is_err(), "prefix of {len} bytes parsed");
        }
    }

    #[test]
    fn error_messages_name_offsets() {
        let bytes = GgufBuilder::new().kv_raw("k", 99, &[0]).build();
        let err = GgufFile::from_bytes(&bytes).unwrap_err();
        assert_eq!(
            err.to_string(),
            "value of metadata key \"k\" at byte 33 has unknown value type 99"
        );
    }

    #[test]
    fn tensor_byte_size_checks_blocks() {
        assert_eq!(tensor_byte_size(GgmlType::Q4_0, &[64, 2]), Some(72));
        assert_eq!(tensor_byte_size(GgmlType::Q4_0, &[48, 2]), None);
        assert_eq!(tensor_byte_size(GgmlType::F32, &[u64::MAX, 2]), None);
        assert_eq!(tensor_byte_size(GgmlType::F32, &[]), Some(4));
    }
}
