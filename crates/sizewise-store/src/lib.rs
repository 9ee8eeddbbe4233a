//! The results store of sizewise: every measurement run (a bench of an endpoint, a probe of
//! the machine, an engine bench of a GGUF file, an eval, a calibration) with its per-request
//! rows, in one SQLite file.
//!
//! ```no_run
//! use sizewise_store::{RunKind, RunStatus, Store};
//! # fn main() -> Result<(), sizewise_store::StoreError> {
//! let store = Store::open(Store::default_path()?)?;
//! let run = store.begin(RunKind::Bench, "http://localhost:8080", &serde_json::json!({"rate": 4}), "0.1.0")?;
//! run.add_rows(&[serde_json::json!({"ttft_ms": 120.5, "output_tokens": 64})])?;
//! run.finish(RunStatus::Complete, Some(&serde_json::json!({"p50_ttft_ms": 120.5})))?;
//! # Ok(()) }
//! ```
//!
//! The file is opened in WAL mode with a busy timeout and foreign keys on, so several
//! processes may write to it at once. The schema is versioned (`PRAGMA user_version`) and
//! migrated forward on open; a store from a newer sizewise is refused with a clear error.

mod error;
mod export;
mod guard;
mod model;
mod schema;
mod store;

pub use error::{Result, StoreError};
pub use guard::RunGuard;
pub use model::{ExportFormat, Run, RunId, RunInfo, RunKind, RunStatus};
pub use schema::latest_version as schema_version;
pub use store::{BUSY_TIMEOUT, Store};
