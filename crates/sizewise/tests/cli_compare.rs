//! The real binary: `compare` columns that cannot run, cost bases, device
//! counts, `MODEL@HW` specs and the Portuguese table.
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

fn text(args: &[&str]) -> String {
    let out = sizewise().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn fails(args: &[&str]) -> String {
    let out = sizewise().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?} should fail");
    let e = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!e.contains("panicked"), "{e}");
    e
}

fn row<'a>(v: &'a Value, dim: &str) -> &'a Value {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["dimension"] == dim)
        .unwrap()
}

fn notes(v: &Value) -> Vec<String> {
    v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn columns_that_cannot_run_win_no_speed_or_cost_verdict() {
    // bert-base cannot generate; phi-3-mini's 4k window is shorter than the
    // request; llama-3.1-8b can run it.
    let v = json(&[
        "compare",
        "bert-base@nvidia-l4",
        "phi-3-mini@nvidia-l4",
        "llama-3.1-8b@nvidia-l4",
        "--prompt-tokens",
        "5000",
        "--format",
        "json",
    ]);
    let models = v["models"].as_array().unwrap();
    assert_eq!(models[0]["feasible"], false);
    let reasons: Vec<&str> = models[0]["infeasible"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"cannot_generate"), "{reasons:?}");
    assert!(reasons.contains(&"context_too_long"), "{reasons:?}");
    assert_eq!(models[1]["feasible"], false);
    assert_eq!(models[1]["infeasible"][0]["reason"], "context_too_long");
    assert!(
        models[1]["infeasible"][0]["text"]
            .as_str()
            .unwrap()
            .contains("--prompt-tokens")
    );
    assert_eq!(models[2]["feasible"], true);
    for dim in ["compute", "inference", "cost", "latency"] {
        let r = row(&v, dim);
        let verdict = r["verdict"].as_str().unwrap();
        assert!(verdict.contains("llama-3.1-8b"), "{dim}: {verdict}");
        for c in &r["cells"].as_array().unwrap()[..2] {
            assert!(c["value"].is_null(), "{dim}: {c}");
            assert!(c["excluded"].is_string(), "{dim}: {c}");
        }
    }
    for dim in ["inference", "cost", "latency"] {
        let t = row(&v, dim)["cells"][0]["text"].as_str().unwrap();
        assert!(t.starts_with("n/a"), "{dim}: {t}");
    }
    let n = notes(&v);
    assert!(n.iter().any(|n| n.contains("encoder-only")), "{n:?}");
    assert!(n.iter().any(|n| n.contains("left out of")), "{n:?}");
}

#[test]
fn a_model_that_does_not_fit_is_excluded_and_told_how_to_fit() {
    let v = json(&[
        "compare",
        "llama-3.1-70b@nvidia-rtx-4090",
        "llama-3.1-8b@nvidia-rtx-4090",
        "--gpus",
        "2",
        "-p",
        "bf16",
        "-e",
        "vllm",
        "--format",
        "json",
    ]);
    let m = &v["models"][0];
    assert_eq!(m["feasible"], false);
    assert_eq!(m["infeasible"][0]["reason"], "does_not_fit");
    let why = m["infeasible"][0]["text"].as_str().unwrap();
    assert!(why.contains("--gpus 8"), "{why}");
    assert!(why.contains("--precision"), "{why}");
    let cost = &row(&v, "cost")["cells"][0];
    assert_eq!(cost["text"], "n/a: does not fit");
    for dim in ["inference", "cost", "latency", "compute"] {
        assert!(
            !row(&v, dim)["verdict"]
                .as_str()
                .unwrap()
                .contains("llama-3.1-70b"),
            "{dim}"
        );
    }
}

