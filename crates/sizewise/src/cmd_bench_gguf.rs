//! `sizewise bench --gguf FILE`: prompt processing and generation speed of a local GGUF
//! model on this machine, in process (llama.cpp), measured the way llama-bench does: a
//! warm-up, then R repetitions of a fixed-length prompt of random tokens followed by a fixed
//! number of generated tokens; mean ± standard deviation over the repetitions. The estimator's
//! prediction for hardware `local` (from `sizewise probe`) is printed beside the measurement.

// Without the engine only the error path is compiled; the helpers stay for the tests.
#![cfg_attr(not(feature = "llama"), allow(dead_code))]

use serde::Serialize;
use serde_json::{Value, json};
use sizewise_catalog::Catalog;
use sizewise_estimate::PriorScale;
use sizewise_probe::round4;

/// Mean and sample standard deviation of a series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MeanSd {
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (n - 1); 0 for a single value.
    pub sd: f64,
}

impl MeanSd {
    /// Mean and standard deviation of `values`; `None` when empty or not all finite.
    pub fn of(values: &[f64]) -> Option<MeanSd> {
        if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let sd = if values.len() > 1 {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        Some(MeanSd { mean, sd })
    }
}

/// One repetition's figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    /// Prompt tokens evaluated per second of prefill.
    pub prefill_tokens_per_s: f64,
    /// Generated tokens per second of decoding (after the first token).
    pub decode_tokens_per_s: f64,
    /// Start of the request to the first generated token, ms.
    pub ttft_ms: f64,
    /// Mean time per output token after the first, ms.
    pub tpot_ms: f64,
}

/// Bytes of the KV cache for `context` tokens at f16 (llama.cpp's default cache type), from
/// the GGUF's attention geometry; `None` when the file does not say.
pub fn kv_cache_bytes(arch: &sizewise_gguf::GgufArchitecture, context: u64) -> Option<u64> {
    let layers = arch.block_count?;
    let kv_heads = arch.head_count_kv.or(arch.head_count)?;
    let head_dim = arch.head_dim()?;
    let k = arch.key_length.unwrap_or(head_dim);
    let v = arch.value_length.unwrap_or(head_dim);
    Some(layers * kv_heads * (k + v) * 2 * context)
}

/// A `Key:   N kB` line of `/proc/self/status` (Linux), in bytes.
fn proc_status_bytes(status: &str, key: &str) -> Option<u64> {
    let rest = status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))?;
    let kb: u64 = rest.split_whitespace().next()?.parse().ok()?;
    kb.checked_mul(1024)
}

/// The largest resident set this process has had, bytes (VmHWM).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    proc_status_bytes(&status, "VmHWM")
}

/// The resident set now, split into the process's own memory (RssAnon) and pages of mapped
/// files (RssFile: the program's and the model's): a mapped model's pages count in the
/// second, and stay there after llama.cpp has copied (repacked) weights into memory of its
/// own.
pub fn rss_split_bytes() -> Value {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return Value::Null;
    };
    json!({
        "anon": proc_status_bytes(&status, "RssAnon"),
        "file": proc_status_bytes(&status, "RssFile"),
    })
}

/// What the estimator needs to predict the benchmarked file on hardware `local`.
pub struct LocalTarget {
    model: sizewise_catalog::Model,
    scenario: sizewise_estimate::Scenario,
}

/// How a benchmark runs the file: what its estimate must assume.
#[derive(Debug, Clone, Copy)]
pub struct BenchShape {
    /// Prompt tokens per repetition.
    pub prompt_tokens: u64,
    /// Generated tokens per repetition.
    pub output_tokens: u64,
    /// The context the model is loaded with.
    pub context_tokens: u64,
    /// Threads.
    pub threads: u32,
    /// Whether the file is mapped (not read into memory).
    pub mapped: bool,
}

