//! The PostgreSQL ledger: the same rows as SQLite's, plus a budget row per key that every
//! replica reserves against with one conditional `UPDATE`, so that replicas share budgets.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{Client, NoTls};

use super::{COLUMNS, Row, redact_password};
use crate::RouteError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sizewise_requests (
  id TEXT PRIMARY KEY,
  ts_ms BIGINT NOT NULL,
  key TEXT NOT NULL,
  requested TEXT NOT NULL,
  route TEXT NOT NULL,
  reason TEXT NOT NULL,
  tried TEXT NOT NULL,
  outcome TEXT NOT NULL,
  status INTEGER NOT NULL,
  error TEXT NOT NULL,
  stream BOOLEAN NOT NULL,
  prompt_tokens BIGINT NOT NULL,
  completion_tokens BIGINT NOT NULL,
  cost_usd DOUBLE PRECISION NOT NULL,
  large_cost_usd DOUBLE PRECISION NOT NULL,
  ttfb_ms DOUBLE PRECISION NOT NULL,
  total_ms DOUBLE PRECISION NOT NULL,
  overhead_ms DOUBLE PRECISION NOT NULL,
  pii TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sizewise_requests_key ON sizewise_requests(key);
CREATE TABLE IF NOT EXISTS sizewise_budgets (
  key TEXT PRIMARY KEY,
  spent DOUBLE PRECISION NOT NULL DEFAULT 0,
  reserved DOUBLE PRECISION NOT NULL DEFAULT 0
);
";

const INSERT: &str = "INSERT INTO sizewise_requests VALUES \
    ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19) \
    ON CONFLICT (id) DO NOTHING";

/// A lock id for schema creation, so replicas starting together do not race.
const SCHEMA_LOCK: i64 = 0x5153_5752_4c45_4447;

async fn connect(url: &str) -> Result<Client, String> {
    let (client, conn) =
        tokio::time::timeout(Duration::from_secs(10), tokio_postgres::connect(url, NoTls))
            .await
            .map_err(|_| "no answer within 10 s".to_string())?
            .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("sizewise route: the ledger database connection closed: {e}");
        }
    });
    Ok(client)
}

type Job = (Row, oneshot::Sender<Result<(), String>>);

/// A PostgreSQL ledger: a writer task that commits waiting rows together, and a client for
/// budgets.
#[derive(Debug)]
pub struct PostgresLedger {
    url: String,
    client: Client,
    tx: mpsc::UnboundedSender<Job>,
}

impl PostgresLedger {
    /// Connects, creates the tables if needed, and starts the writer.
    pub async fn connect(url: &str) -> Result<PostgresLedger, RouteError> {
        let shown = redact_password(url);
        let err = |e: String| {
            RouteError::Ledger(format!(
                "{shown}: {e}\n  hint: database_url takes postgres://USER:PASSWORD@HOST:PORT/DB (without TLS: a local or private network)"
            ))
        };
        let mut client = connect(url).await.map_err(err)?;
        let tx = client.transaction().await.map_err(|e| err(e.to_string()))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .await
            .map_err(|e| err(e.to_string()))?;
        tx.batch_execute(SCHEMA)
            .await
            .map_err(|e| err(e.to_string()))?;
        tx.commit().await.map_err(|e| err(e.to_string()))?;
        let writer = connect(url).await.map_err(err)?;
        let (jobs, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_loop(writer, url.to_string(), rx));
        Ok(PostgresLedger {
            url: url.to_string(),
            client,
            tx: jobs,
        })
    }

