//! Synthetic models: a GGUF file with a real model's exact architecture and random weights.
//!
//! llama.cpp loads such a file like the real model and spends the same time and memory on
//! it (the same tensors of the same types, the same KV cache), so its speed and footprint
//! can be measured where the real weights are not at hand. The text it produces is
//! meaningless. Files carry `sizewise.synthetic = true` (see [`GgufFile::is_synthetic`]) and
//! a `general.name` that says so, so that results measured on them can be labelled.
//!
//! Two llama.cpp architectures are written: `llama` (Llama, SmolLM, Mistral without sliding
//! window ...) and `qwen2` (with q/k/v biases). The tensor types follow what llama-quantize
//! picks by default for the file type (see [`SynthPrecision`]).

use std::io::Write;

use crate::error::GgufWriteError;
use crate::file::GgufFile;
use crate::types::GgmlType;
use crate::value::{MetadataArray, MetadataValue};
use crate::writer::{GgufDataWriter, GgufWriter, TensorLayout};

/// Metadata key that marks a file written by [`write_synth`] (a bool, `true`).
pub const SYNTHETIC_KEY: &str = "sizewise.synthetic";
/// Metadata key holding the catalog id of the model a synthetic file imitates.
pub const SOURCE_MODEL_KEY: &str = "sizewise.source_model";
/// Metadata key holding the seed of a synthetic file's random weights.
pub const SEED_KEY: &str = "sizewise.seed";

/// Special and byte tokens at the start of the synthetic vocabulary: `<unk>`, `<s>`, `</s>`
/// and the 256 byte tokens. A vocabulary must be at least this large.
pub const MIN_SYNTH_VOCAB: u64 = 3 + 256;

/// Bytes of random data generated and written at a time.
const CHUNK_BYTES: usize = 1 << 20;

/// Largest magnitude of the random float weights and biases.
const WEIGHT_RANGE: f32 = 0.02;

/// Errors of [`write_synth`] and [`SynthSpec::validate`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SynthError {
    /// The architecture cannot be written as a llama.cpp model.
    #[error("cannot write this architecture: {field} {reason}")]
    InvalidSpec {
        /// The field at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Writing the file failed.
    #[error(transparent)]
    Write(#[from] GgufWriteError),
}

/// The llama.cpp architecture a synthetic file declares (`general.architecture`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthArch {
    /// `llama`: pre-norm RMSNorm, RoPE, grouped-query attention, SwiGLU MLP.
    Llama,
    /// `qwen2`: as `llama`, with biases on the q, k and v projections.
    Qwen2,
}

impl SynthArch {
    /// The name llama.cpp knows the architecture by (`"llama"`, `"qwen2"`).
    pub fn gguf_name(self) -> &'static str {
        match self {
            SynthArch::Llama => "llama",
            SynthArch::Qwen2 => "qwen2",
        }
    }
}

/// The shape of the model to write.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSpec {
    /// The llama.cpp architecture.
    pub arch: SynthArch,
    /// Display name of the model imitated (written as `"<name> (synthetic, random weights)"`).
    pub name: String,
    /// Catalog id of the model imitated (`sizewise.source_model`).
    pub source_model: String,
    /// Transformer blocks.
    pub layers: u32,
    /// Width of the residual stream.
    pub hidden: u64,
    /// Query heads.
    pub heads: u32,
    /// Key/value heads (a divisor of `heads`).
    pub kv_heads: u32,
    /// Size of one attention head.
    pub head_dim: u32,
    /// Feed-forward width.
    pub ffn: u64,
    /// Vocabulary size, at least [`MIN_SYNTH_VOCAB`].
    pub vocab: u64,
    /// True when the output projection reuses the token embeddings (no `output.weight`).
    pub tied_embeddings: bool,
    /// Biases on the q, k and v projections (required by `qwen2`).
    pub qkv_bias: bool,
    /// Training context length written into the file (`{arch}.context_length`).
    pub context_length: u64,
    /// RoPE base frequency.
    pub rope_base: f32,
    /// RMSNorm epsilon.
    pub rms_eps: f32,
}

/// The weight precision of a synthetic file, as a llama.cpp file type.
///
/// The tensor types are those llama-quantize picks by default (no importance matrix): norms
/// and biases stay F32; for `Q4_0` and `Q4_K_M` the output projection (or the token
/// embeddings when they are tied to it) is `Q6_K`; for `Q4_K_M`, `attn_v` and `ffn_down` are
/// `Q6_K` on the layers where llama.cpp gives them more bits. A k-quant tensor whose rows are
/// not a multiple of 256 falls back as llama.cpp does (`Q4_K` to `Q5_0`, `Q6_K` to `Q8_0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthPrecision {
    /// Every matrix F32.
    F32,
    /// Every matrix F16.
    F16,
    /// Every matrix Q8_0.
    Q8_0,
    /// Matrices Q4_0, the output projection Q6_K.
    Q4_0,
    /// Matrices Q4_1 (4-bit blocks with a scale and a minimum), the output projection Q6_K.
    Q4_1,
    /// Matrices Q5_0, the output projection Q6_K.
    Q5_0,
    /// llama.cpp's Q4_K_M mix of Q4_K and Q6_K.
    Q4KM,
}

impl SynthPrecision {
    /// Every precision, smallest file last.
    pub const ALL: [SynthPrecision; 7] = [
        SynthPrecision::F32,
        SynthPrecision::F16,
        SynthPrecision::Q8_0,
        SynthPrecision::Q5_0,
        SynthPrecision::Q4KM,
        SynthPrecision::Q4_1,
        SynthPrecision::Q4_0,
    ];

