//! Reading suite files: the sizewise format, BIG-bench tasks, format detection, and the
//! errors of malformed files (each must name the file and the item).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use serde_json::{Value, json};
use sizewise_eval::{
    AnswerKind, EvalError, LoadOptions, Metric, SuiteFormat, Target, load_suite, parse_suite,
    parse_suite_with, prepare,
};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A valid label suite to start malformed variants from.
fn base() -> Value {
    json!({
        "sizewise_suite": 1,
        "id": "yn",
        "answer": {"kind": "label", "labels": ["yes", "no"]},
        "prompt": "Q: {input}\nA:",
        "items": [
            {"id": "i1", "input": "Is water wet?", "target": "yes"},
            {"id": "i2", "input": "Is fire cold?", "target": "no"}
        ]
    })
}

fn with(mut v: Value, pointer: &str, new: Value) -> Value {
    *v.pointer_mut(pointer).unwrap() = new;
    v
}

fn error_of(v: &Value) -> String {
    match parse_suite(&v.to_string(), "suite.json") {
        Ok(s) => panic!(
            "parsed, with {} items, but should have failed",
            s.items.len()
        ),
        Err(e) => e.to_string(),
    }
}

#[test]
fn reads_a_label_suite_with_defaults() {
    let suite = parse_suite(&base().to_string(), "yn.json").unwrap();
    assert_eq!(suite.id, "yn");
    assert_eq!(suite.title, "yn");
    assert_eq!(suite.format, SuiteFormat::Sizewise);
    assert_eq!(suite.metric, Metric::Accuracy);
    assert_eq!(suite.shots, 0);
    assert_eq!(suite.max_tokens, 8);
    assert_eq!(suite.stop, ["\n"]);
    assert_eq!(suite.items.len(), 2);
    assert_eq!(suite.items[1].target, Target::Label(1));
    assert_eq!(suite.origin, "yn.json");
}

#[test]
fn reads_every_answer_kind() {
    let choice = json!({"sizewise_suite": 1, "id": "c", "answer": {"kind": "choice"},
    "prompt": "{input}{choices}\nAnswer:",
    "items": [
        {"id": "a", "input": "2+2?", "choices": ["3", "4"], "target": "4"},
        {"id": "b", "input": "3+3?", "choices": ["6", "7", "8"], "target": 0}
    ]});
    let s = parse_suite(&choice.to_string(), "c.json").unwrap();
    assert_eq!(s.items[0].target, Target::Choice(1));
    assert_eq!(s.items[1].target, Target::Choice(0));

    let number = json!({"sizewise_suite": 1, "id": "n", "answer": {"kind": "number", "tolerance": 0.5},
        "prompt": "{input}", "items": [{"id": "a", "input": "x", "target": 2.5}]});
    let s = parse_suite(&number.to_string(), "n.json").unwrap();
    assert_eq!(s.answer, AnswerKind::Number { tolerance: 0.5 });
    assert_eq!(s.max_tokens, 256);

    let j = json!({"sizewise_suite": 1, "id": "j", "answer": {"kind": "json", "fields": ["a", "b"]},
        "prompt": "{input}", "items": [{"id": "x", "input": "t", "target": {"a": 1, "b": null, "c": 3}}]});
    let s = parse_suite(&j.to_string(), "j.json").unwrap();
    assert_eq!(s.metric, Metric::FieldAccuracy);

    let text = json!({"sizewise_suite": 1, "id": "t", "answer": {"kind": "text"},
        "prompt": "{input}", "items": [{"id": "x", "input": "t", "target": ["one answer", "another"]}]});
    let s = parse_suite(&text.to_string(), "t.json").unwrap();
    assert_eq!(s.metric, Metric::TokenF1);
    assert_eq!(
        s.items[0].target,
        Target::Text(vec!["one answer".into(), "another".into()])
    );
}

#[test]
fn reads_items_from_a_jsonl_file() {
    let suite = load_suite(fixture("capitals.json")).unwrap();
    assert_eq!(suite.answer, AnswerKind::Exact);
    assert_eq!(suite.metric, Metric::ExactMatch);
    let ids: Vec<&str> = suite.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["fr", "us", "br"]);
    assert_eq!(suite.items[2].meta.get("difficulty"), Some(&json!(2)));
    assert!(suite.origin.ends_with("capitals.json"));
}

