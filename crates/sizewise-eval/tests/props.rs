//! The suite readers and the scorers never panic, whatever they are given.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::LazyLock;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use sizewise_eval::{
    LoadOptions, Suite, builtin, parse_suite, parse_suite_with, prepare, score_logprobs,
    score_text, summarize,
};

/// One built-in suite of each kind that reads model output differently.
static SUITES: LazyLock<Vec<Suite>> = LazyLock::new(|| {
    [
        "sentiment",
        "general-knowledge",
        "arithmetic",
        "extraction-json",
    ]
    .into_iter()
    .map(|id| builtin(id).unwrap())
    .collect()
});

/// Keys that the readers look at, so that random objects reach deep into validation.
const KEYS: [&str; 24] = [
    "sizewise_suite",
    "id",
    "title",
    "answer",
    "kind",
    "labels",
    "fields",
    "tolerance",
    "prompt",
    "shots",
    "max_tokens",
    "stop",
    "metric",
    "items",
    "input",
    "target",
    "choices",
    "examples",
    "target_scores",
    "task_prefix",
    "append_choices_to_input",
    "name",
    "canary",
    "few_shot_example_separator",
];

const WORDS: [&str; 12] = [
    "label",
    "choice",
    "exact",
    "number",
    "json",
    "text",
    "accuracy",
    "macro_f1",
    "{input}",
    "{choices}",
    "yes",
    "no",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..5).prop_map(Value::from),
        (-1e3f64..1e3).prop_map(Value::from),
        prop::sample::select(&WORDS[..]).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(&KEYS[..]), inner), 0..7).prop_map(
                |pairs| {
                    Value::Object(
                        pairs
                            .into_iter()
                            .map(|(k, v)| (k.to_owned(), v))
                            .collect::<Map<_, _>>(),
                    )
                }
            ),
        ]
    })
}

/// A valid sizewise suite of `kind`, with one part replaced by random values.
fn mutated_suite() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(&["label", "choice", "exact", "number", "json", "text"][..]),
        value(),
        value(),
        0usize..5,
    )
        .prop_map(|(kind, a, b, which)| {
            let (answer, target) = match kind {
                "label" => (json!({"kind": kind, "labels": ["yes", "no"]}), json!("yes")),
                "choice" => (json!({"kind": kind}), json!(1)),
                "number" => (json!({"kind": kind}), json!(3)),
                "json" => (json!({"kind": kind}), json!({"a": 1, "b": null})),
                _ => (json!({"kind": kind}), json!("an answer")),
            };
            let item = |id: &str| {
                let mut it = json!({"id": id, "input": "x", "target": target.clone()});
                if kind == "choice" {
                    it["choices"] = json!(["yes", "no"]);
                }
                it
            };
            let mut v = json!({"sizewise_suite": 1, "id": "p", "answer": answer,
                "prompt": "{input}", "items": [item("a"), item("b")]});
            match which {
                0 => v["items"][0]["target"] = a,
                1 => v["answer"] = a,
                2 => v["items"][1] = a,
                3 => v["metric"] = a,
                _ => {
                    v["items"][0]["input"] = a;
                    v["shots"] = b;
                }
            }
            v
        })
}

/// A BIG-bench task with random examples.
fn mutated_task() -> impl Strategy<Value = Value> {
    (prop::collection::vec(value(), 1..4), value(), any::<bool>()).prop_map(
        |(examples, extra, append)| {
            let mut examples = examples;
            examples.push(json!({"input": "q", "target_scores": {"a": 1, "b": 0}}));
            json!({"examples": examples, "append_choices_to_input": append, "task_prefix": extra})
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = parse_suite(&text, "any.json");
    }

    #[test]
    fn arbitrary_json_never_panics(v in value()) {
        let _ = parse_suite(&v.to_string(), "any.json");
        let options = LoadOptions { skip_ambiguous: true };
        let _ = parse_suite_with(&v.to_string(), "any.json", &options);
    }

    #[test]
    fn mutated_suites_never_panic_and_what_parses_works(v in mutated_suite(), out in ".{0,40}") {
        if let Ok(suite) = parse_suite(&v.to_string(), "m.json") {
            prop_assert_eq!(suite.items.len(), 2);
            let prepared = prepare(&suite, Some(0), 1, None).unwrap();
            prop_assert_eq!(prepared.len(), suite.items.len());
            let scored: Vec<_> = suite.items.iter().map(|i| score_text(&suite, i, &out)).collect();
            let summary = summarize(&suite, &scored, 1).unwrap();
            prop_assert!(summary.score.is_finite() && summary.stderr.is_finite());
        }
    }

    #[test]
    fn bigbench_tasks_never_panic(v in mutated_task(), skip in any::<bool>(), out in ".{0,40}") {
        let options = LoadOptions { skip_ambiguous: skip };
        if let Ok(suite) = parse_suite_with(&v.to_string(), "bb.json", &options) {
            prop_assert!(!suite.items.is_empty());
            let _ = prepare(&suite, Some(1), 3, None);
            for item in &suite.items {
                let _ = score_text(&suite, item, &out);
                let n = suite.candidates(item).len();
                prop_assert!(score_logprobs(&suite, item, &vec![-1.0; n]).is_ok());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn model_outputs_never_panic(out in "(.|\n){0,300}", logprob in proptest::num::f64::ANY) {
        for suite in SUITES.iter() {
            let item = &suite.items[0];
            let scored = score_text(suite, item, &out);
            prop_assert!(scored.strict.value.is_finite() && scored.flexible.value.is_finite());
            prop_assert!((0.0..=1.0).contains(&scored.flexible.value));
            let n = suite.candidates(item).len();
            if n > 0 {
                let _ = score_logprobs(suite, item, &vec![logprob; n]);
            }
        }
    }
}
