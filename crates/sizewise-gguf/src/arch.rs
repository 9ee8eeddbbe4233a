//! The architecture summary read from metadata.

use crate::file::GgufFile;
use crate::types::{GgmlType, file_type_name};
use crate::value::MetadataValue;

/// What a GGUF file says about the model's shape, read from its metadata and tensor table.
///
/// Every field read from metadata is `None` when the key is absent. Keys under the
/// architecture prefix (`{arch}.block_count` ...) are read with the prefix of
/// `general.architecture`. A per-layer value stored as an array (some models give
/// `feed_forward_length` or `attention.head_count` per layer) is summarised by its maximum.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufArchitecture {
    /// `general.architecture`, such as `"llama"` or `"gemma3"`.
    pub architecture: Option<String>,
    /// `general.name`.
    pub name: Option<String>,
    /// `{arch}.block_count`: number of transformer layers.
    pub block_count: Option<u64>,
    /// `{arch}.embedding_length`: hidden size.
    pub embedding_length: Option<u64>,
    /// `{arch}.feed_forward_length`: FFN inner size.
    pub feed_forward_length: Option<u64>,
    /// `{arch}.attention.head_count`: query heads.
    pub head_count: Option<u64>,
    /// `{arch}.attention.head_count_kv`: key/value heads (grouped-query attention).
    pub head_count_kv: Option<u64>,
    /// `{arch}.attention.key_length`: head dimension of keys, when given explicitly.
    pub key_length: Option<u64>,
    /// `{arch}.attention.value_length`: head dimension of values, when given explicitly.
    pub value_length: Option<u64>,
    /// `{arch}.context_length`: training context length.
    pub context_length: Option<u64>,
    /// `{arch}.expert_count`: experts per MoE layer.
    pub expert_count: Option<u64>,
    /// `{arch}.expert_used_count`: experts active per token.
    pub expert_used_count: Option<u64>,
    /// `{arch}.attention.sliding_window`: sliding-window size of local attention layers.
    pub sliding_window: Option<u64>,
    /// Vocabulary size: the length of `tokenizer.ggml.tokens` (or `{arch}.vocab_size`).
    pub vocab_size: Option<u64>,
    /// Whether an `output.weight` tensor exists (an untied output projection).
    pub has_output_weight: bool,
    /// `general.file_type` (llama.cpp's `llama_ftype`).
    pub file_type: Option<u32>,
    /// The name of `file_type`, such as `"Q4_K_M"`.
    pub file_type_name: Option<&'static str>,
    /// The ggml type holding most weight-matrix elements (see [`GgufFile::dominant_type`]).
    pub dominant_type: Option<GgmlType>,
    /// Sum of the element counts of all tensors.
    pub parameter_count: u64,
    /// Bytes of all tensor data.
    pub weight_bytes: u64,
    /// Average bits per weight over all tensors.
    pub bits_per_weight: Option<f64>,
}

/// An integer value, or the maximum of an integer array.
fn int_or_max(value: &MetadataValue) -> Option<u64> {
    match value {
        MetadataValue::Array(a) => a
            .to_i64_vec()?
            .into_iter()
            .filter_map(|x| u64::try_from(x).ok())
            .max(),
        other => other.as_u64(),
    }
}

impl GgufArchitecture {
    /// Reads the summary from a parsed file.
    pub fn from_file(file: &GgufFile) -> GgufArchitecture {
        let architecture = file.get_str("general.architecture").map(str::to_string);
        let arch_key = |suffix: &str| -> Option<u64> {
            let arch = architecture.as_deref()?;
            file.get(&format!("{arch}.{suffix}")).and_then(int_or_max)
        };
        let vocab_size = file
            .get("tokenizer.ggml.tokens")
            .and_then(MetadataValue::as_array)
            .map(|a| a.len() as u64)
            .or_else(|| arch_key("vocab_size"));
        let file_type = file
            .get_u64("general.file_type")
            .and_then(|v| u32::try_from(v).ok());
        GgufArchitecture {
            name: file.get_str("general.name").map(str::to_string),
            block_count: arch_key("block_count"),
            embedding_length: arch_key("embedding_length"),
            feed_forward_length: arch_key("feed_forward_length"),
            head_count: arch_key("attention.head_count"),
            head_count_kv: arch_key("attention.head_count_kv"),
            key_length: arch_key("attention.key_length"),
            value_length: arch_key("attention.value_length"),
            context_length: arch_key("context_length"),
            expert_count: arch_key("expert_count"),
            expert_used_count: arch_key("expert_used_count"),
            sliding_window: arch_key("attention.sliding_window"),
            vocab_size,
            has_output_weight: file.tensor("output.weight").is_some(),
            file_type,
            file_type_name: file_type.and_then(file_type_name),
            dominant_type: file.dominant_type(),
            parameter_count: file.parameter_count(),
            weight_bytes: file.weight_bytes(),
            bits_per_weight: file.bits_per_weight(),
            architecture,
        }
    }

    /// Head dimension: `key_length` when given, else `embedding_length / head_count`.
    pub fn head_dim(&self) -> Option<u64> {
        self.key_length.or_else(|| {
            let heads = self.head_count.filter(|&h| h > 0)?;
            Some(self.embedding_length? / heads)
        })
    }
}

impl GgufFile {
    /// The architecture summary of this file.
    pub fn architecture(&self) -> GgufArchitecture {
        GgufArchitecture::from_file(self)
    }
}
