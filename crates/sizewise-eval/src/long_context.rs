//! The generated long-context suite: one fact hidden in bland filler text at a chosen depth,
//! then a question about it.

use serde_json::{Map, Value};

use crate::rng::SplitMix64;
use crate::suite::{AnswerKind, Item, Metric, Suite, SuiteFormat, Target, Template};

/// Seed of the built-in `long-context` suite.
pub const LONG_CONTEXT_SEED: u64 = 2026;

/// Lengths of the text around the fact, in (estimated) tokens.
pub const LONG_CONTEXT_TOKENS: [usize; 4] = [1_000, 4_000, 8_000, 16_000];

/// Where the fact sits, in percent of the text.
pub const LONG_CONTEXT_DEPTHS: [usize; 3] = [10, 50, 90];

/// Items per length and depth.
pub const LONG_CONTEXT_REPEATS: usize = 4;

/// Characters per token of English text assumed to size the filler.
pub const CHARS_PER_TOKEN: usize = 4;

/// Sentences the filler is made of: no digits, nothing about lockers or codes.
const FILLER: [&str; 24] = [
    "The morning light settled slowly over the quiet town.",
    "A gentle breeze moved the leaves along the empty street.",
    "Somewhere a kettle began to whistle in a small kitchen.",
    "The library opened its doors at the usual hour.",
    "Clouds drifted across the sky without any hurry.",
    "A cat slept on the windowsill, warm in the sun.",
    "The baker arranged fresh loaves in neat rows on the shelves.",
    "Children walked to school, talking about nothing in particular.",
    "An old clock ticked steadily in the hallway.",
    "The river flowed past the park at its usual calm pace.",
    "A gardener trimmed the hedges along the narrow path.",
    "The bus arrived, picked up a few passengers and moved on.",
    "Someone hung laundry on a line between two trees.",
    "The shop on the corner sold maps, pencils and postcards.",
    "Rain was expected later in the week, according to the radio.",
    "A pair of ducks paddled slowly near the edge of the pond.",
    "The neighbors exchanged greetings over the low fence.",
    "A delivery van stopped briefly outside the post office.",
    "The afternoon passed quietly, with little to report.",
    "Lamps came on one by one as evening approached.",
    "A painter added a final coat of white to the porch.",
    "The smell of coffee drifted from the open door of the cafe.",
    "Bicycles leaned against the railing near the station.",
    "The town square was swept clean before market day.",
];

/// Sentences per paragraph of filler.
const PARAGRAPH: usize = 6;

/// Builds the long-context suite for `seed`: for each length in [`LONG_CONTEXT_TOKENS`]
/// (estimated at [`CHARS_PER_TOKEN`] characters a token), each depth in
/// [`LONG_CONTEXT_DEPTHS`] and [`LONG_CONTEXT_REPEATS`] repeats, a text of filler sentences
/// drawn from a fixed list with one fact ("The access code for locker 47 is 8132.") placed at
/// the sentence boundary nearest that depth, and the question "What is the access code for
/// locker 47?". Items are ordered by length, then depth, then repeat (so a limit keeps the
/// short ones); ids read `4k-d50-3`. The same seed always gives the same suite.
pub fn long_context_suite(seed: u64) -> Suite {
    let mut rng = SplitMix64::new(seed);
    let mut items = Vec::new();
    for tokens in LONG_CONTEXT_TOKENS {
        for depth in LONG_CONTEXT_DEPTHS {
            for repeat in 1..=LONG_CONTEXT_REPEATS {
                let locker = 10 + rng.below(90);
                let code = 1000 + rng.below(9000);
                let fact = format!("The access code for locker {locker} is {code}.");
                let (text, offset) = haystack(&mut rng, tokens * CHARS_PER_TOKEN, depth, &fact);
                let mut meta = Map::new();
                meta.insert("tokens".into(), Value::from(tokens));
                meta.insert("depth_percent".into(), Value::from(depth));
                meta.insert("fact_offset".into(), Value::from(offset));
                meta.insert("chars".into(), Value::from(text.len()));
                items.push(Item {
                    index: items.len(),
                    id: format!("{}k-d{depth}-{repeat}", tokens / 1000),
                    input: format!(
                        "{text}\n\nQuestion: What is the access code for locker {locker}?"
                    ),
                    choices: Vec::new(),
                    target: Target::Number(code as f64),
                    meta,
                });
            }
        }
    }
    let answer = AnswerKind::Number { tolerance: 0.0 };
    Suite {
        id: "long-context".to_owned(),
        title: "Long context: find one fact in 1k to 16k tokens of text".to_owned(),
        description: format!(
            "One sentence (\"The access code for locker N is CODE.\") is hidden at 10%, 50% or 90% \
             of a text of bland filler sentences about 1k, 4k, 8k or 16k tokens long, and the \
             question asks for the code. Lengths are estimated at {CHARS_PER_TOKEN} characters \
             of English a token, so a tokenizer's real count differs somewhat. Generated from \
             seed {seed}."
        ),
        language: "en".to_owned(),
        license: Some("Apache-2.0".to_owned()),
        source: Some(format!("generated by sizewise (seed {seed})")),
        canary: None,
        origin: format!("long-context (generated, seed {seed})"),
        format: SuiteFormat::Generated,
        metric: Metric::Accuracy,
        system: Some(
            "You answer a question about a long text. Reply with the number only.".to_owned(),
        ),
        template: Template {
            preamble: String::new(),
            prompt: "Text:\n{input}\nAnswer:".to_owned(),
            separator: "\n\n".to_owned(),
            choice_prefix: String::new(),
        },
        shots: 0,
        max_tokens: 16,
        stop: answer.default_stop(),
        answer,
        items,
        skipped: Vec::new(),
    }
}

