//! The in-memory suite: what every file format is read into, and what prompts are prepared
//! from and outputs scored against.

use serde::Serialize;
use serde_json::{Map, Value};

/// A task suite: its description, how to prompt for it, how answers are read and scored, and
/// its items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suite {
    /// Short id (`sentiment-pt-br`); a BIG-bench task's `name`, or its file name.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// What the suite measures.
    pub description: String,
    /// Language of the items (a BCP 47 tag such as `en` or `pt-BR`); empty when unknown.
    pub language: String,
    /// License of the items, when the file says.
    pub license: Option<String>,
    /// Where the items come from, when the file says.
    pub source: Option<String>,
    /// A BIG-bench canary string, kept so that copies of the data stay recognizable.
    pub canary: Option<String>,
    /// The file (or built-in name) the suite was read from; errors name it.
    pub origin: String,
    /// The file format it was read from.
    pub format: SuiteFormat,
    /// What an answer is and how it is compared with the target.
    pub answer: AnswerKind,
    /// The metric reported for the suite.
    pub metric: Metric,
    /// System message for chat targets (also the first paragraph of completion prompts).
    pub system: Option<String>,
    /// How one item becomes prompt text.
    pub template: Template,
    /// Few-shot examples per prompt unless the run asks for another number.
    pub shots: u32,
    /// Most tokens a target should generate for one answer.
    pub max_tokens: u32,
    /// Stop sequences for generation.
    pub stop: Vec<String>,
    /// The items, in file order.
    pub items: Vec<Item>,
    /// Items of the file that were left out (only when loading was asked to skip items whose
    /// correct answer is ambiguous); empty otherwise.
    pub skipped: Vec<Skipped>,
}

/// The file format a suite was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SuiteFormat {
    /// A sizewise suite file (`"sizewise_suite": 1`).
    Sizewise,
    /// A BIG-bench JSON task, read as is.
    BigBench,
    /// Generated in code (the long-context suite).
    Generated,
}

/// What an answer is, and so how it is extracted from an output and compared with a target.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AnswerKind {
    /// One of a fixed set of labels, the same for every item; the target is a label.
    Label {
        /// The labels, in file order.
        labels: Vec<String>,
    },
    /// One of the item's own choices; the target is the correct choice.
    Choice,
    /// A short string compared after normalization; any of the item's targets counts.
    Exact,
    /// A number, right when within `tolerance` of the target.
    Number {
        /// Largest absolute difference still counted right (0: equal, up to a relative 1e-9).
        tolerance: f64,
    },
    /// A JSON object whose fields are compared one by one.
    Json {
        /// The fields scored; empty means every field of each item's target.
        fields: Vec<String>,
    },
    /// Free text, scored by token F1 against the target(s).
    Text,
}

impl AnswerKind {
    /// The kind's name as written in suite files (`label`, `choice`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Label { .. } => "label",
            Self::Choice => "choice",
            Self::Exact => "exact",
            Self::Number { .. } => "number",
            Self::Json { .. } => "json",
            Self::Text => "text",
        }
    }

    /// The answer length (in tokens) a suite of this kind asks for when its file names none:
    /// label 8, choice 16, exact 32, json and text 128, number 256 (room to work the
    /// problem out before the final number).
    pub fn default_max_tokens(&self) -> u32 {
        match self {
            Self::Label { .. } => 8,
            Self::Choice => 16,
            Self::Exact => 32,
            Self::Json { .. } | Self::Text => 128,
            Self::Number { .. } => 256,
        }
    }

    /// The stop sequences a suite of this kind uses when its file names none: the end of the
    /// line for one-line answers (label, choice, exact), a blank line for the others.
    pub fn default_stop(&self) -> Vec<String> {
        match self {
            Self::Label { .. } | Self::Choice | Self::Exact => vec!["\n".to_owned()],
            Self::Number { .. } | Self::Json { .. } | Self::Text => vec!["\n\n".to_owned()],
        }
    }
}

/// The metric a suite reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Share of items answered right.
    Accuracy,
    /// Mean over the labels of each label's F1 (label suites only).
    MacroF1,
    /// Share of items whose answer equals a target after normalization.
    ExactMatch,
    /// Mean SQuAD token F1 (best over each item's targets).
    TokenF1,
    /// Mean over items of the share of JSON fields right (json suites only).
    FieldAccuracy,
}

