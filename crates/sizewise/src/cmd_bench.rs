//! `sizewise bench URL --model NAME`: latency and throughput of any OpenAI-compatible
//! endpoint, under load, saved in the results store.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use comfy_table::Cell;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use sizewise_measure::{
    Arrival, BenchConfig, BenchResult, Cancel, Endpoint, Load, Phase, Progress, Slo, Stats, Stop,
    Sweep, TokenCounter, export,
};
use sizewise_store::{RunGuard, RunKind, RunStatus, Store};

use crate::results::StoreArgs;
use crate::table;

/// How arrivals are spaced with `--rate`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArrivalArg {
    /// Exponential gaps (a Poisson process): how independent users arrive.
    Poisson,
    /// Equal gaps.
    Constant,
    /// Gamma gaps with shape `--burstiness` (below 1 burstier than Poisson, above 1 smoother).
    Gamma,
}

/// Which API route to call.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointArg {
    /// POST {URL}/chat/completions with messages.
    Chat,
    /// POST {URL}/completions with a prompt.
    Completions,
}

/// How the summary is printed.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchFormat {
    /// A table for people.
    Table,
    /// One JSON object (an array for a sweep).
    Json,
    /// A Markdown table.
    Markdown,
    /// CSV, one row per run.
    Csv,
}

/// Flags of `sizewise bench`.
#[derive(Args, Debug)]
#[command(after_long_help = BENCH_EXAMPLES)]
pub struct BenchArgs {
    /// Base URL of an OpenAI-compatible API, with its prefix, http:// or https:// (e.g.
    /// http://127.0.0.1:8080/v1 for llama.cpp server, http://127.0.0.1:11434/v1 for Ollama,
    /// https://api.openai.com/v1).
    #[arg(required_unless_present = "gguf")]
    pub url: Option<String>,
    /// Model name sent in each request, as the server knows it.
    #[arg(long, short = 'm', required_unless_present = "gguf")]
    pub model: Option<String>,
    /// Instead of an endpoint: run this GGUF model in process (llama.cpp) and measure prompt
    /// processing and generation speed as llama-bench does (needs a build with the `llama`
    /// feature).
    #[arg(long, value_name = "FILE", conflicts_with_all = [
        "url", "model", "api_key_env", "ca_cert", "concurrency", "rate", "requests", "duration",
        "dataset", "sweep", "slo", "export_requests", "tokenizer",
    ])]
    pub gguf: Option<PathBuf>,
    /// With --gguf: measured repetitions (after one warm-up unless --warmup 0).
    #[arg(long, default_value_t = 5)]
    pub repetitions: u32,
    /// With --gguf: CPU threads for generation [default: half the logical CPUs].
    #[arg(long)]
    pub threads: Option<u32>,
    /// Environment variable holding the API key (sent as `Authorization: Bearer`).
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// Also trust the CA certificates in this PEM file for https:// (a self-signed local
    /// server, a TLS-intercepting corporate proxy); Mozilla's roots stay trusted.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Closed loop: this many requests in flight at all times [default: 1].
    #[arg(long, short = 'c', conflicts_with = "rate")]
    pub concurrency: Option<usize>,
    /// Open loop: requests per second, sent on schedule whatever is in flight.
    #[arg(long, short = 'r', allow_negative_numbers = true)]
    pub rate: Option<f64>,
    /// Arrival process of `--rate` and of a rate sweep.
    #[arg(long, value_enum, default_value_t = ArrivalArg::Poisson)]
    pub arrival: ArrivalArg,
    /// Shape of gamma arrivals (1 = Poisson).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub burstiness: f64,
    /// Measured requests to send [default: 100].
    #[arg(long, short = 'n', conflicts_with = "duration")]
    pub requests: Option<u64>,
    /// Send for this long instead (seconds, or with a unit: 30s, 2m); requests in flight at
    /// the end finish and count.
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true)]
    pub duration: Option<Duration>,
    /// Length of the synthetic prompts, tokens (approximate for an endpoint: the server's
    /// tokenizer decides; exact with --gguf) [default: 128; 512 with --gguf, as llama-bench].
    #[arg(long)]
    pub prompt_tokens: Option<u32>,
    /// `max_tokens` of each request; with --gguf, the tokens generated per repetition
    /// [default: 32; 128 with --gguf, as llama-bench].
    #[arg(long)]
    pub output_tokens: Option<u32>,
    /// Prompts from a JSONL file instead: one object per line with "prompt" (a string) or
    /// "messages" (an array), and optionally "max_tokens"; used in order, cycled (warmup
    /// requests take the first rows).
    #[arg(long, value_name = "FILE.jsonl")]
    pub dataset: Option<PathBuf>,
    /// Several runs, one per level: `concurrency=1,4,16` or `rate=1,2,4`.
    #[arg(long, value_name = "KIND=LEVELS")]
    pub sweep: Option<String>,
    /// Objectives for goodput, ms: `ttft_ms=500,tpot_ms=50,e2e_ms=10000` (any of them).
    #[arg(long, value_name = "LIST")]
    pub slo: Option<String>,
    /// Requests sent first and left out of every statistic.
    #[arg(long, default_value_t = 2)]
    pub warmup: u64,
    /// Limit for one request (connect, headers and the whole stream), seconds.
    #[arg(long, default_value_t = 60.0, allow_negative_numbers = true)]
    pub timeout: f64,
    /// Seed of the synthetic prompts and the arrival schedule.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// API route.
    #[arg(long, value_enum, default_value_t = EndpointArg::Chat)]
    pub endpoint: EndpointArg,
    /// Also send "ignore_eos": true, so every answer has exactly --output-tokens tokens
    /// (vLLM, llama.cpp and SGLang honour it; the OpenAI API rejects it).
    #[arg(long)]
    pub ignore_eos: bool,
    /// Count output tokens with this tokenizer when the server sends no usage: o200k,
    /// cl100k, p50k, r50k, a tokenizer.json, or a .gguf file's vocabulary [default: count
    /// content events].
    #[arg(long, value_name = "NAME|FILE")]
    pub tokenizer: Option<String>,
    /// Accept streams that carry fewer content events than usage.completion_tokens (servers
    /// that send several tokens per event); by default such a stream counts as truncated.
    #[arg(long)]
    pub lenient_token_count: bool,
    /// Print the summary as JSON (same as --format json).
    #[arg(long)]
    pub json: bool,
    /// Summary format.
    #[arg(long, value_enum, default_value_t = BenchFormat::Table)]
    pub format: BenchFormat,
    /// Write every request (timeline, metrics, error) to FILE: .jsonl with the SSE event
    /// timeline, or .csv. With --sweep, one file per level (FILE's name plus the level).
    #[arg(long, value_name = "FILE")]
    pub export_requests: Option<PathBuf>,
    /// Do not save the run in the results store.
    #[arg(long)]
    pub no_store: bool,
    /// With --gguf: do not write this measurement as the calibration of llama.cpp on
    /// hardware `local` (by default each `bench --gguf` replaces it, and later estimates for
    /// `local` use it).
    #[arg(long, requires = "gguf")]
    pub no_calibrate: bool,
    /// With --gguf: read the model into memory instead of mapping the file (llama-bench's
    /// `-mmp 0`). Peak RSS then counts the process's own memory only: with a mapping, the
    /// pages of weights that llama.cpp repacks for its CPU kernels stay resident twice.
    #[arg(long, requires = "gguf")]
    pub no_mmap: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

