//! An OpenAI-compatible HTTP server whose timing follows the sizewise
//! estimator: the test oracle for `sizewise bench` and `sizewise route`, and a
//! demo of what a model on some hardware would feel like.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sizewise_simulate::SimError> {
//! use sizewise_simulate::{SimConfig, Timing, spawn};
//! let cfg = SimConfig {
//!     served_model: "llama-3.1-8b".into(),
//!     timing: Timing::estimated("llama-3.1-8b", "nvidia-h100-sxm")?,
//!     ..SimConfig::default()
//! };
//! let sim = spawn(cfg, "127.0.0.1:0").await?;
//! println!("OpenAI base URL: {}", sim.base_url());
//! sim.shutdown().await
//! # }
//! ```
//!
//! # Endpoints
//!
//! - `POST /v1/chat/completions`, `POST /v1/completions`: streaming (SSE,
//!   `data: {...}\n\n` events in OpenAI's shape, ending with `data: [DONE]`)
//!   or not. `stream_options.include_usage` adds the usage event (with
//!   `"choices":[]`) after the finish event, and `"usage":null` in the others.
//!   Any `model` is accepted; responses name [`SimConfig::served_model`].
//! - `GET /v1/models` (the served model), `GET /health` (`{"status":"ok"}`).
//! - Errors are OpenAI-style JSON `{"error":{"message","type","param","code"}}`:
//!   400 for invalid JSON, a missing or empty `messages` (or `prompt`),
//!   `max_tokens` outside 1..=[`MAX_OUTPUT_TOKENS`], `n` other than 1, a
//!   prompt plus output longer than the model's context window (estimated
//!   timing); 413 for a body over [`SimConfig::max_body_bytes`]; 404 for other
//!   paths; 405 for a wrong method.
//!
//! # Output
//!
//! Exactly `max_completion_tokens` (else `max_tokens`, else
//! [`SimConfig::default_max_tokens`]) tokens, `finish_reason: "length"`. Each
//! token is a lowercase English word, preceded by a space except the first; the
//! words are a deterministic function of [`SimConfig::seed`] and the request
//! body's bytes, so the same request gets the same text. Each SSE content
//! event carries exactly one token. A chat stream sends the role event
//! (`{"role":"assistant","content":""}`) together with the first token.
//!
//! `usage.prompt_tokens` follows [`count_tokens`]: a token is a maximal run of
//! alphanumeric characters or any other single non-whitespace character. Chat
//! prompts count the text of every message's `content` (strings, or the `text`
//! of content parts), without roles or template tokens; completion prompts
//! count the string, or the length of a token-id array. The output counts as
//! exactly its number of tokens under the same rule.
//!
//! # Timing
//!
//! The clock of a request starts when its headers have been read (before its
//! body). Up to [`SimConfig::max_batch`] requests run at once; the others wait
//! in a FIFO queue. Once admitted, the first content event is due `ttft` after
//! admission (after arrival when there was no wait, so the wait shows in TTFT),
//! then each next one `tpot` after the previous *deadline*: deadlines are
//! absolute, so lateness never accumulates. Deadlines are kept by one
//! process-wide timer thread that waits on a condition variable and wakes
//! within about 0.1 ms (Tokio's timer rounds to whole milliseconds and lands
//! 1-2 ms late; it is the fallback when the thread cannot start). Events are
//! never early. In zero-delay mode no timer is touched: every due event of a
//! stream goes out in one write.
//! A stream's headers (200, `text/event-stream`) go out at once, even while
//! it waits in the queue; a non-streaming response is sent when its last
//! token is due.
//!
//! With [`Timing::Fixed`], `ttft` and `tpot` are constants. With
//! [`Timing::Estimated`], `ttft` is the estimator's p50 TTFT for the request's
//! prompt tokens (batch 1), and the gap after each token is the estimator's
//! p50 TPOT for the request's prompt and output length at the batch running at
//! that moment (requests holding a slot, prefilling or decoding). A request
//! leaves the batch at its last token. Prefill does not slow the others down.
//!
//! # Faults (deterministic)
//!
//! Requests are numbered in order of arrival. Request `i` draws
//! `u = frac(offset(seed) + i·0.618…)`, a low-discrepancy sequence, so that out
//! of `N` requests the share below any `r` is `r·N` give or take about 2:
//!
//! - `u < error_rate`: HTTP 500 with an OpenAI-style `server_error` body, sent
//!   at once (the request never enters the batch).
//! - `drop_stream_after: Some(k)`: a streamed request whose `u` is in
//!   `[error_rate, error_rate + min(error_rate, 1 - error_rate))` (the same
//!   share as the errors, disjoint from them), or every streamed request when
//!   `error_rate` is 0, sends `k` content events and, when token `k + 1` is due,
//!   the connection is closed without the finish event, usage or `[DONE]` (the
//!   chunked body is left incomplete). Non-streaming requests are not dropped.
//! - `malformed_rate`: request `i` with `frac(offset'(seed) + i·0.414…) <
//!   malformed_rate` (an independent sequence) gets, right after the content
//!   event of token `⌊n/2⌋` (0-based), one extra event whose data is a
//!   truncated, invalid JSON chunk; the tokens themselves are all sent. A
//!   non-streaming response gets its JSON body cut in half (status 200).
//! - `stall_ms`: every request with at least 2 output tokens pauses that long
//!   after its first `⌊n/2⌋` content events (the gap grows by `stall_ms`, and
//!   the deadlines after it shift too).

