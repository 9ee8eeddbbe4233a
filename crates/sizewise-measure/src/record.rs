//! The per-request timeline and the metrics derived from it.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::config::Slo;
use crate::sse::{EventKind, Usage};

/// Why a request did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// A non-2xx response: `http_<status>`.
    Http(u16),
    /// No response headers: the TCP connect, the HTTP handshake or the request write failed
    /// (or the connection closed before headers): `connect`.
    Connect,
    /// The per-request timeout elapsed before the stream ended: `timeout`.
    Timeout,
    /// An SSE `data:` payload was neither JSON nor `[DONE]`: `malformed_event`.
    MalformedEvent,
    /// The stream carried an `{"error": ...}` object: `stream_error`.
    StreamError,
    /// The stream ended without `[DONE]` and without a `finish_reason`, the connection broke
    /// before `[DONE]`, or (with `strict_token_count`) it carried fewer token events than
    /// `usage.completion_tokens`: `truncated_stream`. Never a success.
    TruncatedStream,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Http(s) => write!(f, "http_{s}"),
            ErrorKind::Connect => f.write_str("connect"),
            ErrorKind::Timeout => f.write_str("timeout"),
            ErrorKind::MalformedEvent => f.write_str("malformed_event"),
            ErrorKind::StreamError => f.write_str("stream_error"),
            ErrorKind::TruncatedStream => f.write_str("truncated_stream"),
        }
    }
}

impl Serialize for ErrorKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A failed request's kind and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestError {
    /// The error class used for counting.
    pub kind: ErrorKind,
    /// What happened, for people.
    pub message: String,
}

/// One SSE event on a request's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// Arrival of the body bytes that completed the event's first `data:` line, in ns since
    /// the request's send instant.
    pub t_ns: u64,
    /// What the event carried.
    pub kind: EventKind,
    /// Length of the event's data.
    pub bytes: u32,
}

/// Where an output token count came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// The server's `usage.completion_tokens`.
    Usage,
    /// A local tokenizer over the streamed text (the server sent no usage).
    LocalTokenizer,
    /// The number of token-carrying (content or reasoning) events, one token each; used when
    /// the server sent no usage. Chunks are not tokens on servers that batch them.
    ContentEvents,
}

impl TokenSource {
    /// The name used in JSON and CSV: `usage`, `local_tokenizer` or `content_events`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenSource::Usage => "usage",
            TokenSource::LocalTokenizer => "local_tokenizer",
            TokenSource::ContentEvents => "content_events",
        }
    }
}

/// The full timeline of one request. Times are integer nanoseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    /// Sequence number within the measured phase (0-based, in send order of planning).
    pub index: u64,
    /// `max_tokens` requested.
    pub max_tokens: u32,
    /// Planned send instant, ns since the phase start: the schedule's arrival (rate mode) or
    /// the instant the worker became free (concurrency mode).
    pub planned_ns: u64,
    /// Actual send instant, ns since the phase start (taken before connecting, so connection
    /// setup counts in every latency).
    pub sent_ns: u64,
    /// Time spent opening a new connection (TCP + HTTP handshake), ns since send; `None` when
    /// a pooled connection was reused.
    pub connect_ns: Option<u64>,
    /// Response headers received, ns since send.
    pub headers_ns: Option<u64>,
    /// HTTP status.
    pub status: Option<u16>,
    /// Every SSE event in arrival order.
    pub events: Vec<Event>,
    /// When the request ended, ns since send: `[DONE]` (or the body end when the server sent
    /// a finish_reason but no `[DONE]`) for successes; when the error was detected otherwise.
    pub end_ns: u64,
    /// Server-reported usage, if any.
    pub usage: Option<Usage>,
    /// The last non-null `finish_reason`.
    pub finish_reason: Option<String>,
    /// `None` for a completed request.
    pub error: Option<RequestError>,
    /// The streamed text (content and reasoning), kept only when a local tokenizer counts it.
    pub text: String,
    /// Output tokens counted by the local tokenizer (only when the server sent no usage).
    pub local_tokens: Option<u64>,
    /// The entries of `choices[0].logprobs.content` of every event, in order: each
    /// generated token's log-probability and its `top_logprobs`, when the request asked for
    /// them (kept with the text only).
    pub logprobs: Vec<serde_json::Value>,
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