#[test]
fn malformed_suites_name_the_file_and_the_item() {
    let cases: Vec<(Value, &[&str])> = vec![
        (
            with(base(), "/answer/kind", json!("labels")),
            &["suite.json", "unknown kind \"labels\""],
        ),
        (
            with(base(), "/sizewise_suite", json!(2)),
            &["suite.json", "format 1"],
        ),
        (
            with(base(), "/items", json!([])),
            &["suite.json", "no items"],
        ),
        (
            with(base(), "/prompt", json!("no placeholder")),
            &["suite.json", "{input}"],
        ),
        (
            with(base(), "/items/1/target", json!("maybe")),
            &[
                "suite.json",
                "item 1",
                "\"i2\"",
                "\"maybe\" is not one of the labels",
            ],
        ),
        (
            with(base(), "/items/1/id", json!("i1")),
            &["suite.json", "item 1", "\"i1\"", "duplicate id", "item 0"],
        ),
        (
            with(base(), "/items/0/input", json!("")),
            &[
                "suite.json",
                "item 0",
                "\"i1\"",
                "input is missing or empty",
            ],
        ),
        (
            with(base(), "/items/1", json!({"input": "x", "target": "no"})),
            &["suite.json", "item 1", "id is missing"],
        ),
        (
            with(base(), "/answer/labels", json!(["yes", "Yes"])),
            &["suite.json", "twice"],
        ),
        (
            with(
                base(),
                "/items/0",
                json!({"id": "i1", "input": "?", "target": "yes", "choices": ["a", "b"]}),
            ),
            &["item 0", "choices does not apply"],
        ),
    ];
    for (suite, wanted) in cases {
        let message = error_of(&suite);
        for w in wanted {
            assert!(message.contains(w), "{message:?} should contain {w:?}");
        }
    }

    let mut metric = base();
    metric["metric"] = json!("f1");
    assert!(error_of(&metric).contains("unknown metric \"f1\""));
    metric["metric"] = json!("field_accuracy");
    assert!(error_of(&metric).contains("does not apply to answer kind label"));
    let mut typo = base();
    typo["promt"] = json!("x");
    assert!(error_of(&typo).contains("unknown key \"promt\""));
    let mut both = base();
    both["items_file"] = json!("x.jsonl");
    assert!(error_of(&both).contains("both items and items_file"));
    let mut shots = base();
    shots["shots"] = json!(-1);
    assert!(error_of(&shots).contains("shots must be a whole number"));

    let choice = json!({"sizewise_suite": 1, "id": "c", "answer": {"kind": "choice"}, "prompt": "{input}",
        "items": [{"id": "q7", "input": "?", "choices": ["a", "b"], "target": 2}]});
    let message = error_of(&choice);
    assert!(
        message.contains("\"q7\"") && message.contains("not a choice index"),
        "{message}"
    );
    let choice = with(choice, "/items/0/target", json!("c"));
    assert!(error_of(&choice).contains("\"c\" is not one of the choices"));

    let number = json!({"sizewise_suite": 1, "id": "n", "answer": {"kind": "number"}, "prompt": "{input}",
        "items": [{"id": "n1", "input": "?", "target": "12"}]});
    assert!(error_of(&number).contains("target must be a number"));
    let json_kind = json!({"sizewise_suite": 1, "id": "j", "answer": {"kind": "json", "fields": ["a", "b"]},
        "prompt": "{input}", "items": [{"id": "j1", "input": "?", "target": {"a": 1}}]});
    let message = error_of(&json_kind);
    assert!(
        message.contains("\"j1\"") && message.contains("no field \"b\""),
        "{message}"
    );
    let exact = json!({"sizewise_suite": 1, "id": "e", "answer": {"kind": "exact"}, "prompt": "{input}",
        "items": [{"id": "e1", "input": "?", "target": "..."}]});
    assert!(error_of(&exact).contains("no letter or digit"));
}

#[test]
fn jsonl_errors_name_the_items_file_and_line() {
    let message = load_suite(fixture("bad-line.json"))
        .unwrap_err()
        .to_string();
    assert!(message.contains("bad-line.jsonl"), "{message}");
    assert!(message.contains("line 3"), "{message}");

    let message = load_suite(fixture("bad-target.json"))
        .unwrap_err()
        .to_string();
    assert!(message.contains("bad-target.jsonl"), "{message}");
    assert!(message.contains("id \"b\", line 2"), "{message}");
    assert!(message.contains("\"maybe\""), "{message}");

    let err = load_suite(fixture("missing-items.json")).unwrap_err();
    assert!(matches!(err, EvalError::Read { .. }), "{err}");
    assert!(err.to_string().contains("no-such-file.jsonl"));

    let err = load_suite(fixture("no-such-suite.json")).unwrap_err();
    assert!(err.to_string().contains("no-such-suite.json"));

    // Without a file there is no folder to read items_file from.
    let text = std::fs::read_to_string(fixture("capitals.json")).unwrap();
    let message = parse_suite(&text, "capitals.json").unwrap_err().to_string();
    assert!(message.contains("capitals.json") && message.contains("items_file"));
}

