//! Language models: identity, size, architecture, data, prices and scores.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fact::{Estimate, Status};

/// The article's label for a model. Kept as data: it follows the article's family
/// grouping, not a size threshold (Llama 2 7B is "LLM", Mistral Small 24B is "SLM").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Category {
    /// Large language model.
    #[serde(rename = "LLM")]
    Llm,
    /// Small language model.
    #[serde(rename = "SLM")]
    Slm,
}

impl Category {
    /// "LLM" or "SLM".
    pub fn as_str(&self) -> &'static str {
        match self {
            Category::Llm => "LLM",
            Category::Slm => "SLM",
        }
    }
}

/// Feed-forward block shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mlp {
    /// Gated (SwiGLU/GeGLU): gate, up and down projections, 3·hidden·ffn weights.
    #[default]
    Gated,
    /// Plain two-matrix MLP (GPT-2/3, BERT, Falcon): 2·hidden·ffn weights.
    Plain,
}

/// Normalisation layer kind (LayerNorm carries a bias, RMSNorm does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Norm {
    /// RMSNorm: one scale vector.
    #[default]
    Rmsnorm,
    /// LayerNorm: scale and bias vectors.
    Layernorm,
}

/// How positions enter the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Position {
    /// Rotary embeddings: no parameters.
    #[default]
    Rope,
    /// A learned table of `context_window` x `hidden` parameters.
    Learned,
    /// ALiBi biases: no parameters.
    Alibi,
}

/// Per-layer shapes for models whose layers differ (OpenELM's layer-wise scaling).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerLayer {
    /// Query heads of each layer.
    pub heads: Vec<u32>,
    /// Key/value heads of each layer.
    pub kv_heads: Vec<u32>,
    /// Feed-forward width of each layer.
    pub ffn: Vec<u64>,
}

/// The transformer's shape, as in the model's `config.json` or paper.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Architecture {
    /// Transformer blocks.
    pub layers: u32,
    /// Width of the residual stream (d_model).
    pub hidden: u64,
    /// Query heads (absent when they vary per layer: see `per_layer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heads: Option<u32>,
    /// Key/value heads: equal to `heads` for MHA, fewer for GQA, 1 for MQA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_heads: Option<u32>,
    /// Size of one attention head, as given (not always hidden / heads).
    pub head_dim: u32,
    /// Feed-forward width (per expert for MoE models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ffn: Option<u64>,
    /// Vocabulary size (rows of the embedding table).
    pub vocab: u64,
    /// True when the output projection shares the input embedding's weights.
    pub tied_embeddings: bool,
    /// Feed-forward block shape.
    #[serde(default)]
    pub mlp: Mlp,
    /// Normalisation kind.
    #[serde(default)]
    pub norm: Norm,
    /// Position encoding.
    #[serde(default)]
    pub position: Position,
    /// Bias vectors on the query/key/value projections (Qwen2, GPT-3, BERT).
    #[serde(default)]
    pub qkv_bias: bool,
    /// Bias vectors on the attention output and MLP projections (GPT-3, BERT).
    #[serde(default)]
    pub linear_bias: bool,
    /// Sliding-window attention width in tokens, when the model uses one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sliding_window: Option<u64>,
    /// With a sliding window: every N-th layer attends to the full context
    /// (Gemma 2: 2, Gemma 3: 6). Absent means every layer uses the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_attention_every: Option<u32>,
    /// Routed experts per MoE layer (absent for dense models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experts: Option<u32>,
    /// Experts each token is routed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experts_active: Option<u32>,
    /// Parameters outside the transformer stack that the formula does not count
    /// (BERT's token-type table and pooler), with the reason in the sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_params: Option<f64>,
    /// Per-layer shapes, for models whose layers differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_layer: Option<PerLayer>,
}

impl Architecture {
    /// True for a mixture-of-experts model.
    pub fn is_moe(&self) -> bool {
        self.experts.is_some_and(|e| e > 1)
    }

    /// Query heads of layer `i`.
    pub fn heads_at(&self, i: usize) -> u32 {
        match &self.per_layer {
            Some(p) => p.heads.get(i).copied().unwrap_or(0),
            None => self.heads.unwrap_or(0),
        }
    }

    /// Key/value heads of layer `i`.
    pub fn kv_heads_at(&self, i: usize) -> u32 {
        match &self.per_layer {
            Some(p) => p.kv_heads.get(i).copied().unwrap_or(0),
            None => self.kv_heads.or(self.heads).unwrap_or(0),
        }
    }

    /// Feed-forward width of layer `i`.
    pub fn ffn_at(&self, i: usize) -> u64 {
        match &self.per_layer {
            Some(p) => p.ffn.get(i).copied().unwrap_or(0),
            None => self.ffn.unwrap_or(0),
        }
    }

    /// True when layer `i` attends only within the sliding window.
    pub fn is_sliding_layer(&self, i: usize) -> bool {
        match (self.sliding_window, self.full_attention_every) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(_), Some(0)) => true,
            (Some(_), Some(n)) => !(i + 1).is_multiple_of(n as usize),
        }
    }
}