    /// The name on the command line (`"q4_k_m"`).
    pub fn name(self) -> &'static str {
        match self {
            SynthPrecision::F32 => "f32",
            SynthPrecision::F16 => "f16",
            SynthPrecision::Q8_0 => "q8_0",
            SynthPrecision::Q4_0 => "q4_0",
            SynthPrecision::Q4_1 => "q4_1",
            SynthPrecision::Q5_0 => "q5_0",
            SynthPrecision::Q4KM => "q4_k_m",
        }
    }

    /// The precision with this name (case-insensitive), or `None`.
    pub fn from_name(name: &str) -> Option<SynthPrecision> {
        SynthPrecision::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    /// `general.file_type` (llama.cpp's `llama_ftype`).
    pub fn file_type(self) -> u32 {
        match self {
            SynthPrecision::F32 => 0,
            SynthPrecision::F16 => 1,
            SynthPrecision::Q4_0 => 2,
            SynthPrecision::Q4_1 => 3,
            SynthPrecision::Q8_0 => 7,
            SynthPrecision::Q5_0 => 8,
            SynthPrecision::Q4KM => 15,
        }
    }

    /// The type of every matrix that no rule treats specially.
    fn base_type(self) -> GgmlType {
        match self {
            SynthPrecision::F32 => GgmlType::F32,
            SynthPrecision::F16 => GgmlType::F16,
            SynthPrecision::Q8_0 => GgmlType::Q8_0,
            SynthPrecision::Q4_0 => GgmlType::Q4_0,
            SynthPrecision::Q4_1 => GgmlType::Q4_1,
            SynthPrecision::Q5_0 => GgmlType::Q5_0,
            SynthPrecision::Q4KM => GgmlType::Q4K,
        }
    }

    /// The type of a weight matrix of `role` in layer `layer` of `layers`, with rows of
    /// `ne0` elements.
    fn matrix_type(self, role: Role, layer: u32, layers: u32, ne0: u64) -> GgmlType {
        let base = self.base_type();
        let wanted = match role {
            Role::Output if self.is_quantized() && base != GgmlType::Q8_0 => {
                if ne0.is_multiple_of(base.block_size()) {
                    GgmlType::Q6K
                } else {
                    GgmlType::Q8_0
                }
            }
            Role::MoreBits if self == SynthPrecision::Q4KM && use_more_bits(layer, layers) => {
                GgmlType::Q6K
            }
            _ => base,
        };
        if ne0.is_multiple_of(wanted.block_size()) {
            return wanted;
        }
        let fallback = match wanted {
            GgmlType::Q4K => GgmlType::Q5_0,
            GgmlType::Q6K => GgmlType::Q8_0,
            _ => GgmlType::F16,
        };
        if ne0.is_multiple_of(fallback.block_size()) {
            fallback
        } else {
            GgmlType::F16
        }
    }

    fn is_quantized(self) -> bool {
        self.base_type().is_quantized()
    }
}

/// llama.cpp's choice of the layers whose `attn_v` and `ffn_down` get more bits in the
/// `_M` k-quant mixes: the first and last eighth, and every third layer between.
fn use_more_bits(layer: u32, layers: u32) -> bool {
    layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2
}

/// How a tensor is typed and filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The output projection, or the token embeddings that double as it.
    Output,
    /// `attn_v` and `ffn_down`, which `Q4_K_M` gives more bits on some layers.
    MoreBits,
    /// Any other weight matrix.
    Matrix,
    /// A norm weight: all ones, F32.
    Norm,
    /// A bias: small random values, F32.
    Bias,
}

/// One tensor of a synthetic file.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthTensor {
    /// The name llama.cpp looks for (`blk.3.attn_q.weight`).
    pub name: String,
    /// Dimensions, `[ne0 = input width, ne1 = output rows]` for a matrix.
    pub dims: Vec<u64>,
    /// Its type.
    pub ggml_type: GgmlType,
    role: Role,
}

impl SynthTensor {
    /// Number of elements.
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// What [`write_synth`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSummary {
    /// Parameters: the element count of all tensors.
    pub parameters: u64,
    /// Bytes of the file.
    pub file_bytes: u64,
    /// Bytes of tensor data (without padding).
    pub weight_bytes: u64,
    /// Number of tensors.
    pub tensors: usize,
}

impl SynthSummary {
    /// Average bits per weight over all tensors.
    pub fn bits_per_weight(&self) -> f64 {
        if self.parameters == 0 {
            0.0
        } else {
            self.weight_bytes as f64 * 8.0 / self.parameters as f64
        }
    }
}

impl SynthSpec {
    /// Width of all query heads together (`heads * head_dim`).
    fn q_width(&self) -> u64 {
        u64::from(self.heads) * u64::from(self.head_dim)
    }

    /// Width of all key (or value) heads together (`kv_heads * head_dim`).
    fn kv_width(&self) -> u64 {
        u64::from(self.kv_heads) * u64::from(self.head_dim)
    }

    /// Parameters of the model, from the shape: embeddings, untied output, final norm and,
    /// per layer, two norms, the q/k/v/o projections (and q/k/v biases) and the gated MLP.
    /// `u64::MAX` when the count overflows (which [`SynthSpec::validate`] refuses).
    pub fn parameter_count(&self) -> u64 {
        self.checked_parameter_count().unwrap_or(u64::MAX)
    }

    fn checked_parameter_count(&self) -> Option<u64> {
        let (h, q, kv) = (self.hidden, self.q_width(), self.kv_width());
        let embeddings = self
            .vocab
            .checked_mul(h)?
            .checked_mul(if self.tied_embeddings { 1 } else { 2 })?;
        let attention = h.checked_mul(q.checked_mul(2)?.checked_add(kv.checked_mul(2)?)?)?;
        let biases = if self.qkv_bias {
            q.checked_add(kv.checked_mul(2)?)?
        } else {
            0
        };
        let mlp = h.checked_mul(self.ffn)?.checked_mul(3)?;
        let layer = (2 * h)
            .checked_add(attention)?
            .checked_add(biases)?
            .checked_add(mlp)?;
        embeddings
            .checked_add(h)?
            .checked_add(u64::from(self.layers).checked_mul(layer)?)
    }

    /// Checks that llama.cpp can run this shape and that every size fits the file's fields.
    pub fn validate(&self) -> Result<(), SynthError> {
        let bad =
            |field: &'static str, reason: String| Err(SynthError::InvalidSpec { field, reason });
        let fits_u32 = |v: u64| u32::try_from(v).is_ok_and(|v| v > 0);
        for (field, value) in [
            ("layers", u64::from(self.layers)),
            ("hidden", self.hidden),
            ("heads", u64::from(self.heads)),
            ("kv_heads", u64::from(self.kv_heads)),
            ("head_dim", u64::from(self.head_dim)),
            ("ffn", self.ffn),
            ("context_length", self.context_length),
        ] {
            if !fits_u32(value) {
                return bad(
                    field,
                    format!("is {value}; it must be between 1 and 2^32 - 1"),
                );
            }
        }
        if self.vocab < MIN_SYNTH_VOCAB || self.vocab > i32::MAX as u64 {
            return bad(
                "vocab",
                format!(
                    "is {}; a synthetic vocabulary holds 3 special and 256 byte tokens, so it needs {MIN_SYNTH_VOCAB} to 2^31 - 1 tokens",
                    self.vocab
                ),
            );
        }
        if !self.heads.is_multiple_of(self.kv_heads) {
            return bad(
                "kv_heads",
                format!(
                    "is {}, which does not divide the {} query heads",
                    self.kv_heads, self.heads
                ),
            );
        }
        if !self.head_dim.is_multiple_of(2) {
            return bad(
                "head_dim",
                format!(
                    "is {}; rotary embeddings need an even head size",
                    self.head_dim
                ),
            );
        }
        if self.arch == SynthArch::Qwen2 && !self.qkv_bias {
            return bad(
                "qkv_bias",
                "is false, but llama.cpp's qwen2 requires q/k/v biases; use the llama architecture"
                    .into(),
            );
        }
        if !(self.rope_base.is_finite() && self.rope_base > 0.0) {
            return bad(
                "rope_base",
                format!("is {}; it must be positive", self.rope_base),
            );
        }
        if !(self.rms_eps.is_finite() && self.rms_eps > 0.0) {
            return bad(
                "rms_eps",
                format!("is {}; it must be positive", self.rms_eps),
            );
        }
        // Every size must fit 64 bits, even as f32 bytes (the writer checks each tensor too).
        if self
            .checked_parameter_count()
            .is_none_or(|n| n > i64::MAX as u64 / 4)
        {
            return bad(
                "hidden",
                "and the other sizes give more parameters than a file can hold".into(),
            );
        }
        Ok(())
    }