const BENCH_EXAMPLES: &str = "\
Examples:
  sizewise simulate llama-3.1-8b --hardware nvidia-h100-sxm --port 8091 &
  sizewise bench http://127.0.0.1:8091/v1 -m llama-3.1-8b -c 16 -n 500
  sizewise bench http://127.0.0.1:8080/v1 -m local --rate 4 --duration 60s --slo ttft_ms=500
  sizewise bench https://api.example.com/v1 -m small --api-key-env API_KEY --sweep concurrency=1,4,16
  sizewise runs list
  sizewise bench --gguf SmolLM2-135M-Instruct.Q4_1.gguf --repetitions 5 --json   (build with --features llama)

Metrics (from each request's timeline; latency statistics cover completed requests):
  ttft  send -> first content token     ttfb  send -> response headers
  tpot  (e2e - ttft) / (tokens - 1)     itl   gaps between content events
  e2e   send -> [DONE]                  goodput  completed requests/s meeting every --slo
A stream cut before [DONE] (or its finish reason) is an error (truncated_stream), never a success.";

fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, mult) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (t, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a duration; use seconds (30) or 30s, 2m, 1h"))?;
    let secs = v * mult;
    if !(secs.is_finite() && secs > 0.0 && secs <= 7.0 * 86_400.0) {
        return Err(format!(
            "`{s}`: the duration must be positive and at most 7 days"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A parsed `--sweep`.
#[derive(Debug, Clone, PartialEq)]
enum SweepSpec {
    Concurrency(Vec<usize>),
    Rate(Vec<f64>),
}

fn parse_sweep(s: &str) -> anyhow::Result<SweepSpec> {
    let hint = "  hint: --sweep concurrency=1,4,16 or --sweep rate=1,2,4";
    let Some((kind, levels)) = s.split_once('=') else {
        bail!("--sweep `{s}` needs KIND=LEVELS\n{hint}");
    };
    let items: Vec<&str> = levels
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .collect();
    if items.is_empty() || items.len() > 64 {
        bail!("--sweep `{s}`: give between 1 and 64 levels\n{hint}");
    }
    match kind.trim().to_ascii_lowercase().as_str() {
        "concurrency" | "c" => items
            .iter()
            .map(|x| match x.parse::<usize>() {
                Ok(c) if (1..=100_000).contains(&c) => Ok(c),
                _ => bail!("--sweep: `{x}` is not a concurrency between 1 and 100000"),
            })
            .collect::<anyhow::Result<_>>()
            .map(SweepSpec::Concurrency),
        "rate" | "r" => items
            .iter()
            .map(|x| match x.parse::<f64>() {
                Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
                _ => bail!("--sweep: `{x}` is not a positive rate (requests/s)"),
            })
            .collect::<anyhow::Result<_>>()
            .map(SweepSpec::Rate),
        other => bail!("--sweep: unknown kind `{other}`\n{hint}"),
    }
}

fn parse_slo(s: &str) -> anyhow::Result<Slo> {
    let hint = "  hint: --slo ttft_ms=500,tpot_ms=50,e2e_ms=10000 (milliseconds, any of them)";
    let mut slo = Slo::default();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            bail!("--slo: `{part}` needs NAME=MILLISECONDS\n{hint}");
        };
        let v: f64 = match v.trim().parse() {
            Ok(v) if f64::is_finite(v) && v > 0.0 => v,
            _ => bail!("--slo: `{v}` is not a positive number of milliseconds\n{hint}"),
        };
        match k.trim() {
            "ttft_ms" | "ttft" => slo.ttft_ms = Some(v),
            "tpot_ms" | "tpot" => slo.tpot_ms = Some(v),
            "e2e_ms" | "e2e" => slo.e2e_ms = Some(v),
            other => bail!("--slo: unknown objective `{other}`\n{hint}"),
        }
    }
    if slo.is_empty() {
        bail!("--slo is empty\n{hint}");
    }
    Ok(slo)
}

impl BenchArgs {
    fn config(&self) -> anyhow::Result<BenchConfig> {
        let mut cfg = BenchConfig::new(
            self.url
                .as_deref()
                .unwrap_or_default()
                .trim_end_matches('/'),
            self.model.as_deref().unwrap_or_default(),
        );
        if let Some(var) = &self.api_key_env {
            let key = std::env::var(var).with_context(|| {
                format!(
                    "--api-key-env {var}: the variable is not set\n  hint: export {var}=... first"
                )
            })?;
            cfg.api_key = Some(key);
        }
        if let Some(path) = &self.ca_cert {
            let pem = std::fs::read(path)
                .with_context(|| format!("--ca-cert: reading {}", path.display()))?;
            cfg.ca_cert = Some(pem);
        }
        let arrival = self.arrival();
        if self.burstiness != 1.0 && self.arrival != ArrivalArg::Gamma {
            bail!("--burstiness applies to --arrival gamma only");
        }
        cfg.load = match (self.concurrency, self.rate) {
            (Some(c), _) => Load::Concurrency(c),
            (None, Some(per_s)) => Load::Rate { per_s, arrival },
            (None, None) => Load::Concurrency(1),
        };
        cfg.stop = match (self.requests, self.duration) {
            (_, Some(d)) => Stop::Duration(d),
            (Some(n), None) => Stop::Requests(n),
            (None, None) => Stop::Requests(100),
        };
        cfg.prompt_tokens = self.prompt_tokens.unwrap_or(128);
        cfg.output_tokens = self.output_tokens.unwrap_or(32);
        if let Some(path) = &self.dataset {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the dataset {}", path.display()))?;
            cfg.dataset = Some(
                sizewise_measure::parse_dataset(&text)
                    .with_context(|| format!("in the dataset {}", path.display()))?,
            );
        }
        if let Some(s) = &self.slo {
            cfg.slo = parse_slo(s)?;
        }
        cfg.warmup = self.warmup;
        if !(self.timeout.is_finite() && self.timeout > 0.0 && self.timeout <= 86_400.0) {
            bail!("--timeout must be more than 0 and at most 86400 seconds");
        }
        cfg.timeout = Duration::from_secs_f64(self.timeout);
        cfg.seed = self.seed;
        cfg.endpoint = match self.endpoint {
            EndpointArg::Chat => Endpoint::Chat,
            EndpointArg::Completions => Endpoint::Completions,
        };
        cfg.ignore_eos = self.ignore_eos;
        if let Some(name) = &self.tokenizer {
            let tk = sizewise_tokens::Tokenizer::from_name(name)
                .with_context(|| format!("--tokenizer {name}"))?;
            cfg.token_counter = Some(TokenCounter::new(tk.name().to_string(), move |text| {
                tk.encode(text).map_or(0, |t| t.count() as u64)
            }));
        }
        cfg.strict_token_count = !self.lenient_token_count;
        Ok(cfg)
    }

    fn arrival(&self) -> Arrival {
        match self.arrival {
            ArrivalArg::Poisson => Arrival::Poisson,
            ArrivalArg::Constant => Arrival::Constant,
            ArrivalArg::Gamma => Arrival::Gamma {
                shape: self.burstiness,
            },
        }
    }

    fn format(&self) -> BenchFormat {
        if self.json {
            BenchFormat::Json
        } else {
            self.format
        }
    }
}

/// One run of a bench (a sweep has several) with what it needs to be named.
struct Level {
    label: String,
    cfg: BenchConfig,
}

fn levels(args: &BenchArgs, base: &BenchConfig) -> anyhow::Result<Vec<Level>> {
    let Some(spec) = &args.sweep else {
        return Ok(vec![Level {
            label: load_label(&base.load),
            cfg: base.clone(),
        }]);
    };
    let sweep = match parse_sweep(spec)? {
        SweepSpec::Concurrency(c) => {
            if args.rate.is_some() || args.concurrency.is_some() {
                bail!(
                    "--sweep concurrency=... sets the concurrency of each run; drop --rate/--concurrency"
                );
            }
            Sweep::concurrencies(base, &c)
        }
        SweepSpec::Rate(r) => {
            if args.concurrency.is_some() || args.rate.is_some() {
                bail!("--sweep rate=... sets the rate of each run; drop --concurrency/--rate");
            }
            Sweep::rates(base, &r, args.arrival())
        }
    };
    Ok(sweep
        .configs
        .into_iter()
        .map(|cfg| Level {
            label: load_label(&cfg.load),
            cfg,
        })
        .collect())
}

fn load_label(load: &Load) -> String {
    match load {
        Load::Concurrency(c) => format!("concurrency {c}"),
        Load::Rate { per_s, arrival } => {
            let a = match arrival {
                Arrival::Poisson => "poisson".to_string(),
                Arrival::Constant => "constant".to_string(),
                Arrival::Gamma { shape } => format!("gamma {shape}"),
            };
            format!("rate {per_s}/s {a}")
        }
    }
}

fn file_label(load: &Load) -> String {
    match load {
        Load::Concurrency(c) => format!("c{c}"),
        Load::Rate { per_s, .. } => format!("r{per_s}"),
    }
}

/// Parameters saved with a run: everything needed to run it again (never the API key).
fn params_json(cfg: &BenchConfig, args: &BenchArgs, sweep_index: Option<usize>) -> Value {
    json!({
        "url": cfg.url,
        "model": cfg.model,
        "endpoint": cfg.endpoint,
        "load": cfg.load,
        "stop": cfg.stop,
        "prompt_tokens": cfg.prompt_tokens,
        "output_tokens": cfg.output_tokens,
        "dataset": args.dataset.as_ref().map(|p| p.display().to_string()),
        "dataset_rows": cfg.dataset.as_ref().map(Vec::len),
        "slo": cfg.slo,
        "warmup": cfg.warmup,
        "timeout_s": cfg.timeout.as_secs_f64(),
        "seed": cfg.seed,
        "ignore_eos": cfg.ignore_eos,
        "strict_token_count": cfg.strict_token_count,
        "api_key_env": args.api_key_env,
        "tokenizer": args.tokenizer,
        "ca_cert": args.ca_cert.as_ref().map(|p| p.display().to_string()),
        "sweep": args.sweep,
        "sweep_index": sweep_index,
    })
}

fn progress_bar(label: &str) -> ProgressBar {
    let pb = ProgressBar::new(0);
    pb.set_style(
        ProgressStyle::with_template(
            "{prefix:.bold} {msg:10} [{bar:30}] {pos}/{len} {elapsed_precise} {wide_msg:.dim}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_prefix(label.to_string());
    pb
}

fn show_progress(pb: &ProgressBar, p: &Progress, duration: Option<Duration>) {
    let phase = match p.phase {
        Phase::Warmup => "warmup",
        Phase::Measure => "measure",
    };
    pb.set_message(phase);
    match (p.total, duration) {
        (Some(total), _) => {
            pb.set_length(total);
            pb.set_position(p.completed + p.errors);
        }
        (None, Some(d)) => {
            // Duration runs: the bar is the time, in tenths of a second.
            pb.set_length((d.as_secs_f64() * 10.0) as u64);
            pb.set_position((p.elapsed_s * 10.0) as u64);
        }
        (None, None) => {}
    }
    pb.set_message(format!(
        "{phase}: {} sent, {} ok, {} errors",
        p.sent, p.completed, p.errors
    ));
}

/// The format of a per-request export, from its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExportKind {
    Jsonl,
    Csv,
}

fn export_kind(path: &Path) -> anyhow::Result<ExportKind> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "jsonl" | "ndjson" | "json" => Ok(ExportKind::Jsonl),
        "csv" => Ok(ExportKind::Csv),
        _ => bail!(
            "--export-requests {}: name the file .jsonl (every request with its event timeline) \
             or .csv (one line per request)",
            path.display()
        ),
    }
}

/// An export file opened before the run, so that a bad path fails before any request.
struct ExportFile {
    path: PathBuf,
    kind: ExportKind,
    file: File,
}

fn open_exports(args: &BenchArgs, levels: &[Level]) -> anyhow::Result<Vec<Option<ExportFile>>> {
    let Some(path) = &args.export_requests else {
        return Ok(levels.iter().map(|_| None).collect());
    };
    let kind = export_kind(path)?;
    levels
        .iter()
        .map(|level| {
            let path = if levels.len() > 1 {
                level_path(path, &level.cfg.load)
            } else {
                path.clone()
            };
            let file = File::create(&path)
                .with_context(|| format!("--export-requests: creating {}", path.display()))?;
            Ok(Some(ExportFile { path, kind, file }))
        })
        .collect()
}

/// Writes one level's requests (JSONL with timelines, or CSV).
fn write_export(e: ExportFile, r: &BenchResult) -> anyhow::Result<()> {
    let mut w = BufWriter::new(e.file);
    match e.kind {
        ExportKind::Csv => export::write_csv(&r.requests, &mut w)?,
        ExportKind::Jsonl => export::write_jsonl(&r.requests, &mut w)?,
    }
    w.flush()
        .with_context(|| format!("writing {}", e.path.display()))?;
    eprintln!("requests written to {}", e.path.display());
    Ok(())
}

fn level_path(path: &Path, load: &Load) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "requests".into());
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{}.{}", file_label(load), ext.to_string_lossy()),
        None => format!("{stem}-{}", file_label(load)),
    };
    path.with_file_name(name)
}

