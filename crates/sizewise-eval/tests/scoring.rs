//! Scoring outputs (strict and flexible), log-probabilities, and suite summaries.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use sizewise_eval::{
    Answer, EvalError, Scored, Suite, builtin, parse_suite, score_logprobs, score_text, summarize,
};

fn suite(answer: Value, metric: Option<&str>, items: Value) -> Suite {
    let mut v = json!({"sizewise_suite": 1, "id": "t", "language": "en", "answer": answer,
        "prompt": "{input}", "items": items});
    if let Some(m) = metric {
        v["metric"] = json!(m);
    }
    parse_suite(&v.to_string(), "t.json").unwrap()
}

/// (strict correct, flexible correct) for `output` on the suite's first item.
fn flags(suite: &Suite, output: &str) -> (bool, bool) {
    let s = score_text(suite, &suite.items[0], output);
    (s.strict.correct, s.flexible.correct)
}

#[test]
fn labels_in_english_and_portuguese() {
    let en = builtin("sentiment").unwrap();
    let pos = en
        .items
        .iter()
        .position(|i| en.answer_text(i) == "positive")
        .unwrap();
    let item = &en.items[pos];
    let check = |out: &str| {
        let s = score_text(&en, item, out);
        (s.strict.correct, s.flexible.correct)
    };
    assert_eq!(check("positive"), (true, true));
    assert_eq!(check(" Positive\n"), (true, true));
    assert_eq!(check("Positive."), (false, true));
    assert_eq!(check("The sentiment is positive."), (false, true));
    assert_eq!(check("negative"), (false, false));
    assert_eq!(check("I cannot tell."), (false, false));
    let s = score_text(&en, item, "Sentiment: POSITIVE");
    assert_eq!(
        s.flexible.answer,
        Some(Answer::Candidate {
            index: 0,
            text: "positive".into()
        })
    );
    assert_eq!(s.strict.answer, None);

    let pt = builtin("sentiment-pt-br").unwrap();
    let neg = pt
        .items
        .iter()
        .find(|i| pt.answer_text(i) == "negativo")
        .unwrap();
    let check = |out: &str| {
        let s = score_text(&pt, neg, out);
        (s.strict.correct, s.flexible.correct)
    };
    assert_eq!(check("negativo"), (true, true));
    assert_eq!(check("Negativo"), (true, true));
    assert_eq!(check("O sentimento é negativo."), (false, true));
    assert_eq!(check("**Negativo**"), (false, true));
    assert_eq!(check("positivo"), (false, false));
}

#[test]
fn choices_from_a_bigbench_task() {
    let sports = builtin("sports").unwrap();
    let item = sports
        .items
        .iter()
        .find(|i| sports.answer_text(i) == "implausible")
        .unwrap();
    let s = score_text(&sports, item, "implausible");
    assert!(s.strict.correct && s.flexible.correct);
    let s = score_text(&sports, item, "This is implausible because...");
    assert!(!s.strict.correct && s.flexible.correct);
    let s = score_text(&sports, item, "plausible");
    assert!(!s.strict.correct && !s.flexible.correct);
}

#[test]
fn numbers_with_separators() {
    let s = suite(
        json!({"kind": "number"}),
        None,
        json!([{"id": "a", "input": "x", "target": 1234.5}]),
    );
    assert_eq!(flags(&s, "1234.5"), (true, true));
    assert_eq!(flags(&s, "1,234.5"), (true, true));
    assert_eq!(flags(&s, "So the total is $1,234.50."), (false, true));
    assert_eq!(flags(&s, "1234.5 dollars"), (false, true));
    assert_eq!(
        flags(&s, "12 + 1222.5 = 1234.5, then minus 1 is 1233.5"),
        (false, false)
    );

    let pt = parse_suite(
        &json!({"sizewise_suite": 1, "id": "p", "language": "pt-BR", "answer": {"kind": "number"},
            "prompt": "{input}", "items": [{"id": "a", "input": "x", "target": 1234.56}]})
        .to_string(),
        "p.json",
    )
    .unwrap();
    assert_eq!(flags(&pt, "1.234,56"), (true, true));
    assert_eq!(flags(&pt, "O total é R$ 1.234,56."), (false, true));

    let tolerant = suite(
        json!({"kind": "number", "tolerance": 0.01}),
        None,
        json!([{"id": "a", "input": "x", "target": 2.5}]),
    );
    assert_eq!(flags(&tolerant, "2.505"), (true, true));
    assert_eq!(flags(&tolerant, "2.52"), (false, false));
}

