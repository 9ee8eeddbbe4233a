//! [`RunGuard`]: a run that is marked incomplete unless it is finished.

use serde_json::Value;

use crate::error::Result;
use crate::model::{RunId, RunStatus};
use crate::store::Store;

/// A started run that is marked `incomplete` when dropped unfinished.
///
/// Made by [`Store::begin`]. If the code that measures returns early with an error, panics,
/// or is cancelled (Ctrl-C handled by unwinding or by dropping a future), the guard's drop
/// marks the run `incomplete`, and every row already added stays in the store.
#[derive(Debug)]
#[must_use = "dropping the guard at once marks the run incomplete"]
pub struct RunGuard<'a> {
    store: &'a Store,
    id: RunId,
    finished: bool,
}

impl<'a> RunGuard<'a> {
    pub(crate) fn new(store: &'a Store, id: RunId) -> RunGuard<'a> {
        RunGuard {
            store,
            id,
            finished: false,
        }
    }

    /// The run's id.
    pub fn id(&self) -> RunId {
        self.id
    }

    /// The store the run lives in.
    pub fn store(&self) -> &'a Store {
        self.store
    }

    /// Appends rows to the run (see [`Store::add_rows`]).
    pub fn add_rows(&self, rows: &[Value]) -> Result<()> {
        self.store.add_rows(self.id, rows)
    }

    /// Ends the run (see [`Store::finish_run`]). If this fails, the guard still marks the run
    /// incomplete as it drops.
    pub fn finish(mut self, status: RunStatus, summary: Option<&Value>) -> Result<RunId> {
        self.store.finish_run(self.id, status, summary)?;
        self.finished = true;
        Ok(self.id)
    }

    /// Leaves the run `running` and gives up the guard, for a caller that finishes it later
    /// through [`Store::finish_run`].
    pub fn into_id(mut self) -> RunId {
        self.finished = true;
        self.id
    }
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        if !self.finished {
            // Nothing useful can be done with an error here (the store may be the very thing
            // that failed); the run then stays `running`, which `sizewise runs` shows.
            let _ = self.store.mark_incomplete(self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::{RunKind, RunStatus, Store};

    #[test]
    fn a_dropped_guard_marks_the_run_incomplete_and_keeps_its_rows() {
        let store = Store::open_in_memory().unwrap();
        let id = {
            let run = store.begin(RunKind::Bench, "t", &json!({}), "0").unwrap();
            run.add_rows(&[json!({"a": 1}), json!({"a": 2})]).unwrap();
            run.id()
        };
        let run = store.get_run(id).unwrap().unwrap();
        assert_eq!(run.info.status, RunStatus::Incomplete);
        assert!(run.info.finished_at.is_some());
        assert_eq!(store.rows(id).unwrap().len(), 2);
    }

    #[test]
    fn a_finished_guard_keeps_its_status() {
        let store = Store::open_in_memory().unwrap();
        let run = store
            .begin(RunKind::Probe, "host", &json!({}), "0")
            .unwrap();
        let id = run
            .finish(RunStatus::Failed, Some(&json!({"error": "x"})))
            .unwrap();
        let run = store.get_run(id).unwrap().unwrap();
        assert_eq!(run.info.status, RunStatus::Failed);
        assert_eq!(run.summary, Some(json!({"error": "x"})));
    }

    #[test]
    fn a_guard_is_dropped_during_a_panic() {
        let store = Store::open_in_memory().unwrap();
        let mut seen = None;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let run = store.begin(RunKind::Eval, "m", &json!({}), "0").unwrap();
            seen = Some(run.id());
            panic!("interrupted");
        }));
        assert!(result.is_err());
        let id = seen.unwrap();
        assert_eq!(
            store.get_run(id).unwrap().unwrap().info.status,
            RunStatus::Incomplete
        );
    }

    #[test]
    fn into_id_leaves_the_run_running() {
        let store = Store::open_in_memory().unwrap();
        let id = store
            .begin(RunKind::Calibration, "c", &json!({}), "0")
            .unwrap()
            .into_id();
        assert_eq!(
            store.get_run(id).unwrap().unwrap().info.status,
            RunStatus::Running
        );
    }
}