/// What one finished level gives the summary.
struct Outcome {
    result: BenchResult,
    run_id: Option<i64>,
    status: Option<RunStatus>,
}

fn result_json(o: &Outcome) -> anyhow::Result<Value> {
    let mut v = serde_json::to_value(&o.result).context("encoding the result")?;
    if let Value::Object(map) = &mut v {
        map.insert("run_id".into(), json!(o.run_id));
    }
    Ok(v)
}

/// How a finished level is kept: interrupted, nothing completed, or complete.
fn status_of(r: &BenchResult) -> RunStatus {
    if r.cancelled {
        RunStatus::Incomplete
    } else if r.completed == 0 {
        RunStatus::Failed
    } else {
        RunStatus::Complete
    }
}

/// Saves a finished level's requests and summary in its run; returns the run's id, or `None`
/// when the run was interrupted before it sent anything (then it is removed).
fn save(run: RunGuard<'_>, r: &BenchResult) -> anyhow::Result<Option<i64>> {
    if r.cancelled && r.sent == 0 && r.abandoned == 0 {
        let store = run.store();
        let id = run.into_id();
        store.delete_run(id).context("removing an empty run")?;
        return Ok(None);
    }
    // In chunks: a 10 s run at 10k requests/s is 100k rows, too many to hold as JSON at once.
    for chunk in r.requests.chunks(2000) {
        let rows: Vec<Value> = chunk
            .iter()
            .map(|rec| serde_json::to_value(export::RequestRow::new(rec, false)))
            .collect::<Result<_, _>>()
            .context("encoding the requests")?;
        run.add_rows(&rows).context("saving the requests")?;
    }
    let summary = serde_json::to_value(r).context("encoding the result")?;
    let id = run
        .finish(status_of(r), Some(&summary))
        .context("saving the run")?;
    Ok(Some(id.0))
}

