//! Text normalization: case and accent folding, and SQuAD-style answer normalization.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_and_accents() {
        assert_eq!(fold("Ação É ÓTIMA"), "acao e otima");
        assert_eq!(fold("Crème Brûlée, Łódź"), "creme brulee, lodz");
        // A decomposed accent (e + combining acute) folds like the composed one.
        assert_eq!(fold("Cafe\u{301}"), "cafe");
    }

    #[test]
    fn normalizes_like_squad() {
        assert_eq!(normalize("  The Eiffel-Tower!  "), "eiffel tower");
        assert_eq!(normalize("São Paulo."), "sao paulo");
        assert_eq!(normalize("..."), "");
    }
}
