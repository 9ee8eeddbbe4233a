//! Exports, one function per format: per-request JSONL (with timelines), per-request CSV, and
//! a Markdown summary table of one or more results.

use std::fmt::Write as _;
use std::io::Write;

use serde::Serialize;

use crate::Result;
use crate::record::{RequestRecord, TokenSource};
use crate::result::BenchResult;
use crate::sse::EventKind;
use crate::stats::Stats;

/// One event of a JSONL row.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct EventRow {
    /// ms since the request's send instant.
    pub t_ms: f64,
    /// Event kind.
    pub kind: EventKind,
    /// Data length, bytes.
    pub bytes: u32,
}

/// The exported view of one request: its derived metrics (and, in JSONL, its timeline).
#[derive(Debug, Clone, Serialize)]
pub struct RequestRow<'a> {
    /// Measured-phase index.
    pub index: u64,
    /// Planned send, ms since phase start.
    pub planned_ms: f64,
    /// Actual send, ms since phase start.
    pub sent_ms: f64,
    /// `sent - planned`, ms.
    pub schedule_lag_ms: f64,
    /// New-connection setup, ms (absent when reused).
    pub connect_ms: Option<f64>,
    /// Time to headers, ms.
    pub ttfb_ms: Option<f64>,
    /// Time to the first token event, ms.
    pub ttft_ms: Option<f64>,
    /// `(e2e - ttft) / (output_tokens - 1)`, ms.
    pub tpot_ms: Option<f64>,
    /// Send to end, ms.
    pub e2e_ms: f64,
    /// Output tokens (see `token_source`).
    pub output_tokens: u64,
    /// Source of `output_tokens`.
    pub token_source: TokenSource,
    /// Token-carrying events received.
    pub token_events: u64,
    /// `usage.prompt_tokens`, when sent.
    pub prompt_tokens: Option<u64>,
    /// Requested `max_tokens`.
    pub max_tokens: u32,
    /// HTTP status.
    pub status: Option<u16>,
    /// Finish reason.
    pub finish_reason: Option<&'a str>,
    /// Error kind (`None` = completed).
    pub error_kind: Option<String>,
    /// Error message.
    pub error: Option<&'a str>,
    /// The SSE timeline (JSONL only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventRow>>,
}

impl<'a> RequestRow<'a> {
    /// The row of `r`, with or without its event timeline.
    pub fn new(r: &'a RequestRecord, with_events: bool) -> Self {
        let (output_tokens, token_source) = r.output_tokens();
        Self {
            index: r.index,
            planned_ms: r.planned_ns as f64 / 1e6,
            sent_ms: r.sent_ns as f64 / 1e6,
            schedule_lag_ms: r.schedule_lag_ms(),
            connect_ms: r.connect_ns.map(|n| n as f64 / 1e6),
            ttfb_ms: r.ttfb_ms(),
            ttft_ms: r.ttft_ms(),
            tpot_ms: r.tpot_ms(),
            e2e_ms: r.e2e_ms(),
            output_tokens,
            token_source,
            token_events: r.token_events(),
            prompt_tokens: r.usage.and_then(|u| u.prompt_tokens),
            max_tokens: r.max_tokens,
            status: r.status,
            finish_reason: r.finish_reason.as_deref(),
            error_kind: r.error.as_ref().map(|e| e.kind.to_string()),
            error: r.error.as_ref().map(|e| e.message.as_str()),
            events: with_events.then(|| {
                r.events
                    .iter()
                    .map(|e| EventRow {
                        t_ms: e.t_ns as f64 / 1e6,
                        kind: e.kind,
                        bytes: e.bytes,
                    })
                    .collect()
            }),
        }
    }
}

/// Writes one JSON object per request, with its full event timeline.
pub fn write_jsonl(requests: &[RequestRecord], mut w: impl Write) -> Result<()> {
    for r in requests {
        serde_json::to_writer(&mut w, &RequestRow::new(r, true)).map_err(std::io::Error::from)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

const CSV_HEADER: &str = "index,planned_ms,sent_ms,schedule_lag_ms,connect_ms,ttfb_ms,ttft_ms,tpot_ms,e2e_ms,output_tokens,token_source,token_events,prompt_tokens,max_tokens,status,finish_reason,error_kind,error";

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes a header and one CSV row per request (no timelines); empty cells for absent values.
pub fn write_csv(requests: &[RequestRecord], mut w: impl Write) -> Result<()> {
    writeln!(w, "{CSV_HEADER}")?;
    let o = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
    let u = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    for r in requests {
        let row = RequestRow::new(r, false);
        writeln!(
            w,
            "{},{:.4},{:.4},{:.4},{},{},{},{},{:.4},{},{},{},{},{},{},{},{},{}",
            row.index,
            row.planned_ms,
            row.sent_ms,
            row.schedule_lag_ms,
            o(row.connect_ms),
            o(row.ttfb_ms),
            o(row.ttft_ms),
            o(row.tpot_ms),
            row.e2e_ms,
            row.output_tokens,
            row.token_source.as_str(),
            row.token_events,
            u(row.prompt_tokens),
            row.max_tokens,
            u(row.status.map(u64::from)),
            csv_field(row.finish_reason.unwrap_or("")),
            row.error_kind.as_deref().unwrap_or(""),
            csv_field(row.error.unwrap_or("")),
        )?;
    }
    Ok(())
}

fn load_label(r: &BenchResult) -> String {
    match r.load {
        crate::Load::Concurrency(c) => format!("c={c}"),
        crate::Load::Rate { per_s, arrival } => {
            let a = match arrival {
                crate::Arrival::Poisson => "poisson".to_string(),
                crate::Arrival::Constant => "constant".to_string(),
                crate::Arrival::Gamma { shape } => format!("gamma({shape})"),
            };
            format!("{per_s}/s {a}")
        }
    }
}

/// A Markdown table, one row per result: load, counts, rates, and p50/p99 of the latencies
/// (ms), plus schedule lag p99 and client CPU share.
pub fn markdown_summary(results: &[BenchResult]) -> String {
    let mut s = String::new();
    s.push_str("| load | sent | completed | errors | req/s | out tok/s | goodput/s | TTFT p50 / p99 | TPOT p50 / p99 | ITL p50 / p99 | E2E p50 / p99 | lag p99 | tokens from | client CPU |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    let f = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.2}"));
    let pp = |st: &Stats| format!("{} / {}", f(st.p50), f(st.p99));
    for r in results {
        let errors = if r.errors.is_empty() {
            "0".to_string()
        } else {
            r.errors
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} | {} | {} | {} |",
            load_label(r),
            r.sent,
            r.completed,
            errors,
            r.requests_per_s,
            r.output_tokens_per_s,
            r.goodput_per_s,
            pp(&r.ttft_ms),
            pp(&r.tpot_ms),
            pp(&r.itl_ms),
            pp(&r.e2e_ms),
            f(r.schedule_lag_ms.p99),
            r.token_source,
            r.client_cpu_share
                .map_or_else(|| "-".to_string(), |c| format!("{:.0}%", c * 100.0)),
        );
    }
    s
}
