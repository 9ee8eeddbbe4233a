//! Aggregating request timelines into the result the CLI prints.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{BenchConfig, Endpoint, Load, Slo, Stop};
use crate::record::{RequestRecord, TokenSource};
use crate::stats::Stats;

/// Facts about the run itself, gathered by the runner.
pub(crate) struct RunMeta {
    pub wall_s: f64,
    pub cpu_s: Option<f64>,
    pub cores: usize,
    pub load_avg_1m: Option<f64>,
    pub warmup_errors: u64,
    pub cancelled: bool,
    /// Requests sent in the measured phase, finished or not.
    pub sent_total: u64,
}

/// The outcome of one run. Serializes to the JSON contract of `sizewise bench`; the
/// per-request timelines are in [`BenchResult::requests`] (not serialized; see
/// [`crate::export`]).
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    /// Model name sent.
    pub model: String,
    /// Base URL.
    pub url: String,
    /// Endpoint used.
    pub endpoint: Endpoint,
    /// Load model.
    pub load: Load,
    /// Stop condition.
    pub stop: Stop,
    /// Objectives used for goodput.
    pub slo: Slo,
    /// Warmup requests run before the measured phase (not in any statistic).
    pub warmup: u64,
    /// Warmup requests that failed.
    pub warmup_errors: u64,
    /// Seed of prompts and schedule.
    pub seed: u64,
    /// Time to first token-carrying event, ms (completed requests).
    pub ttft_ms: Stats,
    /// Time to response headers, ms (completed requests).
    pub ttfb_ms: Stats,
    /// `(e2e - ttft) / (output_tokens - 1)`, ms (completed requests with ≥ 2 tokens).
    pub tpot_ms: Stats,
    /// Gaps between consecutive token-carrying events, pooled over completed requests, ms.
    pub itl_ms: Stats,
    /// Send to `[DONE]`, ms (completed requests).
    pub e2e_ms: Stats,
    /// Per-request `output_tokens / e2e`, tokens/s (completed requests).
    pub output_tokens_per_s_per_request: Stats,
    /// Output tokens per completed request.
    pub output_tokens: Stats,
    /// `usage.prompt_tokens` per completed request that reported it.
    pub prompt_tokens: Stats,
    /// Completed requests / `duration_s`.
    pub requests_per_s: f64,
    /// Σ output tokens of completed requests / `duration_s` (system output tokens/s).
    pub output_tokens_per_s: f64,
    /// Σ `usage.prompt_tokens` of completed requests / `duration_s` (system input tokens/s);
    /// `None` when no completed request reported its prompt tokens.
    pub input_tokens_per_s: Option<f64>,
    /// Completed requests meeting every set SLO / `duration_s`.
    pub goodput_per_s: f64,
    /// Completed requests meeting every set SLO.
    pub good: u64,
    /// Requests that completed without error.
    pub completed: u64,
    /// Failed requests by kind (`http_<status>`, `connect`, `timeout`, `malformed_event`,
    /// `stream_error`, `truncated_stream`).
    pub errors: BTreeMap<String, u64>,
    /// Requests sent in the measured phase (`completed + Σ errors`).
    pub sent: u64,
    /// Requested arrivals per second (rate loads only).
    pub requested_rate: Option<f64>,
    /// Sent / (last send instant − phase start).
    pub achieved_rate: f64,
    /// Actual minus planned send instant, ms (all sent requests).
    pub schedule_lag_ms: Stats,
    /// Where output token counts came from: `usage`, `local_tokenizer`, `content_events`,
    /// `mixed`, or `none` (no completed request).
    pub token_source: String,
    /// The local tokenizer that counted output tokens where the server sent no usage.
    pub tokenizer: Option<String>,
    /// `finish_reason` counts over completed requests (`none` when absent).
    pub finish_reasons: BTreeMap<String, u64>,
    /// Phase start to the end of the last request, seconds.
    pub duration_s: f64,
    /// Wall time of the measured phase including draining, seconds.
    pub wall_s: f64,
    /// CPU seconds (user + system) used by this process during the measured phase.
    pub client_cpu_s: Option<f64>,
    /// `client_cpu_s / (wall_s × cores)`.
    pub client_cpu_share: Option<f64>,
    /// Logical CPUs available.
    pub cores: usize,
    /// 1-minute load average at the start of the measured phase (a busy machine skews results).
    pub load_avg_1m: Option<f64>,
    /// True when the run was stopped early (Ctrl-C); statistics cover what finished.
    pub cancelled: bool,
    /// Requests in flight when the run was cancelled: sent, never finished, left out of
    /// `sent` and every statistic.
    pub abandoned: u64,
    /// Every measured request's timeline, by index.
    #[serde(skip)]
    pub requests: Vec<RequestRecord>,
}

