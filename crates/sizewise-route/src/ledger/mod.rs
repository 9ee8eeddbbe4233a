//! The usage ledger: one row per request, in SQLite (WAL) by default or in PostgreSQL when
//! `database_url` names one, so that several gateway replicas share budgets and accounting.
//!
//! A request's row is committed before its answer ends (the non-streamed body, or a
//! stream's `[DONE]`), so a client that got a whole answer has a settled row even if the
//! gateway is killed the next instant.

mod postgres;
mod sqlite;

use std::path::PathBuf;

pub use postgres::{PostgresLedger, read_all_postgres};
pub use sqlite::{SqliteLedger, read_all, spent_by_key};

use crate::RouteError;

/// Where the ledger lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerTarget {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (`postgres://user:password@host:port/db`).
    Postgres(String),
}

impl LedgerTarget {
    /// How to show it: the file, or the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            LedgerTarget::Sqlite(p) => p.display().to_string(),
            LedgerTarget::Postgres(u) => redact_password(u),
        }
    }
}

/// `postgres://user:secret@host/db` as `postgres://user:***@host/db`.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((cred, host)) => match cred.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// One request as the ledger keeps it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    /// Gateway request id (also sent as `x-sizewise-request-id`).
    pub id: String,
    /// Unix time of arrival, milliseconds.
    pub ts_ms: i64,
    /// Virtual key name (`-` without keys).
    pub key: String,
    /// `model` the client sent.
    pub requested: String,
    /// Upstream that answered (empty when none did).
    pub route: String,
    /// Why it went there.
    pub reason: String,
    /// Upstreams tried, in order, comma-separated.
    pub tried: String,
    /// `ok`, `error` (upstream failed), `rejected` (the gateway refused).
    pub outcome: String,
    /// HTTP status sent to the client.
    pub status: u16,
    /// What went wrong, if anything.
    pub error: String,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// Prompt tokens (the upstream's usage, else the gateway's count).
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// USD this request cost.
    pub cost_usd: f64,
    /// USD it would have cost on the always-large upstream.
    pub large_cost_usd: f64,
    /// Time to the first byte sent to the client, ms.
    pub ttfb_ms: f64,
    /// Whole request, ms.
    pub total_ms: f64,
    /// Time spent in the gateway itself (total minus upstream wait), ms.
    pub overhead_ms: f64,
    /// Kinds of personal data found, comma-separated.
    pub pii: String,
}

/// The ledger's columns in table order, for reads.
pub(crate) const COLUMNS: &str = "id, ts_ms, key, requested, route, reason, tried, outcome, status, \
    error, stream, prompt_tokens, completion_tokens, cost_usd, large_cost_usd, ttfb_ms, total_ms, \
    overhead_ms, pii";

/// The ledger a gateway writes to.
#[derive(Debug, Clone)]
pub enum Ledger {
    /// SQLite, with budgets kept in the gateway's memory.
    Sqlite(SqliteLedger),
    /// PostgreSQL, with budgets kept in the database and shared by every replica.
    Postgres(std::sync::Arc<PostgresLedger>),
}

impl Ledger {
    /// Opens the ledger `target` names, creating its tables.
    pub async fn open(target: &LedgerTarget) -> Result<Ledger, RouteError> {
        Ok(match target {
            LedgerTarget::Sqlite(p) => Ledger::Sqlite(SqliteLedger::open(p)?),
            LedgerTarget::Postgres(u) => {
                Ledger::Postgres(std::sync::Arc::new(PostgresLedger::connect(u).await?))
            }
        })
    }

    /// Writes `row` and waits until it is committed.
    pub async fn commit(&self, row: Row) -> Result<(), String> {
        match self {
            Ledger::Sqlite(l) => l.commit(row).await,
            Ledger::Postgres(l) => l.commit(row).await,
        }
    }

    /// USD spent so far by each key.
    pub async fn spent_by_key(&self) -> Result<Vec<(String, f64)>, RouteError> {
        match self {
            Ledger::Sqlite(l) => spent_by_key(l.path()),
            Ledger::Postgres(l) => l.spent_by_key().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_do_not_show() {
        assert_eq!(
            redact_password("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(redact_password("postgres://db/x"), "postgres://db/x");
    }
}
