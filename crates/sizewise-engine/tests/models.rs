//! Tests against the real small models that `scripts/fetch-test-models.sh` puts in
//! `$SIZEWISE_MODELS_DIR` or `<repo>/.cache/models`. Each test says it skipped and passes
//! when its model is missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock};

use sizewise_engine::{
    ChatFormat, Engine, EngineError, FinishReason, GenParams, LoadOptions, Prompt,
};

const SMOLLM2: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
const GEMMA3: &str = "gemma-3-270m-q4_k_m.gguf";

fn model_path(file: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("SIZEWISE_MODELS_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/models"),
    };
    let path = dir.join(file);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "skipped: {} not found; run scripts/fetch-test-models.sh",
            path.display()
        );
        None
    }
}

fn options() -> LoadOptions {
    LoadOptions {
        threads: 1,
        context_tokens: Some(1024),
        ..LoadOptions::default()
    }
}

/// One SmolLM2 engine shared by the tests of this file: loading it once keeps them fast, and
/// the lock runs them one at a time (on a 2-core machine parallel decoding only thrashes).
fn smollm2() -> Option<MutexGuard<'static, Engine>> {
    static ENGINE: OnceLock<Option<Mutex<Engine>>> = OnceLock::new();
    let engine = ENGINE.get_or_init(|| {
        let path = model_path(SMOLLM2)?;
        match Engine::load(&path, options()) {
            Ok(engine) => Some(Mutex::new(engine)),
            Err(err) => panic!("loading {}: {err}", path.display()),
        }
    });
    engine
        .as_ref()
        .map(|m| m.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
}

fn greedy(max_tokens: u32) -> GenParams {
    GenParams {
        max_tokens,
        ..GenParams::default()
    }
}

fn run(
    engine: &mut Engine,
    prompt: &Prompt,
    params: &GenParams,
) -> (sizewise_engine::Generation, Vec<String>) {
    let mut pieces = Vec::new();
    let generation = engine
        .generate(prompt, params, |piece| {
            pieces.push(piece.to_string());
            ControlFlow::Continue(())
        })
        .unwrap();
    (generation, pieces)
}

#[test]
fn smollm2_loads_with_its_facts() {
    let Some(engine) = smollm2() else { return };
    let info = engine.info();
    assert_eq!(info.architecture.as_deref(), Some("llama"));
    assert!(info.model_bytes > 90_000_000, "{info:?}");
    assert!(info.parameters > 100_000_000, "{info:?}");
    assert!(info.load_s > 0.0);
    assert_eq!(info.context_tokens, 1024);
    assert_eq!(info.threads, 1);
    assert!(
        matches!(engine.chat_format(), ChatFormat::Gguf { template } if template.contains("im_start")),
        "{:?}",
        engine.chat_format()
    );
}

#[test]
fn greedy_generation_is_deterministic() {
    let Some(mut engine) = smollm2() else { return };
    let prompt = Prompt::text("Once upon a time");
    let (a, _) = run(&mut engine, &prompt, &greedy(16));
    let (b, _) = run(&mut engine, &prompt, &greedy(16));
    assert_eq!(a.text, b.text);
    assert!(!a.text.is_empty());
    assert_eq!(a.output_tokens, 16, "{a:?}");
    assert_eq!(a.finish_reason, FinishReason::Length);
    assert!(a.timings.ttft_s.is_some());
    assert_eq!(a.timings.decode_step_s.len(), 15);
    assert!(a.timings.decode_tokens_per_s().is_some_and(|r| r > 0.0));
}

#[test]
fn a_reused_prefix_gives_the_same_text_and_skips_its_tokens() {
    let Some(mut engine) = smollm2() else { return };
    let shared = "Review: a dull, overlong film.\nSentiment: negative\nReview: ";
    let reuse = GenParams {
        reuse_prefix: true,
        ..greedy(6)
    };
    let cold = |engine: &mut Engine, text: &str| run(engine, &Prompt::text(text), &greedy(6)).0;
    for item in ["a joyful, moving story.", "boring from start to end."] {
        let prompt = format!("{shared}{item}\nSentiment:");
        let expected = cold(&mut engine, &prompt);
        assert_eq!(expected.reused_prompt_tokens, 0);
        // Twice with reuse: the first call after a cold one may keep its whole prompt but one.
        let (first, _) = run(&mut engine, &Prompt::text(prompt.clone()), &reuse);
        let (again, _) = run(&mut engine, &Prompt::text(prompt), &reuse);
        assert_eq!(first.text, expected.text);
        assert_eq!(again.text, expected.text);
        assert_eq!(again.reused_prompt_tokens, again.prompt_tokens - 1);
    }
    // A different item after the shared prefix keeps that prefix only.
    let (a, _) = run(
        &mut engine,
        &Prompt::text(format!("{shared}great fun.\nSentiment:")),
        &reuse,
    );
    let (b, _) = run(
        &mut engine,
        &Prompt::text(format!("{shared}awful acting.\nSentiment:")),
        &reuse,
    );
    assert!(a.prompt_tokens > 0);
    assert!(
        b.reused_prompt_tokens > 10 && b.reused_prompt_tokens < b.prompt_tokens - 1,
        "{b:?}"
    );
    let fresh = cold(&mut engine, &format!("{shared}awful acting.\nSentiment:"));
    assert_eq!(b.text, fresh.text);
}

