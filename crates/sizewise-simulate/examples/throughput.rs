//! Zero-delay streaming throughput of the simulator, with a minimal raw
//! HTTP/1.1 client (keep-alive, `TCP_NODELAY`) on its own thread.
//!
//! `cargo run --release -p sizewise-simulate --example throughput -- [CONCURRENCY] [SECONDS] [TOKENS]`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use sizewise_simulate::{SimConfig, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn main() {
    let mut args = std::env::args().skip(1);
    let conc: usize = args.next().map_or(16, |a| a.parse().expect("CONCURRENCY"));
    let secs: u64 = args.next().map_or(5, |a| a.parse().expect("SECONDS"));
    let tokens: u32 = args.next().map_or(32, |a| a.parse().expect("TOKENS"));

    // The server: one thread, like the mock of the anchors.
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    std_listener.set_nonblocking(true).expect("nonblocking");
    let addr = std_listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = TcpListener::from_std(std_listener).expect("listener");
            serve(SimConfig::default(), listener, std::future::pending())
                .await
                .expect("serve");
        });
    });

    let body = format!(
        r#"{{"model":"sim","max_tokens":{tokens},"stream":true,"stream_options":{{"include_usage":true}},"messages":[{{"role":"user","content":"Say hello in a few words please."}}]}}"#
    );
    let req = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (count, mut lat) = rt.block_on(async move {
        let end = Instant::now() + Duration::from_secs(secs);
        let workers = (0..conc).map(|_| {
            let req = req.clone();
            tokio::spawn(async move {
                let mut s = TcpStream::connect(addr).await.expect("connect");
                s.set_nodelay(true).expect("nodelay");
                let mut buf = vec![0u8; 64 * 1024];
                let mut lat = Vec::new();
                while Instant::now() < end {
                    let t0 = Instant::now();
                    s.write_all(req.as_bytes()).await.expect("write");
                    let mut tail: Vec<u8> = Vec::new();
                    loop {
                        let n = s.read(&mut buf).await.expect("read");
                        assert!(n > 0, "server closed");
                        tail.extend_from_slice(&buf[..n]);
                        if tail.ends_with(b"data: [DONE]\n\n\r\n0\r\n\r\n") {
                            break;
                        }
                        let keep = tail.len().saturating_sub(64);
                        tail.drain(..keep);
                    }
                    lat.push(t0.elapsed());
                }
                lat
            })
        });
        let mut all = Vec::new();
        for w in workers.collect::<Vec<_>>() {
            all.extend(w.await.expect("worker"));
        }
        (all.len(), all)
    });
    lat.sort();
    let p = |q: f64| lat[((lat.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
    println!(
        "{count} streams of {tokens} tokens in {secs} s at c={conc}: {:.0} req/s, {:.0} tokens/s; full-response p50 {:.2} ms, p99 {:.2} ms",
        count as f64 / secs as f64,
        count as f64 * f64::from(tokens) / secs as f64,
        p(0.5),
        p(0.99)
    );
}
