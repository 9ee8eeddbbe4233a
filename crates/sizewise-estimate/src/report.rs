//! Turns numbers into the estimate report: every leaf with its unit and basis
//! (the formula and inputs, and the source of each prior).

use serde_json::{Map, Value, json};
use sizewise_catalog::{Hardware, HardwareClass, Model};

use crate::core::{Band, Numbers, Scenario};
use crate::precision::GGUF_BPW_SOURCE;
use crate::priors::TRAINING_MFU_BASIS;
use crate::{ArchSummary, core};

/// An estimated leaf: `{"p10","p50","p90","unit","basis"}`.
pub fn leaf(b: Band, unit: &str, basis: String) -> Value {
    json!({"p10": b.p10, "p50": b.p50, "p90": b.p90, "unit": unit, "basis": basis})
}

/// An exact derived leaf (no spread: it follows from the architecture).
pub fn exact(v: f64, unit: &str, basis: String) -> Value {
    leaf(Band::exact(v), unit, basis)
}

/// A published leaf: a catalog fact with its source.
pub fn published(v: Value, unit: &str, source: Option<&str>) -> Value {
    json!({"value": v, "unit": unit, "kind": "published", "source": source})
}

fn gb(x: f64) -> String {
    format!("{:.2} GiB", x / 1024f64.powi(3))
}

/// Human scale of a count, as the article puts it: a million seconds is about
/// 11.6 days, a billion about 31.7 years, a trillion about 31,700 years. Said
/// in words ("8.03 billion seconds"), never in e-notation.
pub fn human_scale(count: f64) -> String {
    let secs = count;
    let days = secs / 86400.0;
    let years = days / 365.25;
    if years >= 1.0 {
        format!(
            "{} seconds would be about {} years",
            in_words(count),
            fmt_thousands(years)
        )
    } else {
        format!("{} seconds would be about {days:.1} days", in_words(count))
    }
}

/// 8030000000 as "8.03 billion" (short scale, three significant digits).
fn in_words(x: f64) -> String {
    const NAMES: [(f64, &str); 5] = [
        (1e15, "quadrillion"),
        (1e12, "trillion"),
        (1e9, "billion"),
        (1e6, "million"),
        (1e3, "thousand"),
    ];
    let a = x.abs();
    for (scale, name) in NAMES {
        if a >= scale {
            let v = x / scale;
            let digits = if v.abs() >= 100.0 {
                0
            } else if v.abs() >= 10.0 {
                1
            } else {
                2
            };
            return if a >= 1000.0 * 1e15 {
                format!("{} {name}", fmt_thousands(v))
            } else {
                format!("{v:.digits$} {name}")
            };
        }
    }
    format!("{x:.0}")
}

/// The compute backend an engine uses on this hardware, for the runtime-memory
/// basis: Metal on Apple chips, CUDA on NVIDIA, ROCm on AMD GPUs, CPU elsewhere.
pub fn backend(h: &Hardware, engine: crate::Engine) -> &'static str {
    let vendor = h.vendor.to_ascii_lowercase();
    match h.class {
        HardwareClass::Cpu => "CPU",
        _ if vendor.contains("apple") => "Metal",
        _ if vendor.contains("nvidia") => "CUDA",
        HardwareClass::DatacenterGpu | HardwareClass::ConsumerGpu if vendor.contains("amd") => {
            "ROCm"
        }
        HardwareClass::DatacenterGpu | HardwareClass::ConsumerGpu if vendor.contains("intel") => {
            "SYCL"
        }
        _ if engine == crate::Engine::LlamaCpp => "CPU",
        _ => "GPU",
    }
}

