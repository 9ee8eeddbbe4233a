//! `sizewise eval` end to end: the real binary, suites from files and built in, an endpoint on
//! loopback (`sizewise simulate`) and, when the test models are present, SmolLM2 in process.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Server, ok_json, sizewise};

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

fn failure(out: Output) -> String {
    assert!(!out.status.success(), "expected a failure");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `sizewise simulate` on a free loopback port, killed when dropped.
type Sim = Server;

impl Server {
    fn start(store: &Path) -> Sim {
        Sim::with(store, &[])
    }

    fn with(store: &Path, extra: &[&str]) -> Sim {
        let mut c = sizewise(store);
        c.args(["simulate", "sim", "--ttft-ms", "0", "--tpot-ms", "0"])
            .args(extra)
            .args(["--port", "0", "--json"]);
        Sim::spawn(c)
    }
}

#[test]
fn list_shows_the_built_in_suites() {
    let dir = tempfile::tempdir().unwrap();
    let v = ok_json(
        sizewise(&dir.path().join("r.db"))
            .args(["eval", "list", "--json"])
            .output()
            .unwrap(),
    );
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    for id in [
        "sentiment",
        "sentiment-pt-br",
        "intent",
        "general-knowledge",
        "entailment",
        "sports",
        "extraction-json",
        "arithmetic",
        "long-context",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let sentiment = v
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "sentiment")
        .unwrap();
    assert_eq!(sentiment["items"], 200);
}

#[test]
fn an_endpoint_is_scored_saved_exported_and_compared() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let sim = Sim::start(&db);
    let samples = dir.path().join("s.jsonl");
    let run = |extra: &[&str]| {
        let mut c = sizewise(&db);
        c.args(["eval", "--suite", "sentiment", &sim.url, "--model", "sim"])
            .args(["--limit", "12", "--json"])
            .args(extra);
        ok_json(c.output().unwrap())
    };
    let a = run(&["--export-samples", samples.to_str().unwrap()]);
    assert_eq!(a["suite"], "sentiment");
    assert_eq!(a["n"], 12);
    assert_eq!(a["scoring"], "generate");
    let acc = a["accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&acc));
    let ci = a["ci95"].as_array().unwrap();
    assert!(ci[0].as_f64().unwrap() <= acc && acc <= ci[1].as_f64().unwrap());
    assert!(a["stderr"].as_f64().unwrap() >= 0.0);
    assert!(a["seconds"].as_f64().unwrap() > 0.0);
    assert!(a["target"].as_str().unwrap().contains(&sim.url));
    let lines: Vec<Value> = std::fs::read_to_string(&samples)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 12);
    assert!(lines[0]["prompt"].as_str().unwrap().contains("positive"));
    assert!(lines[0]["output_tokens"].as_u64().is_some());

    let b = run(&["--seed", "7"]);
    let (ra, rb) = (a["run_id"].as_i64().unwrap(), b["run_id"].as_i64().unwrap());
    let runs = ok_json(
        sizewise(&db)
            .args(["runs", "list", "--json"])
            .output()
            .unwrap(),
    );
    assert!(runs.as_array().unwrap().iter().any(|r| r["kind"] == "eval"));
    let cmp = ok_json(
        sizewise(&db)
            .args([
                "eval",
                "compare",
                &ra.to_string(),
                &rb.to_string(),
                "--json",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(cmp["n"], 12);
    let d = cmp["difference"].as_f64().unwrap();
    let ci = cmp["ci95"].as_array().unwrap();
    assert!(ci[0].as_f64().unwrap() <= d && d <= ci[1].as_f64().unwrap());
    assert!((0.0..=1.0).contains(&cmp["p_value"].as_f64().unwrap()));
}

#[test]
fn an_endpoint_without_logprobs_is_scored_by_generation() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let sim = Sim::start(&db);
    let eval = |suite: &str, extra: &[&str]| {
        let mut c = sizewise(&db);
        c.args(["eval", "--suite", suite, &sim.url, "--model", "sim"])
            .args(["--limit", "4", "--no-store", "--json"])
            .args(extra);
        c.output().unwrap()
    };
    // `auto` asks the endpoint for log-probabilities; simulate sends none.
    let auto = ok_json(eval("sentiment", &[]));
    assert_eq!(auto["scoring"], "generate");
    assert_eq!(auto["logprob_scope"], Value::Null);
    let e = failure(eval("sentiment", &["--scoring", "logprob"]));
    assert!(
        e.contains("no log-probabilities") && e.contains("--scoring generate"),
        "{e}"
    );
    // Intent labels that begin alike cannot be told apart by a first token.
    let e = failure(eval("intent", &["--scoring", "logprob"]));
    assert!(e.contains("begin alike"), "{e}");
}

#[test]
fn a_failing_endpoint_keeps_the_items_already_answered() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let sim = Sim::with(&db, &["--error-rate", "0.3", "--seed", "5"]);
    let out = sizewise(&db)
        .args(["eval", "--suite", "sentiment", &sim.url, "--model", "sim"])
        .args(["--limit", "40", "--scoring", "generate", "--json"])
        .output()
        .unwrap();
    let e = failure(out);
    assert!(
        e.contains("endpoint failed") && e.contains("stopped after"),
        "{e}"
    );
    let runs = ok_json(
        sizewise(&db)
            .args(["runs", "list", "--json"])
            .output()
            .unwrap(),
    );
    let run = &runs[0];
    assert_eq!(run["kind"], "eval");
    assert_eq!(run["status"], "incomplete");
    assert!(run["row_count"].as_u64().unwrap() > 0, "{run}");
}

#[test]
fn a_big_bench_file_is_a_suite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let task = dir.path().join("task.json");
    let examples: Vec<Value> = (0..6)
        .map(|i| json!({"input": format!("Is {i} even?"), "target_scores": {"yes": i64::from(i % 2 == 0), "no": i64::from(i % 2 == 1)}}))
        .collect();
    std::fs::write(
        &task,
        json!({"name": "even", "description": "parity", "keywords": [], "examples": examples})
            .to_string(),
    )
    .unwrap();
    let sim = Sim::start(&db);
    let v = ok_json(
        sizewise(&db)
            .args(["eval", "--suite", task.to_str().unwrap(), &sim.url])
            .args(["--model", "sim", "--shots", "1", "--no-store", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(v["n"], 6);
    assert_eq!(v["run_id"], Value::Null);
}

#[test]
fn bad_suites_and_targets_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        json!({"sizewise_suite": 1, "id": "x", "answer": {"kind": "label", "labels": ["a", "b"]},
               "prompt": "{input}", "items": [{"id": "one", "input": "q", "target": "a"},
                                               {"id": "two", "input": "q", "target": "c"}]})
        .to_string(),
    )
    .unwrap();
    let e = failure(
        sizewise(&db)
            .args([
                "eval",
                "--suite",
                bad.to_str().unwrap(),
                "http://127.0.0.1:9/v1",
            ])
            .args(["--model", "m"])
            .output()
            .unwrap(),
    );
    assert!(e.contains("bad.json") && e.contains("two"), "{e}");
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{not json").unwrap();
    let e = failure(
        sizewise(&db)
            .args([
                "eval",
                "--suite",
                garbage.to_str().unwrap(),
                "http://127.0.0.1:9/v1",
            ])
            .args(["--model", "m"])
            .output()
            .unwrap(),
    );
    assert!(e.contains("garbage.json"), "{e}");
    let e = failure(
        sizewise(&db)
            .args(["eval", "--suite", "no-such-suite", "http://127.0.0.1:9/v1"])
            .args(["--model", "m"])
            .output()
            .unwrap(),
    );
    assert!(
        e.contains("sentiment"),
        "the hint lists the built-in suites: {e}"
    );
    let e = failure(
        sizewise(&db)
            .args(["eval", "--suite", "sentiment", "http://127.0.0.1:9/v1"])
            .output()
            .unwrap(),
    );
    assert!(e.contains("--model"), "{e}");
    let e = failure(
        sizewise(&db)
            .args(["eval", "--suite", "sentiment", "http://127.0.0.1:9/v1"])
            .args(["--model", "m", "--limit", "2", "--timeout", "5"])
            .output()
            .unwrap(),
    );
    assert!(e.contains("endpoint failed"), "{e}");
}

/// `sizewise serve` on a free loopback port, killed when dropped.
#[cfg(feature = "llama")]
fn serve(store: &Path, model: &Path) -> Sim {
    let mut c = sizewise(store);
    c.args(["serve", "--gguf"]).arg(model).args([
        "--port",
        "0",
        "--threads",
        "1",
        "--ctx-size",
        "2048",
        "--json",
    ]);
    Sim::spawn(c)
}

/// The candidate each exported sample chose.
#[cfg(feature = "llama")]
fn choices(samples: &Path) -> Vec<Value> {
    std::fs::read_to_string(samples)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["strict"]["answer"]["value"]["index"].clone()
        })
        .collect()
}

