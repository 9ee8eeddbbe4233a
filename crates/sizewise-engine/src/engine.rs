//! The engine: one model, one context; chat formatting, generation and scoring.

use std::num::NonZeroU32;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::logit_bias::LlamaLogitBias;
use sizewise_gguf::GgufFile;

use crate::error::{EngineError, Result};
use crate::stream::{Scan, StopScanner, Utf8Assembler};

/// The process-wide llama.cpp backend. llama.cpp must be initialised exactly once per
/// process; `llama-cpp-2` refuses a second initialisation, so every engine shares this one.
static BACKEND: OnceLock<std::result::Result<LlamaBackend, String>> = OnceLock::new();

/// The shared backend, initialised on first use. llama.cpp's own log lines are silenced
/// unless `SIZEWISE_LLAMA_LOG` is set to something other than `0`.
fn backend() -> Result<&'static LlamaBackend> {
    BACKEND
        .get_or_init(|| {
            let mut backend = LlamaBackend::init().map_err(|err| err.to_string())?;
            let verbose = std::env::var_os("SIZEWISE_LLAMA_LOG")
                .is_some_and(|value| !value.is_empty() && value != "0");
            if !verbose {
                backend.void_logs();
            }
            Ok(backend)
        })
        .as_ref()
        .map_err(|reason| EngineError::Backend(reason.clone()))
}

type Context<'model> = LlamaContext<'model>;

self_cell::self_cell!(
    /// A model and the context that borrows it, kept together.
    struct Loaded {
        owner: LlamaModel,
        #[covariant]
        dependent: Context,
    }
);

/// A default thread count that does not collapse: half the logical CPUs, at least one.
///
/// llama.cpp's worker threads spin while they wait for each other, so using every core on a
/// machine where anything else runs makes decoding many times slower; on machines with
/// simultaneous multithreading half the logical CPUs is also the physical core count.
pub fn default_threads() -> u32 {
    std::thread::available_parallelism()
        .map(|n| u32::try_from(n.get() / 2).unwrap_or(1).max(1))
        .unwrap_or(1)
}

/// How to load a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Threads for decoding (one token at a time). Default: [`default_threads`].
    pub threads: u32,
    /// Threads for prefill (the prompt's batches); `None` uses `threads`.
    pub prefill_threads: Option<u32>,
    /// Context length in tokens (prompt and output together); `None` takes the model's
    /// training context, at most 4096.
    pub context_tokens: Option<u32>,
    /// The most prompt tokens evaluated in one llama.cpp batch. Default 512.
    pub batch_tokens: u32,
    /// Map the file instead of reading it into memory. Default `true`.
    pub use_mmap: bool,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            threads: default_threads(),
            prefill_threads: None,
            context_tokens: None,
            batch_tokens: 512,
            use_mmap: true,
        }
    }
}

/// What is known about a loaded model and how it was loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// The GGUF file.
    pub path: PathBuf,
    /// Size of the file in bytes.
    pub model_bytes: u64,
    /// Bytes of tensor data (weights), as our GGUF reader counts them.
    pub weight_bytes: u64,
    /// Parameter count, as our GGUF reader counts it.
    pub parameters: u64,
    /// `general.architecture` (llama, gemma3, ...).
    pub architecture: Option<String>,
    /// `general.name`.
    pub name: Option<String>,
    /// Seconds to validate, load and create the context.
    pub load_s: f64,
    /// The context length in tokens.
    pub context_tokens: u32,
    /// The context length the model was trained with.
    pub train_context_tokens: u32,
    /// Decode threads.
    pub threads: u32,
    /// Prefill threads.
    pub prefill_threads: u32,
    /// Tokens in the vocabulary.
    pub vocab_size: usize,
}

/// How chat messages become a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatFormat {
    /// The chat template stored in the GGUF (`tokenizer.chat_template`), applied by llama.cpp.
    Gguf {
        /// The template text.
        template: String,
    },
    /// A plain `User: ...` / `Assistant:` format.
    Plain {
        /// Why the GGUF's template is not used.
        reason: String,
    },
}

/// One message of a conversation, as in OpenAI's chat API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The message text.
    pub content: String,
}

impl ChatMessage {
    /// A message with `role` and `content`.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// What the model is asked to continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// Raw text, continued as is (a BOS token is added when the model wants one).
    Text(String),
    /// A conversation, formatted with the model's chat template and ending with the
    /// assistant's turn.
    Chat(Vec<ChatMessage>),
    /// Token ids evaluated exactly as given (no BOS added): what a benchmark with a fixed
    /// prompt length needs.
    Tokens(Vec<i32>),
}

impl Prompt {
    /// A raw-text prompt.
    pub fn text(text: impl Into<String>) -> Prompt {
        Prompt::Text(text.into())
    }