fn fmt_thousands(x: f64) -> String {
    let r = x.round() as u64;
    if x < 100.0 {
        return format!("{x:.1}");
    }
    let s = r.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn opt(v: Option<Value>) -> Value {
    v.unwrap_or(Value::Null)
}

/// The full estimate as JSON: `model`, `hardware`, `scenario` and one section per
/// dimension (`size`, `training_data`, `training_time`, `compute`, `inference`,
/// `context_window`, `cost`, `performance`, `latency`, `quality`, `energy`).
pub fn estimate_json(m: &Model, a: &ArchSummary, h: &Hardware, s: &Scenario, n: &Numbers) -> Value {
    estimate_json_with_training(m, a, h, s, n, None)
}

/// [`estimate_json`] with training figures (`training_time`, `cost.training_usd`,
/// `energy.training_*`) taken from `train`: the estimate of the same model on
/// the training device (see `sizewise estimate --train-hardware`). Without it
/// they come from `n`, on the inference device `h`.
pub fn estimate_json_with_training(
    m: &Model,
    a: &ArchSummary,
    h: &Hardware,
    s: &Scenario,
    n: &Numbers,
    train: Option<(&Hardware, &Numbers)>,
) -> Value {
    let (th, tn) = train.unwrap_or((h, n));
    let d = &n.deployment;
    let p = d.precision;
    let g = s.gpus;
    let b = s.batch;
    let pri = &d.priors;
    let eng = d.engine.name();
    let bw = d.bandwidth / 1e9;
    let peak = d.peak_flops / 1e12;
    let ctx = s.context.unwrap_or(s.prompt_tokens + s.output_tokens);
    let bpw_src = if p.is_gguf() {
        GGUF_BPW_SOURCE
    } else {
        "format definition"
    };
    let mfu_basis = format!(
        "{} prefill MFU p10/p50/p90 {:.2}/{:.2}/{:.2}, decode bandwidth efficiency {:.2}/{:.2}/{:.2}, per-layer overhead {:.0}/{:.0}/{:.0} µs ({})",
        eng,
        pri.prefill_mfu.lo,
        pri.prefill_mfu.mid,
        pri.prefill_mfu.hi,
        pri.decode_bw.lo,
        pri.decode_bw.mid,
        pri.decode_bw.hi,
        pri.per_layer_s.hi * 1e6,
        pri.per_layer_s.mid * 1e6,
        pri.per_layer_s.lo * 1e6,
        match d.calibration {
            Some(c) => format!(
                "{}; calibrated on this machine: decode x{:.2}, prefill x{:.2}",
                pri.basis, c.decode_bw, c.prefill_mfu
            ),
            None => pri.basis.to_string(),
        }
    );
    let peak_note = if d.peak_is_estimate {
        " (third-party estimate: the vendor publishes none)"
    } else {
        ""
    };

    let size = json!({
        "params": match m.params_total {
            Some(v) => published(json!(v), "parameters", m.source_of("params_total")),
            None => exact(a.params.total, "parameters", "counted from the architecture".into()),
        },
        "params_active": exact(a.params.active, "parameters", if a.moe.is_some() {
            "counted from the architecture: shared weights plus the experts each token is routed to".into()
        } else { "dense model: every parameter is used for every token".into() }),
        "params_counted": exact(a.params.total, "parameters", format!(
            "embedding {:.0} + blocks {:.0} + output head {} (architecture in the catalog)",
            a.params.embedding, a.params.blocks_total,
            if m.architecture.as_ref().is_some_and(|x| x.tied_embeddings) { "tied".to_string() } else { format!("{:.0}", a.params.lm_head) })),
        "weights_bytes": exact(n.weights_bytes, "bytes", match s.weight_bits {
            Some(b) => format!("{:.4e} params x {b:.3} bits/weight (the file's tensors)", a.params.total),
            None => format!("{:.4e} params x {} bits/weight ({p}; {bpw_src})", a.params.total, p.bits_per_weight()),
        }),
        "bytes_at": {
            "fp16": exact(a.params.total * 2.0, "bytes", "2 bytes per parameter".into()),
            "int8": exact(a.params.total, "bytes", "1 byte per parameter".into()),
            "q4_k_m": exact(a.params.total * 4.84 / 8.0, "bytes", format!("4.84 bits per parameter ({GGUF_BPW_SOURCE})")),
        },
        "human_scale": human_scale(m.params_total.unwrap_or(a.params.total)),
    });

    let tokens_basis = if n.training_tokens_assumed {
        format!(
            "undisclosed or unknown: assumed compute-optimal, {}x params (Chinchilla, arXiv 2203.15556)",
            core::CHINCHILLA_TOKENS_PER_PARAM
        )
    } else if s.training_tokens.is_some() {
        "--training-tokens".to_string()
    } else {
        format!(
            "catalog ({})",
            m.source_of("training_tokens").unwrap_or("no source")
        )
    };
    let training_data = json!({
        "training_tokens": match (m.training_tokens, s.training_tokens) {
            (Some(t), None) => published(json!(t), "tokens", m.source_of("training_tokens")),
            _ => exact(n.training_tokens, "tokens", tokens_basis.clone()),
        },
        "undisclosed": m.is_undisclosed("training_tokens"),
        "tokens_per_param": exact(n.training_tokens / a.params.total, "tokens/parameter", format!("{tokens_basis} / total parameters")),
        "compute_optimal_tokens": exact(core::CHINCHILLA_TOKENS_PER_PARAM * a.params.total, "tokens",
            "20 tokens per parameter (Hoffmann et al. 2022, arXiv 2203.15556)".into()),
    });

    let train_peak = th
        .bf16_tflops
        .or(th.fp16_tflops)
        .or(th.fp32_tflops)
        .unwrap_or(tn.deployment.peak_flops / 1e12);
    let train_on = format!("{} x {}", s.train_gpus, th.id);
    let training_time = json!({
        "flops": exact(tn.training_flops, "FLOP", format!("{}·N·D = {} x {:.4e} active params x {:.4e} tokens ({tokens_basis})",
            if s.recompute {8} else {6}, if s.recompute {8} else {6}, a.params.active, tn.training_tokens)),
        "mfu": leaf(tn.training_mfu, "fraction", TRAINING_MFU_BASIS.into()),
        "gpu_hours": leaf(tn.training_device_hours, "device-hours", format!(
            "FLOPs / ({train_peak} TFLOPS {} peak of {} x MFU) / 3600 (training device: --train-hardware)",
            if th.bf16_tflops.is_some() {"bf16"} else {"dense"}, th.id)),
        "wall_time_s": leaf(tn.training_wall_s, "s", format!("device-hours / {train_on} (--train-gpus, --train-hardware), perfect scaling assumed")),
        "train_gpus": s.train_gpus,
        "train_hardware": th.id,
        "finetune_full_gpu_hours": leaf(tn.finetune_full_hours, "device-hours", format!("6·N·D on {:.3e} tokens (--finetune-tokens) on {}", s.finetune_tokens, th.id)),
        "finetune_lora_gpu_hours": leaf(tn.finetune_lora_hours, "device-hours", format!("4·N·D on {:.3e} tokens on {}: LoRA skips weight gradients (about 2/3 of full fine-tuning compute)", s.finetune_tokens, th.id)),
    });

    let compute = json!({
        "inference_memory_bytes": exact(n.inference_memory_bytes, "bytes", format!(
            "weights {} + KV cache {} + activations {} x {g} + runtime {} x {g} ({eng})",
            gb(n.weights_bytes), gb(n.kv_bytes), gb(n.activation_bytes), gb(n.runtime_bytes))),
        "weights_bytes": exact(n.weights_bytes, "bytes", format!("{p} weights")),
        "kv_cache_bytes": exact(n.kv_bytes, "bytes", format!("batch {b} x {ctx} tokens x KV bytes per token")),
        "activation_bytes": exact(n.activation_bytes, "bytes", "largest transient: one prefill chunk of hidden and FFN activations, plus logits".into()),
        "runtime_bytes": exact(n.runtime_bytes, "bytes", format!("{eng} runtime ({} context, buffers) typical size", backend(h, d.engine))),
        "usable_memory_bytes": exact(n.usable_memory_bytes, "bytes", format!(
            "{} x {} x {:.0}% usable ({})", g, gb(d.memory_bytes), d.usable_fraction * 100.0, h.class.as_str())),
        "fits": n.fits,
        "headroom_bytes": exact(n.usable_memory_bytes - n.inference_memory_bytes, "bytes", "usable memory - memory needed (negative: does not fit)".into()),
        "devices": g,
        "min_devices": if n.min_devices == u32::MAX { Value::Null } else { json!(n.min_devices) },
        "training_memory_bytes": exact(n.train_memory_full, "bytes", format!(
            "{} bytes/param (bf16 weights and grads, fp32 Adam master and moments) + activations with full recomputation at {} tokens", core::TRAIN_BYTES_PER_PARAM, core::TRAIN_SEQ)),
        "lora_memory_bytes": exact(n.train_memory_lora, "bytes", format!("bf16 frozen weights + rank-{} adapters on q,k,v,o at 16 bytes/param + activations", core::LORA_RANK)),
        "qlora_memory_bytes": exact(n.train_memory_qlora, "bytes", "4-bit NF4 weights with double quantisation (~0.55 bytes/param) + adapters + activations".into()),
    });

    let decode_bound = if n.memory_bound { "memory" } else { "compute" };
    let inference = json!({
        "flops_per_token": exact(n.flops_per_token, "FLOP", format!(
            "2 x {:.4e} multiplied weights + attention over {} tokens (causal)", a.params.matmul_active, s.prompt_tokens + s.output_tokens / 2)),
        "bytes_per_token": exact(n.bytes_per_token, "bytes", format!("weights read once per decode step, shared by the batch of {b}, + this sequence's KV cache")),
        "arithmetic_intensity": exact(n.flops_per_token / n.bytes_per_token, "FLOP/byte", format!(
            "FLOPs per token / bytes per token; the device balances at {:.0} FLOP/byte", d.peak_flops / d.bandwidth)),
        "bound": decode_bound,
        "throughput_tokens_per_s": leaf(n.throughput_tokens_per_s, "tokens/s", format!(
            "batch {b} x {} output tokens / (prefill of {b} prompts + {} decode steps); {mfu_basis}", s.output_tokens, s.output_tokens)),
        "prefill_tokens_per_s": leaf(n.prefill_tokens_per_s, "tokens/s", "prompt tokens / TTFT".to_string()),
        "engine": eng,
        "precision": p.name(),
        "compute_peak": json!({"value": peak, "unit": "TFLOPS", "dtype": format!("{:?}", d.compute).to_lowercase(), "note": peak_note}),
    });

    let window = m.context_window;
    let context_window = json!({
        "window_tokens": window.map(|w| published(json!(w), "tokens", m.source_of("context_window"))),
        "kv_cache_bytes_per_token": exact(n.kv_bytes_per_token, "bytes", format!(
            "2 (K and V) x KV heads x head_dim x layers x {} bytes ({}), GQA/MQA and per-layer shapes as in the architecture",
            d.kv_bytes, match s.kv_precision { Some(k) => format!("{k} cache (--kv-precision)"), None if d.kv_bytes == 4.0 => "fp32 cache".into(), None => "fp16 cache".into() })),
        "kv_cache_bytes_at_context": exact(n.kv_bytes, "bytes", format!("{ctx} tokens x batch {b}{}", if a.window.is_finite() {format!(", sliding-window layers capped at {} tokens", a.window)} else {String::new()})),
        "context_tokens": ctx,
        "max_context_that_fits": exact(n.max_context_fits, "tokens", "longest context per sequence whose KV cache fits beside the weights, capped by the model's window".into()),
        "context_fits_window": window.map(|w| ctx <= w),
    });

    let api = m.api.as_ref();
    let per_req_api = api.map(|x| x.usd_per_request(s.prompt_tokens, s.output_tokens));
    let hourly_basis = if n.usd_per_hour_electricity_only {
        format!(
            "electricity only ({} W at {} USD/kWh): the catalog has no rental or purchase price, so the device is taken as already owned",
            h.tdp_w
                .or_else(|| h.estimate("tdp_w").and_then(|e| e.value))
                .unwrap_or(0.0),
            s.usd_per_kwh
        )
    } else if n.usd_per_hour_from_purchase {
        h.purchase
            .as_ref()
            .map(|pp| {
                format!(
                    "purchase {} USD ({}, {}) written off over {} years, plus {} W at {} USD/kWh",
                    pp.usd,
                    pp.basis,
                    pp.as_of,
                    core::AMORTIZATION_YEARS,
                    h.tdp_w.unwrap_or(0.0),
                    s.usd_per_kwh
                )
            })
            .unwrap_or_default()
    } else {
        h.cloud
            .as_ref()
            .map(|c| {
                format!(
                    "{} USD/h per device, {} ({}, as of {})",
                    c.usd_per_hour, c.provider, c.basis, c.as_of
                )
            })
            .unwrap_or_default()
    };
    let cost = json!({
        "api_usd_per_1m_input_tokens": api.map(|x| published(json!(x.input_usd_per_mtok), "USD", Some(&format!("{} (as of {})", x.source, x.as_of)))),
        "api_usd_per_1m_output_tokens": api.map(|x| published(json!(x.output_usd_per_mtok), "USD", Some(&format!("{} (as of {})", x.source, x.as_of)))),
        "api_usd_per_request": per_req_api.map(|c| exact(c, "USD", format!("{} prompt x input price + {} output x output price", s.prompt_tokens, s.output_tokens))),
        "monthly_api_usd": api.map(|x| exact(x.usd_per_month(s.prompt_tokens, s.output_tokens, s.requests_per_day), "USD", format!("per request x {} requests/day x 30.44 days", s.requests_per_day))),
        "self_hosted_usd_per_hour": n.usd_per_hour.map(|x| exact(x, "USD/h", format!("{g} device(s): {hourly_basis}"))),
        "self_hosted_usd_per_1m_output_tokens": opt(n.self_hosted_usd_per_1m_output.map(|x| leaf(x, "USD", format!(
            "{g} device(s) at {} USD/h / (throughput at batch {b} x 3600) x 1e6; {hourly_basis}", n.usd_per_hour.unwrap_or(0.0))))),
        "monthly_self_hosted_usd": opt(n.monthly_self_hosted_usd.map(|x| leaf(x, "USD", format!(
            "replicas ({}..{}) x {:.2} USD/h x {} h; {} requests/day x {} output tokens at batch {b}; average load, peaks not modelled",
            n.replicas.p10, n.replicas.p90, n.usd_per_hour.unwrap_or(0.0), core::HOURS_PER_MONTH, s.requests_per_day, s.output_tokens)))),
        "training_usd": opt(tn.training_usd.map(|x| leaf(x, "USD", format!("training device-hours x {}", th.cloud.as_ref().map(|c| format!(
            "{} USD/h per {} ({}, {}, as of {})", c.usd_per_hour, th.id, c.provider, c.basis, c.as_of)).unwrap_or_default())))),
        "requests_per_day": s.requests_per_day,
    });

    let performance = json!({
        "data_stays_on_premises": m.open_weights,
        "deployment": if m.open_weights { format!("self-hosted on {}: prompts never leave hardware you control", h.id) } else { "vendor API: prompts are sent to the provider".to_string() },
        "accuracy": "not estimable from first principles: see `quality` (published scores); try the model on examples of your own task",
    });

    let latency = json!({
        "ttft_ms": leaf(n.ttft_s.map(|x| x * 1e3), "ms", format!(
            "max(prefill FLOPs / ({peak:.1} TFLOPS x {g} x MFU), weights / bandwidth) + per-layer and per-request overheads; prompt {} tokens, batch 1{}; {mfu_basis}{peak_note}", s.prompt_tokens,
            if s.network_rtt_ms > 0.0 { format!(", + {} ms network round trip", s.network_rtt_ms) } else { String::new() })),
        "tpot_ms": leaf(n.tpot_s.map(|x| x * 1e3), "ms", if d.engine == crate::Engine::LlamaCpp && h.class == HardwareClass::Cpu {
            format!(
                "one operation after another, as llama.cpp runs a step on a CPU: max(weights / ({bw:.0} GB/s x efficiency), kernels at each tensor type's share of the f32 peak) + max(KV at {} tokens x batch {b} / bandwidth, attention multiply-adds + a fixed cost per (query head, cached token) pair) + a pass over {:.0} logits + {} layers x per-layer overhead",
                s.prompt_tokens + s.output_tokens / 2, a.vocab, a.layers)
        } else {
            format!(
                "max((weights read + KV at {} tokens x batch {b}) / ({bw:.0} GB/s x {g} x efficiency), FLOPs / compute) + {} layers x per-layer overhead{}",
                s.prompt_tokens + s.output_tokens / 2, a.layers, if g > 1 {" + all-reduce per layer"} else {""})
        }),
        "decode_tokens_per_s": leaf(n.decode_tokens_per_s, "tokens/s", format!("1 / TPOT, one stream at batch {b}")),
        "e2e_ms": leaf(n.e2e_s.map(|x| x * 1e3), "ms", format!("TTFT + ({} - 1) x TPOT", s.output_tokens)),
    });

    let quality = json!({
        "published": m.scores.iter().map(|sc| json!({
            "benchmark": sc.benchmark, "value": sc.value, "unit": "%", "setting": sc.setting,
            "source": sc.source, "status": sc.status.as_str(), "kind": "published"})).collect::<Vec<_>>(),
        "note": "scores from different settings (shots, prompt style, harness) do not compare; examples of your own task are the surest test",
    });

    let tdp = h
        .tdp_w
        .or_else(|| h.estimate("tdp_w").and_then(|e| e.value));
    let train_tdp = th
        .tdp_w
        .or_else(|| th.estimate("tdp_w").and_then(|e| e.value));
    let energy = json!({
        "inference_kwh_per_1m_output_tokens": opt(n.kwh_per_1m_output.map(|x| leaf(x, "kWh", format!(
            "{} W x {g} x 60-100% utilisation x time for 1M output tokens at batch {b}", tdp.unwrap_or(0.0))))),
        "training_kwh": opt(tn.training_kwh.map(|x| leaf(x, "kWh", format!("device-hours x {} W ({}) x PUE {}", train_tdp.unwrap_or(0.0), th.id, core::PUE)))),
        "training_co2_kg": opt(tn.training_co2_kg.map(|x| leaf(x, "kg CO2", format!("training kWh x {} kg/kWh (--kg-co2-per-kwh)", s.kg_co2_per_kwh)))),
        "usd_per_kwh": s.usd_per_kwh,
    });

    let mut model = Map::new();
    model.insert("id".into(), json!(m.id));
    model.insert("name".into(), json!(m.name));
    model.insert("category".into(), json!(m.category.as_str()));
    model.insert("open_weights".into(), json!(m.open_weights));
    json!({
        "model": Value::Object(model),
        "hardware": {"id": h.id, "name": h.name, "class": h.class.as_str(), "memory_bytes": d.memory_bytes, "memory_bandwidth_bytes_per_s": d.bandwidth},
        "scenario": {
            "precision": p.name(), "engine": eng, "batch": b, "prompt_tokens": s.prompt_tokens,
            "output_tokens": s.output_tokens, "context": ctx, "gpus": g,
            "training_tokens": n.training_tokens, "requests_per_day": s.requests_per_day,
        },
        "size": size,
        "training_data": training_data,
        "training_time": training_time,
        "compute": compute,
        "inference": inference,
        "context_window": context_window,
        "cost": cost,
        "performance": performance,
        "latency": latency,
        "quality": quality,
        "energy": energy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unwrap_used)]
    fn hw(vendor: &str, class: HardwareClass) -> Hardware {
        let text = format!(
            "id = \"x\"\nname = \"X\"\nvendor = \"{vendor}\"\nclass = \"{}\"\nmemory_bandwidth_gbs = 100\n",
            class.as_str()
        );
        sizewise_catalog::load::parse_hardware(std::path::Path::new("x.toml"), &text).unwrap()
    }

    #[test]
    fn runtime_backend_follows_the_hardware() {
        use crate::Engine::{LlamaCpp, Vllm};
        assert_eq!(
            backend(&hw("Apple", HardwareClass::AppleSilicon), LlamaCpp),
            "Metal"
        );
        assert_eq!(
            backend(&hw("Apple", HardwareClass::Phone), LlamaCpp),
            "Metal"
        );
        assert_eq!(
            backend(&hw("NVIDIA", HardwareClass::DatacenterGpu), Vllm),
            "CUDA"
        );
        assert_eq!(
            backend(&hw("NVIDIA", HardwareClass::Edge), LlamaCpp),
            "CUDA"
        );
        assert_eq!(
            backend(&hw("AMD", HardwareClass::DatacenterGpu), Vllm),
            "ROCm"
        );
        assert_eq!(backend(&hw("AMD", HardwareClass::Cpu), LlamaCpp), "CPU");
        assert_eq!(
            backend(&hw("Raspberry Pi", HardwareClass::Edge), LlamaCpp),
            "CPU"
        );
    }

    #[test]
    fn human_scale_matches_the_article() {
        assert!(human_scale(1e6).contains("11.6 days"));
        assert!(human_scale(1e9).contains("31.7 years"));
        assert!(human_scale(1e12).contains("31,688 years"));
        assert!(human_scale(8.03e9).starts_with("8.03 billion seconds"));
        assert!(human_scale(1e24).starts_with("1,000,000,000 quadrillion"));
        for x in [1e3, 8.03e9, 4.05e11, 1.8e12, 1e20] {
            assert!(!human_scale(x).contains("e+") && !human_scale(x).contains("e1"));
        }
    }
}
