//! BIG-bench JSON tasks, read as they are published
//! (<https://github.com/google/BIG-bench/blob/main/docs/doc.md#json-schema>).
//!
//! Examples with `target_scores` make a `choice` suite whose correct choice is the one with
//! the highest score (a tie for the highest, or no score above 0, is an error: the item has
//! no single right answer). Examples with `target` (a string or a list of strings) make an
//! `exact` suite where any listed target counts. The prompt follows BIG-bench's own
//! formatting: `task_prefix`, then per example `example_input_prefix` (default `"\nQ: "`),
//! the input, the choices each after `choice_prefix` (default `"\n  choice: "`) when
//! `append_choices_to_input` (default true), and `example_output_prefix` (default
//! `"\nA: "`); few-shot examples are joined by `few_shot_example_separator` (default `"\n"`).
//! Choices keep the order of the `target_scores` object (BIG-bench shuffles them; a fixed
//! order keeps prompts identical across runs). `stop_string`, when present, is the stop
//! sequence. The `canary` string is kept.

use serde_json::{Map, Value};

use crate::error::{EvalError, ItemRef, Result};
use crate::jsonval::{kind_of, opt_bool, opt_str, str_or_list};
use crate::suite::{AnswerKind, Item, Metric, Skipped, Suite, SuiteFormat, Target, Template};
use crate::text::normalize;

/// Reads a BIG-bench task from its parsed JSON object. `file` names it in errors; `stem` (the
/// file name without extension) is its id when the task has no `name`. With
/// `skip_ambiguous`, examples without a single best choice are left out (and listed in
/// [`Suite::skipped`]) instead of failing the whole task.
pub(crate) fn parse(
    obj: &Map<String, Value>,
    file: &str,
    stem: &str,
    skip_ambiguous: bool,
) -> Result<Suite> {
    let err = |problem: String| EvalError::Suite {
        file: file.to_owned(),
        problem,
    };
    let text = |key: &str, default: &str| -> Result<String> {
        Ok(opt_str(obj, key)
            .map_err(&err)?
            .unwrap_or(default)
            .to_owned())
    };
    let examples = match obj.get("examples") {
        Some(Value::Array(examples)) if !examples.is_empty() => examples,
        Some(Value::Array(_)) => return Err(err("examples is empty".to_owned())),
        Some(other) => {
            return Err(err(format!(
                "examples must be an array, not {}",
                kind_of(other)
            )));
        }
        None => return Err(err("examples is missing".to_owned())),
    };
    let has = |key: &str| {
        examples
            .iter()
            .position(|e| e.get(key).is_none_or(Value::is_null))
    };
    let answer = match (has("target_scores"), has("target")) {
        (None, _) => AnswerKind::Choice,
        (Some(_), None) => AnswerKind::Exact,
        (Some(a), Some(b)) => {
            return Err(EvalError::Item {
                file: file.to_owned(),
                item: ItemRef::new(a, Some(&a.to_string())),
                problem: format!(
                    "has no target_scores, and example {b} has no target: a task's examples must all have target_scores, or all have target"
                ),
            });
        }
    };

    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for (index, example) in examples.iter().enumerate() {
        let id = index.to_string();
        let at = ItemRef::new(index, Some(&id));
        let fail = |problem: String| EvalError::Item {
            file: file.to_owned(),
            item: at.clone(),
            problem,
        };
        let Value::Object(example) = example else {
            return Err(fail(format!("must be an object, not {}", kind_of(example))));
        };
        let input = opt_str(example, "input")
            .map_err(&fail)?
            .ok_or_else(|| fail("input is missing".to_owned()))?
            .to_owned();
        let (choices, target) = if matches!(answer, AnswerKind::Choice) {
            let scores = example.get("target_scores").unwrap_or(&Value::Null);
            match best_choice(scores) {
                Ok(found) => found,
                Err(Problem::Ambiguous(reason)) if skip_ambiguous => {
                    skipped.push(Skipped { index, id, reason });
                    continue;
                }
                Err(Problem::Ambiguous(p) | Problem::Invalid(p)) => return Err(fail(p)),
            }
        } else {
            let raw = example.get("target").unwrap_or(&Value::Null);
            let targets = str_or_list(raw, "target").map_err(&fail)?;
            if let Some(bad) = targets.iter().find(|t| normalize(t).is_empty()) {
                return Err(fail(format!("target {bad:?} has no letter or digit")));
            }
            (Vec::new(), Target::Text(targets))
        };
        let meta = example
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "input" | "target_scores" | "target"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        items.push(Item {
            index: items.len(),
            id,
            input,
            choices,
            target,
            meta,
        });
    }
    if items.is_empty() {
        return Err(err(
            "every example was skipped; no items are left".to_owned()
        ));
    }

    let append_choices = opt_bool(obj, "append_choices_to_input")
        .map_err(&err)?
        .unwrap_or(true);
    let mut prompt = text("example_input_prefix", "\nQ: ")?;
    prompt.push_str("{input}");
    if append_choices && matches!(answer, AnswerKind::Choice) {
        prompt.push_str("{choices}");
    }
    prompt.push_str(&text("example_output_prefix", "\nA: ")?);
    let stop = match opt_str(obj, "stop_string").map_err(&err)? {
        Some(s) if !s.is_empty() => vec![s.to_owned()],
        _ => answer.default_stop(),
    };
    let name = opt_str(obj, "name").map_err(&err)?.map(str::trim);
    let id = name.filter(|n| !n.is_empty()).unwrap_or(stem).to_owned();
    Ok(Suite {
        title: id.clone(),
        id,
        description: text("description", "")?,
        language: String::new(),
        license: None,
        source: None,
        canary: opt_str(obj, "canary").map_err(&err)?.map(str::to_owned),
        origin: file.to_owned(),
        format: SuiteFormat::BigBench,
        metric: Metric::default_for(&answer),
        system: None,
        template: Template {
            preamble: text("task_prefix", "")?,
            prompt,
            separator: text("few_shot_example_separator", "\n")?,
            choice_prefix: text("choice_prefix", "\n  choice: ")?,
        },
        shots: 0,
        max_tokens: answer.default_max_tokens(),
        stop,
        answer,
        items,
        skipped,
    })
}

