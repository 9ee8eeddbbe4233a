//! Reading an answer out of a model's output, strictly (the whole output is the answer) or
//! flexibly (the answer is found somewhere in it).

use serde_json::{Map, Value};

use crate::text::{find_word, fold, fold_mapped, original_offset};

/// Index of the candidate (label or choice) that the whole trimmed output is, ignoring case.
pub(crate) fn candidate_strict(output: &str, candidates: &[String]) -> Option<usize> {
    let output = output.trim().to_lowercase();
    candidates
        .iter()
        .position(|c| c.trim().to_lowercase() == output)
}

/// Index of the candidate that appears first in the output as a whole word, ignoring case
/// and accents; of two found at the same place, the longer one.
pub(crate) fn candidate_flexible(output: &str, candidates: &[String]) -> Option<usize> {
    let haystack = fold(output);
    let mut best: Option<(usize, usize, usize)> = None; // (position, length, index)
    for (index, candidate) in candidates.iter().enumerate() {
        let needle = fold(candidate.trim());
        if let Some(at) = find_word(&haystack, &needle) {
            let better = best
                .is_none_or(|(b_at, b_len, _)| at < b_at || (at == b_at && needle.len() > b_len));
            if better {
                best = Some((at, needle.len(), index));
            }
        }
    }
    best.map(|(_, _, index)| index)
}

/// Whether numbers written in `language` (a BCP 47 tag) use a decimal comma, which decides
/// how `1.234` and `1,234` are read. Only the primary subtag counts.
pub(crate) fn comma_decimal(language: &str) -> bool {
    const COMMA: [&str; 22] = [
        "pt", "es", "fr", "de", "it", "nl", "ru", "pl", "tr", "id", "da", "sv", "nb", "nn", "no",
        "fi", "cs", "sk", "ro", "hu", "el", "uk",
    ];
    let primary = language
        .split(['-', '_', ',', ' '])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    COMMA.contains(&primary.as_str())
}

/// The whole trimmed output as one number (an optional sign, digits, `,` or `.` separators);
/// anything else around it makes it no answer.
pub(crate) fn number_strict(output: &str, comma_decimal: bool) -> Option<f64> {
    let s = output.trim();
    let (negative, digits) = match s.chars().next() {
        Some('-' | '\u{2212}') => (true, &s[s.chars().next().map_or(0, char::len_utf8)..]),
        Some('+') => (false, &s[1..]),
        _ => (false, s),
    };
    let valid = digits.chars().next().is_some_and(|c| c.is_ascii_digit())
        && digits.chars().last().is_some_and(|c| c.is_ascii_digit())
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || c == '.')
        && !digits.contains(",,")
        && !digits.contains("..")
        && !digits.contains(",.")
        && !digits.contains(".,");
    if !valid {
        return None;
    }
    let value = parse_number_token(digits, comma_decimal)?;
    Some(if negative { -value } else { value })
}

/// The last number in the output. `1,234.56` and `1.234,56` are both 1234.56; a lone
/// separator followed by exactly three digits (`1,234`, `1.234`) is a thousands separator
/// when it is `,` (or `.` in a decimal-comma language) and a decimal point otherwise; any
/// other lone separator is a decimal point. A `-` or `−` right before the digits, not after
/// a letter or digit, makes the number negative.
pub(crate) fn number_flexible(output: &str, comma_decimal: bool) -> Option<f64> {
    numbers(output, comma_decimal).last().copied()
}

/// Every number in the text, in order (see [`number_flexible`]).
pub(crate) fn numbers(text: &str, comma_decimal: bool) -> Vec<f64> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].1.is_ascii_digit() || (i > 0 && chars[i - 1].1.is_ascii_digit()) {
            i += 1;
            continue;
        }
        let negative = i > 0
            && matches!(chars[i - 1].1, '-' | '\u{2212}')
            && (i < 2 || !chars[i - 2].1.is_alphanumeric());
        let mut j = i;
        // Digits, and separators that have a digit after them.
        while let Some(&(_, c)) = chars.get(j) {
            let separator =
                matches!(c, ',' | '.') && chars.get(j + 1).is_some_and(|(_, n)| n.is_ascii_digit());
            if !c.is_ascii_digit() && !separator {
                break;
            }
            j += 1;
        }
        let end = chars.get(j).map_or(text.len(), |(at, _)| *at);
        let token = &text[chars[i].0..end];
        match parse_number_token(token, comma_decimal) {
            Some(v) => found.push(if negative { -v } else { v }),
            // Separators that make no number (a version like 1.2.3): each run of digits
            // counts on its own.
            None => found.extend(
                token
                    .split([',', '.'])
                    .filter_map(|run| run.parse::<f64>().ok())
                    .filter(|v| v.is_finite()),
            ),
        }
        i = j;
    }
    found
}

