//! The sizewise suite format (`"sizewise_suite": 1`): reading and validating one file and its
//! items (inline, or in a JSONL file named by `items_file`).

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::error::{EvalError, ItemRef, Result};
use crate::jsonval::{kind_of, opt_str, opt_str_list, opt_u32, str_or_list};
use crate::suite::{AnswerKind, Item, Metric, Suite, SuiteFormat, Target, Template};
use crate::text::{fold, normalize};

/// The format version this crate reads.
pub const FORMAT_VERSION: u64 = 1;

/// Separator between few-shot examples when the file names none.
const DEFAULT_SEPARATOR: &str = "\n\n";
/// What precedes each choice where `{choices}` stands, when the file names nothing.
const DEFAULT_CHOICE_PREFIX: &str = "\n- ";

const KEYS: [&str; 19] = [
    "sizewise_suite",
    "id",
    "title",
    "description",
    "language",
    "license",
    "source",
    "canary",
    "answer",
    "system",
    "prompt",
    "separator",
    "choice_prefix",
    "shots",
    "max_tokens",
    "stop",
    "metric",
    "items",
    "items_file",
];

const KINDS: [&str; 6] = ["label", "choice", "exact", "number", "json", "text"];

/// Reads a JSONL items file: given the `items_file` value, its display name and its text.
pub(crate) type ItemsLoader<'a> = &'a dyn Fn(&str) -> Result<(String, String)>;

/// Reads a sizewise suite from its parsed JSON object. `file` names the suite in errors.
pub(crate) fn parse(
    obj: &Map<String, Value>,
    file: &str,
    load_items: ItemsLoader<'_>,
) -> Result<Suite> {
    let err = |problem: String| EvalError::Suite {
        file: file.to_owned(),
        problem,
    };
    if let Some(key) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(err(format!(
            "unknown key {key:?} (a suite has {})",
            KEYS.join(", ")
        )));
    }
    match obj.get("sizewise_suite") {
        Some(v) if v.as_u64() == Some(FORMAT_VERSION) => {}
        other => {
            return Err(err(format!(
                "sizewise_suite is {}, but this version of sizewise reads format {FORMAT_VERSION}",
                other.map_or_else(|| "missing".to_owned(), Value::to_string)
            )));
        }
    }
    let id = opt_str(obj, "id")
        .map_err(&err)?
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| err("id is missing or empty".to_owned()))?
        .to_owned();
    let text = |key: &str| -> Result<Option<String>> {
        Ok(opt_str(obj, key).map_err(&err)?.map(str::to_owned))
    };
    let answer = match obj.get("answer") {
        Some(v) => parse_answer(v).map_err(|p| err(format!("answer: {p}")))?,
        None => {
            return Err(err(
                "answer is missing (for example {\"kind\": \"label\", \"labels\": [...]})"
                    .to_owned(),
            ));
        }
    };
    let metric = match opt_str(obj, "metric").map_err(&err)? {
        None => Metric::default_for(&answer),
        Some(name) => Metric::from_name(name).ok_or_else(|| {
            err(format!(
                "unknown metric {name:?} (one of {})",
                Metric::ALL.map(Metric::name).join(", ")
            ))
        })?,
    };
    if !metric.fits(&answer) {
        return Err(err(format!(
            "metric {} does not apply to answer kind {}",
            metric.name(),
            answer.name()
        )));
    }
    let prompt = text("prompt")?.ok_or_else(|| err("prompt is missing".to_owned()))?;
    check_prompt(&prompt, &answer).map_err(&err)?;
    let stop = opt_str_list(obj, "stop").map_err(&err)?;
    if stop
        .as_ref()
        .is_some_and(|s| s.iter().any(String::is_empty))
    {
        return Err(err("stop has an empty string".to_owned()));
    }
    let max_tokens = opt_u32(obj, "max_tokens").map_err(&err)?;
    if max_tokens == Some(0) {
        return Err(err("max_tokens must be at least 1".to_owned()));
    }

    let items = match (obj.get("items"), opt_str(obj, "items_file").map_err(&err)?) {
        (Some(_), Some(_)) => {
            return Err(err("has both items and items_file; keep one".to_owned()));
        }
        (None, None) => {
            return Err(err(
                "has no items (an items array or an items_file)".to_owned()
            ));
        }
        (Some(Value::Array(values)), None) => {
            let mut items = Items::new(&answer, file);
            for (i, v) in values.iter().enumerate() {
                items.push(v, ItemRef::new(i, None))?;
            }
            items.items
        }
        (Some(other), None) => {
            return Err(err(format!(
                "items must be an array, not {}",
                kind_of(other)
            )));
        }
        (None, Some(name)) => {
            let (items_file, content) = load_items(name)?;
            parse_jsonl(&answer, &content, &items_file)?
        }
    };
    if items.is_empty() {
        return Err(err("has no items".to_owned()));
    }

    Ok(Suite {
        title: text("title")?.unwrap_or_else(|| id.clone()),
        id,
        description: text("description")?.unwrap_or_default(),
        language: text("language")?.unwrap_or_default(),
        license: text("license")?,
        source: text("source")?,
        canary: text("canary")?,
        origin: file.to_owned(),
        format: SuiteFormat::Sizewise,
        system: text("system")?.filter(|s| !s.trim().is_empty()),
        template: Template {
            preamble: String::new(),
            prompt,
            separator: text("separator")?.unwrap_or_else(|| DEFAULT_SEPARATOR.to_owned()),
            choice_prefix: text("choice_prefix")?
                .unwrap_or_else(|| DEFAULT_CHOICE_PREFIX.to_owned()),
        },
        shots: opt_u32(obj, "shots").map_err(&err)?.unwrap_or(0),
        max_tokens: max_tokens.unwrap_or_else(|| answer.default_max_tokens()),
        stop: stop.unwrap_or_else(|| answer.default_stop()),
        metric,
        answer,
        items,
        skipped: Vec::new(),
    })
}

