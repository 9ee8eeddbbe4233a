//! Errors of the catalog: bad files (with path, line and field) and unknown ids.

use std::path::PathBuf;

/// Everything that can go wrong when loading or querying the catalog.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A catalog file could not be read.
    #[error("cannot read catalog file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A catalog file is not valid TOML or does not match the schema.
    #[error("{path}:{line}:{column}: {message}{}\n  hint: {hint}", field.as_ref().map(|f| format!(" (field `{f}`)")).unwrap_or_default())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// The field concerned, when known.
        field: Option<String>,
        /// What is wrong.
        message: String,
        /// What to do about it.
        hint: String,
    },
    /// No model has this id.
    #[error(
        "unknown model `{id}`{}\n  hint: `sizewise models` lists every id; add your own with --catalog DIR (see docs/CATALOG.md)",
        did_you_mean(suggestions)
    )]
    UnknownModel {
        /// The id asked for.
        id: String,
        /// Close ids.
        suggestions: Vec<String>,
    },
    /// No hardware has this id.
    #[error(
        "unknown hardware `{id}`{}\n  hint: `sizewise hardware` lists every id; add your own with --catalog DIR (see docs/CATALOG.md)",
        did_you_mean(suggestions)
    )]
    UnknownHardware {
        /// The id asked for.
        id: String,
        /// Close ids.
        suggestions: Vec<String>,
    },
}

fn did_you_mean(s: &[String]) -> String {
    match s {
        [] => String::new(),
        [one] => format!("; did you mean `{one}`?"),
        many => format!(
            "; did you mean one of: {}?",
            many.iter()
                .map(|x| format!("`{x}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
