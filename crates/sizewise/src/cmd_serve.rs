//! `sizewise serve --gguf FILE`: an OpenAI-compatible server over a local GGUF model, run in
//! process by llama.cpp (the `llama` feature).

use std::path::PathBuf;

use clap::Args;

/// Flags of `sizewise serve`.
#[derive(Args, Debug)]
#[command(after_long_help = SERVE_EXAMPLES)]
pub struct ServeArgs {
    /// The GGUF model file to serve.
    #[arg(long, value_name = "FILE")]
    pub gguf: PathBuf,
    /// The model id the server reports (`/v1/models`, every answer) [default: the file name
    /// without .gguf].
    #[arg(long, value_name = "ID")]
    pub model_name: Option<String>,
    /// Address to listen on. Anything but loopback exposes the server to the network.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0: any free port; the URL is printed).
    #[arg(long, default_value_t = 8092)]
    pub port: u16,
    /// Requests generated at once: worker threads, each with its own context (the weights
    /// are mapped once and shared).
    #[arg(long, default_value_t = 1)]
    pub parallel: u32,
    /// Threads per worker [default: half the logical CPUs, shared among the workers, at least
    /// one each].
    #[arg(long)]
    pub threads: Option<u32>,
    /// Context length per worker, tokens (prompt and output together) [default: the model's
    /// training context, at most 4096].
    #[arg(long, value_name = "TOKENS")]
    pub ctx_size: Option<u32>,
    /// Requests that may wait for a free worker; more answer 503 (queue_full) at once.
    #[arg(long, default_value_t = 64)]
    pub queue: usize,
    /// The largest request body, bytes; larger ones answer 413.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Print the listening line and the final counters as JSON.
    #[arg(long)]
    pub json: bool,
}

const SERVE_EXAMPLES: &str = "\
Examples:
  sizewise serve --gguf SmolLM2-135M-Instruct.Q4_1.gguf
  sizewise serve --gguf model.gguf --port 0 --json            # any free port; the URL as JSON
  sizewise serve --gguf model.gguf --parallel 4 --threads 2 --ctx-size 2048

Then point any OpenAI client at the printed URL, or measure the server under load:
  sizewise bench http://127.0.0.1:8092/v1 -m MODEL -c 8 -n 100

Endpoints: POST /v1/chat/completions and /v1/completions (stream or not; stream_options.
include_usage; max_tokens, temperature, top_p, seed, stop and llama.cpp's ignore_eos),
GET /v1/models and /health. Requests beyond --parallel wait in the queue; a full queue answers
503. Ctrl-C or SIGTERM stops the server and prints what it served.";

/// Runs `sizewise serve` until Ctrl-C or SIGTERM.
#[cfg(not(feature = "llama"))]
pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let _ = args;
    anyhow::bail!(
        "this sizewise was built without the llama.cpp engine\n  hint: cargo install --path \
         crates/sizewise --features llama (needs cmake and libclang-dev), or run with cargo \
         run --release --features llama -- serve ..."
    )
}

/// Runs `sizewise serve` until Ctrl-C or SIGTERM.
#[cfg(feature = "llama")]
pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    use std::io::Write;

    use anyhow::Context;
    use serde_json::json;
    use sizewise_engine::{Engine, LoadOptions, default_threads};
    use sizewise_serve::{ServeConfig, Server};

    anyhow::ensure!(args.parallel >= 1, "--parallel must be at least 1");
    anyhow::ensure!(
        args.threads != Some(0),
        "--threads must be at least 1 (or left out)"
    );
    let model_id = match &args.model_name {
        Some(name) => name.clone(),
        None => args
            .gguf
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into()),
    };
    // llama.cpp's threads spin while they wait, so workers must not together ask for more
    // cores than the default gives one engine.
    let threads = args
        .threads
        .unwrap_or_else(|| (default_threads() / args.parallel).max(1));
    let options = LoadOptions {
        threads,
        context_tokens: args.ctx_size,
        ..LoadOptions::default()
    };
    let mut engines = Vec::with_capacity(args.parallel as usize);
    for _ in 0..args.parallel {
        engines.push(Engine::load(&args.gguf, options.clone())?);
    }
    let context_tokens = engines
        .first()
        .map_or(0, |engine| engine.info().context_tokens);
    let config = ServeConfig {
        model_id: model_id.clone(),
        queue: args.queue,
        max_body_bytes: args.max_body_bytes,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let addr = format!("{}:{}", args.host, args.port);
    rt.block_on(async {
        let server = Server::spawn(config, engines, addr.as_str())
            .await
            .with_context(|| {
                format!(
                    "listening on {addr}\n  hint: pick another --port, or --port 0 for any free one"
                )
            })?;
        let mut out = std::io::stdout().lock();
        if args.json {
            writeln!(
                out,
                "{}",
                json!({
                    "url": server.base_url(),
                    "model": model_id,
                    "parallel": args.parallel,
                    "threads": threads,
                    "context_tokens": context_tokens,
                })
            )?;
        } else {
            writeln!(out, "serving {model_id} at {}", server.base_url())?;
            writeln!(
                out,
                "{} worker(s), {threads} thread(s) each, {context_tokens}-token context  \
                 (Ctrl-C to stop)",
                args.parallel
            )?;
        }
        out.flush()?;
        drop(out);
        crate::cmd_simulate::stop_signal().await;
        let stats = server.stats();
        server.shutdown().await;
        let mut out = std::io::stdout().lock();
        if args.json {
            writeln!(out, "{}", serde_json::to_string(&stats)?)?;
        } else {
            writeln!(
                out,
                "served {} requests: {} completed, {} failed, {} refused (queue full), {} \
                 cancelled; {} prompt and {} output tokens",
                stats.requests,
                stats.completed,
                stats.failed,
                stats.queue_full,
                stats.cancelled,
                stats.prompt_tokens,
                stats.output_tokens
            )?;
        }
        anyhow::Ok(())
    })
}