fn check_prompt(prompt: &str, answer: &AnswerKind) -> Result<(), String> {
    if !prompt.contains("{input}") {
        return Err("prompt has no {input} placeholder".to_owned());
    }
    if prompt.contains("{choices}") && !matches!(answer, AnswerKind::Choice) {
        return Err(format!(
            "prompt has {{choices}}, but answer kind {} has no per-item choices",
            answer.name()
        ));
    }
    if prompt.contains("{labels}") && !matches!(answer, AnswerKind::Label { .. }) {
        return Err(format!(
            "prompt has {{labels}}, but answer kind {} has no labels",
            answer.name()
        ));
    }
    Ok(())
}

fn parse_answer(v: &Value) -> Result<AnswerKind, String> {
    let Value::Object(obj) = v else {
        return Err(format!("must be an object, not {}", kind_of(v)));
    };
    let kind = opt_str(obj, "kind")?.ok_or("kind is missing")?;
    let allowed: &[&str] = match kind {
        "label" => &["kind", "labels"],
        "number" => &["kind", "tolerance"],
        "json" => &["kind", "fields"],
        "choice" | "exact" | "text" => &["kind"],
        other => {
            return Err(format!(
                "unknown kind {other:?} (one of {})",
                KINDS.join(", ")
            ));
        }
    };
    if let Some(key) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!("{key:?} does not apply to kind {kind}"));
    }
    Ok(match kind {
        "label" => {
            let labels = opt_str_list(obj, "labels")?.ok_or("kind label needs labels")?;
            check_candidates(&labels, "labels")?;
            AnswerKind::Label { labels }
        }
        "number" => {
            let tolerance = match obj.get("tolerance") {
                None | Some(Value::Null) => 0.0,
                Some(t) => t
                    .as_f64()
                    .filter(|t| t.is_finite() && *t >= 0.0)
                    .ok_or_else(|| format!("tolerance must be a number from 0 up, not {t}"))?,
            };
            AnswerKind::Number { tolerance }
        }
        "json" => {
            let fields = opt_str_list(obj, "fields")?.unwrap_or_default();
            if fields.iter().any(|f| f.is_empty()) {
                return Err("fields has an empty name".to_owned());
            }
            if let Some(dup) = first_duplicate(fields.iter().map(String::as_str)) {
                return Err(format!("fields names {dup:?} twice"));
            }
            AnswerKind::Json { fields }
        }
        "choice" => AnswerKind::Choice,
        "exact" => AnswerKind::Exact,
        _ => AnswerKind::Text,
    })
}

/// Labels or choices: at least two, each with a letter or digit, none twice (ignoring case
/// and accents, since answers are matched that way).
fn check_candidates(candidates: &[String], what: &str) -> Result<(), String> {
    if candidates.len() < 2 {
        return Err(format!("{what} needs at least two entries"));
    }
    if let Some(bad) = candidates
        .iter()
        .find(|c| !c.chars().any(char::is_alphanumeric))
    {
        return Err(format!("{what} entry {bad:?} has no letter or digit"));
    }
    let folded: Vec<String> = candidates.iter().map(|c| fold(c.trim())).collect();
    if let Some(dup) = first_duplicate(folded.iter().map(String::as_str)) {
        return Err(format!(
            "{what} has {dup:?} twice (ignoring case and accents)"
        ));
    }
    Ok(())
}

fn first_duplicate<'a>(names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut seen = std::collections::HashSet::new();
    names.into_iter().find(|n| !seen.insert(*n))
}

/// Items read so far, with the ids they use.
struct Items<'a> {
    answer: &'a AnswerKind,
    file: &'a str,
    items: Vec<Item>,
    seen: HashMap<String, ItemRef>,
}

impl<'a> Items<'a> {
    fn new(answer: &'a AnswerKind, file: &'a str) -> Self {
        Self {
            answer,
            file,
            items: Vec::new(),
            seen: HashMap::new(),
        }
    }