/// A published API price, per million tokens, with the date it was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiPrice {
    /// USD per 1M input (prompt) tokens.
    pub input_usd_per_mtok: f64,
    /// USD per 1M output (completion) tokens.
    pub output_usd_per_mtok: f64,
    /// Who lists this price (the vendor, or a third-party host for open models).
    pub provider: String,
    /// The date the price was read (YYYY-MM-DD).
    pub as_of: String,
    /// Where the price was read.
    pub source: String,
    /// Check status of the price.
    pub status: Status,
}

/// Days in an average month (365.25 / 12), for monthly costs of a daily load.
pub const DAYS_PER_MONTH: f64 = 30.44;

impl ApiPrice {
    /// USD for one request of `prompt_tokens` in and `output_tokens` out.
    pub fn usd_per_request(&self, prompt_tokens: u64, output_tokens: u64) -> f64 {
        (prompt_tokens as f64 * self.input_usd_per_mtok
            + output_tokens as f64 * self.output_usd_per_mtok)
            / 1e6
    }

    /// USD per month for `requests_per_day` such requests.
    pub fn usd_per_month(
        &self,
        prompt_tokens: u64,
        output_tokens: u64,
        requests_per_day: f64,
    ) -> f64 {
        self.usd_per_request(prompt_tokens, output_tokens) * requests_per_day * DAYS_PER_MONTH
    }
}

/// A published quality score with the setting that produced it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Score {
    /// Benchmark name ("MMLU", "GSM8K", "HellaSwag", ...).
    pub benchmark: String,
    /// The score, in percent.
    pub value: f64,
    /// Shots, prompt style, harness: scores from different settings do not compare.
    pub setting: String,
    /// Where the score was published.
    pub source: String,
    /// Check status of the score.
    pub status: Status,
}

/// One language model of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Stable id used on the command line (`llama-3.1-8b`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Family (Llama, GPT, Gemma, ...).
    pub family: String,
    /// Who made it.
    pub developer: String,
    /// The article's category.
    pub category: Category,
    /// True when the article names this model (false for the added open SLMs).
    #[serde(default)]
    pub named_in_article: bool,
    /// Total parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params_total: Option<f64>,
    /// Parameters used per token (equal to the total for dense models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params_active: Option<f64>,
    /// Context window in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
    /// Largest completion the provider allows, when it sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    /// Pre-training tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_tokens: Option<f64>,
    /// First public release (YYYY-MM-DD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_date: Option<String>,
    /// Licence of the weights or the service terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// True when the weights can be downloaded.
    pub open_weights: bool,
    /// How the model is reached (open weights, API only, retired...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    /// Tokenizer the model uses, when it is one sizewise ships (`o200k`, `cl100k`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<String>,
    /// Names of fields the vendor has not disclosed.
    #[serde(default)]
    pub undisclosed: Vec<String>,
    /// The architecture, when disclosed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<Architecture>,
    /// API price, when a provider lists one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiPrice>,
    /// Published quality scores.
    #[serde(default)]
    pub scores: Vec<Score>,
    /// Figures that are not facts, labelled.
    #[serde(default)]
    pub estimates: Vec<Estimate>,
    /// Source of each field (`params_total`, `architecture`, `architecture.kv_heads`, ...).
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
    /// Check status of each field.
    #[serde(default)]
    pub status: BTreeMap<String, Status>,
    /// Caveats worth reading next to the numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// Fields of a model that can be listed as undisclosed.
pub const MODEL_DISCLOSABLE_FIELDS: &[&str] = &[
    "params_total",
    "params_active",
    "architecture",
    "training_tokens",
    "context_window",
    "max_output_tokens",
    "is_moe",
];

impl Model {
    /// True when the vendor has not disclosed `field`.
    pub fn is_undisclosed(&self, field: &str) -> bool {
        self.undisclosed.iter().any(|f| f == field)
    }

    /// The source of `field`, falling back to the source of its section
    /// (`architecture.layers` falls back to `architecture`).
    pub fn source_of(&self, field: &str) -> Option<&str> {
        if let Some(s) = self.sources.get(field) {
            return Some(s);
        }
        let section = field.split('.').next()?;
        self.sources.get(section).map(String::as_str)
    }

    /// The check status of `field` (or of its section).
    pub fn status_of(&self, field: &str) -> Option<Status> {
        if let Some(s) = self.status.get(field) {
            return Some(*s);
        }
        let section = field.split('.').next()?;
        self.status.get(section).copied()
    }

    /// Active parameters per token: the catalog value, or the total for a dense model.
    pub fn active_params(&self) -> Option<f64> {
        self.params_active.or(self.params_total)
    }

    /// The first score for `benchmark` (case-insensitive).
    pub fn score(&self, benchmark: &str) -> Option<&Score> {
        self.scores
            .iter()
            .find(|s| s.benchmark.eq_ignore_ascii_case(benchmark))
    }

    /// The estimate that stands in for `field`, if any.
    pub fn estimate(&self, field: &str) -> Option<&Estimate> {
        self.estimates.iter().find(|e| e.field == field)
    }
}
