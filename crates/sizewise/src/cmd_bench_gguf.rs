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

/// Token ids for a benchmark prompt: `n` draws from `1..vocab_size` (llama-bench also feeds
/// random tokens; their content does not change the cost of evaluating them), reproducible
/// from `seed`. Id 0 is left out because many vocabularies put a control token there.
pub fn random_tokens(n: usize, vocab_size: usize, seed: u64) -> Vec<i32> {
    let top = vocab_size.clamp(2, i32::MAX as usize) as u64;
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            // splitmix64
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (1 + z % (top - 1)) as i32
        })
        .collect()
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

/// The largest resident set this process has had, bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    // VmHWM is the peak resident set, in kB, on Linux.
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The estimator's figures for the benchmarked file on hardware `local`, or why there are
/// none.
pub fn local_estimate(
    catalog: &Catalog,
    path: &std::path::Path,
    prompt_tokens: u64,
    output_tokens: u64,
    context_tokens: u64,
) -> Value {
    let reason = |r: String| json!({ "hardware": sizewise_probe::LOCAL_ID, "unavailable": r });
    if !catalog.hardware().any(|h| h.id == sizewise_probe::LOCAL_ID) {
        return reason(
            "no hardware `local` yet: run `sizewise probe` to measure this machine".into(),
        );
    }
    let (model, weights) = match sizewise_catalog::import::model_from_gguf(path) {
        Ok(m) => m,
        Err(e) => return reason(e.to_string()),
    };
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
        ..sizewise_estimate::Scenario::default()
    };
    let plan = match crate::plan::plan(
        catalog,
        &model,
        Some(sizewise_probe::LOCAL_ID),
        &scenario,
        false,
    ) {
        Ok(p) => p,
        Err(e) => return reason(format!("{e:#}")),
    };
    let Some(n) = plan.numbers else {
        return reason("the estimator has no figures for this file".into());
    };
    json!({
        "hardware": sizewise_probe::LOCAL_ID,
        "basis": "estimated from the GGUF's architecture and `sizewise probe`'s bandwidth and matmul figures, before calibration",
        "prefill_tokens_per_s": n.prefill_tokens_per_s.p50,
        "decode_tokens_per_s": n.decode_tokens_per_s.p50,
        "decode_tokens_per_s_band": [n.decode_tokens_per_s.p10, n.decode_tokens_per_s.p90],
        "ttft_ms": n.ttft_s.p50 * 1e3,
        "memory_bytes": n.inference_memory_bytes,
    })
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
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use anyhow::Context;
    use indicatif::{ProgressBar, ProgressStyle};
    use serde_json::{Value, json};
    use sizewise_catalog::Catalog;
    use sizewise_engine::{Engine, FinishReason, GenParams, LoadOptions, Prompt};
    use sizewise_store::{RunKind, RunStatus};

    use super::{MeanSd, Sample, kv_cache_bytes, local_estimate, peak_rss_bytes, random_tokens};
    use crate::cmd_bench::{BenchArgs, BenchFormat};

    /// Ctrl-C sets a flag that the generation loop reads between tokens.
    fn interrupt_flag() -> Arc<AtomicBool> {
        let flag = Arc::new(AtomicBool::new(false));
        let set = flag.clone();
        std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            if rt.block_on(tokio::signal::ctrl_c()).is_ok() {
                set.store(true, Ordering::SeqCst);
            }
        });
        flag
    }

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
                ..LoadOptions::default()
            },
        )
        .with_context(|| format!("loading {}", path.display()))?;
        let info = engine.info().clone();
        let vocab_size = info.vocab_size;
        let interrupted = interrupt_flag();
        let gen_params = GenParams {
            max_tokens: output_tokens,
            ignore_eos: true,
            ..GenParams::default()
        };
        let mut one = |seed: u64, max_tokens: u32| -> anyhow::Result<Option<Sample>> {
            let prompt = Prompt::Tokens(random_tokens(prompt_tokens as usize, vocab_size, seed));
            let params = GenParams {
                max_tokens,
                ..gen_params.clone()
            };
            let g = engine
                .generate(&prompt, &params, |_| {
                    if interrupted.load(Ordering::SeqCst) {
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
        let estimate = local_estimate(
            catalog,
            &path,
            u64::from(prompt_tokens),
            u64::from(output_tokens),
            u64::from(context),
        );
        let decode = stat(|s| s.decode_tokens_per_s);
        let peak_rss = peak_rss_bytes();
        let mut v = json!({
            "gguf": path.display().to_string(),
            "model": info.name,
            "architecture": info.architecture,
            "parameters": info.parameters,
            "model_bytes": info.model_bytes,
            "weight_bytes": info.weight_bytes,
            "kv_bytes": kv_bytes,
            "context_tokens": info.context_tokens,
            "engine": "llama.cpp (in process)",
            "threads": info.threads,
            "prompt_tokens": prompt_tokens,
            "output_tokens": output_tokens,
            "repetitions": samples.len(),
            "load_s": info.load_s,
            "prefill_tokens_per_s": stat(|s| s.prefill_tokens_per_s),
            "decode_tokens_per_s": decode,
            "ttft_ms": stat(|s| s.ttft_ms),
            "tpot_ms": stat(|s| s.tpot_ms),
            "peak_rss_bytes": peak_rss,
            "status": if cancelled { "incomplete" } else { "complete" },
            "estimate": estimate,
            "samples": samples,
        });
        if let (Some(d), Some(e)) = (decode, v["estimate"]["decode_tokens_per_s"].as_f64()) {
            v["estimate"]["measured_over_estimated"] = json!(d.mean / e);
        }
        if let (Some(m), Some(e)) = (peak_rss, v["estimate"]["memory_bytes"].as_f64()) {
            v["estimate"]["peak_rss_over_estimated_memory"] = json!(m as f64 / e);
        }

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
        let mut t = crate::table::new(&["metric", "measured (mean ± sd)", "estimated for `local`"]);
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
            bytes(&est["memory_bytes"]),
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
        if let Some(why) = est["unavailable"].as_str() {
            println!("no estimate: {why}");
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
    fn random_tokens_are_in_range_and_reproducible() {
        let a = random_tokens(512, 49_152, 7);
        assert_eq!(a.len(), 512);
        assert!(a.iter().all(|&t| (1..49_152).contains(&t)));
        assert_eq!(a, random_tokens(512, 49_152, 7));
        assert_ne!(a, random_tokens(512, 49_152, 8));
        // A degenerate vocabulary still gives valid ids.
        assert!(random_tokens(8, 0, 1).iter().all(|&t| t == 1));
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
