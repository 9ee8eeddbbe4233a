//! The real binary: `estimate`, `fit`, `compare` and `validate`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use assert_cmd::Command;
use serde_json::Value;

fn sizewise() -> Command {
    let mut c = Command::cargo_bin("sizewise").unwrap();
    c.env(
        "XDG_CONFIG_HOME",
        std::env::temp_dir().join("sizewise-test-no-config"),
    );
    c.env("HOME", std::env::temp_dir().join("sizewise-test-home"));
    c.env_remove("SIZEWISE_CATALOG");
    c
}

fn json(args: &[&str]) -> Value {
    let out = sizewise().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn fails(args: &[&str]) -> String {
    let out = sizewise().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?} should fail");
    assert!(out.stdout.is_empty());
    let e = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!e.contains("panicked"), "{e}");
    e
}

fn leaf(v: &Value, path: &str) -> (f64, f64, f64) {
    let mut x = v;
    for k in path.split('.') {
        x = &x[k];
    }
    for key in ["p10", "p50", "p90", "unit", "basis"] {
        assert!(x.get(key).is_some(), "{path} lacks {key}: {x}");
    }
    let (a, b, c) = (
        x["p10"].as_f64().unwrap(),
        x["p50"].as_f64().unwrap(),
        x["p90"].as_f64().unwrap(),
    );
    assert!(
        a <= b && b <= c && a.is_finite() && c.is_finite(),
        "{path}: {x}"
    );
    (a, b, c)
}

#[test]
fn estimate_json_contract() {
    let v = json(&[
        "estimate",
        "llama-3.1-8b",
        "--hardware",
        "nvidia-rtx-4090",
        "--precision",
        "q4_k_m",
        "--json",
    ]);
    for k in [
        "model",
        "hardware",
        "scenario",
        "size",
        "training_data",
        "training_time",
        "compute",
        "inference",
        "context_window",
        "cost",
        "performance",
        "latency",
        "quality",
        "energy",
    ] {
        assert!(v.get(k).is_some(), "missing section {k}");
    }
    for path in [
        "size.params_counted",
        "compute.inference_memory_bytes",
        "context_window.kv_cache_bytes_per_token",
        "latency.ttft_ms",
        "latency.tpot_ms",
        "latency.decode_tokens_per_s",
        "inference.throughput_tokens_per_s",
        "training_time.gpu_hours",
        "cost.self_hosted_usd_per_1m_output_tokens",
    ] {
        leaf(&v, path);
    }
    // Llama 3.1 8B: GQA 8 KV heads x 128 x 32 layers x 2 (K,V) x 2 bytes = 128 KiB per token.
    assert_eq!(
        v["context_window"]["kv_cache_bytes_per_token"]["p50"],
        131072.0
    );
    assert_eq!(v["size"]["params"]["value"], 8.03e9);
    assert_eq!(v["scenario"]["engine"], "llama.cpp");
    let (_, tpot, _) = leaf(&v, "latency.tpot_ms");
    let (_, tps, _) = leaf(&v, "latency.decode_tokens_per_s");
    assert!((1000.0 / tpot - tps).abs() / tps < 1e-9);
}

#[test]
fn batch_raises_throughput_not_single_stream_speed() {
    let one = json(&[
        "estimate",
        "llama-3.1-8b",
        "-H",
        "nvidia-h100-sxm",
        "--json",
    ]);
    let many = json(&[
        "estimate",
        "llama-3.1-8b",
        "-H",
        "nvidia-h100-sxm",
        "--batch",
        "32",
        "--json",
    ]);
    let t1 = one["inference"]["throughput_tokens_per_s"]["p50"]
        .as_f64()
        .unwrap();
    let t32 = many["inference"]["throughput_tokens_per_s"]["p50"]
        .as_f64()
        .unwrap();
    assert!(t32 > 10.0 * t1, "{t1} -> {t32}");
    let s1 = one["latency"]["decode_tokens_per_s"]["p50"]
        .as_f64()
        .unwrap();
    let s32 = many["latency"]["decode_tokens_per_s"]["p50"]
        .as_f64()
        .unwrap();
    assert!(s32 <= s1);
    assert_eq!(one["scenario"]["engine"], "vllm");
    assert_eq!(one["scenario"]["precision"], "bf16");
}

#[test]
fn moe_reads_only_active_experts() {
    let v = json(&[
        "estimate",
        "mixtral-8x7b",
        "-H",
        "nvidia-h100-sxm",
        "--gpus",
        "2",
        "--json",
    ]);
    let total = v["size"]["params_counted"]["p50"].as_f64().unwrap();
    let active = v["size"]["params_active"]["p50"].as_f64().unwrap();
    assert!(active < total / 3.0);
    // Memory holds every expert.
    let mem = v["compute"]["weights_bytes"]["p50"].as_f64().unwrap();
    assert!(mem > total * 1.9);
}

