//! `sizewise eval`: response quality on a task suite, for an in-process GGUF model or an
//! OpenAI-compatible chat endpoint, with each answer's latency, tokens and cost.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use sizewise_catalog::Catalog;
use sizewise_eval::{AnswerKind, Prepared, Role, Scored, Suite};
use sizewise_measure::RequestRecord;
use sizewise_store::{RunId, RunKind, RunStatus};

use crate::results::StoreArgs;

/// `sizewise eval`.
#[derive(Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:
  sizewise eval list
  sizewise eval --suite sentiment --gguf model.gguf
  sizewise eval --suite sentiment-pt-br http://127.0.0.1:8080/v1 --model my-model --limit 50
  sizewise eval --suite ./my_task.json --gguf model.gguf --scoring generate --export-samples s.jsonl
  sizewise eval compare 12 14"
)]
pub struct EvalArgs {
    #[command(subcommand)]
    action: Option<EvalAction>,
    #[command(flatten)]
    run: EvalRunArgs,
}

#[derive(Subcommand)]
enum EvalAction {
    /// The built-in suites: what each measures, its size, language and license.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Two eval runs of the same suite, item by item: is the difference real? (paired
    /// bootstrap over the items both runs scored)
    Compare {
        /// The first run's id (`sizewise runs list`).
        run_a: i64,
        /// The second run's id.
        run_b: i64,
        /// Seed of the bootstrap.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// How choice and label items are scored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scoring {
    /// Log-probabilities for choice and label suites on a GGUF model, and on an endpoint
    /// that offers them (first token only, when the answers begin with different letters);
    /// generation otherwise.
    Auto,
    /// The most likely candidate answer by log-probabilities: of the whole answer on a GGUF
    /// model; of the answer's first token (`top_logprobs`) on an endpoint.
    Logprob,
    /// Generate an answer and extract it from the text (strict and flexible).
    Generate,
}

/// How log-probability scores of label suites are corrected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Calibration {
    /// Batch calibration: subtract each label's mean log-probability over the items scored.
    Batch,
    /// The raw log-probabilities.
    None,
}

/// How a GGUF model sees each prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum PromptFormat {
    /// One plain text to continue.
    Text,
    /// Chat messages in the model's template (few-shot examples as earlier turns).
    Chat,
}

#[derive(Args)]
struct EvalRunArgs {
    /// A built-in suite (`sizewise eval list`), a sizewise suite JSON file, or a BIG-bench
    /// task JSON file.
    #[arg(long, value_name = "NAME|FILE", required = true)]
    suite: Option<String>,
    /// An OpenAI-compatible API base URL (e.g. http://127.0.0.1:8080/v1); needs --model.
    #[arg(
        value_name = "URL",
        conflicts_with = "gguf",
        required_unless_present = "gguf"
    )]
    url: Option<String>,
    /// A GGUF model run in process with llama.cpp.
    #[arg(long, value_name = "FILE")]
    gguf: Option<PathBuf>,
    /// The endpoint's model name; when it is also a catalog id with an API price, each
    /// answer's cost is computed from that price.
    #[arg(short, long, value_name = "NAME")]
    model: Option<String>,
    /// Price the answers as this catalog model's API (when --model is not a catalog id).
    #[arg(long, value_name = "CATALOG_ID")]
    price_as: Option<String>,
    /// Score only the first N items.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Few-shot examples per prompt [default: the suite's].
    #[arg(long, value_name = "K")]
    shots: Option<u32>,
    /// Seed of the few-shot draw and of the bootstrap; the same seed and target give the same
    /// score.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// How choice and label items are scored.
    #[arg(long, value_enum, default_value_t = Scoring::Auto)]
    scoring: Scoring,
    /// Log-probability scoring of suites whose items share their answers (labels, or the
    /// same choices for every item): batch calibration (each answer's mean log-probability
    /// over the items is subtracted; Zhou et al. 2024), or none. The JSON reports the
    /// uncalibrated score too.
    #[arg(long, value_enum, default_value_t = Calibration::Batch)]
    calibration: Calibration,
    /// How a GGUF model sees the prompt: as a conversation in its chat template, or as one
    /// plain text to continue (few-shot examples inline, as lm-evaluation-harness does
    /// without --apply_chat_template).
    #[arg(long, value_enum, default_value_t = PromptFormat::Text)]
    prompt_format: PromptFormat,
    /// Threads for a GGUF model [default: half the logical cores, at least 1].
    #[arg(long, value_name = "T")]
    threads: Option<u32>,
    /// Environment variable holding the endpoint's API key.
    #[arg(long, value_name = "VAR", default_value = "OPENAI_API_KEY")]
    api_key_env: String,
    /// Seconds one answer may take.
    #[arg(long, value_name = "S", default_value_t = 120.0)]
    timeout: f64,
    /// Write every item (prompt, output, extracted answer, correctness, latency, tokens,
    /// cost) as JSON Lines.
    #[arg(long, value_name = "FILE.jsonl")]
    export_samples: Option<PathBuf>,
    /// Do not save the run in the results store.
    #[arg(long)]
    no_store: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    store: StoreArgs,
}