/// The likeliest cause of a run where nothing completed, from its errors.
fn failure_hint(r: &BenchResult) -> String {
    let top = r
        .errors
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(k, _)| k.as_str())
        .unwrap_or("");
    match top {
        "connect" => "nothing answered at that address: check the host, the port and http:// vs \
                      https:// (is the server running?)"
            .into(),
        "http_401" | "http_403" => {
            "the server refused the credentials: pass --api-key-env VAR with the key in VAR".into()
        }
        "http_404" => "check the URL's prefix (usually /v1) and the model name the server \
                       expects (GET URL/models lists them)"
            .into(),
        "http_400" | "http_422" => "the server rejected the request body: check the model name, \
                                    --output-tokens and the dataset rows"
            .into(),
        "timeout" => "no stream ended within --timeout: raise it, or lower the load".into(),
        "truncated_stream" | "malformed_event" | "stream_error" => {
            "the answers were not a complete OpenAI-style event stream (see the first error \
             above); servers that pack several tokens per event need --lenient-token-count"
                .into()
        }
        "http_405" | "http_501" => "the server does not take POST at this path: is it an \
                                    OpenAI-compatible API, and is the prefix (usually /v1) right?"
            .into(),
        k if k.starts_with("http_5") => "the server failed (5xx): see its log".into(),
        _ => "see the first error above; --export-requests FILE.jsonl keeps every message".into(),
    }
}

