//! End-to-end tests against the mock server on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{Fault, Mock};
use sizewise_measure::{
    Arrival, BenchConfig, Endpoint, Load, Prompt, PromptInput, Slo, Stop, Sweep, export,
    parse_dataset, run,
};

fn cfg(url: String, load: Load, n: u64) -> BenchConfig {
    let mut c = BenchConfig::new(url, "mock");
    c.load = load;
    c.stop = Stop::Requests(n);
    c.warmup = 0;
    c.prompt_tokens = 16;
    c.output_tokens = 16;
    c.timeout = Duration::from_secs(5);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttft_and_tpot_match_the_mock_delays() {
    let server = common::start(Mock {
        ttft: Duration::from_millis(20),
        tpot: Duration::from_millis(5),
        ..Mock::default()
    });
    let mut c = cfg(server.url(), Load::Concurrency(4), 24);
    c.warmup = 4;
    c.slo = Slo {
        ttft_ms: Some(1000.0),
        tpot_ms: Some(1000.0),
        e2e_ms: Some(1000.0),
    };
    let r = run(&c, |_| {}).await.unwrap();
    assert_eq!((r.sent, r.completed, r.error_count()), (24, 24, 0));
    assert_eq!(
        server.received.load(std::sync::atomic::Ordering::Relaxed),
        28
    );
    let ttft = r.ttft_ms.p50.unwrap();
    let tpot = r.tpot_ms.p50.unwrap();
    let itl = r.itl_ms.p50.unwrap();
    let e2e = r.e2e_ms.p50.unwrap();
    let ttfb = r.ttfb_ms.p50.unwrap();
    eprintln!("ttft {ttft:.3} tpot {tpot:.3} itl {itl:.3} e2e {e2e:.3} ttfb {ttfb:.3}");
    // Lower bounds are what the metric definitions imply; upper bounds leave room for a
    // busy machine (precision is measured in docs/BENCHMARKS.md, not asserted here).
    assert!((20.0..30.0).contains(&ttft), "ttft p50 {ttft}");
    assert!((4.5..7.0).contains(&tpot), "tpot p50 {tpot}");
    assert!((4.0..8.0).contains(&itl), "itl p50 {itl}");
    // 20 ms + 15 gaps of 5 ms
    assert!((95.0..115.0).contains(&e2e), "e2e p50 {e2e}");
    // headers come before the first token: the role chunk is not a token
    assert!(ttfb < 5.0, "ttfb p50 {ttfb}");
    assert_eq!(r.itl_ms.n, 24 * 15);
    assert_eq!(r.token_source, "usage");
    assert_eq!(r.output_tokens.p50, Some(16.0));
    assert_eq!(r.prompt_tokens.p50, Some(11.0));
    assert_eq!(r.finish_reasons.get("length"), Some(&24));
    assert_eq!(r.good, 24);
    assert!((r.goodput_per_s - r.requests_per_s).abs() < 1e-9);
    // a tight SLO fails everything: goodput 0
    let mut strict = c.clone();
    strict.stop = Stop::Requests(4);
    strict.slo.ttft_ms = Some(5.0);
    let s = run(&strict, |_| {}).await.unwrap();
    assert_eq!((s.completed, s.good), (4, 0));
    assert_eq!(s.goodput_per_s, 0.0);
    // system throughput: 4 streams of 16 tokens over ~96 ms each
    let expected = 4.0 * 16.0 / (e2e / 1000.0);
    assert!(
        (r.output_tokens_per_s / expected - 1.0).abs() < 0.15,
        "{} vs {expected}",
        r.output_tokens_per_s
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poisson_rate_is_achieved_within_five_percent() {
    let server = common::start(Mock::default());
    let mut c = cfg(
        server.url(),
        Load::Rate {
            per_s: 50.0,
            arrival: Arrival::Poisson,
        },
        300,
    );
    c.seed = 42;
    c.warmup = 2;
    let t = Instant::now();
    let r = run(&c, |_| {}).await.unwrap();
    let wall = t.elapsed().as_secs_f64();
    eprintln!(
        "achieved {:.2}/s over {:.2}s; lag p50 {:?} p99 {:?}",
        r.achieved_rate, r.duration_s, r.schedule_lag_ms.p50, r.schedule_lag_ms.p99
    );
    assert_eq!((r.sent, r.completed), (300, 300));
    assert_eq!(r.requested_rate, Some(50.0));
    assert!(
        (r.achieved_rate / 50.0 - 1.0).abs() < 0.05,
        "{}",
        r.achieved_rate
    );
    assert!((r.requests_per_s / 50.0 - 1.0).abs() < 0.05);
    assert!(r.schedule_lag_ms.p50.unwrap() < 3.0);
    assert!(wall < 7.5, "took {wall}s");
    // gaps between sends look exponential: coefficient of variation near 1
    let sends: Vec<f64> = r.requests.iter().map(|q| q.sent_ns as f64).collect();
    let gaps: Vec<f64> = sends.windows(2).map(|w| w[1] - w[0]).collect();
    let m = gaps.iter().sum::<f64>() / gaps.len() as f64;
    let sd = (gaps.iter().map(|g| (g - m).powi(2)).sum::<f64>() / gaps.len() as f64).sqrt();
    assert!((0.75..1.25).contains(&(sd / m)), "cv {}", sd / m);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_counted_by_kind_and_nothing_hangs() {
    let server = common::start(Mock {
        tpot: Duration::from_millis(1),
        faults: vec![
            Fault::None,
            Fault::Http500,
            Fault::DropMidStream,
            Fault::Malformed,
            Fault::Stall,
            Fault::NoDone,
            Fault::UsageOvercount,
        ],
        ..Mock::default()
    });
    let mut c = cfg(server.url(), Load::Concurrency(7), 21);
    c.timeout = Duration::from_millis(400);
    let t = Instant::now();
    let r = run(&c, |_| {}).await.unwrap();
    let wall = t.elapsed();
    eprintln!("{:?} in {wall:?}", r.errors);
    assert_eq!(r.sent, 21);
    assert_eq!(r.completed + r.error_count(), r.sent);
    assert_eq!(r.completed, 3);
    assert_eq!(r.errors.get("http_500"), Some(&3));
    assert_eq!(r.errors.get("malformed_event"), Some(&3));
    assert_eq!(r.errors.get("timeout"), Some(&3));
    // dropped mid-stream, ended without [DONE]/finish, usage says more than arrived
    assert_eq!(r.errors.get("truncated_stream"), Some(&9));
    // three rounds of at most one timeout each, plus slack
    assert!(wall < Duration::from_millis(3 * 400 + 600), "{wall:?}");
    for q in &r.requests {
        assert!(
            q.e2e_ms() <= 400.0 + 50.0,
            "request {} ran {}ms",
            q.index,
            q.e2e_ms()
        );
        if let Some(e) = &q.error {
            assert!(!e.message.is_empty());
        }
    }
    // failed requests stay out of latency statistics
    assert_eq!(r.ttft_ms.n, 3);
    // the stalled ones kept their partial timelines
    let stalled = r
        .requests
        .iter()
        .find(|q| {
            q.error
                .as_ref()
                .is_some_and(|e| e.kind.to_string() == "timeout")
        })
        .unwrap();
    assert!(stalled.token_events() >= 7);

    // the same over-count is accepted when strict token counting is off
    let lenient_server = common::start(Mock {
        faults: vec![Fault::UsageOvercount],
        ..Mock::default()
    });
    let mut l = cfg(lenient_server.url(), Load::Concurrency(2), 4);
    l.strict_token_count = false;
    let lr = run(&l, |_| {}).await.unwrap();
    assert_eq!(lr.completed, 4);
    assert_eq!(lr.output_tokens.p50, Some(21.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_errors_are_counted_quickly() {
    // bind then drop to get a port with nothing listening
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = cfg(
        format!("http://127.0.0.1:{port}/v1"),
        Load::Concurrency(2),
        6,
    );
    let t = Instant::now();
    let r = run(&c, |_| {}).await.unwrap();
    assert_eq!(r.errors.get("connect"), Some(&6));
    assert_eq!((r.sent, r.completed), (6, 0));
    assert_eq!(r.token_source, "none");
    assert!(r.ttft_ms.p50.is_none());
    assert!(t.elapsed() < Duration::from_secs(2));
    // bad URLs fail before anything is sent
    assert!(
        run(&cfg("https://x/v1".into(), Load::Concurrency(1), 1), |_| {})
            .await
            .is_err()
    );
    assert!(
        run(&cfg("127.0.0.1:1".into(), Load::Concurrency(1), 1), |_| {})
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_source_is_usage_or_counted_events() {
    let with = common::start(Mock::default());
    let without = common::start(Mock {
        usage: false,
        ..Mock::default()
    });
    let a = run(&cfg(with.url(), Load::Concurrency(2), 6), |_| {})
        .await
        .unwrap();
    let b = run(&cfg(without.url(), Load::Concurrency(2), 6), |_| {})
        .await
        .unwrap();
    assert_eq!(a.token_source, "usage");
    assert_eq!(b.token_source, "content_events");
    assert_eq!(a.output_tokens.p50, Some(16.0));
    assert_eq!(b.output_tokens.p50, Some(16.0));
    assert!(b.prompt_tokens.p50.is_none());
    let rows: Vec<_> = b
        .requests
        .iter()
        .map(|q| export::RequestRow::new(q, false))
        .collect();
    assert!(
        rows.iter()
            .all(|r| r.token_events == 16 && r.output_tokens == 16)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_endpoint_with_a_dataset() {
    let server = common::start(Mock::default());
    let ds = parse_dataset(
        "{\"prompt\": \"Hello\", \"max_tokens\": 3}\n\n{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}\n",
    )
    .unwrap();
    assert_eq!(ds.len(), 2);
    assert_eq!(ds[0].input, PromptInput::Text("Hello".into()));
    assert_eq!(ds[1].max_tokens, None);
    assert!(parse_dataset("{\"nope\": 1}").is_err());
    assert!(parse_dataset("").is_err());
    for endpoint in [Endpoint::Completions, Endpoint::Chat] {
        let mut c = cfg(server.url(), Load::Concurrency(1), 4);
        c.endpoint = endpoint;
        c.output_tokens = 5;
        c.dataset = Some(ds.clone());
        let r = run(&c, |_| {}).await.unwrap();
        assert_eq!(r.completed, 4, "{endpoint:?} {:?}", r.errors);
        let tokens: Vec<u64> = r.requests.iter().map(|q| q.output_tokens().0).collect();
        assert_eq!(tokens, vec![3, 5, 3, 5]);
    }
    let _unused = Prompt {
        input: PromptInput::Text(String::new()),
        max_tokens: None,
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duration_stop_lets_in_flight_requests_finish() {
    let server = common::start(Mock {
        ttft: Duration::from_millis(10),
        tpot: Duration::from_millis(2),
        ..Mock::default()
    });
    let mut c = cfg(server.url(), Load::Concurrency(3), 1);
    c.stop = Stop::Duration(Duration::from_millis(400));
    let seen = std::sync::Mutex::new(Vec::new());
    let r = run(&c, |p| seen.lock().unwrap().push(p)).await.unwrap();
    // each request takes ~40 ms: about 3 * 400 / 40 = 30 of them
    assert!((15..=40).contains(&r.sent), "{}", r.sent);
    assert_eq!(r.completed, r.sent);
    assert!(
        r.duration_s >= 0.4 && r.duration_s < 0.6,
        "{}",
        r.duration_s
    );
    let seen = seen.into_inner().unwrap();
    let last = seen.last().unwrap();
    assert!(last.finished && last.sent == r.sent && last.completed == r.sent);
    assert!(seen.len() >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_and_exports() {
    let server = common::start(Mock::default());
    let base = cfg(server.url(), Load::Concurrency(1), 8);
    let results = Sweep::concurrencies(&base, &[1, 4])
        .run(|_, _| {})
        .await
        .unwrap();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| r.completed == 8));
    let rates = Sweep::rates(&base, &[200.0], Arrival::Gamma { shape: 2.0 })
        .run(|_, _| {})
        .await
        .unwrap();
    assert_eq!(rates[0].completed, 8);

    let r = &results[1];
    let json = serde_json::to_value(r).unwrap();
    for key in [
        "ttft_ms",
        "tpot_ms",
        "itl_ms",
        "e2e_ms",
        "requests_per_s",
        "output_tokens_per_s",
        "goodput_per_s",
        "completed",
        "errors",
        "sent",
        "requested_rate",
        "achieved_rate",
        "schedule_lag_ms",
        "token_source",
        "duration_s",
        "client_cpu_s",
        "client_cpu_share",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    for k in ["p50", "p90", "p95", "p99", "mean", "sd", "n"] {
        assert!(json["ttft_ms"].get(k).is_some());
    }
    assert_eq!(json["load"], serde_json::json!({"concurrency": 4}));
    assert!(json.get("requests").is_none());

    let mut jsonl = Vec::new();
    export::write_jsonl(&r.requests, &mut jsonl).unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 8);
    let kinds: Vec<&str> = lines[0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"role"));
    assert_eq!(kinds.iter().filter(|k| **k == "content").count(), 16);
    assert_eq!(&kinds[kinds.len() - 3..], &["finish", "usage", "done"]);

    let mut csv = Vec::new();
    export::write_csv(&r.requests, &mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv.lines().count(), 9);
    assert!(csv.starts_with("index,planned_ms,"));
    let cols = csv.lines().next().unwrap().split(',').count();
    assert!(csv.lines().all(|l| l.split(',').count() == cols));

    let md = export::markdown_summary(&results);
    assert_eq!(md.lines().count(), 4);
    assert!(md.contains("| c=4 | 8 | 8 | 0 |"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_keeps_what_finished_and_counts_what_was_abandoned() {
    let server = common::start(Mock {
        ttft: Duration::from_millis(5),
        tpot: Duration::from_millis(10),
        ..Mock::default()
    });
    for load in [
        Load::Concurrency(4),
        Load::Rate {
            per_s: 100.0,
            arrival: Arrival::Constant,
        },
    ] {
        // 10 000 requests of ~155 ms each would take minutes; the cancel comes after 600 ms.
        let c = cfg(server.url(), load, 10_000);
        let cancel = sizewise_measure::Cancel::new();
        let trigger = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(600)).await;
            trigger.cancel();
        });
        let t0 = Instant::now();
        let r = sizewise_measure::run_cancellable(&c, |_| {}, &cancel)
            .await
            .unwrap();
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
        assert!(r.cancelled);
        assert!(r.completed > 0 && r.sent < 10_000, "{load:?}: {}", r.sent);
        assert_eq!(r.completed + r.error_count(), r.sent);
        assert_eq!(r.requests.len() as u64, r.sent);
        assert!(r.abandoned > 0, "{load:?}: requests were in flight");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_tokenizer_counts_when_the_server_sends_no_usage() {
    // Every content event of the mock carries "tok".
    let counter = sizewise_measure::TokenCounter::new("tok-counter", |t: &str| {
        t.matches("tok").count() as u64
    });
    let no_usage = common::start(Mock {
        usage: false,
        ..Mock::default()
    });
    let mut c = cfg(no_usage.url(), Load::Concurrency(2), 10);
    c.output_tokens = 7;
    c.token_counter = Some(counter.clone());
    let r = run(&c, |_| {}).await.unwrap();
    assert_eq!(r.completed, 10);
    assert_eq!(r.token_source, "local_tokenizer");
    assert_eq!(r.tokenizer.as_deref(), Some("tok-counter"));
    assert_eq!(r.output_tokens.mean, Some(7.0));
    assert_eq!(r.requests[0].text, "tok".repeat(7));

    // With usage, the server's count wins and the text is not needed for counting.
    let with_usage = common::start(Mock::default());
    let mut c = cfg(with_usage.url(), Load::Concurrency(2), 10);
    c.output_tokens = 7;
    c.token_counter = Some(counter);
    let r = run(&c, |_| {}).await.unwrap();
    assert_eq!(r.token_source, "usage");
    assert!(r.requests.iter().all(|q| q.local_tokens.is_none()));

    // Without a tokenizer, no text is kept and events are counted.
    let mut c = cfg(no_usage.url(), Load::Concurrency(2), 10);
    c.output_tokens = 7;
    let r = run(&c, |_| {}).await.unwrap();
    assert_eq!(r.token_source, "content_events");
    assert!(r.requests.iter().all(|q| q.text.is_empty()));
}
