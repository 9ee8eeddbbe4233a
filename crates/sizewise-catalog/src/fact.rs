//! Provenance of catalog facts: per-field check status and labelled estimates.

use serde::{Deserialize, Serialize};

/// How far a catalog value has been checked against its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Read in the primary source (or a faithful copy of it).
    Verified,
    /// Taken from the cited source but not re-read against it yet.
    Unchecked,
    /// Computed from other cited values (the source says how).
    Derived,
}

impl Status {
    /// The word used in files and tables.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Verified => "verified",
            Status::Unchecked => "unchecked",
            Status::Derived => "derived",
        }
    }
}

/// A figure that is not an official fact (analyst estimate, press report, rough
/// market price). Kept apart from the facts so it is never shown as one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Estimate {
    /// The field this estimate stands in for, or an extra quantity it describes.
    pub field: String,
    /// The estimated value, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The estimate in words, when it is not one number ("yes, 16 experts").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Where the estimate comes from.
    pub source: String,
    /// What kind of estimate this is ("analyst estimate, low confidence", ...).
    pub kind: String,
}