/// Runs `sizewise eval`.
pub fn eval(catalog: &Catalog, args: EvalArgs) -> anyhow::Result<()> {
    match args.action {
        Some(EvalAction::List { json }) => list(json),
        Some(EvalAction::Compare {
            run_a,
            run_b,
            seed,
            json,
            store,
        }) => compare(&store, RunId(run_a), RunId(run_b), seed, json),
        None => run(catalog, args.run),
    }
}

fn list(json_out: bool) -> anyhow::Result<()> {
    let suites = sizewise_eval::builtin_list().context("reading the built-in suites")?;
    if json_out {
        return crate::table::print_json(&serde_json::to_value(&suites)?);
    }
    let mut t = crate::table::new(&["suite", "answer", "items", "language", "source", "license"]);
    for s in &suites {
        t.add_row(vec![
            s.id.clone(),
            s.kind.clone(),
            s.items.to_string(),
            s.language.clone(),
            s.source.clone(),
            s.license.clone(),
        ]);
    }
    println!("{t}");
    println!("Run one: sizewise eval --suite ID --gguf FILE  (or URL --model NAME)");
    Ok(())
}

/// Loads `name` as a built-in suite, else as a file.
/// A suite by built-in name or file path (also `simulate --answers`' and `route eval`'s).
pub(crate) fn load_suite(name: &str) -> anyhow::Result<Suite> {
    let path = Path::new(name);
    if path.exists() {
        return sizewise_eval::load_suite(path).with_context(|| format!("reading suite {name}"));
    }
    match sizewise_eval::builtin(name) {
        Ok(s) => Ok(s),
        Err(e) => {
            let known = sizewise_eval::builtin_list()
                .map(|l| l.into_iter().map(|s| s.id).collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            Err(anyhow::anyhow!(
                "{e}\n  hint: --suite takes a built-in suite ({known}) or a suite file"
            ))
        }
    }
}

/// What one answer cost in tokens, time and money.
#[derive(Debug, Default, Clone)]
struct Answered {
    /// The generated text (empty for log-probability scoring).
    text: String,
    /// Log-probabilities of the candidates (log-probability scoring).
    logprobs: Option<Vec<f64>>,
    prompt_tokens: Option<u64>,
    output_tokens: Option<u64>,
    seconds: f64,
    ttft_s: Option<f64>,
    finish_reason: Option<String>,
}

impl Answered {
    /// An item whose prompt does not fit the model's context: no answer, scored wrong.
    #[cfg_attr(not(feature = "llama"), allow(dead_code))]
    fn too_long(prompt_tokens: usize) -> Answered {
        Answered {
            prompt_tokens: Some(prompt_tokens as u64),
            output_tokens: Some(0),
            finish_reason: Some(CONTEXT_EXCEEDED.to_string()),
            ..Answered::default()
        }
    }
}

/// Where the first of `stops` begins in `text` after its leading whitespace, if it does.
#[cfg_attr(not(feature = "llama"), allow(dead_code))]
pub(crate) fn first_stop(text: &str, stops: &[String]) -> Option<usize> {
    let lead = text.len() - text.trim_start().len();
    stops
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text[lead..].find(s.as_str()).map(|at| lead + at))
        .min()
}

/// The finish reason of an item longer than the model's context window.
const CONTEXT_EXCEEDED: &str = "context_exceeded";

/// Where the prompts go.
trait Target {
    /// A short description for reports.
    fn name(&self) -> String;
    /// The context the target runs with, in tokens, when known.
    fn context_tokens(&self) -> Option<u32> {
        None
    }
    /// Whether candidates can be scored by log-probability; an endpoint is asked with
    /// `probe`, whose answer is not kept.
    fn offers_logprobs(&mut self, probe: &Prepared) -> bool;
    /// Whether log-probability scoring sees only the first token of an answer (an
    /// endpoint's `top_logprobs`), so that answers must begin differently.
    fn scores_first_token_only(&self) -> bool {
        false
    }
    /// Generates an answer.
    fn generate(&mut self, p: &Prepared) -> anyhow::Result<Answered>;
    /// Scores `p.continuations` by log-probability.
    fn logprobs(&mut self, p: &Prepared) -> anyhow::Result<Answered>;
}

struct Endpoint {
    url: String,
    model: String,
    client: sizewise_measure::OneAtATime,
    rt: tokio::runtime::Runtime,
}

impl Endpoint {
    fn connect(url: &str, model: &str, key: Option<&str>, timeout: f64) -> anyhow::Result<Self> {
        anyhow::ensure!(
            timeout.is_finite() && timeout > 0.0,
            "--timeout must be a positive number of seconds"
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let client = rt.block_on(sizewise_measure::OneAtATime::new(
            url,
            sizewise_measure::Endpoint::Chat,
            key,
            None,
            Duration::from_secs_f64(timeout),
        ))?;
        Ok(Endpoint {
            url: url.to_string(),
            model: model.to_string(),
            client,
            rt,
        })
    }
}

impl Target for Endpoint {
    fn name(&self) -> String {
        format!("{} at {}", self.model, self.url)
    }

