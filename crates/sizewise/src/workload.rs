//! A workload file: what a user's application asks of a model, and the constraints an option
//! must meet (`recommend`; `report --workload`).

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// Where requests may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Privacy {
    /// Only to models run on the user's own hardware: no API.
    #[serde(rename = "on-premises")]
    OnPremises,
    /// Anywhere, APIs included.
    #[serde(rename = "any")]
    Any,
}

/// A quality floor: a score on an eval suite or a published benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinQuality {
    /// An eval suite (`sentiment`...) measured with `sizewise eval`, or a benchmark the
    /// catalog publishes (`MMLU`).
    pub suite: String,
    /// The lowest acceptable score, 0 to 1 (a percentage above 1 is divided by 100).
    pub score: f64,
}

/// A workload, as read from TOML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// What the requests do, in words (`classify support tickets`).
    pub task: String,
    /// Requests per day.
    pub requests_per_day: f64,
    /// Prompt tokens per request.
    pub prompt_tokens: u64,
    /// Output tokens per request.
    pub output_tokens: u64,
    /// The 95th-percentile end-to-end latency allowed, ms.
    #[serde(default)]
    pub latency_p95_ms: Option<f64>,
    /// The monthly budget, USD.
    #[serde(default)]
    pub monthly_budget_usd: Option<f64>,
    /// Where requests may go. Default `any`.
    #[serde(default = "any")]
    pub privacy: Privacy,
    /// The hardware to run on (a catalog id, or `local`), and no API; without it sizewise
    /// tries common devices and the APIs.
    #[serde(default)]
    pub device: Option<String>,
    /// A quality floor.
    #[serde(default)]
    pub min_quality: Option<MinQuality>,
}

fn any() -> Privacy {
    Privacy::Any
}

/// An example workload, shown in errors and `--help`.
pub const EXAMPLE: &str = r#"task = "classify support tickets"
requests_per_day = 20000
prompt_tokens = 400
output_tokens = 20
latency_p95_ms = 2000
monthly_budget_usd = 300
privacy = "on-premises"        # or "any"
# device = "nvidia-l4"         # optional: a hardware id from `sizewise hardware`
# [min_quality]                # optional
# suite = "MMLU"               # a published benchmark, or a suite run with `sizewise eval`
# score = 0.6"#;

impl Workload {
    /// Parses `text` (the contents of `origin`) and checks every number.
    pub fn parse(text: &str, origin: &str) -> anyhow::Result<Workload> {
        let w: Workload = toml::from_str(text).map_err(|e| {
            anyhow::anyhow!(
                "{origin} is not a valid workload: {e}\n  a workload looks like:\n{EXAMPLE}"
            )
        })?;
        let positive = |name: &str, v: f64| {
            anyhow::ensure!(
                v.is_finite() && v > 0.0,
                "{origin}: `{name}` must be a positive number, got {v}"
            );
            Ok(())
        };
        positive("requests_per_day", w.requests_per_day)?;
        anyhow::ensure!(
            w.prompt_tokens >= 1 && w.prompt_tokens <= 100_000_000,
            "{origin}: `prompt_tokens` must be between 1 and 100M"
        );
        anyhow::ensure!(
            w.output_tokens >= 1 && w.output_tokens <= 100_000_000,
            "{origin}: `output_tokens` must be between 1 and 100M"
        );
        if let Some(v) = w.latency_p95_ms {
            positive("latency_p95_ms", v)?;
        }
        if let Some(v) = w.monthly_budget_usd {
            anyhow::ensure!(
                v.is_finite() && v >= 0.0,
                "{origin}: `monthly_budget_usd` must be a number >= 0, got {v}"
            );
        }
        if let Some(q) = &w.min_quality {
            anyhow::ensure!(
                (0.0..=1.0).contains(&q.score),
                "{origin}: `min_quality.score` is a share between 0 and 1, got {}",
                q.score
            );
            anyhow::ensure!(
                !q.suite.trim().is_empty(),
                "{origin}: `min_quality.suite` is empty"
            );
        }
        Ok(w)
    }

    /// Reads and checks the workload file at `path`.
    pub fn read(path: &Path) -> anyhow::Result<Workload> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the workload {}", path.display()))?;
        Workload::parse(&text, &path.display().to_string())
    }

    /// The device the workload names, as catalog hardware; an unknown id names the file.
    pub fn device<'c>(
        &self,
        catalog: &'c sizewise_catalog::Catalog,
        origin: &Path,
    ) -> anyhow::Result<Option<&'c sizewise_catalog::Hardware>> {
        self.device
            .as_deref()
            .map(|id| {
                crate::plan::hardware_by_id(catalog, id)
                    .with_context(|| format!("`device` in {}", origin.display()))
            })
            .transpose()
    }

    /// Sets the scenario's request shape and load to this workload's.
    pub fn apply(&self, s: &mut sizewise_estimate::Scenario) {
        s.prompt_tokens = self.prompt_tokens;
        s.output_tokens = self.output_tokens;
        s.requests_per_day = self.requests_per_day;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn the_example_parses_and_defaults_apply() {
        let w = Workload::parse(EXAMPLE, "x.toml").unwrap();
        assert_eq!(w.privacy, Privacy::OnPremises);
        assert_eq!(w.latency_p95_ms, Some(2000.0));
        let bare = "task='t'\nrequests_per_day=1\nprompt_tokens=1\noutput_tokens=1";
        let w = Workload::parse(bare, "x.toml").unwrap();
        assert_eq!(
            (w.privacy, w.monthly_budget_usd, w.device),
            (Privacy::Any, None, None)
        );
    }

    #[test]
    fn bad_workloads_say_what_is_wrong_and_where() {
        for (text, want) in [
            ("task='t'", "requests_per_day"),
            (
                "task='t'\nrequests_per_day=1\nprompt_tokens=1\noutput_tokens=1\nprivacy='cloud'",
                "privacy",
            ),
            (
                "task='t'\nrequests_per_day=-5\nprompt_tokens=1\noutput_tokens=1",
                "requests_per_day",
            ),
            (
                "task='t'\nrequests_per_day=1\nprompt_tokens=1\noutput_tokens=1\nbudget=3",
                "budget",
            ),
            (
                "task='t'\nrequests_per_day=1\nprompt_tokens=1\noutput_tokens=1\n[min_quality]\nsuite='MMLU'\nscore=170",
                "min_quality.score",
            ),
            (
                "task='t'\nrequests_per_day=1\nprompt_tokens=1\noutput_tokens=1\nmin_quality=0.8",
                "[min_quality]",
            ),
            ("not toml at all [", "w.toml"),
        ] {
            let e = format!("{:#}", Workload::parse(text, "w.toml").unwrap_err());
            assert!(e.contains(want) && e.contains("w.toml"), "{text}: {e}");
        }
    }
}
