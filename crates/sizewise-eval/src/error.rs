//! The error type of the crate: every variant names the file (or suite) and, where there is
//! one, the item it is about.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Result with [`EvalError`].
pub type Result<T, E = EvalError> = std::result::Result<T, E>;

/// Which item of a suite file an error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRef {
    /// Position among the suite's items (0-based, file order).
    pub index: usize,
    /// The item's id, when it could be read.
    pub id: Option<String>,
    /// Line of a JSONL items file (1-based), when the item came from one.
    pub line: Option<usize>,
}

impl ItemRef {
    /// The item at `index`, with its id when known.
    pub fn new(index: usize, id: Option<&str>) -> Self {
        Self {
            index,
            id: id.map(str::to_owned),
            line: None,
        }
    }
}

impl fmt::Display for ItemRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "item {}", self.index)?;
        match (&self.id, self.line) {
            (Some(id), Some(line)) => write!(f, " (id {id:?}, line {line})"),
            (Some(id), None) => write!(f, " (id {id:?})"),
            (None, Some(line)) => write!(f, " (line {line})"),
            (None, None) => Ok(()),
        }
    }
}

/// Everything that can go wrong while reading suites, preparing prompts and scoring.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// A suite or items file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },

    /// A suite file is not valid JSON.
    #[error("{file}: not valid JSON: {source}")]
    Json {
        /// The file.
        file: String,
        /// The parser's error (it carries line and column).
        source: serde_json::Error,
    },

    /// One line of a JSONL items file is not valid JSON.
    #[error("{file}: {item}: not valid JSON: {source}")]
    ItemJson {
        /// The items file.
        file: String,
        /// The item (its line).
        item: ItemRef,
        /// The parser's error.
        source: serde_json::Error,
    },

    /// The file is neither a sizewise suite nor a BIG-bench task.
    #[error(
        "{file}: neither a sizewise suite (a \"sizewise_suite\" key) nor a BIG-bench task (an \"examples\" key)"
    )]
    UnknownFormat {
        /// The file.
        file: String,
    },

    /// Something about the suite as a whole is wrong (an unknown key, kind or metric, a missing
    /// prompt, no items...).
    #[error("{file}: {problem}")]
    Suite {
        /// The suite file.
        file: String,
        /// What is wrong.
        problem: String,
    },

    /// One item is wrong (a missing target, a target not among the labels, a duplicate id...).
    #[error("{file}: {item}: {problem}")]
    Item {
        /// The file the item is in.
        file: String,
        /// The item.
        item: ItemRef,
        /// What is wrong.
        problem: String,
    },

    /// No built-in suite has this id.
    #[error("no built-in suite is called {id:?}; the built-in suites are {known}")]
    UnknownBuiltin {
        /// The id asked for.
        id: String,
        /// The ids there are, comma separated.
        known: String,
    },

    /// More few-shot examples were asked for than the suite has other items.
    #[error(
        "suite {suite} ({file}): {shots} few-shot examples asked for, but item {item:?} has only {available} other items to draw from"
    )]
    TooManyShots {
        /// The suite's id.
        suite: String,
        /// The suite's file.
        file: String,
        /// The first item that could not get its examples.
        item: String,
        /// Shots asked for.
        shots: u32,
        /// Items there are to draw from.
        available: usize,
    },

    /// A number of log-probabilities that does not match the item's candidates.
    #[error(
        "suite {suite} ({file}): item {item:?}: {got} log-probabilities given for {expected} candidate answers"
    )]
    LogprobCount {
        /// The suite's id.
        suite: String,
        /// The suite's file.
        file: String,
        /// The item's id.
        item: String,
        /// Candidates the item has.
        expected: usize,
        /// Log-probabilities given.
        got: usize,
    },

    /// Log-probability scoring of a suite whose answers are not a fixed set of candidates.
    #[error(
        "suite {suite} ({file}): answer kind {kind} has no candidate answers to score by log-probability (label and choice suites have)"
    )]
    NotMultipleChoice {
        /// The suite's id.
        suite: String,
        /// The suite's file.
        file: String,
        /// The suite's answer kind.
        kind: &'static str,
    },

    /// A scored item that is not (or no longer) in the suite it is summarized with.
    #[error("suite {suite} ({file}): scored item {index} ({id:?}) is not an item of this suite")]
    ForeignItem {
        /// The suite's id.
        suite: String,
        /// The suite's file.
        file: String,
        /// The scored item's index.
        index: usize,
        /// The scored item's id.
        id: String,
    },

    /// Nothing to summarize or compare.
    #[error("{what}: no items to summarize")]
    Empty {
        /// What was empty.
        what: String,
    },

    /// A paired comparison of two runs that did not score the same number of items, or with
    /// no resamples.
    #[error("paired bootstrap: {problem}")]
    Paired {
        /// What is wrong.
        problem: String,
    },
}