#[test]
fn streamed_pieces_make_the_text_and_tokens_are_counted() {
    let Some(mut engine) = smollm2() else { return };
    let prompt = Prompt::text("The three primary colors are");
    let (generation, pieces) = run(&mut engine, &prompt, &greedy(24));
    assert_eq!(pieces.concat(), generation.text);
    assert!(pieces.len() > 1);
    assert_eq!(generation.output_tokens, 24);
    // Re-tokenizing the text gives back about as many tokens as were generated.
    let recount = engine.count_tokens(&generation.text);
    assert!(
        recount.abs_diff(generation.output_tokens) <= 2,
        "{recount} vs {}: {:?}",
        generation.output_tokens,
        generation.text
    );
    assert_eq!(
        generation.prompt_tokens,
        engine.prompt_tokens(&prompt).unwrap()
    );
}

#[test]
fn a_stop_sequence_stops_and_is_left_out() {
    let Some(mut engine) = smollm2() else { return };
    let prompt = Prompt::text("Count: 1, 2, 3, 4, 5,");
    let (free, _) = run(&mut engine, &prompt, &greedy(16));
    assert!(free.text.contains(" 7"), "{:?}", free.text);
    let params = GenParams {
        stop: vec![" 7".to_string()],
        ..greedy(16)
    };
    let (stopped, pieces) = run(&mut engine, &prompt, &params);
    assert_eq!(stopped.finish_reason, FinishReason::Stop);
    let cut = free.text.find(" 7").unwrap();
    assert_eq!(stopped.text, free.text[..cut]);
    assert_eq!(pieces.concat(), stopped.text);
    assert!(stopped.output_tokens < free.output_tokens);
}