#[test]
fn cost_cells_say_their_basis() {
    let v = json(&[
        "compare",
        "phi-3-mini@apple-m2",
        "llama-3.1-8b@nvidia-l4",
        "gpt-4o-mini",
        "--format",
        "json",
    ]);
    let kinds: Vec<&str> = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["cost_basis"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["electricity_only", "rental", "api_list_price"]);
    let cells = row(&v, "cost")["cells"].as_array().unwrap();
    let t = |i: usize| cells[i]["text"].as_str().unwrap();
    assert!(
        t(0).contains("electricity only") && t(0).contains("batch 1"),
        "{}",
        t(0)
    );
    assert!(t(1).contains("rental $") && t(1).contains("/h"), "{}", t(1));
    assert!(t(2).contains("API list price"), "{}", t(2));
    let n = notes(&v);
    assert!(
        n.iter()
            .any(|n| n.contains("not like-for-like") && n.contains("phi-3-mini")),
        "{n:?}"
    );
}

#[test]
fn big_models_get_device_counts_that_split_their_heads() {
    let v = json(&[
        "compare",
        "llama-3.1-405b",
        "llama-3.1-70b",
        "--format",
        "json",
    ]);
    let models = v["models"].as_array().unwrap();
    // 405B needs 11 H100s for bf16 weights and cache: two nodes of 8.
    assert_eq!(models[0]["gpus"], 16);
    assert_eq!(models[0]["feasible"], true);
    assert_eq!(models[1]["gpus"], 2);
    let n = notes(&v);
    assert!(
        n.iter()
            .any(|n| n.contains("llama-3.1-405b") && n.contains("nodes of 8")),
        "{n:?}"
    );
    for g in [
        models[0]["gpus"].as_u64().unwrap(),
        models[1]["gpus"].as_u64().unwrap(),
    ] {
        assert!([1, 2, 4, 8].contains(&g) || g % 8 == 0, "{g}");
    }
}

#[test]
fn specs_around_the_at_are_checked() {
    let e = fails(&["compare", "@apple-m2"]);
    assert!(e.contains("missing model before @"), "{e}");
    let e = fails(&["compare", "phi-3-mini@"]);
    assert!(e.contains("missing hardware after @"), "{e}");
    let e = fails(&["compare", "phi-3-mini@m2"]);
    assert!(e.contains("apple-m2"), "{e}");
    let v = json(&["compare", "gpt-4o@nvidia-h100-sxm", "--format", "json"]);
    assert_eq!(v["models"][0]["deployment"], "api");
    let n = notes(&v);
    assert!(
        n.iter()
            .any(|n| n.contains("provider's hardware") && n.contains("@nvidia-h100-sxm")),
        "{n:?}"
    );
}

#[test]
fn memory_gb_is_ignored_with_a_note_for_fixed_memory() {
    let v = json(&[
        "compare",
        "phi-3-mini@nvidia-l4",
        "--memory-gb",
        "512",
        "--format",
        "json",
    ]);
    let n = notes(&v);
    assert!(
        n.iter()
            .any(|n| n.contains("nvidia-l4") && n.contains("--memory-gb")),
        "{n:?}"
    );
    // The L4's own 24 GiB stay.
    let usable = v["models"][0]["estimate"]["compute"]["usable_memory_bytes"]["p50"]
        .as_f64()
        .unwrap();
    assert!(usable < 24.0 * 1024f64.powi(3), "{usable}");
}

#[test]
fn portuguese_tables_have_no_english_note_prefix() {
    let s = text(&["compare", "--lang", "pt-BR"]);
    assert!(s.contains("\nnota: "), "{s}");
    assert!(!s.contains("\nnote: "), "{s}");
    for english in [
        "electricity only",
        "per 1M",
        "batch 1",
        "no hardware given",
        "does not fit",
    ] {
        assert!(!s.contains(english), "{english} in {s}");
    }
    assert!(s.contains("lote 1"), "{s}");
}

#[test]
fn inference_flops_use_si_prefixes() {
    let v = json(&["compare", "llama-3.1-8b@nvidia-l4", "--format", "json"]);
    let t = row(&v, "inference")["cells"][0]["text"].as_str().unwrap();
    assert!(t.contains("GFLOP/tok"), "{t}");
}