#[cfg(feature = "llama")]
#[test]
fn an_endpoint_with_logprobs_scores_the_first_token_of_answers() {
    let Some(model) = common::model_path(common::SMOLLM2) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let server = serve(&db, &model);
    let (remote, local) = (dir.path().join("r.jsonl"), dir.path().join("l.jsonl"));
    let common = [
        "--suite",
        "sentiment",
        "--limit",
        "16",
        "--no-store",
        "--json",
    ];
    let r = ok_json(
        sizewise(&db)
            .args(["eval", &server.url, "--model", "smol"])
            .args(common)
            .arg("--export-samples")
            .arg(&remote)
            .output()
            .unwrap(),
    );
    assert_eq!(r["scoring"], "logprob", "auto uses the endpoint's logprobs");
    assert_eq!(r["logprob_scope"], "first_token");
    assert_eq!(r["n"], 16);
    // The same model in process, with the same chat prompt, scores whole answers; one-token
    // labels make the two agree on almost every item.
    let l = ok_json(
        sizewise(&db)
            .args(["eval", "--gguf"])
            .arg(&model)
            .args(["--prompt-format", "chat", "--threads", "1"])
            .args(common)
            .arg("--export-samples")
            .arg(&local)
            .output()
            .unwrap(),
    );
    assert_eq!(l["logprob_scope"], "whole_answer");
    let (a, b) = (choices(&remote), choices(&local));
    assert_eq!(a.len(), 16);
    assert!(
        a.iter().all(|c| c.is_u64()),
        "every item has an answer: {a:?}"
    );
    let same = a.iter().zip(&b).filter(|(x, y)| x == y).count();
    assert!(same >= 13, "{same}/16 agree: {a:?} {b:?}");
}

