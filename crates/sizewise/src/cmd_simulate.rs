//! `sizewise simulate MODEL --hardware HW`: an OpenAI-compatible server that answers with the
//! timing the estimator predicts (or fixed delays), with optional faults.

use std::io::Write;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::json;
use sizewise_catalog::Catalog;
use sizewise_estimate::{Engine, Precision, Scenario, estimate_numbers, summarize};
use sizewise_eval::Target;
use sizewise_simulate::{AnswerItem, Answers, SimConfig, SimStats, Timing};

/// Flags of `sizewise simulate`.
#[derive(Args, Debug)]
#[command(after_long_help = SIMULATE_EXAMPLES)]
pub struct SimulateArgs {
    /// Catalog model whose timing to follow (also the model name the server reports). With
    /// --ttft-ms and --tpot-ms it may be any name.
    pub model: String,
    /// Device the model would run on (`sizewise hardware` lists them); required unless
    /// --ttft-ms and --tpot-ms fix the timing.
    #[arg(long = "hardware", short = 'H', value_name = "HW")]
    pub hardware: Option<String>,
    /// Inference engine whose efficiency to assume: llama.cpp, vllm, trt-llm, transformers.
    #[arg(long, short = 'e')]
    pub engine: Option<String>,
    /// Weight precision (fp16, bf16, fp8, int8, int4, q4_k_m, ...).
    #[arg(long, short = 'p')]
    pub precision: Option<String>,
    /// Devices serving the model (tensor parallelism).
    #[arg(long, default_value_t = 1)]
    pub gpus: u32,
    /// Memory of the machine, GB, for hardware whose memory depends on the system (CPUs).
    #[arg(long)]
    pub memory_gb: Option<f64>,
    /// Address to listen on. Anything but loopback exposes the server to the network.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0: any free port; the URL is printed).
    #[arg(long, default_value_t = 8091)]
    pub port: u16,
    /// Fixed time to first token, ms, instead of the estimator's (needs --tpot-ms).
    #[arg(long, allow_negative_numbers = true, requires = "tpot_ms")]
    pub ttft_ms: Option<f64>,
    /// Fixed time per output token, ms, instead of the estimator's (needs --ttft-ms).
    #[arg(long, allow_negative_numbers = true, requires = "ttft_ms")]
    pub tpot_ms: Option<f64>,
    /// Requests decoded at once; later ones wait in a queue (their wait shows in TTFT)
    /// [default: 4 for llama.cpp, as llama-server's slots; 8 for transformers; 256 for vLLM
    /// and TensorRT-LLM and for fixed timing].
    #[arg(long)]
    pub max_batch: Option<u32>,
    /// Seed of the generated text and of the fault sequences.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output tokens when a request sets no max_tokens.
    #[arg(long, default_value_t = 16)]
    pub default_max_tokens: u32,
    /// Fault: share of requests answered with HTTP 500 (0..1).
    #[arg(long, allow_negative_numbers = true, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Fault: cut streams after N content events, without [DONE] (every stream, or, with
    /// --error-rate R, another share R of the requests).
    #[arg(long, value_name = "N")]
    pub drop_stream_after: Option<u32>,
    /// Fault: share of responses with one invalid-JSON event in the stream (0..1).
    #[arg(long, allow_negative_numbers = true, default_value_t = 0.0)]
    pub malformed_rate: f64,
    /// Fault: pause every stream this long half-way, ms.
    #[arg(long, default_value_t = 0)]
    pub stall_ms: u64,
    /// Answer this eval suite's prompts (a built-in suite or a suite file) with the right
    /// answer on a share --accuracy of its items and a wrong one on the rest: a stand-in for a
    /// model of known quality when testing `route eval` or an eval pipeline.
    #[arg(long, value_name = "SUITE", requires = "accuracy")]
    pub answers: Option<String>,
    /// With --answers: the share of items answered right (0..1), exactly, which ones chosen by
    /// --seed.
    #[arg(long, requires = "answers")]
    pub accuracy: Option<f64>,
    /// Print the listening line and the final counters as JSON.
    #[arg(long)]
    pub json: bool,
}

const SIMULATE_EXAMPLES: &str = "\
Examples:
  sizewise simulate llama-3.1-8b --hardware nvidia-h100-sxm          # feel an 8B model on an H100
  sizewise simulate phi-3-mini --hardware apple-m2 --port 8092
  sizewise simulate sim --ttft-ms 200 --tpot-ms 20 --port 0            # fixed delays
  sizewise simulate sim --ttft-ms 0 --tpot-ms 0 --error-rate 0.1 --drop-stream-after 5
  sizewise simulate large --ttft-ms 0 --tpot-ms 0 --answers sentiment --accuracy 0.9  # a model of known quality