    fn offers_logprobs(&mut self, probe: &Prepared) -> bool {
        self.logprobs(probe).is_ok()
    }

    fn scores_first_token_only(&self) -> bool {
        true
    }

    fn generate(&mut self, p: &Prepared) -> anyhow::Result<Answered> {
        let mut body = self.body(p, p.max_tokens);
        if !p.stop.is_empty() {
            body["stop"] = json!(p.stop.iter().take(4).collect::<Vec<_>>());
        }
        let rec = self.send(p, &body)?;
        Ok(Answered {
            text: rec.text.clone(),
            logprobs: None,
            ..Endpoint::answered(&rec)
        })
    }

    /// One token with the 20 most likely alternatives (OpenAI's most); the candidates are
    /// scored by the alternatives that begin them.
    fn logprobs(&mut self, p: &Prepared) -> anyhow::Result<Answered> {
        let mut body = self.body(p, 1);
        body["logprobs"] = json!(true);
        body["top_logprobs"] = json!(TOP_LOGPROBS);
        let rec = self.send(p, &body)?;
        let Some(first) = rec.logprobs.first() else {
            anyhow::bail!(
                "item {}: the endpoint sent no log-probabilities (it may not offer `logprobs`)\n  hint: use --scoring generate",
                p.id
            );
        };
        let entry = |v: &Value| Some((v["token"].as_str()?.to_string(), v["logprob"].as_f64()?));
        let mut top: Vec<(String, f64)> = first["top_logprobs"]
            .as_array()
            .map(|a| a.iter().filter_map(entry).collect())
            .unwrap_or_default();
        let chosen = entry(first);
        if let Some(c) = &chosen
            && !top.iter().any(|(t, _)| *t == c.0)
        {
            top.push(c.clone());
        }
        anyhow::ensure!(
            !top.is_empty(),
            "item {}: the endpoint's log-probabilities are not in OpenAI's form (`token`, `logprob`, `top_logprobs`): {}",
            p.id,
            truncate(&first.to_string(), 200)
        );
        Ok(Answered {
            text: chosen.map(|c| c.0).unwrap_or_default(),
            logprobs: Some(sizewise_eval::first_token_scores(&p.continuations, &top)),
            ..Endpoint::answered(&rec)
        })
    }
}

/// How many alternatives of an answer's first token an endpoint is asked for.
const TOP_LOGPROBS: u32 = 20;

/// `text` cut to at most `max` bytes, on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The chat messages of `p`: its system message, then its turns.
pub(crate) fn chat_messages(p: &Prepared) -> Vec<Value> {
    let mut messages = Vec::with_capacity(p.messages.len() + 1);
    if let Some(system) = &p.system {
        messages.push(json!({"role": "system", "content": system}));
    }
    for m in &p.messages {
        let role = match m.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        messages.push(json!({"role": role, "content": m.content}));
    }
    messages
}

impl Endpoint {
    /// A streamed, greedy chat request for `p` of at most `max_tokens` tokens.
    fn body(&self, p: &Prepared, max_tokens: u32) -> Value {
        let messages = chat_messages(p);
        json!({
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": 0,
            "stream": true,
            "stream_options": {"include_usage": true},
        })
    }

    /// Sends `body` for item `p`; a failed request is an error naming the item.
    fn send(&mut self, p: &Prepared, body: &Value) -> anyhow::Result<RequestRecord> {
        let max_tokens = body["max_tokens"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(p.max_tokens);
        let rec = self.rt.block_on(self.client.send(body, max_tokens));
        if let Some(e) = &rec.error {
            anyhow::bail!("item {}: the endpoint failed: {}", p.id, e.message);
        }
        Ok(rec)
    }

    /// The tokens, time and finish reason of a completed request.
    fn answered(rec: &RequestRecord) -> Answered {
        let ttft = rec
            .events
            .iter()
            .find(|e| e.kind.is_token())
            .map(|e| e.t_ns as f64 / 1e9);
        Answered {
            text: String::new(),
            logprobs: None,
            prompt_tokens: rec.usage.as_ref().and_then(|u| u.prompt_tokens),
            output_tokens: rec.usage.as_ref().and_then(|u| u.completion_tokens),
            seconds: rec.end_ns as f64 / 1e9,
            ttft_s: ttft,
            finish_reason: rec.finish_reason.clone(),
        }
    }
}

#[cfg(feature = "llama")]
mod local {
    use std::ops::ControlFlow;
    use std::path::Path;
    use std::time::Instant;

    use anyhow::Context;
    use sizewise_engine::{ChatMessage, Engine, EngineError, GenParams, LoadOptions, Prompt};
    use sizewise_eval::{Prepared, Role};

    use super::{Answered, Target, first_stop};

    /// A GGUF model in process.
    pub struct Gguf {
        engine: Engine,
        name: String,
        chat: bool,
    }