    /// The URL without its password.
    pub fn describe(&self) -> String {
        redact_password(&self.url)
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

    /// USD spent so far by each key (settled costs).
    pub async fn spent_by_key(&self) -> Result<Vec<(String, f64)>, RouteError> {
        let rows = self
            .client
            .query("SELECT key, spent FROM sizewise_budgets", &[])
            .await
            .map_err(|e| RouteError::Ledger(format!("{}: {e}", self.describe())))?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()
            .map_err(|e| RouteError::Ledger(format!("{}: sizewise_budgets: {e}", self.describe())))
    }

    /// Makes sure key `name` has a budget row.
    pub async fn ensure_key(&self, name: &str) -> Result<(), String> {
        self.client
            .execute(
                "INSERT INTO sizewise_budgets (key) VALUES ($1) ON CONFLICT (key) DO NOTHING",
                &[&name],
            )
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Reserves `usd` for key `name` if `budget` covers it, atomically across replicas: the
    /// row lock of the `UPDATE` orders concurrent reservations and each re-checks the sum.
    pub async fn reserve(&self, name: &str, usd: f64, budget: f64) -> Result<bool, String> {
        let n = self
            .client
            .execute(
                "UPDATE sizewise_budgets SET reserved = reserved + $2 \
                 WHERE key = $1 AND spent + reserved + $2 <= $3",
                &[&name, &usd, &budget],
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(n == 1)
    }

    /// Replaces a reservation by the real cost.
    pub async fn settle(&self, name: &str, reserved: f64, actual: f64) -> Result<(), String> {
        self.client
            .execute(
                "UPDATE sizewise_budgets SET reserved = GREATEST(reserved - $2, 0), \
                 spent = spent + $3 WHERE key = $1",
                &[&name, &reserved, &actual],
            )
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// USD key `name` has left of `budget` (spent and reserved taken off).
    pub async fn left(&self, name: &str, budget: f64) -> Result<f64, String> {
        let row = self
            .client
            .query_opt(
                "SELECT spent + reserved FROM sizewise_budgets WHERE key = $1",
                &[&name],
            )
            .await
            .map_err(|e| e.to_string())?;
        let used: f64 = match row {
            Some(r) => r.try_get(0).map_err(|e| e.to_string())?,
            None => 0.0,
        };
        Ok((budget - used).max(0.0))
    }
}

async fn write_loop(mut client: Client, url: String, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut batch: Vec<Job> = Vec::new();
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        if client.is_closed() {
            match connect(&url).await {
                Ok(c) => client = c,
                Err(e) => eprintln!(
                    "sizewise route: cannot reconnect to the ledger database {}: {e}",
                    redact_password(&url)
                ),
            }
        }
        let result = write_batch(&mut client, &batch)
            .await
            .map_err(|e| format!("{}: {e}", redact_password(&url)));
        if let Err(e) = &result {
            eprintln!("sizewise route: ledger write failed: {e}");
        }
        for (_, done) in batch.drain(..) {
            let _ = done.send(result.clone());
        }
    }
}

async fn write_batch(client: &mut Client, batch: &[Job]) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    let st = tx.prepare(INSERT).await?;
    for (r, _) in batch {
        let status = i32::from(r.status);
        let (p, c) = (r.prompt_tokens as i64, r.completion_tokens as i64);
        tx.execute(
            &st,
            &[
                &r.id,
                &r.ts_ms,
                &r.key,
                &r.requested,
                &r.route,
                &r.reason,
                &r.tried,
                &r.outcome,
                &status,
                &r.error,
                &r.stream,
                &p,
                &c,
                &r.cost_usd,
                &r.large_cost_usd,
                &r.ttfb_ms,
                &r.total_ms,
                &r.overhead_ms,
                &r.pii,
            ],
        )
        .await?;
    }
    tx.commit().await
}

/// Every row of the PostgreSQL ledger at `url`, oldest first.
pub async fn read_all_postgres(url: &str) -> Result<Vec<Row>, String> {
    let client = connect(url).await?;
    let rows = client
        .query(
            &format!("SELECT {COLUMNS} FROM sizewise_requests ORDER BY ts_ms, id"),
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    rows.iter()
        .map(|r| {
            Ok(Row {
                id: r.try_get(0)?,
                ts_ms: r.try_get(1)?,
                key: r.try_get(2)?,
                requested: r.try_get(3)?,
                route: r.try_get(4)?,
                reason: r.try_get(5)?,
                tried: r.try_get(6)?,
                outcome: r.try_get(7)?,
                status: u16::try_from(r.try_get::<_, i32>(8)?).unwrap_or(0),
                error: r.try_get(9)?,
                stream: r.try_get(10)?,
                prompt_tokens: r.try_get::<_, i64>(11)?.max(0) as u64,
                completion_tokens: r.try_get::<_, i64>(12)?.max(0) as u64,
                cost_usd: r.try_get(13)?,
                large_cost_usd: r.try_get(14)?,
                ttfb_ms: r.try_get(15)?,
                total_ms: r.try_get(16)?,
                overhead_ms: r.try_get(17)?,
                pii: r.try_get(18)?,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()
        .map_err(|e| e.to_string())
}