impl Metric {
    /// Every metric, in the order of the documentation.
    pub const ALL: [Metric; 5] = [
        Self::Accuracy,
        Self::MacroF1,
        Self::ExactMatch,
        Self::TokenF1,
        Self::FieldAccuracy,
    ];

    /// The metric's name as written in suite files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Accuracy => "accuracy",
            Self::MacroF1 => "macro_f1",
            Self::ExactMatch => "exact_match",
            Self::TokenF1 => "token_f1",
            Self::FieldAccuracy => "field_accuracy",
        }
    }

    /// The metric called `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The metric a suite of this kind reports when its file names none.
    pub fn default_for(kind: &AnswerKind) -> Self {
        match kind {
            AnswerKind::Label { .. } | AnswerKind::Choice | AnswerKind::Number { .. } => {
                Self::Accuracy
            }
            AnswerKind::Exact => Self::ExactMatch,
            AnswerKind::Json { .. } => Self::FieldAccuracy,
            AnswerKind::Text => Self::TokenF1,
        }
    }

    /// Whether this metric can be computed for answers of `kind`.
    pub fn fits(self, kind: &AnswerKind) -> bool {
        match self {
            Self::Accuracy | Self::ExactMatch => true,
            Self::MacroF1 => matches!(kind, AnswerKind::Label { .. }),
            Self::TokenF1 => matches!(kind, AnswerKind::Exact | AnswerKind::Text),
            Self::FieldAccuracy => matches!(kind, AnswerKind::Json { .. }),
        }
    }
}

/// How one item becomes prompt text.
///
/// An item renders as `prompt` with `{input}` replaced by the item's input, `{choices}` by
/// its choices (each preceded by `choice_prefix`) and `{labels}` by the labels joined with
/// ", ". A completion prompt is the system message and a blank line (if any), then
/// `preamble`, each few-shot example (rendered item, a space unless the rendering ends in
/// whitespace, the answer) followed by `separator`, and the rendered item, without leading
/// whitespace or trailing spaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Template {
    /// Text before the first example (a BIG-bench `task_prefix`); usually empty.
    pub preamble: String,
    /// One item's prompt, with placeholders.
    pub prompt: String,
    /// Between few-shot examples and before the item.
    pub separator: String,
    /// Before each choice where `{choices}` stands.
    pub choice_prefix: String,
}

/// One item of a suite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// Position in the suite (0-based, file order).
    pub index: usize,
    /// Unique id within the suite.
    pub id: String,
    /// The input the prompt is built around.
    pub input: String,
    /// The item's choices (choice suites only; empty otherwise).
    pub choices: Vec<String>,
    /// The correct answer.
    pub target: Target,
    /// Any other fields of the item, kept as they are (for example `steps`).
    pub meta: Map<String, Value>,
}

/// The correct answer of an item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Target {
    /// Index into the suite's labels.
    Label(usize),
    /// Index into the item's choices.
    Choice(usize),
    /// A number.
    Number(f64),
    /// A JSON object.
    Json(Map<String, Value>),
    /// One or more acceptable strings (exact and text suites).
    Text(Vec<String>),
}

/// An item of a file that was left out of the suite, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Its position in the file (0-based).
    pub index: usize,
    /// Its id.
    pub id: String,
    /// Why it was left out.
    pub reason: String,
}

impl Suite {
    /// The item at `index`, if there is one.
    pub fn item(&self, index: usize) -> Option<&Item> {
        self.items.get(index)
    }

    /// The candidate answers of a label or choice item (the labels, or the item's choices);
    /// empty for other kinds.
    pub fn candidates<'a>(&'a self, item: &'a Item) -> &'a [String] {
        match &self.answer {
            AnswerKind::Label { labels } => labels,
            AnswerKind::Choice => &item.choices,
            _ => &[],
        }
    }

    /// The correct answer of `item` written as a model should answer (few-shot examples use
    /// it): the label or choice, the number (no trailing `.0`), the JSON object on one line,
    /// or the first target string.
    pub fn answer_text(&self, item: &Item) -> String {
        match &item.target {
            Target::Label(i) | Target::Choice(i) => {
                self.candidates(item).get(*i).cloned().unwrap_or_default()
            }
            Target::Number(x) => format_number(*x),
            Target::Json(map) => serde_json::to_string(map).unwrap_or_default(),
            Target::Text(texts) => texts.first().cloned().unwrap_or_default(),
        }
    }

