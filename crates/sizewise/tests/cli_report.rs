//! `sizewise recommend` and `sizewise report` end to end: the real binary over the real
//! catalog, with workload files, and measured runs from `simulate` on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Server, ok_json, sizewise};
use std::path::Path;

use serde_json::Value;

/// `sizewise recommend --json` for a workload written to a file.
fn recommend(dir: &Path, workload: &str) -> Value {
    let path = dir.join("w.toml");
    std::fs::write(&path, workload).unwrap();
    ok_json(
        sizewise(&dir.join("r.db"))
            .args(["recommend", "--workload"])
            .arg(&path)
            .arg("--json")
            .output()
            .unwrap(),
    )
}

const API_ONLY: &[&str] = &["gpt-4o", "gpt-4o-mini", "claude-3-haiku", "gemini-1.5-pro"];

#[test]
fn recommend_ranks_options_with_reasons_and_keeps_data_on_premises() {
    let dir = tempfile::tempdir().unwrap();
    let v = recommend(
        dir.path(),
        r#"task = "classify support tickets"
requests_per_day = 20000
prompt_tokens = 400
output_tokens = 20
latency_p95_ms = 2000
monthly_budget_usd = 300
privacy = "on-premises"
"#,
    );
    let options = v["options"].as_array().unwrap();
    assert!(!options.is_empty() && v["none_meets"] == false, "{v}");
    for o in options {
        for key in ["model", "hardware", "precision", "reasons"] {
            assert!(!o[key].is_null(), "{key} in {o}");
        }
        assert!(!o["reasons"].as_array().unwrap().is_empty());
        assert_eq!(o["deployment"], "self-hosted", "{o}");
        assert!(!API_ONLY.contains(&o["model"].as_str().unwrap()));
        assert!(o["monthly_usd"].as_f64().unwrap() <= 300.0);
        assert!(o["latency_s"].as_f64().unwrap() <= 2.0);
    }
    // Best first: never a dearer option before a cheaper one.
    let costs: Vec<f64> = options
        .iter()
        .map(|o| o["monthly_usd"].as_f64().unwrap())
        .collect();
    assert!(costs.windows(2).all(|w| w[0] <= w[1]), "{costs:?}");
    let rejected = v["rejected"].as_array().unwrap();
    let api = rejected
        .iter()
        .find(|r| r["model"] == "gpt-4o")
        .expect("gpt-4o is rejected");
    assert_eq!(api["constraint"], "privacy");
    assert!(rejected.iter().any(|r| r["constraint"] == "memory"));
}

#[test]
fn recommend_names_the_nearest_option_when_none_meets_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let v = recommend(
        dir.path(),
        r#"task = "summarise"
requests_per_day = 500000
prompt_tokens = 2000
output_tokens = 500
latency_p95_ms = 3000
monthly_budget_usd = 5
privacy = "on-premises"
device = "nvidia-l4"
"#,
    );
    assert_eq!(v["none_meets"], true);
    let message = v["message"].as_str().unwrap();
    assert!(message.contains("nearest"), "{message}");
    let nearest = &v["options"][0];
    assert_eq!(nearest["meets_constraints"], false);
    assert_eq!(nearest["hardware"], "nvidia-l4");
    assert!(message.contains(nearest["model"].as_str().unwrap()));
    assert!(
        nearest["broken"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["constraint"] == "budget" || b["constraint"] == "latency"),
        "{nearest}"
    );
    // A workload that names its device is not sent to an API.
    let rejected = v["rejected"].as_array().unwrap();
    assert!(
        rejected.iter().all(|r| r["hardware"]
            .as_str()
            .is_some_and(|h| h.ends_with("nvidia-l4"))),
        "{v}"
    );
}

