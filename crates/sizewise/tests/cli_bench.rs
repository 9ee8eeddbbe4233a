//! The real binary: `simulate` on 127.0.0.1, `bench` against it, and `runs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use assert_cmd::cargo::cargo_bin;
use serde_json::Value;

fn env(c: &mut StdCommand) {
    c.env(
        "XDG_CONFIG_HOME",
        std::env::temp_dir().join("sizewise-test-no-config"),
    );
    c.env("HOME", std::env::temp_dir().join("sizewise-test-home"));
    c.env_remove("SIZEWISE_CATALOG");
    c.env_remove("SIZEWISE_STORE");
}

fn sizewise(store: &Path) -> Command {
    let mut c = StdCommand::new(cargo_bin("sizewise"));
    env(&mut c);
    c.env("SIZEWISE_STORE", store);
    Command::from_std(c)
}

/// A `sizewise simulate` process on a free port, killed on drop.
struct Sim {
    child: Child,
    url: String,
}

impl Sim {
    fn start(args: &[&str]) -> Sim {
        let mut c = StdCommand::new(cargo_bin("sizewise"));
        env(&mut c);
        c.arg("simulate")
            .args(args)
            .args(["--port", "0", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = c.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("simulate printed {line:?}: {e}"));
        let url = v["url"].as_str().unwrap().to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Sim { child, url }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn store() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.sqlite3");
    (dir, path)
}

fn json_ok(store: &Path, args: &[&str]) -> Value {
    let out = sizewise(store).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn errors_sum(v: &Value) -> u64 {
    v["errors"]
        .as_object()
        .unwrap()
        .values()
        .map(|x| x.as_u64().unwrap())
        .sum()
}

#[test]
fn bench_measures_simulate_and_keeps_the_run() {
    let sim = Sim::start(&["sim", "--ttft-ms", "20", "--tpot-ms", "2"]);
    let (_dir, db) = store();
    let out = std::env::temp_dir().join(format!("sizewise-req-{}.jsonl", std::process::id()));
    let v = json_ok(
        &db,
        &[
            "bench",
            &sim.url,
            "-m",
            "sim",
            "-c",
            "4",
            "-n",
            "40",
            "--output-tokens",
            "8",
            "--slo",
            "ttft_ms=10000",
            "--tokenizer",
            "cl100k",
            "--json",
            "--export-requests",
            out.to_str().unwrap(),
        ],
    );
    for k in ["ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"] {
        for q in ["p50", "p90", "p99", "mean"] {
            assert!(v[k][q].as_f64().is_some(), "{k}.{q} in {v}");
        }
    }
    // The server is never early: its deadlines are 20 ms, then every 2 ms after that.
    assert!(v["ttft_ms"]["p50"].as_f64().unwrap() >= 20.0);
    assert!(v["e2e_ms"]["p50"].as_f64().unwrap() >= 20.0 + 7.0 * 2.0);
    assert!(v["tpot_ms"]["p50"].as_f64().unwrap() > 0.0);
    assert_eq!(v["completed"], 40);
    assert_eq!(v["good"], 40);
    assert_eq!(errors_sum(&v), 0);
    assert_eq!(v["output_tokens"]["mean"], 8.0);
    // simulate sends usage, so the server's count wins over --tokenizer.
    assert_eq!(v["token_source"], "usage");
    assert_eq!(v["tokenizer"], "cl100k");
    assert!(v["requests_per_s"].as_f64().unwrap() > 0.0);
    assert!(v["output_tokens_per_s"].as_f64().unwrap() > 0.0);
    let id = v["run_id"].as_i64().unwrap();

    // The per-request export: one line per request with its SSE timeline.
    let text = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    let rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 40);
    assert!(rows[0]["events"].as_array().unwrap().len() >= 8);

    let list = json_ok(&db, &["runs", "list", "--json"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], id);
    assert_eq!(list[0]["kind"], "bench");
    assert_eq!(list[0]["status"], "complete");
    assert_eq!(list[0]["row_count"], 40);

    let run = json_ok(&db, &["runs", "show", &id.to_string(), "--json"]);
    assert_eq!(run["params"]["model"], "sim");
    assert_eq!(run["summary"]["completed"], 40);
    assert!(run["tool_version"].as_str().is_some());

    let csv = sizewise(&db)
        .args(["runs", "export", "latest", "--format", "csv"])
        .output()
        .unwrap();
    assert!(csv.status.success());
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert_eq!(csv.lines().count(), 41, "{csv}");
    assert!(csv.lines().next().unwrap().contains("ttft_ms"));

    let table = sizewise(&db)
        .args(["runs", "show", "latest"])
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.contains("ttft_ms") && table.contains("complete"),
        "{table}"
    );
}

#[test]
fn faults_are_counted_by_kind_and_nothing_hangs() {
    let sim = Sim::start(&[
        "sim",
        "--ttft-ms",
        "0",
        "--tpot-ms",
        "0",
        "--error-rate",
        "0.1",
        "--drop-stream-after",
        "5",
        "--malformed-rate",
        "0.05",
    ]);
    let (_dir, db) = store();
    let t0 = Instant::now();
    let v = json_ok(
        &db,
        &[
            "bench",
            &sim.url,
            "-m",
            "sim",
            "-c",
            "8",
            "-n",
            "400",
            "--output-tokens",
            "16",
            "--timeout",
            "5",
            "--json",
        ],
    );
    assert!(t0.elapsed() < Duration::from_secs(60));
    let errors = v["errors"].as_object().unwrap();
    assert_eq!(
        v["completed"].as_u64().unwrap() + errors_sum(&v),
        400,
        "{v}"
    );
    assert_eq!(v["sent"], 400);
    // About 10% each of HTTP 500s and cut streams, and about 5% malformed events.
    let n = |k: &str| errors.get(k).and_then(Value::as_u64).unwrap_or(0);
    assert!((30..=50).contains(&n("http_500")), "{errors:?}");
    assert!((30..=50).contains(&n("truncated_stream")), "{errors:?}");
    assert!(n("malformed_event") > 0, "{errors:?}");
    assert!(!errors.contains_key("timeout"), "{errors:?}");
}

#[test]
fn a_stalled_server_ends_in_timeouts_not_a_hang() {
    let sim = Sim::start(&[
        "sim",
        "--ttft-ms",
        "0",
        "--tpot-ms",
        "1",
        "--stall-ms",
        "30000",
    ]);
    let (_dir, db) = store();
    let t0 = Instant::now();
    let out = sizewise(&db)
        .args([
            "bench",
            &sim.url,
            "-m",
            "sim",
            "-c",
            "2",
            "-n",
            "4",
            "--warmup",
            "0",
            "--timeout",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(20), "{:?}", t0.elapsed());
    // No request completed: the summary is printed, then the command fails.
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["errors"]["timeout"], 4, "{v}");
    assert_eq!(v["completed"], 0);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("no request completed"), "{e}");
    assert!(e.contains("--timeout"), "the hint fits the error: {e}");
    // Kept, as a failed run.
    let list = json_ok(&db, &["runs", "list", "--json"]);
    assert_eq!(list[0]["status"], "failed");
    assert_eq!(list[0]["row_count"], 4);
}