    impl Gguf {
        /// Loads `path` with a context of `want` tokens, or the model's training context
        /// when that is shorter: a longer prompt is then an item the model cannot answer.
        pub fn load(
            path: &Path,
            threads: Option<u32>,
            want: u32,
            chat: bool,
        ) -> anyhow::Result<Gguf> {
            let file = sizewise_gguf::GgufFile::open(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let trained = file
                .architecture()
                .context_length
                .and_then(|n| u32::try_from(n).ok())
                .filter(|&n| n > 0)
                .unwrap_or(4096);
            let mut options = LoadOptions {
                context_tokens: Some(want.clamp(512, trained.max(512))),
                ..LoadOptions::default()
            };
            if let Some(t) = threads {
                anyhow::ensure!(t >= 1, "--threads must be at least 1");
                options.threads = t;
            }
            let engine = Engine::load(path, options)
                .with_context(|| format!("loading {}", path.display()))?;
            let name = engine
                .info()
                .name
                .clone()
                .unwrap_or_else(|| path.display().to_string());
            Ok(Gguf { engine, name, chat })
        }

        fn prompt(&self, p: &Prepared) -> Prompt {
            if !self.chat {
                return Prompt::Text(p.text.clone());
            }
            let mut messages = Vec::with_capacity(p.messages.len() + 1);
            if let Some(system) = &p.system {
                messages.push(ChatMessage::new("system", system.clone()));
            }
            for m in &p.messages {
                let role = match m.role {
                    Role::User => "user",
                    Role::Assistant => "assistant",
                };
                messages.push(ChatMessage::new(role, m.content.clone()));
            }
            Prompt::Chat(messages)
        }
    }

    impl Target for Gguf {
        fn name(&self) -> String {
            format!("{} (GGUF, llama.cpp in process)", self.name)
        }

        fn offers_logprobs(&mut self, _probe: &Prepared) -> bool {
            true
        }

        fn context_tokens(&self) -> Option<u32> {
            Some(self.engine.info().context_tokens)
        }

