//! The baseline for the engine's overhead: `llama-cpp-2` used directly, no sizewise code.
//! Loads a GGUF, prefills a fixed prompt, greedily decodes N tokens (end-of-generation tokens
//! included, so the count is exact) with T threads, and prints prompt and decode tokens/s.
//!
//! `cargo run --release -p sizewise-engine --example bare_llama -- MODEL.gguf [N=128] [T=1]`

use std::error::Error;
use std::num::NonZeroU32;
use std::time::Instant;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::sampling::LlamaSampler;

/// The prompt both this baseline and `engine_decode` evaluate.
const PROMPT: &str = "The history of the printing press begins in the fifteenth century, when";

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: bare_llama MODEL.gguf [N=128] [THREADS=1]")?;
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(128);
    let threads: i32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1);

    let mut backend = LlamaBackend::init()?;
    backend.void_logs();
    let model = LlamaModel::load_from_file(&backend, &path, &LlamaModelParams::default())?;
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(1024))
        .with_n_batch(512)
        .with_n_ubatch(512)
        .with_n_threads(threads)
        .with_n_threads_batch(threads);
    let mut ctx = model.new_context(&backend, params)?;
    let vocab = model.vocab();

    let tokens = vocab.tokenize(PROMPT.as_bytes(), true, true);
    let mut batch = LlamaBatch::new(512, 1);
    let last = tokens.len() - 1;
    for (i, &token) in tokens.iter().enumerate() {
        batch.add(token, i32::try_from(i)?, &[0], i == last)?;
    }
    let prefill_started = Instant::now();
    ctx.decode(&mut batch)?;
    let prefill_s = prefill_started.elapsed().as_secs_f64();

    let mut sampler = LlamaSampler::greedy();
    let mut token = sampler.sample(&ctx, batch.n_tokens() - 1);
    let first = i32::try_from(tokens.len())?;
    let mut text = Vec::new();
    let decode_started = Instant::now();
    for pos in (first..).take(n) {
        vocab.token_to_piece_into(token, &mut text, false, None);
        batch.clear();
        batch.add(token, pos, &[0], true)?;
        ctx.decode(&mut batch)?;
        token = sampler.sample(&ctx, 0);
    }
    let decode_s = decode_started.elapsed().as_secs_f64();

    println!(
        "bare_llama: threads {threads}, prompt {} tokens at {:.1} tokens/s, decode {n} tokens at {:.1} tokens/s",
        tokens.len(),
        tokens.len() as f64 / prefill_s,
        n as f64 / decode_s
    );
    eprintln!("{}", String::from_utf8_lossy(&text));
    Ok(())
}