mod answers;
mod generate;
mod precise;
mod server;
mod text;
mod timing;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use answers::{AnswerItem, Answers};
pub use server::{MAX_OUTPUT_TOKENS, accept_loop};
pub use text::count_tokens;
pub use timing::Timing;

/// What the simulator serves and how it misbehaves.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Model name in responses and `/v1/models`.
    pub served_model: String,
    /// Where delays come from.
    pub timing: Timing,
    /// Requests that run at once; the rest wait in a FIFO queue (at least 1).
    pub max_batch: u32,
    /// Seed of the output text and of the fault sequences.
    pub seed: u64,
    /// Share of completion requests answered with HTTP 500, in [0, 1].
    pub error_rate: f64,
    /// Close streams after this many content events (which streams: see the
    /// crate documentation).
    pub drop_stream_after: Option<u32>,
    /// Share of responses with one invalid-JSON SSE event, in [0, 1].
    pub malformed_rate: f64,
    /// Pause mid-stream of every request, milliseconds (0: none).
    pub stall_ms: u64,
    /// Largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
    /// Output tokens when the request sets neither `max_tokens` nor
    /// `max_completion_tokens`.
    pub default_max_tokens: u32,
    /// Answer an eval suite's prompts with a set accuracy instead of filler text (prompts of
    /// no item still get filler).
    pub answers: Option<Arc<Answers>>,
}

impl Default for SimConfig {
    /// `sim` served with no delay, a batch of 256, no faults, a 1 MiB body
    /// limit and 16 tokens by default.
    fn default() -> Self {
        SimConfig {
            served_model: "sim".into(),
            timing: Timing::zero(),
            max_batch: 256,
            seed: 0,
            error_rate: 0.0,
            drop_stream_after: None,
            malformed_rate: 0.0,
            stall_ms: 0,
            max_body_bytes: 1 << 20,
            default_max_tokens: 16,
            answers: None,
        }
    }
}

impl SimConfig {
    /// Checks ranges: rates in [0, 1], `max_batch` and `default_max_tokens`
    /// at least 1, a non-empty model name.
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Config(m));
        if self.served_model.is_empty() {
            return bad("served_model must not be empty".into());
        }
        if self.max_batch == 0 {
            return bad("max_batch must be at least 1".into());
        }
        if self.default_max_tokens == 0 || u64::from(self.default_max_tokens) > MAX_OUTPUT_TOKENS {
            return bad(format!(
                "default_max_tokens must be between 1 and {MAX_OUTPUT_TOKENS}"
            ));
        }
        for (name, r) in [
            ("error_rate", self.error_rate),
            ("malformed_rate", self.malformed_rate),
        ] {
            if !(0.0..=1.0).contains(&r) {
                return bad(format!("{name} must be between 0 and 1, got {r}"));
            }
        }
        if self.max_body_bytes == 0 {
            return bad("max_body_bytes must be at least 1".into());
        }
        Ok(())
    }
}

/// Whether draw `u` (not an error) falls in the dropped share.
pub(crate) fn in_drop_share(error_rate: f64, u: f64) -> bool {
    if error_rate <= 0.0 {
        return true;
    }
    u >= error_rate && u < error_rate + error_rate.min(1.0 - error_rate)
}