/// Runs `sizewise bench`.
pub fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let base = args.config()?;
    let levels = levels(&args, &base)?;
    for level in &levels {
        level
            .cfg
            .validate()
            .with_context(|| format!("benchmarking {}", level.cfg.url))?;
    }
    let mut exports = open_exports(&args, &levels)?;
    let store = if args.no_store {
        None
    } else {
        Some(args.store.open()?)
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let cancel = Cancel::new();
    {
        let cancel = cancel.clone();
        crate::interrupt::on_interrupt(&rt, move || cancel.cancel())
            .context("listening for Ctrl-C")?;
    }
    let sweep = levels.len() > 1;
    let mut outcomes = Vec::new();
    for (i, level) in levels.iter().enumerate() {
        if cancel.is_cancelled() {
            break;
        }
        let label = if sweep {
            format!("[{}/{}] {}", i + 1, levels.len(), level.label)
        } else {
            level.label.clone()
        };
        // The run is recorded before the first request, so its start time is the real one.
        let run = match &store {
            Some(s) => Some(
                s.begin(
                    RunKind::Bench,
                    &level.cfg.url,
                    &params_json(&level.cfg, &args, sweep.then_some(i)),
                    env!("CARGO_PKG_VERSION"),
                )
                .context("saving the run")?,
            ),
            None => None,
        };
        let pb = progress_bar(&label);
        let duration = match level.cfg.stop {
            Stop::Duration(d) => Some(d),
            Stop::Requests(_) => None,
        };
        let result = rt.block_on(sizewise_measure::run_cancellable(
            &level.cfg,
            |p| show_progress(&pb, &p, duration),
            &cancel,
        ));
        pb.finish_and_clear();
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                // Nothing was sent (the URL or the configuration was refused): keep no run.
                if let Some(run) = run {
                    let store = run.store();
                    let _ = store.delete_run(run.into_id());
                }
                return Err(e).with_context(|| format!("benchmarking {}", level.cfg.url));
            }
        };
        let status = run.as_ref().map(|_| status_of(&result));
        let run_id = match run {
            Some(run) => save(run, &result)?,
            None => None,
        };
        if let Some(e) = exports.get_mut(i).and_then(Option::take) {
            // The run is saved already; a failed export loses nothing but the file.
            if let Err(err) = write_export(e, &result) {
                eprintln!("warning: {err:#}");
            }
        }
        outcomes.push(Outcome {
            result,
            run_id,
            status,
        });
    }
    print_summary(&args, &outcomes, store.as_ref())?;
    if cancel.is_cancelled() {
        let kept: Vec<String> = outcomes
            .iter()
            .filter(|o| o.status == Some(RunStatus::Incomplete))
            .filter_map(|o| o.run_id.map(|id| id.to_string()))
            .collect();
        let kept = if kept.is_empty() {
            String::new()
        } else {
            format!("; kept as run {} (incomplete)", kept.join(", "))
        };
        eprintln!("interrupted: statistics cover the requests that finished{kept}");
        std::process::exit(130);
    }
    if let Some(o) = outcomes.iter().find(|o| o.result.completed == 0)
        && outcomes.iter().all(|o| o.result.completed == 0)
    {
        bail!(
            "no request completed ({})\n  hint: {}",
            errors_text(&o.result),
            failure_hint(&o.result)
        );
    }
    Ok(())
}

