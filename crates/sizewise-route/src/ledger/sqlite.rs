//! The SQLite ledger (WAL mode), written by one thread that commits whatever rows are
//! waiting in a single transaction.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use rusqlite::{Connection, params};
use tokio::sync::oneshot;

use super::{COLUMNS, Row};
use crate::RouteError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS requests (
  id TEXT PRIMARY KEY,
  ts_ms INTEGER NOT NULL,
  key TEXT NOT NULL,
  requested TEXT NOT NULL,
  route TEXT NOT NULL,
  reason TEXT NOT NULL,
  tried TEXT NOT NULL,
  outcome TEXT NOT NULL,
  status INTEGER NOT NULL,
  error TEXT NOT NULL,
  stream INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  large_cost_usd REAL NOT NULL,
  ttfb_ms REAL NOT NULL,
  total_ms REAL NOT NULL,
  overhead_ms REAL NOT NULL,
  pii TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_key ON requests(key);
";

fn open(path: &Path) -> Result<Connection, RouteError> {
    let err = |e: rusqlite::Error| RouteError::Ledger(format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| RouteError::Ledger(format!("{}: {e}", dir.display())))?;
    }
    let c = Connection::open(path).map_err(err)?;
    // WAL: readers (reports, other tools) never block the writer. NORMAL: a commit survives
    // the process being killed; only a power loss can take the last commits.
    c.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
    c.pragma_update(None, "synchronous", "NORMAL")
        .map_err(err)?;
    c.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(err)?;
    c.execute_batch(SCHEMA).map_err(err)?;
    Ok(c)
}

/// USD spent so far by each key, read at start so budgets carry across restarts.
pub fn spent_by_key(path: &Path) -> Result<Vec<(String, f64)>, RouteError> {
    let c = open(path)?;
    let err = |e: rusqlite::Error| RouteError::Ledger(format!("{}: {e}", path.display()));
    let mut st = c
        .prepare("SELECT key, SUM(cost_usd) FROM requests GROUP BY key")
        .map_err(err)?;
    let rows = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?)))
        .map_err(err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(err)
}

/// Every row, oldest first (for tests and `route eval`).
pub fn read_all(path: &Path) -> Result<Vec<Row>, RouteError> {
    let c = open(path)?;
    let err = |e: rusqlite::Error| RouteError::Ledger(format!("{}: {e}", path.display()));
    let mut st = c
        .prepare(&format!("SELECT {COLUMNS} FROM requests ORDER BY rowid"))
        .map_err(err)?;
    let rows = st
        .query_map([], |r| {
            Ok(Row {
                id: r.get(0)?,
                ts_ms: r.get(1)?,
                key: r.get(2)?,
                requested: r.get(3)?,
                route: r.get(4)?,
                reason: r.get(5)?,
                tried: r.get(6)?,
                outcome: r.get(7)?,
                status: r.get(8)?,
                error: r.get(9)?,
                stream: r.get(10)?,
                prompt_tokens: r.get::<_, i64>(11)?.max(0) as u64,
                completion_tokens: r.get::<_, i64>(12)?.max(0) as u64,
                cost_usd: r.get(13)?,
                large_cost_usd: r.get(14)?,
                ttfb_ms: r.get(15)?,
                total_ms: r.get(16)?,
                overhead_ms: r.get(17)?,
                pii: r.get(18)?,
            })
        })
        .map_err(err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(err)
}

type Job = (Row, oneshot::Sender<Result<(), String>>);

/// The writer's handle: send a row and wait until it is committed.
#[derive(Debug, Clone)]
pub struct SqliteLedger {
    tx: mpsc::Sender<Job>,
    path: PathBuf,
}

impl SqliteLedger {
    /// Opens (or creates) the ledger at `path` and starts its writer thread.
    pub fn open(path: &Path) -> Result<SqliteLedger, RouteError> {
        let conn = open(path)?;
        let (tx, rx) = mpsc::channel::<Job>();
        let p = path.to_path_buf();
        std::thread::Builder::new()
            .name("sizewise-ledger".into())
            .spawn(move || writer(conn, rx, &p))
            .map_err(|e| RouteError::Ledger(format!("cannot start the writer: {e}")))?;
        Ok(SqliteLedger {
            tx,
            path: path.to_path_buf(),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `row` and waits until it is committed.
    pub async fn commit(&self, row: Row) -> Result<(), String> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send((row, done))
            .map_err(|_| "the ledger writer has stopped".to_string())?;
        wait.await
            .map_err(|_| "the ledger writer has stopped".to_string())?
    }
}

fn writer(mut conn: Connection, rx: mpsc::Receiver<Job>, path: &Path) {
    let mut batch: Vec<Job> = Vec::new();
    while let Ok(first) = rx.recv() {
        batch.push(first);
        // Group commit: everything that arrived while the last one was written.
        while batch.len() < 1024 {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let result = write_batch(&mut conn, &batch).map_err(|e| format!("{}: {e}", path.display()));
        if let Err(e) = &result {
            eprintln!("sizewise route: ledger write failed: {e}");
        }
        for (_, done) in batch.drain(..) {
            let _ = done.send(result.clone());
        }
    }
}

fn write_batch(conn: &mut Connection, batch: &[Job]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut st = tx.prepare_cached(
            "INSERT OR REPLACE INTO requests VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19)",
        )?;
        for (r, _) in batch {
            st.execute(params![
                r.id,
                r.ts_ms,
                r.key,
                r.requested,
                r.route,
                r.reason,
                r.tried,
                r.outcome,
                r.status,
                r.error,
                r.stream,
                r.prompt_tokens as i64,
                r.completion_tokens as i64,
                r.cost_usd,
                r.large_cost_usd,
                r.ttfb_ms,
                r.total_ms,
                r.overhead_ms,
                r.pii,
            ])?;
        }
    }
    tx.commit()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rows_are_committed_and_spending_is_summed_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite");
        let l = SqliteLedger::open(&path).unwrap();
        // Concurrent commits, so the writer groups some of them in one transaction.
        let tasks: Vec<_> = (0..10u32)
            .map(|i| {
                let l = l.clone();
                let row = Row {
                    id: format!("r{i}"),
                    key: if i.is_multiple_of(2) { "a" } else { "b" }.into(),
                    cost_usd: 0.5,
                    ..Row::default()
                };
                tokio::spawn(async move { l.commit(row).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let rows = read_all(&path).unwrap();
        assert_eq!(rows.len(), 10);
        let mut spent = spent_by_key(&path).unwrap();
        spent.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(spent, vec![("a".into(), 2.5), ("b".into(), 2.5)]);
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite");
        std::fs::write(&path, b"this is not a database, it is text, long enough to matter....................................................").unwrap();
        let e = SqliteLedger::open(&path).unwrap_err().to_string();
        assert!(e.contains("l.sqlite"), "{e}");
    }
}