    /// The item's prompt: the template's `prompt` with its placeholders filled in.
    pub fn render(&self, item: &Item) -> String {
        let prompt = &self.template.prompt;
        let mut out = String::with_capacity(prompt.len() + item.input.len());
        let mut rest = prompt.as_str();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let tail = &rest[open..];
            if let Some(after) = tail.strip_prefix("{input}") {
                out.push_str(&item.input);
                rest = after;
            } else if let Some(after) = tail.strip_prefix("{choices}") {
                for choice in &item.choices {
                    out.push_str(&self.template.choice_prefix);
                    out.push_str(choice);
                }
                rest = after;
            } else if let Some(after) = tail.strip_prefix("{labels}") {
                out.push_str(&self.candidates(item).join(", "));
                rest = after;
            } else {
                out.push('{');
                rest = &tail[1..];
            }
        }
        out.push_str(rest);
        out
    }
}

/// A number as an answer is written: integers without a decimal part, other values in the
/// shortest form that reads back to the same number.
pub(crate) fn format_number(x: f64) -> String {
    if x == 0.0 {
        // Also turns -0 into 0.
        return "0".to_owned();
    }
    format!("{x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suite(prompt: &str, answer: AnswerKind) -> Suite {
        Suite {
            id: "t".into(),
            title: "t".into(),
            description: String::new(),
            language: "en".into(),
            license: None,
            source: None,
            canary: None,
            origin: "t.json".into(),
            format: SuiteFormat::Sizewise,
            metric: Metric::default_for(&answer),
            answer,
            system: None,
            template: Template {
                preamble: String::new(),
                prompt: prompt.into(),
                separator: "\n\n".into(),
                choice_prefix: "\n- ".into(),
            },
            shots: 0,
            max_tokens: 8,
            stop: vec![],
            items: vec![],
            skipped: vec![],
        }
    }

    fn item(input: &str, choices: &[&str], target: Target) -> Item {
        Item {
            index: 0,
            id: "a".into(),
            input: input.into(),
            choices: choices.iter().map(|c| c.to_string()).collect(),
            target,
            meta: Map::new(),
        }
    }

    #[test]
    fn renders_placeholders_once_and_leaves_other_braces() {
        let s = suite("Q {x}: {input}{choices}\nA:", AnswerKind::Choice);
        let it = item("what is {labels}?", &["one", "two"], Target::Choice(1));
        assert_eq!(s.render(&it), "Q {x}: what is {labels}?\n- one\n- two\nA:");
        assert_eq!(s.answer_text(&it), "two");
        let s = suite(
            "{input} ({labels})",
            AnswerKind::Label {
                labels: vec!["yes".into(), "no".into()],
            },
        );
        assert_eq!(s.render(&item("ok", &[], Target::Label(1))), "ok (yes, no)");
    }

    #[test]
    fn answers_are_written_plainly() {
        let s = suite("{input}", AnswerKind::Number { tolerance: 0.0 });
        assert_eq!(s.answer_text(&item("", &[], Target::Number(6.0))), "6");
        assert_eq!(
            s.answer_text(&item("", &[], Target::Number(58.46))),
            "58.46"
        );
        assert_eq!(s.answer_text(&item("", &[], Target::Number(-0.0))), "0");
        let mut map = Map::new();
        map.insert("name".into(), Value::Null);
        map.insert("amount".into(), serde_json::json!(18000));
        let s = suite("{input}", AnswerKind::Json { fields: vec![] });
        assert_eq!(
            s.answer_text(&item("", &[], Target::Json(map))),
            r#"{"name":null,"amount":18000}"#
        );
    }

    #[test]
    fn metric_names_round_trip_and_fit_kinds() {
        for m in Metric::ALL {
            assert_eq!(Metric::from_name(m.name()), Some(m));
        }
        assert_eq!(Metric::from_name("f1"), None);
        assert!(!Metric::MacroF1.fits(&AnswerKind::Choice));
        assert!(Metric::TokenF1.fits(&AnswerKind::Text));
        assert!(!Metric::FieldAccuracy.fits(&AnswerKind::Text));
    }
}
