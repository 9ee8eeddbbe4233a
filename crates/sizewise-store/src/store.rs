//! [`Store`]: opening, migrating, and reading and writing runs and rows.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{
    Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior, params,
};
use serde_json::Value;

use crate::error::{Result, StoreError};
use crate::guard::RunGuard;
use crate::model::{Run, RunId, RunInfo, RunKind, RunStatus};
use crate::schema::{APPLICATION_ID, MIGRATIONS, latest_version};

/// How long a write waits for another process's lock before it gives up with
/// [`StoreError::Busy`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The current UTC time as RFC 3339 with milliseconds, computed by SQLite.
const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

const INFO_COLUMNS: &str =
    "id, kind, target, status, started_at, finished_at, tool_version, host, notes, row_count";

/// The results store: one SQLite file holding every run and its rows.
///
/// A `Store` is one connection; it is `Send` but not `Sync`. Open one per thread or process:
/// the file is in WAL mode with a busy timeout, so several handles may write at once.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The default place of the store: `<user data folder>/sizewise/results.sqlite3`
    /// (for example `~/.local/share/sizewise/results.sqlite3` on Linux). Callers let the user
    /// override it (`--store PATH`).
    pub fn default_path() -> Result<PathBuf> {
        dirs::data_dir()
            .map(|d| d.join("sizewise").join("results.sqlite3"))
            .ok_or(StoreError::NoDataDir)
    }

    /// Opens the store at `path`, creating the file and its parent folders if needed, and
    /// migrates its schema to the newest version.
    ///
    /// Fails with [`StoreError::NotAStore`] when the file is not SQLite, is corrupted or
    /// belongs to another program, and with [`StoreError::SchemaTooNew`] when a newer sizewise
    /// wrote it. Never panics on any file content.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        if path.is_dir() {
            return Err(StoreError::NotAStore {
                path: path.to_path_buf(),
                reason: "it is a folder".into(),
            });
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            hint: open_hint(&source),
            source,
        })?;
        Store::setup(conn, path.to_path_buf(), true)
    }

    /// Opens a fresh store in memory, for tests and dry runs. Nothing is written to disk.
    pub fn open_in_memory() -> Result<Store> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: path.clone(),
            hint: "SQLite could not allocate an in-memory database",
            source,
        })?;
        Store::setup(conn, path, false)
    }

    fn setup(mut conn: Connection, path: PathBuf, wal: bool) -> Result<Store> {
        let setting = |e| classify(&path, "setting up the connection", e);
        conn.busy_timeout(BUSY_TIMEOUT).map_err(setting)?;
        // The first read of the file: garbage or a corrupted header fails here.
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| classify(&path, "reading the schema", e))?;
        let app_id: i64 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(|e| classify(&path, "reading the application id", e))?;
        if app_id != 0 && app_id != APPLICATION_ID {
            return Err(StoreError::NotAStore {
                path,
                reason: format!(
                    "it is a SQLite database of another program (application_id {app_id:#010x})"
                ),
            });
        }
        let version =
            user_version(&conn).map_err(|e| classify(&path, "reading the schema version", e))?;
        if version > latest_version() {
            return Err(StoreError::SchemaTooNew {
                path,
                found: version,
                supported: latest_version(),
            });
        }
        if version == 0 && tables > 0 {
            return Err(StoreError::NotAStore {
                path,
                reason: format!(
                    "it is a SQLite database with {tables} table(s) but no sizewise schema"
                ),
            });
        }
        if wal {
            // Returns the mode in effect; a file system without shared memory may refuse WAL
            // and keep the rollback journal, which is slower but still correct.
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
                .map_err(setting)?;
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(setting)?;
        }
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(setting)?;
        // Take the write lock at BEGIN, so that the busy timeout applies to every write
        // transaction (a deferred one that upgrades can fail at once under WAL).
        conn.set_transaction_behavior(TransactionBehavior::Immediate);
        let store = Store { conn, path };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&self) -> Result<()> {
        let latest = latest_version();
        let current =
            user_version(&self.conn).map_err(|e| self.err("reading the schema version", e))?;
        if current == latest {
            return Ok(());
        }
        let tx = self.write("upgrading the schema")?;
        // Read again under the write lock: another process may have migrated meanwhile.
        let current = user_version(&tx).map_err(|e| self.err("reading the schema version", e))?;
        if current > latest {
            return Err(StoreError::SchemaTooNew {
                path: self.path.clone(),
                found: current,
                supported: latest,
            });
        }
        apply_migrations(&tx, current, MIGRATIONS).map_err(|(version, source)| {
            StoreError::Migration {
                path: self.path.clone(),
                version,
                source,
            }
        })?;
        if current == 0 {
            tx.pragma_update(None, "application_id", APPLICATION_ID)
                .map_err(|e| self.err("writing the application id", e))?;
        }
        tx.commit()
            .map_err(|e| self.err("committing the schema upgrade", e))
    }

    /// The store's path (`:memory:` for an in-memory store).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The store's schema version (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64> {
        user_version(&self.conn).map_err(|e| self.err("reading the schema version", e))
    }

    /// Records the start of a run and returns its id. The run is `running` until
    /// [`Store::finish_run`] or [`Store::mark_incomplete`]; the host name is recorded too.
    pub fn start_run(
        &self,
        kind: RunKind,
        target: &str,
        params: &Value,
        tool_version: &str,
    ) -> Result<RunId> {
        let params = to_json(params, "encoding the run's parameters")?;
        let sql = format!(
            "INSERT INTO runs (kind, target, params, status, started_at, tool_version, host) \
             VALUES (?1, ?2, ?3, 'running', {NOW}, ?4, ?5) RETURNING id"
        );
        let context = "recording the start of a run";
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(|e| self.err(context, e))?;
        let id = stmt
            .query_row(
                params![kind.as_str(), target, params, tool_version, host_name()],
                |r| r.get(0),
            )
            .map_err(|e| self.err(context, e))?;
        Ok(RunId(id))
    }

    /// Like [`Store::start_run`], but returns a [`RunGuard`] that marks the run incomplete if
    /// it is dropped before [`RunGuard::finish`] (an error, a panic, Ctrl-C handled by
    /// unwinding), so that an interrupted run keeps its rows.
    pub fn begin(
        &self,
        kind: RunKind,
        target: &str,
        params: &Value,
        tool_version: &str,
    ) -> Result<RunGuard<'_>> {
        let id = self.start_run(kind, target, params, tool_version)?;
        Ok(RunGuard::new(self, id))
    }

    /// Appends rows (measured requests or samples, each a JSON value with its timeline) to a
    /// run, in one transaction. Their `seq` numbers continue after the run's last row.
    pub fn add_rows(&self, id: RunId, rows: &[Value]) -> Result<()> {
        let context = "adding rows to a run";
        let tx = self.write(context)?;
        let next: Option<i64> = tx
            .query_row(
                "SELECT (SELECT COALESCE(MAX(seq) + 1, 0) FROM requests WHERE run_id = ?1) \
                 FROM runs WHERE id = ?1",
                [id.0],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(context, e))?;
        let Some(next) = next else {
            return Err(StoreError::RunNotFound { id });
        };
        if rows.is_empty() {
            return Ok(());
        }
        {
            let mut insert = tx
                .prepare_cached(r#"INSERT INTO requests (run_id, seq, "row") VALUES (?1, ?2, ?3)"#)
                .map_err(|e| self.err(context, e))?;
            for (seq, row) in (next..).zip(rows) {
                let text = to_json(row, "encoding a row")?;
                insert
                    .execute(params![id.0, seq, text])
                    .map_err(|e| self.err(context, e))?;
            }
        }
        tx.execute(
            "UPDATE runs SET row_count = row_count + ?2 WHERE id = ?1",
            params![id.0, rows.len() as i64],
        )
        .map_err(|e| self.err(context, e))?;
        tx.commit().map_err(|e| self.err(context, e))
    }

    /// Ends a run with `status` (`complete`, `incomplete` or `failed`) and, if given, its
    /// summary (a summary given earlier is kept when `summary` is `None`).
    pub fn finish_run(&self, id: RunId, status: RunStatus, summary: Option<&Value>) -> Result<()> {
        if status == RunStatus::Running {
            return Err(StoreError::InvalidArgument {
                message: format!("run {id} cannot be finished with status `running`"),
                hint: "finish it as complete, incomplete or failed".into(),
            });
        }
        let summary = summary
            .map(|s| to_json(s, "encoding the run's summary"))
            .transpose()?;
        let sql = format!(
            "UPDATE runs SET status = ?2, summary = COALESCE(?3, summary), finished_at = {NOW} \
             WHERE id = ?1"
        );
        let changed = self
            .conn
            .execute(&sql, params![id.0, status.as_str(), summary])
            .map_err(|e| self.err("finishing a run", e))?;
        if changed == 0 {
            return Err(StoreError::RunNotFound { id });
        }
        Ok(())
    }

    /// Marks a `running` run `incomplete` (for Ctrl-C or a crash); its rows are kept.
    /// Returns `false`, changing nothing, when the run had already finished.
    pub fn mark_incomplete(&self, id: RunId) -> Result<bool> {
        let sql = format!(
            "UPDATE runs SET status = 'incomplete', finished_at = {NOW} \
             WHERE id = ?1 AND status = 'running'"
        );
        let changed = self
            .conn
            .execute(&sql, [id.0])
            .map_err(|e| self.err("marking a run incomplete", e))?;
        if changed == 0 && !self.exists(id)? {
            return Err(StoreError::RunNotFound { id });
        }
        Ok(changed > 0)
    }

    /// Sets (or, with `None`, clears) a run's free-form notes.
    pub fn set_notes(&self, id: RunId, notes: Option<&str>) -> Result<()> {
        let changed = self
            .conn
            .execute(
                "UPDATE runs SET notes = ?2 WHERE id = ?1",
                params![id.0, notes],
            )
            .map_err(|e| self.err("setting a run's notes", e))?;
        if changed == 0 {
            return Err(StoreError::RunNotFound { id });
        }
        Ok(())
    }

    /// Lists runs, newest first, optionally only those of one kind, at most `limit` of them
    /// (`None`: all).
    pub fn list_runs(&self, kind: Option<RunKind>, limit: Option<usize>) -> Result<Vec<RunInfo>> {
        let context = "listing runs";
        let limit = limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let filter = if kind.is_some() {
            "WHERE kind = ?2"
        } else {
            "WHERE ?2 IS NULL"
        };
        let sql = format!(
            "SELECT {INFO_COLUMNS} FROM runs {filter} ORDER BY started_at DESC, id DESC LIMIT ?1"
        );
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(|e| self.err(context, e))?;
        let raws = stmt
            .query_map(params![limit, kind.map(RunKind::as_str)], RawInfo::read)
            .map_err(|e| self.err(context, e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(context, e))?;
        raws.into_iter()
            .map(|raw| raw.into_info(&self.path))
            .collect()
    }

    /// One run's full record, or `None` when no run has this id.
    pub fn get_run(&self, id: RunId) -> Result<Option<Run>> {
        let context = "reading a run";
        let sql = format!("SELECT {INFO_COLUMNS}, params, summary FROM runs WHERE id = ?1");
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(|e| self.err(context, e))?;
        let raw = stmt
            .query_row([id.0], |r| {
                Ok((
                    RawInfo::read(r)?,
                    r.get::<_, String>(10)?,
                    r.get::<_, Option<String>>(11)?,
                ))
            })
            .optional()
            .map_err(|e| self.err(context, e))?;
        let Some((raw, params, summary)) = raw else {
            return Ok(None);
        };
        let params = self.parse(&params, &format!("parameters of run {id}"))?;
        let summary = summary
            .map(|s| self.parse(&s, &format!("summary of run {id}")))
            .transpose()?;
        Ok(Some(Run {
            info: raw.into_info(&self.path)?,
            params,
            summary,
        }))
    }

    /// All rows of a run, in the order they were added.
    pub fn rows(&self, id: RunId) -> Result<Vec<Value>> {
        let mut rows = Vec::new();
        self.for_each_row(id, |_, row| {
            rows.push(row);
            Ok(())
        })?;
        Ok(rows)
    }

    /// Calls `f(seq, row)` for each row of a run in order, without holding them all in
    /// memory. Stops at the first error `f` returns.
    pub fn for_each_row(
        &self,
        id: RunId,
        mut f: impl FnMut(i64, Value) -> Result<()>,
    ) -> Result<()> {
        let context = "reading a run's rows";
        if !self.exists(id)? {
            return Err(StoreError::RunNotFound { id });
        }
        let mut stmt = self
            .conn
            .prepare_cached(r#"SELECT seq, "row" FROM requests WHERE run_id = ?1 ORDER BY seq"#)
            .map_err(|e| self.err(context, e))?;
        let mut cursor = stmt.query([id.0]).map_err(|e| self.err(context, e))?;
        while let Some(r) = cursor.next().map_err(|e| self.err(context, e))? {
            let seq: i64 = r.get(0).map_err(|e| self.err(context, e))?;
            let text: String = r.get(1).map_err(|e| self.err(context, e))?;
            f(seq, self.parse(&text, &format!("row {seq} of run {id}"))?)?;
        }
        Ok(())
    }

    /// The most recently started run of a kind, whatever its status.
    pub fn latest(&self, kind: RunKind) -> Result<Option<RunId>> {
        self.latest_where(kind, None)
    }

    /// The most recently started run of a kind that has this status (for example the last
    /// `complete` bench to compare against).
    pub fn latest_with_status(&self, kind: RunKind, status: RunStatus) -> Result<Option<RunId>> {
        self.latest_where(kind, Some(status))
    }

    fn latest_where(&self, kind: RunKind, status: Option<RunStatus>) -> Result<Option<RunId>> {
        let sql = "SELECT id FROM runs WHERE kind = ?1 AND (?2 IS NULL OR status = ?2) \
                   ORDER BY started_at DESC, id DESC LIMIT 1";
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| {
                s.query_row(params![kind.as_str(), status.map(RunStatus::as_str)], |r| {
                    r.get(0)
                })
                .optional()
            })
            .map(|id| id.map(RunId))
            .map_err(|e| self.err("finding the latest run", e))
    }

    /// Deletes a run and all its rows. Returns `false` when no run had this id.
    pub fn delete_run(&self, id: RunId) -> Result<bool> {
        let context = "deleting a run";
        let tx = self.write(context)?;
        // The foreign key cascades, but deleting the rows first by key is as fast and does
        // not depend on `PRAGMA foreign_keys`.
        tx.execute("DELETE FROM requests WHERE run_id = ?1", [id.0])
            .map_err(|e| self.err(context, e))?;
        let changed = tx
            .execute("DELETE FROM runs WHERE id = ?1", [id.0])
            .map_err(|e| self.err(context, e))?;
        tx.commit().map_err(|e| self.err(context, e))?;
        Ok(changed > 0)
    }

    /// Whether a run with this id exists.
    pub fn exists(&self, id: RunId) -> Result<bool> {
        self.conn
            .prepare_cached("SELECT 1 FROM runs WHERE id = ?1")
            .and_then(|mut s| s.exists([id.0]))
            .map_err(|e| self.err("looking up a run", e))
    }

    /// Begins a write transaction (immediate: it waits for other writers up to the busy
    /// timeout).
    fn write(&self, context: &str) -> Result<Transaction<'_>> {
        Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(|e| self.err(context, e))
    }

    pub(crate) fn err(&self, context: &str, e: rusqlite::Error) -> StoreError {
        classify(&self.path, context, e)
    }

    fn parse(&self, text: &str, context: &str) -> Result<Value> {
        serde_json::from_str(text).map_err(|e| StoreError::BadData {
            path: self.path.clone(),
            context: context.to_string(),
            message: e.to_string(),
        })
    }
}

