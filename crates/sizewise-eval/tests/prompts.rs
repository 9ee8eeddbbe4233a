//! Prompt building and determinism: the same seed must give the same prompts and the same
//! summaries, to the last digit, now and in later versions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use sizewise_eval::{
    EvalError, Role, Scored, Suite, builtin, long_context_suite, parse_suite, prepare, score_text,
    summarize,
};

fn yes_no(n: usize, prompt: &str, shots: u32) -> Suite {
    let items: Vec<Value> = (0..n)
        .map(|i| json!({"id": format!("q{i}"), "input": format!("question {i}"), "target": if i % 3 == 0 { "yes" } else { "no" }}))
        .collect();
    let v = json!({"sizewise_suite": 1, "id": "yn", "answer": {"kind": "label", "labels": ["yes", "no"]},
        "system": "Answer yes or no.", "prompt": prompt, "shots": shots, "items": items});
    parse_suite(&v.to_string(), "yn.json").unwrap()
}

#[test]
fn completion_text_and_chat_messages_say_the_same() {
    let suite = yes_no(4, "Q: {input}\nA:", 2);
    let prepared = prepare(&suite, None, 7, None).unwrap();
    assert_eq!(prepared.len(), 4);
    let p = &prepared[0];
    assert_eq!(p.shots.len(), 2);
    let [a, b] = [&suite.items[p.shots[0]], &suite.items[p.shots[1]]];
    let expected = format!(
        "Answer yes or no.\n\nQ: {}\nA: {}\n\nQ: {}\nA: {}\n\nQ: question 0\nA:",
        a.input,
        suite.answer_text(a),
        b.input,
        suite.answer_text(b)
    );
    assert_eq!(p.text, expected);
    assert_eq!(p.system.as_deref(), Some("Answer yes or no."));
    let roles: Vec<Role> = p.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            Role::User,
            Role::Assistant,
            Role::User,
            Role::Assistant,
            Role::User
        ]
    );
    assert_eq!(p.messages[0].content, format!("Q: {}\nA:", a.input));
    assert_eq!(p.messages[1].content, suite.answer_text(a));
    assert_eq!(p.messages[4].content, "Q: question 0\nA:");
    assert_eq!(p.continuations, [" yes", " no"]);
    assert_eq!((p.max_tokens, p.stop.clone()), (8, vec!["\n".to_owned()]));
    assert_eq!((p.index, p.id.as_str()), (0, "q0"));
}

#[test]
fn continuations_follow_a_line_end_without_a_space() {
    let suite = yes_no(3, "{input}\nAnswer:\n", 1);
    let p = &prepare(&suite, None, 1, Some(1)).unwrap()[0];
    assert!(p.text.ends_with("Answer:\n"));
    assert!(p.text.contains("Answer:\nyes") || p.text.contains("Answer:\nno"));
    assert_eq!(p.continuations, ["yes", "no"]);
}

#[test]
fn few_shot_examples_are_seeded_and_never_the_item_itself() {
    let suite = yes_no(50, "{input}", 3);
    let one = prepare(&suite, None, 99, None).unwrap();
    assert_eq!(one, prepare(&suite, None, 99, None).unwrap());
    assert_ne!(one, prepare(&suite, None, 100, None).unwrap());
    // A limit takes the first items and does not change their prompts.
    assert_eq!(one[..10], prepare(&suite, None, 99, Some(10)).unwrap()[..]);
    for p in &one {
        assert!(!p.shots.contains(&p.index));
        let mut distinct = p.shots.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 3);
    }
    // One draw per run: items that are not among the examples share the same ones, so a
    // target can keep them cached; an item that is one of them gets the spare instead.
    let common = one
        .iter()
        .find(|p| p.index == 49 || !p.shots.is_empty())
        .unwrap();
    let outside: Vec<_> = one
        .iter()
        .filter(|p| !common.shots.contains(&p.index) && p.index != common.index)
        .collect();
    assert!(outside.len() >= 45);
    assert!(outside.iter().all(|p| p.shots == common.shots));
    let distinct: std::collections::BTreeSet<usize> =
        one.iter().flat_map(|p| p.shots.iter().copied()).collect();
    assert_eq!(distinct.len(), 4);

    let zero = prepare(&suite, Some(0), 99, Some(1)).unwrap();
    assert!(zero[0].shots.is_empty() && zero[0].messages.len() == 1);
    assert!(zero[0].text.starts_with("Answer yes or no.\n\nquestion 0"));
    let all = prepare(&suite, Some(49), 99, Some(2)).unwrap();
    assert!(all.iter().all(|p| p.shots.len() == 49));
    let err = prepare(&suite, Some(50), 99, None).unwrap_err();
    assert!(matches!(
        err,
        EvalError::TooManyShots {
            shots: 50,
            available: 49,
            ..
        }
    ));
    assert!(err.to_string().contains("yn.json"));
}

fn outputs_summary(seed: u64) -> String {
    let suite = builtin("sentiment-pt-br").unwrap();
    let prepared = prepare(&suite, None, seed, Some(60)).unwrap();
    // A fixed, imperfect "model": right on two items in three, one word or a sentence.
    let scored: Vec<Scored> = prepared
        .iter()
        .map(|p| {
            let item = &suite.items[p.index];
            let truth = suite.answer_text(item);
            let wrong = if truth == "positivo" {
                "negativo"
            } else {
                "positivo"
            };
            let output = match p.index % 3 {
                0 => truth,
                1 => format!("A frase é {truth}."),
                _ => wrong.to_owned(),
            };
            score_text(&suite, item, &output)
        })
        .collect();
    serde_json::to_string(&summarize(&suite, &scored, seed).unwrap()).unwrap()
}

#[test]
fn the_same_seed_gives_identical_prompts_and_summaries() {
    for id in ["sentiment", "intent", "extraction-json"] {
        let suite = builtin(id).unwrap();
        assert_eq!(
            prepare(&suite, None, 5, Some(30)).unwrap(),
            prepare(&suite, None, 5, Some(30)).unwrap()
        );
    }
    assert_eq!(outputs_summary(11), outputs_summary(11));
    assert_ne!(outputs_summary(11), outputs_summary(12));
    assert_eq!(long_context_suite(3), long_context_suite(3));
}

/// Pinned values: a change here changes every published prompt or error bar, so it must be
/// deliberate.
#[test]
fn seeded_results_are_pinned() {
    let suite = builtin("sentiment").unwrap();
    let prepared = prepare(&suite, None, 1234, Some(3)).unwrap();
    let shots: Vec<Vec<usize>> = prepared.iter().map(|p| p.shots.clone()).collect();
    assert_eq!(shots, PINNED_SHOTS);

    let summary: Value = serde_json::from_str(&outputs_summary(11)).unwrap();
    assert_eq!(summary["score"], json!(PINNED_SCORE));
    assert_eq!(summary["stderr"], json!(PINNED_STDERR));
    assert_eq!(summary["ci95"], json!(PINNED_CI95));

    let lc = long_context_suite(2026);
    assert_eq!(
        lc.items[0].target,
        sizewise_eval::Target::Number(PINNED_LC_CODE)
    );
}

const PINNED_SHOTS: [[usize; 2]; 3] = [[45, 38], [45, 38], [45, 38]];
const PINNED_SCORE: f64 = 0.6666666666666666;
const PINNED_STDERR: f64 = 0.06415919880796933;
const PINNED_CI95: [f64; 2] = [0.55, 0.8];
const PINNED_LC_CODE: f64 = 5301.0;
