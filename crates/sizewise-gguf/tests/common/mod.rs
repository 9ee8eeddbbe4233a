//! Builds small GGUF files in memory for tests.
#![allow(dead_code, missing_docs)]

/// Value type ids.
pub const T_U8: u32 = 0;
pub const T_I8: u32 = 1;
pub const T_U16: u32 = 2;
pub const T_I16: u32 = 3;
pub const T_U32: u32 = 4;
pub const T_I32: u32 = 5;
pub const T_F32: u32 = 6;
pub const T_BOOL: u32 = 7;
pub const T_STRING: u32 = 8;
pub const T_ARRAY: u32 = 9;
pub const T_U64: u32 = 10;
pub const T_I64: u32 = 11;
pub const T_F64: u32 = 12;

pub fn string_bytes(s: &str) -> Vec<u8> {
    let mut v = (s.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(s.as_bytes());
    v
}

/// An array value (without the leading ARRAY type id): element type, count, elements.
pub fn array_bytes(elem_type: u32, count: u64, elems: &[u8]) -> Vec<u8> {
    let mut v = elem_type.to_le_bytes().to_vec();
    v.extend_from_slice(&count.to_le_bytes());
    v.extend_from_slice(elems);
    v
}

pub fn string_array(items: &[&str]) -> Vec<u8> {
    let elems: Vec<u8> = items.iter().flat_map(|s| string_bytes(s)).collect();
    array_bytes(T_STRING, items.len() as u64, &elems)
}

pub fn i32_array(items: &[i32]) -> Vec<u8> {
    let elems: Vec<u8> = items.iter().flat_map(|x| x.to_le_bytes()).collect();
    array_bytes(T_I32, items.len() as u64, &elems)
}

pub fn f32_array(items: &[f32]) -> Vec<u8> {
    let elems: Vec<u8> = items.iter().flat_map(|x| x.to_le_bytes()).collect();
    array_bytes(T_F32, items.len() as u64, &elems)
}

/// Ggml type ids used in tests.
pub const F32: u32 = 0;
pub const F16: u32 = 1;
pub const Q4_0: u32 = 2;
pub const Q8_0: u32 = 8;
pub const Q4_K: u32 = 12;

/// (block size, block bytes) of the few types the builder lays out.
fn layout(type_id: u32) -> (u64, u64) {
    match type_id {
        F32 => (1, 4),
        F16 => (1, 2),
        Q4_0 => (32, 18),
        Q8_0 => (32, 34),
        Q4_K => (256, 144),
        _ => (1, 1),
    }
}

#[derive(Clone)]
pub struct GgufBuilder {
    pub version: u32,
    pub alignment: u64,
    kv: Vec<u8>,
    pub kv_count: u64,
    tensors: Vec<u8>,
    pub tensor_count: u64,
    data: Vec<u8>,
}

impl Default for GgufBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl GgufBuilder {
    pub fn new() -> Self {
        GgufBuilder {
            version: 3,
            alignment: 32,
            kv: Vec::new(),
            kv_count: 0,
            tensors: Vec::new(),
            tensor_count: 0,
            data: Vec::new(),
        }
    }

    /// A key with raw type id and value bytes.
    pub fn kv_raw(mut self, key: &str, type_id: u32, value: &[u8]) -> Self {
        self.kv.extend(string_bytes(key));
        self.kv.extend(type_id.to_le_bytes());
        self.kv.extend_from_slice(value);
        self.kv_count += 1;
        self
    }
    pub fn kv_u32(self, key: &str, v: u32) -> Self {
        self.kv_raw(key, T_U32, &v.to_le_bytes())
    }
    pub fn kv_u64(self, key: &str, v: u64) -> Self {
        self.kv_raw(key, T_U64, &v.to_le_bytes())
    }
    pub fn kv_bool(self, key: &str, v: bool) -> Self {
        self.kv_raw(key, T_BOOL, &[u8::from(v)])
    }
    pub fn kv_str(self, key: &str, v: &str) -> Self {
        self.kv_raw(key, T_STRING, &string_bytes(v))
    }
    pub fn kv_array(self, key: &str, array: &[u8]) -> Self {
        self.kv_raw(key, T_ARRAY, array)
    }
    pub fn with_alignment(mut self, alignment: u32) -> Self {
        self.alignment = u64::from(alignment);
        self.kv_u32("general.alignment", alignment)
    }

    /// A tensor info with a raw offset; no data is added.
    pub fn tensor_raw(mut self, name: &str, dims: &[u64], type_id: u32, offset: u64) -> Self {
        self.tensors.extend(string_bytes(name));
        self.tensors.extend((dims.len() as u32).to_le_bytes());
        for d in dims {
            self.tensors.extend(d.to_le_bytes());
        }
        self.tensors.extend(type_id.to_le_bytes());
        self.tensors.extend(offset.to_le_bytes());
        self.tensor_count += 1;
        self
    }

    /// A tensor placed after the previous ones (aligned), with zeroed data.
    pub fn tensor(mut self, name: &str, dims: &[u64], type_id: u32) -> Self {
        let (block, bytes) = layout(type_id);
        let n: u64 = dims.iter().product();
        let size = n / block * bytes;
        let offset = (self.data.len() as u64).div_ceil(self.alignment) * self.alignment;
        self.data.resize(offset as usize, 0);
        self.data.resize((offset + size) as usize, 0xAB);
        self.tensor_raw(name, dims, type_id, offset)
    }

    /// The header only (magic .. end of tensor table), no padding or data.
    pub fn header(&self) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend(self.version.to_le_bytes());
        out.extend(self.tensor_count.to_le_bytes());
        out.extend(self.kv_count.to_le_bytes());
        out.extend_from_slice(&self.kv);
        out.extend_from_slice(&self.tensors);
        out
    }

    pub fn build(&self) -> Vec<u8> {
        let mut out = self.header();
        let start = (out.len() as u64).div_ceil(self.alignment) * self.alignment;
        out.resize(start as usize, 0);
        out.extend_from_slice(&self.data);
        out
    }
}