#[cfg(feature = "llama")]
#[test]
fn smollm2_scores_sentiment_the_same_way_twice() {
    let Some(model) = common::model_path(common::SMOLLM2) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let run = || {
        ok_json(
            sizewise(&db)
                .args(["eval", "--suite", "sentiment", "--gguf"])
                .arg(&model)
                .args(["--limit", "24", "--threads", "1", "--json"])
                .output()
                .unwrap(),
        )
    };
    let a = run();
    let b = run();
    assert_eq!(a["scoring"], "logprob");
    assert_eq!(a["n"], 24);
    assert_eq!(a["accuracy"], b["accuracy"]);
    assert_eq!(a["ci95"], b["ci95"]);
    assert_eq!(a["stderr"], b["stderr"]);
    // Far from chance on this easy binary task, even for 135M parameters.
    assert!(a["accuracy"].as_f64().unwrap() >= 0.6, "{a}");
    let g = ok_json(
        sizewise(&db)
            .args(["eval", "--suite", "arithmetic", "--gguf"])
            .arg(&model)
            .args(["--limit", "3", "--threads", "1", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(g["scoring"], "generate");
    assert_eq!(g["n"], 3);
    assert!(g["output_tokens"].as_u64().unwrap() > 0);
    // Yes/no items share their choices: batch-calibrated, with the raw score beside it.
    let e = ok_json(
        sizewise(&db)
            .args(["eval", "--suite", "entailment", "--gguf"])
            .arg(&model)
            .args(["--limit", "10", "--threads", "1", "--no-store", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(e["calibration"], "batch");
    assert!(e["uncalibrated"]["score"].as_f64().is_some(), "{e}");
    // Each item offers its own choices: nothing to calibrate against.
    let k = ok_json(
        sizewise(&db)
            .args(["eval", "--suite", "general-knowledge", "--gguf"])
            .arg(&model)
            .args(["--limit", "5", "--threads", "1", "--no-store", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(k["calibration"], "none");
}