impl LocalTarget {
    /// The file as a catalog model, in the benchmark's scenario; `Err` says why there can be
    /// no estimate.
    pub fn new(
        catalog: &Catalog,
        path: &std::path::Path,
        gguf: &sizewise_gguf::GgufFile,
        shape: BenchShape,
    ) -> Result<LocalTarget, String> {
        let BenchShape {
            prompt_tokens,
            output_tokens,
            context_tokens,
            threads,
            mapped,
        } = shape;
        if !catalog.hardware().any(|h| h.id == sizewise_probe::LOCAL_ID) {
            return Err(
                "no hardware `local` yet: run `sizewise probe` to measure this machine".into(),
            );
        }
        let (model, weights) = sizewise_catalog::import::model_from_gguf_file(path, gguf)
            .map_err(|e| e.to_string())?;
        let scenario = sizewise_estimate::Scenario {
            precision: Some(crate::cmd_estimate::precision_of_file_type(
                weights.file_type,
            )),
            weight_bits: weights.bits_per_weight,
            engine: Some(sizewise_estimate::Engine::LlamaCpp),
            batch: 1,
            prompt_tokens,
            output_tokens,
            context: Some(context_tokens),
            threads: Some(threads),
            weight_types: crate::cmd_estimate::typed_weights(&weights),
            mapped,
            ..sizewise_estimate::Scenario::default()
        };
        Ok(LocalTarget { model, scenario })
    }

    /// The estimate with `scale` applied to the priors ([`PriorScale::NONE`]: the priors
    /// alone; `None`: the catalog's calibration, when there is one).
    pub fn numbers(
        &self,
        catalog: &Catalog,
        scale: Option<PriorScale>,
    ) -> Result<sizewise_estimate::Numbers, String> {
        let scenario = sizewise_estimate::Scenario {
            calibration: scale,
            ..self.scenario.clone()
        };
        let plan = crate::plan::plan(
            catalog,
            &self.model,
            Some(sizewise_probe::LOCAL_ID),
            &scenario,
            false,
        )
        .map_err(|e| format!("{e:#}"))?;
        plan.numbers
            .ok_or_else(|| "the estimator has no figures for this file".to_string())
    }

    /// The scales that make the estimate equal `decode` and `prefill` (measured tokens/s):
    /// each is solved by fixed-point iteration, since a per-layer cost and the other phase
    /// keep the speed from being exactly proportional to the efficiency.
    pub fn solve_scales(
        &self,
        catalog: &Catalog,
        decode: f64,
        prefill: f64,
    ) -> Result<PriorScale, String> {
        let (lo, hi) = sizewise_catalog::calibration::SCALE_RANGE;
        let mut scale = PriorScale::NONE;
        for _ in 0..8 {
            let n = self.numbers(catalog, Some(scale))?;
            let (d, p) = (n.decode_tokens_per_s.p50, n.prefill_tokens_per_s.p50);
            if !(d > 0.0 && p > 0.0 && d.is_finite() && p.is_finite()) {
                return Err("the estimate has no finite speed to calibrate".into());
            }
            scale = PriorScale {
                decode_bw: (scale.decode_bw * decode / d).clamp(lo, hi),
                prefill_mfu: (scale.prefill_mfu * prefill / p).clamp(lo, hi),
            };
            if ((decode / d) - 1.0).abs() < 1e-4 && ((prefill / p) - 1.0).abs() < 1e-4 {
                break;
            }
        }
        // A decode the estimate holds compute-bound, or factors at the end of their range,
        // cannot reach the measurement: such a calibration would mislead later estimates.
        let n = self.numbers(catalog, Some(scale))?;
        for (what, estimated, measured) in [
            ("generation", n.decode_tokens_per_s.p50, decode),
            ("prompt processing", n.prefill_tokens_per_s.p50, prefill),
        ] {
            if (estimated / measured - 1.0).abs() > 0.02 {
                return Err(format!(
                    "the estimate cannot reach the measured {what} speed ({estimated:.1} against {measured:.1} tokens/s) within the calibration's range: either `local`'s figures do not describe this machine (was it busy, or was sizewise a debug build, when `sizewise probe` ran? run it again), or the benchmark was too short to time (try the default --prompt-tokens 512 --output-tokens 128)"
                ));
            }
        }
        Ok(scale)
    }
}

/// The file's weight matrices by GGUF type, as the estimator sees them: the data behind
/// `scripts/decode-fit.sh`'s fit of the CPU kernels. Empty when the file has no estimate.
pub fn weights_by_type(target: &Result<LocalTarget, String>) -> Value {
    let Ok(t) = target else {
        return json!([]);
    };
    Value::Array(
        t.scenario
            .weight_types
            .iter()
            .map(|w| {
                json!({
                    "type": w.ggml_type,
                    "params": w.params,
                    "rows": w.rows,
                    "bytes": w.bytes,
                    "decode": w.decode,
                })
            })
            .collect(),
    )
}

