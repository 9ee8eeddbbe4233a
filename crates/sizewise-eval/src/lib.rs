//! Response quality of sizewise (`sizewise eval`): task suites, seeded few-shot prompts,
//! strict and flexible answer extraction, and metrics with bootstrap standard errors, in the
//! spirit of EleutherAI's lm-evaluation-harness. There is no model code here: a caller runs
//! the prompts on a target (an in-process model or a chat endpoint) and hands the outputs
//! back to be scored.
//!
//! Suites are read by [`load_suite`]: a sizewise suite file (`"sizewise_suite": 1`) or a
//! BIG-bench JSON task, told apart by the key the file has (`sizewise_suite` or `examples`).
//! The built-in suites ([`builtin_list`], [`builtin`]) are embedded in the library, each
//! with the license and attribution of its data beside it under `suites/`.
//!
//! # Randomness
//!
//! Few-shot sampling and bootstrap resampling use [`SplitMix64`], a fixed public-domain
//! algorithm, so a seed gives identical prompts and identical summaries on every platform
//! and in every version.

mod bigbench;
mod builtin;
mod error;
mod extract;
mod jsonval;
mod load;
mod long_context;
mod prompt;
mod rng;
mod score;
mod sizewise;
mod suite;
mod text;

pub use builtin::{BUILTIN_IDS, BuiltinInfo, builtin, builtin_list};
pub use error::{EvalError, ItemRef, Result};
pub use load::{LoadOptions, load_suite, load_suite_with, parse_suite, parse_suite_with};
pub use long_context::{
    CHARS_PER_TOKEN, LONG_CONTEXT_DEPTHS, LONG_CONTEXT_REPEATS, LONG_CONTEXT_SEED,
    LONG_CONTEXT_TOKENS, long_context_suite,
};
pub use prompt::{Message, Prepared, Role, prepare};
pub use rng::SplitMix64;
pub use score::{Answer, Outcome, Scored, score_logprobs, score_text};
pub use sizewise::FORMAT_VERSION;
pub use suite::{AnswerKind, Item, Metric, Skipped, Suite, SuiteFormat, Target, Template};