#[test]
fn files_that_are_no_suite_are_refused() {
    assert!(matches!(
        parse_suite("{\"name\": \"x\"}", "x.json"),
        Err(EvalError::UnknownFormat { .. })
    ));
    assert!(matches!(
        parse_suite("[1, 2]", "x.json"),
        Err(EvalError::UnknownFormat { .. })
    ));
    let err = parse_suite("{\"sizewise_suite\": 1,", "broken.json").unwrap_err();
    assert!(matches!(err, EvalError::Json { .. }));
    assert!(err.to_string().starts_with("broken.json: not valid JSON"));
    // A byte-order mark is not an error.
    let with_bom = format!("\u{feff}{}", base());
    assert!(parse_suite(&with_bom, "bom.json").is_ok());
}

#[test]
fn reads_a_bigbench_task_as_is() {
    let suite = load_suite(fixture("tiny_task.json")).unwrap();
    assert_eq!(suite.format, SuiteFormat::BigBench);
    assert_eq!(suite.id, "tiny_task");
    assert_eq!(suite.answer, AnswerKind::Choice);
    assert!(suite.canary.as_deref().unwrap().contains("canary GUID"));
    assert_eq!(suite.items[0].choices, ["six", "eight", "four"]);
    assert_eq!(suite.items[0].target, Target::Choice(1));
    assert_eq!(suite.items[0].id, "0");

    // BIG-bench's own layout: task_prefix, then "\nQ: " input, the choices, "\nA: " and
    // the answer, examples joined by "\n".
    let prepared = prepare(&suite, Some(1), 5, None).unwrap();
    let p = &prepared[0];
    let shot = &suite.items[p.shots[0]];
    let shot_text = format!(
        "\nQ: {}{}\nA: {}",
        shot.input,
        shot.choices
            .iter()
            .map(|c| format!("\n  choice: {c}"))
            .collect::<String>(),
        suite.answer_text(shot)
    );
    let expected = format!(
        "Answer the question.{shot_text}\n\nQ: How many legs does a spider have?\n  choice: six\n  choice: eight\n  choice: four\nA:"
    );
    assert_eq!(p.text, expected);
    assert_eq!(p.continuations, [" six", " eight", " four"]);
    assert!(
        p.messages[0]
            .content
            .starts_with("Answer the question.\nQ: ")
    );
}

#[test]
fn bigbench_targets_ties_and_mixtures() {
    let exact = json!({"examples": [
        {"input": "Capital of France?", "target": "Paris"},
        {"input": "Capital of the US?", "target": ["Washington", "Washington, D.C."]}
    ]});
    let suite = parse_suite(&exact.to_string(), "bb/capitals.json").unwrap();
    assert_eq!(suite.id, "capitals");
    assert_eq!(suite.answer, AnswerKind::Exact);
    assert_eq!(suite.metric, Metric::ExactMatch);
    assert_eq!(suite.template.prompt, "\nQ: {input}\nA: ");
    assert_eq!(suite.template.separator, "\n");

    let tie = json!({"name": "t", "examples": [
        {"input": "a", "target_scores": {"x": 1, "y": 0}},
        {"input": "b", "target_scores": {"x": 1, "y": 1}},
        {"input": "c", "target_scores": {"x": 0, "y": 0}}
    ]});
    let message = parse_suite(&tie.to_string(), "tie.json")
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("tie.json") && message.contains("item 1"),
        "{message}"
    );
    assert!(message.contains("tie for the highest"), "{message}");
    let options = LoadOptions {
        skip_ambiguous: true,
    };
    let suite = parse_suite_with(&tie.to_string(), "tie.json", &options).unwrap();
    assert_eq!(suite.items.len(), 1);
    let skipped: Vec<usize> = suite.skipped.iter().map(|s| s.index).collect();
    assert_eq!(skipped, [1, 2]);
    assert!(suite.skipped[1].reason.contains("above 0"));

    let mixed = json!({"examples": [
        {"input": "a", "target_scores": {"x": 1, "y": 0}},
        {"input": "b", "target": "x"}
    ]});
    let message = parse_suite(&mixed.to_string(), "mixed.json")
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("mixed.json") && message.contains("item 1"),
        "{message}"
    );

    let bad_score = json!({"examples": [{"input": "a", "target_scores": {"x": "1", "y": 0}}]});
    let message = parse_suite(&bad_score.to_string(), "s.json")
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("item 0") && message.contains("must be a number"),
        "{message}"
    );

    let no_input = json!({"examples": [{"target": "x"}]});
    assert!(
        parse_suite(&no_input.to_string(), "s.json")
            .unwrap_err()
            .to_string()
            .contains("input is missing")
    );
    assert!(parse_suite("{\"examples\": []}", "e.json").is_err());
}