#[test]
fn cancelling_from_the_callback_ends_generation() {
    let Some(mut engine) = smollm2() else { return };
    let mut seen = 0;
    let generation = engine
        .generate(&Prompt::text("Hello"), &greedy(32), |_| {
            seen += 1;
            if seen == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(generation.finish_reason, FinishReason::Cancelled);
    assert!(generation.output_tokens <= 4, "{generation:?}");
}

#[test]
fn sampling_is_seeded() {
    let Some(mut engine) = smollm2() else { return };
    let prompt = Prompt::text("My favourite food is");
    let params = GenParams {
        temperature: 0.9,
        top_p: 0.95,
        seed: 7,
        ..greedy(12)
    };
    let (a, _) = run(&mut engine, &prompt, &params);
    let (b, _) = run(&mut engine, &prompt, &params);
    assert_eq!(a.text, b.text);
}

#[test]
fn chat_uses_the_gguf_template() {
    let Some(mut engine) = smollm2() else { return };
    let chat = Prompt::chat([("user", "What is the capital of France?")]);
    let rendered = engine.render(&chat).unwrap();
    assert!(rendered.contains("<|im_start|>user"), "{rendered:?}");
    assert!(
        rendered.ends_with("<|im_start|>assistant\n"),
        "{rendered:?}"
    );
    let raw = Prompt::text("What is the capital of France?");
    let chat_tokens = engine.prompt_tokens(&chat).unwrap();
    let raw_tokens = engine.prompt_tokens(&raw).unwrap();
    assert!(chat_tokens > raw_tokens, "{chat_tokens} vs {raw_tokens}");
    let (generation, _) = run(&mut engine, &chat, &greedy(24));
    assert_eq!(generation.prompt_tokens, chat_tokens);
    assert!(generation.text.contains("Paris"), "{:?}", generation.text);
    assert!(!generation.text.contains("<|im_end|>"));
}

#[test]
fn paris_is_more_likely_than_banana() {
    let Some(mut engine) = smollm2() else { return };
    let prompt = Prompt::text("The capital of France is");
    let scores = engine
        .next_token_logprobs(&prompt, &[" Paris", " banana", " the city of Paris"])
        .unwrap();
    assert_eq!(scores.len(), 3);
    assert!(
        scores.iter().all(|s| s.is_finite() && *s < 0.0),
        "{scores:?}"
    );
    assert!(scores[0] > scores[1], "{scores:?}");
    // The same scores again, now with the prompt's keys and values already in the context.
    let again = engine
        .next_token_logprobs(&prompt, &[" Paris", " banana"])
        .unwrap();
    assert!(
        (again[0] - scores[0]).abs() < 1e-3,
        "{again:?} vs {scores:?}"
    );
    assert!(
        (again[1] - scores[1]).abs() < 1e-3,
        "{again:?} vs {scores:?}"
    );
    // Generation in between does not disturb scoring.
    let _ = run(&mut engine, &prompt, &greedy(4));
    let after = engine.next_token_logprobs(&prompt, &[" Paris"]).unwrap();
    assert!((after[0] - scores[0]).abs() < 1e-3);
}

#[test]
fn an_empty_candidate_is_an_error() {
    let Some(mut engine) = smollm2() else { return };
    let err = engine
        .next_token_logprobs(&Prompt::text("Hello"), &[""])
        .unwrap_err();
    assert!(
        matches!(err, EngineError::EmptyCandidate { index: 0, .. }),
        "{err}"
    );
}

#[test]
fn a_truncated_gguf_is_refused_before_llama_cpp() {
    let Some(path) = model_path(SMOLLM2) else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    // Cut inside the metadata (the first 1 MB), then inside the tensor data (all but 1 MB).
    for (len, expected) in [(1 << 20, "only"), (bytes.len() - (1 << 20), "past its end")] {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&bytes[..len]).unwrap();
        file.flush().unwrap();
        let err = Engine::load(file.path(), options()).unwrap_err();
        assert!(matches!(err, EngineError::InvalidGguf { .. }), "{err}");
        let message = err.to_string();
        assert!(message.contains("refused before loading"), "{message}");
        assert!(message.contains(expected), "{message}");
        assert!(
            message.contains(&file.path().display().to_string()),
            "{message}"
        );
    }
}

#[test]
fn a_missing_file_is_refused() {
    let err = Engine::load("/nonexistent/model.gguf", options()).unwrap_err();
    assert!(matches!(err, EngineError::InvalidGguf { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/model.gguf"));
}

#[test]
fn gemma3_loads_and_generates() {
    let Some(path) = model_path(GEMMA3) else {
        return;
    };
    let mut engine = Engine::load(&path, options()).unwrap();
    assert_eq!(engine.info().architecture.as_deref(), Some("gemma3"));
    let prompt = Prompt::text("The capital of France is");
    let (generation, pieces) = run(&mut engine, &prompt, &greedy(12));
    assert!(generation.output_tokens > 0);
    assert_eq!(pieces.concat(), generation.text);
    let scores = engine
        .next_token_logprobs(&prompt, &[" Paris", " banana"])
        .unwrap();
    assert!(scores[0] > scores[1], "{scores:?}");
    let chat = Prompt::chat([("user", "Say hello.")]);
    let (chat_generation, _) = run(&mut engine, &chat, &greedy(8));
    assert!(chat_generation.prompt_tokens > 3);
}

#[test]
fn a_full_context_ends_generation_and_a_long_prompt_is_refused() {
    let Some(path) = model_path(SMOLLM2) else {
        return;
    };
    let options = LoadOptions {
        context_tokens: Some(32),
        ..options()
    };
    let mut engine = Engine::load(&path, options).unwrap();
    let params = GenParams {
        ignore_eos: true,
        ..greedy(100)
    };
    let (generation, _) = run(&mut engine, &Prompt::text("Once upon a time"), &params);
    assert_eq!(generation.finish_reason, FinishReason::Length);
    // Every context slot is used: the prompt's, then one per decoded token, and the last
    // sampled token needs none.
    assert_eq!(generation.prompt_tokens + generation.output_tokens, 33);
    let long = Prompt::text("word ".repeat(40));
    let err = engine
        .generate(&long, &params, |_| ControlFlow::Continue(()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::PromptTooLong {
                context_tokens: 32,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn ignore_eos_streams_one_piece_per_token() {
    // Without the ban on control tokens, sampling past `<|im_end|>` produced `<|im_start|>`,
    // which renders as no text: a stream then carried fewer pieces than `usage` counted tokens.
    let Some(mut engine) = smollm2() else { return };
    let prompt = Prompt::chat([(
        "user",
        "Say something number 8 about the weather in many words",
    )]);
    for seed in 0..24 {
        let params = GenParams {
            max_tokens: 8,
            temperature: 1.0,
            seed,
            ignore_eos: true,
            ..GenParams::default()
        };
        let (generation, pieces) = run(&mut engine, &prompt, &params);
        assert_eq!(generation.output_tokens, 8, "seed {seed}");
        assert_eq!(
            pieces.len(),
            generation.output_tokens,
            "seed {seed}: {pieces:?}"
        );
    }
}