    /// Reads one more item; its id must be new.
    fn push(&mut self, value: &Value, at: ItemRef) -> Result<()> {
        let item = parse_item(self.answer, value, at.clone(), self.file)?;
        let at = ItemRef {
            id: Some(item.id.clone()),
            ..at
        };
        if let Some(first) = self.seen.get(&item.id) {
            return Err(EvalError::Item {
                file: self.file.to_owned(),
                item: at,
                problem: format!("duplicate id: {first} has the same id"),
            });
        }
        self.seen.insert(item.id.clone(), at);
        self.items.push(item);
        Ok(())
    }
}

/// Reads the items of a JSONL file: one JSON object a line, blank lines skipped.
fn parse_jsonl(answer: &AnswerKind, content: &str, file: &str) -> Result<Vec<Item>> {
    let mut items = Items::new(answer, file);
    for (n, line) in content.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = ItemRef {
            index: items.items.len(),
            id: None,
            line: Some(n + 1),
        };
        let value: Value = serde_json::from_str(line).map_err(|source| EvalError::ItemJson {
            file: file.to_owned(),
            item: at.clone(),
            source,
        })?;
        items.push(&value, at)?;
    }
    Ok(items.items)
}

/// Reads one item: `id`, `input`, `target`, `choices` (choice suites); other fields are kept
/// in [`Item::meta`].
fn parse_item(answer: &AnswerKind, v: &Value, mut at: ItemRef, file: &str) -> Result<Item> {
    let fail = |at: &ItemRef, problem: String| EvalError::Item {
        file: file.to_owned(),
        item: at.clone(),
        problem,
    };
    let Value::Object(obj) = v else {
        return Err(fail(&at, format!("must be an object, not {}", kind_of(v))));
    };
    let id = opt_str(obj, "id").map_err(|p| fail(&at, p))?.map(str::trim);
    let id = match id {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => return Err(fail(&at, "id is missing or empty".to_owned())),
    };
    at.id = Some(id.clone());
    let input = opt_str(obj, "input")
        .map_err(|p| fail(&at, p))?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| fail(&at, "input is missing or empty".to_owned()))?
        .to_owned();
    let choices = match (
        answer,
        opt_str_list(obj, "choices").map_err(|p| fail(&at, p))?,
    ) {
        (AnswerKind::Choice, Some(choices)) => {
            check_candidates(&choices, "choices").map_err(|p| fail(&at, p))?;
            choices
        }
        (AnswerKind::Choice, None) => {
            return Err(fail(&at, "kind choice needs the item's choices".to_owned()));
        }
        (_, Some(_)) => {
            return Err(fail(
                &at,
                format!("choices does not apply to answer kind {}", answer.name()),
            ));
        }
        (_, None) => Vec::new(),
    };
    let raw = obj
        .get("target")
        .filter(|t| !t.is_null() || matches!(answer, AnswerKind::Json { .. }))
        .ok_or_else(|| fail(&at, "target is missing".to_owned()))?;
    let target = parse_target(answer, raw, &choices).map_err(|p| fail(&at, p))?;
    let meta = obj
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "id" | "input" | "target" | "choices"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(Item {
        index: at.index,
        id,
        input,
        choices,
        target,
        meta,
    })
}

fn parse_target(answer: &AnswerKind, raw: &Value, choices: &[String]) -> Result<Target, String> {
    match answer {
        AnswerKind::Label { labels } => {
            let Value::String(t) = raw else {
                return Err(format!("target must be a label, not {}", kind_of(raw)));
            };
            labels
                .iter()
                .position(|l| l == t)
                .map(Target::Label)
                .ok_or_else(|| format!("target {t:?} is not one of the labels {labels:?}"))
        }
        AnswerKind::Choice => match raw {
            Value::String(t) => choices
                .iter()
                .position(|c| c == t)
                .map(Target::Choice)
                .ok_or_else(|| format!("target {t:?} is not one of the choices {choices:?}")),
            Value::Number(n) => n
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .filter(|&i| i < choices.len())
                .map(Target::Choice)
                .ok_or_else(|| {
                    format!(
                        "target {n} is not a choice index (0 to {})",
                        choices.len().saturating_sub(1)
                    )
                }),
            other => Err(format!(
                "target must be a choice or its index, not {}",
                kind_of(other)
            )),
        },
        AnswerKind::Number { .. } => raw
            .as_f64()
            .filter(|x| x.is_finite())
            .map(Target::Number)
            .ok_or_else(|| format!("target must be a number, not {raw}")),
        AnswerKind::Json { fields } => {
            let Value::Object(map) = raw else {
                return Err(format!(
                    "target must be a JSON object, not {}",
                    kind_of(raw)
                ));
            };
            if let Some(missing) = fields.iter().find(|f| !map.contains_key(*f)) {
                return Err(format!(
                    "target has no field {missing:?} (write null for a value the input does not give)"
                ));
            }
            if map.is_empty() {
                return Err("target is an empty object".to_owned());
            }
            Ok(Target::Json(map.clone()))
        }
        AnswerKind::Exact | AnswerKind::Text => {
            let texts = str_or_list(raw, "target")?;
            if let Some(bad) = texts.iter().find(|t| normalize(t).is_empty()) {
                return Err(format!("target {bad:?} has no letter or digit"));
            }
            Ok(Target::Text(texts))
        }
    }
}
