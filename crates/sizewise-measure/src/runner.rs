//! Running a benchmark: warmup, then the measured phase under the configured load.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::client::{Exec, Job, Pool, Target};
use crate::config::{BenchConfig, Endpoint, Load, PromptInput, Stop};
use crate::record::RequestRecord;
use crate::result::{BenchResult, RunMeta};
use crate::schedule::{arrival_offsets, synthetic_prompt};
use crate::sse::SseParser;
use crate::{MeasureError, Result, cpu};

/// Which phase a [`Progress`] report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Warmup requests (left out of every statistic).
    Warmup,
    /// The measured phase.
    Measure,
}

/// A progress report, sent about every 250 ms and once at the end of each phase.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Progress {
    /// The phase.
    pub phase: Phase,
    /// Requests sent so far in this phase.
    pub sent: u64,
    /// Requests completed successfully so far.
    pub completed: u64,
    /// Requests failed so far.
    pub errors: u64,
    /// Seconds since the phase started.
    pub elapsed_s: f64,
    /// Requests this phase will send, when known in advance.
    pub total: Option<u64>,
    /// True for the last report of the phase.
    pub finished: bool,
}

/// Stops a running benchmark early (Ctrl-C): no new request is sent, requests in flight are
/// abandoned (left out of every statistic and counted in
/// [`BenchResult::abandoned`](crate::BenchResult::abandoned)), and the run returns what
/// finished, with [`BenchResult::cancelled`](crate::BenchResult::cancelled) set. Clones share
/// one flag.
#[derive(Debug, Clone)]
pub struct Cancel(Arc<tokio::sync::watch::Sender<bool>>);

impl Default for Cancel {
    fn default() -> Self {
        Self(Arc::new(tokio::sync::watch::Sender::new(false)))
    }
}

impl Cancel {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the flag; every run watching it stops.
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the flag is set.
    pub async fn cancelled(&self) {
        let mut rx = self.0.subscribe();
        // The sender lives in `self`, so `wait_for` cannot fail while we wait.
        let _set = rx.wait_for(|c| *c).await;
    }
}

#[derive(Default)]
struct Counters {
    next: AtomicU64,
    sent: AtomicU64,
    completed: AtomicU64,
    errors: AtomicU64,
}

/// Request bodies, built on demand from the request's sequence number.
struct Bodies {
    model: String,
    endpoint: Endpoint,
    prompt_tokens: u32,
    output_tokens: u32,
    dataset: Option<Vec<crate::config::Prompt>>,
    seed: u64,
    ignore_eos: bool,
}

