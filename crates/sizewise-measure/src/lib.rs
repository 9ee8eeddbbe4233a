//! The load generator and statistics behind `sizewise bench URL --model NAME`.
//!
//! [`run`] drives an OpenAI-compatible streaming endpoint with a closed-loop concurrency or an
//! open-loop arrival schedule, keeps a timeline of every request (send, response headers,
//! every SSE event, usage, finish reason, error) and derives every metric from those
//! timelines under an explicit name. [`BenchResult`] serializes to the JSON the CLI prints;
//! [`export`] writes per-request JSONL, CSV and a Markdown summary.
//!
//! URLs are `http://` or `https://`: TLS is rustls (ring provider, TLS 1.2 and 1.3, ALPN
//! `http/1.1`), trusting Mozilla's roots plus [`BenchConfig::ca_cert`]; connections are
//! reused either way. A failed TLS handshake is a `connect` error whose message names the
//! cause.
//!
//! Metric definitions (all times from the request's send instant, which is taken before a
//! connection is opened, so connection setup, TLS handshake included, counts):
//! - `ttfb`: response headers received.
//! - `ttft`: first token-carrying SSE event (non-empty `delta.content`/`text`, or reasoning
//!   text). Role-only, usage, finish and empty chunks never count.
//! - `e2e`: `data: [DONE]` (or the end of the body when the server sent a finish_reason but
//!   no `[DONE]`).
//! - `tpot`: `(e2e - ttft) / (output_tokens - 1)`, only for requests with ≥ 2 output tokens.
//! - `itl`: every gap between consecutive token-carrying events of a request, pooled over
//!   requests (chunk gaps, not per-token gaps, on servers that batch tokens).
//! - `output_tokens`: `usage.completion_tokens` when the server sent usage, else the count of
//!   a local tokenizer over the streamed text when [`BenchConfig::token_counter`] is set, else
//!   the number of token-carrying events; `token_source` says which.
//! - per-request output tokens/s: `output_tokens / e2e`.
//! - `duration_s`: phase start to the end of the last request (sent or failed); every rate
//!   below divides by it: `requests_per_s` = completed / duration, `output_tokens_per_s` =
//!   Σ output tokens of completed requests / duration, `goodput_per_s` = completed requests
//!   meeting every set SLO / duration (equal to `requests_per_s` when no SLO is set).
//! - `achieved_rate`: sent / (last send instant − phase start); with a rate load the schedule
//!   puts the last planned send at exactly `n / requested_rate`.
//! - `schedule_lag`: actual send − planned send (rate: the schedule's arrival; concurrency:
//!   the instant the worker became free).
//!
//! Latency statistics cover completed requests only; failed ones are counted in `errors`,
//! and `completed + Σ errors == sent` always holds. Percentiles: see [`stats`].
//!
//! ```no_run
//! # async fn demo() -> sizewise_measure::Result<()> {
//! use sizewise_measure::{BenchConfig, Load, Stop, run};
//! let mut cfg = BenchConfig::new("http://127.0.0.1:8000/v1", "smollm2");
//! cfg.load = Load::Concurrency(16);
//! cfg.stop = Stop::Requests(500);
//! let result = run(&cfg, |p| eprintln!("{} sent, {} done", p.sent, p.completed)).await?;
//! println!("{}", serde_json::to_string_pretty(&result).unwrap_or_default());
//! # Ok(()) }
//! ```

mod client;
mod config;
mod cpu;
pub mod export;
mod record;
mod result;
mod runner;
mod schedule;
mod single;
mod sse;
pub mod stats;

pub use config::{
    Arrival, BenchConfig, Endpoint, Load, MAX_OUTPUT_TOKENS, MAX_PROMPT_TOKENS, Prompt,
    PromptInput, Slo, Stop, TokenCounter, parse_dataset,
};
pub use record::{ErrorKind, Event, RequestError, RequestRecord, TokenSource};
pub use result::BenchResult;
pub use runner::{Cancel, Phase, Progress, Sweep, run, run_cancellable};
pub use schedule::{arrival_offsets, synthetic_prompt};
pub use single::OneAtATime;
pub use sse::{EventKind, Usage};
pub use stats::Stats;

/// Errors that stop a whole run (a failing request is recorded, not an error).
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    /// The configuration cannot run.
    #[error("invalid benchmark configuration: {0}")]
    InvalidConfig(String),
    /// The URL cannot be used.
    #[error("bad URL {0}")]
    Url(String),
    /// A dataset row is unusable (line 0: the file as a whole).
    #[error("dataset{}: {message}", if *line == 0 { String::new() } else { format!(" line {line}") })]
    Dataset {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A load-generator task failed (a bug).
    #[error("internal error in the load generator: {0}")]
    Internal(String),
    /// Writing an export failed.
    #[error("writing export: {0}")]
    Io(#[from] std::io::Error),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, MeasureError>;