#[test]
fn api_only_models_say_undisclosed() {
    let v = json(&["estimate", "gpt-4o-mini", "--json"]);
    assert_eq!(v["size"]["params"]["kind"], "undisclosed");
    assert!(v["cost"]["monthly_api_usd"].as_f64().unwrap() > 0.0);
    let e = fails(&["estimate", "gpt-4o", "--hardware", "nvidia-h100-sxm"]);
    assert!(e.contains("undisclosed"), "{e}");
}

#[test]
fn impossible_scenarios_are_clear_errors() {
    let e = fails(&["estimate", "llama-3.1-8b", "-H", "nvidia-t4", "-p", "bf16"]);
    assert!(e.contains("fp16"), "{e}");
    let e = fails(&[
        "estimate",
        "llama-3.1-8b",
        "-H",
        "nvidia-h100-sxm",
        "--gpus",
        "0",
    ]);
    assert!(e.contains("at least 1"), "{e}");
    let e = fails(&[
        "estimate",
        "phi-3-mini",
        "-H",
        "nvidia-h100-sxm",
        "--context",
        "100000",
    ]);
    assert!(e.contains("window"), "{e}");
    let e = fails(&[
        "estimate",
        "llama-3.1-8b",
        "-H",
        "nvidia-a100-80gb-sxm",
        "-p",
        "fp8",
    ]);
    assert!(e.contains("fp8") || e.contains("FP8"), "{e}");
    let e = fails(&[
        "estimate",
        "llama-3.1-8b",
        "-H",
        "apple-m2",
        "-e",
        "trt-llm",
    ]);
    assert!(e.contains("TensorRT"), "{e}");
    let e = fails(&["estimate", "llama-3.1-8b", "-H", "x86-8core-ddr5-desktop"]);
    assert!(e.contains("--memory-gb"), "{e}");
    let e = fails(&[
        "estimate",
        "llama-3.1-8b",
        "-H",
        "nvidia-h100-sxm",
        "-p",
        "q4_k_m",
        "-e",
        "vllm",
    ]);
    assert!(e.contains("GGUF"), "{e}");
    let e = fails(&["estimate", "llama-3.1-8b", "-H", "apple-m2", "-p", "fp8"]);
    assert!(e.contains("q8_0"), "{e}");
    fails(&["estimate", "nope-model", "-H", "nvidia-h100-sxm"]);
    fails(&["estimate", "llama-3.1-8b", "-p", "q9"]);
}

