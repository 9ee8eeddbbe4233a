//! Prometheus metrics at `/metrics`: decisions by reason, latency histograms, tokens, cost and
//! savings against always-large.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;
type HistogramFamily = Family<Labels, Histogram, fn() -> Histogram>;

/// Totals since the gateway started, for its exit summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Totals {
    /// Completion requests.
    pub requests: u64,
    /// Answered.
    pub ok: u64,
    /// Failed upstream (after fallbacks) or mid-stream.
    pub errors: u64,
    /// Refused by the gateway (key, rate, budget, privacy, size, unknown model).
    pub rejected: u64,
    /// USD spent.
    pub cost_usd: f64,
    /// USD the always-large upstream would have cost for the same answers.
    pub large_cost_usd: f64,
}

/// Every metric the gateway keeps.
pub struct Metrics {
    totals: std::sync::Mutex<Totals>,
    registry: Registry,
    requests: Family<Labels, Counter>,
    decisions: Family<Labels, Counter>,
    fallbacks: Family<Labels, Counter>,
    tokens: Family<Labels, Counter>,
    cost: Family<Labels, Counter<f64, AtomicU64>>,
    savings: Counter<f64, AtomicU64>,
    overhead: Histogram,
    ttfb: HistogramFamily,
    total: HistogramFamily,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn latency_histogram() -> Histogram {
    // 50 µs to about 100 s.
    Histogram::new(exponential_buckets(5e-5, 2.0, 22))
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric under the `sizewise_route` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("sizewise_route");
        let requests = Family::<Labels, Counter>::default();
        let decisions = Family::<Labels, Counter>::default();
        let fallbacks = Family::<Labels, Counter>::default();
        let tokens = Family::<Labels, Counter>::default();
        let cost = Family::<Labels, Counter<f64, AtomicU64>>::default();
        let savings = Counter::<f64, AtomicU64>::default();
        let overhead = Histogram::new(exponential_buckets(1e-5, 2.0, 20));
        let ttfb: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let total: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "requests",
            "Completion requests by upstream and outcome (ok, error, rejected)",
            requests.clone(),
        );
        registry.register(
            "decisions",
            "Routing decisions by upstream and the kind of reason (pinned, privacy, context, rule, default, budget)",
            decisions.clone(),
        );
        registry.register(
            "fallbacks",
            "Upstream failures before the first byte (each sends the request on to the next allowed upstream, when there is one) and cascade escalations",
            fallbacks.clone(),
        );
        registry.register(
            "tokens",
            "Tokens by upstream and kind (prompt, completion)",
            tokens.clone(),
        );
        registry.register("cost_usd", "USD spent by upstream", cost.clone());
        registry.register(
            "savings_usd",
            "USD saved against sending every request to the always-large upstream",
            savings.clone(),
        );
        registry.register(
            "overhead_seconds",
            "Time spent in the gateway before the upstream call (parse, policy, budget)",
            overhead.clone(),
        );
        registry.register(
            "ttfb_seconds",
            "Time to the first byte sent to the client, by upstream",
            ttfb.clone(),
        );
        registry.register(
            "duration_seconds",
            "Whole request time, by upstream",
            total.clone(),
        );
        Metrics {
            totals: std::sync::Mutex::new(Totals::default()),
            registry,
            requests,
            decisions,
            fallbacks,
            tokens,
            cost,
            savings,
            overhead,
            ttfb,
            total,
        }
    }

    /// Counts a decision; `reason` is reduced to its kind (the text before `:` or a backtick).
    pub fn decision(&self, upstream: &str, reason: &str) {
        let kind = reason
            .split([':', '`', ';'])
            .next()
            .unwrap_or("")
            .trim()
            .split(' ')
            .next()
            .unwrap_or("")
            .to_string();
        self.decisions
            .get_or_create(&vec![("upstream", upstream.to_string()), ("reason", kind)])
            .inc();
    }

    /// Counts a fallback away from `from`.
    pub fn fallback(&self, from: &str) {
        self.fallbacks
            .get_or_create(&vec![("from", from.to_string())])
            .inc();
    }

    /// Totals since start.
    pub fn totals(&self) -> Totals {
        *self.totals.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records one finished request.
    pub fn finished(&self, row: &crate::ledger::Row) {
        {
            let mut t = self.totals.lock().unwrap_or_else(|p| p.into_inner());
            t.requests += 1;
            match row.outcome.as_str() {
                "ok" => t.ok += 1,
                "rejected" => t.rejected += 1,
                _ => t.errors += 1,
            }
            t.cost_usd += row.cost_usd;
            t.large_cost_usd += row.large_cost_usd;
        }
        let up = if row.route.is_empty() {
            "none"
        } else {
            row.route.as_str()
        };
        self.requests
            .get_or_create(&vec![
                ("upstream", up.to_string()),
                ("outcome", row.outcome.clone()),
            ])
            .inc();
        if row.prompt_tokens > 0 {
            self.tokens
                .get_or_create(&vec![
                    ("upstream", up.to_string()),
                    ("kind", "prompt".into()),
                ])
                .inc_by(row.prompt_tokens);
        }
        if row.completion_tokens > 0 {
            self.tokens
                .get_or_create(&vec![
                    ("upstream", up.to_string()),
                    ("kind", "completion".into()),
                ])
                .inc_by(row.completion_tokens);
        }
        if row.cost_usd > 0.0 {
            self.cost
                .get_or_create(&vec![("upstream", up.to_string())])
                .inc_by(row.cost_usd);
        }
        let saved = row.large_cost_usd - row.cost_usd;
        if saved > 0.0 {
            self.savings.inc_by(saved);
        }
        if row.outcome != "rejected" {
            self.overhead.observe(row.overhead_ms / 1e3);
            self.ttfb
                .get_or_create(&vec![("upstream", up.to_string())])
                .observe(row.ttfb_ms / 1e3);
            self.total
                .get_or_create(&vec![("upstream", up.to_string())])
                .observe(row.total_ms / 1e3);
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_names_decisions_costs_and_savings() {
        let m = Metrics::new();
        m.decision("small", "privacy: email found, local upstreams only");
        m.decision("large", "rule `x`");
        m.finished(&crate::ledger::Row {
            route: "large".into(),
            outcome: "ok".into(),
            prompt_tokens: 10,
            completion_tokens: 5,
            cost_usd: 0.5,
            large_cost_usd: 2.0,
            ..Default::default()
        });
        let t = m.render();
        for want in [
            "sizewise_route_decisions_total{upstream=\"small\",reason=\"privacy\"} 1",
            "sizewise_route_decisions_total{upstream=\"large\",reason=\"rule\"} 1",
            "sizewise_route_savings_usd_total 1.5",
            "sizewise_route_tokens_total{upstream=\"large\",kind=\"prompt\"} 10",
            "sizewise_route_duration_seconds_bucket",
        ] {
            assert!(t.contains(want), "{want} missing from\n{t}");
        }
    }
}
