//! An OpenAI-compatible HTTP server over the in-process llama.cpp engine
//! ([`sizewise_engine`]): what `sizewise serve` runs.
//!
//! - `POST /v1/chat/completions` and `POST /v1/completions`, streamed (server-sent events,
//!   with a final `usage` chunk when `stream_options.include_usage` is set) or not;
//! - `GET /v1/models` (the one model served) and `GET /health`.
//!
//! Each worker thread owns one [`Engine`] and runs one request at a time; requests wait in a
//! bounded queue and a full queue answers 503 at once, so load beyond the server's capacity
//! shows as errors rather than as unbounded memory. A streaming client that disconnects
//! stops its generation at the next token. Every error is an OpenAI-style JSON object.
//!
//! ```no_run
//! use sizewise_engine::{Engine, LoadOptions};
//! use sizewise_serve::{ServeConfig, Server};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::load("SmolLM2-135M-Instruct.Q4_1.gguf", LoadOptions::default())?;
//! let server = Server::spawn(ServeConfig::new("smollm2"), vec![engine], "127.0.0.1:0").await?;
//! println!("serving at {}", server.base_url());
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod http;
mod request;
mod worker;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use sizewise_engine::Engine;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long in-flight requests may go on after shutdown was asked.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How the server behaves, apart from the engines it is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    /// The model id `/v1/models` lists and every answer names.
    pub model_id: String,
    /// Requests that may wait for a free worker; one more answers 503 (`queue_full`).
    /// Default 64.
    pub queue: usize,
    /// The largest request body, in bytes; a larger one answers 413. Default 1 MiB.
    pub max_body_bytes: usize,
}

impl ServeConfig {
    /// The defaults, serving `model_id`.
    pub fn new(model_id: impl Into<String>) -> ServeConfig {
        ServeConfig {
            model_id: model_id.into(),
            queue: 64,
            max_body_bytes: 1 << 20,
        }
    }
}

/// What can keep the server from starting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The server was given no engine to run requests on.
    #[error("no engine to serve with: give at least one")]
    NoEngine,
    /// Binding the address or starting a thread failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Counters kept while serving: atomics only, so nothing grows with the number of requests.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    queue_full: AtomicU64,
    cancelled: AtomicU64,
    prompt_tokens: AtomicU64,
    output_tokens: AtomicU64,
}

impl Counters {
    fn add_tokens(&self, prompt: usize, output: usize) {
        self.prompt_tokens
            .fetch_add(prompt as u64, Ordering::Relaxed);
        self.output_tokens
            .fetch_add(output as u64, Ordering::Relaxed);
    }

    fn snapshot(&self) -> ServeStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ServeStats {
            requests: get(&self.requests),
            completed: get(&self.completed),
            failed: get(&self.failed),
            queue_full: get(&self.queue_full),
            cancelled: get(&self.cancelled),
            prompt_tokens: get(&self.prompt_tokens),
            output_tokens: get(&self.output_tokens),
        }
    }
}

/// What the server did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ServeStats {
    /// Completion requests received (chat and text).
    pub requests: u64,
    /// Generations that ran to their end.
    pub completed: u64,
    /// Requests answered with an error (bad request, too large, engine failure), queue-full
    /// refusals apart.
    pub failed: u64,
    /// Requests refused because the queue was full.
    pub queue_full: u64,
    /// Generations stopped because the client went away (or the server stopped).
    pub cancelled: u64,
    /// Prompt tokens evaluated.
    pub prompt_tokens: u64,
    /// Tokens generated.
    pub output_tokens: u64,
}

/// A running server started by [`Server::spawn`].
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    counters: Arc<Counters>,
    stopping: Arc<AtomicBool>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Binds `addr` and serves with one worker thread per engine, from a task of the current
    /// tokio runtime, until [`Server::shutdown`].
    pub async fn spawn(
        config: ServeConfig,
        engines: Vec<Engine>,
        addr: impl ToSocketAddrs,
    ) -> Result<Server, ServeError> {
        let first = engines.first().ok_or(ServeError::NoEngine)?;
        let context_tokens = first.info().context_tokens;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Io {
                what: "binding the listening address".into(),
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| ServeError::Io {
            what: "reading the bound address".into(),
            source,
        })?;
        let counters = Arc::new(Counters::default());
        let stopping = Arc::new(AtomicBool::new(false));
        let (queue_tx, queue_rx) = std::sync::mpsc::sync_channel(config.queue);
        let workers = worker::spawn(engines, queue_rx, counters.clone(), stopping.clone())
            .map_err(|source| ServeError::Io {
                what: "starting a worker thread".into(),
                source,
            })?;
        let shared = Arc::new(http::Shared::new(
            config,
            context_tokens,
            queue_tx,
            counters.clone(),
        ));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(http::run(shared, listener, async move {
            let _ = rx.await;
        }));
        Ok(Server {
            local_addr,
            counters,
            stopping,
            stop: Some(tx),
            task: Some(task),
            workers,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The base URL of the OpenAI API, e.g. `http://127.0.0.1:8092/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.local_addr)
    }

    /// What the server did so far.
    pub fn stats(&self) -> ServeStats {
        self.counters.snapshot()
    }

    /// Stops accepting connections, lets in-flight requests finish for up to
    /// [`SHUTDOWN_GRACE`], then stops the workers (a generation still running ends at its
    /// next token) and waits for them, again for up to [`SHUTDOWN_GRACE`].
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.stopping.store(true, Ordering::Relaxed);
        let workers = std::mem::take(&mut self.workers);
        let join = tokio::task::spawn_blocking(move || {
            for worker in workers {
                let _ = worker.join();
            }
        });
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, join).await;
    }
}