#[derive(Serialize)]
struct UserMsg<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Msgs<'a> {
    User([UserMsg<'a>; 1]),
    Raw(&'a [serde_json::Value]),
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<Msgs<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<&'a str>,
    max_tokens: u32,
    stream: bool,
    stream_options: StreamOptions,
    #[serde(skip_serializing_if = "Option::is_none")]
    ignore_eos: Option<bool>,
}

impl Bodies {
    fn make(&self, seq: u64) -> (Bytes, u32) {
        let synthetic;
        let flattened;
        let (input, max_tokens) = match &self.dataset {
            Some(rows) => {
                let row = &rows[(seq % rows.len() as u64) as usize];
                (&row.input, row.max_tokens.unwrap_or(self.output_tokens))
            }
            None => {
                synthetic = PromptInput::Text(synthetic_prompt(self.seed, seq, self.prompt_tokens));
                (&synthetic, self.output_tokens)
            }
        };
        let (messages, prompt) = match (self.endpoint, input) {
            (Endpoint::Chat, PromptInput::Text(t)) => (
                Some(Msgs::User([UserMsg {
                    role: "user",
                    content: t,
                }])),
                None,
            ),
            (Endpoint::Chat, PromptInput::Messages(m)) => (Some(Msgs::Raw(m)), None),
            (Endpoint::Completions, PromptInput::Text(t)) => (None, Some(t.as_str())),
            (Endpoint::Completions, PromptInput::Messages(m)) => {
                flattened = m
                    .iter()
                    .filter_map(|v| v.get("content").and_then(|c| c.as_str()))
                    .collect::<Vec<_>>()
                    .join("\n");
                (None, Some(flattened.as_str()))
            }
        };
        let body = Body {
            model: &self.model,
            messages,
            prompt,
            max_tokens,
            stream: true,
            stream_options: StreamOptions {
                include_usage: true,
            },
            ignore_eos: self.ignore_eos.then_some(true),
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        (Bytes::from(bytes), max_tokens)
    }
}

struct Ctx {
    target: Target,
    bodies: Bodies,
    timeout: Duration,
    strict_token_count: bool,
    capture_text: bool,
    pool: Pool,
    cancel: Cancel,
}

impl Ctx {
    fn exec(&self) -> Exec<'_> {
        Exec {
            target: &self.target,
            timeout: self.timeout,
            strict_token_count: self.strict_token_count,
            capture_text: self.capture_text,
        }
    }
}

fn count(counters: &Counters, rec: &RequestRecord) {
    if rec.ok() {
        counters.completed.fetch_add(1, Ordering::Relaxed);
    } else {
        counters.errors.fetch_add(1, Ordering::Relaxed);
    }
}

type Batch = Result<Vec<RequestRecord>>;

/// Closed loop: `c` workers, each sending its next request when its previous one ends.
fn closed_loop(
    set: &mut JoinSet<Batch>,
    ctx: &Arc<Ctx>,
    counters: &Arc<Counters>,
    c: usize,
    stop: Stop,
    seq0: u64,
    t0: Instant,
) {
    for _ in 0..c {
        let ctx = Arc::clone(ctx);
        let counters = Arc::clone(counters);
        set.spawn(async move {
            let cancel = &ctx.cancel;
            let exec = ctx.exec();
            let mut parser = SseParser::default();
            let mut conn = ctx.pool.take();
            let mut out = Vec::new();
            let mut free = Instant::now();
            loop {
                if cancel.is_cancelled() {
                    break;
                }
                let i = counters.next.fetch_add(1, Ordering::Relaxed);
                match stop {
                    Stop::Requests(n) if i >= n => break,
                    Stop::Duration(d) if free >= t0 + d => break,
                    _ => {}
                }
                let (body, max_tokens) = ctx.bodies.make(seq0 + i);
                counters.sent.fetch_add(1, Ordering::Relaxed);
                let job = Job {
                    index: i,
                    max_tokens,
                    body,
                    phase_start: t0,
                    planned: free,
                };
                let rec = tokio::select! {
                    rec = exec.execute(job, &mut conn, &mut parser) => rec,
                    // Abandoned mid-request: the connection is in an unknown state.
                    () = cancel.cancelled() => return Ok(out),
                };
                count(&counters, &rec);
                free = Instant::now();
                out.push(rec);
            }
            ctx.pool.put(conn);
            Ok(out)
        });
    }
}

/// Open loop: one task per planned arrival, whatever is in flight.
fn open_loop(
    set: &mut JoinSet<Batch>,
    ctx: &Arc<Ctx>,
    counters: &Arc<Counters>,
    offsets: Vec<f64>,
    seq0: u64,
    t0: Instant,
) {
    let ctx = Arc::clone(ctx);
    let counters = Arc::clone(counters);
    set.spawn(async move {
        let cancel = ctx.cancel.clone();
        let mut tasks: JoinSet<RequestRecord> = JoinSet::new();
        let mut out = Vec::with_capacity(offsets.len());
        let join = |r: std::result::Result<RequestRecord, tokio::task::JoinError>| {
            r.map_err(|e| MeasureError::Internal(e.to_string()))
        };
        for (i, off) in offsets.into_iter().enumerate() {
            let planned = t0 + Duration::from_secs_f64(off);
            if planned > Instant::now() {
                tokio::select! {
                    () = tokio::time::sleep_until(planned.into()) => {}
                    () = cancel.cancelled() => break,
                }
            }
            if cancel.is_cancelled() {
                break;
            }
            while let Some(r) = tasks.try_join_next() {
                out.push(join(r)?);
            }
            let i = i as u64;
            let (body, max_tokens) = ctx.bodies.make(seq0 + i);
            let ctx = Arc::clone(&ctx);
            let counters = Arc::clone(&counters);
            tasks.spawn(async move {
                counters.sent.fetch_add(1, Ordering::Relaxed);
                let mut conn = ctx.pool.take();
                let mut parser = SseParser::default();
                let job = Job {
                    index: i,
                    max_tokens,
                    body,
                    phase_start: t0,
                    planned,
                };
                let rec = ctx.exec().execute(job, &mut conn, &mut parser).await;
                ctx.pool.put(conn);
                count(&counters, &rec);
                rec
            });
        }
        loop {
            tokio::select! {
                r = tasks.join_next() => match r {
                    Some(r) => out.push(join(r)?),
                    None => break,
                },
                () = cancel.cancelled(), if !tasks.is_empty() => {
                    tasks.abort_all();
                    while let Some(r) = tasks.join_next().await {
                        match r {
                            Ok(rec) => out.push(rec),
                            Err(e) if e.is_cancelled() => {}
                            Err(e) => return Err(MeasureError::Internal(e.to_string())),
                        }
                    }
                    break;
                }
            }
        }
        Ok(out)
    });
}

async fn drive(
    mut set: JoinSet<Batch>,
    counters: &Counters,
    phase: Phase,
    t0: Instant,
    total: Option<u64>,
    progress: &impl Fn(Progress),
) -> Result<Vec<RequestRecord>> {
    let snapshot = |finished: bool| Progress {
        phase,
        sent: counters.sent.load(Ordering::Relaxed),
        completed: counters.completed.load(Ordering::Relaxed),
        errors: counters.errors.load(Ordering::Relaxed),
        elapsed_s: t0.elapsed().as_secs_f64(),
        total,
        finished,
    };
    let mut tick = tokio::time::interval_at(
        (t0 + Duration::from_millis(250)).into(),
        Duration::from_millis(250),
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut out = Vec::new();
    loop {
        tokio::select! {
            biased;
            r = set.join_next() => match r {
                None => break,
                Some(Ok(batch)) => out.extend(batch?),
                Some(Err(e)) => return Err(MeasureError::Internal(e.to_string())),
            },
            _ = tick.tick() => progress(snapshot(false)),
        }
    }
    progress(snapshot(true));
    out.sort_by_key(|r| r.index);
    Ok(out)
}

/// Runs one benchmark: `cfg.warmup` requests first (closed loop at the configured
/// concurrency, or 8 for a rate load; left out of every statistic), then the measured phase.
/// Must be called inside a Tokio runtime (a multi-thread runtime spreads the client over
/// cores). `progress` is called from this future about every 250 ms.
///
/// Fails only when the run cannot start (bad config or URL); request failures are recorded
/// in the result.
pub async fn run(cfg: &BenchConfig, progress: impl Fn(Progress)) -> Result<BenchResult> {
    run_cancellable(cfg, progress, &Cancel::new()).await
}

/// Like [`run`], stopping early when `cancel` is set (see [`Cancel`]).
pub async fn run_cancellable(
    cfg: &BenchConfig,
    progress: impl Fn(Progress),
    cancel: &Cancel,
) -> Result<BenchResult> {
    cfg.validate()?;
    let target = Target::resolve(
        &cfg.url,
        cfg.endpoint,
        cfg.api_key.as_deref(),
        cfg.ca_cert.as_deref(),
    )
    .await?;
    let ctx = Arc::new(Ctx {
        target,
        bodies: Bodies {
            model: cfg.model.clone(),
            endpoint: cfg.endpoint,
            prompt_tokens: cfg.prompt_tokens,
            output_tokens: cfg.output_tokens,
            dataset: cfg.dataset.clone(),
            seed: cfg.seed,
            ignore_eos: cfg.ignore_eos,
        },
        timeout: cfg.timeout,
        strict_token_count: cfg.strict_token_count,
        capture_text: cfg.token_counter.is_some(),
        pool: Pool::default(),
        cancel: cancel.clone(),
    });

    let mut warmup_errors = 0;
    if cfg.warmup > 0 {
        let c = match cfg.load {
            Load::Concurrency(c) => c,
            Load::Rate { .. } => 8,
        };
        let c = c.min(usize::try_from(cfg.warmup).unwrap_or(usize::MAX));
        let counters = Arc::new(Counters::default());
        let t0 = Instant::now();
        let mut set = JoinSet::new();
        closed_loop(
            &mut set,
            &ctx,
            &counters,
            c,
            Stop::Requests(cfg.warmup),
            0,
            t0,
        );
        let recs = drive(
            set,
            &counters,
            Phase::Warmup,
            t0,
            Some(cfg.warmup),
            &progress,
        )
        .await?;
        warmup_errors = recs.iter().filter(|r| !r.ok()).count() as u64;
    }

    let counters = Arc::new(Counters::default());
    let load_avg_1m = cpu::load_avg_1m();
    let cpu0 = cpu::process_cpu_s();
    let t0 = Instant::now();
    let mut set = JoinSet::new();
    let total = match (cfg.load, cfg.stop) {
        (Load::Concurrency(c), stop) => {
            closed_loop(&mut set, &ctx, &counters, c, stop, cfg.warmup, t0);
            match stop {
                Stop::Requests(n) => Some(n),
                Stop::Duration(_) => None,
            }
        }
        (Load::Rate { per_s, arrival }, stop) => {
            let n = match stop {
                Stop::Requests(n) => n,
                Stop::Duration(d) => ((per_s * d.as_secs_f64()).round() as u64).max(1),
            };
            let offsets = arrival_offsets(n, per_s, arrival, cfg.seed);
            open_loop(&mut set, &ctx, &counters, offsets, cfg.warmup, t0);
            Some(n)
        }
    };
    let records = drive(set, &counters, Phase::Measure, t0, total, &progress).await?;
    let wall_s = t0.elapsed().as_secs_f64();
    let cpu_s = cpu::process_cpu_s().zip(cpu0).map(|(b, a)| b - a);
    Ok(BenchResult::from_records(
        cfg,
        records,
        RunMeta {
            wall_s,
            cpu_s,
            cores: cpu::cores(),
            load_avg_1m,
            warmup_errors,
            cancelled: cancel.is_cancelled(),
            sent_total: counters.sent.load(Ordering::Relaxed),
        },
    ))
}

/// A list of runs against the same server, one after another (e.g. concurrency 1, 4, 16).
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The runs, in order.
    pub configs: Vec<BenchConfig>,
}

impl Sweep {
    /// One run per concurrency level, otherwise like `base`.
    pub fn concurrencies(base: &BenchConfig, levels: &[usize]) -> Self {
        Self {
            configs: levels
                .iter()
                .map(|&c| BenchConfig {
                    load: Load::Concurrency(c),
                    ..base.clone()
                })
                .collect(),
        }
    }

    /// One run per rate (requests/s) with the given arrival process, otherwise like `base`.
    pub fn rates(base: &BenchConfig, rates: &[f64], arrival: crate::config::Arrival) -> Self {
        Self {
            configs: rates
                .iter()
                .map(|&per_s| BenchConfig {
                    load: Load::Rate { per_s, arrival },
                    ..base.clone()
                })
                .collect(),
        }
    }

    /// Runs every config in order; `progress` gets the run's position with each report.
    /// Stops at the first run that cannot start.
    pub async fn run(&self, progress: impl Fn(usize, Progress)) -> Result<Vec<BenchResult>> {
        self.run_cancellable(progress, &Cancel::new()).await
    }

    /// Like [`Sweep::run`]; once `cancel` is set the current run stops early (see
    /// [`Cancel`]) and no later run starts.
    pub async fn run_cancellable(
        &self,
        progress: impl Fn(usize, Progress),
        cancel: &Cancel,
    ) -> Result<Vec<BenchResult>> {
        let mut out = Vec::with_capacity(self.configs.len());
        for (i, cfg) in self.configs.iter().enumerate() {
            if cancel.is_cancelled() {
                break;
            }
            out.push(run_cancellable(cfg, |p| progress(i, p), cancel).await?);
        }
        Ok(out)
    }
}
