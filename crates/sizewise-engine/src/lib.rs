//! In-process inference over llama.cpp (through the `llama-cpp-2` crate) for sizewise's
//! measurements: `bench --gguf`, `serve` and `eval`.
//!
//! An [`Engine`] owns one model and one context. It
//! - loads a GGUF file after our own reader ([`sizewise_gguf`]) has validated it, so a
//!   malformed file is refused with a clear error before llama.cpp parses it;
//! - formats chat messages with the chat template stored in the GGUF (or a plain
//!   `User:`/`Assistant:` format when the file has none that llama.cpp can apply);
//! - generates greedily (`temperature == 0`) or by sampling (temperature, top-p, seed), streaming
//!   each piece of text as it is decoded, ending on end-of-generation tokens, stop sequences,
//!   the token limit or the caller's request;
//! - times every phase (load, prefill, time to first token, each decode step);
//! - scores multiple-choice candidates by their log-probability after a prompt.
//!
//! CPU only. The llama.cpp backend is initialised once per process, on first use.
//!
//! ```no_run
//! use std::ops::ControlFlow;
//! use sizewise_engine::{Engine, GenParams, LoadOptions, Prompt};
//!
//! # fn main() -> Result<(), sizewise_engine::EngineError> {
//! let mut engine = Engine::load("SmolLM2-135M-Instruct.Q4_1.gguf", LoadOptions::default())?;
//! let prompt = Prompt::chat([("user", "Name a prime number.")]);
//! let params = GenParams { max_tokens: 32, ..GenParams::default() };
//! let generation = engine.generate(&prompt, &params, |piece| {
//!     print!("{piece}");
//!     ControlFlow::Continue(())
//! })?;
//! println!("\n{} tokens, {:.1} tokens/s", generation.output_tokens,
//!     generation.timings.decode_tokens_per_s().unwrap_or(0.0));
//! # Ok(())
//! # }
//! ```

mod bench_prompt;
mod engine;
mod error;
mod stream;

pub use bench_prompt::random_prompt_tokens;
pub use engine::{
    ChatFormat, ChatMessage, Engine, FinishReason, GenParams, GeneratedLogprobs, Generation,
    LoadOptions, MAX_TOP_LOGPROBS, ModelInfo, Prompt, Timings, TokenLogprob, default_threads,
};
pub use error::{EngineError, Result};