fn print_summary(
    args: &BenchArgs,
    outcomes: &[Outcome],
    store: Option<&Store>,
) -> anyhow::Result<()> {
    let mut out = anstream::stdout().lock();
    match args.format() {
        BenchFormat::Json => {
            let values: Vec<Value> = outcomes.iter().map(result_json).collect::<Result<_, _>>()?;
            let v = if args.sweep.is_some() {
                Value::Array(values)
            } else {
                values.into_iter().next().unwrap_or(Value::Null)
            };
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        }
        BenchFormat::Markdown => {
            let results: Vec<BenchResult> = outcomes.iter().map(|o| o.result.clone()).collect();
            write!(out, "{}", export::markdown_summary(&results))?;
        }
        BenchFormat::Csv => write_csv(outcomes, &mut out)?,
        BenchFormat::Table => {
            if args.sweep.is_some() {
                print_sweep(&mut out, outcomes)?;
            } else if let Some(o) = outcomes.first() {
                print_one(&mut out, o)?;
            }
            if let Some(s) = store
                && outcomes.iter().any(|o| o.run_id.is_some())
            {
                writeln!(out, "saved in {} (sizewise runs list)", s.path().display())?;
            }
        }
    }
    Ok(())
}

fn ms(v: Option<f64>) -> String {
    match v {
        Some(v) if v >= 1000.0 => format!("{v:.0}"),
        Some(v) if v >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
        None => "-".into(),
    }
}

fn stats_row(name: &str, unit: &str, s: &Stats) -> Vec<Cell> {
    vec![
        Cell::new(name),
        Cell::new(unit),
        Cell::new(ms(s.p50)),
        Cell::new(ms(s.p90)),
        Cell::new(ms(s.p95)),
        Cell::new(ms(s.p99)),
        Cell::new(ms(s.mean)),
        Cell::new(ms(s.sd)),
        Cell::new(s.n),
    ]
}

