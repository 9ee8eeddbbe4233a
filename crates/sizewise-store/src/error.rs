//! The error type of the store: every variant says what failed, where, and what to do.

use std::io;
use std::path::PathBuf;

use crate::model::RunId;

/// Everything that can go wrong in the results store.
///
/// Each message names the store's path or the run it concerns, and most end with a
/// `hint:` line that tells the user what to do next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No per-user data folder is known on this system, so there is no default store path.
    #[error(
        "no user data folder is known on this system, so the results store has no default place\n  hint: pass --store PATH"
    )]
    NoDataDir,

    /// The folder that should hold the store could not be created.
    #[error(
        "cannot create the folder {path} for the results store: {source}\n  hint: check its permissions, or pass --store PATH"
    )]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },

    /// SQLite could not open (or set up) the file.
    #[error("cannot open the results store {path}: {source}\n  hint: {hint}")]
    Open {
        /// The store's path.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
        /// What to do about it.
        hint: &'static str,
    },

    /// The file exists but is not a sizewise results store (not SQLite, corrupted, or
    /// another program's database).
    #[error(
        "{path} is not a sizewise results store: {reason}\n  hint: move the file away (sizewise will create a new store), or pass --store PATH"
    )]
    NotAStore {
        /// The store's path.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },

    /// The store was written by a newer sizewise whose schema this build does not know.
    #[error(
        "the results store {path} has schema version {found}, newer than this sizewise knows (up to {supported})\n  hint: upgrade sizewise, or pass --store PATH to use another store"
    )]
    SchemaTooNew {
        /// The store's path.
        path: PathBuf,
        /// The version found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },

    /// A schema migration failed; the store was left at its previous version.
    #[error(
        "cannot upgrade the results store {path} to schema version {version}: {source}\n  hint: the store was left unchanged; check free disk space and permissions"
    )]
    Migration {
        /// The store's path.
        path: PathBuf,
        /// The version that failed.
        version: i64,
        /// The SQLite error.
        source: rusqlite::Error,
    },

    /// Another process held the store locked for longer than the busy timeout.
    #[error(
        "the results store {path} stayed locked by another process while {context}\n  hint: wait for the other sizewise command to finish, then retry"
    )]
    Busy {
        /// The store's path.
        path: PathBuf,
        /// What was being done.
        context: String,
    },

    /// No run has this id.
    #[error("no run {id} in the results store\n  hint: `sizewise runs` lists the stored runs")]
    RunNotFound {
        /// The id asked for.
        id: RunId,
    },

    /// A caller passed a value the store does not accept.
    #[error("{message}\n  hint: {hint}")]
    InvalidArgument {
        /// What is wrong.
        message: String,
        /// What to do.
        hint: String,
    },

    /// A value read from the store does not have the expected shape.
    #[error(
        "the results store {path} holds an unreadable value ({context}): {message}\n  hint: the store may have been edited by hand or by a newer sizewise; upgrade sizewise or export and delete the run"
    )]
    BadData {
        /// The store's path.
        path: PathBuf,
        /// Where the value was found.
        context: String,
        /// What is wrong with it.
        message: String,
    },

    /// Any other SQLite error.
    #[error("results store {path}: SQLite error while {context}: {source}")]
    Sqlite {
        /// The store's path.
        path: PathBuf,
        /// What was being done.
        context: String,
        /// The SQLite error.
        source: rusqlite::Error,
    },

    /// A JSON value could not be encoded.
    #[error("cannot encode JSON while {context}: {source}")]
    Json {
        /// What was being done.
        context: String,
        /// The serde_json error.
        source: serde_json::Error,
    },

    /// Writing an export failed.
    #[error(
        "cannot write the export of run {id}: {source}\n  hint: check the output path and free disk space"
    )]
    Write {
        /// The run being exported.
        id: RunId,
        /// The I/O error.
        source: io::Error,
    },
}

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