    /// The tensors of the file in the order they are written, with their types at
    /// `precision`. Call [`SynthSpec::validate`] first.
    pub fn tensors(&self, precision: SynthPrecision) -> Vec<SynthTensor> {
        let (h, q, kv) = (self.hidden, self.q_width(), self.kv_width());
        let n = self.layers;
        let tensor = |name: String, dims: Vec<u64>, role: Role, layer: u32| {
            let ggml_type = match role {
                Role::Norm | Role::Bias => GgmlType::F32,
                _ => precision.matrix_type(role, layer, n, dims[0]),
            };
            SynthTensor {
                name,
                dims,
                ggml_type,
                role,
            }
        };
        let embd_role = if self.tied_embeddings {
            Role::Output
        } else {
            Role::Matrix
        };
        let mut out = vec![tensor(
            "token_embd.weight".into(),
            vec![h, self.vocab],
            embd_role,
            0,
        )];
        for i in 0..n {
            let blk = |part: &str| format!("blk.{i}.{part}");
            out.push(tensor(blk("attn_norm.weight"), vec![h], Role::Norm, i));
            out.push(tensor(blk("attn_q.weight"), vec![h, q], Role::Matrix, i));
            if self.qkv_bias {
                out.push(tensor(blk("attn_q.bias"), vec![q], Role::Bias, i));
            }
            out.push(tensor(blk("attn_k.weight"), vec![h, kv], Role::Matrix, i));
            if self.qkv_bias {
                out.push(tensor(blk("attn_k.bias"), vec![kv], Role::Bias, i));
            }
            out.push(tensor(blk("attn_v.weight"), vec![h, kv], Role::MoreBits, i));
            if self.qkv_bias {
                out.push(tensor(blk("attn_v.bias"), vec![kv], Role::Bias, i));
            }
            out.push(tensor(
                blk("attn_output.weight"),
                vec![q, h],
                Role::Matrix,
                i,
            ));
            out.push(tensor(blk("ffn_norm.weight"), vec![h], Role::Norm, i));
            out.push(tensor(
                blk("ffn_gate.weight"),
                vec![h, self.ffn],
                Role::Matrix,
                i,
            ));
            out.push(tensor(
                blk("ffn_up.weight"),
                vec![h, self.ffn],
                Role::Matrix,
                i,
            ));
            out.push(tensor(
                blk("ffn_down.weight"),
                vec![self.ffn, h],
                Role::MoreBits,
                i,
            ));
        }
        out.push(tensor("output_norm.weight".into(), vec![h], Role::Norm, 0));
        if !self.tied_embeddings {
            out.push(tensor(
                "output.weight".into(),
                vec![h, self.vocab],
                Role::Output,
                0,
            ));
        }
        out
    }

    /// The metadata of the file.
    fn metadata(&self, precision: SynthPrecision, seed: u64) -> Vec<(String, MetadataValue)> {
        use MetadataValue::{Bool, F32, String as Str, U32, U64};
        let arch = self.arch.gguf_name();
        let key = |suffix: &str| format!("{arch}.{suffix}");
        // `validate` has checked that these fit.
        let u32_of = |v: u64| U32(u32::try_from(v).unwrap_or(u32::MAX));
        let mut m = vec![
            ("general.architecture".to_string(), Str(arch.into())),
            (
                "general.name".to_string(),
                Str(format!("{} (synthetic, random weights)", self.name)),
            ),
            ("general.file_type".to_string(), U32(precision.file_type())),
        ];
        if precision.is_quantized() {
            m.push(("general.quantization_version".into(), U32(2)));
        }
        m.extend([
            (key("context_length"), u32_of(self.context_length)),
            (key("embedding_length"), u32_of(self.hidden)),
            (key("block_count"), U32(self.layers)),
            (key("feed_forward_length"), u32_of(self.ffn)),
            (key("attention.head_count"), U32(self.heads)),
            (key("attention.head_count_kv"), U32(self.kv_heads)),
            (key("attention.key_length"), U32(self.head_dim)),
            (key("attention.value_length"), U32(self.head_dim)),
            (key("rope.dimension_count"), U32(self.head_dim)),
            (key("rope.freq_base"), F32(self.rope_base)),
            (key("attention.layer_norm_rms_epsilon"), F32(self.rms_eps)),
            (key("vocab_size"), u32_of(self.vocab)),
            (SYNTHETIC_KEY.into(), Bool(true)),
            (SOURCE_MODEL_KEY.into(), Str(self.source_model.clone())),
            (SEED_KEY.into(), U64(seed)),
        ]);
        let vocab = synthetic_vocabulary(self.vocab);
        m.extend([
            ("tokenizer.ggml.model".into(), Str("llama".into())),
            (
                "tokenizer.ggml.tokens".into(),
                MetadataValue::Array(MetadataArray::String(vocab.tokens)),
            ),
            (
                "tokenizer.ggml.scores".into(),
                MetadataValue::Array(MetadataArray::F32(vocab.scores)),
            ),
            (
                "tokenizer.ggml.token_type".into(),
                MetadataValue::Array(MetadataArray::I32(vocab.types)),
            ),
            ("tokenizer.ggml.bos_token_id".into(), U32(1)),
            ("tokenizer.ggml.eos_token_id".into(), U32(2)),
            ("tokenizer.ggml.unknown_token_id".into(), U32(0)),
            ("tokenizer.ggml.add_bos_token".into(), Bool(true)),
            ("tokenizer.ggml.add_eos_token".into(), Bool(false)),
        ]);
        m
    }

