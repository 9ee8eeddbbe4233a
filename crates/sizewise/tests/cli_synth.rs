//! The real binary: `synth` writes a synthetic GGUF that the reader and `models show --gguf`
//! accept, and refuses what it cannot write without leaving a file behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;
use sizewise_gguf::GgufFile;

fn sizewise(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("sizewise").unwrap();
    // Keep the user's own catalog folder out of the tests.
    c.env("XDG_CONFIG_HOME", dir.join("config"));
    c.env("HOME", dir.join("home"));
    c.env_remove("SIZEWISE_CATALOG");
    c
}

/// Runs `cmd`, which must succeed, and returns its stdout.
fn stdout_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `cmd`, which must fail with exit code 2 and no panic, and returns its stderr.
fn stderr_of_failure(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// The files left in `dir` (the config folders are never created by synth).
fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn synth_writes_a_file_the_reader_and_models_show_accept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let path = d.join("smol.gguf");
    // An existing file is overwritten with --force.
    std::fs::write(&path, b"old").unwrap();
    let out = stdout_ok(
        sizewise(d)
            .args(["synth", "smollm2-135m", "--precision", "q4_0", "-o"])
            .arg(&path)
            .args(["--seed", "42", "--force", "--json"]),
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["model"], "smollm2-135m");
    assert_eq!(v["precision"], "q4_0");
    assert_eq!(v["file_type"], "Q4_0");
    assert_eq!(v["architecture"], "llama");
    assert_eq!(v["path"], path.display().to_string());
    assert_eq!(v["seed"], 42);
    assert_eq!(v["synthetic"], true);
    assert_eq!(v["context_length"], 8192);
    let parameters = v["parameters"].as_u64().unwrap();
    assert_eq!(parameters, 134_515_008);
    let catalog = v["catalog_params_total"].as_f64().unwrap();
    assert!((parameters as f64 / catalog - 1.0).abs() < 0.01);
    let bits = v["bits_per_weight"].as_f64().unwrap();
    assert!(bits > 4.5 && bits < 6.0, "{bits}");
    let file_bytes = v["file_bytes"].as_u64().unwrap();
    assert_eq!(file_bytes, std::fs::metadata(&path).unwrap().len());
    assert_eq!(files(d), ["smol.gguf"], "no partial file left");

    let f = GgufFile::open(&path).unwrap();
    assert!(f.is_synthetic());
    assert_eq!(f.parameter_count(), parameters);
    assert_eq!(f.get_str("sizewise.source_model"), Some("smollm2-135m"));
    assert_eq!(f.get_u64("sizewise.seed"), Some(42));
    assert_eq!(f.architecture().file_type_name, Some("Q4_0"));

    let text = stdout_ok(sizewise(d).args(["models", "show", "--gguf"]).arg(&path));
    assert!(text.contains("synthetic, random weights"), "{text}");
    assert!(
        text.contains(
            "SYNTHETIC: written by `sizewise synth` with the architecture of smollm2-135m"
        ),
        "{text}"
    );
    assert!(text.contains("576"), "{text}");

    // The human summary says what the file is good for.
    let again = d.join("again.gguf");
    let text = stdout_ok(
        sizewise(d)
            .args(["synth", "smollm2-135m", "-p", "q4_0", "-o"])
            .arg(&again),
    );
    assert!(text.contains("weights are random"), "{text}");
    assert!(text.contains("sizewise bench --gguf"), "{text}");
    // Seeds 0 and 42 give files of the same size and different weights.
    let (a, b) = (
        std::fs::read(&path).unwrap(),
        std::fs::read(&again).unwrap(),
    );
    assert_eq!(a.len(), b.len());
    assert_ne!(a, b);
}

#[test]
fn an_existing_file_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let path = d.join("keep.gguf");
    std::fs::write(&path, b"precious").unwrap();
    let err = stderr_of_failure(
        sizewise(d)
            .args(["synth", "smollm2-135m", "-p", "q4_0", "-o"])
            .arg(&path),
    );
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    assert_eq!(files(d), ["keep.gguf"]);
}

#[test]
fn unknown_and_unsupported_models_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (model, expected) in [
        ("smollm2-135", "did you mean"),
        ("gpt-4", "no published architecture"),
        ("mixtral-8x7b", "mixture of experts"),
        ("gemma-3-270m", "sliding window"),
        ("bert-base", "LayerNorm"),
    ] {
        let path = d.join(format!("{model}.gguf"));
        let err = stderr_of_failure(
            sizewise(d)
                .args(["synth", model, "-p", "q4_k_m", "-o"])
                .arg(&path),
        );
        assert!(err.contains(expected), "{model}: {err}");
        if model != "smollm2-135" {
            assert!(err.contains("hint:"), "{model}: {err}");
        }
    }
    assert!(files(d).is_empty(), "{:?}", files(d));

    // A missing folder is refused before anything is written.
    let err = stderr_of_failure(
        sizewise(d)
            .args(["synth", "smollm2-135m", "-p", "q4_0", "-o"])
            .arg(d.join("no/such/folder/x.gguf")),
    );
    assert!(err.contains("does not exist"), "{err}");
}
