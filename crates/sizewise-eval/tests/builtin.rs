//! Every built-in suite loads, has its documented size, and prepares prompts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use sizewise_eval::{
    AnswerKind, BUILTIN_IDS, EvalError, SuiteFormat, Target, builtin, builtin_list, load_suite,
    prepare,
};

/// The documented item counts.
const COUNTS: [(&str, usize); 10] = [
    ("sentiment", 200),
    ("sentiment-amazon", 200),
    ("sentiment-pt-br", 240),
    ("intent", 693),
    ("general-knowledge", 69),
    ("entailment", 149),
    ("sports", 1000),
    ("extraction-json", 100),
    ("arithmetic", 150),
    ("long-context", 48),
];

#[test]
fn every_builtin_loads_with_its_documented_size() {
    let list = builtin_list().unwrap();
    assert_eq!(list.len(), BUILTIN_IDS.len());
    for ((id, count), info) in COUNTS.iter().zip(&list) {
        assert_eq!(info.id, *id);
        assert_eq!(info.items, *count, "{id}");
        assert!(!info.title.is_empty() && !info.language.is_empty(), "{id}");
        assert!(!info.source.is_empty() && !info.license.is_empty(), "{id}");
        let suite = builtin(id).unwrap();
        assert_eq!(suite.items.len(), *count, "{id}");
        assert_eq!(suite.answer.name(), info.kind, "{id}");
    }
    let kinds: Vec<(&str, &str)> = list
        .iter()
        .map(|i| (i.id.as_str(), i.kind.as_str()))
        .collect();
    assert!(kinds.contains(&("sentiment", "label")));
    assert!(kinds.contains(&("sports", "choice")));
    assert!(kinds.contains(&("extraction-json", "json")));
    assert!(kinds.contains(&("arithmetic", "number")));
    assert!(kinds.contains(&("long-context", "number")));
}

#[test]
fn unknown_builtins_list_the_known_ones() {
    let err = builtin("sentiment-fr").unwrap_err();
    assert!(matches!(err, EvalError::UnknownBuiltin { .. }));
    assert!(err.to_string().contains("sentiment-pt-br"));
}

#[test]
fn label_suites_are_balanced() {
    for id in ["sentiment", "sentiment-amazon", "sentiment-pt-br"] {
        let suite = builtin(id).unwrap();
        let AnswerKind::Label { labels } = &suite.answer else {
            panic!("{id} is not a label suite");
        };
        assert_eq!(labels.len(), 2);
        let first = suite
            .items
            .iter()
            .filter(|i| i.target == Target::Label(0))
            .count();
        assert_eq!(first * 2, suite.items.len(), "{id}");
    }
}

#[test]
fn bigbench_builtins_keep_their_canary_and_license() {
    for id in ["intent", "general-knowledge", "entailment", "sports"] {
        let suite = builtin(id).unwrap();
        assert_eq!(suite.format, SuiteFormat::BigBench);
        assert!(
            suite.canary.as_deref().unwrap().contains("canary GUID"),
            "{id}"
        );
        assert_eq!(suite.license.as_deref(), Some("Apache-2.0"));
        assert!(suite.source.as_deref().unwrap().contains("2206.04615"));
        assert_eq!(suite.answer, AnswerKind::Choice);
    }
    // The one example of general_knowledge without a single right answer is set aside.
    let gk = builtin("general-knowledge").unwrap();
    assert_eq!(gk.skipped.len(), 1);
    assert_eq!(gk.skipped[0].index, 17);
    assert!(gk.items.iter().all(|i| i.id != "17"));
}

#[test]
fn file_suites_load_from_disk_like_the_embedded_copies() {
    let suites = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("suites");
    for (id, path) in [
        ("sentiment", "vader/sentiment.json"),
        ("sentiment-amazon", "vader/sentiment-amazon.json"),
        ("sentiment-pt-br", "sizewise/sentiment-pt-br.json"),
        ("extraction-json", "sizewise/extraction-json.json"),
        ("arithmetic", "sizewise/arithmetic.json"),
    ] {
        let embedded = builtin(id).unwrap();
        let on_disk = load_suite(suites.join(path)).unwrap();
        assert_eq!(embedded.items, on_disk.items, "{id}");
        assert_eq!(embedded.template, on_disk.template, "{id}");
    }
    for (id, path) in [
        ("intent", "bigbench/intent_recognition.json"),
        ("entailment", "bigbench/entailed_polarity.json"),
        ("sports", "bigbench/sports_understanding.json"),
    ] {
        let on_disk = load_suite(suites.join(path)).unwrap();
        assert_eq!(builtin(id).unwrap().items, on_disk.items, "{id}");
    }
    // Read as is, general_knowledge is refused for its ambiguous example.
    let err = load_suite(suites.join("bigbench/general_knowledge.json")).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("general_knowledge.json") && message.contains("item 17"),
        "{message}"
    );
}

#[test]
fn every_builtin_prepares_prompts() {
    for id in BUILTIN_IDS {
        let suite = builtin(id).unwrap();
        let prepared = prepare(&suite, None, 42, Some(20)).unwrap();
        assert_eq!(prepared.len(), 20.min(suite.items.len()), "{id}");
        for p in &prepared {
            assert_eq!(p.shots.len(), suite.shots as usize, "{id}");
            assert!(!p.shots.contains(&p.index), "{id}");
            assert_eq!(p.messages.len(), 2 * p.shots.len() + 1, "{id}");
            assert!(p.text.contains(&suite.items[p.index].input), "{id}");
            let mc = matches!(suite.answer, AnswerKind::Label { .. } | AnswerKind::Choice);
            assert_eq!(!p.continuations.is_empty(), mc, "{id}");
        }
    }
}

#[test]
fn sentiment_prompts_ask_for_one_word() {
    let suite = builtin("sentiment").unwrap();
    let p = &prepare(&suite, None, 0, Some(1)).unwrap()[0];
    assert!(p.system.as_deref().unwrap().contains("exactly one word"));
    assert_eq!(p.messages.len(), 5);
    for m in p.messages.iter().skip(1).step_by(2) {
        assert!(m.content == "positive" || m.content == "negative");
    }
    assert!(p.text.ends_with("Sentiment (positive or negative):"));
    assert_eq!(p.continuations, [" positive", " negative"]);
    let pt = builtin("sentiment-pt-br").unwrap();
    let p = &prepare(&pt, None, 0, Some(1)).unwrap()[0];
    assert!(p.text.ends_with("Sentimento (positivo ou negativo):"));
}