#[test]
fn a_sweep_gives_one_result_per_level() {
    let sim = Sim::start(&["sim", "--ttft-ms", "1", "--tpot-ms", "0"]);
    let (_dir, db) = store();
    let v = json_ok(
        &db,
        &[
            "bench",
            &sim.url,
            "-m",
            "sim",
            "-n",
            "10",
            "--sweep",
            "concurrency=1,3",
            "--json",
        ],
    );
    let runs = v.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["load"]["concurrency"], 1);
    assert_eq!(runs[1]["load"]["concurrency"], 3);
    assert_ne!(runs[0]["run_id"], runs[1]["run_id"]);
    let list = json_ok(&db, &["runs", "list", "--kind", "bench", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
}

#[test]
fn rate_runs_report_requested_and_achieved_rate() {
    let sim = Sim::start(&["sim", "--ttft-ms", "0", "--tpot-ms", "0"]);
    let (_dir, db) = store();
    let v = json_ok(
        &db,
        &[
            "bench",
            &sim.url,
            "-m",
            "sim",
            "--rate",
            "200",
            "--arrival",
            "constant",
            "-n",
            "100",
            "--no-store",
            "--json",
        ],
    );
    assert_eq!(v["requested_rate"], 200.0);
    assert!(v["achieved_rate"].as_f64().unwrap() > 0.0);
    assert!(v["run_id"].is_null());
    assert!(v["schedule_lag_ms"]["p50"].as_f64().is_some());
}

#[test]
fn simulate_follows_the_estimator_for_a_catalog_model() {
    let sim = Sim::start(&["smollm2-135m", "--hardware", "nvidia-rtx-4090"]);
    let (_dir, db) = store();
    let v = json_ok(
        &db,
        &[
            "bench",
            &sim.url,
            "-m",
            "smollm2-135m",
            "-n",
            "6",
            "--no-store",
            "--json",
        ],
    );
    assert_eq!(v["completed"], 6);
    assert!(v["ttft_ms"]["p50"].as_f64().unwrap() > 0.0);
}

#[cfg(unix)]
#[test]
fn ctrl_c_keeps_the_run_as_incomplete() {
    let sim = Sim::start(&["sim", "--ttft-ms", "0", "--tpot-ms", "20"]);
    let (_dir, db) = store();
    let mut c = StdCommand::new(cargo_bin("sizewise"));
    env(&mut c);
    let child = c
        .env("SIZEWISE_STORE", &db)
        .args([
            "bench",
            &sim.url,
            "-m",
            "sim",
            "-c",
            "2",
            "-n",
            "100000",
            "--warmup",
            "0",
            "--output-tokens",
            "8",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The run is recorded after the Ctrl-C handler is in place and before the first request:
    // once it is listed, the signal is handled, however slowly the machine started the binary.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        if db.exists() {
            let list = json_ok(&db, &["runs", "list", "--json"]);
            if list.as_array().is_some_and(|runs| !runs.is_empty()) {
                break;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the bench run never appeared in the store"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Several requests (8 tokens at 20 ms each) complete before the interrupt.
    std::thread::sleep(Duration::from_millis(1000));
    let kill = StdCommand::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cancelled"], true);
    assert!(v["completed"].as_u64().unwrap() > 0);
    let list = json_ok(&db, &["runs", "list", "--json"]);
    assert_eq!(list[0]["status"], "incomplete");
    assert!(list[0]["row_count"].as_u64().unwrap() > 0);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("interrupted"), "{e}");
}

#[test]
fn bad_input_gets_clear_errors() {
    let (dir, db) = store();
    let bad_dataset = dir.path().join("d.jsonl");
    std::fs::write(&bad_dataset, "{\"prompt\": \"ok\"}\n{oops\n").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["bench", "ftp://x/v1", "-m", "m"], "not supported"),
        (
            vec![
                "bench",
                "http://127.0.0.1:9/v1",
                "-m",
                "m",
                "--sweep",
                "speed=1",
            ],
            "--sweep",
        ),
        (
            vec![
                "bench",
                "http://127.0.0.1:9/v1",
                "-m",
                "m",
                "--slo",
                "ttft=0",
            ],
            "--slo",
        ),
        (
            vec![
                "bench",
                "http://127.0.0.1:9/v1",
                "-m",
                "m",
                "--dataset",
                bad_dataset.to_str().unwrap(),
            ],
            "line 2",
        ),
        (
            vec![
                "bench",
                "http://127.0.0.1:9/v1",
                "-m",
                "m",
                "--api-key-env",
                "SIZEWISE_NO_SUCH_VAR",
            ],
            "SIZEWISE_NO_SUCH_VAR",
        ),
        (vec!["simulate", "sim"], "--hardware"),
        (
            vec!["simulate", "no-such-model", "--hardware", "apple-m2"],
            "no-such-model",
        ),
        (
            vec![
                "simulate",
                "sim",
                "--ttft-ms",
                "1",
                "--tpot-ms",
                "1",
                "--error-rate",
                "2",
            ],
            "error_rate",
        ),
        (
            vec!["simulate", "llama-3.1-70b", "--hardware", "apple-m2"],
            "does not fit",
        ),
        (
            vec![
                "bench",
                "http://127.0.0.1:9/v1",
                "-m",
                "m",
                "--output-tokens",
                "4000000000",
            ],
            "between 1 and",
        ),
        (
            vec!["bench", "http://127.0.0.1:9/v1", "-m", "m", "--rate", "-1"],
            "positive",
        ),
        (
            vec![
                "bench",
                "http://127.0.0.1:9/v1",
                "-m",
                "m",
                "--export-requests",
                "x.txt",
            ],
            ".jsonl",
        ),
        (
            vec![
                "bench",
                "http://127.0.0.1:9/v1",
                "-m",
                "m",
                "--export-requests",
                "/nonexistent-dir/x.csv",
            ],
            "/nonexistent-dir/x.csv",
        ),
        (
            vec![
                "bench",
                "http://127.0.0.1:9/v1",
                "-m",
                "m",
                "-c",
                "2",
                "--sweep",
                "concurrency=1,2",
            ],
            "drop --rate/--concurrency",
        ),
        (
            vec![
                "bench",
                "http://127.0.0.1:9/v1",
                "-m",
                "m",
                "--tokenizer",
                "nosuch",
            ],
            "nosuch",
        ),
        (vec!["runs", "show", "42"], "no run 42"),
        (vec!["runs", "show", "abc"], "not a run id"),
        (vec!["runs", "list", "--kind", "nope"], "unknown run kind"),
    ];
    for (args, needle) in cases {
        let out = sizewise(&db).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(e.contains(needle), "{args:?}: {e}");
        assert!(!e.contains("panicked"), "{e}");
    }
    // A refused configuration leaves no run behind.
    let list = json_ok(&db, &["runs", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
    // A store that is not SQLite is refused, not overwritten.
    let not_db = dir.path().join("notes.txt");
    std::fs::write(&not_db, "my notes").unwrap();
    let out = sizewise(&not_db).args(["runs", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&not_db).unwrap(), "my notes");
}

#[test]
fn nothing_listening_is_a_connect_error() {
    let (_dir, db) = store();
    // Bind and drop to find a port with nothing on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/v1");
    let out = sizewise(&db)
        .args([
            "bench", &url, "-m", "m", "-n", "3", "--warmup", "0", "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["errors"]["connect"], 3);
}

#[test]
fn ca_cert_problems_are_clear_errors() {
    let (dir, db) = store();
    let missing = dir.path().join("no-such-ca.pem");
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "not a certificate").unwrap();
    for (file, needle) in [(&missing, "--ca-cert"), (&not_pem, "no certificate found")] {
        let out = sizewise(&db)
            .args(["bench", "https://127.0.0.1:9/v1", "-m", "m", "--ca-cert"])
            .arg(file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{file:?}");
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(e.contains(needle) && e.contains("ca"), "{file:?}: {e}");
        assert!(!e.contains("panicked"), "{e}");
    }
}
