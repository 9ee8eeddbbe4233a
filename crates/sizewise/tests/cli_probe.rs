//! The real binary: `probe` measures, saves hardware `local`, records a run, and
//! `estimate --hardware local` then uses it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

/// The binary with its config, home and store inside `dir`.
fn sizewise(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("sizewise").unwrap();
    c.env("XDG_CONFIG_HOME", dir.join("config"));
    c.env("HOME", dir.join("home"));
    c.env("SIZEWISE_STORE", dir.join("results.sqlite3"));
    c.env_remove("SIZEWISE_CATALOG");
    c
}

fn json_ok(dir: &Path, args: &[&str]) -> Value {
    let out = sizewise(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn positive(v: &Value, what: &str) -> f64 {
    let x = v
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {v}"));
    assert!(x.is_finite() && x > 0.0, "{what} = {x}");
    x
}

#[test]
fn probe_saves_local_and_estimate_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let v = json_ok(d, &["probe", "--seconds", "1", "--json"]);
    for key in [
        "tool_version",
        "measured_at",
        "method",
        "system",
        "threads",
        "load_before",
        "busy",
        "busy_reason",
        "memory_bandwidth",
        "matmul",
        "saved",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    // The contract's headline keys.
    positive(
        &v["memory_bandwidth_bytes_per_s"],
        "memory_bandwidth_bytes_per_s",
    );
    positive(&v["matmul_f32_flops_per_s"], "matmul_f32_flops_per_s");
    let bw = &v["memory_bandwidth"];
    positive(&bw["all_cores"]["read_bytes_per_s"], "all-core read");
    positive(&bw["all_cores"]["triad_bytes_per_s"], "all-core triad");
    positive(&bw["one_core"]["read_bytes_per_s"], "one-core read");
    positive(
        &v["matmul"]["single_thread"]["flops_per_s"],
        "1-thread GFLOP/s",
    );
    positive(
        &v["matmul"]["multi_thread"]["flops_per_s"],
        "n-thread GFLOP/s",
    );
    positive(&v["system"]["logical_cores"], "cores");
    assert!(v["measured_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(v["busy"].as_bool().unwrap(), !v["busy_reason"].is_null());

    let saved = &v["saved"];
    assert_eq!(saved["hardware_id"], "local");
    let file = Path::new(saved["hardware_file"].as_str().unwrap());
    assert!(file.starts_with(d), "{}", file.display());
    assert!(file.ends_with("hardware/local.toml"), "{}", file.display());
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains("id = \"local\""), "{text}");
    assert!(text.contains("measured by sizewise probe on"), "{text}");
    assert!(!saved["run_id"].as_str().unwrap().is_empty());

    let e = json_ok(
        d,
        &["estimate", "smollm2-135m", "--hardware", "local", "--json"],
    );
    positive(
        &e["latency"]["decode_tokens_per_s"]["p50"],
        "decode tokens/s",
    );

    // The run is in the store, as kind `probe`.
    let out = sizewise(d).args(["runs", "list"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("probe"));
}

#[test]
fn no_save_writes_nothing_and_bad_budget_fails() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let v = json_ok(
        d,
        &[
            "probe",
            "--seconds",
            "0.3",
            "--threads",
            "1",
            "--no-save",
            "--json",
        ],
    );
    assert!(v["saved"].is_null());
    assert_eq!(v["threads"], 1);
    assert!(!d.join("config").exists());
    assert!(!d.join("results.sqlite3").exists());

    let out = sizewise(d)
        .args(["probe", "--seconds", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--seconds"));
}
