//! The built-in suites: files under `suites/` embedded in the library, and the generated
//! long-context suite. Each folder there has the license and attribution of its data.

use serde::Serialize;

use crate::error::{EvalError, Result};
use crate::load::{LoadOptions, parse_inner};
use crate::long_context::{LONG_CONTEXT_SEED, long_context_suite};
use crate::suite::Suite;

/// The ids of the built-in suites, in the order [`builtin_list`] gives them.
pub const BUILTIN_IDS: [&str; 10] = [
    "sentiment",
    "sentiment-amazon",
    "sentiment-pt-br",
    "intent",
    "general-knowledge",
    "entailment",
    "sports",
    "extraction-json",
    "arithmetic",
    "long-context",
];

/// Few-shot examples per prompt of the built-in BIG-bench suites.
const BIGBENCH_SHOTS: u32 = 2;

/// Every embedded file, by its path under `suites/`.
const FILES: [(&str, &str); 14] = [
    (
        "vader/sentiment.json",
        include_str!("../suites/vader/sentiment.json"),
    ),
    (
        "vader/sentiment.jsonl",
        include_str!("../suites/vader/sentiment.jsonl"),
    ),
    (
        "vader/sentiment-amazon.json",
        include_str!("../suites/vader/sentiment-amazon.json"),
    ),
    (
        "vader/sentiment-amazon.jsonl",
        include_str!("../suites/vader/sentiment-amazon.jsonl"),
    ),
    (
        "sizewise/sentiment-pt-br.json",
        include_str!("../suites/sizewise/sentiment-pt-br.json"),
    ),
    (
        "sizewise/sentiment-pt-br.jsonl",
        include_str!("../suites/sizewise/sentiment-pt-br.jsonl"),
    ),
    (
        "sizewise/extraction-json.json",
        include_str!("../suites/sizewise/extraction-json.json"),
    ),
    (
        "sizewise/extraction-json.jsonl",
        include_str!("../suites/sizewise/extraction-json.jsonl"),
    ),
    (
        "sizewise/arithmetic.json",
        include_str!("../suites/sizewise/arithmetic.json"),
    ),
    (
        "sizewise/arithmetic.jsonl",
        include_str!("../suites/sizewise/arithmetic.jsonl"),
    ),
    (
        "bigbench/intent_recognition.json",
        include_str!("../suites/bigbench/intent_recognition.json"),
    ),
    (
        "bigbench/general_knowledge.json",
        include_str!("../suites/bigbench/general_knowledge.json"),
    ),
    (
        "bigbench/entailed_polarity.json",
        include_str!("../suites/bigbench/entailed_polarity.json"),
    ),
    (
        "bigbench/sports_understanding.json",
        include_str!("../suites/bigbench/sports_understanding.json"),
    ),
];

/// Where a built-in suite comes from.
enum Definition {
    /// A sizewise suite file under `suites/`.
    Sizewise(&'static str),
    /// A BIG-bench task file under `suites/bigbench/`, and the title to show.
    BigBench(&'static str, &'static str),
    /// The generated long-context suite.
    LongContext,
}

fn definition(id: &str) -> Option<Definition> {
    Some(match id {
        "sentiment" => Definition::Sizewise("vader/sentiment.json"),
        "sentiment-amazon" => Definition::Sizewise("vader/sentiment-amazon.json"),
        "sentiment-pt-br" => Definition::Sizewise("sizewise/sentiment-pt-br.json"),
        "extraction-json" => Definition::Sizewise("sizewise/extraction-json.json"),
        "arithmetic" => Definition::Sizewise("sizewise/arithmetic.json"),
        "intent" => Definition::BigBench(
            "bigbench/intent_recognition.json",
            "Intent of voice-assistant requests, 7 intents (BIG-bench intent_recognition)",
        ),
        "general-knowledge" => Definition::BigBench(
            "bigbench/general_knowledge.json",
            "General knowledge questions (BIG-bench general_knowledge)",
        ),
        "entailment" => Definition::BigBench(
            "bigbench/entailed_polarity.json",
            "Yes or no from an entailed fact (BIG-bench entailed_polarity)",
        ),
        "sports" => Definition::BigBench(
            "bigbench/sports_understanding.json",
            "Plausible or implausible sports sentences (BIG-bench sports_understanding)",
        ),
        "long-context" => Definition::LongContext,
        _ => return None,
    })
}

fn embedded(path: &str) -> Option<&'static str> {
    FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, text)| *text)
}

/// How errors and [`Suite::origin`] name an embedded file.
fn origin(path: &str) -> String {
    format!("builtin:{path}")
}

/// The built-in suite `id` (one of [`BUILTIN_IDS`]). The long-context suite is generated with
/// seed [`LONG_CONTEXT_SEED`]; call [`long_context_suite`] for another seed.
///
/// The BIG-bench tasks are read as published, with examples that have no single best choice
/// left out and listed in [`Suite::skipped`] (one in general_knowledge, whose question about
/// the color of a human tongue scores both red and pink as right).
pub fn builtin(id: &str) -> Result<Suite> {
    let unknown = || EvalError::UnknownBuiltin {
        id: id.to_owned(),
        known: BUILTIN_IDS.join(", "),
    };
    let definition = definition(id).ok_or_else(unknown)?;
    let (path, title) = match definition {
        Definition::LongContext => return Ok(long_context_suite(LONG_CONTEXT_SEED)),
        Definition::Sizewise(path) => (path, None),
        Definition::BigBench(path, title) => (path, Some(title)),
    };
    let text = embedded(path).ok_or_else(unknown)?;
    let folder = path.rsplit_once('/').map_or("", |(folder, _)| folder);
    let load_items = |name: &str| -> Result<(String, String)> {
        let items_path = format!("{folder}/{name}");
        embedded(&items_path)
            .map(|text| (origin(&items_path), text.to_owned()))
            .ok_or_else(|| EvalError::Suite {
                file: origin(path),
                problem: format!("items_file {name:?} is not embedded"),
            })
    };
    let options = LoadOptions {
        skip_ambiguous: true,
    };
    let mut suite = parse_inner(text, &origin(path), &options, &load_items)?;
    if let Some(title) = title {
        let task = suite.id.clone();
        suite.id = id.to_owned();
        suite.title = title.to_owned();
        suite.language = "en".to_owned();
        suite.license = Some("Apache-2.0".to_owned());
        suite.source = Some(format!(
            "BIG-bench task {task} (Srivastava et al. 2022, arXiv:2206.04615)"
        ));
        suite.shots = BIGBENCH_SHOTS;
    }
    Ok(suite)
}

/// A built-in suite as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuiltinInfo {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its answer kind (`label`, `choice`, `number`...).
    pub kind: String,
    /// How many items it has.
    pub items: usize,
    /// Language of the items.
    pub language: String,
    /// Where the items come from.
    pub source: String,
    /// License of the items.
    pub license: String,
}

/// Every built-in suite, in the order of [`BUILTIN_IDS`].
pub fn builtin_list() -> Result<Vec<BuiltinInfo>> {
    BUILTIN_IDS
        .iter()
        .map(|id| {
            let suite = builtin(id)?;
            Ok(BuiltinInfo {
                id: suite.id,
                title: suite.title,
                kind: suite.answer.name().to_owned(),
                items: suite.items.len(),
                language: suite.language,
                source: suite.source.unwrap_or_default(),
                license: suite.license.unwrap_or_default(),
            })
        })
        .collect()
}
