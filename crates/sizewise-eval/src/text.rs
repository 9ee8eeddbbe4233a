//! Text normalization shared by extraction and scoring: case and accent folding, SQuAD-style
//! answer normalization, whole-word search and token F1.

use std::collections::HashMap;

/// Lowercases `s` and removes accents: the Latin letters with diacritics of the languages
/// the suites use (Portuguese, Spanish, French, German, Polish, Czech...) become their base
/// letter, and combining marks (U+0300 to U+036F) are dropped. Other characters are kept.
pub(crate) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        if ('\u{300}'..='\u{36f}').contains(&c) {
            continue;
        }
        out.push(fold_char(c));
    }
    out
}

/// [`fold`], with where each original character went: pairs of (byte offset in the folded
/// text, byte offset in `s`) at the start of every character of `s`.
pub(crate) fn fold_mapped(s: &str) -> (String, Vec<(usize, usize)>) {
    let mut out = String::with_capacity(s.len());
    let mut map = Vec::with_capacity(s.len());
    for (at, c) in s.char_indices() {
        map.push((out.len(), at));
        for c in c.to_lowercase() {
            if !('\u{300}'..='\u{36f}').contains(&c) {
                out.push(fold_char(c));
            }
        }
    }
    (out, map)
}

/// The byte offset in the original text of the first character whose folded form starts at
/// or after `folded_at` (see [`fold_mapped`]); the original length when there is none.
pub(crate) fn original_offset(
    map: &[(usize, usize)],
    folded_at: usize,
    original_len: usize,
) -> usize {
    map.iter()
        .find(|(f, _)| *f >= folded_at)
        .map_or(original_len, |(_, o)| *o)
}

fn fold_char(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'ď' | 'đ' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
        'ğ' => 'g',
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => 'i',
        'ł' => 'l',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => 'o',
        'ř' => 'r',
        'ś' | 'š' | 'ş' => 's',
        'ť' | 'ţ' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => 'u',
        'ý' | 'ÿ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        other => other,
    }
}

/// SQuAD-style answer normalization: [`fold`], every character that is neither a letter, a
/// digit nor whitespace becomes a space, the English articles "a", "an" and "the" are
/// dropped, and the words are joined by single spaces.
pub(crate) fn normalize(s: &str) -> String {
    let spaced: String = fold(s)
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    spaced
        .split_whitespace()
        .filter(|w| !matches!(*w, "a" | "an" | "the"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `needle` occurs in `haystack` as whole words, both already [`normalize`]d.
pub(crate) fn contains_words(haystack: &str, needle: &str) -> bool {
    !needle.is_empty() && format!(" {haystack} ").contains(&format!(" {needle} "))
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Byte offset of the first occurrence of `needle` in `haystack` that is a whole word: the
/// characters around it (if any) are not letters, digits or `_`.
pub(crate) fn find_word(haystack: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack.match_indices(needle).find_map(|(at, m)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + m.len()..].chars().next();
        let bounded = !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char);
        bounded.then_some(at)
    })
}

/// SQuAD token F1 of a prediction against one reference, both [`normalize`]d and split on
/// spaces: the harmonic mean of the shares of shared tokens (counted with multiplicity) in
/// the prediction and in the reference. Two empty answers agree (1); one empty answer gets 0.
pub(crate) fn token_f1(prediction: &str, reference: &str) -> f64 {
    let pred = normalize(prediction);
    let gold = normalize(reference);
    let pred: Vec<&str> = pred.split_whitespace().collect();
    let gold: Vec<&str> = gold.split_whitespace().collect();
    if pred.is_empty() || gold.is_empty() {
        return if pred.is_empty() && gold.is_empty() {
            1.0
        } else {
            0.0
        };
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for w in &gold {
        *counts.entry(w).or_default() += 1;
    }
    let mut common = 0usize;
    for w in &pred {
        if let Some(c) = counts.get_mut(w)
            && *c > 0
        {
            *c -= 1;
            common += 1;
        }
    }
    if common == 0 {
        return 0.0;
    }
    let precision = common as f64 / pred.len() as f64;
    let recall = common as f64 / gold.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_and_accents() {
        assert_eq!(fold("Ação É ÓTIMA"), "acao e otima");
        assert_eq!(fold("Crème Brûlée, Łódź"), "creme brulee, lodz");
        // A decomposed accent (e + combining acute) folds like the composed one.
        assert_eq!(fold("Cafe\u{301}"), "cafe");
        let text = "Á RESPOSTA É: Sim";
        let (folded, map) = fold_mapped(text);
        assert_eq!(folded, fold(text));
        let end = folded.find("e:").map(|i| i + 2).unwrap_or(0);
        assert_eq!(&text[original_offset(&map, end, text.len())..], " Sim");
        assert_eq!(original_offset(&map, folded.len(), text.len()), text.len());
    }

    #[test]
    fn normalizes_like_squad() {
        assert_eq!(normalize("  The Eiffel-Tower!  "), "eiffel tower");
        assert_eq!(normalize("São Paulo."), "sao paulo");
        assert_eq!(normalize("..."), "");
    }

    #[test]
    fn finds_whole_words_only() {
        assert_eq!(find_word("it is implausible", "plausible"), None);
        assert_eq!(find_word("plausible, yes", "plausible"), Some(0));
        assert_eq!(find_word("so: plausible.", "plausible"), Some(4));
        assert_eq!(find_word("add_to_playlist_x", "add_to_playlist"), None);
        assert_eq!(find_word("anything", ""), None);
        assert!(contains_words("capital is paris", "paris"));
        assert!(!contains_words("comparison", "paris"));
    }

    #[test]
    fn token_f1_on_known_pairs() {
        assert!((token_f1("the cat sat", "cat sat") - 1.0).abs() < 1e-12);
        // pred {cat, on, mat} vs gold {cat, sat}: 1 shared, p = 1/3, r = 1/2, F1 = 0.4
        assert!((token_f1("cat on mat", "cat sat") - 0.4).abs() < 1e-12);
        assert_eq!(token_f1("dog", "cat"), 0.0);
        assert_eq!(token_f1("", ""), 1.0);
        assert_eq!(token_f1("the", "cat"), 0.0);
        // Repeated words count once per occurrence in the reference.
        assert!((token_f1("cat cat", "cat") - 2.0 / 3.0).abs() < 1e-12);
    }
}