Then point any OpenAI client at the printed URL, e.g.
  sizewise bench http://127.0.0.1:8091/v1 -m llama-3.1-8b -c 16

Estimated timing: TTFT follows the request's prompt length; the time per token follows the number
of requests decoding at that moment; requests past --max-batch queue. The text is deterministic
filler and `usage` counts it exactly. Ctrl-C stops the server and prints what it served.";

impl SimulateArgs {
    /// The timing to serve, a line that describes it, and the requests decoded at once.
    fn timing(&self, catalog: &Catalog) -> anyhow::Result<(Timing, String, u32)> {
        if let (Some(ttft), Some(tpot)) = (self.ttft_ms, self.tpot_ms) {
            for (name, v) in [("--ttft-ms", ttft), ("--tpot-ms", tpot)] {
                if !(v.is_finite() && (0.0..=600_000.0).contains(&v)) {
                    bail!("{name} must be between 0 and 600000 ms");
                }
            }
            if self.hardware.is_some() || self.engine.is_some() || self.precision.is_some() {
                bail!(
                    "--ttft-ms/--tpot-ms fix the timing; --hardware, --engine and --precision \
                     would be ignored, so drop one or the other"
                );
            }
            return Ok((
                Timing::fixed(ttft, tpot),
                format!("fixed timing: TTFT {ttft} ms, {tpot} ms per output token"),
                self.max_batch.unwrap_or(256),
            ));
        }
        let Some(hw) = &self.hardware else {
            bail!(
                "simulate needs --hardware HW to follow the estimator, or --ttft-ms and \
                 --tpot-ms for fixed delays\n  hint: sizewise hardware lists the devices"
            );
        };
        let model = catalog.model(&self.model)?.clone();
        let hardware = catalog.hardware_by_id(hw)?.clone();
        if let Some(m) = self.memory_gb {
            anyhow::ensure!(m.is_finite() && m > 0.0, "--memory-gb must be positive");
        }
        anyhow::ensure!(self.gpus >= 1, "--gpus must be at least 1");
        let scenario = Scenario {
            precision: self
                .precision
                .as_deref()
                .map(Precision::parse)
                .transpose()?,
            engine: self.engine.as_deref().map(Engine::parse).transpose()?,
            gpus: self.gpus,
            memory_gb: self.memory_gb,
            ..Scenario::default()
        };
        // The model must fit the device, as `fit` and `estimate` say; a server that could not
        // load it should not pretend to serve it.
        let probe = Scenario {
            prompt_tokens: 128,
            output_tokens: 32,
            ..scenario.clone()
        };
        let numbers = estimate_numbers(&model, &summarize(&model)?, &hardware, &probe)
            .with_context(|| format!("{} cannot be timed on {hw}", self.model))?;
        if !numbers.fits {
            let gib = |b: f64| b / f64::from(1u32 << 30);
            let gpus = if hardware.class.is_gpu() {
                format!("--gpus {}, ", numbers.min_devices.max(2))
            } else {
                String::new()
            };
            let smaller = match numbers.deployment.precision.name() {
                "q4_k_m" | "q4_0" | "q4_1" | "int4" => "q3_k_m or q2_k",
                _ => "q4_k_m",
            };
            bail!(
                "{} does not fit {hw} at {}: it needs {:.1} GiB, {:.1} GiB usable\n  hint: \
                 {gpus}a smaller --precision ({smaller}), or a larger device (sizewise fit {})",
                self.model,
                numbers.deployment.precision,
                gib(numbers.inference_memory_bytes),
                gib(numbers.usable_memory_bytes),
                self.model
            );
        }
        let engine = numbers.deployment.engine;
        let max_batch = self.max_batch.unwrap_or(match engine {
            Engine::LlamaCpp => 4,
            Engine::Transformers => 8,
            _ => 256,
        });
        let timing = Timing::Estimated {
            model: Box::new(model),
            hardware: Box::new(hardware),
            scenario: Box::new(scenario),
        };
        let (ttft1, tpot1) = timing
            .predict(128, 32, 1)
            .with_context(|| format!("{} cannot be timed on {hw}", self.model))?;
        let b = max_batch.clamp(1, 64);
        let (_, tpot_b) = timing.predict(128, 32, b)?;
        let about = format!(
            "{} at {}, up to {max_batch} requests at once; estimated for a 128-token \
             prompt: TTFT {:.1} ms, {:.2} ms per output token alone, {:.2} ms with {b} decoding",
            engine.name(),
            numbers.deployment.precision,
            ttft1.as_secs_f64() * 1e3,
            tpot1.as_secs_f64() * 1e3,
            tpot_b.as_secs_f64() * 1e3,
        );
        Ok((timing, about, max_batch))
    }
}

