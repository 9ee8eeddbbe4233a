//! The store's schema, as an ordered list of migrations.
//!
//! Migration `i` (0-based) takes the store from `PRAGMA user_version = i` to `i + 1`. Each runs
//! in one immediate transaction together with the version bump, so a store is always at a
//! version the code knows how to read. Never edit a released migration: append a new one.

/// The `PRAGMA application_id` written into every store ("SWST" in ASCII), so that another
/// program's SQLite file is recognised and refused instead of being written into.
pub const APPLICATION_ID: i64 = 0x5357_5354;

/// The ordered migrations. The store's schema version is the number of migrations applied.
pub const MIGRATIONS: &[&str] = &[
    // 1: runs and their rows.
    r#"
CREATE TABLE runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT    NOT NULL,
    target       TEXT    NOT NULL,
    params       TEXT    NOT NULL CHECK (json_valid(params)),
    summary      TEXT             CHECK (summary IS NULL OR json_valid(summary)),
    status       TEXT    NOT NULL DEFAULT 'running'
                         CHECK (status IN ('running', 'complete', 'incomplete', 'failed')),
    started_at   TEXT    NOT NULL,
    finished_at  TEXT,
    tool_version TEXT    NOT NULL,
    host         TEXT,
    notes        TEXT,
    row_count    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_kind_started ON runs (kind, started_at);
CREATE INDEX runs_started ON runs (started_at);

-- One measured request or sample of a run, with its timeline, as a JSON document.
CREATE TABLE requests (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    "row"  TEXT    NOT NULL,
    PRIMARY KEY (run_id, seq)
);
"#,
];

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}
