//! Serves the simulator on an address until Ctrl-C, with fixed timing.
//!
//! `cargo run --release -p sizewise-simulate --example serve -- 127.0.0.1:18080 [TTFT_MS] [TPOT_MS]`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use sizewise_simulate::{SimConfig, Timing, serve};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18080".into());
    let ttft: f64 = args.next().map_or(0.0, |a| a.parse().expect("TTFT_MS"));
    let tpot: f64 = args.next().map_or(0.0, |a| a.parse().expect("TPOT_MS"));
    let cfg = SimConfig {
        timing: Timing::fixed(ttft, tpot),
        ..SimConfig::default()
    };
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    eprintln!(
        "serving on http://{}/v1",
        listener.local_addr().expect("addr")
    );
    serve(cfg, listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .expect("serve");
}