/// The estimator's figures in the benchmark's JSON.
fn estimate_json(n: &sizewise_estimate::Numbers) -> Value {
    json!({
        "prefill_tokens_per_s": n.prefill_tokens_per_s.p50,
        "decode_tokens_per_s": n.decode_tokens_per_s.p50,
        "decode_tokens_per_s_band": [n.decode_tokens_per_s.p10, n.decode_tokens_per_s.p90],
        "ttft_ms": n.ttft_s.p50 * 1e3,
        "memory_bytes": n.inference_memory_bytes,
        "repacked_bytes": n.repacked_bytes,
        "peak_resident_bytes": n.peak_resident_bytes,
    })
}

/// The estimator's figures for the benchmarked file on hardware `local`: before calibration
/// (the priors alone), and with the calibration already in the catalog when there is one.
/// With no estimate, an object that says why.
pub fn local_estimate(catalog: &Catalog, target: &Result<LocalTarget, String>) -> Value {
    let reason = |r: &str| json!({ "hardware": sizewise_probe::LOCAL_ID, "unavailable": r });
    let target = match target {
        Ok(t) => t,
        Err(why) => return reason(why),
    };
    let mut v = match target.numbers(catalog, Some(PriorScale::NONE)) {
        Ok(n) => estimate_json(&n),
        Err(why) => return reason(&why),
    };
    v["hardware"] = json!(sizewise_probe::LOCAL_ID);
    v["basis"] = json!(
        "estimated from the GGUF's architecture and `sizewise probe`'s bandwidth and matmul figures for the threads used, before calibration"
    );
    let engine = sizewise_estimate::Engine::LlamaCpp.name();
    if let Some(c) = catalog.calibration(sizewise_probe::LOCAL_ID, engine)
        && let Ok(n) = target.numbers(catalog, None)
    {
        v["calibrated"] = estimate_json(&n);
        v["calibrated"]["basis"] = json!(c.provenance());
    }
    v
}

/// The measured over the estimated value of `key` in `estimate` (and in its `calibrated`
/// part), added beside them.
fn add_ratios(estimate: &mut Value, key: &str, ratio_key: &str, measured: Option<f64>) {
    let Some(m) = measured else { return };
    for part in [None, Some("calibrated")] {
        let slot = match part {
            Some(p) => &mut estimate[p],
            None => &mut *estimate,
        };
        if let Some(e) = slot[key].as_f64().filter(|e| *e > 0.0) {
            slot[ratio_key] = json!(m / e);
        }
    }
}

