//! The items of the two VADER suites are derived from the source files kept beside them; this
//! test derives them again and checks the committed JSONL files. Run it with
//! `SIZEWISE_EVAL_WRITE_SUITES=1` to rewrite them after a deliberate change of rule.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::PathBuf;

use serde_json::json;
use sizewise_eval::SplitMix64;

/// Seed of the Amazon sample (the year of the VADER paper).
const AMAZON_SEED: u64 = 2014;
/// Sentences per label in the Amazon sample.
const AMAZON_PER_LABEL: usize = 100;
/// Smallest distance of a mean rating from neutral (0 on the -4 to 4 scale) that is kept.
const AMAZON_MIN_RATING: f64 = 1.0;

fn vader(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("suites/vader")
        .join(name)
}

fn jsonl(rows: &[serde_json::Value]) -> String {
    rows.iter()
        .map(|r| format!("{r}\n"))
        .collect::<Vec<_>>()
        .concat()
}

/// `movie-snippets-balanced-200.tsv` (label TAB sentence) as it is, in file order.
fn movie_items() -> String {
    let tsv = fs::read_to_string(vader("movie-snippets-balanced-200.tsv")).unwrap();
    let rows: Vec<_> = tsv
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            let (label, text) = line.split_once('\t').unwrap();
            json!({"id": format!("movie-{:03}", i + 1), "input": text.trim(), "target": label})
        })
        .collect();
    jsonl(&rows)
}

/// The rule of `sentiment-amazon`, as ATTRIBUTION.md states it.
fn amazon_items() -> String {
    let text = fs::read_to_string(vader("amazonReviewSnippets_GroundTruth.txt")).unwrap();
    let mut seen = std::collections::HashSet::new();
    let (mut positive, mut negative) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let mut fields = line.splitn(3, '\t');
        let (Some(id), Some(rating), Some(sentence)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let rating: f64 = rating.trim().parse().unwrap();
        let sentence = sentence.trim();
        if rating.abs() < AMAZON_MIN_RATING || !seen.insert(sentence.to_owned()) {
            continue;
        }
        let row = (id.trim().to_owned(), rating, sentence.to_owned());
        if rating > 0.0 {
            positive.push(row);
        } else {
            negative.push(row);
        }
    }
    let mut rng = SplitMix64::new(AMAZON_SEED);
    rng.shuffle(&mut positive);
    rng.shuffle(&mut negative);
    let mut sample: Vec<_> = positive
        .into_iter()
        .take(AMAZON_PER_LABEL)
        .map(|r| (r, "positive"))
        .chain(
            negative
                .into_iter()
                .take(AMAZON_PER_LABEL)
                .map(|r| (r, "negative")),
        )
        .collect();
    rng.shuffle(&mut sample);
    let rows: Vec<_> = sample
        .into_iter()
        .map(|((id, rating, sentence), label)| {
            json!({"id": format!("amazon-{id}"), "input": sentence, "target": label, "rating": rating})
        })
        .collect();
    jsonl(&rows)
}

#[test]
fn vader_items_match_their_sources() {
    for (name, expected) in [
        ("sentiment.jsonl", movie_items()),
        ("sentiment-amazon.jsonl", amazon_items()),
    ] {
        let path = vader(name);
        if std::env::var_os("SIZEWISE_EVAL_WRITE_SUITES").is_some() {
            fs::write(&path, &expected).unwrap();
        }
        let got = fs::read_to_string(&path).unwrap();
        assert!(
            got == expected,
            "{name} is not what its source gives; run with SIZEWISE_EVAL_WRITE_SUITES=1 to rewrite it"
        );
        assert_eq!(expected.lines().count(), 200, "{name}");
        let positive = expected
            .lines()
            .filter(|l| l.contains(r#""target":"positive""#))
            .count();
        assert_eq!(positive, 100, "{name}");
    }
}
