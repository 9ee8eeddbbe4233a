//! What to run: [`BenchConfig`] and its parts, plus the JSONL dataset reader.

use std::time::Duration;

use serde::Serialize;

use crate::{MeasureError, Result};

/// Which OpenAI-compatible endpoint to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `POST {url}/chat/completions` with `messages`.
    Chat,
    /// `POST {url}/completions` with `prompt`.
    Completions,
}

/// How gaps between planned arrivals are drawn in an open-loop run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Arrival {
    /// Exponential gaps (a Poisson process).
    Poisson,
    /// Equal gaps of `1 / per_s`.
    Constant,
    /// Gamma-distributed gaps with this shape (1 = Poisson, < 1 burstier, > 1 smoother).
    Gamma {
        /// The gamma shape parameter `k` (vLLM's `--burstiness`).
        shape: f64,
    },
}

/// The load model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Load {
    /// Closed loop: this many requests in flight; each worker sends its next request as soon
    /// as its previous one ends.
    Concurrency(usize),
    /// Open loop: requests are sent on a precomputed arrival schedule, whatever is in flight.
    Rate {
        /// Requested arrivals per second.
        per_s: f64,
        /// Gap distribution.
        arrival: Arrival,
    },
}

/// When the measured phase stops sending.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// Send exactly this many measured requests.
    Requests(u64),
    /// Send for this long; requests in flight at the end are allowed to finish (bounded by
    /// the per-request timeout) and are counted, never cancelled. In rate mode the schedule
    /// holds `round(per_s * duration)` arrivals.
    #[serde(serialize_with = "ser_secs")]
    Duration(Duration),
}

fn ser_secs<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Service-level objectives; a request is "good" when it meets every objective that is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Slo {
    /// Maximum time to first token, ms.
    pub ttft_ms: Option<f64>,
    /// Maximum time per output token (excluding the first), ms.
    pub tpot_ms: Option<f64>,
    /// Maximum end-to-end latency, ms.
    pub e2e_ms: Option<f64>,
}

impl Slo {
    /// True when no objective is set.
    pub fn is_empty(&self) -> bool {
        self.ttft_ms.is_none() && self.tpot_ms.is_none() && self.e2e_ms.is_none()
    }
}

/// The input of one dataset row.
#[derive(Debug, Clone, PartialEq)]
pub enum PromptInput {
    /// A plain prompt string (`"prompt"`).
    Text(String),
    /// Chat messages (`"messages"`), passed to the server as they are.
    Messages(Vec<serde_json::Value>),
}

/// One dataset row.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// What to send.
    pub input: PromptInput,
    /// Per-row `max_tokens`; `None` uses [`BenchConfig::output_tokens`].
    pub max_tokens: Option<u32>,
}

/// Parses a JSONL dataset: one JSON object per non-blank line, with `"prompt"` (string) or
/// `"messages"` (array), and optional `"max_tokens"` (non-negative integer).
pub fn parse_dataset(jsonl: &str) -> Result<Vec<Prompt>> {
    let mut out = Vec::new();
    for (i, line) in jsonl.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |message: String| MeasureError::Dataset {
            line: i + 1,
            message,
        };
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        let obj = v
            .as_object()
            .ok_or_else(|| bad("expected a JSON object".into()))?;
        let input = match (obj.get("prompt"), obj.get("messages")) {
            (Some(serde_json::Value::String(s)), _) => PromptInput::Text(s.clone()),
            (_, Some(serde_json::Value::Array(m))) => PromptInput::Messages(m.clone()),
            _ => {
                return Err(bad(
                    "needs \"prompt\" (a string) or \"messages\" (an array)".into(),
                ));
            }
        };
        let max_tokens = match obj.get("max_tokens") {
            None | Some(serde_json::Value::Null) => None,
            Some(m) => Some(
                m.as_u64()
                    .and_then(|m| u32::try_from(m).ok())
                    .filter(|m| (1..=MAX_OUTPUT_TOKENS).contains(m))
                    .ok_or_else(|| {
                        bad(format!(
                            "\"max_tokens\" must be a whole number between 1 and {MAX_OUTPUT_TOKENS}"
                        ))
                    })?,
            ),
        };
        out.push(Prompt { input, max_tokens });
    }
    if out.is_empty() {
        return Err(MeasureError::Dataset {
            line: 0,
            message: "the dataset has no rows (one JSON object per line)".into(),
        });
    }
    Ok(out)
}

/// Counts the tokens of a text with a local tokenizer: the output token count of requests
/// whose server sent no `usage`. Cheap to clone (shared).
#[derive(Clone)]
pub struct TokenCounter {
    name: String,
    count: std::sync::Arc<dyn Fn(&str) -> u64 + Send + Sync>,
}

impl TokenCounter {
    /// A counter called `name` (reported with the result) that counts with `count`.
    pub fn new(
        name: impl Into<String>,
        count: impl Fn(&str) -> u64 + Send + Sync + 'static,
    ) -> Self {
        Self {
            name: name.into(),
            count: std::sync::Arc::new(count),
        }
    }

    /// The tokenizer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Tokens in `text`.
    pub fn count(&self, text: &str) -> u64 {
        (self.count)(text)
    }
}

impl std::fmt::Debug for TokenCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCounter")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Largest synthetic prompt, in tokens.
pub const MAX_PROMPT_TOKENS: u32 = 10_000_000;

/// Largest `max_tokens` a request may ask for (the same limit as `sizewise simulate`).
pub const MAX_OUTPUT_TOKENS: u32 = 1 << 20;