#[test]
fn recommend_splits_requests_when_neither_model_alone_fits_score_and_budget() {
    let dir = tempfile::tempdir().unwrap();
    let v = recommend(
        dir.path(),
        r#"task = "answer questions"
requests_per_day = 50000
prompt_tokens = 1000
output_tokens = 300
monthly_budget_usd = 3800
[min_quality]
suite = "MMLU"
score = 0.85
"#,
    );
    assert_eq!(v["none_meets"], true, "{v}");
    let c = &v["combination"];
    let share = c["small"]["share"].as_f64().unwrap();
    assert!(share > 0.0 && share < 1.0, "{c}");
    assert!(c["monthly_usd"].as_f64().unwrap() <= 3800.0, "{c}");
    assert!(c["expected_score"].as_f64().unwrap() >= 0.85, "{c}");
    assert_ne!(c["small"]["model"], c["large"]["model"]);
    // The cheapest split: the cheaper model takes as much as the floor allows.
    assert!(c["reasons"][0].as_str().unwrap().contains("(cheaper)"));
}

#[test]
fn a_bad_workload_gets_an_error_that_shows_a_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "task = 'x'\nrequests_per_day = 'many'\n").unwrap();
    let out = sizewise(&dir.path().join("r.db"))
        .args(["recommend", "--workload"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("bad.toml") && e.contains("requests_per_day"),
        "{e}"
    );
    assert!(e.contains("privacy = \"on-premises\""), "the example: {e}");
}

#[test]
fn the_report_draws_measured_runs_beside_the_estimates() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let mut c = sizewise(&db);
    c.args(["simulate", "sim", "--ttft-ms", "5", "--tpot-ms", "1"])
        .args(["--port", "0", "--json"]);
    let sim = Server::spawn(c);
    let bench = ok_json(
        sizewise(&db)
            .args([
                "bench",
                &sim.url,
                "-m",
                "sim",
                "-n",
                "8",
                "--output-tokens",
                "4",
            ])
            .arg("--json")
            .output()
            .unwrap(),
    );
    let eval = ok_json(
        sizewise(&db)
            .args(["eval", "--suite", "sentiment", &sim.url, "--model", "sim"])
            .args(["--limit", "6", "--scoring", "generate", "--json"])
            .output()
            .unwrap(),
    );
    let html = dir.path().join("r.html");
    let md = dir.path().join("r.md");
    let v = ok_json(
        sizewise(&db)
            .args(["report", "phi-3-mini", "gpt-4o-mini", "--html"])
            .arg(&html)
            .arg("--markdown")
            .arg(&md)
            .arg("--json")
            .output()
            .unwrap(),
    );
    let runs: Vec<i64> = v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_i64().unwrap())
        .collect();
    assert!(runs.contains(&bench["run_id"].as_i64().unwrap()), "{v}");
    assert!(runs.contains(&eval["run_id"].as_i64().unwrap()), "{v}");
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(
        text.contains(&format!("run {}: ", bench["run_id"])),
        "bench run drawn"
    );
    assert!(
        text.contains(r#"class="k kM""#),
        "measured cells are marked"
    );
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(markdown.contains("| sentiment |") && markdown.contains("[M]"));
    // Run ids that do not exist are an error that says where to look.
    let out = sizewise(&db)
        .args(["report", "--runs", "999", "--html"])
        .arg(&html)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("runs list"));
}

#[test]
fn a_report_with_a_workload_opens_with_the_recommendation() {
    let dir = tempfile::tempdir().unwrap();
    let workload = dir.path().join("tickets.toml");
    std::fs::write(
        &workload,
        "task = 'classify tickets'\nrequests_per_day = 20000\nprompt_tokens = 400\noutput_tokens = 20\nlatency_p95_ms = 2000\nmonthly_budget_usd = 300\nprivacy = 'on-premises'\n",
    )
    .unwrap();
    let md = dir.path().join("r.md");
    ok_json(
        sizewise(&dir.path().join("r.db"))
            .args([
                "report",
                "--runs",
                "none",
                "--lang",
                "pt-BR",
                "--json",
                "--workload",
            ])
            .arg(&workload)
            .arg("--markdown")
            .arg(&md)
            .output()
            .unwrap(),
    );
    let text = std::fs::read_to_string(&md).unwrap();
    let rec = text
        .find("## Recomendação para esta carga")
        .expect("the section");
    assert!(
        rec < text.find("## Tamanho do modelo").unwrap(),
        "it comes first"
    );
    assert!(text.contains("Tarefa: classify tickets"));
    assert!(text.contains("dados na sua infraestrutura"));
    // Brazilian number format: a decimal comma, US$.
    assert!(text.contains("US$ ") && !text.contains("US$ 0.0"));
}