    /// A chat prompt from `(role, content)` pairs.
    pub fn chat<R, C>(messages: impl IntoIterator<Item = (R, C)>) -> Prompt
    where
        R: Into<String>,
        C: Into<String>,
    {
        Prompt::Chat(
            messages
                .into_iter()
                .map(|(role, content)| ChatMessage::new(role, content))
                .collect(),
        )
    }
}

impl From<&str> for Prompt {
    fn from(text: &str) -> Prompt {
        Prompt::text(text)
    }
}

impl From<String> for Prompt {
    fn from(text: String) -> Prompt {
        Prompt::Text(text)
    }
}

/// How to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenParams {
    /// The most tokens to generate. Default 128.
    pub max_tokens: u32,
    /// Sampling temperature; `0` decodes greedily (the most likely token every step).
    /// Default 0.
    pub temperature: f32,
    /// Nucleus sampling: keep the most likely tokens whose probabilities sum to `top_p`
    /// (1 keeps all). Used only when `temperature > 0`. Default 1.
    pub top_p: f32,
    /// Seed of the sampler; the same seed, prompt and parameters give the same text.
    /// Default 0.
    pub seed: u32,
    /// Generation ends before the first of these strings; the string is not part of the
    /// text. Empty strings are ignored.
    pub stop: Vec<String>,
    /// Never sample an end-of-generation token, so that exactly `max_tokens` are generated
    /// (unless a stop sequence or the context's end comes first): what a benchmark with a
    /// fixed output length needs. Other control tokens (a chat template's `<|im_start|>`)
    /// are not sampled either: they render as no text, so a stream would carry fewer pieces
    /// than tokens. Default `false`.
    pub ignore_eos: bool,
    /// Keep the keys and values of the longest prefix this prompt shares with the previous
    /// call's, and evaluate only the rest: many prompts with the same few-shot examples then
    /// cost their own tokens only. Default `false`, so that each prefill is measured cold.
    pub reuse_prefix: bool,
    /// Record each generated token's log-probability and, when above 0, that many of the
    /// most likely tokens at its step (at most [`MAX_TOP_LOGPROBS`]): what an
    /// OpenAI-compatible `logprobs`/`top_logprobs` request asks for. `None` records nothing
    /// (computing them costs a pass over the vocabulary per token). Default `None`.
    pub top_logprobs: Option<u32>,
}

/// The most alternatives [`GenParams::top_logprobs`] records per token (OpenAI's limit).
pub const MAX_TOP_LOGPROBS: u32 = 20;

/// A token's text and log-probability.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenLogprob {
    /// The token's text (invalid UTF-8, part of a character, is replaced).
    pub token: String,
    /// Its natural-log probability at that step, from the model's logits (before sampling).
    pub logprob: f64,
}

/// One generated token's log-probability and the most likely tokens at its step.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedLogprobs {
    /// The token generated.
    pub chosen: TokenLogprob,
    /// The most likely tokens at this step, most likely first.
    pub top: Vec<TokenLogprob>,
}

impl Default for GenParams {
    fn default() -> GenParams {
        GenParams {
            max_tokens: 128,
            temperature: 0.0,
            top_p: 1.0,
            seed: 0,
            stop: Vec::new(),
            ignore_eos: false,
            reuse_prefix: false,
            top_logprobs: None,
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FinishReason {
    /// A stop sequence appeared.
    Stop,
    /// `max_tokens` were generated, or the context is full.
    Length,
    /// The model produced an end-of-generation token.
    Eos,
    /// The caller's callback asked to stop.
    Cancelled,
}

impl FinishReason {
    /// The `finish_reason` an OpenAI-compatible API reports: `stop` or `length`.
    pub fn as_openai(self) -> &'static str {
        match self {
            FinishReason::Length => "length",
            FinishReason::Stop | FinishReason::Eos | FinishReason::Cancelled => "stop",
        }
    }
}

/// Where the time of one generation went, in seconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timings {
    /// Formatting and tokenizing the prompt.
    pub tokenize_s: f64,
    /// Evaluating the prompt (all of its batches).
    pub prefill_s: f64,
    /// From the call to the first generated token (tokenize, prefill and the first sample);
    /// `None` when no token was generated.
    pub ttft_s: Option<f64>,
    /// From the first generated token to the last: the sum of `decode_step_s`.
    pub decode_s: f64,
    /// Each decode step after the first token: evaluating the previous token, sampling the
    /// next one and handing its text over.
    pub decode_step_s: Vec<f64>,
    /// The whole call.
    pub total_s: f64,
}

impl Timings {
    /// Decode steps per second (`decode_step_s.len() / decode_s`); `None` without a step.
    pub fn decode_tokens_per_s(&self) -> Option<f64> {
        (!self.decode_step_s.is_empty() && self.decode_s > 0.0)
            .then(|| self.decode_step_s.len() as f64 / self.decode_s)
    }
}

/// The result of [`Engine::generate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// The generated text, without any stop sequence or end-of-generation token.
    pub text: String,
    /// Tokens in the prompt as evaluated (with any BOS token and the chat template).
    pub prompt_tokens: usize,
    /// Tokens generated, not counting an end-of-generation token.
    pub output_tokens: usize,
    /// Prompt tokens whose keys and values were kept from the previous call
    /// ([`GenParams::reuse_prefix`]); prefill evaluated only the others.
    pub reused_prompt_tokens: usize,
    /// Why generation ended.
    pub finish_reason: FinishReason,
    /// Where the time went.
    pub timings: Timings,
    /// Each generated token's log-probabilities, when [`GenParams::top_logprobs`] asked for
    /// them (an end-of-generation token is not generated text and has none).
    pub logprobs: Vec<GeneratedLogprobs>,
}

