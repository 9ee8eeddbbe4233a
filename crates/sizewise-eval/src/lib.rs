//! Response quality of sizewise (`sizewise eval`): task suites, seeded few-shot prompts,
//! strict and flexible answer extraction, and metrics with bootstrap standard errors, in the
//! spirit of EleutherAI's lm-evaluation-harness. There is no model code here: a caller runs
//! the prompts on a target (an in-process model or a chat endpoint) and hands the outputs
//! back to be scored.
//!
//! # Randomness
//!
//! Few-shot sampling and bootstrap resampling use [`SplitMix64`], a fixed public-domain
//! algorithm, so a seed gives identical prompts and identical summaries on every platform
//! and in every version.

mod error;
mod rng;

pub use error::{EvalError, ItemRef, Result};
pub use rng::SplitMix64;