/// A small valid file with every value type, nested arrays and a few tensors.
pub fn sample() -> GgufBuilder {
    let nested = {
        let inner1 = i32_array(&[1, -2, 3]);
        let inner2 = string_array(&["a", "bc"]);
        let mut elems = inner1.clone();
        elems.extend(i32_array(&[]));
        let outer = array_bytes(T_ARRAY, 2, &elems);
        let _ = inner2;
        outer
    };
    GgufBuilder::new()
        .kv_str("general.architecture", "llama")
        .kv_str("general.name", "tiny")
        .kv_u32("llama.block_count", 2)
        .kv_u32("llama.embedding_length", 64)
        .kv_u32("llama.feed_forward_length", 128)
        .kv_u32("llama.attention.head_count", 4)
        .kv_u32("llama.attention.head_count_kv", 2)
        .kv_u32("llama.context_length", 256)
        .kv_u32("general.file_type", 2)
        .kv_raw("t.u8", T_U8, &[200])
        .kv_raw("t.i8", T_I8, &(-5i8).to_le_bytes())
        .kv_raw("t.u16", T_U16, &60000u16.to_le_bytes())
        .kv_raw("t.i16", T_I16, &(-300i16).to_le_bytes())
        .kv_raw("t.i32", T_I32, &(-70000i32).to_le_bytes())
        .kv_raw("t.f32", T_F32, &1.5f32.to_le_bytes())
        .kv_bool("t.bool", true)
        .kv_u64("t.u64", 1 << 40)
        .kv_raw("t.i64", T_I64, &(-(1i64 << 40)).to_le_bytes())
        .kv_raw("t.f64", T_F64, &2.25f64.to_le_bytes())
        .kv_array("t.nested", &nested)
        .kv_array("tokenizer.ggml.tokens", &string_array(&["a", "b", "c"]))
        .tensor("token_embd.weight", &[64, 3], Q4_0)
        .tensor("blk.0.attn_norm.weight", &[64], F32)
        .tensor("blk.0.ffn_up.weight", &[256, 2], Q4_K)
        .tensor("output.weight", &[64, 3], Q8_0)
}