impl BenchResult {
    pub(crate) fn from_records(
        cfg: &BenchConfig,
        mut records: Vec<RequestRecord>,
        m: RunMeta,
    ) -> Self {
        // The local tokenizer runs after the measurement, only where the server gave no usage.
        if let Some(counter) = &cfg.token_counter {
            for r in records.iter_mut().filter(|r| r.ok()) {
                if r.usage.and_then(|u| u.completion_tokens).is_none() {
                    r.local_tokens = Some(counter.count(&r.text));
                }
            }
        }
        let ok: Vec<&RequestRecord> = records.iter().filter(|r| r.ok()).collect();
        let mut errors = BTreeMap::new();
        for r in &records {
            if let Some(e) = &r.error {
                *errors.entry(e.kind.to_string()).or_insert(0) += 1;
            }
        }
        let mut finish_reasons = BTreeMap::new();
        for r in &ok {
            let k = r.finish_reason.clone().unwrap_or_else(|| "none".into());
            *finish_reasons.entry(k).or_insert(0) += 1;
        }
        let sent = records.len() as u64;
        let completed = ok.len() as u64;
        let duration_ns = records
            .iter()
            .map(|r| r.sent_ns + r.end_ns)
            .max()
            .unwrap_or(0);
        let duration_s = duration_ns as f64 / 1e9;
        let last_send_s = records.iter().map(|r| r.sent_ns).max().unwrap_or(0) as f64 / 1e9;
        let per_s = |x: f64| {
            if duration_s > 0.0 {
                x / duration_s
            } else {
                0.0
            }
        };
        let tokens: Vec<(u64, TokenSource)> = ok.iter().map(|r| r.output_tokens()).collect();
        let sources: std::collections::BTreeSet<&'static str> =
            tokens.iter().map(|t| t.1.as_str()).collect();
        let token_source = match sources.len() {
            0 => "none",
            1 => sources.first().copied().unwrap_or("none"),
            _ => "mixed",
        }
        .to_string();
        let good = ok.iter().filter(|r| r.meets(&cfg.slo)).count() as u64;
        let stats = |f: &dyn Fn(&RequestRecord) -> Option<f64>| {
            Stats::from_values(ok.iter().filter_map(|r| f(r)).collect())
        };
        Self {
            model: cfg.model.clone(),
            url: cfg.url.clone(),
            endpoint: cfg.endpoint,
            load: cfg.load,
            stop: cfg.stop,
            slo: cfg.slo,
            warmup: cfg.warmup,
            warmup_errors: m.warmup_errors,
            seed: cfg.seed,
            ttft_ms: stats(&|r| r.ttft_ms()),
            ttfb_ms: stats(&|r| r.ttfb_ms()),
            tpot_ms: stats(&|r| r.tpot_ms()),
            itl_ms: Stats::from_values(ok.iter().flat_map(|r| r.itl_ms()).collect()),
            e2e_ms: stats(&|r| Some(r.e2e_ms())),
            output_tokens_per_s_per_request: stats(&|r| r.output_tokens_per_s()),
            output_tokens: Stats::from_values(tokens.iter().map(|t| t.0 as f64).collect()),
            prompt_tokens: stats(&|r| r.usage.and_then(|u| u.prompt_tokens).map(|p| p as f64)),
            requests_per_s: per_s(completed as f64),
            // fold from +0.0: an empty f64 sum is -0.0, which would print as "-0.0 tokens/s".
            output_tokens_per_s: per_s(tokens.iter().fold(0.0, |a, t| a + t.0 as f64)),
            input_tokens_per_s: {
                let prompts: Vec<u64> = ok
                    .iter()
                    .filter_map(|r| r.usage.and_then(|u| u.prompt_tokens))
                    .collect();
                (!prompts.is_empty()).then(|| per_s(prompts.iter().sum::<u64>() as f64))
            },
            goodput_per_s: per_s(good as f64),
            good,
            completed,
            errors,
            sent,
            requested_rate: match cfg.load {
                Load::Rate { per_s, .. } => Some(per_s),
                Load::Concurrency(_) => None,
            },
            achieved_rate: if last_send_s > 0.0 {
                sent as f64 / last_send_s
            } else {
                0.0
            },
            schedule_lag_ms: Stats::from_values(
                records.iter().map(RequestRecord::schedule_lag_ms).collect(),
            ),
            token_source,
            tokenizer: cfg.token_counter.as_ref().map(|c| c.name().to_string()),
            finish_reasons,
            duration_s,
            wall_s: m.wall_s,
            client_cpu_s: m.cpu_s,
            client_cpu_share: m
                .cpu_s
                .filter(|_| m.wall_s > 0.0)
                .map(|c| c / (m.wall_s * m.cores as f64)),
            cores: m.cores,
            load_avg_1m: m.load_avg_1m,
            cancelled: m.cancelled,
            abandoned: m.sent_total.saturating_sub(sent),
            requests: records,
        }
    }

    /// Total failed requests.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}