/// Why the simulator cannot start or serve.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A configuration value is out of range.
    #[error("simulate: {0}")]
    Config(String),
    /// The model or hardware is not in the catalog.
    #[error(transparent)]
    Catalog(#[from] sizewise_catalog::CatalogError),
    /// The estimator cannot time this model on this hardware.
    #[error(transparent)]
    Estimate(#[from] sizewise_estimate::EstimateError),
    /// Binding or reading the socket failed.
    #[error("simulate: {0}")]
    Io(#[from] std::io::Error),
    /// The server task ended abnormally.
    #[error("simulate: the server task failed: {0}")]
    Task(String),
}

/// Counters of what the simulator did, since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SimStats {
    /// Completion requests received (chat and text), valid or not.
    pub requests: u64,
    /// Responses generated to the end (streams with `[DONE]` written).
    pub completed: u64,
    /// Requests answered 400 or 413.
    pub rejected: u64,
    /// Requests answered 500 by `error_rate`.
    pub injected_errors: u64,
    /// Streams cut by `drop_stream_after`.
    pub dropped_streams: u64,
    /// Invalid-JSON events (or bodies) sent by `malformed_rate`.
    pub malformed: u64,
    /// The largest number of requests running at once.
    pub peak_running: u64,
}

/// The live counters behind [`SimStats`].
#[derive(Debug, Default)]
pub(crate) struct StatsInner {
    pub(crate) requests: AtomicU64,
    pub(crate) completed: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) injected_errors: AtomicU64,
    pub(crate) dropped_streams: AtomicU64,
    pub(crate) malformed: AtomicU64,
    pub(crate) peak_running: AtomicU64,
}

impl StatsInner {
    fn snapshot(&self) -> SimStats {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SimStats {
            requests: g(&self.requests),
            completed: g(&self.completed),
            rejected: g(&self.rejected),
            injected_errors: g(&self.injected_errors),
            dropped_streams: g(&self.dropped_streams),
            malformed: g(&self.malformed),
            peak_running: g(&self.peak_running),
        }
    }
}

/// Serves `cfg` on `listener` until `shutdown` resolves. Then it stops
/// accepting, closes idle connections, lets requests in flight finish for up
/// to 5 seconds, and returns. Every accepted socket gets `TCP_NODELAY`.
/// Spawns one task per connection on the current Tokio runtime (which needs
/// the timer enabled).
pub async fn serve(
    cfg: SimConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SimError> {
    let shared = Arc::new(server::Shared::new(cfg, Arc::default())?);
    server::run(shared, listener, shutdown).await
}

/// Binds `addr` (`"127.0.0.1:0"` for an ephemeral port) and serves `cfg` on a
/// task of the current runtime. Dropping the handle also shuts the server down.
pub async fn spawn(cfg: SimConfig, addr: impl ToSocketAddrs) -> Result<SimHandle, SimError> {
    let stats = Arc::new(StatsInner::default());
    let shared = Arc::new(server::Shared::new(cfg, stats.clone())?);
    let listener = TcpListener::bind(addr).await?;
    let local_addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(server::run(shared, listener, async move {
        let _ = rx.await;
    }));
    Ok(SimHandle {
        local_addr,
        stats,
        stop: Some(tx),
        task: Some(task),
    })
}

/// A running simulator started by [`spawn`].
#[derive(Debug)]
pub struct SimHandle {
    local_addr: SocketAddr,
    stats: Arc<StatsInner>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), SimError>>>,
}

impl SimHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The OpenAI base URL, `http://ADDR/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.local_addr)
    }

    /// What the server did so far.
    pub fn stats(&self) -> SimStats {
        self.stats.snapshot()
    }

    /// Stops the server (see [`serve`]) and waits for it.
    pub async fn shutdown(mut self) -> Result<(), SimError> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(t) => t.await.map_err(|e| SimError::Task(e.to_string()))?,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_ranges() {
        assert!(SimConfig::default().validate().is_ok());
        let bad = [
            SimConfig {
                max_batch: 0,
                ..SimConfig::default()
            },
            SimConfig {
                error_rate: 1.5,
                ..SimConfig::default()
            },
            SimConfig {
                malformed_rate: f64::NAN,
                ..SimConfig::default()
            },
            SimConfig {
                served_model: String::new(),
                ..SimConfig::default()
            },
        ];
        for c in bad {
            assert!(c.validate().is_err(), "{c:?}");
        }
    }

    #[test]
    fn drop_share_is_disjoint_from_errors() {
        assert!(in_drop_share(0.0, 0.99));
        assert!(!in_drop_share(0.1, 0.05));
        assert!(in_drop_share(0.1, 0.15));
        assert!(!in_drop_share(0.1, 0.2));
        assert!(in_drop_share(0.7, 0.95));
    }
}
