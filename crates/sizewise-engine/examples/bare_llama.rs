//! The baseline for the engine's overhead: `llama-cpp-2` used directly, with no sizewise code
//! in the timed path. It measures what `sizewise bench --gguf` measures, the same way: a
//! warm-up, then R repetitions of a prompt of P random token ids (the same ids, from
//! [`sizewise_engine::random_prompt_tokens`] with the same seeds) followed by N greedily
//! generated tokens, end-of-generation included so the count is exact. Generation speed
//! counts the N - 1 steps after the first token, as `bench --gguf` does. Prints one JSON line.
//!
//! `cargo run --release -p sizewise-engine --example bare_llama -- MODEL.gguf [P=512] [N=128] [THREADS=1] [R=3]`
//!
//! `scripts/bench-engine-overhead.sh` runs it beside `sizewise bench --gguf` and prints the ratio.

use std::error::Error;
use std::num::NonZeroU32;
use std::time::Instant;

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;

/// Prompt and generation speed of one repetition, tokens/s.
struct Sample {
    prefill: f64,
    decode: f64,
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, default: T) -> Result<T, Box<dyn Error>>
where
    T::Err: Error + 'static,
{
    Ok(match args.get(i) {
        Some(s) => s.parse()?,
        None => default,
    })
}

/// One repetition: a cold context, the prompt in batches, then `n` tokens.
fn run(
    ctx: &mut LlamaContext,
    batch_tokens: usize,
    prompt: &[LlamaToken],
    n: usize,
) -> Result<Sample, Box<dyn Error>> {
    ctx.clear_kv_cache();
    let mut sampler = LlamaSampler::greedy();
    let mut batch = LlamaBatch::new(batch_tokens, 1);
    let prefill_started = Instant::now();
    for (chunk_index, chunk) in prompt.chunks(batch_tokens).enumerate() {
        batch.clear();
        let first = chunk_index * batch_tokens;
        for (i, &token) in chunk.iter().enumerate() {
            let pos = first + i;
            batch.add(token, i32::try_from(pos)?, &[0], pos == prompt.len() - 1)?;
        }
        ctx.decode(&mut batch)?;
    }
    let prefill_s = prefill_started.elapsed().as_secs_f64();
    let mut token = sampler.sample(ctx, batch.n_tokens() - 1);
    let decode_started = Instant::now();
    for pos in prompt.len()..prompt.len() + n - 1 {
        batch.clear();
        batch.add(token, i32::try_from(pos)?, &[0], true)?;
        ctx.decode(&mut batch)?;
        token = sampler.sample(ctx, 0);
    }
    let decode_s = decode_started.elapsed().as_secs_f64();
    Ok(Sample {
        prefill: prompt.len() as f64 / prefill_s,
        decode: (n - 1) as f64 / decode_s,
    })
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .ok_or("usage: bare_llama MODEL.gguf [PROMPT_TOKENS=512] [OUTPUT_TOKENS=128] [THREADS=1] [REPETITIONS=3]")?;
    let prompt_tokens: usize = arg(&args, 1, 512)?;
    let n: usize = arg(&args, 2, 128)?;
    let threads: i32 = arg(&args, 3, 1)?;
    let repetitions: u64 = arg(&args, 4, 3)?;
    if prompt_tokens == 0 || n < 2 || repetitions == 0 {
        return Err(
            "PROMPT_TOKENS and REPETITIONS must be at least 1, OUTPUT_TOKENS at least 2".into(),
        );
    }
    // `bench --gguf`'s context and batch sizes.
    let batch_tokens = prompt_tokens.clamp(32, 2048);

    let mut backend = LlamaBackend::init()?;
    backend.void_logs();
    let model = LlamaModel::load_from_file(&backend, path, &LlamaModelParams::default())?;
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(u32::try_from(prompt_tokens + n)?))
        .with_n_batch(u32::try_from(batch_tokens)?)
        .with_n_ubatch(u32::try_from(batch_tokens)?)
        .with_n_threads(threads)
        .with_n_threads_batch(threads);
    let mut ctx = model.new_context(&backend, params)?;
    let vocab_size = usize::try_from(model.vocab().n_tokens())?;
    let prompt = |seed: u64| -> Vec<LlamaToken> {
        sizewise_engine::random_prompt_tokens(prompt_tokens, vocab_size, seed)
            .into_iter()
            .map(LlamaToken)
            .collect()
    };

    // The warm-up `bench --gguf` runs: seed 0 - 1, four tokens.
    run(&mut ctx, batch_tokens, &prompt(u64::MAX), 4)?;
    let samples = (0..repetitions)
        .map(|seed| run(&mut ctx, batch_tokens, &prompt(seed), n))
        .collect::<Result<Vec<_>, _>>()?;
    let mean = |f: fn(&Sample) -> f64| samples.iter().map(f).sum::<f64>() / samples.len() as f64;
    let decode: Vec<String> = samples.iter().map(|s| format!("{:.3}", s.decode)).collect();
    println!(
        "{{\"program\":\"bare_llama\",\"threads\":{threads},\"prompt_tokens\":{prompt_tokens},\"output_tokens\":{n},\"repetitions\":{repetitions},\"prefill_tokens_per_s\":{:.3},\"decode_tokens_per_s\":{:.3},\"decode_samples\":[{}]}}",
        mean(|s| s.prefill),
        mean(|s| s.decode),
        decode.join(",")
    );
    Ok(())
}