fn stats_json(s: &SimStats) -> serde_json::Value {
    json!({
        "requests": s.requests,
        "completed": s.completed,
        "rejected": s.rejected,
        "injected_errors": s.injected_errors,
        "dropped_streams": s.dropped_streams,
        "malformed": s.malformed,
        "peak_running": s.peak_running,
    })
}

/// Waits for Ctrl-C or, on Unix, SIGTERM (also how `serve` stops).
pub(crate) async fn stop_signal() {
    #[cfg(unix)]
    {
        let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
        match term {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The answers of `suite` (right on a share `accuracy` of its items).
pub(crate) fn suite_answers(suite: &str, accuracy: f64, seed: u64) -> anyhow::Result<Answers> {
    anyhow::ensure!(
        accuracy.is_finite() && (0.0..=1.0).contains(&accuracy),
        "--accuracy must be between 0 and 1, got {accuracy}"
    );
    let s = crate::cmd_eval::load_suite(suite)?;
    let items = s
        .items
        .iter()
        .map(|item| {
            let candidates = s.candidates(item);
            let wrong = match &item.target {
                Target::Label(i) | Target::Choice(i) if candidates.len() > 1 => {
                    candidates[(i + 1) % candidates.len()].clone()
                }
                Target::Number(x) => format!("{}", x + 1.0),
                _ => "I don't know.".to_string(),
            };
            AnswerItem {
                id: item.id.clone(),
                prompt: s.render(item),
                right: s.answer_text(item),
                wrong,
            }
        })
        .collect();
    Ok(Answers::new(items, accuracy, seed)?)
}

/// Runs `sizewise simulate` until Ctrl-C.
pub fn simulate(catalog: &Catalog, args: SimulateArgs) -> anyhow::Result<()> {
    let (timing, about, max_batch) = args.timing(catalog)?;
    let cfg = SimConfig {
        served_model: args.model.clone(),
        timing,
        max_batch,
        seed: args.seed,
        error_rate: args.error_rate,
        drop_stream_after: args.drop_stream_after,
        malformed_rate: args.malformed_rate,
        stall_ms: args.stall_ms,
        default_max_tokens: args.default_max_tokens,
        ..SimConfig::default()
    };
    let cfg = SimConfig {
        answers: match (&args.answers, args.accuracy) {
            (Some(suite), Some(acc)) => {
                Some(std::sync::Arc::new(suite_answers(suite, acc, args.seed)?))
            }
            _ => None,
        },
        ..cfg
    };
    cfg.validate()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let addr = format!("{}:{}", args.host, args.port);
    rt.block_on(async {
        let sim = sizewise_simulate::spawn(cfg, addr.as_str())
            .await
            .with_context(|| {
                format!(
                    "listening on {addr}\n  hint: pick another --port, or --port 0 for any free one"
                )
            })?;
        let mut out = std::io::stdout().lock();
        if args.json {
            writeln!(
                out,
                "{}",
                json!({"url": sim.base_url(), "model": args.model, "timing": about})
            )?;
        } else {
            writeln!(out, "sizewise simulate: {} ({about})", args.model)?;
            writeln!(out, "listening on {}  (Ctrl-C to stop)", sim.base_url())?;
        }
        out.flush()?;
        drop(out);
        stop_signal().await;
        let stats = sim.stats();
        sim.shutdown().await?;
        let mut out = std::io::stdout().lock();
        if args.json {
            writeln!(out, "{}", stats_json(&stats))?;
        } else {
            writeln!(
                out,
                "served {} requests: {} completed, {} rejected, {} injected errors, {} dropped \
                 streams, {} malformed; at most {} at once",
                stats.requests,
                stats.completed,
                stats.rejected,
                stats.injected_errors,
                stats.dropped_streams,
                stats.malformed,
                stats.peak_running
            )?;
        }
        anyhow::Ok(())
    })
}