/// A `runs` record as read from SQL, before its kind and status are checked.
struct RawInfo {
    id: i64,
    kind: String,
    target: String,
    status: String,
    started_at: String,
    finished_at: Option<String>,
    tool_version: String,
    host: Option<String>,
    notes: Option<String>,
    row_count: i64,
}

impl RawInfo {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawInfo> {
        Ok(RawInfo {
            id: r.get(0)?,
            kind: r.get(1)?,
            target: r.get(2)?,
            status: r.get(3)?,
            started_at: r.get(4)?,
            finished_at: r.get(5)?,
            tool_version: r.get(6)?,
            host: r.get(7)?,
            notes: r.get(8)?,
            row_count: r.get(9)?,
        })
    }

    fn into_info(self, path: &Path) -> Result<RunInfo> {
        let bad = |what: &str, value: &str| StoreError::BadData {
            path: path.to_path_buf(),
            context: format!("{what} of run {}", self.id),
            message: format!("unknown value `{value}`"),
        };
        let kind = self.kind.parse().map_err(|_| bad("kind", &self.kind))?;
        let status = self
            .status
            .parse()
            .map_err(|_| bad("status", &self.status))?;
        Ok(RunInfo {
            id: RunId(self.id),
            kind,
            target: self.target,
            status,
            started_at: self.started_at,
            finished_at: self.finished_at,
            tool_version: self.tool_version,
            host: self.host,
            notes: self.notes,
            row_count: u64::try_from(self.row_count).unwrap_or(0),
        })
    }
}