    /// The header of the file: metadata and tensor table.
    fn writer(
        &self,
        precision: SynthPrecision,
        seed: u64,
    ) -> Result<(GgufWriter, Vec<SynthTensor>), SynthError> {
        self.validate()?;
        let mut w = GgufWriter::new();
        for (k, v) in self.metadata(precision, seed) {
            w.add_metadata(k, v)?;
        }
        let tensors = self.tensors(precision);
        for t in &tensors {
            w.add_tensor(t.name.clone(), &t.dims, t.ggml_type)?;
        }
        Ok((w, tensors))
    }

    /// Bytes of the file [`write_synth`] writes for this spec, before writing it.
    pub fn file_size(&self, precision: SynthPrecision) -> Result<u64, SynthError> {
        Ok(self.writer(precision, 0)?.0.file_size())
    }
}

/// The token strings, scores and types of a SentencePiece-style vocabulary.
struct Vocabulary {
    tokens: Vec<String>,
    scores: Vec<f32>,
    types: Vec<i32>,
}

/// `tokenizer.ggml.token_type` values.
const TOKEN_NORMAL: i32 = 1;
const TOKEN_UNKNOWN: i32 = 2;
const TOKEN_CONTROL: i32 = 3;
const TOKEN_BYTE: i32 = 6;

/// `<unk>`, `<s>`, `</s>`, the 256 byte tokens, then distinct filler pieces up to `size`:
/// `▁`, then each lowercase word (`a` .. `z`, `aa` ...) with and without a leading `▁`.
fn synthetic_vocabulary(size: u64) -> Vocabulary {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let mut tokens: Vec<String> = Vec::with_capacity(size);
    let mut types = Vec::with_capacity(size);
    tokens.extend(["<unk>", "<s>", "</s>"].map(String::from));
    types.extend([TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_CONTROL]);
    tokens.extend((0..=255u8).map(|b| format!("<0x{b:02X}>")));
    types.extend([TOKEN_BYTE; 256]);
    if tokens.len() < size {
        tokens.push("\u{2581}".into());
        types.push(TOKEN_NORMAL);
    }
    let mut n = 0u64;
    while tokens.len() < size {
        let word = filler_word(n);
        n += 1;
        for piece in [format!("\u{2581}{word}"), word] {
            if tokens.len() < size {
                tokens.push(piece);
                types.push(TOKEN_NORMAL);
            }
        }
    }
    tokens.truncate(size);
    types.truncate(size);
    let scores = (0..tokens.len())
        .map(|i| {
            if types[i] == TOKEN_NORMAL {
                -(i as f32)
            } else {
                0.0
            }
        })
        .collect();
    Vocabulary {
        tokens,
        scores,
        types,
    }
}

/// The `n`-th lowercase word in length-then-alphabetical order: `a`, ..., `z`, `aa`, `ab` ...
fn filler_word(mut n: u64) -> String {
    let mut word = Vec::new();
    loop {
        word.push(b'a' + (n % 26) as u8);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    word.reverse();
    String::from_utf8_lossy(&word).into_owned()
}

/// SplitMix64: a small, fast generator, plenty for random weights.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        let mut rng = Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        rng.next_u64();
        rng
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in `[-WEIGHT_RANGE, WEIGHT_RANGE)` from the low 24 bits of `bits`
    /// (each half of a random `u64` makes one weight).
    fn weight(bits: u64) -> f32 {
        let unit = (bits & 0xFF_FFFF) as f32 / (1u32 << 24) as f32;
        (unit * 2.0 - 1.0) * WEIGHT_RANGE
    }

    fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let last = self.next_u64().to_le_bytes();
        rest.copy_from_slice(&last[..rest.len()]);
    }
}

/// The IEEE half-precision bits of `x`, rounded to nearest (ties away from zero); overflow
/// gives infinity, NaN a quiet NaN.
pub fn f16_bits(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xFF) as i32;
    let mantissa = bits & 0x7F_FFFF;
    if exp == 0xFF {
        return sign | 0x7C00 | if mantissa != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 0x1F {
        return sign | 0x7C00;
    }
    if e <= 0 {
        // Subnormal half (or zero): shift the full mantissa into the 10 bits, rounding.
        if e < -10 {
            return sign;
        }
        let full = mantissa | 0x80_0000;
        let shift = (14 - e) as u32;
        let half = (full >> shift) + ((full >> (shift - 1)) & 1);
        return sign | half as u16;
    }
    // Rounding may carry into the exponent, which is still the right result.
    let half = ((e as u32) << 10 | (mantissa >> 13)) + ((mantissa >> 12) & 1);
    sign | half.min(0x7C00) as u16
}

/// Byte offsets of the f16 scale fields in one block of `t` (d, and dmin for `Q4_K`), for
/// the quantized types synthetic files use. `None` for other types.
pub fn scale_offsets(t: GgmlType) -> Option<&'static [usize]> {
    match t {
        // block_q8_0, block_q4_0, block_q5_0: d first.
        GgmlType::Q8_0 | GgmlType::Q4_0 | GgmlType::Q5_0 => Some(&[0]),
        // block_q4_1: d, m, qs[16].
        GgmlType::Q4_1 => Some(&[0, 2]),
        // block_q4_K: d, dmin, scales[12], qs[128].
        GgmlType::Q4K => Some(&[0, 2]),
        // block_q6_K: ql[128], qh[64], scales[16], d.
        GgmlType::Q6K => Some(&[208]),
        _ => None,
    }
}

/// The scale written into every block of `t`, so that its weights have a standard
/// deviation near 0.01, like the float types' (uniform in +-[`WEIGHT_RANGE`]): `d * q` with
/// `q` centred (`q - 8` for the 4-bit types, `q - 16` for Q5_0, -128..127 for Q8_0, and
/// Q6_K's `q - 32` times a signed 8-bit sub-block scale). Finite and non-zero, so that no
/// NaN or infinity reaches the kernels; Q6_K's is an f16 subnormal, which the kernels read
/// as a normal f32.
fn block_scale(t: GgmlType) -> f32 {
    match t {
        GgmlType::Q8_0 => 1.0 / 8192.0,
        GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q4K => 1.0 / 512.0,
        GgmlType::Q5_0 => 1.0 / 1024.0,
        _ => 1.0 / 131_072.0,
    }
}