enum Problem {
    /// The scores are well formed but name no single best choice.
    Ambiguous(String),
    /// The scores are not an object of numbers.
    Invalid(String),
}

/// The choices of a `target_scores` object and the index of the single best one.
fn best_choice(scores: &Value) -> Result<(Vec<String>, Target), Problem> {
    let Value::Object(scores) = scores else {
        return Err(Problem::Invalid(format!(
            "target_scores must be an object of choice: score, not {}",
            kind_of(scores)
        )));
    };
    if scores.len() < 2 {
        return Err(Problem::Invalid(
            "target_scores needs at least two choices".to_owned(),
        ));
    }
    let mut values = Vec::with_capacity(scores.len());
    for (choice, score) in scores {
        let score = score.as_f64().filter(|s| s.is_finite()).ok_or_else(|| {
            Problem::Invalid(format!(
                "target_scores[{choice:?}] must be a number, not {score}"
            ))
        })?;
        values.push(score);
    }
    let best = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let choices: Vec<String> = scores.keys().cloned().collect();
    let top: Vec<&String> = choices
        .iter()
        .zip(&values)
        .filter(|(_, v)| **v == best)
        .map(|(c, _)| c)
        .collect();
    if best <= 0.0 {
        return Err(Problem::Ambiguous(
            "no choice has a target score above 0, so none is right".to_owned(),
        ));
    }
    if top.len() > 1 {
        return Err(Problem::Ambiguous(format!(
            "choices {top:?} tie for the highest target score, so no single one is right"
        )));
    }
    let index = values.iter().position(|v| *v == best).unwrap_or(0);
    Ok((choices, Target::Choice(index)))
}
