//! The same measurement as `bare_llama`, through `sizewise_engine`: loads a GGUF, prefills
//! the same fixed prompt, greedily decodes N tokens (end-of-generation ignored, so the count
//! is exact) with T threads, and prints prompt and decode tokens/s. Comparing the two gives
//! the engine's overhead.
//!
//! `cargo run --release -p sizewise-engine --example engine_decode -- MODEL.gguf [N=128] [T=1]`

use std::error::Error;
use std::ops::ControlFlow;

use sizewise_engine::{Engine, GenParams, LoadOptions, Prompt};

/// The prompt both this example and `bare_llama` evaluate.
const PROMPT: &str = "The history of the printing press begins in the fifteenth century, when";

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: engine_decode MODEL.gguf [N=128] [THREADS=1]")?;
    let n: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(128);
    let threads: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1);

    let options = LoadOptions {
        threads,
        context_tokens: Some(1024),
        batch_tokens: 512,
        ..LoadOptions::default()
    };
    let mut engine = Engine::load(&path, options)?;
    // One more token than N: the first comes from the prefill, then N decode steps follow,
    // as in `bare_llama`.
    let params = GenParams {
        max_tokens: n + 1,
        ignore_eos: true,
        ..GenParams::default()
    };
    let generation =
        engine.generate(
            &Prompt::text(PROMPT),
            &params,
            |_| ControlFlow::Continue(()),
        )?;
    let timings = &generation.timings;
    println!(
        "engine_decode: threads {threads}, prompt {} tokens at {:.1} tokens/s, decode {} tokens at {:.1} tokens/s (load {:.2} s, ttft {:.1} ms)",
        generation.prompt_tokens,
        generation.prefill_tokens_per_s().unwrap_or(0.0),
        timings.decode_step_s.len(),
        timings.decode_tokens_per_s().unwrap_or(0.0),
        engine.info().load_s,
        timings.ttft_s.unwrap_or(0.0) * 1e3,
    );
    eprintln!("{}", generation.text);
    Ok(())
}