impl Generation {
    /// Prompt tokens per second of prefill; `None` when prefill took no measurable time.
    pub fn prefill_tokens_per_s(&self) -> Option<f64> {
        (self.timings.prefill_s > 0.0).then(|| self.prompt_tokens as f64 / self.timings.prefill_s)
    }
}

/// An in-process llama.cpp model with its context.
///
/// One generation or scoring call runs at a time (`&mut self`); the engine can be moved to
/// another thread, so a server keeps it behind a mutex.
pub struct Engine {
    loaded: Loaded,
    info: ModelInfo,
    chat_format: ChatFormat,
    template: Option<LlamaChatTemplate>,
    /// The vocabulary's end-of-generation and control tokens (banned by `ignore_eos`).
    banned_by_ignore_eos: Vec<LlamaToken>,
    /// The tokens whose keys and values sit in the context's sequence 0, in order.
    cached: Vec<LlamaToken>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("info", &self.info)
            .field("chat_format", &self.chat_format)
            .finish_non_exhaustive()
    }
}

fn option_error(name: &'static str, reason: impl Into<String>) -> EngineError {
    EngineError::InvalidOption {
        name,
        reason: reason.into(),
    }
}

fn decode_error(what: impl Into<String>, reason: impl ToString) -> EngineError {
    EngineError::Decode {
        what: what.into(),
        reason: reason.to_string(),
    }
}

fn to_i32(value: u32, name: &'static str) -> Result<i32> {
    i32::try_from(value).map_err(|_| option_error(name, format!("{value} is too large")))
}

fn position(pos: usize) -> Result<i32> {
    i32::try_from(pos).map_err(|_| decode_error("a token", format!("position {pos} is too large")))
}

/// The number of leading tokens `a` and `b` share.
fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// `log softmax(logits)[token]`, computed in f64.
fn log_prob(logits: &[f32], token: LlamaToken) -> Result<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = logits.iter().map(|&l| (l as f64 - max).exp()).sum();
    let logit = usize::try_from(token.0)
        .ok()
        .and_then(|i| logits.get(i))
        .ok_or_else(|| decode_error("a candidate", format!("token {} has no logit", token.0)))?;
    Ok(*logit as f64 - max - sum.ln())
}

/// The natural-log softmax of `logits`.
fn log_softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits.iter().map(|&l| f64::from(l - max).exp()).sum();
    let norm = max as f64 + sum.ln();
    logits
        .iter()
        .map(|&l| (f64::from(l) - norm) as f32)
        .collect()
}

/// The log-probability of `chosen` in `lp` (a log-softmax over the vocabulary) and the `k`
/// most likely tokens, most likely first (ties by token id); `text` gives a token's text.
fn token_logprobs(
    lp: &[f32],
    chosen: LlamaToken,
    k: usize,
    text: impl Fn(LlamaToken) -> String,
) -> GeneratedLogprobs {
    let mut ids: Vec<usize> = (0..lp.len()).collect();
    let k = k.min(ids.len());
    let order = |a: &usize, b: &usize| lp[*b].total_cmp(&lp[*a]).then(a.cmp(b));
    if k > 0 && k < ids.len() {
        ids.select_nth_unstable_by(k - 1, order);
    }
    ids.truncate(k);
    ids.sort_unstable_by(order);
    let entry = |id: usize| TokenLogprob {
        token: text(LlamaToken(i32::try_from(id).unwrap_or(i32::MAX))),
        logprob: f64::from(lp[id]),
    };
    GeneratedLogprobs {
        chosen: TokenLogprob {
            token: text(chosen),
            logprob: usize::try_from(chosen.0)
                .ok()
                .and_then(|i| lp.get(i))
                .map_or(f64::NEG_INFINITY, |&l| f64::from(l)),
        },
        top: ids.into_iter().map(entry).collect(),
    }
}

