//! Scoring one item: the answer read from a model's output (strictly and flexibly) or chosen
//! by log-probabilities, whether it is right, and the item's metric value.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{EvalError, Result};
use crate::extract::{
    answer_span, candidate_flexible, candidate_strict, comma_decimal, first_line, json_flexible,
    json_strict, number_flexible, number_strict,
};
use crate::suite::{AnswerKind, Item, Metric, Suite, Target};
use crate::text::{contains_words, fold, normalize, token_f1};

/// An answer read from an output (or chosen by log-probability).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Answer {
    /// One of the item's candidates (a label or a choice).
    Candidate {
        /// Its index among the candidates.
        index: usize,
        /// Its text.
        text: String,
    },
    /// A number.
    Number(f64),
    /// A JSON object.
    Json(Map<String, Value>),
    /// A piece of text (exact and text suites).
    Text(String),
}

/// The result of one way of reading an output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The answer read, or `None` when the output held none.
    pub answer: Option<Answer>,
    /// Whether it is right: the right label, choice or number, every JSON field right, or
    /// (exact and text suites) equal to a target after normalization.
    pub correct: bool,
    /// The item's value for the suite's metric: 1 or 0 for accuracy, exact match and macro F1
    /// (whose value is computed over all items), the token F1, or the share of JSON fields
    /// right.
    pub value: f64,
}

impl Outcome {
    fn none() -> Self {
        Self {
            answer: None,
            correct: false,
            value: 0.0,
        }
    }

    fn binary(answer: Option<Answer>, correct: bool) -> Self {
        Self {
            answer,
            correct,
            value: if correct { 1.0 } else { 0.0 },
        }
    }
}

/// One item scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// The item's index in its suite.
    pub index: usize,
    /// The item's id.
    pub id: String,
    /// Strict reading: the whole trimmed output must be exactly one valid answer. For
    /// log-probability scoring, the candidate with the highest log-probability.
    pub strict: Outcome,
    /// Flexible reading: the answer found in the output (the first label as a word, the last
    /// number, the first JSON object, the text after "Answer:"...). For log-probability
    /// scoring, the same as `strict`.
    pub flexible: Outcome,
    /// Log-probability scoring only: the candidate with the highest log-probability per
    /// character (lm-evaluation-harness's `acc_norm`).
    pub norm: Option<Outcome>,
}

