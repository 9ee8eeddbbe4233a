//! The real binary: `route` in front of `simulate` upstreams on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::{Server, sizewise};
use serde_json::{Value, json};

/// A zero-delay `simulate` upstream with extra flags.
fn sim(store: &Path, extra: &[&str]) -> Server {
    let mut c = sizewise(store);
    c.args([
        "simulate",
        "sim",
        "--ttft-ms",
        "0",
        "--tpot-ms",
        "0",
        "--port",
        "0",
        "--json",
    ])
    .args(extra);
    Server::spawn(c)
}

/// Writes `route.toml` with `top` (top-level keys), a `small` (local) and a `large`
/// upstream, the policy, and `extra` (more policy keys, then tables).
fn write_config(dir: &Path, small: &str, large: &str, top: &str, extra: &str) -> PathBuf {
    let cfg = dir.join("route.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"listen = "127.0.0.1:0"
{top}
[[upstream]]
name = "small"
model = "smollm2-135m"
url = "{small}"
local = true
[[upstream]]
name = "large"
model = "llama-3.1-70b"
url = "{large}"
[policy]
default = "small"
privacy = "local-only"
{extra}
"#
        ),
    )
    .unwrap();
    cfg
}

/// Starts a gateway on `cfg` (port 0).
fn start_gateway(dir: &Path, cfg: &Path) -> Server {
    let mut c = sizewise(dir);
    c.args(["route", "--config"]).arg(cfg).arg("--json");
    Server::spawn(c)
}

/// A gateway with `small` and `large` upstreams plus `extra`, its SQLite ledger beside it.
fn gateway(dir: &Path, small: &str, large: &str, extra: &str) -> (Server, PathBuf) {
    let cfg = write_config(dir, small, large, "", extra);
    (start_gateway(dir, &cfg), dir.join("route-ledger.sqlite"))
}

fn ledger_rows(path: &Path) -> Vec<sizewise_route::ledger::Row> {
    sizewise_route::ledger::read_all(path).unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap()
}