/// Makes one random block of `t` decode to weights centred on zero: every scale field gets
/// [`block_scale`] times a random factor in [1/2, 4), Q4_1's minimum is `-8 d` (so its
/// weights are `d (q - 8)`, as Q4_0's), and Q4_K's eight sub-blocks get scale 1 and minimum 8
/// (so `d q - dmin 8`, with `dmin = d`).
/// - Random minimums would give every weight of a row the same sign: a synthetic model's
///   activations would then overflow, and llama.cpp's softmax and attention would run on
///   infinities and NaNs, at a speed no real model has.
/// - The factor spreads the scales over as much of llama.cpp's f16-to-f32 lookup table as a
///   real file's do. On x86 its kernels convert each block's scales through that 256 KiB
///   table (`ggml_lookup_fp16_to_fp32`): one scale everywhere kept a single entry of it in
///   cache, and a synthetic SmolLM2-135M Q4_1 decoded 10% faster than the real file, whose
///   4,373 distinct scales touch 920 of the table's cache lines.
fn shape_block(t: GgmlType, block: &mut [u8]) {
    let offsets = scale_offsets(t).unwrap_or(&[]);
    let Some(&first) = offsets.first() else {
        return;
    };
    // The block's own random bits, before they are overwritten: ten for the mantissa, two
    // for the binade (the middle one half the time, each neighbour a quarter).
    let r = u16::from_le_bytes([block[first], block[first + 1]]);
    let mantissa = 1.0 + f32::from(r & 0x3FF) / 1024.0;
    let binade = i32::from((r >> 10) & 1) + i32::from((r >> 11) & 1) - 1;
    let d = block_scale(t) * mantissa * 2f32.powi(binade);
    for &o in offsets {
        block[o..o + 2].copy_from_slice(&f16_bits(d).to_le_bytes());
    }
    match t {
        GgmlType::Q4_1 => block[2..4].copy_from_slice(&f16_bits(-8.0 * d).to_le_bytes()),
        GgmlType::Q4K => {
            // get_scale_min_k4: bytes 0-3 hold the scales of sub-blocks 0-3, bytes 4-7 their
            // minimums, bytes 8-11 the low bits of sub-blocks 4-7 (scale | minimum << 4), and
            // the top two bits of bytes 0-7 the high bits of sub-blocks 4-7 (zero here).
            block[4..8].fill(1);
            block[8..12].fill(8);
            block[12..16].fill(0x81);
        }
        _ => {}
    }
}

/// Writes the data of one tensor in chunks, reporting the bytes written so far.
fn write_tensor_data<W: Write>(
    data: &mut GgufDataWriter<W>,
    t: &SynthTensor,
    layout: &TensorLayout,
    rng: &mut Rng,
    buf: &mut Vec<u8>,
    progress: &mut dyn FnMut(u64),
) -> Result<(), SynthError> {
    let ty = t.ggml_type;
    // Whole elements of a plain type, whole blocks of a quantized one.
    let unit_bytes = ty.block_bytes();
    let units_per_chunk = (CHUNK_BYTES as u64 / unit_bytes).max(1);
    let mut left = layout.n_bytes / unit_bytes;
    while left > 0 {
        let n = left.min(units_per_chunk);
        buf.clear();
        buf.resize((n * unit_bytes) as usize, 0);
        match (t.role, ty) {
            (Role::Norm, _) => {
                for c in buf.chunks_exact_mut(4) {
                    c.copy_from_slice(&1.0f32.to_le_bytes());
                }
            }
            (_, GgmlType::F32) => {
                for c in buf.chunks_mut(8) {
                    let r = rng.next_u64();
                    for (k, x) in c.chunks_exact_mut(4).enumerate() {
                        let w = Rng::weight(r >> (32 * k as u32));
                        x.copy_from_slice(&w.to_le_bytes());
                    }
                }
            }
            (_, GgmlType::F16) => {
                for c in buf.chunks_mut(4) {
                    let r = rng.next_u64();
                    for (k, half) in c.chunks_exact_mut(2).enumerate() {
                        let w = Rng::weight(r >> (32 * k as u32));
                        half.copy_from_slice(&f16_bits(w).to_le_bytes());
                    }
                }
            }
            _ => {
                rng.fill(buf);
                for block in buf.chunks_exact_mut(unit_bytes as usize) {
                    shape_block(ty, block);
                }
            }
        }
        data.write_data(buf)?;
        left -= n;
        if left > 0 {
            progress(data.bytes_written());
        }
    }
    data.end_tensor()?;
    progress(data.bytes_written());
    Ok(())
}

/// Writes a synthetic model of shape `spec` at `precision` into `out`: the header, then the
/// tensors one chunk (1 MiB) at a time, so memory stays small whatever the model size.
/// `progress` gets the bytes written so far after each chunk. The same `spec`, `precision`
/// and `seed` give the same bytes. Pass a buffered writer for a file.
pub fn write_synth<W: Write>(
    spec: &SynthSpec,
    precision: SynthPrecision,
    seed: u64,
    out: W,
    mut progress: impl FnMut(u64),
) -> Result<(W, SynthSummary), SynthError> {
    let (writer, tensors) = spec.writer(precision, seed)?;
    let layouts = writer.tensors();
    let mut data = writer.start(out)?;
    progress(data.bytes_written());
    let mut buf = Vec::with_capacity(CHUNK_BYTES + 256);
    for (i, (t, layout)) in tensors.iter().zip(&layouts).enumerate() {
        let mut rng = Rng::new(seed, i as u64 + 1);
        write_tensor_data(&mut data, t, layout, &mut rng, &mut buf, &mut progress)?;
    }
    let file_bytes = data.bytes_written();
    let out = data.finish()?;
    let summary = SynthSummary {
        parameters: tensors.iter().map(SynthTensor::n_elements).sum(),
        file_bytes,
        weight_bytes: layouts.iter().map(|t| t.n_bytes).sum(),
        tensors: tensors.len(),
    };
    Ok((out, summary))
}

