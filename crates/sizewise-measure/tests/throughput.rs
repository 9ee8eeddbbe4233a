//! Maximum throughput against the zero-delay mock, which runs in a child process (this test
//! binary re-run as `mock_server_process`) so that `client_cpu_s` is the client's alone.
//!
//! Run: `cargo test --release -p sizewise-measure --test throughput -- --ignored --nocapture`
//! (`SIZEWISE_CLIENT_THREADS`, default 2; `SIZEWISE_CONCURRENCY`, default 64;
//! `SIZEWISE_SECONDS`, default 3).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use sizewise_measure::{BenchConfig, Load, Stop, export, run};

#[test]
#[ignore = "child process of max_throughput"]
fn mock_server_process() {
    if std::env::var_os("SIZEWISE_MOCK_SERVE").is_none() {
        return;
    }
    let server = common::start(common::Mock::default());
    println!("PORT={}", server.addr.port());
    // serve until the parent closes our stdin
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
}

fn env_or<T: std::str::FromStr>(k: &str, d: T) -> T {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

#[test]
#[ignore = "a measurement, not a check; run with --ignored --nocapture"]
fn max_throughput() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["mock_server_process", "--exact", "--ignored", "--nocapture"])
        .env("SIZEWISE_MOCK_SERVE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port: u16 = loop {
        let l = lines.next().unwrap().unwrap();
        if let Some(p) = l.strip_prefix("PORT=") {
            break p.trim().parse().unwrap();
        }
    };
    let threads = env_or("SIZEWISE_CLIENT_THREADS", 2usize);
    let concurrency = env_or("SIZEWISE_CONCURRENCY", 64usize);
    let seconds = env_or("SIZEWISE_SECONDS", 3u64);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .unwrap();
    let mut cfg = BenchConfig::new(format!("http://127.0.0.1:{port}/v1"), "mock");
    cfg.load = Load::Concurrency(concurrency);
    cfg.stop = Stop::Duration(Duration::from_secs(seconds));
    cfg.prompt_tokens = 128;
    cfg.output_tokens = 32;
    cfg.warmup = concurrency as u64;
    cfg.timeout = Duration::from_secs(10);
    let r = rt.block_on(run(&cfg, |_| {})).unwrap();
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();

    println!("{}", export::markdown_summary(std::slice::from_ref(&r)));
    println!(
        "client threads {threads}, c={concurrency}: {:.0} req/s, {:.0} output tok/s, {} sent, errors {:?}, \
         client CPU {:.2} s over {:.2} s wall = {:.0}% of {} cores, TTFT p50 {:.3} ms, e2e p50 {:.3} ms, load avg {:?}",
        r.requests_per_s,
        r.output_tokens_per_s,
        r.sent,
        r.errors,
        r.client_cpu_s.unwrap_or(f64::NAN),
        r.wall_s,
        r.client_cpu_share.unwrap_or(f64::NAN) * 100.0,
        r.cores,
        r.ttft_ms.p50.unwrap_or(f64::NAN),
        r.e2e_ms.p50.unwrap_or(f64::NAN),
        r.load_avg_1m,
    );
    assert_eq!(r.error_count(), 0);
    assert_eq!(r.output_tokens.p50, Some(32.0));
    if !cfg!(debug_assertions) {
        assert!(r.requests_per_s >= 2000.0, "{} req/s", r.requests_per_s);
    }
}
