//! The typed values the store hands out: run ids, kinds, statuses and run records.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::StoreError;

/// The id of a stored run (the `runs.id` column). Ids are never reused, even after a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub i64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for RunId {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .trim_start_matches('#')
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(RunId)
            .ok_or_else(|| StoreError::InvalidArgument {
                message: format!("`{s}` is not a run id"),
                hint: "a run id is a positive whole number; `sizewise runs` lists them".into(),
            })
    }
}

/// What a run measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunKind {
    /// A load test of an HTTP endpoint (`sizewise bench`).
    Bench,
    /// A probe of this machine (`sizewise probe`).
    Probe,
    /// An in-process bench of a GGUF file (`sizewise engine bench`).
    EngineBench,
    /// A quality evaluation.
    Eval,
    /// A calibration of the estimator against this machine's measurements.
    Calibration,
}

impl RunKind {
    /// Every kind, in a stable order.
    pub const ALL: [RunKind; 5] = [
        RunKind::Bench,
        RunKind::Probe,
        RunKind::EngineBench,
        RunKind::Eval,
        RunKind::Calibration,
    ];

    /// The name stored in the `runs.kind` column (`bench`, `probe`, `engine-bench`, `eval`,
    /// `calibration`).
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Bench => "bench",
            RunKind::Probe => "probe",
            RunKind::EngineBench => "engine-bench",
            RunKind::Eval => "eval",
            RunKind::Calibration => "calibration",
        }
    }
}

impl fmt::Display for RunKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunKind {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        RunKind::ALL
            .into_iter()
            .find(|k| k.as_str() == wanted)
            .ok_or_else(|| StoreError::InvalidArgument {
                message: format!("unknown run kind `{s}`"),
                hint: format!("use one of: {}", names(RunKind::ALL.map(RunKind::as_str))),
            })
    }
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Started and not finished yet (or its process died without a word).
    Running,
    /// Finished normally.
    Complete,
    /// Stopped early (Ctrl-C, a dropped [`crate::RunGuard`]); its rows so far are kept.
    Incomplete,
    /// Ended with an error.
    Failed,
}

impl RunStatus {
    /// Every status, in a stable order.
    pub const ALL: [RunStatus; 4] = [
        RunStatus::Running,
        RunStatus::Complete,
        RunStatus::Incomplete,
        RunStatus::Failed,
    ];

    /// The name stored in the `runs.status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Complete => "complete",
            RunStatus::Incomplete => "incomplete",
            RunStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        RunStatus::ALL
            .into_iter()
            .find(|k| k.as_str() == wanted)
            .ok_or_else(|| StoreError::InvalidArgument {
                message: format!("unknown run status `{s}`"),
                hint: format!(
                    "use one of: {}",
                    names(RunStatus::ALL.map(RunStatus::as_str))
                ),
            })
    }
}

fn names<const N: usize>(all: [&str; N]) -> String {
    all.join(", ")
}

/// One run's record without its (possibly large) JSON parameters and summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The run's id.
    pub id: RunId,
    /// What it measured.
    pub kind: RunKind,
    /// What it measured it on: an endpoint URL, a GGUF path, a machine, a model id.
    pub target: String,
    /// Where it stands.
    pub status: RunStatus,
    /// When it started, UTC, RFC 3339 with milliseconds (`2026-05-01T12:00:00.123Z`).
    pub started_at: String,
    /// When it finished (or was marked incomplete), in the same format.
    pub finished_at: Option<String>,
    /// The sizewise version that recorded it.
    pub tool_version: String,
    /// The host name of the machine that recorded it, when known.
    pub host: Option<String>,
    /// Free-form notes.
    pub notes: Option<String>,
    /// How many rows (requests or samples) it holds.
    pub row_count: u64,
}

/// A whole run record: its info, the parameters it ran with and its summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// The run's record (serialized flat, beside `params` and `summary`).
    #[serde(flatten)]
    pub info: RunInfo,
    /// The parameters it ran with, as given to [`crate::Store::start_run`].
    pub params: Value,
    /// The summary given to [`crate::Store::finish_run`], if any.
    pub summary: Option<Value>,
}

/// The format of [`crate::Store::export`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// `{"run": {...}, "rows": [...]}`.
    Json,
    /// One header line, then one line per row; columns are the union of the rows' top-level
    /// keys, in order of first appearance; nested values are JSON-encoded in their cell.
    Csv,
}

impl FromStr for ExportFormat {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(ExportFormat::Json),
            "csv" => Ok(ExportFormat::Csv),
            _ => Err(StoreError::InvalidArgument {
                message: format!("unknown export format `{s}`"),
                hint: "use json or csv".into(),
            }),
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_text_and_serde() {
        for k in RunKind::ALL {
            assert_eq!(k.as_str().parse::<RunKind>().unwrap(), k);
            assert_eq!(serde_json::to_value(k).unwrap(), Value::from(k.as_str()));
        }
        assert_eq!(
            "engine_bench".parse::<RunKind>().unwrap(),
            RunKind::EngineBench
        );
        let e = "nope".parse::<RunKind>().unwrap_err().to_string();
        assert!(
            e.contains("nope") && e.contains("hint: use one of: bench"),
            "{e}"
        );
    }

    #[test]
    fn statuses_and_formats_parse() {
        for s in RunStatus::ALL {
            assert_eq!(s.as_str().parse::<RunStatus>().unwrap(), s);
        }
        assert_eq!("CSV".parse::<ExportFormat>().unwrap(), ExportFormat::Csv);
        assert!("xml".parse::<ExportFormat>().is_err());
    }

    #[test]
    fn run_ids_parse() {
        assert_eq!("#12".parse::<RunId>().unwrap(), RunId(12));
        assert!("0".parse::<RunId>().is_err());
        assert!("abc".parse::<RunId>().is_err());
    }
}