#[test]
fn json_fields_with_fences_nulls_and_accents() {
    let ext = builtin("extraction-json").unwrap();
    let item = ext.items.iter().find(|i| i.id == "ext-003").unwrap();
    // {"name": null, "company": "Banco Cooperativo Vale Fértil", "date": "2025-05-29", "amount": 3412.09}
    let perfect = r#"{"name": null, "company": "banco cooperativo vale fertil ", "date": "2025-05-29", "amount": 3412.09}"#;
    let s = score_text(&ext, item, perfect);
    assert!(s.strict.correct && s.flexible.correct);
    assert_eq!(s.flexible.value, 1.0);

    let fenced = format!("Here it is:\n```json\n{perfect}\n```");
    let s = score_text(&ext, item, &fenced);
    assert!(!s.strict.correct && s.strict.answer.is_none());
    assert!(s.flexible.correct);

    // A string amount counts numerically; an empty name is not null; a wrong date.
    let partial = r#"{"name": "", "company": "Banco Cooperativo Vale Fértil", "date": "2025-05-30", "amount": "R$ 3.412,09"}"#;
    let s = score_text(&ext, item, partial);
    assert!(!s.flexible.correct);
    assert_eq!(s.flexible.value, 0.5);
    assert_eq!(s.strict.value, 0.5);

    // A missing field is wrong, even when the target is null.
    let s = score_text(
        &ext,
        item,
        r#"{"company": "Banco Cooperativo Vale Fértil"}"#,
    );
    assert_eq!(s.flexible.value, 0.25);
    let s = score_text(&ext, item, "I could not find it.");
    assert_eq!(s.flexible.value, 0.0);
    assert!(s.flexible.answer.is_none());
}

#[test]
fn exact_answers_after_answer_markers_or_in_the_first_line() {
    let s = suite(
        json!({"kind": "exact"}),
        None,
        json!([{"id": "a", "input": "x", "target": ["Washington, D.C.", "Washington"]}]),
    );
    assert_eq!(flags(&s, "Washington D.C."), (true, true));
    assert_eq!(flags(&s, "washington"), (true, true));
    assert_eq!(flags(&s, "It is Washington.\nMore text."), (false, true));
    assert_eq!(
        flags(
            &s,
            "Let me think about New York.\nThe answer is: Washington"
        ),
        (false, true)
    );
    assert_eq!(flags(&s, "New York"), (false, false));
    assert_eq!(flags(&s, "Washingtonian"), (false, false));
    let pt = suite(
        json!({"kind": "exact"}),
        None,
        json!([{"id": "a", "input": "x", "target": "Brasília"}]),
    );
    assert_eq!(flags(&pt, "A resposta é Brasilia."), (false, true));
    assert_eq!(flags(&pt, "brasília"), (true, true));
}

#[test]
fn free_text_gets_token_f1() {
    let s = suite(
        json!({"kind": "text"}),
        None,
        json!([{"id": "a", "input": "x", "target": "the cat sat on the mat"}]),
    );
    let scored = score_text(&s, &s.items[0], "A cat sat on a mat.");
    assert!(scored.strict.correct);
    assert_eq!(scored.strict.value, 1.0);
    let scored = score_text(&s, &s.items[0], "Answer: cat on mat");
    // pred {cat, on, mat}, gold {cat, sat, on, mat}: p = 1, r = 3/4, F1 = 6/7.
    assert!((scored.flexible.value - 6.0 / 7.0).abs() < 1e-12);
    assert!(!scored.flexible.correct);
    assert!(scored.strict.value < scored.flexible.value);
}

#[test]
fn logprobs_pick_the_argmax_and_the_length_normalized_argmax() {
    let s = suite(
        json!({"kind": "choice"}),
        None,
        json!([{"id": "a", "input": "x", "choices": ["no", "absolutely yes"], "target": 1}]),
    );
    let item = &s.items[0];
    // Raw: "no" wins (-3 > -6); per character: -3/3 = -1 against -6/15 = -0.4.
    let scored = score_logprobs(&s, item, &[-3.0, -6.0]).unwrap();
    assert!(!scored.strict.correct && !scored.flexible.correct);
    assert!(scored.norm.as_ref().unwrap().correct);
    let scored = score_logprobs(&s, item, &[f64::NAN, -60.0]).unwrap();
    assert!(scored.strict.correct);

    let err = score_logprobs(&s, item, &[-1.0]).unwrap_err();
    assert!(matches!(
        err,
        EvalError::LogprobCount {
            expected: 2,
            got: 1,
            ..
        }
    ));
    assert!(err.to_string().contains("\"a\""));
    let n = suite(
        json!({"kind": "number"}),
        None,
        json!([{"id": "a", "input": "x", "target": 1}]),
    );
    assert!(matches!(
        score_logprobs(&n, &n.items[0], &[]),
        Err(EvalError::NotMultipleChoice { .. })
    ));
}