/// Writes `cal` as the catalog's calibration file in `dir`, after checking that the catalog
/// loader accepts it; returns its path.
pub fn write_calibration(
    dir: &std::path::Path,
    cal: &sizewise_catalog::Calibration,
) -> anyhow::Result<std::path::PathBuf> {
    use anyhow::Context;
    let folder = dir.join(sizewise_catalog::calibration::CALIBRATION_DIR);
    let path = folder.join(sizewise_catalog::Calibration::file_name(
        &cal.hardware,
        &cal.engine,
    ));
    let body = toml::to_string(cal).context("writing the calibration as TOML")?;
    let text = format!(
        "# Written by `sizewise bench --gguf`: measured efficiencies of {} on hardware `{}`.\n# Estimates for `{}` use them; delete this file, or pass --no-calibration, to use the priors alone.\n{body}",
        cal.engine, cal.hardware, cal.hardware
    );
    sizewise_catalog::load::parse_calibration(&path, &text)
        .context("the calibration does not load (please report this)")?;
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("creating the catalog folder {}", folder.display()))?;
    // Written beside, then renamed: a crash never leaves a half file that stops every command.
    let partial = path.with_extension("toml.partial");
    std::fs::write(&partial, text).with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Solves and writes the calibration of llama.cpp on `local` from this benchmark (`v`, its
/// JSON so far); says in JSON what was written, or why nothing was.
fn calibrate(
    catalog: &Catalog,
    target: &LocalTarget,
    v: &Value,
    decode: f64,
    prefill: f64,
    run_id: Option<String>,
) -> Value {
    let not_written = |why: String| json!({ "written": false, "why": why });
    let Some(dir) = crate::user_catalog_dir() else {
        return not_written("no config folder on this system".into());
    };
    let scale = match target.solve_scales(catalog, decode, prefill) {
        Ok(s) => s,
        Err(why) => return not_written(why),
    };
    let count = |key: &str| {
        v[key]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    };
    let cal = sizewise_catalog::Calibration {
        hardware: sizewise_probe::LOCAL_ID.to_string(),
        engine: sizewise_estimate::Engine::LlamaCpp.name().to_string(),
        decode_bandwidth_scale: round4(scale.decode_bw),
        prefill_compute_scale: round4(scale.prefill_mfu),
        measured_at: sizewise_probe::system::now_rfc3339(),
        model: v["model"].as_str().unwrap_or("?").to_string(),
        gguf: v["gguf"].as_str().unwrap_or("?").to_string(),
        synthetic: v["synthetic"].as_bool().unwrap_or(false),
        threads: count("threads"),
        prompt_tokens: count("prompt_tokens"),
        output_tokens: count("output_tokens"),
        measured_decode_tokens_per_s: round4(decode),
        measured_prefill_tokens_per_s: round4(prefill),
        estimated_decode_tokens_per_s: round4(
            v["estimate"]["decode_tokens_per_s"]
                .as_f64()
                .unwrap_or(f64::NAN),
        ),
        estimated_prefill_tokens_per_s: round4(
            v["estimate"]["prefill_tokens_per_s"]
                .as_f64()
                .unwrap_or(f64::NAN),
        ),
        run_id,
        sizewise_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    match write_calibration(&dir, &cal) {
        Ok(path) => json!({
            "written": true,
            "path": path.display().to_string(),
            "decode_bandwidth_scale": cal.decode_bandwidth_scale,
            "prefill_compute_scale": cal.prefill_compute_scale,
        }),
        Err(e) => not_written(format!("{e:#}")),
    }
}

/// `sizewise bench --gguf FILE`.
#[cfg(not(feature = "llama"))]
pub fn bench_gguf(_catalog: &Catalog, _args: crate::cmd_bench::BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!(
        "this sizewise was built without the llama.cpp engine, so it cannot run a GGUF file\n  hint: cargo install --path crates/sizewise --features llama (needs cmake and libclang-dev), or cargo run --release --features llama -- bench --gguf FILE"
    )
}

#[cfg(feature = "llama")]
pub use engine_bench::bench_gguf;

#[cfg(feature = "llama")]
mod engine_bench {
    use std::ops::ControlFlow;
    use std::time::Duration;

    use anyhow::Context;
    use indicatif::{ProgressBar, ProgressStyle};
    use serde_json::{Value, json};
    use sizewise_catalog::Catalog;
    use sizewise_engine::{
        Engine, FinishReason, GenParams, LoadOptions, Prompt, random_prompt_tokens,
    };
    use sizewise_store::{RunKind, RunStatus};

    use super::{
        BenchShape, LocalTarget, MeanSd, Sample, add_ratios, calibrate, kv_cache_bytes,
        local_estimate, peak_rss_bytes, rss_split_bytes, weights_by_type,
    };
    use crate::cmd_bench::{BenchArgs, BenchFormat};

    /// `sizewise bench --gguf FILE`.
    pub fn bench_gguf(catalog: &Catalog, args: BenchArgs) -> anyhow::Result<()> {
        let Some(path) = args.gguf.clone() else {
            anyhow::bail!("bench --gguf needs a file");
        };
        anyhow::ensure!(
            args.repetitions >= 1,
            "--repetitions must be at least 1\n  hint: llama-bench uses 5"
        );
        anyhow::ensure!(
            args.prompt_tokens != Some(0) && args.output_tokens.is_none_or(|n| n >= 2),
            "--prompt-tokens must be at least 1 and --output-tokens at least 2 (decode speed is measured after the first token)"
        );
        let json_out = args.json || args.format == BenchFormat::Json;
        let prompt_tokens = args.prompt_tokens.unwrap_or(512);
        let output_tokens = args.output_tokens.unwrap_or(128);
        let threads = args
            .threads
            .unwrap_or_else(sizewise_engine::default_threads);
        let context = prompt_tokens.saturating_add(output_tokens);
        anyhow::ensure!(
            context <= 1 << 20,
            "--prompt-tokens plus --output-tokens is {context}, over the 1,048,576 tokens a benchmark context may hold"
        );
        let gguf = sizewise_gguf::GgufFile::open(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let arch = gguf.architecture();
        let kv_bytes = kv_cache_bytes(&arch, u64::from(context));

        let store = if args.no_store {
            None
        } else {
            Some(args.store.open()?)
        };
        let params = json!({
            "gguf": path.display().to_string(),
            "prompt_tokens": prompt_tokens,
            "output_tokens": output_tokens,
            "repetitions": args.repetitions,
            "warmup": args.warmup.min(1),
            "threads": threads,
            "mmap": !args.no_mmap,
            "seed": args.seed,
        });
        let run = match &store {
            Some(s) => Some(
                s.begin(
                    RunKind::EngineBench,
                    &path.display().to_string(),
                    &params,
                    env!("CARGO_PKG_VERSION"),
                )
                .context("saving the run")?,
            ),
            None => None,
        };

        let pb = ProgressBar::new(u64::from(args.repetitions) + 1);
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} bench --gguf [{bar:30}] {pos}/{len} {elapsed_precise} {wide_msg:.dim}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb.enable_steady_tick(Duration::from_millis(120));
        pb.set_message("loading");
        let mut engine = Engine::load(
            &path,
            LoadOptions {
                threads,
                context_tokens: Some(context),
                batch_tokens: prompt_tokens.clamp(32, 2048),
                use_mmap: !args.no_mmap,
                ..LoadOptions::default()
            },
        )
        .with_context(|| format!("loading {}", path.display()))?;
        let info = engine.info().clone();
        let vocab_size = info.vocab_size;
        let interrupted = crate::interrupt::InterruptFlag::install();
        let gen_params = GenParams {
            max_tokens: output_tokens,
            ignore_eos: true,
            ..GenParams::default()
        };
        let mut one = |seed: u64, max_tokens: u32| -> anyhow::Result<Option<Sample>> {
            let prompt = Prompt::Tokens(random_prompt_tokens(
                prompt_tokens as usize,
                vocab_size,
                seed,
            ));
            let params = GenParams {
                max_tokens,
                ..gen_params.clone()
            };
            let g = engine
                .generate(&prompt, &params, |_| {
                    if interrupted.is_set() {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                })
                .context("generating")?;
            if g.finish_reason == FinishReason::Cancelled {
                return Ok(None);
            }
            let steps = g.timings.decode_step_s.len();
            let prefill = g.prefill_tokens_per_s().unwrap_or(f64::NAN);
            let decode = g.timings.decode_tokens_per_s().unwrap_or(f64::NAN);
            Ok(Some(Sample {
                prefill_tokens_per_s: prefill,
                decode_tokens_per_s: decode,
                ttft_ms: g.timings.ttft_s.unwrap_or(f64::NAN) * 1e3,
                tpot_ms: if steps > 0 {
                    g.timings.decode_s / steps as f64 * 1e3
                } else {
                    f64::NAN
                },
            }))
        };

        let mut samples = Vec::new();
        let mut cancelled = false;
        if args.warmup > 0 {
            pb.set_message("warm-up");
            cancelled = one(args.seed.wrapping_add(u64::MAX), 4)?.is_none();
        }
        pb.inc(1);
        for r in 0..args.repetitions {
            if cancelled {
                break;
            }
            pb.set_message(format!("repetition {}/{}", r + 1, args.repetitions));
            match one(args.seed.wrapping_add(u64::from(r)), output_tokens)? {
                Some(s) => samples.push(s),
                None => cancelled = true,
            }
            pb.inc(1);
        }
        pb.finish_and_clear();

        let stat = |f: fn(&Sample) -> f64| MeanSd::of(&samples.iter().map(f).collect::<Vec<_>>());
        let target = LocalTarget::new(
            catalog,
            &path,
            &gguf,
            BenchShape {
                prompt_tokens: u64::from(prompt_tokens),
                output_tokens: u64::from(output_tokens),
                context_tokens: u64::from(context),
                threads,
                mapped: !args.no_mmap,
            },
        );
        let estimate = local_estimate(catalog, &target);
        let decode = stat(|s| s.decode_tokens_per_s);
        let prefill = stat(|s| s.prefill_tokens_per_s);
        let peak_rss = peak_rss_bytes();
        let mut v = json!({
            "gguf": path.display().to_string(),
            "model": info.name,
            "synthetic": gguf.is_synthetic(),
            "architecture": info.architecture,
            "parameters": info.parameters,
            "model_bytes": info.model_bytes,
            "weight_bytes": info.weight_bytes,
            "kv_bytes": kv_bytes,
            "context_tokens": info.context_tokens,
            "engine": "llama.cpp (in process)",
            "threads": info.threads,
            "mmap": !args.no_mmap,
            "prompt_tokens": prompt_tokens,
            "output_tokens": output_tokens,
            "repetitions": samples.len(),
            "load_s": info.load_s,
            "prefill_tokens_per_s": prefill,
            "decode_tokens_per_s": decode,
            "ttft_ms": stat(|s| s.ttft_ms),
            "tpot_ms": stat(|s| s.tpot_ms),
            "peak_rss_bytes": peak_rss,
            "rss_at_end_bytes": rss_split_bytes(),
            "status": if cancelled { "incomplete" } else { "complete" },
            "estimate": estimate,
            "weights_by_type": weights_by_type(&target),
            "samples": samples,
        });
        add_ratios(
            &mut v["estimate"],
            "decode_tokens_per_s",
            "measured_over_estimated",
            decode.map(|d| d.mean),
        );
        add_ratios(
            &mut v["estimate"],
            "prefill_tokens_per_s",
            "prefill_measured_over_estimated",
            prefill.map(|p| p.mean),
        );
        add_ratios(
            &mut v["estimate"],
            "peak_resident_bytes",
            "peak_rss_over_estimated_memory",
            peak_rss.map(|m| m as f64),
        );

        let mut run_id = None;
        if let Some(run) = run {
            let rows: Vec<Value> = samples
                .iter()
                .enumerate()
                .map(|(i, s)| json!({"repetition": i + 1, "sample": s}))
                .collect();
            run.add_rows(&rows).context("saving the run")?;
            let status = if cancelled {
                RunStatus::Incomplete
            } else {
                RunStatus::Complete
            };
            let id = run.finish(status, Some(&v)).context("saving the run")?;
            v["run_id"] = json!(id.to_string());
            run_id = Some(id.to_string());
        }
        if !cancelled && !args.no_calibrate {
            v["calibration"] = match (&target, decode, prefill) {
                (Ok(t), Some(d), Some(p)) => calibrate(catalog, t, &v, d.mean, p.mean, run_id),
                (Err(why), _, _) => json!({ "written": false, "why": why }),
                _ => json!({ "written": false, "why": "no finite measurement" }),
            };
        }

        if json_out {
            crate::table::print_json(&v)?;
        } else {
            print_table(&v);
        }
        if cancelled {
            eprintln!(
                "interrupted: {} of {} repetitions measured",
                samples.len(),
                args.repetitions
            );
            std::process::exit(130);
        }
        Ok(())
    }

    fn print_table(v: &Value) {
        let ms = |key: &str, unit: &str, digits: usize| match (
            v[key]["mean"].as_f64(),
            v[key]["sd"].as_f64(),
        ) {
            (Some(m), Some(s)) => format!("{m:.digits$} ± {s:.digits$} {unit}"),
            _ => "-".to_string(),
        };
        println!(
            "{} ({}, {} parameters) — llama.cpp in process, {} threads, {} prompt + {} output tokens, {} repetitions",
            v["model"].as_str().unwrap_or("model"),
            v["architecture"].as_str().unwrap_or("?"),
            crate::human::count(v["parameters"].as_f64().unwrap_or(0.0)),
            v["threads"],
            v["prompt_tokens"],
            v["output_tokens"],
            v["repetitions"],
        );
        let mut t = crate::table::new(&[
            "metric",
            "measured (mean ± sd)",
            "estimated for `local` (priors)",
        ]);
        let est = &v["estimate"];
        let e = |key: &str, unit: &str| {
            est[key]
                .as_f64()
                .map_or("-".to_string(), |x| format!("{x:.1} {unit}"))
        };
        t.add_row(vec![
            "prompt processing".to_string(),
            ms("prefill_tokens_per_s", "tokens/s", 1),
            e("prefill_tokens_per_s", "tokens/s"),
        ]);
        t.add_row(vec![
            "generation".to_string(),
            ms("decode_tokens_per_s", "tokens/s", 1),
            e("decode_tokens_per_s", "tokens/s"),
        ]);
        t.add_row(vec![
            "time to first token".to_string(),
            ms("ttft_ms", "ms", 1),
            e("ttft_ms", "ms"),
        ]);
        t.add_row(vec![
            "time per output token".to_string(),
            ms("tpot_ms", "ms", 2),
            "-".to_string(),
        ]);
        let bytes = |x: &Value| x.as_f64().map_or("-".to_string(), crate::human::bytes);
        t.add_row(vec![
            "peak memory (RSS)".to_string(),
            bytes(&v["peak_rss_bytes"]),
            bytes(&est["peak_resident_bytes"]),
        ]);
        t.add_row(vec![
            "resident at the end: own / mapped files".to_string(),
            format!(
                "{} / {}",
                bytes(&v["rss_at_end_bytes"]["anon"]),
                bytes(&v["rss_at_end_bytes"]["file"])
            ),
            "-".to_string(),
        ]);
        t.add_row(vec![
            "model file / KV cache".to_string(),
            format!("{} / {}", bytes(&v["model_bytes"]), bytes(&v["kv_bytes"])),
            "-".to_string(),
        ]);
        t.add_row(vec![
            "load time".to_string(),
            v["load_s"]
                .as_f64()
                .map_or("-".to_string(), |s| format!("{:.2} s", s)),
            "-".to_string(),
        ]);
        println!("{t}");
        if v["synthetic"].as_bool() == Some(true) {
            println!(
                "synthetic weights (written by `sizewise synth`): the speed and memory are real, the text it generates is not"
            );
        }
        if let Some(why) = est["unavailable"].as_str() {
            println!("no estimate: {why}");
        }
        if let Some(basis) = est["calibrated"]["basis"].as_str() {
            println!(
                "calibrated estimate: generation {:.1} tokens/s, prompt processing {:.1} tokens/s ({basis})",
                est["calibrated"]["decode_tokens_per_s"]
                    .as_f64()
                    .unwrap_or(f64::NAN),
                est["calibrated"]["prefill_tokens_per_s"]
                    .as_f64()
                    .unwrap_or(f64::NAN),
            );
        }
        match (
            v["calibration"]["written"].as_bool(),
            v["calibration"]["path"].as_str(),
        ) {
            (Some(true), Some(path)) => println!(
                "calibration of llama.cpp on `local` written to {path} (--no-calibrate to leave it)"
            ),
            (Some(false), _) => println!(
                "no calibration written: {}",
                v["calibration"]["why"].as_str().unwrap_or("unknown")
            ),
            _ => {}
        }
        if let Some(id) = v["run_id"].as_str() {
            println!("saved as run {id} (sizewise runs show {id})");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_sd() {
        let m = MeanSd::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert!((m.mean - 5.0).abs() < 1e-12);
        assert!((m.sd - 2.138_089_935).abs() < 1e-6);
        assert_eq!(MeanSd::of(&[3.0]).unwrap().sd, 0.0);
        assert!(MeanSd::of(&[]).is_none());
        assert!(MeanSd::of(&[1.0, f64::NAN]).is_none());
    }

    #[test]
    fn proc_status_lines_are_read_in_bytes() {
        let status =
            "VmHWM:\t  229924 kB\nRssAnon:\t   12 kB\nRssFile:\t 100 kB\nRssShmem:\t 0 kB\n";
        assert_eq!(proc_status_bytes(status, "VmHWM"), Some(229_924 * 1024));
        assert_eq!(proc_status_bytes(status, "RssFile"), Some(100 * 1024));
        // A key is matched whole, not as a prefix of another.
        assert_eq!(proc_status_bytes(status, "Rss"), None);
        assert_eq!(proc_status_bytes("VmHWM: lots kB", "VmHWM"), None);
    }

    #[test]
    fn kv_bytes_follow_the_attention_geometry() {
        let arch = sizewise_gguf::GgufArchitecture {
            architecture: Some("llama".into()),
            name: None,
            block_count: Some(30),
            embedding_length: Some(576),
            feed_forward_length: Some(1536),
            head_count: Some(9),
            head_count_kv: Some(3),
            key_length: None,
            value_length: None,
            context_length: Some(8192),
            expert_count: None,
            expert_used_count: None,
            sliding_window: None,
            vocab_size: Some(49_152),
            has_output_weight: false,
            file_type: None,
            file_type_name: None,
            dominant_type: None,
            parameter_count: 0,
            weight_bytes: 0,
            bits_per_weight: None,
        };
        // 30 layers x 3 KV heads x (64 + 64) x 2 bytes x 1000 tokens.
        assert_eq!(kv_cache_bytes(&arch, 1000), Some(30 * 3 * 128 * 2 * 1000));
    }
}