fn errors_text(r: &BenchResult) -> String {
    if r.errors.is_empty() {
        return "none".into();
    }
    r.errors
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_one(out: &mut impl Write, o: &Outcome) -> anyhow::Result<()> {
    let r = &o.result;
    let stop = match r.stop {
        Stop::Requests(n) => plural(n, "request"),
        Stop::Duration(d) => format!("{:.0} s", d.as_secs_f64()),
    };
    let tokens = |s: &Stats| s.mean.map_or("-".into(), |m| format!("{m:.0}"));
    writeln!(
        out,
        "{} at {}: {}, {stop}; mean tokens per request: {} prompt, {} output",
        r.model,
        r.url,
        load_label(&r.load),
        tokens(&r.prompt_tokens),
        tokens(&r.output_tokens),
    )?;
    let mut t = table::new(&[
        "metric", "unit", "p50", "p90", "p95", "p99", "mean", "sd", "n",
    ]);
    t.add_row(stats_row("ttft", "ms", &r.ttft_ms));
    t.add_row(stats_row("ttfb", "ms", &r.ttfb_ms));
    t.add_row(stats_row("tpot", "ms", &r.tpot_ms));
    t.add_row(stats_row("itl", "ms", &r.itl_ms));
    t.add_row(stats_row("e2e", "ms", &r.e2e_ms));
    t.add_row(stats_row(
        "output tok/s per request",
        "tok/s",
        &r.output_tokens_per_s_per_request,
    ));
    writeln!(out, "{t}")?;
    writeln!(
        out,
        "requests     {} sent, {} completed, errors: {}",
        r.sent,
        r.completed,
        errors_text(r)
    )?;
    for (kind, message) in first_errors(r) {
        writeln!(out, "first {kind:<16} {message}")?;
    }
    let goodput = if r.slo.is_empty() {
        String::new()
    } else {
        format!(
            ", goodput {:.2} req/s ({} of {} met the SLOs)",
            r.goodput_per_s, r.good, r.completed
        )
    };
    writeln!(
        out,
        "throughput   {:.2} requests/s, {:.1} output tokens/s{}{goodput}",
        r.requests_per_s,
        r.output_tokens_per_s,
        r.input_tokens_per_s
            .map(|i| format!(", {i:.1} input tokens/s"))
            .unwrap_or_default()
    )?;
    // Closed loops have no schedule to keep; open loops say whether the client kept to it.
    if let Some(req) = r.requested_rate {
        writeln!(
            out,
            "send rate    requested {req:.2}/s, achieved {:.2}/s ({:+.1}%); schedule lag p50 {} \
             ms, p99 {} ms (arrivals are drawn, then spread so the last is due at n / rate)",
            r.achieved_rate,
            (r.achieved_rate / req - 1.0) * 100.0 + 0.0,
            ms(r.schedule_lag_ms.p50),
            ms(r.schedule_lag_ms.p99)
        )?;
    }
    writeln!(
        out,
        "tokens       counted from {}; finish reasons: {}",
        match r.token_source.as_str() {
            "usage" => "the server's usage".to_string(),
            "local_tokenizer" => format!(
                "the local tokenizer {} (the server sent no usage)",
                r.tokenizer.as_deref().unwrap_or("?")
            ),
            "content_events" => {
                "content events, one token each (the server sent no usage; --tokenizer NAME \
                 counts the text instead)"
                    .to_string()
            }
            "mixed" => "usage where sent, the local count or content events elsewhere".to_string(),
            _ => "nothing (no request completed)".to_string(),
        },
        if r.finish_reasons.is_empty() {
            "none".to_string()
        } else {
            r.finish_reasons
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    )?;
    writeln!(out, "{}", machine_line(r))?;
    if let Some(warn) = busy_warning(r) {
        writeln!(out, "warning: {warn}")?;
    }
    if r.cancelled {
        writeln!(
            out,
            "warning: interrupted; {} in flight abandoned (not counted as sent)",
            plural(r.abandoned, "request")
        )?;
    }
    if let Some(id) = o.run_id {
        writeln!(out, "run          {id}")?;
    }
    Ok(())
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The first error message of each kind (at most three kinds), shortened for a terminal.
fn first_errors(r: &BenchResult) -> Vec<(String, String)> {
    let mut seen: Vec<(String, String)> = Vec::new();
    for e in r.requests.iter().filter_map(|q| q.error.as_ref()) {
        let kind = e.kind.to_string();
        if seen.iter().any(|(k, _)| *k == kind) {
            continue;
        }
        // Bodies of error pages span lines; one line of at most 240 characters is enough.
        let flat = e.message.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut msg: String = flat.chars().take(240).collect();
        if msg.len() < flat.len() {
            msg.push('…');
        }
        seen.push((kind, msg));
        if seen.len() == 3 {
            break;
        }
    }
    seen
}

fn machine_line(r: &BenchResult) -> String {
    let cpu = match (r.client_cpu_s, r.client_cpu_share) {
        // A share over a few milliseconds of wall time means nothing.
        (Some(s), Some(share)) if r.wall_s >= 0.1 => format!(
            "client used {s:.2} CPU-s over {:.2} s wall ({:.0}% of {} cores)",
            r.wall_s,
            share * 100.0,
            r.cores
        ),
        _ => format!("{:.2} s wall on {} cores", r.wall_s, r.cores),
    };
    let load = r
        .load_avg_1m
        .map(|l| format!(", load average {l:.2} at start"))
        .unwrap_or_default();
    format!("machine      {cpu}{load}")
}

/// A busy machine slows the client and the server it measures: say so.
fn busy_warning(r: &BenchResult) -> Option<String> {
    let load = r.load_avg_1m?;
    (load > 0.75 * r.cores as f64).then(|| {
        format!(
            "the machine was busy before the run (load average {load:.2} on {} cores); \
             latencies may include waiting for CPU",
            r.cores
        )
    })
}

fn print_sweep(out: &mut impl Write, outcomes: &[Outcome]) -> anyhow::Result<()> {
    if let Some(first) = outcomes.first() {
        writeln!(out, "{} at {}", first.result.model, first.result.url)?;
    }
    let mut t = table::new(&[
        "load",
        "completed",
        "errors",
        "req/s",
        "out tok/s",
        "goodput/s",
        "ttft p50 ms",
        "ttft p99 ms",
        "tpot p50 ms",
        "tpot p99 ms",
        "e2e p50 ms",
        "run",
    ]);
    for o in outcomes {
        let r = &o.result;
        t.add_row(vec![
            Cell::new(load_label(&r.load)),
            Cell::new(r.completed),
            Cell::new(r.error_count()),
            Cell::new(format!("{:.2}", r.requests_per_s)),
            Cell::new(format!("{:.1}", r.output_tokens_per_s)),
            Cell::new(if r.slo.is_empty() {
                "-".to_string()
            } else {
                format!("{:.2}", r.goodput_per_s)
            }),
            Cell::new(ms(r.ttft_ms.p50)),
            Cell::new(ms(r.ttft_ms.p99)),
            Cell::new(ms(r.tpot_ms.p50)),
            Cell::new(ms(r.tpot_ms.p99)),
            Cell::new(ms(r.e2e_ms.p50)),
            Cell::new(o.run_id.map_or("-".into(), |id| id.to_string())),
        ]);
    }
    writeln!(out, "{t}")?;
    for o in outcomes {
        if !o.result.errors.is_empty() {
            writeln!(
                out,
                "errors at {}: {}",
                load_label(&o.result.load),
                errors_text(&o.result)
            )?;
            for (kind, message) in first_errors(&o.result) {
                writeln!(out, "  first {kind}: {message}")?;
            }
        }
    }
    if let Some(w) = outcomes.iter().find_map(|o| busy_warning(&o.result)) {
        writeln!(out, "warning: {w}")?;
    }
    Ok(())
}

fn write_csv(outcomes: &[Outcome], out: &mut impl Write) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let metrics = ["ttft_ms", "ttfb_ms", "tpot_ms", "itl_ms", "e2e_ms"];
    let mut header: Vec<String> = [
        "run_id",
        "model",
        "url",
        "load",
        "sent",
        "completed",
        "errors",
        "requests_per_s",
        "output_tokens_per_s",
        "goodput_per_s",
        "requested_rate",
        "achieved_rate",
    ]
    .map(String::from)
    .to_vec();
    for m in metrics {
        for q in ["p50", "p90", "p95", "p99", "mean", "sd"] {
            header.push(format!("{m}_{q}"));
        }
    }
    w.write_record(&header)?;
    let f = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for o in outcomes {
        let r = &o.result;
        let mut row = vec![
            o.run_id.map_or(String::new(), |id| id.to_string()),
            r.model.clone(),
            r.url.clone(),
            load_label(&r.load),
            r.sent.to_string(),
            r.completed.to_string(),
            r.error_count().to_string(),
            r.requests_per_s.to_string(),
            r.output_tokens_per_s.to_string(),
            if r.slo.is_empty() {
                String::new()
            } else {
                r.goodput_per_s.to_string()
            },
            f(r.requested_rate),
            r.achieved_rate.to_string(),
        ];
        for s in [&r.ttft_ms, &r.ttfb_ms, &r.tpot_ms, &r.itl_ms, &r.e2e_ms] {
            for q in [s.p50, s.p90, s.p95, s.p99, s.mean, s.sd] {
                row.push(f(q));
            }
        }
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        for bad in ["", "x", "-1", "0", "nan", "1e9"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sweeps() {
        assert_eq!(
            parse_sweep("concurrency=1,4,16").unwrap(),
            SweepSpec::Concurrency(vec![1, 4, 16])
        );
        assert_eq!(
            parse_sweep("rate=0.5, 2").unwrap(),
            SweepSpec::Rate(vec![0.5, 2.0])
        );
        for bad in [
            "",
            "c",
            "concurrency=",
            "concurrency=0",
            "rate=-1",
            "speed=1",
        ] {
            assert!(parse_sweep(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slos() {
        let s = parse_slo("ttft_ms=500, tpot_ms=50").unwrap();
        assert_eq!(
            (s.ttft_ms, s.tpot_ms, s.e2e_ms),
            (Some(500.0), Some(50.0), None)
        );
        for bad in ["", "ttft_ms", "ttft_ms=0", "ttft_ms=abc", "p99=3"] {
            assert!(parse_slo(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn level_files_keep_the_extension() {
        let p = level_path(Path::new("out/req.jsonl"), &Load::Concurrency(4));
        assert_eq!(p, Path::new("out/req-c4.jsonl"));
    }
}