fn yes_no(n: usize) -> Suite {
    let items: Vec<Value> = (0..n)
        .map(|i| json!({"id": format!("q{i}"), "input": format!("question {i}"), "target": if i % 2 == 0 { "yes" } else { "no" }}))
        .collect();
    suite(
        json!({"kind": "label", "labels": ["yes", "no"]}),
        Some("macro_f1"),
        Value::Array(items),
    )
}

#[test]
fn summaries_on_known_inputs() {
    // Gold: yes no yes no. Flexible: yes yes yes (none) -> yes: tp 2 fp 1 fn 0 -> 0.8;
    // no: tp 0 fn 2 -> 0. Macro F1 0.4. Strict: only the first is exactly a label.
    let s = yes_no(4);
    let outputs = ["yes", "yes, I think", "Yes.", "hmm"];
    let scored: Vec<Scored> = s
        .items
        .iter()
        .zip(outputs)
        .map(|(i, o)| score_text(&s, i, o))
        .collect();
    let summary = summarize(&s, &scored, 1).unwrap();
    assert_eq!(summary.metric, "macro_f1");
    assert_eq!(summary.n, 4);
    assert!((summary.score - 0.4).abs() < 1e-12, "{}", summary.score);
    // Strict: yes, -, -, - -> yes: tp 1, fn 1 -> 2/3; no: fn 2 -> 0. Macro F1 1/3.
    assert!((summary.strict.score - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(summary.no_answer_flexible, 1);
    assert_eq!(summary.no_answer_strict, 3);
    assert!(summary.ci95[0] <= summary.score && summary.score <= summary.ci95[1]);
    assert!(summary.norm.is_none());

    let acc = suite(
        json!({"kind": "label", "labels": ["yes", "no"]}),
        None,
        s.items
            .iter()
            .map(|i| json!({"id": i.id, "input": i.input, "target": s.answer_text(i)}))
            .collect(),
    );
    let scored: Vec<Scored> = acc
        .items
        .iter()
        .zip(["yes", "no", "no", "no"])
        .map(|(i, o)| score_text(&acc, i, o))
        .collect();
    let summary = summarize(&acc, &scored, 1).unwrap();
    assert_eq!(summary.score, 0.75);
    assert!(
        summary.stderr > 0.1 && summary.stderr < 0.3,
        "{}",
        summary.stderr
    );

    // All right: no spread at all.
    let all_right: Vec<Scored> = acc
        .items
        .iter()
        .map(|i| score_text(&acc, i, &acc.answer_text(i)))
        .collect();
    let summary = summarize(&acc, &all_right, 1).unwrap();
    assert_eq!(
        (summary.score, summary.stderr, summary.ci95),
        (1.0, 0.0, [1.0, 1.0])
    );

    // Log-probability scoring reports acc_norm too.
    let scored: Vec<Scored> = acc
        .items
        .iter()
        .map(|i| score_logprobs(&acc, i, &[-1.0, -2.0]).unwrap())
        .collect();
    let summary = summarize(&acc, &scored, 1).unwrap();
    assert_eq!(summary.score, 0.5);
    assert!(summary.norm.is_some());
}

#[test]
fn summaries_refuse_nothing_and_foreign_items() {
    let s = yes_no(4);
    assert!(matches!(
        summarize(&s, &[], 1),
        Err(EvalError::Empty { .. })
    ));
    let other = yes_no(8);
    let scored = vec![score_text(&other, &other.items[6], "yes")];
    let err = summarize(&s, &scored, 1).unwrap_err();
    assert!(
        matches!(err, EvalError::ForeignItem { index: 6, .. }),
        "{err}"
    );
}

#[test]
fn field_accuracy_and_token_f1_are_means() {
    let ext = builtin("extraction-json").unwrap();
    let outputs = [
        r#"{"name": "Wilhelmina Starkey", "company": "Fablewood Toys", "date": "2024-12-18", "amount": 58.46}"#,
        r#"{"name": "Marcus Delacroix-Webb", "company": null, "date": null, "amount": 18000}"#,
    ];
    let scored: Vec<Scored> = ext
        .items
        .iter()
        .zip(outputs)
        .map(|(i, o)| score_text(&ext, i, o))
        .collect();
    let summary = summarize(&ext, &scored, 3).unwrap();
    assert_eq!(summary.metric, "field_accuracy");
    assert_eq!(summary.score, 0.75);
}
