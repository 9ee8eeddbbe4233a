//! `sizewise route`: one OpenAI-compatible endpoint in front of several upstreams (a local
//! small model and a cloud large one, say) that sends each request where the user's rules
//! say, explains every decision, counts the money, and loses no answer.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sizewise_route::RouteError> {
//! use sizewise_route::{Config, spawn};
//! let catalog = sizewise_catalog::Catalog::embedded()?;
//! let cfg = Config::load(std::path::Path::new("route.toml"), &catalog)?;
//! let gw = spawn(cfg).await?;
//! println!("send requests to {}", gw.base_url());
//! gw.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Decisions
//!
//! In order, each reported in the `x-sizewise-route` and `x-sizewise-reason` headers:
//!
//! 1. The client's `model`: `auto` lets the policy choose; an upstream's name pins it; any
//!    other name gets 404 with the choices.
//! 2. Hard constraints: personal data ([`privacy`]) goes only to local upstreams (or is
//!    redacted, as configured); the prompt, counted with each upstream's tokenizer, must fit
//!    its context window.
//! 3. The user's rules (task label, regex, message count, prompt length), first match wins;
//!    then, when configured, the learned difficulty score ([`difficulty`]) against a
//!    threshold calibrated to a share of large calls; else the default upstream.
//! 4. Budgets per virtual key: the largest possible cost is reserved before the call and
//!    settled from `usage` after; a key that cannot pay goes to a zero-cost upstream or gets
//!    429.
//!
//! With `[cascade]`, a request bound for the small upstream is answered by it first, whole;
//! an answer that fails a check (not JSON when JSON was asked, a refusal, a low mean
//! log-probability) goes to the large upstream instead, before any byte reached the client.
//!
//! An upstream that fails before its first byte (connection error, timeout, 5xx, 429, a
//! broken answer) hands the request to the next allowed upstream. A stream that fails after
//! it began ends with an explicit `data: {"error": ...}` event and no `[DONE]`.
//!
//! # Ledger
//!
//! One row per request ([`ledger::Row`]), committed before the answer ends: in SQLite by
//! default, in PostgreSQL when `database_url` names one, where budgets are kept too, so
//! several replicas share them.

pub mod cascade;
pub mod config;
pub mod curve;
pub mod difficulty;
pub mod keys;
pub mod ledger;
pub mod metrics;
pub mod policy;
pub mod privacy;
pub mod request;
mod server;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::Config;
pub use server::{Asker, DEFAULT_RESERVED_OUTPUT, Gateway, REASON_HEADER, ROUTE_HEADER};

/// Why the gateway cannot start or go on.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// The configuration file is wrong.
    #[error("{file}: {message}")]
    Config {
        /// The file.
        file: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The catalog did not load.
    #[error(transparent)]
    Catalog(#[from] sizewise_catalog::CatalogError),
    /// The ledger cannot be opened or written.
    #[error("ledger: {0}")]
    Ledger(String),
    /// TLS setup failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// Binding the socket failed.
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
}

/// How long requests in flight may go on after shutdown was asked.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `gateway` on `listener` until `shutdown` resolves.
pub async fn serve(
    gateway: Arc<Gateway>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) {
    sizewise_simulate::accept_loop(
        listener,
        move |req| server::handle(gateway.clone(), req),
        shutdown,
        SHUTDOWN_GRACE,
    )
    .await;
}

/// A gateway running on a task of the current runtime.
#[derive(Debug)]
pub struct RouteHandle {
    local_addr: SocketAddr,
    gateway: Arc<Gateway>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// Problems found at start that do not stop it (a missing API key, say).
    pub warnings: Vec<String>,
}

impl RouteHandle {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://ADDR/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.local_addr)
    }

    /// The running gateway.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// Stops accepting, lets requests in flight finish, and returns.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for RouteHandle {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Binds `cfg.listen` (port 0 for an ephemeral one) and serves on a task.
pub async fn spawn(cfg: Config) -> Result<RouteHandle, RouteError> {
    let listener = TcpListener::bind(cfg.listen).await?;
    let local_addr = listener.local_addr()?;
    let (gateway, warnings) = Gateway::new(cfg).await?;
    let gateway = Arc::new(gateway);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(gateway.clone(), listener, async move {
        let _ = rx.await;
    }));
    Ok(RouteHandle {
        local_addr,
        gateway,
        stop: Some(tx),
        task: Some(task),
        warnings,
    })
}