        fn generate(&mut self, p: &Prepared) -> anyhow::Result<Answered> {
            // Stop sequences count only once the answer has begun: a small model often
            // opens with a blank line, which a "\n\n" stop would turn into no answer.
            let params = GenParams {
                max_tokens: p.max_tokens,
                reuse_prefix: true,
                ..GenParams::default()
            };
            let mut seen = String::new();
            let stopped = |text: &str| first_stop(text, &p.stop).is_some();
            let g = match self.engine.generate(&self.prompt(p), &params, |piece| {
                seen.push_str(piece);
                if stopped(&seen) {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            }) {
                Err(EngineError::PromptTooLong { prompt_tokens, .. }) => {
                    return Ok(Answered::too_long(prompt_tokens));
                }
                other => other.with_context(|| format!("item {}", p.id))?,
            };
            let (text, finish) = match first_stop(&g.text, &p.stop) {
                Some(at) => (g.text[..at].to_string(), "stop".to_string()),
                None => (g.text, g.finish_reason.as_openai().to_string()),
            };
            Ok(Answered {
                text,
                logprobs: None,
                prompt_tokens: Some(g.prompt_tokens as u64),
                output_tokens: Some(g.output_tokens as u64),
                seconds: g.timings.total_s,
                ttft_s: g.timings.ttft_s,
                finish_reason: Some(finish),
            })
        }

        fn logprobs(&mut self, p: &Prepared) -> anyhow::Result<Answered> {
            let started = Instant::now();
            let prompt = self.prompt(p);
            // In a chat the answer opens the assistant's turn: no leading space.
            let candidates: Vec<&str> = p
                .continuations
                .iter()
                .map(|c| {
                    if self.chat {
                        c.trim_start()
                    } else {
                        c.as_str()
                    }
                })
                .collect();
            let scores = match self.engine.next_token_logprobs(&prompt, &candidates) {
                Err(EngineError::PromptTooLong { prompt_tokens, .. }) => {
                    return Ok(Answered::too_long(prompt_tokens));
                }
                other => other.with_context(|| format!("item {}", p.id))?,
            };
            let prompt_tokens = self.engine.prompt_tokens(&prompt).ok().map(|n| n as u64);
            Ok(Answered {
                text: String::new(),
                logprobs: Some(scores),
                prompt_tokens,
                output_tokens: Some(0),
                seconds: started.elapsed().as_secs_f64(),
                ttft_s: None,
                finish_reason: None,
            })
        }
    }
}

/// The target of `args`; a GGUF model gets a context of `want_context` tokens where it can.
fn open_target(args: &EvalRunArgs, want_context: u32) -> anyhow::Result<Box<dyn Target>> {
    if let Some(path) = &args.gguf {
        #[cfg(feature = "llama")]
        {
            return Ok(Box::new(local::Gguf::load(
                path,
                args.threads,
                want_context,
                args.prompt_format == PromptFormat::Chat,
            )?));
        }
        #[cfg(not(feature = "llama"))]
        {
            let _ = want_context;
            anyhow::bail!(
                "this sizewise was built without the in-process engine, so it cannot run {}\n  hint: build with `--features llama` (needs cmake and libclang), or serve the model and pass its URL",
                path.display()
            );
        }
    }
    let Some(url) = &args.url else {
        anyhow::bail!("give a target: --gguf FILE, or an endpoint URL with --model NAME");
    };
    let Some(model) = &args.model else {
        anyhow::bail!(
            "an endpoint needs --model NAME (the model name the server expects)\n  hint: `curl {url}/models` lists them"
        );
    };
    let key = std::env::var(&args.api_key_env).ok();
    Ok(Box::new(Endpoint::connect(
        url,
        model,
        key.as_deref(),
        args.timeout,
    )?))
}

/// USD per 1M input and output tokens, with where the price comes from.
struct Price {
    input: f64,
    output: f64,
    label: String,
}

fn price(catalog: &Catalog, args: &EvalRunArgs) -> anyhow::Result<Option<Price>> {
    let id = match (&args.price_as, &args.model, &args.gguf) {
        (Some(id), _, _) => Some(id.as_str()),
        (None, Some(m), None) => Some(m.as_str()),
        _ => None,
    };
    let Some(id) = id else { return Ok(None) };
    let model = match catalog.model(id) {
        Ok(m) => m,
        Err(e) if args.price_as.is_some() => return Err(e).context("--price-as"),
        Err(_) => return Ok(None),
    };
    Ok(model.api.as_ref().map(|p| Price {
        input: p.input_usd_per_mtok,
        output: p.output_usd_per_mtok,
        label: format!("{} API price ({}, as of {})", model.id, p.provider, p.as_of),
    }))
}

fn run(catalog: &Catalog, args: EvalRunArgs) -> anyhow::Result<()> {
    let Some(suite_name) = &args.suite else {
        anyhow::bail!(
            "--suite NAME|FILE is required (`sizewise eval list` shows the built-in ones)"
        );
    };
    let suite = load_suite(suite_name)?;
    if args.limit == Some(0) {
        anyhow::bail!("--limit must be at least 1");
    }
    let prepared = sizewise_eval::prepare(&suite, args.shots, args.seed, args.limit)
        .with_context(|| format!("preparing the prompts of {}", suite.id))?;
    anyhow::ensure!(!prepared.is_empty(), "suite {} has no items", suite.id);
    let price = price(catalog, &args)?;
    // Room for the longest prompt (at most one token per two characters) and its answer.
    let want_context = prepared
        .iter()
        .map(|p| p.text.len() / 2 + p.max_tokens as usize + 64)
        .max()
        .unwrap_or(4096)
        .clamp(4096, 32_768);
    let mut target = open_target(&args, u32::try_from(want_context).unwrap_or(32_768))?;
    let choice_kind = matches!(suite.answer, AnswerKind::Label { .. } | AnswerKind::Choice);
    // An endpoint's log-probabilities cover the first token only: the item's answers must
    // begin with different letters for a token to point at one of them.
    let alike = if target.scores_first_token_only() {
        prepared
            .iter()
            .find(|p| !sizewise_eval::first_tokens_tell_apart(&p.continuations))
    } else {
        None
    };
    let by_logprob = match args.scoring {
        Scoring::Generate => false,
        Scoring::Logprob => {
            anyhow::ensure!(
                choice_kind,
                "--scoring logprob needs a label or choice suite; {} answers with {}",
                suite.id,
                suite.answer.name()
            );
            if let Some(p) = alike {
                anyhow::bail!(
                    "--scoring logprob on an endpoint scores the first token of an answer, and item {} of {} has answers that begin alike ({})\n  hint: use --scoring generate, or a GGUF model, which scores whole answers",
                    p.id,
                    suite.id,
                    p.continuations
                        .iter()
                        .map(|c| c.trim())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            if let Some(first) = prepared.first() {
                target.logprobs(first).context(
                    "--scoring logprob needs log-probabilities, and the first item got none",
                )?;
            }
            true
        }
        Scoring::Auto => {
            choice_kind
                && alike.is_none()
                && prepared.first().is_some_and(|p| target.offers_logprobs(p))
        }
    };
    let scoring = if by_logprob { "logprob" } else { "generate" };
    // What the log-probabilities cover, for whoever compares two runs.
    let logprob_scope = by_logprob.then(|| {
        if target.scores_first_token_only() {
            "first_token"
        } else {
            "whole_answer"
        }
    });
    // Small models favour one label whatever the input. Batch calibration (Zhou et al.
    // 2024, "Batch Calibration", ICLR) subtracts each label's mean log-probability over the
    // items scored, so the decision rests on how an item differs from the others. It uses no
    // gold label. It needs the same answers for every item: a label suite, or a choice
    // suite whose items all offer the same choices (yes/no, plausible/implausible).
    let same_answers = match suite.answer {
        AnswerKind::Label { .. } => true,
        AnswerKind::Choice => {
            // The same choices in any order: BIG-bench files list them item by item.
            let mut sets = prepared
                .iter()
                .filter_map(|p| suite.item(p.index))
                .map(|item| {
                    let mut c = suite.candidates(item).to_vec();
                    c.sort();
                    c
                });
            sets.next()
                .is_some_and(|first| !first.is_empty() && sets.all(|c| c == first))
        }
        _ => false,
    };
    let calibrate = by_logprob && same_answers && args.calibration == Calibration::Batch;

    let store = if args.no_store {
        None
    } else {
        Some(args.store.open()?)
    };
    let target_name = target.name();
    let params = json!({
        "suite": suite.id,
        "suite_origin": suite.origin,
        "shots": args.shots.unwrap_or(suite.shots),
        "seed": args.seed,
        "limit": args.limit,
        "scoring": scoring,
        "logprob_scope": logprob_scope,
        "calibration": if calibrate { "batch" } else { "none" },
        "prompt_format": args.gguf.as_ref().map(|_| format!("{:?}", args.prompt_format).to_lowercase()),
        "gguf": args.gguf.as_ref().map(|p| p.display().to_string()),
        "url": args.url,
        "model": args.model,
    });
    let run = match &store {
        Some(s) => Some(
            s.begin(
                RunKind::Eval,
                &target_name,
                &params,
                env!("CARGO_PKG_VERSION"),
            )
            .context("saving the run")?,
        ),
        None => None,
    };
    let mut export = match &args.export_samples {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => None,
    };

    let interrupt = crate::interrupt::InterruptFlag::install();
    let pb = ProgressBar::new(prepared.len() as u64);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} eval {msg} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_message(suite.id.clone());
    pb.enable_steady_tick(Duration::from_millis(150));
    let started = Instant::now();
    let mut answers: Vec<(&Prepared, Answered)> = Vec::with_capacity(prepared.len());
    // An item that fails (an endpoint that errs or times out) ends the run; the items
    // already answered are still scored and saved.
    let mut failure: Option<anyhow::Error> = None;
    for p in &prepared {
        if interrupt.is_set() {
            break;
        }
        let answered = if by_logprob {
            target.logprobs(p)
        } else {
            target.generate(p)
        };
        match answered {
            Ok(a) => answers.push((p, a)),
            Err(e) if answers.is_empty() => return Err(e),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
        pb.inc(1);
    }
    // Batch calibration: each answer's mean log-probability over the items answered, by
    // the answer's text (items may list their choices in different orders).
    let offsets: Option<std::collections::HashMap<String, f64>> = calibrate.then(|| {
        let mut sums: std::collections::HashMap<String, (f64, usize)> = Default::default();
        for (p, a) in &answers {
            let (Some(lp), Some(item)) = (&a.logprobs, suite.item(p.index)) else {
                continue;
            };
            // An item without an answer (no candidate among an endpoint's first tokens)
            // has NaN scores and says nothing of the labels' means.
            if lp.iter().any(|x| !x.is_finite()) {
                continue;
            }
            for (c, x) in suite.candidates(item).iter().zip(lp) {
                let e = sums.entry(c.clone()).or_default();
                e.0 += x;
                e.1 += 1;
            }
        }
        sums.into_iter()
            .map(|(c, (sum, n))| (c, sum / n.max(1) as f64))
            .collect()
    });
    let mut scored: Vec<Scored> = Vec::with_capacity(answers.len());
    let mut uncalibrated: Vec<Scored> = Vec::new();
    let mut rows = Vec::with_capacity(answers.len());
    let mut totals = Totals::default();
    for (p, answered) in &answers {
        let Some(item) = suite.item(p.index) else {
            continue;
        };
        let calibrated: Option<Vec<f64>> = match (&answered.logprobs, &offsets) {
            (Some(lp), Some(off)) => suite
                .candidates(item)
                .iter()
                .zip(lp)
                .map(|(c, x)| off.get(c).map(|m| x - m))
                .collect(),
            _ => None,
        };
        let s = match (&answered.logprobs, &calibrated) {
            (_, Some(c)) => sizewise_eval::score_logprobs(&suite, item, c),
            (Some(lp), None) => sizewise_eval::score_logprobs(&suite, item, lp),
            (None, _) => Ok(sizewise_eval::score_text(&suite, item, &answered.text)),
        }
        .with_context(|| format!("scoring item {}", p.id))?;
        if let (Some(lp), Some(_)) = (&answered.logprobs, &calibrated) {
            uncalibrated.push(
                sizewise_eval::score_logprobs(&suite, item, lp)
                    .with_context(|| format!("scoring item {}", p.id))?,
            );
        }
        let cost = price.as_ref().map(|pr| {
            (answered.prompt_tokens.unwrap_or(0) as f64 * pr.input
                + answered.output_tokens.unwrap_or(0) as f64 * pr.output)
                / 1e6
        });
        totals.add(answered, cost);
        let row = json!({
            "index": p.index,
            "id": p.id,
            "shots": p.shots,
            "prompt": p.text,
            "output": answered.text,
            "logprobs": answered.logprobs,
            "calibrated_logprobs": calibrated,
            "target": suite.answer_text(item),
            "strict": s.strict,
            "flexible": s.flexible,
            "norm": s.norm,
            "correct": s.flexible.correct,
            "value": s.flexible.value,
            "seconds": answered.seconds,
            "ttft_s": answered.ttft_s,
            "prompt_tokens": answered.prompt_tokens,
            "output_tokens": answered.output_tokens,
            "finish_reason": answered.finish_reason,
            "cost_usd": cost,
        });
        if let Some(w) = export.as_mut() {
            writeln!(w, "{row}").context("writing --export-samples")?;
        }
        rows.push(row);
        scored.push(s);
    }
    pb.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    if let Some(w) = export.as_mut() {
        w.flush().context("writing --export-samples")?;
    }
    let cancelled = interrupt.is_set();
    anyhow::ensure!(
        !scored.is_empty(),
        "interrupted before any item was scored; nothing was saved"
    );
    let summary = sizewise_eval::summarize(&suite, &scored, args.seed)
        .with_context(|| format!("summarizing {}", suite.id))?;
    let metric = summary.metric.clone();
    let mut v = json!({
        "suite": suite.id,
        "suite_title": suite.title,
        "suite_origin": suite.origin,
        "target": target_name,
        "scoring": scoring,
        "logprob_scope": logprob_scope,
        "metric": metric,
        "n": summary.n,
        "score": summary.score,
        "stderr": summary.stderr,
        "ci95": summary.ci95,
        "strict": summary.strict,
        "norm": summary.norm,
        "no_answer": {"strict": summary.no_answer_strict, "flexible": summary.no_answer_flexible},
        "shots": args.shots.unwrap_or(suite.shots),
        "seed": args.seed,
        "seconds": seconds,
        "seconds_per_item": seconds / scored.len() as f64,
        "answer_seconds": {"mean": totals.seconds / scored.len() as f64, "max": totals.max_seconds},
        "ttft_ms_mean": totals.ttft_mean().map(|s| s * 1e3),
        "prompt_tokens": totals.prompt_tokens,
        "output_tokens": totals.output_tokens,
        "cost_usd": price.as_ref().map(|_| totals.cost),
        "price": price.as_ref().map(|p| p.label.clone()),
        "context_tokens": target.context_tokens(),
        "items_over_context": totals.too_long,
        "cancelled": cancelled,
        "items_in_suite": suite.items.len(),
        "items_skipped_on_load": suite.skipped.len(),
    });
    if metric == "accuracy" {
        v["accuracy"] = json!(summary.score);
    }
    v["calibration"] = json!(if calibrate { "batch" } else { "none" });
    if calibrate && uncalibrated.len() == scored.len() {
        let raw = sizewise_eval::summarize(&suite, &uncalibrated, args.seed)
            .with_context(|| format!("summarizing {}", suite.id))?;
        v["uncalibrated"] = json!({"score": raw.score, "stderr": raw.stderr, "ci95": raw.ci95});
    }
    if let Some(run) = run {
        run.add_rows(&rows).context("saving the items")?;
        let status = if cancelled || failure.is_some() {
            RunStatus::Incomplete
        } else {
            RunStatus::Complete
        };
        let id = run.finish(status, Some(&v)).context("saving the run")?;
        v["run_id"] = json!(id.0);
    } else {
        v["run_id"] = Value::Null;
    }
    if args.json {
        crate::table::print_json(&v)?;
    } else {
        print_summary(&v);
    }
    if let Some(e) = failure {
        return Err(e.context(format!(
            "stopped after {} of {} items; those are scored above{}",
            scored.len(),
            prepared.len(),
            v["run_id"]
                .as_i64()
                .map(|id| format!(" and saved as incomplete run {id}"))
                .unwrap_or_default()
        )));
    }
    if cancelled {
        eprintln!(
            "interrupted: {} of {} items scored",
            scored.len(),
            prepared.len()
        );
        std::process::exit(130);
    }
    Ok(())
}

#[derive(Default)]
struct Totals {
    seconds: f64,
    max_seconds: f64,
    ttft_sum: f64,
    ttft_n: usize,
    prompt_tokens: u64,
    output_tokens: u64,
    cost: f64,
    /// Items longer than the target's context window.
    too_long: usize,
}

impl Totals {
    fn add(&mut self, a: &Answered, cost: Option<f64>) {
        self.seconds += a.seconds;
        self.max_seconds = self.max_seconds.max(a.seconds);
        if let Some(t) = a.ttft_s {
            self.ttft_sum += t;
            self.ttft_n += 1;
        }
        self.prompt_tokens += a.prompt_tokens.unwrap_or(0);
        self.output_tokens += a.output_tokens.unwrap_or(0);
        self.cost += cost.unwrap_or(0.0);
        if a.finish_reason.as_deref() == Some(CONTEXT_EXCEEDED) {
            self.too_long += 1;
        }
    }

    fn ttft_mean(&self) -> Option<f64> {
        (self.ttft_n > 0).then(|| self.ttft_sum / self.ttft_n as f64)
    }
}

fn print_summary(v: &Value) {
    let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    println!(
        "{} on {} ({} items, {} scoring, {} shots)",
        v["target"].as_str().unwrap_or("?"),
        v["suite"].as_str().unwrap_or("?"),
        v["n"],
        v["scoring"].as_str().unwrap_or("?"),
        v["shots"],
    );
    let ci = &v["ci95"];
    println!(
        "  {}: {:.3} ± {:.3} (95% CI {:.3} to {:.3})",
        v["metric"].as_str().unwrap_or("score"),
        f("score"),
        f("stderr"),
        ci[0].as_f64().unwrap_or(f64::NAN),
        ci[1].as_f64().unwrap_or(f64::NAN),
    );
    if let Some(s) = v["strict"]["score"].as_f64()
        && v["scoring"] == "generate"
    {
        println!(
            "  flexible answer extraction (the score above); strict {s:.3}; no answer found in {} outputs",
            v["no_answer"]["flexible"]
        );
    }
    println!(
        "  {:.1} s in all, {:.2} s per item; {} prompt and {} output tokens",
        f("seconds"),
        f("seconds_per_item"),
        v["prompt_tokens"],
        v["output_tokens"],
    );
    if let Some(n) = v["items_over_context"].as_u64().filter(|&n| n > 0) {
        println!(
            "  {n} items did not fit the model's context of {} tokens and count as wrong",
            v["context_tokens"]
        );
    }
    if let Some(c) = v["cost_usd"].as_f64() {
        println!(
            "  cost ${c:.4} at {}",
            v["price"].as_str().unwrap_or("the catalog price")
        );
    }
    match v["run_id"].as_i64() {
        Some(id) => println!(
            "  saved as run {id}: `sizewise runs show {id}`, `sizewise eval compare {id} OTHER`"
        ),
        None => println!("  not saved (--no-store)"),
    }
}

/// Per-item values of an eval run, by item id.
fn item_values(
    store: &sizewise_store::Store,
    id: RunId,
) -> anyhow::Result<(Value, Vec<(String, f64)>)> {
    let run = store
        .get_run(id)?
        .with_context(|| format!("no run {} in {}", id.0, store.path().display()))?;
    anyhow::ensure!(
        run.info.kind == RunKind::Eval,
        "run {} is a {} run, not an eval run",
        id.0,
        run.info.kind.as_str()
    );
    let mut values = Vec::new();
    for row in store.rows(id)? {
        if let (Some(item), Some(v)) = (row["id"].as_str(), row["value"].as_f64()) {
            values.push((item.to_string(), v));
        }
    }
    Ok((run.params.clone(), values))
}

fn compare(store: &StoreArgs, a: RunId, b: RunId, seed: u64, json_out: bool) -> anyhow::Result<()> {
    let store = store.open()?;
    let (pa, va) = item_values(&store, a)?;
    let (pb, vb) = item_values(&store, b)?;
    anyhow::ensure!(
        pa["suite"] == pb["suite"],
        "run {} is on suite {} and run {} on suite {}: compare runs of one suite",
        a.0,
        pa["suite"],
        b.0,
        pb["suite"]
    );
    let by_id: std::collections::HashMap<&str, f64> =
        vb.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let (xs, ys): (Vec<f64>, Vec<f64>) = va
        .iter()
        .filter_map(|(k, x)| by_id.get(k.as_str()).map(|y| (*x, *y)))
        .unzip();
    anyhow::ensure!(
        !xs.is_empty(),
        "runs {} and {} share no scored item",
        a.0,
        b.0
    );
    let p =
        sizewise_eval::paired_bootstrap(&xs, &ys, seed, 10_000).context("comparing the runs")?;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let real = p.ci95[0] > 0.0 || p.ci95[1] < 0.0;
    let v = json!({
        "suite": pa["suite"],
        "run_a": a.0,
        "run_b": b.0,
        "n": xs.len(),
        "score_a": mean(&xs),
        "score_b": mean(&ys),
        "difference": p.mean_diff,
        "ci95": p.ci95,
        "p_value": p.p_value,
        "significant": real,
    });
    if json_out {
        return crate::table::print_json(&v);
    }
    println!(
        "{} items of {} scored by both runs: run {} {:.3}, run {} {:.3}",
        xs.len(),
        pa["suite"].as_str().unwrap_or("?"),
        a.0,
        mean(&xs),
        b.0,
        mean(&ys)
    );
    println!(
        "  difference (A - B) {:+.3}, 95% CI {:+.3} to {:+.3}, p = {:.3} (paired bootstrap)",
        p.mean_diff, p.ci95[0], p.ci95[1], p.p_value
    );
    println!(
        "  {}",
        if real {
            "the difference is real at the 95% level"
        } else {
            "the difference is within the noise: the interval includes zero"
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::first_stop;

    #[test]
    fn a_stop_counts_only_after_the_answer_begins() {
        let stops = vec!["\n\n".to_string(), "Problem:".to_string()];
        assert_eq!(first_stop("\n\n42\n\nProblem: x", &stops), Some(4));
        assert_eq!(first_stop("  7 Problem:", &stops), Some(4));
        assert_eq!(first_stop("\n\n", &stops), None);
        assert_eq!(first_stop("42", &stops), None);
        assert_eq!(first_stop("42\n\n", &[String::new()]), None);
    }
}