/// Scores a model's `output` for `item` of `suite`, reading it both strictly and flexibly.
///
/// Labels and choices are matched ignoring case (flexibly also accents, as whole words);
/// numbers are read with `,` and `.` separators in the suite language's convention and are
/// right within the suite's tolerance; JSON fields are right when a string matches ignoring
/// case, accents and surrounding spaces, a number is numerically equal (a numeric string
/// counts), and a null is null; exact answers are compared after SQuAD normalization (the
/// flexible reading accepts a target contained, as whole words, in the text after
/// "Answer:" or in the first line).
pub fn score_text(suite: &Suite, item: &Item, output: &str) -> Scored {
    let (strict, flexible) = match &suite.answer {
        AnswerKind::Label { .. } | AnswerKind::Choice => {
            let candidates = suite.candidates(item);
            let outcome = |found: Option<usize>| {
                let correct = match (&item.target, found) {
                    (Target::Label(t) | Target::Choice(t), Some(i)) => *t == i,
                    _ => false,
                };
                let answer = found.and_then(|index| {
                    candidates.get(index).map(|text| Answer::Candidate {
                        index,
                        text: text.clone(),
                    })
                });
                Outcome::binary(answer, correct)
            };
            (
                outcome(candidate_strict(output, candidates)),
                outcome(candidate_flexible(output, candidates)),
            )
        }
        AnswerKind::Number { tolerance } => {
            let cd = comma_decimal(&suite.language);
            let outcome = |found: Option<f64>| {
                let correct = match (&item.target, found) {
                    (Target::Number(t), Some(x)) => numbers_match(x, *t, *tolerance),
                    _ => false,
                };
                Outcome::binary(found.map(Answer::Number), correct)
            };
            (
                outcome(number_strict(output, cd)),
                outcome(number_flexible(output, cd)),
            )
        }
        AnswerKind::Json { fields } => {
            let cd = comma_decimal(&suite.language);
            let outcome = |found: Option<Map<String, Value>>| match (&item.target, found) {
                (Target::Json(target), Some(got)) => {
                    let (right, total) = json_fields_right(target, &got, fields, cd);
                    Outcome {
                        value: if total == 0 {
                            0.0
                        } else {
                            right as f64 / total as f64
                        },
                        correct: total > 0 && right == total,
                        answer: Some(Answer::Json(got)),
                    }
                }
                (_, found) => Outcome {
                    answer: found.map(Answer::Json),
                    ..Outcome::none()
                },
            };
            (outcome(json_strict(output)), outcome(json_flexible(output)))
        }
        AnswerKind::Exact | AnswerKind::Text => {
            let targets: &[String] = match &item.target {
                Target::Text(t) => t,
                _ => &[],
            };
            let whole = output.trim();
            let whole = (!whole.is_empty()).then_some(whole);
            let strict = text_outcome(suite.metric, targets, whole, &[]);
            let span = answer_span(output);
            let flexible = if matches!(suite.answer, AnswerKind::Exact) {
                let line = first_line(output);
                let places: Vec<&str> = [span.as_deref(), line.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect();
                text_outcome(suite.metric, targets, places.first().copied(), &places)
            } else {
                text_outcome(suite.metric, targets, span.as_deref().or(whole), &[])
            };
            (strict, flexible)
        }
    };
    Scored {
        index: item.index,
        id: item.id.clone(),
        strict,
        flexible,
        norm: None,
    }
}

/// Scores a label or choice item by the log-probability a model gives each candidate
/// continuation (in the order of [`crate::Prepared::continuations`]): the highest wins (the
/// first of equals; NaN never wins), and `norm` divides each by the candidate's length in
/// characters, counting the leading space as lm-evaluation-harness does.
pub fn score_logprobs(suite: &Suite, item: &Item, logprobs: &[f64]) -> Result<Scored> {
    if !matches!(suite.answer, AnswerKind::Label { .. } | AnswerKind::Choice) {
        return Err(EvalError::NotMultipleChoice {
            suite: suite.id.clone(),
            file: suite.origin.clone(),
            kind: suite.answer.name(),
        });
    }
    let candidates = suite.candidates(item);
    if candidates.len() != logprobs.len() {
        return Err(EvalError::LogprobCount {
            suite: suite.id.clone(),
            file: suite.origin.clone(),
            item: item.id.clone(),
            expected: candidates.len(),
            got: logprobs.len(),
        });
    }
    let target = match item.target {
        Target::Label(t) | Target::Choice(t) => Some(t),
        _ => None,
    };
    let pick = |score: &dyn Fn(usize, f64) -> f64| {
        let mut best: Option<(usize, f64)> = None;
        for (i, lp) in logprobs.iter().enumerate() {
            let s = score(i, *lp);
            if s.is_nan() {
                continue;
            }
            if best.is_none_or(|(_, b)| s > b) {
                best = Some((i, s));
            }
        }
        let found = best.map(|(i, _)| i);
        let answer = found.and_then(|index| {
            candidates.get(index).map(|text| Answer::Candidate {
                index,
                text: text.clone(),
            })
        });
        Outcome::binary(answer, found.is_some() && found == target)
    };
    let raw = pick(&|_, lp| lp);
    let norm = pick(&|i, lp| {
        let chars = candidates.get(i).map_or(0, |c| c.chars().count()) + 1;
        lp / chars as f64
    });
    Ok(Scored {
        index: item.index,
        id: item.id.clone(),
        strict: raw.clone(),
        flexible: raw,
        norm: Some(norm),
    })
}

/// Whether `x` is within `tolerance` of `target` (or equal up to a relative 1e-9).
pub(crate) fn numbers_match(x: f64, target: f64, tolerance: f64) -> bool {
    (x - target).abs() <= tolerance.max(1e-9 * target.abs().max(1.0))
}

/// An exact or text answer `shown` compared with the targets: right when equal to one after
/// normalization, or when one is contained, as whole words, in one of `contained_in`.
fn text_outcome(
    metric: Metric,
    targets: &[String],
    shown: Option<&str>,
    contained_in: &[&str],
) -> Outcome {
    let Some(shown) = shown else {
        return Outcome::none();
    };
    let norm = normalize(shown);
    let correct = targets.iter().any(|t| normalize(t) == norm)
        || contained_in.iter().any(|place| {
            let place = normalize(place);
            targets
                .iter()
                .any(|t| contains_words(&place, &normalize(t)))
        });
    let value = match metric {
        Metric::TokenF1 => targets
            .iter()
            .map(|t| token_f1(shown, t))
            .fold(0.0, f64::max),
        _ if correct => 1.0,
        _ => 0.0,
    };
    Outcome {
        answer: Some(Answer::Text(shown.to_owned())),
        correct,
        value,
    }
}

/// How many of the scored JSON fields `got` has right, and how many are scored.
fn json_fields_right(
    target: &Map<String, Value>,
    got: &Map<String, Value>,
    fields: &[String],
    comma_decimal: bool,
) -> (usize, usize) {
    let names: Vec<&String> = if fields.is_empty() {
        target.keys().collect()
    } else {
        fields.iter().collect()
    };
    let right = names
        .iter()
        .filter(|name| {
            target
                .get(name.as_str())
                .is_some_and(|t| field_right(t, got.get(name.as_str()), comma_decimal))
        })
        .count();
    (right, names.len())
}

fn field_right(target: &Value, got: Option<&Value>, comma_decimal: bool) -> bool {
    match (target, got) {
        (Value::Null, got) => matches!(got, Some(Value::Null)),
        (Value::String(t), Some(Value::String(g))) => squash(t) == squash(g),
        (Value::Number(t), Some(g)) => match (t.as_f64(), json_number(g, comma_decimal)) {
            (Some(t), Some(g)) => numbers_match(g, t, 0.0),
            _ => false,
        },
        (t, g) => g == Some(t),
    }
}

/// Case, accents, surrounding and repeated spaces removed.
fn squash(s: &str) -> String {
    fold(s).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A JSON number, or a string that is one number (a currency sign before it allowed).
fn json_number(v: &Value, comma_decimal: bool) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let s = s.trim();
            let s = ["US$", "R$", "$", "€", "£", "¥"]
                .iter()
                .find_map(|sign| s.strip_prefix(sign))
                .unwrap_or(s);
            number_strict(s, comma_decimal)
        }
        _ => None,
    }
}