impl RequestRecord {
    /// True when the request completed without error.
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }

    /// Number of token-carrying (content or reasoning) events.
    pub fn token_events(&self) -> u64 {
        self.events.iter().filter(|e| e.kind.is_token()).count() as u64
    }

    /// Output tokens and their source: `usage.completion_tokens` when present, else the local
    /// tokenizer's count when one was set, else token events.
    pub fn output_tokens(&self) -> (u64, TokenSource) {
        match (
            self.usage.and_then(|u| u.completion_tokens),
            self.local_tokens,
        ) {
            (Some(n), _) => (n, TokenSource::Usage),
            (None, Some(n)) => (n, TokenSource::LocalTokenizer),
            (None, None) => (self.token_events(), TokenSource::ContentEvents),
        }
    }

    /// `ttfb`: send to response headers, ms.
    pub fn ttfb_ms(&self) -> Option<f64> {
        self.headers_ns.map(ms)
    }

    /// `ttft`: send to the first token-carrying event, ms.
    pub fn ttft_ms(&self) -> Option<f64> {
        self.events
            .iter()
            .find(|e| e.kind.is_token())
            .map(|e| ms(e.t_ns))
    }

    /// `e2e`: send to end ([`RequestRecord::end_ns`]), ms.
    pub fn e2e_ms(&self) -> f64 {
        ms(self.end_ns)
    }

    /// `tpot`: `(e2e - ttft) / (output_tokens - 1)`, ms; `None` with fewer than 2 tokens.
    pub fn tpot_ms(&self) -> Option<f64> {
        let (n, _) = self.output_tokens();
        let ttft = self.ttft_ms()?;
        (n > 1).then(|| (self.e2e_ms() - ttft) / (n - 1) as f64)
    }

    /// `itl`: gaps between consecutive token-carrying events, ms (chunk gaps, not per token).
    pub fn itl_ms(&self) -> impl Iterator<Item = f64> + '_ {
        let mut prev: Option<u64> = None;
        self.events
            .iter()
            .filter(|e| e.kind.is_token())
            .filter_map(move |e| {
                let gap = prev.map(|p| ms(e.t_ns.saturating_sub(p)));
                prev = Some(e.t_ns);
                gap
            })
    }

    /// Output tokens per second of this request: `output_tokens / e2e`.
    pub fn output_tokens_per_s(&self) -> Option<f64> {
        let (n, _) = self.output_tokens();
        (self.end_ns > 0).then(|| n as f64 / (self.end_ns as f64 / 1e9))
    }

    /// Schedule lag: actual send minus planned send, ms (never negative).
    pub fn schedule_lag_ms(&self) -> f64 {
        ms(self.sent_ns.saturating_sub(self.planned_ns))
    }

    /// True when the request completed and meets every objective that is set (a request with
    /// fewer than 2 output tokens meets any `tpot` objective, as in vLLM; one with no token event
    /// fails a `ttft` objective).
    pub fn meets(&self, slo: &Slo) -> bool {
        if !self.ok() {
            return false;
        }
        let ttft_ok = slo
            .ttft_ms
            .is_none_or(|l| self.ttft_ms().is_some_and(|v| v <= l));
        let tpot_ok = slo
            .tpot_ms
            .is_none_or(|l| self.tpot_ms().is_none_or(|v| v <= l));
        let e2e_ok = slo.e2e_ms.is_none_or(|l| self.e2e_ms() <= l);
        ttft_ok && tpot_ok && e2e_ok
    }
}
