//! `sizewise serve` and `sizewise bench --gguf` end to end: the real binary over the real SmolLM2 model, on any free port.
//! Skips (and passes) when the model is missing; run `scripts/fetch-test-models.sh` first.

#![cfg(feature = "llama")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

mod common;
use common::{SMOLLM2, model_path};

/// The server process, killed when dropped (also when an assertion fails).
struct Served {
    child: Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(model: &PathBuf, extra: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sizewise"))
        .args(["serve", "--gguf"])
        .arg(model)
        .args([
            "--port",
            "0",
            "--json",
            "--threads",
            "1",
            "--ctx-size",
            "512",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting sizewise serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let mut served = Served {
        child,
        url: String::new(),
    };
    let first: Value = serde_json::from_str(&line)
        .unwrap_or_else(|err| panic!("first line is not JSON ({err}): {line:?}"));
    let url = first["url"].as_str().expect("a url key").to_string();
    assert_eq!(first["model"], "SmolLM2-135M-Instruct.Q4_1");
    served.url = url;
    served
}

fn chat(max_tokens: u32, stream: bool) -> Value {
    json!({
        "model": "SmolLM2-135M-Instruct.Q4_1",
        "messages": [{"role": "user", "content": "Name a prime number."}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": stream,
        "stream_options": {"include_usage": true},
    })
}

/// The `data:` payloads of an SSE body.
fn events(body: &str) -> Vec<&str> {
    body.lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .collect()
}

/// Posts `body` as JSON; the status and the (JSON) answer.
async fn post_error(client: &reqwest::Client, url: &str, body: Vec<u8>) -> (u16, Value) {
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serve_answers_like_openai() {
    let Some(model) = model_path(SMOLLM2) else {
        return;
    };
    let server = start(&model, &["--parallel", "2", "--max-body-bytes", "65536"]);
    let url = server.url.clone();
    let base = url.trim_end_matches("/v1").to_string();
    let client = reqwest::Client::new();

    let get = |path: String| {
        let request = client.get(path);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    assert_eq!(get(format!("{base}/health")).await, json!({"status": "ok"}));
    let models = get(format!("{url}/models")).await;
    assert_eq!(models["data"][0]["id"], "SmolLM2-135M-Instruct.Q4_1");

    // Non-streamed, with usage.
    let resp = client
        .post(format!("{url}/chat/completions"))
        .json(&chat(8, false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(answer["choices"][0]["message"]["role"], "assistant");
    assert!(answer["choices"][0]["message"]["content"].is_string());
    let usage = &answer["usage"];
    let output = usage["completion_tokens"].as_u64().unwrap();
    assert!((1..=8).contains(&output), "{answer}");
    assert!(usage["prompt_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["prompt_tokens"].as_u64().unwrap() + output
    );

    // Streamed, with the usage chunk before [DONE].
    let resp = client
        .post(format!("{url}/chat/completions"))
        .json(&chat(8, true))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let body = resp.text().await.unwrap();
    let data = events(&body);
    assert_eq!(data.last(), Some(&"[DONE]"), "{body}");
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    let usage_chunk = chunks.last().unwrap();
    assert_eq!(usage_chunk["choices"], json!([]));
    let streamed = usage_chunk["usage"]["completion_tokens"].as_u64().unwrap();
    assert!((1..=8).contains(&streamed), "{body}");
    let finish = &chunks[chunks.len() - 2]["choices"][0]["finish_reason"];
    assert!(finish == "stop" || finish == "length", "{body}");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert!(!text.is_empty(), "{body}");

    // Log-probabilities: each token's, with its most likely alternatives, in OpenAI's form;
    // the same greedy text, so the chosen token is the most likely one.
    let mut with_logprobs = chat(3, false);
    with_logprobs["logprobs"] = json!(true);
    with_logprobs["top_logprobs"] = json!(5);
    let send = |body: &Value| {
        client
            .post(format!("{url}/chat/completions"))
            .json(body)
            .send()
    };
    let resp = send(&with_logprobs).await.unwrap();
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    let content = answer["choices"][0]["logprobs"]["content"]
        .as_array()
        .unwrap_or_else(|| panic!("no logprobs.content: {answer}"));
    assert_eq!(
        content.len() as u64,
        answer["usage"]["completion_tokens"].as_u64().unwrap()
    );
    let text: String = content
        .iter()
        .map(|t| t["token"].as_str().unwrap())
        .collect();
    assert!(
        text.starts_with(answer["choices"][0]["message"]["content"].as_str().unwrap()),
        "{answer}"
    );
    for token in content {
        let top = token["top_logprobs"].as_array().unwrap();
        assert_eq!(top.len(), 5);
        assert_eq!(
            top[0]["token"], token["token"],
            "greedy takes the most likely"
        );
        let lps: Vec<f64> = top.iter().map(|t| t["logprob"].as_f64().unwrap()).collect();
        assert!(
            lps.windows(2).all(|w| w[0] >= w[1]) && lps[0] <= 0.0,
            "{lps:?}"
        );
    }
    with_logprobs["stream"] = json!(true);
    let resp = send(&with_logprobs).await.unwrap();
    let body = resp.text().await.unwrap();
    let streamed: Vec<Value> = events(&body)
        .iter()
        .filter(|d| **d != "[DONE]")
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .filter_map(|c| c["choices"][0]["logprobs"]["content"].as_array().cloned())
        .flatten()
        .collect();
    assert_eq!(
        &streamed, content,
        "a stream carries the same log-probabilities"
    );
    let (status, err) = post_error(
        &client,
        &format!("{url}/completions"),
        json!({"prompt": "Once", "logprobs": 2})
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["param"], "logprobs");

    // A text completion.
    let resp = client
        .post(format!("{url}/completions"))
        .json(&json!({"prompt": "Once upon a time", "max_tokens": 4, "ignore_eos": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["object"], "text_completion");
    assert_eq!(answer["usage"]["completion_tokens"], 4);
    assert_eq!(answer["choices"][0]["finish_reason"], "length");

    // Errors: JSON, with the right status.
    let chat_url = format!("{url}/chat/completions");
    let (status, err) = post_error(&client, &chat_url, b"{not json".to_vec()).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["type"], "invalid_request_error");

    let hot = json!({"messages": [{"role": "user", "content": "Hi"}], "temperature": "hot"});
    let (status, err) = post_error(&client, &chat_url, hot.to_string().into_bytes()).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["param"], "temperature");

    let long = json!({"messages": [{"role": "user", "content": "word ".repeat(2000)}]});
    let (status, err) = post_error(&client, &chat_url, long.to_string().into_bytes()).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["code"], "context_length_exceeded");

    let (status, err) = post_error(&client, &chat_url, vec![b' '; 200_000]).await;
    assert_eq!(status, 413);
    assert_eq!(err["error"]["code"], "request_too_large");

    let resp = client.get(format!("{url}/nope")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let resp = client
        .get(format!("{url}/chat/completions"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);

    // 16 streaming clients, 4 requests each: more than the workers and the default queue
    // holds them all.
    let mut clients = Vec::new();
    for _ in 0..16 {
        let client = client.clone();
        let url = url.clone();
        clients.push(tokio::spawn(async move {
            for _ in 0..4 {
                let resp = client
                    .post(format!("{url}/chat/completions"))
                    .json(&chat(4, true))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
                let body = resp.text().await.unwrap();
                assert_eq!(events(&body).last(), Some(&"[DONE]"), "{body}");
            }
        }));
    }
    for c in clients {
        c.await.unwrap();
    }

    // Still healthy after all that.
    let resp = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    drop(server);
}

#[test]
fn a_garbage_gguf_is_refused_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.gguf");
    std::fs::write(&path, b"GGUF\x03\x00\x00\x00garbage").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sizewise"))
        .args(["serve", "--port", "0", "--gguf"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a valid GGUF file"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

// `sizewise bench --gguf` on the same model: the JSON contract, calibration and a bad file.

/// The binary with its config (catalog, calibration) and results store inside `home`.
fn sizewise_in(home: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sizewise"));
    c.env("XDG_CONFIG_HOME", home.join("config"))
        .env("HOME", home)
        .env("SIZEWISE_STORE", home.join("runs.db"))
        .env_remove("SIZEWISE_CATALOG");
    c
}

fn json_of(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn bench_gguf_json_has_the_contract_keys_and_calibrates_local() {
    let Some(model) = model_path("SmolLM2-135M-Instruct.Q4_1.gguf") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let bench = |extra: &[&str]| {
        json_of(
            &sizewise_in(home.path())
                .args(["bench", "--gguf"])
                .arg(&model)
                .args([
                    "--prompt-tokens",
                    "16",
                    "--output-tokens",
                    "4",
                    "--repetitions",
                    "2",
                    "--json",
                ])
                .args(extra)
                .output()
                .unwrap(),
        )
    };
    // Before `probe` there is no `local`: no estimate, and nothing to calibrate.
    let v = bench(&[]);
    for key in ["prefill_tokens_per_s", "decode_tokens_per_s", "ttft_ms"] {
        assert!(v[key]["mean"].as_f64().unwrap() > 0.0, "{key}: {v}");
        assert!(v[key]["sd"].as_f64().unwrap() >= 0.0, "{key}: {v}");
    }
    assert!(v["peak_rss_bytes"].as_u64().unwrap() > v["model_bytes"].as_u64().unwrap() / 2);
    assert_eq!(
        v["model_bytes"].as_u64(),
        Some(std::fs::metadata(&model).unwrap().len())
    );
    assert_eq!(v["repetitions"], 2);
    assert_eq!(v["synthetic"], false);
    // The mapped model's pages are resident file pages.
    let file_pages = v["rss_at_end_bytes"]["file"].as_u64().unwrap();
    assert!(file_pages > v["model_bytes"].as_u64().unwrap() / 2, "{v}");
    assert!(v["rss_at_end_bytes"]["anon"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(v["samples"].as_array().unwrap().len(), 2);
    assert!(v["run_id"].is_string(), "saved in the store: {v}");
    assert!(
        v["estimate"]["unavailable"]
            .as_str()
            .unwrap()
            .contains("probe"),
        "{v}"
    );
    assert_eq!(v["calibration"]["written"], false, "{v}");

    // What `sizewise probe` writes, with the figures of a machine faster than any this test
    // runs on: a calibration can slow the priors down by 50x but cannot lift the compute
    // bound, and a probe run by a debug test binary would measure unoptimised code.
    let hardware = home.path().join("config/sizewise/catalog/hardware");
    std::fs::create_dir_all(&hardware).unwrap();
    std::fs::write(hardware.join("local.toml"), LOCAL_TOML).unwrap();
    // Measured against the priors alone, then written as the calibration of `local`.
    let v = bench(&[]);
    let estimate = &v["estimate"];
    assert!(
        estimate["decode_tokens_per_s"].as_f64().unwrap() > 0.0,
        "{v}"
    );
    assert!(estimate["calibrated"].is_null(), "no calibration yet: {v}");
    let cal = &v["calibration"];
    assert_eq!(cal["written"], true, "{v}");
    let file = std::path::PathBuf::from(cal["path"].as_str().unwrap());
    assert!(file.starts_with(home.path().join("config")), "{file:?}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("SmolLM2") && text.contains("decode_bandwidth_scale"),
        "{text}"
    );

    // The next benchmark shows the calibrated estimate beside the uncalibrated one, and the
    // calibrated decode speed is the one the calibration solved for, within the 2% bench
    // accepts (where the estimate turns compute-bound, a bandwidth factor stops moving it).
    let v = bench(&["--no-calibrate"]);
    assert!(
        v["calibration"].is_null(),
        "--no-calibrate writes nothing: {v}"
    );
    let calibrated = &v["estimate"]["calibrated"];
    let solved_for = toml_number(&text, "measured_decode_tokens_per_s");
    let predicted = calibrated["decode_tokens_per_s"].as_f64().unwrap();
    assert!(
        // bench refuses a calibration that ends more than 2% from its measurement.
        (predicted / solved_for - 1.0).abs() < 0.025,
        "calibrated estimate {predicted} vs the measurement it was solved from {solved_for}"
    );
    assert!(
        calibrated["basis"].as_str().unwrap().contains("calibrated"),
        "{v}"
    );

    // `estimate` for `local` says it is calibrated; --no-calibration goes back to the priors.
    let estimate = |extra: &[&str]| {
        json_of(
            &sizewise_in(home.path())
                .args(["estimate", "--gguf"])
                .arg(&model)
                .args(["--hardware", "local", "--json"])
                .args(extra)
                .output()
                .unwrap(),
        )
    };
    let notes = |v: &Value| v["notes"].to_string();
    assert!(
        notes(&estimate(&[])).contains("calibrated"),
        "{}",
        notes(&estimate(&[]))
    );
    assert!(!notes(&estimate(&["--no-calibration"])).contains("calibrated"));
}

/// A `local` hardware entry as `sizewise probe` writes it.
const LOCAL_TOML: &str = r#"
id = "local"
name = "This machine (test)"
vendor = "AMD"
class = "cpu"
memory_gb = 24.0
memory_bandwidth_gbs = 80.0
fp32_tflops = 1.0
notes = "figures of a fast machine, written by the test"

[sources]
memory_gb = "test fixture"
memory_bandwidth_gbs = "test fixture"
fp32_tflops = "test fixture"

[threads]
measured_with = 2
one_thread_bandwidth_gbs = 40.0
one_thread_fp32_tflops = 0.5
"#;

/// A bare number `key = value` of a TOML text.
fn toml_number(text: &str, key: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = ")))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn bench_gguf_refuses_a_file_that_is_not_gguf() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.gguf");
    std::fs::write(
        &bad,
        b"GGUF\x03\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sizewise"))
        .args(["bench", "--no-store", "--gguf"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error:") && !err.contains("panicked"), "{err}");
}