/// Evaluates `tokens` at positions `start..`, in batches of at most the context's
/// batch size (which `batch` must hold). Logits are requested for the positions where `wants_logits` says so; after each
/// batch, `after` gets the context, the batch's first position and its length.
fn evaluate(
    ctx: &mut LlamaContext<'_>,
    batch: &mut LlamaBatch,
    tokens: &[LlamaToken],
    start: usize,
    what: &str,
    wants_logits: impl Fn(usize) -> bool,
    mut after: impl FnMut(&LlamaContext<'_>, usize, usize) -> Result<()>,
) -> Result<()> {
    let batch_tokens = (ctx.n_batch() as usize).max(1);
    let mut first = start;
    for chunk in tokens.chunks(batch_tokens) {
        batch.clear();
        for (i, &token) in chunk.iter().enumerate() {
            let pos = first + i;
            batch
                .add(token, position(pos)?, &[0], wants_logits(pos))
                .map_err(|err| decode_error(what, err))?;
        }
        ctx.decode(batch).map_err(|err| decode_error(what, err))?;
        after(ctx, first, chunk.len())?;
        first += chunk.len();
    }
    Ok(())
}

impl Engine {
    /// Loads the GGUF model at `path`.
    ///
    /// The file is first read and validated by [`sizewise_gguf`] (header, metadata, tensor
    /// table, every tensor inside the file); only a file that passes is handed to llama.cpp.
    pub fn load(path: impl AsRef<Path>, options: LoadOptions) -> Result<Engine> {
        let path = path.as_ref();
        let started = Instant::now();
        if options.threads == 0 {
            return Err(option_error("threads", "must be at least 1"));
        }
        let prefill_threads = options.prefill_threads.unwrap_or(options.threads);
        if prefill_threads == 0 {
            return Err(option_error("prefill_threads", "must be at least 1"));
        }
        if options.batch_tokens == 0 {
            return Err(option_error("batch_tokens", "must be at least 1"));
        }
        if options.context_tokens == Some(0) {
            return Err(option_error("context_tokens", "must be at least 1"));
        }
        let gguf = GgufFile::open(path).map_err(|source| EngineError::InvalidGguf {
            path: path.to_path_buf(),
            source,
        })?;
        let arch = gguf.architecture();
        let backend = backend()?;

        let model_params = LlamaModelParams::default().with_use_mmap(options.use_mmap);
        let model = LlamaModel::load_from_file(backend, path, &model_params).map_err(|err| {
            EngineError::Load {
                path: path.to_path_buf(),
                reason: err.to_string(),
            }
        })?;
        let train_context_tokens = model.n_ctx_train();
        let context_tokens = options
            .context_tokens
            .unwrap_or_else(|| train_context_tokens.clamp(1, 4096));
        let batch_tokens = options.batch_tokens.min(context_tokens);
        let (template, chat_format) = chat_template(&model);
        let vocab_size = usize::try_from(model.n_vocab()).unwrap_or(0);
        let banned_by_ignore_eos: Vec<LlamaToken> = {
            let vocab = model.vocab();
            vocab
                .tokens()
                .filter(|&t| vocab.is_eog(t) || vocab.is_control(t))
                .collect()
        };

        let ctx_params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(context_tokens))
            .with_n_batch(batch_tokens)
            .with_n_ubatch(batch_tokens)
            .with_n_threads(to_i32(options.threads, "threads")?)
            .with_n_threads_batch(to_i32(prefill_threads, "prefill_threads")?);
        let loaded = Loaded::try_new(model, |model| model.new_context(backend, ctx_params))
            .map_err(|err| EngineError::Context {
                context_tokens,
                threads: options.threads,
                reason: err.to_string(),
            })?;

        let info = ModelInfo {
            path: path.to_path_buf(),
            model_bytes: gguf.file_size(),
            weight_bytes: gguf.weight_bytes(),
            parameters: gguf.parameter_count(),
            architecture: arch.architecture,
            name: arch.name,
            load_s: started.elapsed().as_secs_f64(),
            context_tokens,
            train_context_tokens,
            threads: options.threads,
            prefill_threads,
            vocab_size,
        };
        Ok(Engine {
            loaded,
            info,
            chat_format,
            template,
            banned_by_ignore_eos,
            cached: Vec::new(),
        })
    }

    /// What is known about the model and how it was loaded.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// How chat messages are formatted for this model.
    pub fn chat_format(&self) -> &ChatFormat {
        &self.chat_format
    }

    /// The text the model sees for `prompt`: raw text as is, a chat formatted with the
    /// model's chat template (or the plain format), ending with the assistant's turn.
    pub fn render(&self, prompt: &Prompt) -> Result<String> {
        let messages = match prompt {
            Prompt::Text(text) => return Ok(text.clone()),
            Prompt::Chat(messages) => messages,
            Prompt::Tokens(ids) => return self.detokenize(ids),
        };
        let Some(template) = &self.template else {
            return Ok(plain_chat(messages));
        };
        let chat = messages
            .iter()
            .enumerate()
            .map(|(index, m)| {
                LlamaChatMessage::new(m.role.clone(), m.content.clone()).map_err(|err| {
                    EngineError::Chat {
                        index,
                        role: m.role.clone(),
                        reason: err.to_string(),
                    }
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.loaded
            .borrow_owner()
            .apply_chat_template(template, &chat, true)
            .map_err(|err| EngineError::Chat {
                index: messages.len().saturating_sub(1),
                role: messages.last().map(|m| m.role.clone()).unwrap_or_default(),
                reason: format!("the chat template could not be applied: {err}"),
            })
    }

    /// The token ids of `text` alone: no BOS token, special-token text read as plain text.
    /// This is how generated text is counted.
    pub fn tokenize(&self, text: &str) -> Vec<i32> {
        self.loaded
            .borrow_owner()
            .vocab()
            .tokenize(text.as_bytes(), false, false)
            .into_iter()
            .map(|t| t.0)
            .collect()
    }

    /// The number of tokens of `text` alone (see [`Engine::tokenize`]).
    pub fn count_tokens(&self, text: &str) -> usize {
        self.tokenize(text).len()
    }

    /// The number of tokens [`Engine::generate`] would evaluate for `prompt`.
    pub fn prompt_tokens(&self, prompt: &Prompt) -> Result<usize> {
        Ok(self.tokens_of(prompt)?.len())
    }

    /// The tokens [`Engine::generate`] evaluates for `prompt`.
    fn tokens_of(&self, prompt: &Prompt) -> Result<Vec<LlamaToken>> {
        match prompt {
            Prompt::Tokens(ids) => {
                self.check_ids(ids)?;
                Ok(ids.iter().map(|&id| LlamaToken(id)).collect())
            }
            _ => Ok(self.prompt_token_ids(&self.render(prompt)?)),
        }
    }

    fn check_ids(&self, ids: &[i32]) -> Result<()> {
        let vocab_size = self.info.vocab_size;
        match ids
            .iter()
            .find(|&&id| usize::try_from(id).map_or(true, |i| i >= vocab_size))
        {
            Some(&id) => Err(EngineError::UnknownToken { id, vocab_size }),
            None => Ok(()),
        }
    }

    /// The text of token ids, special tokens included as their text.
    fn detokenize(&self, ids: &[i32]) -> Result<String> {
        self.check_ids(ids)?;
        let vocab = self.loaded.borrow_owner().vocab();
        let mut bytes = Vec::new();
        let mut piece = Vec::with_capacity(16);
        for &id in ids {
            piece.clear();
            vocab.token_to_piece_into(LlamaToken(id), &mut piece, true, None);
            bytes.extend_from_slice(&piece);
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The tokens of a rendered prompt: a BOS token when the model wants one (never two) and
    /// special tokens (the chat template's markers) parsed as such.
    fn prompt_token_ids(&self, text: &str) -> Vec<LlamaToken> {
        let vocab = self.loaded.borrow_owner().vocab();
        let mut tokens = vocab.tokenize(text.as_bytes(), true, true);
        let bos = vocab.bos();
        if tokens.len() >= 2 && tokens[0] == bos && tokens[1] == bos {
            tokens.remove(0);
        }
        tokens
    }

    /// Generates a continuation of `prompt`, handing each piece of text to `on_token` as it
    /// is decoded (whole UTF-8 characters only; text that may begin a stop sequence is held
    /// back until it is known not to). Return [`ControlFlow::Break`] from `on_token` to end
    /// generation early ([`FinishReason::Cancelled`]).
    ///
    /// Each call starts from an empty context, so its prefill is measured cold, unless
    /// [`GenParams::reuse_prefix`] keeps what it shares with the previous call's prompt.
    pub fn generate<F>(
        &mut self,
        prompt: &Prompt,
        params: &GenParams,
        mut on_token: F,
    ) -> Result<Generation>
    where
        F: FnMut(&str) -> ControlFlow<()>,
    {
        let started = Instant::now();
        let n_vocab = i32::try_from(self.info.vocab_size).unwrap_or(i32::MAX);
        let ignored = if params.ignore_eos {
            self.banned_by_ignore_eos.as_slice()
        } else {
            &[]
        };
        let mut sampler = sampler_for(params, n_vocab, ignored)?;
        let tokens = self.tokens_of(prompt)?;
        if tokens.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        let context_tokens = self.info.context_tokens as usize;
        if tokens.len() >= context_tokens {
            return Err(EngineError::PromptTooLong {
                prompt_tokens: tokens.len(),
                context_tokens: self.info.context_tokens,
            });
        }
        let tokenize_s = started.elapsed().as_secs_f64();
        let max_tokens = params.max_tokens as usize;
        // At least the last prompt token is evaluated: its logits give the first sample.
        let reusable = if params.reuse_prefix {
            common_prefix(&self.cached, &tokens).min(tokens.len() - 1)
        } else {
            0
        };
        self.cached.clear();
        let mut reused = 0;

        let mut timings = Timings {
            tokenize_s,
            ..Timings::default()
        };
        let mut scanner = StopScanner::new(&params.stop);
        let mut utf8 = Utf8Assembler::default();
        let mut output_tokens = 0;
        let mut finish_reason = FinishReason::Length;
        let top_k = params
            .top_logprobs
            .map(|k| k.min(MAX_TOP_LOGPROBS) as usize);
        let mut logprobs = Vec::new();
        self.loaded.with_dependent_mut(|model, ctx| -> Result<()> {
            let from = u32::try_from(reusable).ok().filter(|&n| n > 0);
            reused = match from.map(|n| ctx.clear_kv_cache_seq(Some(0), Some(n), None)) {
                Some(Ok(true)) => reusable,
                // Nothing to keep, or a memory that cannot drop just a tail (a sliding window).
                _ => {
                    ctx.clear_kv_cache();
                    0
                }
            };
            let vocab = model.vocab();
            let batch_tokens = ctx.n_batch() as usize;
            let mut batch = LlamaBatch::new(batch_tokens.max(1), 1);
            let last = tokens.len() - 1;
            let prefill_started = Instant::now();
            let mut sample_index = 0;
            evaluate(
                ctx,
                &mut batch,
                &tokens[reused..],
                reused,
                "the prompt",
                |pos| pos == last,
                |_, first, len| {
                    sample_index = len.saturating_sub(1);
                    debug_assert_eq!(first + len, tokens.len());
                    Ok(())
                },
            )?;
            timings.prefill_s = prefill_started.elapsed().as_secs_f64();
            if max_tokens == 0 {
                return Ok(());
            }
            let mut sample_index = i32::try_from(sample_index).unwrap_or(0);
            let mut pos = tokens.len();
            let mut previous = Instant::now();
            let mut piece = Vec::with_capacity(16);
            loop {
                // The logits before sampling: the sampler's chain may change them.
                let distribution = top_k.map(|k| {
                    let logits = ctx.get_logits_ith(sample_index);
                    (log_softmax(logits), k)
                });
                let token = sampler.sample(ctx, sample_index);
                let now = Instant::now();
                if timings.ttft_s.is_none() {
                    timings.ttft_s = Some((now - started).as_secs_f64());
                } else {
                    timings.decode_step_s.push((now - previous).as_secs_f64());
                }
                previous = now;
                if !params.ignore_eos && vocab.is_eog(token) {
                    finish_reason = FinishReason::Eos;
                    break;
                }
                output_tokens += 1;
                if let Some((lp, k)) = &distribution {
                    logprobs.push(token_logprobs(lp, token, *k, |t| {
                        let mut bytes = Vec::with_capacity(16);
                        vocab.token_to_piece_into(t, &mut bytes, false, None);
                        String::from_utf8_lossy(&bytes).into_owned()
                    }));
                }
                piece.clear();
                vocab.token_to_piece_into(token, &mut piece, false, None);
                let text = utf8.push(&piece);
                let flow = match scanner.push(&text) {
                    Scan::Emit("") => ControlFlow::Continue(()),
                    Scan::Emit(text) => on_token(text),
                    Scan::Stopped(text) => {
                        if !text.is_empty() {
                            let _ = on_token(text);
                        }
                        finish_reason = FinishReason::Stop;
                        break;
                    }
                };
                if flow.is_break() {
                    finish_reason = FinishReason::Cancelled;
                    break;
                }
                if output_tokens >= max_tokens || pos >= context_tokens {
                    finish_reason = FinishReason::Length;
                    break;
                }
                evaluate(
                    ctx,
                    &mut batch,
                    &[token],
                    pos,
                    "a generated token",
                    |_| true,
                    |_, _, _| Ok(()),
                )?;
                pos += 1;
                sample_index = 0;
            }
            Ok(())
        })?;

        if matches!(finish_reason, FinishReason::Length | FinishReason::Eos) {
            // Text held back as a possible stop sequence, and bytes of an unfinished character.
            let rest = utf8.finish();
            let tail = match scanner.push(&rest) {
                Scan::Emit(text) => text.to_string(),
                Scan::Stopped(text) => {
                    finish_reason = FinishReason::Stop;
                    text.to_string()
                }
            };
            let tail = if finish_reason == FinishReason::Stop {
                tail
            } else {
                tail + scanner.finish()
            };
            if !tail.is_empty() {
                let _ = on_token(&tail);
            }
        }
        timings.decode_s = timings.decode_step_s.iter().sum();
        timings.total_s = started.elapsed().as_secs_f64();
        // The context holds the prompt (and generated tokens past it, dropped next time).
        if params.reuse_prefix {
            self.cached = tokens.clone();
        }
        Ok(Generation {
            text: scanner.into_text(),
            prompt_tokens: tokens.len(),
            output_tokens,
            reused_prompt_tokens: reused,
            finish_reason,
            timings,
            logprobs,
        })
    }

    /// The log-probability of each candidate continuation of `prompt`: the sum, over the
    /// candidate's tokens, of each token's log-probability given the prompt and the
    /// candidate's earlier tokens. For multiple-choice scoring, e.g. `" Paris"` against
    /// `" banana"` after `"The capital of France is"`.
    ///
    /// The candidate is tokenized together with the prompt and its tokens are those after the
    /// prompt's own tokens, so a candidate that merges with the prompt's last token (a prompt
    /// ending in a space, a candidate starting with a letter) is scored from the merge point.
    /// Keys and values of the shared prompt are reused between candidates and calls.
    pub fn next_token_logprobs(
        &mut self,
        prompt: &Prompt,
        candidates: &[&str],
    ) -> Result<Vec<f64>> {
        let text = self.render(prompt)?;
        let context = self.prompt_token_ids(&text);
        let mut scores = Vec::with_capacity(candidates.len());
        for (index, candidate) in candidates.iter().enumerate() {
            let whole = self.prompt_token_ids(&format!("{text}{candidate}"));
            let split = common_prefix(&context, &whole);
            if split == 0 {
                return Err(EngineError::EmptyPrompt);
            }
            if split >= whole.len() {
                return Err(EngineError::EmptyCandidate {
                    index,
                    candidate: candidate.to_string(),
                });
            }
            if whole.len() > self.info.context_tokens as usize {
                return Err(EngineError::PromptTooLong {
                    prompt_tokens: whole.len(),
                    context_tokens: self.info.context_tokens,
                });
            }
            scores.push(self.score(&whole, split)?);
        }
        Ok(scores)
    }

    /// Sum of the log-probabilities of `tokens[split..]`, each given the tokens before it.
    fn score(&mut self, tokens: &[LlamaToken], split: usize) -> Result<f64> {
        // Keep what the context already holds of these tokens, but re-evaluate at least the
        // token before `split`, whose logits predict the first candidate token.
        let keep = common_prefix(&self.cached, tokens).min(split - 1);
        self.cached.clear();
        let mut total = 0.0;
        self.loaded.with_dependent_mut(|_, ctx| -> Result<()> {
            let from = u32::try_from(keep).ok();
            let keep = match ctx.clear_kv_cache_seq(Some(0), from, None) {
                Ok(true) => keep,
                // The memory cannot drop just a tail (e.g. a sliding-window cache): start over.
                _ => {
                    ctx.clear_kv_cache();
                    0
                }
            };
            let batch_tokens = ctx.n_batch() as usize;
            let mut batch = LlamaBatch::new(batch_tokens.max(1), 1);
            let inputs = &tokens[keep..tokens.len() - 1];
            evaluate(
                ctx,
                &mut batch,
                inputs,
                keep,
                "a candidate",
                |pos| pos + 1 >= split,
                |ctx, first, len| {
                    for i in 0..len {
                        let pos = first + i;
                        if pos + 1 >= split {
                            let index =
                                i32::try_from(i).map_err(|err| decode_error("a candidate", err))?;
                            total += log_prob(ctx.get_logits_ith(index), tokens[pos + 1])?;
                        }
                    }
                    Ok(())
                },
            )
        })?;
        self.cached = tokens[..tokens.len() - 1].to_vec();
        Ok(total)
    }
}

/// The sampler for `params`: greedy at temperature 0, else top-p, temperature and a seeded
/// draw; the `banned` tokens first get a logit of minus infinity.
fn sampler_for(params: &GenParams, n_vocab: i32, banned: &[LlamaToken]) -> Result<LlamaSampler> {
    if !params.temperature.is_finite() || params.temperature < 0.0 {
        return Err(option_error(
            "temperature",
            format!("{} is not a number >= 0", params.temperature),
        ));
    }
    if !(params.top_p > 0.0 && params.top_p <= 1.0) {
        return Err(option_error(
            "top_p",
            format!("{} is not in (0, 1]", params.top_p),
        ));
    }
    let mut chain = Vec::with_capacity(4);
    if !banned.is_empty() {
        let biases: Vec<LlamaLogitBias> = banned
            .iter()
            .map(|&token| LlamaLogitBias::new(token, f32::NEG_INFINITY))
            .collect();
        chain.push(LlamaSampler::logit_bias(n_vocab, &biases));
    }
    if params.temperature == 0.0 {
        chain.push(LlamaSampler::greedy());
    } else {
        if params.top_p < 1.0 {
            chain.push(LlamaSampler::top_p(params.top_p, 1));
        }
        chain.push(LlamaSampler::temp(params.temperature));
        chain.push(LlamaSampler::dist(params.seed));
    }
    if chain.len() == 1
        && let Some(only) = chain.pop()
    {
        return Ok(only);
    }
    Ok(LlamaSampler::chain_simple(chain))
}

/// The GGUF's chat template when llama.cpp can apply it; otherwise why not.
fn chat_template(model: &LlamaModel) -> (Option<LlamaChatTemplate>, ChatFormat) {
    let template = match model.chat_template(None) {
        Ok(template) => template,
        Err(err) => {
            return (
                None,
                ChatFormat::Plain {
                    reason: format!("the GGUF has no chat template ({err})"),
                },
            );
        }
    };
    let probe = LlamaChatMessage::new("user".to_string(), "Hi".to_string())
        .map_err(|err| err.to_string())
        .and_then(|message| {
            model
                .apply_chat_template(&template, &[message], true)
                .map_err(|err| err.to_string())
        });
    match probe {
        Ok(_) => {
            let text = template.to_string().unwrap_or_default();
            (Some(template), ChatFormat::Gguf { template: text })
        }
        Err(reason) => (
            None,
            ChatFormat::Plain {
                reason: format!("llama.cpp cannot apply the GGUF's chat template: {reason}"),
            },
        ),
    }
}

/// The plain chat format: `Role: content` lines, ending with `Assistant:`.
fn plain_chat(messages: &[ChatMessage]) -> String {
    let mut out = String::new();
    for message in messages {
        let role = match message.role.as_str() {
            "system" => "System",
            "user" => "User",
            "assistant" => "Assistant",
            other => other,
        };
        out.push_str(role);
        out.push_str(": ");
        out.push_str(&message.content);
        out.push('\n');
    }
    out.push_str("Assistant:");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}

    #[test]
    fn engine_can_move_between_threads() {
        assert_send::<Engine>();
    }

    #[test]
    fn plain_chat_ends_with_the_assistant_turn() {
        let text = plain_chat(&[
            ChatMessage::new("system", "Be brief."),
            ChatMessage::new("user", "Hi"),
        ]);
        assert_eq!(text, "System: Be brief.\nUser: Hi\nAssistant:");
    }

    #[test]
    fn log_prob_is_a_log_softmax() {
        let logits = [0.0_f32, (2.0_f32).ln()];
        let p0 = log_prob(&logits, LlamaToken(0)).unwrap_or(f64::NAN);
        let p1 = log_prob(&logits, LlamaToken(1)).unwrap_or(f64::NAN);
        assert!((p0.exp() - 1.0 / 3.0).abs() < 1e-6);
        assert!((p1.exp() - 2.0 / 3.0).abs() < 1e-6);
        assert!(log_prob(&logits, LlamaToken(2)).is_err());
    }

    #[test]
    fn top_logprobs_are_the_most_likely_tokens_in_order() {
        let logits = [1.0_f32, 3.0, 2.0, 3.0, -1.0];
        let lp = log_softmax(&logits);
        let total: f64 = lp.iter().map(|&l| f64::from(l).exp()).sum();
        assert!((total - 1.0).abs() < 1e-6);
        let name = |t: LlamaToken| format!("t{}", t.0);
        let got = token_logprobs(&lp, LlamaToken(2), 3, name);
        let names: Vec<&str> = got.top.iter().map(|t| t.token.as_str()).collect();
        // Equal logits keep the lower id first.
        assert_eq!(names, ["t1", "t3", "t2"]);
        assert_eq!(got.chosen.token, "t2");
        assert!((got.chosen.logprob - f64::from(lp[2])).abs() < 1e-12);
        assert!(got.top.windows(2).all(|w| w[0].logprob >= w[1].logprob));
        // More than the vocabulary, or none.
        assert_eq!(token_logprobs(&lp, LlamaToken(0), 9, name).top.len(), 5);
        assert!(token_logprobs(&lp, LlamaToken(0), 0, name).top.is_empty());
        // A token outside the vocabulary has no probability.
        assert_eq!(
            token_logprobs(&lp, LlamaToken(7), 1, name).chosen.logprob,
            f64::NEG_INFINITY
        );
    }

    #[test]
    fn bad_sampling_options_are_refused() {
        let bad = GenParams {
            temperature: -1.0,
            ..GenParams::default()
        };
        assert!(sampler_for(&bad, 10, &[]).is_err());
        let bad = GenParams {
            top_p: 0.0,
            temperature: 0.5,
            ..GenParams::default()
        };
        assert!(sampler_for(&bad, 10, &[]).is_err());
    }
}