/// Everything one benchmark run needs. Build with [`BenchConfig::new`] and adjust fields.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Base URL including the API prefix, e.g. `http://127.0.0.1:8000/v1` or
    /// `https://api.openai.com/v1`. `http://` (default port 80) or `https://` (TLS with
    /// rustls, default port 443; the server's certificate must chain to one of Mozilla's
    /// roots or to [`ca_cert`](Self::ca_cert)).
    pub url: String,
    /// Model name sent in every request.
    pub model: String,
    /// Sent as `Authorization: Bearer <key>` when set.
    pub api_key: Option<String>,
    /// Extra trusted root certificates for `https://`, as PEM bytes (one or more
    /// `CERTIFICATE` blocks), trusted besides Mozilla's roots: the CA of a self-signed local
    /// server or of a TLS-intercepting corporate proxy. Not used for `http://`, but still
    /// checked: PEM that does not parse or holds no certificate is
    /// [`InvalidConfig`](crate::MeasureError::InvalidConfig).
    pub ca_cert: Option<Vec<u8>>,
    /// Closed-loop concurrency or open-loop rate.
    pub load: Load,
    /// When the measured phase stops.
    pub stop: Stop,
    /// Approximate prompt length of synthetic prompts, in tokens (see [`synthetic_prompt`](crate::synthetic_prompt)).
    pub prompt_tokens: u32,
    /// `max_tokens` of every request (unless a dataset row sets its own).
    pub output_tokens: u32,
    /// Dataset rows, used in order and cycled; `None` uses synthetic prompts.
    pub dataset: Option<Vec<Prompt>>,
    /// Objectives for goodput.
    pub slo: Slo,
    /// Requests run before the measured phase and left out of every statistic.
    pub warmup: u64,
    /// Limit for one request: connect, headers and the whole stream.
    pub timeout: Duration,
    /// Seed for synthetic prompts and arrival schedules.
    pub seed: u64,
    /// Chat or completions.
    pub endpoint: Endpoint,
    /// Also send `"ignore_eos": true` (vLLM, llama.cpp, SGLang honour it; the OpenAI API
    /// rejects unknown fields, so it is off by default).
    pub ignore_eos: bool,
    /// Treat a stream whose token-carrying events are fewer than `usage.completion_tokens` as
    /// `truncated_stream` (default on). Multi-byte characters are allowed for: a character of
    /// n UTF-8 bytes may be n byte-level tokens that a server sends as one piece of text.
    /// Turn off for servers that pack several tokens into one chunk (speculative decoding,
    /// stream intervals).
    pub strict_token_count: bool,
    /// Counts output tokens from the streamed text when the server sends no `usage` (the text
    /// of token events is kept only when this is set). `None`: count token events.
    pub token_counter: Option<TokenCounter>,
}

impl BenchConfig {
    /// A config with defaults: concurrency 1, 100 requests, 128 prompt tokens, 32 output
    /// tokens, synthetic prompts, 2 warmup requests, 60 s timeout, seed 0, chat endpoint, no
    /// extra trusted roots.
    pub fn new(url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            model: model.into(),
            api_key: None,
            ca_cert: None,
            load: Load::Concurrency(1),
            stop: Stop::Requests(100),
            prompt_tokens: 128,
            output_tokens: 32,
            dataset: None,
            slo: Slo::default(),
            warmup: 2,
            timeout: Duration::from_secs(60),
            seed: 0,
            endpoint: Endpoint::Chat,
            ignore_eos: false,
            strict_token_count: true,
            token_counter: None,
        }
    }

    /// Checks the configuration before anything is sent (a run calls it too).
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(MeasureError::InvalidConfig(m.to_string()));
        match self.load {
            Load::Concurrency(0) => return bad("concurrency must be at least 1"),
            Load::Rate { per_s, arrival } => {
                if !(per_s.is_finite() && per_s > 0.0) {
                    return bad("rate must be a positive number of requests per second");
                }
                if let Arrival::Gamma { shape } = arrival
                    && !(shape.is_finite() && shape > 0.0)
                {
                    return bad("gamma shape must be positive");
                }
            }
            Load::Concurrency(_) => {}
        }
        match self.stop {
            Stop::Requests(0) => return bad("stop after at least 1 request"),
            Stop::Duration(d) if d.is_zero() => return bad("duration must be positive"),
            _ => {}
        }
        if self.timeout.is_zero() {
            return bad("timeout must be positive");
        }
        if let Some(ds) = &self.dataset
            && ds.is_empty()
        {
            return bad("dataset is empty");
        }
        if self.dataset.is_none() && self.prompt_tokens == 0 {
            return bad("prompt_tokens must be at least 1");
        }
        if self.prompt_tokens > MAX_PROMPT_TOKENS {
            return bad(&format!(
                "prompt_tokens must be at most {MAX_PROMPT_TOKENS} (no model's window is larger)"
            ));
        }
        let max_out = self
            .dataset
            .iter()
            .flatten()
            .filter_map(|p| p.max_tokens)
            .chain([self.output_tokens])
            .max()
            .unwrap_or(self.output_tokens);
        if self.output_tokens == 0 || max_out > MAX_OUTPUT_TOKENS {
            return bad(&format!(
                "output tokens (max_tokens) must be between 1 and {MAX_OUTPUT_TOKENS}"
            ));
        }
        if let Some(pem) = &self.ca_cert {
            crate::client::parse_ca_cert(pem)?;
        }
        for v in [self.slo.ttft_ms, self.slo.tpot_ms, self.slo.e2e_ms]
            .into_iter()
            .flatten()
        {
            if !(v.is_finite() && v >= 0.0) {
                return bad("SLO values must be non-negative milliseconds");
            }
        }
        Ok(())
    }
}
