//! The real binary: `models`, `hardware`, `tokens` and catalog overrides.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use assert_cmd::Command;
use serde_json::Value;

fn sizewise() -> Command {
    let mut c = Command::cargo_bin("sizewise").unwrap();
    // Keep the user's own catalog folder out of the tests.
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

#[test]
fn models_json_has_the_contract_fields() {
    let v = json(&["models", "--json"]);
    let arr = v.as_array().unwrap();
    assert!(arr.len() >= 58);
    for m in arr {
        for key in [
            "id",
            "name",
            "family",
            "category",
            "params_total",
            "params_active",
            "context_window",
            "open_weights",
            "undisclosed",
            "sources",
        ] {
            assert!(m.get(key).is_some(), "{key} missing in {}", m["id"]);
        }
        let cat = m["category"].as_str().unwrap();
        assert!(cat == "LLM" || cat == "SLM");
        assert!(m["open_weights"].is_boolean());
        assert!(m["sources"].is_object());
    }
    let gpt4 = arr.iter().find(|m| m["id"] == "gpt-4").unwrap();
    assert!(gpt4["params_total"].is_null());
    assert!(
        gpt4["undisclosed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "params_total")
    );
    let mixtral = arr.iter().find(|m| m["id"] == "mixtral-8x7b").unwrap();
    assert!(mixtral["params_active"].as_f64().unwrap() < mixtral["params_total"].as_f64().unwrap());
}

#[test]
fn models_filter_by_category() {
    let v = json(&["models", "--category", "slm", "--json"]);
    assert!(v.as_array().unwrap().iter().all(|m| m["category"] == "SLM"));
    // The category as the table prints it works too.
    let upper = json(&["models", "--category", "SLM", "--json"]);
    assert_eq!(upper, v);
    let v = json(&["models", "--category", "Llm", "--json"]);
    assert!(v.as_array().unwrap().iter().all(|m| m["category"] == "LLM"));
}

#[test]
fn short_hardware_ids_suggest_close_ones() {
    let out = sizewise()
        .args(["hardware", "show", "m2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("did you mean") && e.contains("apple-m2"), "{e}");
}

#[test]
fn memory_is_in_gib_and_windows_in_kibi_tokens() {
    let out = sizewise().args(["hardware"]).output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("80 GiB"), "{s}");
    assert!(s.contains("system (--memory-gb)"), "{s}");
    let out = sizewise()
        .args(["models", "show", "llama-3.1-8b"])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("131072 tokens (128k)"), "{s}");
}

#[test]
fn hardware_json_has_bytes() {
    let v = json(&["hardware", "--json"]);
    let arr = v.as_array().unwrap();
    assert!(arr.len() >= 30);
    let h100 = arr.iter().find(|h| h["id"] == "nvidia-h100-sxm").unwrap();
    assert_eq!(
        h100["memory_bytes"].as_f64().unwrap(),
        80.0 * 1024f64.powi(3)
    );
    assert_eq!(
        h100["memory_bandwidth_bytes_per_s"].as_f64().unwrap(),
        3.35e12
    );
    assert!(h100["sources"].is_object());
}

#[test]
fn show_prints_sources_and_unknown_ids_suggest() {
    let out = sizewise()
        .args(["models", "show", "phi-3-mini"])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("arxiv.org"), "{s}");
    let out = sizewise()
        .args(["models", "show", "phi3-mini"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("did you mean") && e.contains("phi-3-mini"),
        "{e}"
    );
    let out = sizewise()
        .args(["hardware", "show", "h100"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn tokens_contract() {
    let v = json(&["tokens", "hello world", "--tokenizer", "cl100k", "--json"]);
    assert_eq!(v["tokenizers"][0]["name"], "cl100k");
    assert_eq!(v["tokenizers"][0]["count"], 2);
    let gpt4 = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "gpt-4")
        .unwrap();
    assert_eq!(gpt4["exact"], true);
    assert_eq!(gpt4["fits"], true);
}

#[test]
fn tokens_reads_stdin_and_files() {
    let out = sizewise()
        .args(["tokens", "-", "--json", "-m", "gpt-4o"])
        .write_stdin("Porque o tamanho importa")
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["tokenizers"][0]["count"].as_u64().unwrap() > 2);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.txt");
    std::fs::write(&f, "a ".repeat(9000)).unwrap();
    let v = json(&[
        "tokens",
        "--file",
        f.to_str().unwrap(),
        "--json",
        "-m",
        "gpt-4",
    ]);
    let gpt4 = &v["models"][0];
    assert_eq!(gpt4["fits"], false, "{gpt4}");
}

#[test]
fn user_catalog_overrides_and_bad_files_are_located() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("models")).unwrap();
    std::fs::write(
        dir.path().join("models/tiny.toml"),
        "id = \"tiny\"\nname = \"Tiny\"\nfamily = \"T\"\ndeveloper = \"me\"\ncategory = \"SLM\"\nopen_weights = true\nparams_total = 1e6\n",
    )
    .unwrap();
    let d = dir.path().to_str().unwrap();
    let v = json(&["--catalog", d, "models", "show", "tiny", "--json"]);
    assert_eq!(v["params_total"], 1e6);
    assert!(v["origin"].as_str().unwrap().ends_with("tiny.toml"));

    std::fs::write(
        dir.path().join("models/bad.toml"),
        "id = \"bad\"\nname = \"Bad\"\nfamily = \"T\"\ndeveloper = \"me\"\ncategory = \"SLM\"\nopen_weights = true\ncontext_window = \"long\"\n",
    )
    .unwrap();
    let out = sizewise()
        .args(["--catalog", d, "models"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("bad.toml:7"), "{e}");
    assert!(e.contains("context_window"), "{e}");
    assert!(e.contains("hint:"), "{e}");

    let out = sizewise()
        .args(["--catalog", "/no/such/dir", "models"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn tokens_with_a_gguf_vocabulary() {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf");
    if !p.exists() {
        println!(
            "skipped: {} not found (run scripts/fetch-test-models.sh)",
            p.display()
        );
        return;
    }
    let v = json(&[
        "tokens",
        "135 milhões",
        "-t",
        p.to_str().unwrap(),
        "-m",
        "smollm2-135m",
        "--json",
    ]);
    assert_eq!(
        v["tokenizers"][0]["name"],
        "SmolLM2-135M-Instruct.Q4_1.gguf"
    );
    assert_eq!(v["models"][0]["exact"], true);
    // SmolLM2 splits digits one by one.
    let toks: Vec<&str> = v["tokenizers"][0]["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(&toks[..3], &["1", "3", "5"]);
}