impl GgufFile {
    /// True when the file was written by [`write_synth`] (`sizewise.synthetic = true`): its
    /// weights are random, so its timing and memory are real and its text is not.
    pub fn is_synthetic(&self) -> bool {
        self.get(SYNTHETIC_KEY)
            .and_then(MetadataValue::as_bool)
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn spec(layers: u32, hidden: u64, tied: bool, arch: SynthArch) -> SynthSpec {
        SynthSpec {
            arch,
            name: "Tiny".into(),
            source_model: "tiny-1m".into(),
            layers,
            hidden,
            heads: 4,
            kv_heads: 2,
            head_dim: 32,
            ffn: 256,
            vocab: 300,
            tied_embeddings: tied,
            qkv_bias: arch == SynthArch::Qwen2,
            context_length: 2048,
            rope_base: 10000.0,
            rms_eps: 1e-5,
        }
    }

    fn write(spec: &SynthSpec, precision: SynthPrecision, seed: u64) -> (Vec<u8>, SynthSummary) {
        let mut last = 0;
        let (bytes, summary) = write_synth(spec, precision, seed, Vec::new(), |n| {
            assert!(n >= last, "progress goes forward");
            last = n;
        })
        .unwrap();
        assert_eq!(
            last,
            bytes.len() as u64,
            "the last progress report is the file size"
        );
        (bytes, summary)
    }

    fn specs() -> Vec<SynthSpec> {
        vec![
            spec(8, 256, true, SynthArch::Llama),
            spec(3, 256, false, SynthArch::Llama),
            spec(2, 96, true, SynthArch::Qwen2),
            spec(8, 256, false, SynthArch::Qwen2),
        ]
    }

    #[test]
    fn parameter_count_matches_the_tensors() {
        for s in specs() {
            for p in SynthPrecision::ALL {
                let n: u64 = s.tensors(p).iter().map(SynthTensor::n_elements).sum();
                assert_eq!(n, s.parameter_count(), "{s:?} {p:?}");
            }
        }
    }

    #[test]
    fn files_read_back_with_the_planned_table() {
        for s in specs() {
            for p in SynthPrecision::ALL {
                let (bytes, summary) = write(&s, p, 7);
                assert_eq!(summary.file_bytes, bytes.len() as u64);
                assert_eq!(s.file_size(p).unwrap(), bytes.len() as u64);
                let f = GgufFile::from_bytes(&bytes).unwrap();
                let planned = s.tensors(p);
                assert_eq!(f.tensors().len(), planned.len());
                assert_eq!(summary.tensors, planned.len());
                for (t, want) in f.tensors().iter().zip(&planned) {
                    assert_eq!(t.name, want.name);
                    assert_eq!(t.dims, want.dims);
                    assert_eq!(t.ggml_type, want.ggml_type);
                }
                assert_eq!(f.parameter_count(), s.parameter_count());
                assert_eq!(summary.parameters, s.parameter_count());
                // No tensor outside the file or over another (the reader checks both; this
                // says so once more, in order).
                let mut spans: Vec<(u64, u64)> = f
                    .tensors()
                    .iter()
                    .map(|t| (t.file_offset, t.file_offset + t.n_bytes))
                    .collect();
                spans.sort_unstable();
                assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0));
                assert!(
                    spans
                        .iter()
                        .all(|&(a, b)| a >= f.data_offset() && b <= f.file_size())
                );

                let arch = f.architecture();
                assert_eq!(arch.architecture.as_deref(), Some(s.arch.gguf_name()));
                assert_eq!(arch.block_count, Some(u64::from(s.layers)));
                assert_eq!(arch.head_dim(), Some(u64::from(s.head_dim)));
                assert_eq!(arch.vocab_size, Some(s.vocab));
                assert_eq!(arch.has_output_weight, !s.tied_embeddings);
                assert_eq!(arch.file_type, Some(p.file_type()));
                assert!(f.is_synthetic());
                assert_eq!(f.get_str(SOURCE_MODEL_KEY), Some("tiny-1m"));
                assert_eq!(f.get_u64(SEED_KEY), Some(7));
                assert_eq!(
                    f.get_str("general.name"),
                    Some("Tiny (synthetic, random weights)")
                );
            }
        }
    }

    #[test]
    fn q4_k_m_follows_llama_quantize() {
        let types = |s: &SynthSpec| -> Vec<(String, GgmlType)> {
            s.tensors(SynthPrecision::Q4KM)
                .into_iter()
                .map(|t| (t.name, t.ggml_type))
                .collect()
        };
        let of = |v: &[(String, GgmlType)], name: &str| {
            v.iter().find(|(n, _)| n == name).map(|&(_, t)| t).unwrap()
        };
        // 8 layers: more bits on 0 (first eighth), 7 (last eighth), 3 and 6 (every third).
        let v = types(&spec(8, 256, false, SynthArch::Llama));
        for i in 0..8 {
            let more = [0, 3, 6, 7].contains(&i);
            let want = if more { GgmlType::Q6K } else { GgmlType::Q4K };
            assert_eq!(of(&v, &format!("blk.{i}.attn_v.weight")), want, "layer {i}");
            assert_eq!(
                of(&v, &format!("blk.{i}.ffn_down.weight")),
                want,
                "layer {i}"
            );
            assert_eq!(of(&v, &format!("blk.{i}.attn_q.weight")), GgmlType::Q4K);
            assert_eq!(of(&v, &format!("blk.{i}.attn_norm.weight")), GgmlType::F32);
        }
        assert_eq!(of(&v, "token_embd.weight"), GgmlType::Q4K);
        assert_eq!(of(&v, "output.weight"), GgmlType::Q6K);
        // Tied: the embeddings are the output projection, so they get its type.
        let v = types(&spec(8, 256, true, SynthArch::Llama));
        assert_eq!(of(&v, "token_embd.weight"), GgmlType::Q6K);
        // Rows of 96: Q4_K falls back to Q5_0, Q6_K to Q8_0; ffn_down rows (512) stay k-quants.
        let v = types(&spec(2, 96, true, SynthArch::Qwen2));
        assert_eq!(of(&v, "token_embd.weight"), GgmlType::Q8_0);
        assert_eq!(of(&v, "blk.0.attn_q.weight"), GgmlType::Q5_0);
        assert_eq!(of(&v, "blk.0.attn_v.weight"), GgmlType::Q5_0);
        assert_eq!(of(&v, "blk.1.attn_v.weight"), GgmlType::Q8_0, "last eighth");
        assert_eq!(of(&v, "blk.0.ffn_down.weight"), GgmlType::Q4K);
        assert_eq!(of(&v, "blk.1.ffn_down.weight"), GgmlType::Q6K);
        assert_eq!(of(&v, "blk.0.attn_q.bias"), GgmlType::F32);
        // Q4_0: output Q6_K, the rest Q4_0; rows of 48 are not whole blocks: F16.
        let v = types(&SynthSpec {
            hidden: 48,
            ..spec(1, 96, false, SynthArch::Llama)
        });
        assert_eq!(of(&v, "output.weight"), GgmlType::F16);
        let s = spec(1, 256, false, SynthArch::Llama);
        let v: Vec<_> = s
            .tensors(SynthPrecision::Q4_0)
            .into_iter()
            .map(|t| (t.name, t.ggml_type))
            .collect();
        assert_eq!(of(&v, "output.weight"), GgmlType::Q6K);
        assert_eq!(of(&v, "blk.0.ffn_down.weight"), GgmlType::Q4_0);
    }

    #[test]
    fn every_quant_block_has_a_finite_scale() {
        let finite = |bits: u16| bits & 0x7C00 != 0x7C00;
        for s in specs() {
            for p in SynthPrecision::ALL {
                let (bytes, _) = write(&s, p, 3);
                let f = GgufFile::from_bytes(&bytes).unwrap();
                for t in f.tensors() {
                    let data = &bytes[t.file_offset as usize..(t.file_offset + t.n_bytes) as usize];
                    match t.ggml_type {
                        GgmlType::F32 => {
                            for c in data.chunks_exact(4) {
                                let x = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                                assert!(x.is_finite() && x.abs() <= 1.0, "{} {x}", t.name);
                            }
                        }
                        GgmlType::F16 => {
                            for c in data.chunks_exact(2) {
                                assert!(finite(u16::from_le_bytes([c[0], c[1]])), "{}", t.name);
                            }
                        }
                        ty => {
                            let offsets = scale_offsets(ty).unwrap();
                            let block = ty.block_bytes() as usize;
                            assert_eq!(data.len() % block, 0);
                            for b in data.chunks_exact(block) {
                                for &o in offsets {
                                    let d = u16::from_le_bytes([b[o], b[o + 1]]);
                                    assert!(finite(d) && d != 0, "{} scale {d:#06x}", t.name);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn norms_are_ones_and_weights_are_small() {
        let s = spec(2, 256, true, SynthArch::Qwen2);
        let (bytes, _) = write(&s, SynthPrecision::F32, 1);
        let f = GgufFile::from_bytes(&bytes).unwrap();
        let floats = |name: &str| -> Vec<f32> {
            let t = f.tensor(name).unwrap();
            bytes[t.file_offset as usize..(t.file_offset + t.n_bytes) as usize]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        assert!(floats("blk.1.ffn_norm.weight").iter().all(|&x| x == 1.0));
        assert!(floats("output_norm.weight").iter().all(|&x| x == 1.0));
        let w = floats("blk.0.attn_q.weight");
        assert!(w.iter().all(|x| x.abs() <= WEIGHT_RANGE));
        let mean = w.iter().sum::<f32>() / w.len() as f32;
        assert!(mean.abs() < 0.002, "{mean}");
        assert!(w.iter().any(|&x| x > 0.015) && w.iter().any(|&x| x < -0.015));
        let b = floats("blk.0.attn_k.bias");
        assert!(b.iter().all(|x| x.abs() <= WEIGHT_RANGE) && b.iter().any(|&x| x != 0.0));
    }

    /// The f32 value of IEEE half-precision bits.
    fn from_half(h: u16) -> f32 {
        let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
        let (exp, mant) = (i32::from((h >> 10) & 0x1F), f32::from(h & 0x3FF));
        sign * if exp == 0 {
            mant * 2f32.powi(-24)
        } else {
            (1.0 + mant / 1024.0) * 2f32.powi(exp - 15)
        }
    }

    /// The weights of one block of `t` as llama.cpp dequantizes them (the types whose
    /// random blocks need shaping to be centred, and Q8_0).
    fn dequantize(t: GgmlType, b: &[u8]) -> Vec<f32> {
        let half = |o: usize| from_half(u16::from_le_bytes([b[o], b[o + 1]]));
        let nibbles = |qs: &[u8]| -> Vec<f32> {
            // Low nibbles are the first half of the block, high nibbles the second.
            let lo = qs.iter().map(|q| f32::from(q & 0xF));
            let hi = qs.iter().map(|q| f32::from(q >> 4));
            lo.chain(hi).collect()
        };
        match t {
            GgmlType::Q8_0 => b[2..34]
                .iter()
                .map(|&q| half(0) * f32::from(q as i8))
                .collect(),
            GgmlType::Q4_0 => nibbles(&b[2..18])
                .iter()
                .map(|q| half(0) * (q - 8.0))
                .collect(),
            GgmlType::Q4_1 => nibbles(&b[4..20])
                .iter()
                .map(|q| half(0) * q + half(2))
                .collect(),
            GgmlType::Q4K => {
                let (d, dmin, sc) = (half(0), half(2), &b[4..16]);
                let scale_min = |j: usize| -> (f32, f32) {
                    let (s, m) = if j < 4 {
                        (sc[j] & 63, sc[j + 4] & 63)
                    } else {
                        (
                            (sc[j + 4] & 0xF) | ((sc[j - 4] >> 6) << 4),
                            (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4),
                        )
                    };
                    (f32::from(s), f32::from(m))
                };
                let mut w = Vec::with_capacity(256);
                for chunk in 0..4 {
                    let qs = &b[16 + 32 * chunk..16 + 32 * (chunk + 1)];
                    for (k, shift) in [(2 * chunk, 0), (2 * chunk + 1, 4)] {
                        let (s, m) = scale_min(k);
                        w.extend(
                            qs.iter()
                                .map(|q| d * s * f32::from((q >> shift) & 0xF) - dmin * m),
                        );
                    }
                }
                w
            }
            _ => unreachable!("not dequantized here"),
        }
    }

    #[test]
    fn quantized_weights_are_centred_and_small() {
        // Random minimums once made every Q4_1 weight positive: a synthetic model's
        // activations overflowed and llama.cpp ran its attention on infinities.
        let s = spec(1, 256, true, SynthArch::Llama);
        for (p, t) in [
            (SynthPrecision::Q8_0, GgmlType::Q8_0),
            (SynthPrecision::Q4_0, GgmlType::Q4_0),
            (SynthPrecision::Q4_1, GgmlType::Q4_1),
            (SynthPrecision::Q4KM, GgmlType::Q4K),
        ] {
            let (bytes, _) = write(&s, p, 9);
            let f = GgufFile::from_bytes(&bytes).unwrap();
            let tensor = f.tensor("blk.0.ffn_up.weight").unwrap();
            assert_eq!(tensor.ggml_type, t);
            let data =
                &bytes[tensor.file_offset as usize..(tensor.file_offset + tensor.n_bytes) as usize];
            let w: Vec<f32> = data
                .chunks_exact(t.block_bytes() as usize)
                .flat_map(|b| dequantize(t, b))
                .collect();
            let n = w.len() as f32;
            let mean = w.iter().sum::<f32>() / n;
            let sd = (w.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n).sqrt();
            assert!(mean.abs() < 0.1 * sd, "{t:?}: mean {mean}, sd {sd}");
            assert!((0.005..0.02).contains(&sd), "{t:?}: sd {sd}");
            // The scales spread over the f16 table's cache lines (16 entries each) as a real
            // file's do.
            let lines: std::collections::HashSet<u16> = data
                .chunks_exact(t.block_bytes() as usize)
                .map(|b| u16::from_le_bytes([b[0], b[1]]) >> 4)
                .collect();
            assert!(lines.len() > 100, "{t:?}: {} lines", lines.len());
        }
    }

    #[test]
    fn half_weights_are_centred() {
        let s = spec(1, 256, true, SynthArch::Llama);
        let (bytes, _) = write(&s, SynthPrecision::F16, 5);
        let f = GgufFile::from_bytes(&bytes).unwrap();
        let t = f.tensor("blk.0.ffn_up.weight").unwrap();
        let w: Vec<f32> = bytes[t.file_offset as usize..(t.file_offset + t.n_bytes) as usize]
            .chunks_exact(2)
            .map(|c| from_half(u16::from_le_bytes([c[0], c[1]])))
            .collect();
        for lane in 0..4 {
            let l: Vec<f32> = w.iter().skip(lane).step_by(4).copied().collect();
            let mean = l.iter().sum::<f32>() / l.len() as f32;
            assert!(mean.abs() < 0.002, "lane {lane}: mean {mean}");
            assert!(l.iter().all(|x| x.abs() <= WEIGHT_RANGE * 1.001));
        }
    }

    #[test]
    fn the_seed_decides_the_bytes() {
        let s = spec(2, 256, false, SynthArch::Llama);
        let a = write(&s, SynthPrecision::Q4KM, 1).0;
        assert_eq!(a, write(&s, SynthPrecision::Q4KM, 1).0);
        let b = write(&s, SynthPrecision::Q4KM, 2).0;
        assert_eq!(a.len(), b.len());
        assert_ne!(a, b);
    }

    #[test]
    fn the_vocabulary_is_sentencepiece_shaped() {
        for size in [MIN_SYNTH_VOCAB, 300, 49152] {
            let v = synthetic_vocabulary(size);
            assert_eq!(v.tokens.len() as u64, size);
            assert_eq!(v.scores.len() as u64, size);
            assert_eq!(v.types.len() as u64, size);
            let unique: HashSet<&String> = v.tokens.iter().collect();
            assert_eq!(unique.len() as u64, size);
            assert_eq!(&v.tokens[..3], ["<unk>", "<s>", "</s>"]);
            assert_eq!(&v.types[..3], [TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_CONTROL]);
            assert_eq!(v.tokens[3], "<0x00>");
            assert_eq!(v.tokens[3 + 10], "<0x0A>");
            assert_eq!(v.tokens[258], "<0xFF>");
            assert!(v.types[3..259].iter().all(|&t| t == TOKEN_BYTE));
            assert!(v.types[259..].iter().all(|&t| t == TOKEN_NORMAL));
        }
        assert_eq!(filler_word(0), "a");
        assert_eq!(filler_word(25), "z");
        assert_eq!(filler_word(26), "aa");
        assert_eq!(filler_word(26 + 26 * 26), "aaa");

        // The crate's own tokenizer builds from it and round-trips text.
        let s = spec(1, 256, true, SynthArch::Llama);
        let (bytes, _) = write(&s, SynthPrecision::Q8_0, 0);
        let f = GgufFile::from_bytes(&bytes).unwrap();
        let tok = f.tokenizer().unwrap();
        let enc = tok.encode("hello world", true).unwrap();
        assert_eq!(enc.get_ids().first(), Some(&1), "BOS first");
        assert!(enc.get_ids().iter().all(|&id| u64::from(id) < s.vocab));
    }

    #[test]
    fn bad_specs_are_refused() {
        let ok = spec(2, 256, true, SynthArch::Llama);
        assert!(ok.validate().is_ok());
        let cases = [
            (
                "layers",
                SynthSpec {
                    layers: 0,
                    ..ok.clone()
                },
            ),
            (
                "kv_heads",
                SynthSpec {
                    kv_heads: 3,
                    ..ok.clone()
                },
            ),
            (
                "vocab",
                SynthSpec {
                    vocab: 258,
                    ..ok.clone()
                },
            ),
            (
                "head_dim",
                SynthSpec {
                    head_dim: 33,
                    ..ok.clone()
                },
            ),
            (
                "hidden",
                SynthSpec {
                    hidden: 1 << 31,
                    vocab: 1 << 30,
                    ..ok.clone()
                },
            ),
            (
                "context_length",
                SynthSpec {
                    context_length: 1 << 32,
                    ..ok.clone()
                },
            ),
            (
                "rope_base",
                SynthSpec {
                    rope_base: f32::NAN,
                    ..ok.clone()
                },
            ),
            (
                "qkv_bias",
                SynthSpec {
                    arch: SynthArch::Qwen2,
                    qkv_bias: false,
                    ..ok.clone()
                },
            ),
        ];
        for (field, s) in cases {
            match s.validate() {
                Err(SynthError::InvalidSpec { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
            assert!(write_synth(&s, SynthPrecision::Q4_0, 0, Vec::new(), |_| {}).is_err());
        }
    }

    #[test]
    fn half_floats() {
        assert_eq!(f16_bits(1.0), 0x3C00);
        assert_eq!(f16_bits(-2.0), 0xC000);
        assert_eq!(f16_bits(0.0), 0);
        assert_eq!(f16_bits(0.01), 0x211F);
        assert_eq!(f16_bits(65504.0), 0x7BFF);
        assert_eq!(f16_bits(1e6), 0x7C00);
        assert_eq!(f16_bits(f32::NEG_INFINITY), 0xFC00);
        assert_eq!(f16_bits(f32::NAN) & 0x7C00, 0x7C00);
        assert_eq!(f16_bits(1.0 / 16384.0), 0x0400, "smallest normal");
        assert_eq!(f16_bits(1.0 / 32768.0), 0x0200, "a subnormal");
        assert_eq!(f16_bits(1e-7), 0x0002);
        assert_eq!(f16_bits(1e-9), 0);
        assert_eq!(f16_bits(0.333_333_34), 0x3555);
    }

    #[test]
    fn precision_names() {
        for p in SynthPrecision::ALL {
            assert_eq!(SynthPrecision::from_name(p.name()), Some(p));
        }
        assert_eq!(
            SynthPrecision::from_name("Q4_K_M"),
            Some(SynthPrecision::Q4KM)
        );
        assert_eq!(SynthPrecision::from_name("q5_k_m"), None);
    }

    #[test]
    fn only_marked_files_are_synthetic() {
        let plain = crate::test_builder::sample().build();
        assert!(!GgufFile::from_bytes(&plain).unwrap().is_synthetic());
    }
}