/// Filler sentences of about `chars` characters in all with `fact` inserted at the sentence
/// boundary nearest `depth` percent; returns the text and the fact's byte offset.
fn haystack(rng: &mut SplitMix64, chars: usize, depth: usize, fact: &str) -> (String, usize) {
    let mut sentences: Vec<&str> = Vec::new();
    let mut total = fact.len();
    let mut last = FILLER.len();
    while total < chars {
        let mut pick = rng.index(FILLER.len());
        if pick == last {
            pick = (pick + 1) % FILLER.len();
        }
        last = pick;
        sentences.push(FILLER[pick]);
        total += FILLER[pick].len() + 1;
    }
    // The boundary (before sentence `at`) whose offset is nearest the wanted depth.
    let goal = total * depth / 100;
    let mut offset = 0usize;
    let mut at = 0;
    let mut best = usize::MAX;
    for i in 0..=sentences.len() {
        let distance = offset.abs_diff(goal);
        if distance < best {
            best = distance;
            at = i;
        }
        if let Some(s) = sentences.get(i) {
            offset += s.len() + 1;
        }
    }
    sentences.insert(at, fact);
    let mut text = String::with_capacity(total + sentences.len() / PARAGRAPH);
    let mut fact_offset = 0;
    for (i, s) in sentences.iter().enumerate() {
        if i > 0 {
            text.push(if i % PARAGRAPH == 0 { '\n' } else { ' ' });
        }
        if i == at {
            fact_offset = text.len();
        }
        text.push_str(s);
    }
    (text, fact_offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_holds_its_fact_at_its_depth() {
        let suite = long_context_suite(7);
        assert_eq!(
            suite.items.len(),
            LONG_CONTEXT_TOKENS.len() * LONG_CONTEXT_DEPTHS.len() * LONG_CONTEXT_REPEATS
        );
        for item in &suite.items {
            let Target::Number(code) = item.target else {
                panic!("{} has no number target", item.id);
            };
            let fact_at = item.meta["fact_offset"].as_u64().unwrap() as usize;
            let chars = item.meta["chars"].as_u64().unwrap() as usize;
            let tokens = item.meta["tokens"].as_u64().unwrap() as usize;
            let depth = item.meta["depth_percent"].as_u64().unwrap() as f64 / 100.0;
            assert!(item.input[fact_at..].starts_with("The access code for locker "));
            assert!(item.input[fact_at..].contains(&format!(" is {code}.")));
            // Within 1% of the wanted depth, and within 2% of the wanted length.
            let at = fact_at as f64 / chars as f64;
            assert!((at - depth).abs() < 0.01, "{}: fact at {at}", item.id);
            let want = (tokens * CHARS_PER_TOKEN) as f64;
            assert!(
                (chars as f64 - want).abs() / want < 0.02,
                "{}: {chars} chars",
                item.id
            );
            // The only digits before the question are the fact's.
            let text = &item.input[..chars];
            let digits = text.chars().filter(char::is_ascii_digit).count();
            let fact_digits = text[fact_at..]
                .split('.')
                .next()
                .unwrap()
                .chars()
                .filter(char::is_ascii_digit)
                .count();
            assert_eq!(digits, fact_digits, "{}", item.id);
        }
        assert_eq!(suite.items[0].id, "1k-d10-1");
        assert!(suite.items.iter().any(|i| i.id == "4k-d50-3"));
        assert_eq!(suite.items.last().unwrap().id, "16k-d90-4");
    }

    #[test]
    fn the_same_seed_gives_the_same_suite() {
        assert_eq!(long_context_suite(1), long_context_suite(1));
        assert_ne!(long_context_suite(1).items, long_context_suite(2).items);
    }

    #[test]
    fn filler_has_no_digits_and_no_lockers() {
        for s in FILLER {
            assert!(!s.chars().any(|c| c.is_ascii_digit()), "{s}");
            assert!(!s.contains("locker") && !s.contains("code"), "{s}");
        }
    }
}
