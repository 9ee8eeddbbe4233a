//! Response quality of sizewise (`sizewise eval`): task suites, seeded few-shot prompts,
//! strict and flexible answer extraction, and metrics with bootstrap standard errors, in the
//! spirit of EleutherAI's lm-evaluation-harness. There is no model code here: a caller runs
//! the prompts of [`prepare`] on a target (an in-process model or a chat endpoint) and hands
//! the outputs to [`score_text`] (or log-probabilities to [`score_logprobs`]), then the
//! scored items to [`summarize`]; [`paired_bootstrap`] compares two runs item by item.
//!
//! ```
//! use sizewise_eval::{builtin, prepare, score_text, summarize};
//! # fn main() -> Result<(), sizewise_eval::EvalError> {
//! let suite = builtin("sentiment")?;
//! let prompts = prepare(&suite, None, 1234, Some(4))?;
//! let scored: Vec<_> = prompts
//!     .iter()
//!     .filter_map(|p| suite.item(p.index))
//!     .map(|item| score_text(&suite, item, "Positive."))
//!     .collect();
//! let summary = summarize(&suite, &scored, 1234)?;
//! assert_eq!(summary.n, 4);
//! # Ok(()) }
//! ```
//!
//! # The sizewise suite format
//!
//! A JSON object; unknown keys are refused, so a typo does not pass unnoticed:
//!
//! ```json
//! {"sizewise_suite": 1, "id": "sentiment-pt-br", "title": "...", "description": "...",
//!  "language": "pt-BR", "license": "Apache-2.0", "source": "written for sizewise",
//!  "answer": {"kind": "label", "labels": ["positivo", "negativo"]},
//!  "system": "optional system message",
//!  "prompt": "Frase: {input}\nSentimento:",
//!  "shots": 2, "max_tokens": 8, "metric": "accuracy",
//!  "items": [{"id": "ptbr-001", "input": "...", "target": "positivo"}]}
//! ```
//!
//! - `answer.kind`: `label` (`labels`, two or more; the target is one of them), `choice`
//!   (each item has `choices`; the target is the right choice or its 0-based index),
//!   `exact` (the target is a string or a list of acceptable strings, compared after
//!   normalization), `number` (optional `tolerance`, absolute), `json` (the target is an
//!   object; `fields` names the fields scored, all of the target's when absent; write `null`
//!   for a value the input does not give) or `text` (free text scored by token F1).
//! - `metric`: `accuracy`, `macro_f1` (label only), `exact_match`, `token_f1` (exact and
//!   text) or `field_accuracy` (json: the share of fields right, averaged over items). When
//!   absent: accuracy for label, choice and number, exact_match for exact, field_accuracy for
//!   json, token_f1 for text.
//! - `prompt` must hold `{input}`; it may hold `{choices}` (choice: each choice after
//!   `choice_prefix`, default `"\n- "`) and `{labels}` (label: the labels joined by ", ").
//!   `separator` (default a blank line) comes between few-shot examples; `stop` defaults to
//!   the end of the line for label, choice and exact answers and to a blank line otherwise;
//!   `max_tokens` defaults by kind ([`AnswerKind::default_max_tokens`]); `shots` to 0.
//! - Items sit in `items`, or in a JSONL file (one object a line) named by `items_file`,
//!   relative to the suite file. Each has a unique `id`, an `input`, a `target`; other
//!   fields are kept in [`Item::meta`].
//!
//! Every problem (an unknown kind or metric, a target not among the labels, no items, a
//! duplicate id, a choice index out of range...) is an [`EvalError`] naming the file and
//! the item.
//!
//! BIG-bench JSON tasks are read as published (see [`load_suite`]); the format is told by the
//! key the file has: `sizewise_suite` or `examples`.
//!
//! # Answers
//!
//! Each output is read two ways. **Strict**: the whole trimmed output must be exactly one
//! valid answer (a label or choice, ignoring case; a number; a JSON object; the normalized
//! target). **Flexible**: the first label or choice that appears as a whole word (ignoring
//! case and accents); the last number in the text (`1,234.56` and `1.234,56` both read as
//! 1234.56); the first balanced `{...}` that parses as a JSON object, also inside Markdown
//! fences; for exact answers, a target contained in the text after "Answer:" (or "the answer
//! is", "resposta:"...) or in the first line. The summary's main score is the flexible one;
//! the strict one is reported beside it.
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
mod first_token;
mod jsonval;
mod load;
mod long_context;
mod metrics;
mod prompt;
mod rng;
mod score;
mod sizewise;
mod suite;
mod text;

pub use builtin::{BUILTIN_IDS, BuiltinInfo, builtin, builtin_list};
pub use error::{EvalError, ItemRef, Result};
pub use first_token::{first_token_scores, first_tokens_tell_apart};
pub use load::{LoadOptions, load_suite, load_suite_with, parse_suite, parse_suite_with};
pub use long_context::{
    CHARS_PER_TOKEN, LONG_CONTEXT_DEPTHS, LONG_CONTEXT_REPEATS, LONG_CONTEXT_SEED,
    LONG_CONTEXT_TOKENS, long_context_suite,
};
pub use metrics::{BOOTSTRAP_RESAMPLES, Estimate, Paired, Summary, paired_bootstrap, summarize};
pub use prompt::{Message, Prepared, Role, prepare};
pub use rng::SplitMix64;
pub use score::{Answer, Outcome, Scored, score_logprobs, score_text};
pub use sizewise::FORMAT_VERSION;
pub use suite::{AnswerKind, Item, Metric, Skipped, Suite, SuiteFormat, Target, Template};