fn chat(content: &str) -> Value {
    json!({"model": "auto", "messages": [{"role": "user", "content": content}], "max_tokens": 4})
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_stays_local_and_long_prompts_go_large_each_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let (s, l) = (sim(dir.path(), &[]), sim(dir.path(), &[]));
    let rule = "[[rule]]\nname = \"proofs\"\nto = \"large\"\nregex = \"(?i)prove\"";
    let (gw, ledger) = gateway(dir.path(), &s.url, &l.url, rule);
    let url = format!("{}/chat/completions", gw.url);
    let c = client();

    // An e-mail address goes to the local upstream although the rule says large.
    let r = c
        .post(&url)
        .json(&chat("prove it, then write to ana.silva@example.com.br"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sizewise-route"), "small");
    assert!(
        header(&r, "x-sizewise-reason").contains("privacy: email"),
        "{}",
        header(&r, "x-sizewise-reason")
    );
    // A Brazilian CPF does too, pinned or not: pinning the cloud upstream is refused.
    let mut body = chat("meu CPF é 529.982.247-25");
    body["model"] = json!("large");
    let r = c.post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error"]["message"].as_str().unwrap().contains("cpf"),
        "{e}"
    );

    // The rule alone sends to large.
    let r = c.post(&url).json(&chat("prove it")).send().await.unwrap();
    assert_eq!(header(&r, "x-sizewise-route"), "large");
    assert_eq!(header(&r, "x-sizewise-reason"), "rule `proofs`");

    // Longer than SmolLM2's 8,192-token window: large, and the reason says so.
    let long = "palavra ".repeat(9000);
    let r = c.post(&url).json(&chat(&long)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sizewise-route"), "large");
    let why = header(&r, "x-sizewise-reason");
    assert!(
        why.starts_with("context: prompt+output needs") && why.contains("small's window is 8192"),
        "{why}"
    );

    // A short plain prompt takes the default.
    let r = c.post(&url).json(&chat("hello")).send().await.unwrap();
    assert_eq!(header(&r, "x-sizewise-route"), "small");
    assert_eq!(header(&r, "x-sizewise-reason"), "default");

    // Unknown names list the choices.
    let mut body = chat("hi");
    body["model"] = json!("gpt-4");
    let r = c.post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("small, large"),
        "{e}"
    );

    let rows = ledger_rows(&ledger);
    assert_eq!(rows.len(), 6, "one row per request");
    assert_eq!(rows[0].pii, "email");
    assert!(rows[2].cost_usd > 0.0 && rows[4].cost_usd == 0.0 && rows[4].large_cost_usd > 0.0);

    let models: Value = c
        .get(format!("{}/models", gw.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["auto", "small", "large"]);
    let metrics = c
        .get(gw.url.replace("/v1", "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("sizewise_route_decisions_total{upstream=\"small\",reason=\"privacy\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sizewise_route_savings_usd_total"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_upstream_hands_over_before_the_first_byte_and_a_cut_stream_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let broken = sim(dir.path(), &["--error-rate", "1"]);
    let cutting = sim(dir.path(), &["--drop-stream-after", "2"]);
    let (gw, ledger) = gateway(dir.path(), &broken.url, &cutting.url, "");
    let url = format!("{}/chat/completions", gw.url);
    let c = client();

    let r = c.post(&url).json(&chat("hello")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sizewise-route"), "large");
    assert!(
        header(&r, "x-sizewise-reason").contains("fallback: small failed (HTTP 500"),
        "{}",
        header(&r, "x-sizewise-reason")
    );

    // The large upstream cuts every stream after two events: the client gets an explicit
    // error event and no [DONE].
    let mut body = chat("hello");
    body["stream"] = json!(true);
    body["max_tokens"] = json!(10);
    let r = c.post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.contains("\"code\":\"stream_interrupted\""), "{text}");
    assert!(!text.contains("[DONE]"), "{text}");

    // Nothing answers at all: 502 naming each failure.
    drop(cutting);
    let r = c.post(&url).json(&chat("hello")).send().await.unwrap();
    assert_eq!(r.status(), 502);
    let e: Value = r.json().await.unwrap();
    let m = e["error"]["message"].as_str().unwrap();
    assert!(
        m.contains("small: HTTP 500") && m.contains("large: cannot reach"),
        "{m}"
    );

    let rows = ledger_rows(&ledger);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].tried, "small,large");
    assert_eq!(rows[1].outcome, "error");
    assert!(
        rows[1].error.contains("failed after the stream began"),
        "{}",
        rows[1].error
    );
    assert_eq!(rows[2].status, 502);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_requests_on_one_key_never_overspend() {
    let dir = tempfile::tempdir().unwrap();
    let (s, l) = (sim(dir.path(), &[]), sim(dir.path(), &[]));
    let hash = sizewise_route::keys::hex(&sizewise_route::keys::hash_key("sk-team"));
    // Each request reserves (prompt bound + 100 output tokens) x $0.99/1M on large, about
    // US$0.00018, and costs about US$0.0001: all 200 would cost about twice the budget.
    let extra = format!(
        "on_budget_exhausted = \"reject\"\n[[key]]\nname = \"team\"\nsha256 = \"{hash}\"\nbudget_usd = 0.01\n"
    );
    let (gw, ledger) = gateway(dir.path(), &s.url, &l.url, &extra);
    let url = format!("{}/chat/completions", gw.url);
    let c = client();
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let c = c.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"model": "large", "messages": [{"role": "user", "content": "hello there"}], "max_tokens": 100});
            let r = c.post(&url).bearer_auth("sk-team").json(&body).send().await.unwrap();
            r.status().as_u16()
        }));
    }
    let mut ok = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            200 => ok += 1,
            429 => refused += 1,
            s => panic!("unexpected status {s}"),
        }
    }
    assert_eq!(ok + refused, 200);
    assert!(
        ok > 0 && refused > 0,
        "the budget must run out part way: {ok} ok, {refused} refused"
    );
    let rows = ledger_rows(&ledger);
    assert_eq!(rows.len(), 200);
    let spent: f64 = rows.iter().map(|r| r.cost_usd).sum();
    assert!(spent <= 0.01 + 1e-12, "spent {spent} of 0.01");
    // Without a key, or with a wrong one: 401.
    let r = c.post(&url).json(&chat("hi")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .post(&url)
        .bearer_auth("sk-other")
        .json(&chat("hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[test]
fn bad_configurations_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("route.toml");
    for (text, want) in [
        ("listen = \"x\"", "listen"),
        (
            "[[upstream]]\nname = \"a\"\nmodel = \"nope\"\nurl = \"http://127.0.0.1:1/v1\"",
            "nope",
        ),
        (
            "[[upstream]]\nname = \"a\"\nmodel = \"smollm2-135m\"\nurl = \"ftp://x\"",
            "http://",
        ),
        ("[[upstream]\n", "route.toml"),
    ] {
        std::fs::write(&cfg, text).unwrap();
        let out = sizewise(dir.path())
            .args(["route", "--config"])
            .arg(&cfg)
            .arg("--check")
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{text}: {err}");
    }
    let out = sizewise(dir.path()).args(["route"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--config"));
    let out = sizewise(dir.path())
        .args(["route", "hash-key", "abc"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

/// What a client made of one request: the gateway's id and whether it got a whole answer
/// or an explicit error.
#[derive(Debug)]
struct Outcome {
    id: String,
    whole: bool,
    explicit_error: bool,
}

async fn one(c: &reqwest::Client, url: &str, i: usize) -> Option<Outcome> {
    let stream = i.is_multiple_of(2);
    let body = json!({"model": "auto", "messages": [{"role": "user", "content": format!("request {i}")}],
        "max_tokens": 6, "stream": stream});
    let r = c.post(url).json(&body).send().await.ok()?;
    let id = header(&r, "x-sizewise-request-id");
    let status = r.status().as_u16();
    let text = r.text().await.ok()?;
    let whole = status == 200
        && if stream {
            text.ends_with("data: [DONE]\n\n")
        } else {
            serde_json::from_str::<Value>(&text).is_ok_and(|v| v["choices"].is_array())
        };
    let explicit_error = if status == 200 {
        stream && text.contains("\"error\"") && !text.contains("[DONE]")
    } else {
        serde_json::from_str::<Value>(&text).is_ok_and(|v| v["error"]["message"].is_string())
    };
    Some(Outcome {
        id,
        whole,
        explicit_error,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_ten_thousand_requests_with_failures_each_answered_and_ledgered_once() {
    let dir = tempfile::tempdir().unwrap();
    // small: 10% HTTP 500, another 10% of streams cut after two events; large: 5% HTTP 500.
    let s = sim(
        dir.path(),
        &["--error-rate", "0.1", "--drop-stream-after", "2"],
    );
    let l = sim(dir.path(), &["--error-rate", "0.05", "--seed", "7"]);
    let (gw, ledger) = gateway(dir.path(), &s.url, &l.url, "");
    let url = format!("{}/chat/completions", gw.url);
    let c = client();
    const N: usize = 10_000;
    const CLIENTS: usize = 32;
    let mut tasks = Vec::new();
    for k in 0..CLIENTS {
        let c = c.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in (k..N).step_by(CLIENTS) {
                out.push(one(&c, &url, i).await);
            }
            out
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.extend(t.await.unwrap());
    }
    assert_eq!(outcomes.len(), N);
    let mut ids = std::collections::HashSet::new();
    let (mut whole, mut errors) = (0, 0);
    for o in &outcomes {
        let o = o.as_ref().expect("every request gets an HTTP answer");
        assert!(
            o.whole || o.explicit_error,
            "neither an answer nor an explicit error: {o:?}"
        );
        whole += usize::from(o.whole);
        errors += usize::from(o.explicit_error);
        assert!(ids.insert(o.id.clone()), "duplicate id {}", o.id);
    }
    assert!(
        errors > 0 && whole > N * 8 / 10,
        "{whole} whole answers, {errors} explicit errors"
    );
    let rows = ledger_rows(&ledger);
    assert_eq!(rows.len(), N, "exactly one ledger row per request");
    let row_ids: std::collections::HashSet<String> = rows.iter().map(|r| r.id.clone()).collect();
    assert_eq!(row_ids, ids);
    let fell_back = rows.iter().filter(|r| r.tried == "small,large").count();
    assert!(fell_back > N / 20, "{fell_back} requests fell back");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_gateway_under_load_loses_no_settled_row() {
    let dir = tempfile::tempdir().unwrap();
    let (s, l) = (sim(dir.path(), &[]), sim(dir.path(), &[]));
    let (mut gw, ledger) = gateway(dir.path(), &s.url, &l.url, "");
    let url = format!("{}/chat/completions", gw.url);
    let c = client();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for k in 0..16 {
        let (c, url, stop) = (c.clone(), url.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            let mut i = k;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match one(&c, &url, i).await {
                    Some(o) if o.whole => done.push(o.id),
                    _ => {}
                }
                i += 16;
            }
            done
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    // SIGKILL: no shutdown code runs.
    gw.child.kill().unwrap();
    gw.child.wait().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut answered = Vec::new();
    for t in tasks {
        answered.extend(t.await.unwrap());
    }
    assert!(
        answered.len() > 100,
        "only {} answers before the kill",
        answered.len()
    );
    let rows: std::collections::HashSet<String> =
        ledger_rows(&ledger).into_iter().map(|r| r.id).collect();
    let lost: Vec<&String> = answered.iter().filter(|id| !rows.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "{} answered requests have no ledger row: {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_eval_draws_the_quality_curve_and_its_model_routes_requests() {
    let dir = tempfile::tempdir().unwrap();
    let s = sim(dir.path(), &["--answers", "sentiment", "--accuracy", "0.6"]);
    let l = sim(
        dir.path(),
        &[
            "--answers",
            "sentiment",
            "--accuracy",
            "0.95",
            "--seed",
            "3",
        ],
    );
    let (gw, _) = gateway(dir.path(), &s.url, &l.url, "");
    drop(gw);
    let model = dir.path().join("difficulty.json");
    let out = sizewise(dir.path())
        .args(["route", "eval", "--config"])
        .arg(dir.path().join("route.toml"))
        .args(["--suite", "sentiment", "--json", "--save-model"])
        .arg(&model)
        .output()
        .unwrap();
    let v = common::ok_json(out);
    assert_eq!(v["items"], 200);
    let c = &v["curve"];
    let pts = c["points"].as_array().unwrap();
    assert_eq!(pts.len(), 11);
    assert_eq!(pts[0]["share"], 0.0);
    assert_eq!(pts[10]["share"], 1.0);
    assert_eq!(pts[0]["quality"], c["small_quality"]);
    assert_eq!(pts[10]["quality"], c["large_quality"]);
    let (small, large) = (
        c["small_quality"].as_f64().unwrap(),
        c["large_quality"].as_f64().unwrap(),
    );
    assert!(
        (0.45..0.75).contains(&small) && large > 0.85,
        "{small} {large}"
    );
    let apgr = c["apgr"].as_f64().unwrap();
    assert!((0.0..=1.5).contains(&apgr), "{apgr}");
    assert!(pts[10]["usd_per_1k"].as_f64().unwrap() > pts[0]["usd_per_1k"].as_f64().unwrap());
    assert_eq!(
        v["policy"]["share_large"], 0.0,
        "no rule sends sentiment items large"
    );

    // The saved model routes: with large_share = 1 every request scores above the threshold.
    let cfg = std::fs::read_to_string(dir.path().join("route.toml"))
        .unwrap()
        .replace(
            "privacy = \"local-only\"",
            &format!(
                "privacy = \"local-only\"\ndifficulty_model = \"{}\"\nlarge_share = 1.0",
                model.display()
            ),
        );
    std::fs::write(dir.path().join("route.toml"), cfg).unwrap();
    let gw = start_gateway(dir.path(), &dir.path().join("route.toml"));
    let r = client()
        .post(format!("{}/chat/completions", gw.url))
        .json(&chat("Review: a dull, overlong film.\nSentiment:"))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "x-sizewise-route"), "large");
    assert!(
        header(&r, "x-sizewise-reason").starts_with("difficulty: "),
        "{}",
        header(&r, "x-sizewise-reason")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cascade_escalates_answers_that_fail_their_check_before_any_byte_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    // The small model answers half the JSON items with valid JSON, the rest with prose; the
    // large one answers all of them.
    let s = sim(
        dir.path(),
        &["--answers", "extraction-json", "--accuracy", "0.5"],
    );
    let l = sim(
        dir.path(),
        &["--answers", "extraction-json", "--accuracy", "1"],
    );
    let (gw, ledger) = gateway(
        dir.path(),
        &s.url,
        &l.url,
        "[cascade]\nchecks = [\"json\", \"refusal\"]",
    );
    let url = format!("{}/chat/completions", gw.url);
    let suite = sizewise_eval::builtin("extraction-json").unwrap();
    let prompts = sizewise_eval::prepare(&suite, Some(0), 1, None).unwrap();
    let c = client();
    let (mut passed, mut escalated) = (0, 0);
    for (i, p) in prompts.iter().enumerate() {
        let mut messages: Vec<Value> = Vec::new();
        if let Some(system) = &p.system {
            messages.push(json!({"role": "system", "content": system}));
        }
        for m in &p.messages {
            let role = if m.role == sizewise_eval::Role::User {
                "user"
            } else {
                "assistant"
            };
            messages.push(json!({"role": role, "content": m.content}));
        }
        let stream = i.is_multiple_of(3);
        let body = json!({"model": "auto", "messages": messages, "max_tokens": 200, "stream": stream,
            "response_format": {"type": "json_object"}});
        let r = c.post(&url).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let (route, why) = (
            header(&r, "x-sizewise-route"),
            header(&r, "x-sizewise-reason"),
        );
        let text = r.text().await.unwrap();
        let content = if stream {
            assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
            text.split("\n\n")
                .filter_map(|e| e.strip_prefix("data: "))
                .filter_map(|d| serde_json::from_str::<Value>(d).ok())
                .filter_map(|v| {
                    v["choices"][0]["delta"]["content"]
                        .as_str()
                        .map(str::to_string)
                })
                .collect::<String>()
        } else {
            let v: Value = serde_json::from_str(&text).unwrap();
            v["choices"][0]["message"]["content"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert!(
            serde_json::from_str::<Value>(&content).is_ok(),
            "{route} ({why}) sent {content:?}"
        );
        if why.contains("cascade: small passed") {
            assert_eq!(route, "small");
            passed += 1;
        } else {
            assert!(why.contains("cascade: escalated to large (json:"), "{why}");
            assert_eq!(route, "large");
            escalated += 1;
        }
    }
    assert_eq!((passed, escalated), (50, 50));
    let rows = ledger_rows(&ledger);
    assert_eq!(rows.len(), 100);
    for r in &rows {
        let want = if r.route == "large" {
            "small,large"
        } else {
            "small"
        };
        assert_eq!(r.tried, want, "{r:?}");
    }
}

/// A fresh database on the test PostgreSQL server (`SIZEWISE_TEST_POSTGRES`, which
/// `scripts/test.sh` starts), or `None` with a note when there is none.
async fn fresh_postgres() -> Option<String> {
    let Some(url) = std::env::var("SIZEWISE_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        assert!(
            std::env::var_os("SIZEWISE_REQUIRE_POSTGRES").is_none(),
            "SIZEWISE_REQUIRE_POSTGRES is set but SIZEWISE_TEST_POSTGRES is not"
        );
        eprintln!("skipped: no PostgreSQL (set SIZEWISE_TEST_POSTGRES, or run scripts/test.sh)");
        return None;
    };
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let name = format!(
        "sw_test_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    client
        .execute(&format!("CREATE DATABASE {name}"), &[])
        .await
        .unwrap();
    let base = url
        .rsplit_once('/')
        .map_or(url.as_str(), |(b, _)| b)
        .to_string();
    Some(format!("{base}/{name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_postgres_ledger_share_a_budget_and_the_accounting() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (s, l) = (sim(dir.path(), &[]), sim(dir.path(), &[]));
    let hash = sizewise_route::keys::hex(&sizewise_route::keys::hash_key("sk-team"));
    let cfg = write_config(
        dir.path(),
        &s.url,
        &l.url,
        &format!("database_url = \"{db}\""),
        &format!(
            "on_budget_exhausted = \"reject\"\n[[key]]\nname = \"team\"\nsha256 = \"{hash}\"\nbudget_usd = 0.01"
        ),
    );
    let replica = || start_gateway(dir.path(), &cfg);
    let (a, b) = (replica(), replica());
    let c = client();
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        let url = format!(
            "{}/chat/completions",
            if i.is_multiple_of(2) { &a.url } else { &b.url }
        );
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"model": "large", "messages": [{"role": "user", "content": "hello there"}], "max_tokens": 100});
            c.post(&url).bearer_auth("sk-team").json(&body).send().await.unwrap().status().as_u16()
        }));
    }
    let mut statuses = std::collections::BTreeMap::new();
    for t in tasks {
        *statuses.entry(t.await.unwrap()).or_insert(0) += 1;
    }
    assert_eq!(
        statuses.keys().copied().collect::<Vec<u16>>(),
        vec![200, 429],
        "{statuses:?}"
    );
    let rows = sizewise_route::ledger::read_all_postgres(&db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 200, "one row per request, from both replicas");
    let spent: f64 = rows.iter().map(|r| r.cost_usd).sum();
    assert!(
        spent <= 0.01 + 1e-12,
        "the replicas together spent {spent} of 0.01"
    );
    // Each replica alone would have let about 0.01 through: together they stayed in budget.
    assert!(spent > 0.005, "{spent}");
    // Every reservation was settled, and the budget row agrees with the ledger.
    let (client, conn) = tokio_postgres::connect(&db, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let row = client
        .query_one(
            "SELECT spent, reserved FROM sizewise_budgets WHERE key = 'team'",
            &[],
        )
        .await
        .unwrap();
    let (budget_spent, reserved): (f64, f64) = (row.get(0), row.get(1));
    assert!(reserved.abs() < 1e-12, "{reserved} still reserved");
    assert!(
        (budget_spent - spent).abs() < 1e-12,
        "{budget_spent} vs {spent}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_whole_answers_spent_budgets_and_data_outside_messages_are_handled() {
    let dir = tempfile::tempdir().unwrap();
    let s = sim(dir.path(), &[]);
    // 400 tokens at 2 ms: a whole answer takes 0.8 s, longer than the 0.3 s first-byte limit.
    let mut slow = sizewise(dir.path());
    slow.args([
        "simulate",
        "sim",
        "--ttft-ms",
        "0",
        "--tpot-ms",
        "2",
        "--port",
        "0",
        "--json",
    ]);
    let l = Server::spawn(slow);
    let hash = sizewise_route::keys::hex(&sizewise_route::keys::hash_key("sk-spent"));
    let cfg = write_config(
        dir.path(),
        &s.url,
        &l.url,
        "",
        &format!("[[key]]\nname = \"spent\"\nsha256 = \"{hash}\"\nbudget_usd = 0.0"),
    )
    .to_string_lossy()
    .to_string();
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "url = \"".to_string().as_str(),
        "first_byte_timeout_s = 0.3\nurl = \"",
    );
    std::fs::write(&cfg, text).unwrap();
    let gw = start_gateway(dir.path(), Path::new(&cfg));
    let url = format!("{}/chat/completions", gw.url);
    let c = client();

    let mut body = chat("hello");
    body["model"] = json!("large");
    body["max_tokens"] = json!(400);
    let r = c
        .post(&url)
        .bearer_auth("sk-spent")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "large costs money and the budget is 0");
    // The zero-cost local upstream stays callable with a spent budget, and a whole answer
    // may take longer than the first-byte limit.
    let mut body = chat("hello");
    body["max_tokens"] = json!(400);
    let r = c
        .post(&url)
        .bearer_auth("sk-spent")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-sizewise-route"), "small");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["usage"]["completion_tokens"], 400);

    // Personal data in a tool call's arguments or in `user` counts as much as in the text.
    let body = json!({"model": "auto", "user": "ana@example.com", "messages": [
        {"role": "user", "content": "prove it"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "1", "type": "function",
            "function": {"name": "lookup", "arguments": "{\"cpf\": \"529.982.247-25\"}"}}]},
        {"role": "tool", "tool_call_id": "1", "content": "ok"}]});
    let mut pinned = body.clone();
    pinned["model"] = json!("large");
    let r = c
        .post(&url)
        .bearer_auth("sk-spent")
        .json(&pinned)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let e: Value = r.json().await.unwrap();
    let m = e["error"]["message"].as_str().unwrap();
    assert!(m.contains("cpf") && m.contains("email"), "{m}");
}