/// Applies `migrations[current..]` in order inside the caller's transaction, bumping
/// `user_version` after each; on failure returns the version that failed.
fn apply_migrations(
    tx: &Connection,
    current: i64,
    migrations: &[&str],
) -> std::result::Result<(), (i64, rusqlite::Error)> {
    let start = usize::try_from(current).unwrap_or(0);
    for (index, sql) in migrations.iter().enumerate().skip(start) {
        let version = index as i64 + 1;
        tx.execute_batch(sql).map_err(|e| (version, e))?;
        tx.pragma_update(None, "user_version", version)
            .map_err(|e| (version, e))?;
    }
    Ok(())
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

fn to_json(value: &Value, context: &str) -> Result<String> {
    serde_json::to_string(value).map_err(|source| StoreError::Json {
        context: context.to_string(),
        source,
    })
}

fn host_name() -> Option<String> {
    gethostname::gethostname()
        .into_string()
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

fn open_hint(e: &rusqlite::Error) -> &'static str {
    match e.sqlite_error_code() {
        Some(ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
            "check the file's permissions, or pass --store PATH"
        }
        Some(ErrorCode::CannotOpen) => {
            "check that the folder exists and is writable, or pass --store PATH"
        }
        Some(ErrorCode::DiskFull) => "free some disk space",
        _ => "pass --store PATH to use another file",
    }
}

/// Turns a SQLite error into the store error that explains it best.
pub(crate) fn classify(path: &Path, context: &str, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError::NotAStore {
            path: path.to_path_buf(),
            reason: "the file is not a SQLite database".into(),
        },
        Some(ErrorCode::DatabaseCorrupt) => StoreError::NotAStore {
            path: path.to_path_buf(),
            reason: format!("the SQLite file is corrupted ({e})"),
        },
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy {
            path: path.to_path_buf(),
            context: context.to_string(),
        },
        Some(
            ErrorCode::PermissionDenied
            | ErrorCode::ReadOnly
            | ErrorCode::CannotOpen
            | ErrorCode::DiskFull
            | ErrorCode::SystemIoFailure,
        ) => StoreError::Open {
            path: path.to_path_buf(),
            hint: open_hint(&e),
            source: e,
        },
        _ => StoreError::Sqlite {
            path: path.to_path_buf(),
            context: context.to_string(),
            source: e,
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn migrations_apply_in_order_from_any_version_and_stop_at_a_failure() {
        let conn = Connection::open_in_memory().unwrap();
        let list = [
            "CREATE TABLE a (x);",
            "CREATE TABLE b (y);",
            "ALTER TABLE a ADD COLUMN z;",
        ];
        apply_migrations(&conn, 0, &list[..1]).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 1);
        apply_migrations(&conn, 1, &list).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 3);
        conn.execute("INSERT INTO a (x, z) VALUES (1, 2)", [])
            .unwrap();

        let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Immediate).unwrap();
        let (failed, _) = apply_migrations(
            &tx,
            3,
            &[list[0], list[1], list[2], "CREATE TABLE c (q);", "NOT SQL"],
        )
        .unwrap_err();
        assert_eq!(failed, 5);
        drop(tx); // rolls back: the version and table c are gone
        assert_eq!(user_version(&conn).unwrap(), 3);
        assert!(conn.prepare("SELECT * FROM c").is_err());
    }

    #[test]
    fn an_in_memory_store_is_migrated_and_marked_as_ours() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(store.schema_version().unwrap(), latest_version());
        let app: i64 = store
            .conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .unwrap();
        assert_eq!(app, APPLICATION_ID);
        let fk: i64 = store
            .conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        assert_eq!(store.path(), Path::new(":memory:"));
    }

    #[test]
    fn seq_numbers_continue_across_batches_and_rows_come_back_in_order() {
        let store = Store::open_in_memory().unwrap();
        let id = store
            .start_run(RunKind::Bench, "t", &json!({}), "0")
            .unwrap();
        store.add_rows(id, &[json!(0), json!(1)]).unwrap();
        store.add_rows(id, &[]).unwrap();
        store.add_rows(id, &[json!(2)]).unwrap();
        let mut seqs = Vec::new();
        store
            .for_each_row(id, |seq, row| {
                assert_eq!(row, json!(seq));
                seqs.push(seq);
                Ok(())
            })
            .unwrap();
        assert_eq!(seqs, [0, 1, 2]);
        assert_eq!(store.get_run(id).unwrap().unwrap().info.row_count, 3);
    }

    #[test]
    fn the_foreign_key_cascades_on_delete() {
        let store = Store::open_in_memory().unwrap();
        let id = store
            .start_run(RunKind::Bench, "t", &json!({}), "0")
            .unwrap();
        store.add_rows(id, &[json!({"a": 1})]).unwrap();
        store
            .conn
            .execute("DELETE FROM runs WHERE id = ?1", [id.0])
            .unwrap();
        let left: i64 = store
            .conn
            .query_row("SELECT count(*) FROM requests", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0);
        // A row for a run that does not exist is refused by the database too.
        let orphan = store.conn.execute(
            r#"INSERT INTO requests (run_id, seq, "row") VALUES (99, 0, '1')"#,
            [],
        );
        assert!(orphan.is_err());
    }

    #[test]
    fn a_bad_stored_value_is_a_clear_error_not_a_panic() {
        let store = Store::open_in_memory().unwrap();
        let id = store
            .start_run(RunKind::Bench, "t", &json!({}), "0")
            .unwrap();
        store
            .conn
            .execute("UPDATE runs SET kind = 'teleport' WHERE id = ?1", [id.0])
            .unwrap();
        let e = store.list_runs(None, None).unwrap_err().to_string();
        assert!(
            e.contains("teleport") && e.contains("upgrade sizewise"),
            "{e}"
        );
        store
            .conn
            .execute("UPDATE runs SET kind = 'bench' WHERE id = ?1", [id.0])
            .unwrap();
        store
            .conn
            .execute(
                r#"INSERT INTO requests (run_id, seq, "row") VALUES (?1, 0, '{broken')"#,
                [id.0],
            )
            .unwrap();
        let e = store.rows(id).unwrap_err();
        assert!(matches!(e, StoreError::BadData { .. }), "{e}");
    }

    #[test]
    fn sqlite_errors_are_classified() {
        let path = Path::new("/x/results.sqlite3");
        let err = |code| rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None);
        assert!(matches!(
            classify(path, "c", err(rusqlite::ffi::SQLITE_NOTADB)),
            StoreError::NotAStore { .. }
        ));
        assert!(matches!(
            classify(path, "c", err(rusqlite::ffi::SQLITE_CORRUPT)),
            StoreError::NotAStore { .. }
        ));
        let busy = classify(path, "adding rows", err(rusqlite::ffi::SQLITE_BUSY)).to_string();
        assert!(
            busy.contains("/x/results.sqlite3")
                && busy.contains("adding rows")
                && busy.contains("hint:"),
            "{busy}"
        );
        assert!(matches!(
            classify(path, "c", err(rusqlite::ffi::SQLITE_READONLY)),
            StoreError::Open { .. }
        ));
        assert!(matches!(
            classify(path, "c", err(rusqlite::ffi::SQLITE_ERROR)),
            StoreError::Sqlite { .. }
        ));
    }
}