/// Reads digits with `,` and `.` separators (each between two digits) as one number.
fn parse_number_token(token: &str, comma_decimal: bool) -> Option<f64> {
    let groups: Vec<&str> = token.split([',', '.']).collect();
    let seps: Vec<char> = token.chars().filter(|c| matches!(c, ',' | '.')).collect();
    let grouped = |groups: &[&str]| -> bool {
        // 1 to 3 digits, then groups of exactly 3 (or 2 then 3 for Indian lakh grouping,
        // which only writes commas).
        let western = groups.iter().skip(1).all(|g| g.len() == 3);
        let indian = groups.len() > 2
            && groups.last().is_some_and(|g| g.len() == 3)
            && groups[1..groups.len() - 1].iter().all(|g| g.len() == 2);
        groups
            .first()
            .is_some_and(|g| (1..=3).contains(&g.len()) && !g.starts_with('0'))
            && (western || indian)
    };
    let (integer, fraction): (String, Option<&str>) = match seps.as_slice() {
        [] => (token.to_owned(), None),
        [sep] => {
            let thousands = groups[1].len() == 3
                && groups[0].len() <= 3
                && !groups[0].starts_with('0')
                && (*sep == ',') != comma_decimal;
            if thousands {
                (groups.concat(), None)
            } else {
                (groups[0].to_owned(), Some(groups[1]))
            }
        }
        [.., last] => {
            let decimal = *last;
            let first = seps[0];
            if seps.iter().all(|s| *s == first) {
                // One kind of separator, several times: thousands separators.
                if !grouped(&groups) {
                    return None;
                }
                (groups.concat(), None)
            } else {
                // Both kinds: the last separator is the decimal point and must be the only
                // one of its kind.
                let n_decimal = seps.iter().filter(|s| **s == decimal).count();
                let (int_groups, frac) = groups.split_at(groups.len() - 1);
                if n_decimal != 1 || !grouped(int_groups) {
                    return None;
                }
                (int_groups.concat(), frac.first().copied())
            }
        }
    };
    let literal = match fraction {
        Some(f) => format!("{integer}.{f}"),
        None => integer,
    };
    literal.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The whole trimmed output as one JSON object.
pub(crate) fn json_strict(output: &str) -> Option<Map<String, Value>> {
    match serde_json::from_str(output.trim()) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// Most `{` a flexible JSON search tries as the start of an object.
const MAX_JSON_STARTS: usize = 64;

/// The first balanced `{...}` in the output that is a JSON object (also when it sits in a
/// Markdown code fence).
pub(crate) fn json_flexible(output: &str) -> Option<Map<String, Value>> {
    output
        .match_indices('{')
        .take(MAX_JSON_STARTS)
        .find_map(|(start, _)| {
            let end = balanced_end(&output[start..])?;
            match serde_json::from_str(&output[start..start + end]) {
                Ok(Value::Object(map)) => Some(map),
                _ => None,
            }
        })
}

/// Length of the balanced `{...}` at the start of `s` (braces inside JSON strings do not
/// count).
fn balanced_end(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (at, c) in s.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(at + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Phrases that introduce a final answer, folded (lowercase, no accents).
const ANSWER_MARKERS: [&str; 8] = [
    "final answer:",
    "final answer is",
    "the answer is",
    "answer:",
    "resposta final:",
    "a resposta e",
    "resposta:",
    "answer is",
];

/// The text after the last "Answer:"-like marker ("the answer is", "resposta:"...) to the end
/// of its line, or the next non-empty line when the marker ends its line; trimmed of spaces,
/// quotes, `*` and a final period.
pub(crate) fn answer_span(output: &str) -> Option<String> {
    let (folded, map) = fold_mapped(output);
    let end = ANSWER_MARKERS
        .iter()
        .filter_map(|m| folded.rfind(m).map(|at| at + m.len()))
        .max()?;
    let rest = &output[original_offset(&map, end, output.len())..];
    rest.lines()
        .map(clean_answer)
        .find(|line| !line.is_empty())
        .map(str::to_owned)
}

/// The first non-empty line of the output, cleaned like [`answer_span`].
pub(crate) fn first_line(output: &str) -> Option<String> {
    output
        .lines()
        .map(clean_answer)
        .find(|line| !line.is_empty())
        .map(str::to_owned)
}

/// A line without surrounding spaces, Markdown emphasis, quotes, a leading colon or final
/// periods.
fn clean_answer(s: &str) -> &str {
    s.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '*' | '"' | '\'' | '`' | ':'))
        .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '*' | '"' | '\'' | '`' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn labels(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn label_strict_needs_the_whole_output() {
        let l = labels(&["positive", "negative"]);
        assert_eq!(candidate_strict("  Positive \n", &l), Some(0));
        assert_eq!(candidate_strict("negative.", &l), None);
        assert_eq!(candidate_strict("The sentiment is negative", &l), None);
        let pt = labels(&["positivo", "negativo"]);
        assert_eq!(candidate_strict("NEGATIVO", &pt), Some(1));
        assert_eq!(candidate_strict("Negativo.", &pt), None);
    }

    #[test]
    fn label_flexible_takes_the_first_word_match() {
        let l = labels(&["positive", "negative"]);
        assert_eq!(
            candidate_flexible("The sentiment is negative.", &l),
            Some(1)
        );
        assert_eq!(
            candidate_flexible("**Positive** (not negative)", &l),
            Some(0)
        );
        assert_eq!(candidate_flexible("neutral", &l), None);
        let pt = labels(&["positivo", "negativo"]);
        assert_eq!(candidate_flexible("Sentimento: Negativo!", &pt), Some(1));
        assert_eq!(candidate_flexible("É POSITIVO, com certeza", &pt), Some(0));
        // A label inside a longer word does not count.
        let p = labels(&["plausible", "implausible"]);
        assert_eq!(candidate_flexible("That is implausible.", &p), Some(1));
        // Accents in the label or the output do not matter.
        let acc = labels(&["não", "sim"]);
        assert_eq!(candidate_flexible("Resposta: nao", &acc), Some(0));
        // Of two labels at the same place, the longer wins.
        let nested = labels(&["no", "no color"]);
        assert_eq!(candidate_flexible("No color at all", &nested), Some(1));
    }

    #[test]
    fn strict_numbers() {
        assert_eq!(number_strict(" 42\n", false), Some(42.0));
        assert_eq!(number_strict("-7", false), Some(-7.0));
        assert_eq!(number_strict("1,234.5", false), Some(1234.5));
        assert_eq!(number_strict("1.234,5", true), Some(1234.5));
        assert_eq!(number_strict("42.", false), None);
        assert_eq!(number_strict("$42", false), None);
        assert_eq!(number_strict("The answer is 42", false), None);
        assert_eq!(number_strict("", false), None);
        assert_eq!(number_strict("-", false), None);
    }

    #[test]
    fn flexible_numbers_take_the_last_one() {
        assert_eq!(
            number_flexible("5 friends pay 30, so each pays 6.", false),
            Some(6.0)
        );
        assert_eq!(number_flexible("Total: $1,234.56", false), Some(1234.56));
        assert_eq!(number_flexible("Total: R$ 1.234,56", true), Some(1234.56));
        assert_eq!(number_flexible("Total: R$ 1.234,56", false), Some(1234.56));
        assert_eq!(
            number_flexible("It costs 1,234 dollars", false),
            Some(1234.0)
        );
        assert_eq!(number_flexible("São 3,5 quilos", true), Some(3.5));
        assert_eq!(number_flexible("about 3,5 kg", false), Some(3.5));
        assert_eq!(number_flexible("it weighs 2.71 kg", false), Some(2.71));
        assert_eq!(number_flexible("São 1.234 pessoas", true), Some(1234.0));
        assert_eq!(number_flexible("that is 1.234", false), Some(1.234));
        assert_eq!(number_flexible("half is 0,500", false), Some(0.5));
        assert_eq!(
            number_flexible("1,234,567 people", false),
            Some(1_234_567.0)
        );
        assert_eq!(
            number_flexible("1.234.567 pessoas", true),
            Some(1_234_567.0)
        );
        assert_eq!(number_flexible("₹1,00,000 total", false), Some(100_000.0));
        assert_eq!(
            number_flexible("it fell to -12 degrees", false),
            Some(-12.0)
        );
        assert_eq!(number_flexible("pages 10-12", false), Some(12.0));
        assert_eq!(number_flexible("version 1.2.3", false), Some(3.0));
        assert_eq!(number_flexible("no digits here", false), None);
        assert_eq!(number_flexible("The answer is 42.", false), Some(42.0));
    }

    #[test]
    fn decimal_comma_languages() {
        assert!(comma_decimal("pt-BR"));
        assert!(comma_decimal("de"));
        assert!(!comma_decimal("en"));
        assert!(!comma_decimal(""));
        assert!(!comma_decimal("en, pt-BR"));
    }

    #[test]
    fn json_strict_and_flexible() {
        let plain = r#"{"name": "Ana", "amount": 3}"#;
        assert!(json_strict(plain).is_some());
        assert!(json_strict("Here: {\"a\": 1}").is_none());
        assert!(json_strict("[1, 2]").is_none());
        let fenced = "Sure! Here is the JSON:\n```json\n{\"name\": \"Ana {the} Boss\", \"n\": {\"x\": 1}}\n```\nDone.";
        let map = json_flexible(fenced).unwrap_or_default();
        assert_eq!(map.get("name"), Some(&Value::from("Ana {the} Boss")));
        assert!(json_strict(fenced).is_none());
        // A brace pair that is not JSON is passed over for the next one.
        let prose = "Fields {name, date}: {\"name\": null}";
        assert_eq!(json_flexible(prose).map(|m| m.len()), Some(1));
        assert!(json_flexible("{\"unclosed\": 1").is_none());
        assert!(json_flexible("no json").is_none());
    }

    #[test]
    fn answer_spans_and_first_lines() {
        assert_eq!(
            answer_span("Let me think.\nAnswer: **Paris**.").as_deref(),
            Some("Paris")
        );
        assert_eq!(
            answer_span("The answer is Lisbon.").as_deref(),
            Some("Lisbon")
        );
        assert_eq!(
            answer_span("A resposta é: Brasília").as_deref(),
            Some("Brasília")
        );
        assert_eq!(answer_span("Answer:\n\n  Rome\n").as_deref(), Some("Rome"));
        assert_eq!(
            answer_span("answer: one\nfinal answer: two").as_deref(),
            Some("two")
        );
        assert_eq!(answer_span("Paris"), None);
        assert_eq!(
            first_line("\n\n  Paris.\nbecause...").as_deref(),
            Some("Paris")
        );
        assert_eq!(first_line("   \n"), None);
    }

    proptest! {
        #[test]
        fn extraction_never_panics(output in ".{0,300}", lang in "[a-z]{0,3}") {
            let l = labels(&["positivo", "negativo", "não sei"]);
            let _ = candidate_strict(&output, &l);
            let _ = candidate_flexible(&output, &l);
            let cd = comma_decimal(&lang);
            let _ = number_strict(&output, cd);
            let _ = json_strict(&output);
            let _ = json_flexible(&output);
            let _ = answer_span(&output);
            let _ = first_line(&output);
            for v in numbers(&output, cd) {
                prop_assert!(v.is_finite());
            }
        }

        #[test]
        fn numbery_text_never_panics(output in "[-−0-9.,{}\" a:é]{0,80}") {
            let _ = number_flexible(&output, true);
            let _ = number_flexible(&output, false);
            let _ = number_strict(&output, false);
            let _ = json_flexible(&output);
        }

        #[test]
        fn written_integers_read_back(n in 0u64..10_000_000_000) {
            let plain = n.to_string();
            prop_assert_eq!(number_strict(&plain, false), Some(n as f64));
            prop_assert_eq!(number_flexible(&format!("so it is {plain}."), true), Some(n as f64));
        }
    }
}