#[test]
fn does_not_fit_is_marked_not_hidden() {
    let v = json(&[
        "estimate",
        "llama-3.1-70b",
        "-H",
        "nvidia-rtx-4090",
        "-p",
        "bf16",
        "-e",
        "vllm",
        "--json",
    ]);
    assert_eq!(v["compute"]["fits"], false);
    assert!(v["compute"]["min_devices"].as_u64().unwrap() >= 7);
    assert!(
        v["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("does not fit"))
    );
}

#[test]
fn fit_lists_devices() {
    let v = json(&[
        "fit",
        "llama-3.1-8b",
        "-H",
        "nvidia-rtx-3060-12gb",
        "-H",
        "raspberry-pi-5-8gb",
        "--json",
    ]);
    let rows = v["hardware"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["best"]["fits"], true);
    assert!(rows[0]["options"].as_array().unwrap().len() > 5);
}

#[test]
fn compare_default_set_json() {
    let v = json(&["compare", "--format", "json"]);
    let models = v["models"].as_array().unwrap();
    assert!(models.len() >= 4);
    assert!(models.iter().any(|m| m["category"] == "SLM"));
    assert!(models.iter().any(|m| m["category"] == "LLM"));
    assert!(models.iter().any(|m| m["deployment"] == "api"));
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    let dims: Vec<&str> = rows
        .iter()
        .map(|r| r["dimension"].as_str().unwrap())
        .collect();
    assert_eq!(
        dims,
        [
            "size",
            "training_data",
            "training_time",
            "compute",
            "inference",
            "context_window",
            "cost",
            "performance",
            "latency",
            "quality"
        ]
    );
    for r in rows {
        assert_eq!(r["cells"].as_array().unwrap().len(), models.len());
        assert!(!r["verdict"].as_str().unwrap().is_empty());
        for c in r["cells"].as_array().unwrap() {
            let k = c["kind"].as_str().unwrap();
            assert!(["estimated", "published", "measured", "undisclosed"].contains(&k));
        }
    }
}

#[test]
fn compare_speaks_portuguese_and_other_formats() {
    let out = sizewise()
        .args(["compare", "--lang", "pt-BR", "--format", "markdown"])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    for w in [
        "Quadro comparativo",
        "Tamanho do modelo",
        "Dados de treinamento",
        "Tempo de treinamento",
        "Poder computacional",
        "Inferência",
        "Janela de contexto",
        "Custos",
        "Desempenho",
        "Latência",
        "Qualidade das respostas",
    ] {
        assert!(s.contains(w), "missing {w}");
    }
    let out = sizewise()
        .args([
            "compare",
            "smollm2-135m@raspberry-pi-5-8gb",
            "gpt-4o",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.starts_with("dimension,label,model,kind,value,text\n"));
    assert_eq!(s.lines().count(), 1 + 10 * 2);
    let out = sizewise()
        .args(["compare", "phi-3-mini@apple-m2", "llama-3.1-70b"])
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn validate_reports_every_row_in_band() {
    let v = json(&["validate", "--json"]);
    let rows = v["rows"].as_array().unwrap();
    assert!(rows.len() >= 10);
    assert!(rows.iter().all(|r| r["in_band"] == true));
    assert!(v["median_abs_error"].as_f64().unwrap() <= 0.20);
}

#[test]
fn gguf_files_are_shown_and_estimated() {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf");
    if !p.exists() {
        println!(
            "skipped: {} not found (run scripts/fetch-test-models.sh)",
            p.display()
        );
        return;
    }
    let f = p.to_str().unwrap();
    let v = json(&["models", "show", "--gguf", f, "--json"]);
    assert_eq!(v["architecture"]["layers"], 30);
    assert_eq!(v["architecture"]["kv_heads"], 3);
    assert_eq!(v["params_total"], 134_515_008.0);
    let v = json(&[
        "estimate",
        "--gguf",
        f,
        "-H",
        "raspberry-pi-5-8gb",
        "--json",
    ]);
    assert_eq!(v["scenario"]["precision"], "q4_1");
    assert_eq!(v["scenario"]["engine"], "llama.cpp");
    // Bytes come from the file's tensors, not the nominal 5 bits per weight.
    let w = v["compute"]["weights_bytes"]["p50"].as_f64().unwrap();
    assert!((w - 96_575_616.0).abs() / 96_575_616.0 < 0.05, "{w}");
    let e = fails(&["estimate", "--gguf", "/no/such/file.gguf", "-H", "apple-m2"]);
    assert!(e.contains("file.gguf"), "{e}");
}

fn text(args: &[&str]) -> String {
    let out = sizewise().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// True when `s` writes a number in e-notation (`2.75e-4`, `8.030e9`).
fn has_e_notation(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(3).any(|w| {
        w[0].is_ascii_digit()
            && (w[1] == b'e' || w[1] == b'E')
            && (w[2].is_ascii_digit() || w[2] == b'-' || w[2] == b'+')
    })
}

#[test]
fn training_runs_on_the_training_hardware() {
    // The inference device (a laptop) is not where the model was trained.
    let laptop = json(&["estimate", "llama-3.1-8b", "-H", "apple-m2", "--json"]);
    let h100 = json(&["estimate", "llama-3.1-8b", "-H", "nvidia-l4", "--json"]);
    assert_eq!(laptop["training_time"]["train_hardware"], "nvidia-h100-sxm");
    let (_, a, _) = leaf(&laptop, "training_time.gpu_hours");
    let (_, b, _) = leaf(&h100, "training_time.gpu_hours");
    assert!((a - b).abs() <= a * 1e-9, "{a} vs {b}");
    let basis = laptop["training_time"]["gpu_hours"]["basis"]
        .as_str()
        .unwrap();
    assert!(
        basis.contains("nvidia-h100-sxm") && !basis.contains("apple-m2"),
        "{basis}"
    );
    let a100 = json(&[
        "estimate",
        "llama-3.1-8b",
        "-H",
        "apple-m2",
        "--train-hardware",
        "nvidia-a100-80gb-sxm",
        "--train-gpus",
        "512",
        "--json",
    ]);
    assert_eq!(
        a100["training_time"]["train_hardware"],
        "nvidia-a100-80gb-sxm"
    );
    assert_eq!(a100["training_time"]["train_gpus"], 512);
    let (_, c, _) = leaf(&a100, "training_time.gpu_hours");
    assert!(c > a * 2.0, "A100 hours {c} should exceed H100 hours {a}");
    leaf(&a100, "training_time.wall_time_s");
    let s = text(&["estimate", "llama-3.1-8b", "-H", "apple-m2"]);
    assert!(
        s.contains("training estimates on 1024 x nvidia-h100-sxm"),
        "{s}"
    );
    let e = fails(&["estimate", "llama-3.1-8b", "--train-hardware", "h10"]);
    assert!(e.contains("nvidia-h100-sxm"), "{e}");
}

#[test]
fn hints_name_what_the_hardware_has() {
    let e = fails(&["estimate", "llama-3.1-8b", "-H", "nvidia-t4", "-p", "fp8"]);
    assert!(e.contains("fp16"), "{e}");
    assert!(!e.contains("bf16"), "a T4 has no bf16: {e}");
    let s = text(&["estimate", "llama-3.1-8b", "-H", "apple-m2"]);
    assert!(!s.contains("sizewise eval"), "{s}");
    let v = json(&["estimate", "gpt-4o-mini", "--json"]);
    assert!(!v.to_string().contains("sizewise eval"));
}

#[test]
fn runtime_memory_names_the_backend() {
    for (hw, backend) in [
        ("apple-m2", "Metal"),
        ("nvidia-rtx-4090", "CUDA"),
        ("amd-mi300x", "ROCm"),
        ("raspberry-pi-5-8gb", "CPU"),
    ] {
        let v = json(&["estimate", "llama-3.2-1b", "-H", hw, "--json"]);
        let b = v["compute"]["runtime_bytes"]["basis"].as_str().unwrap();
        assert!(b.contains(backend), "{hw}: {b}");
        if backend != "CUDA" {
            assert!(!b.contains("CUDA"), "{hw}: {b}");
        }
    }
}

#[test]
fn estimate_text_is_readable() {
    let s = text(&["estimate", "llama-3.1-8b", "-H", "apple-m2"]);
    // Keys that say ms in JSON are not shown beside seconds.
    assert!(s.contains("  ttft: "), "{s}");
    assert!(!s.contains("ttft_ms"), "{s}");
    assert!(!s.contains("wall_time_s"), "{s}");
    assert!(s.contains("ZFLOP"), "{s}");
    assert!(s.contains("window_tokens: 128k tokens"), "{s}");
    assert!(s.contains("Wh"), "{s}");
    assert!(!has_e_notation(&s), "{s}");
    assert!(s.contains("8.03 billion seconds"), "{s}");
    let s = text(&["estimate", "gpt-4o-mini"]);
    assert!(s.contains("monthly_api_usd: $"), "{s}");
    assert!(!has_e_notation(&s), "{s}");
}

#[test]
fn parameter_counts_agree_across_commands() {
    // phi-3-mini publishes 3.8B; its architecture counts 3.82B.
    let s = text(&["fit", "phi-3-mini", "-H", "apple-m2"]);
    assert!(s.contains("3.80B params, published"), "{s}");
    let v = json(&["compare", "phi-3-mini@apple-m2", "--format", "json"]);
    let size = v["rows"][0]["cells"][0]["text"].as_str().unwrap();
    assert!(size.starts_with("3.80B"), "{size}");
    let s = text(&["estimate", "phi-3-mini", "-H", "apple-m2"]);
    assert!(s.contains("params: 3.80B parameters  [published]"), "{s}");
}

#[test]
fn memory_gb_is_for_hardware_without_fixed_memory() {
    let e = fails(&[
        "estimate",
        "llama-3.1-8b",
        "-H",
        "nvidia-l4",
        "--memory-gb",
        "64",
    ]);
    assert!(e.contains("--memory-gb applies only"), "{e}");
    assert!(e.contains("hint:"), "{e}");
    let v = json(&[
        "estimate",
        "llama-3.1-8b",
        "-H",
        "x86-8core-ddr5-desktop",
        "--memory-gb",
        "64",
        "--json",
    ]);
    assert_eq!(v["hardware"]["memory_bytes"], 64.0 * 1024f64.powi(3));
    let help = text(&["estimate", "--help"]);
    assert!(help.contains("GiB"), "{help}");
    let s = text(&[
        "fit",
        "phi-3-mini",
        "-H",
        "apple-m2",
        "-H",
        "x86-8core-ddr5-desktop",
        "--memory-gb",
        "32",
    ]);
    assert!(s.contains("applies to x86-8core-ddr5-desktop only"), "{s}");
}

#[test]
fn estimate_json_says_whether_the_case_can_run() {
    let v = json(&["estimate", "bert-base", "-H", "nvidia-l4", "--json"]);
    assert_eq!(v["feasible"], false);
    assert!(
        v["infeasible"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "cannot_generate")
    );
    let v = json(&[
        "estimate",
        "llama-3.1-405b",
        "-H",
        "nvidia-h100-sxm",
        "--json",
    ]);
    assert_eq!(v["feasible"], false);
    assert!(
        v["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("--gpus 16"))
    );
    let v = json(&["estimate", "llama-3.1-8b", "-H", "nvidia-l4", "--json"]);
    assert_eq!(v["feasible"], true);
}
