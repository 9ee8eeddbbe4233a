//! Scoring candidates from the alternatives of an answer's first token: what a chat endpoint
//! that offers `logprobs` and `top_logprobs` (at most 20) allows, since it cannot score a
//! whole continuation the way an in-process model can.
//!
//! Each alternative token counts for the one candidate it begins (ignoring case and leading
//! spaces): `"Pos"` and `" positive"` both count for `positive`, summed. A token that begins
//! two candidates says nothing and counts for neither; [`first_tokens_tell_apart`] checks
//! that no token can, so a suite can be refused up front instead of scored badly.

/// Whether any token can begin at most one of `candidates`: their first letters, ignoring
/// case and leading spaces, all differ (and none is empty).
pub fn first_tokens_tell_apart<S: AsRef<str>>(candidates: &[S]) -> bool {
    let mut firsts: Vec<char> = Vec::with_capacity(candidates.len());
    for c in candidates {
        let Some(first) = key(c.as_ref()).chars().next() else {
            return false;
        };
        if firsts.contains(&first) {
            return false;
        }
        firsts.push(first);
    }
    true
}

/// The log-probability of each of `candidates` read from `top`, the most likely first tokens
/// of an answer with their log-probabilities.
///
/// A candidate's score is the log of the summed probability of the tokens that begin it
/// (a token that holds the whole candidate followed by punctuation, `"yes,"`, counts too).
/// A candidate no listed token begins is at most as likely as the least likely token
/// listed, and gets that bound. When no token begins any candidate (the answer opened with
/// something else, or `top` is empty), every score is NaN: the item has no answer.
pub fn first_token_scores<S: AsRef<str>>(candidates: &[S], top: &[(String, f64)]) -> Vec<f64> {
    let keys: Vec<String> = candidates.iter().map(|c| key(c.as_ref())).collect();
    let mut mass: Vec<Option<f64>> = vec![None; keys.len()];
    for (token, logprob) in top {
        if !logprob.is_finite() {
            continue;
        }
        let t = key(token);
        if t.is_empty() {
            continue;
        }
        let mut matching = keys
            .iter()
            .enumerate()
            .filter(|(_, k)| begins(&t, k))
            .map(|(i, _)| i);
        let (Some(i), None) = (matching.next(), matching.next()) else {
            continue;
        };
        mass[i] = Some(match mass[i] {
            None => *logprob,
            Some(m) => log_add(m, *logprob),
        });
    }
    if mass.iter().all(Option::is_none) {
        return vec![f64::NAN; keys.len()];
    }
    let floor = top
        .iter()
        .map(|(_, lp)| *lp)
        .filter(|lp| lp.is_finite())
        .fold(f64::INFINITY, f64::min);
    mass.into_iter().map(|m| m.unwrap_or(floor)).collect()
}

/// How a candidate or token is compared: without leading spaces, in lower case.
fn key(text: &str) -> String {
    text.trim_start().to_lowercase()
}

/// Whether token `t` begins candidate `k`: `k` starts with `t`, or `t` is `k` followed by
/// characters that cannot continue a word.
fn begins(t: &str, k: &str) -> bool {
    if k.is_empty() {
        return false;
    }
    if k.starts_with(t) {
        return true;
    }
    t.strip_prefix(k)
        .is_some_and(|rest| rest.chars().all(|c| !c.is_alphanumeric()))
}

/// `ln(e^a + e^b)` without overflow.
fn log_add(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    hi + (lo - hi).exp().ln_1p()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use proptest::prelude::*;

    use super::*;

    fn top(entries: &[(&str, f64)]) -> Vec<(String, f64)> {
        entries.iter().map(|(t, lp)| (t.to_string(), *lp)).collect()
    }

    #[test]
    fn case_and_spaces_variants_add_up() {
        let labels = [" positive", " negative"];
        let scores = first_token_scores(
            &labels,
            &top(&[("positive", -0.7), (" Positive", -1.2), ("neg", -2.0)]),
        );
        let p = (-0.7_f64).exp() + (-1.2_f64).exp();
        assert!((scores[0] - p.ln()).abs() < 1e-12);
        assert!((scores[1] + 2.0).abs() < 1e-12);
    }

    #[test]
    fn a_label_not_listed_gets_the_least_likely_bound() {
        let scores = first_token_scores(
            &["yes", "no"],
            &top(&[("Yes", -0.1), ("The", -3.0), ("\n", -4.5)]),
        );
        assert_eq!(scores, vec![-0.1, -4.5]);
    }

    #[test]
    fn punctuation_after_a_whole_label_counts_but_a_longer_word_does_not() {
        let scores = first_token_scores(&["no", "yes"], &top(&[("no,", -0.5), ("not", -0.2)]));
        assert_eq!(scores[0], -0.5);
        assert_eq!(scores[1], -0.5);
    }

    #[test]
    fn no_answer_token_means_no_answer() {
        let scores = first_token_scores(&["yes", "no"], &top(&[("The", -0.1), (" ", -1.0)]));
        assert!(scores.iter().all(|s| s.is_nan()));
        assert!(first_token_scores(&["a"], &[]).iter().all(|s| s.is_nan()));
    }

    #[test]
    fn a_token_two_labels_share_counts_for_neither() {
        let scores = first_token_scores(
            &["play_music", "play_radio", "weather"],
            &top(&[("play", -0.1), ("weather", -3.0)]),
        );
        assert_eq!(scores, vec![-3.0, -3.0, -3.0]);
        assert!(!first_tokens_tell_apart(&["play_music", "play_radio"]));
        assert!(first_tokens_tell_apart(&[" positive", " Negative"]));
        assert!(!first_tokens_tell_apart(&["Yes", " yes"]));
        assert!(!first_tokens_tell_apart(&["", "a"]));
    }

    proptest! {
        #[test]
        fn scores_are_finite_bounded_and_never_panic(
            labels in proptest::collection::vec("[ a-zA-Zé]{0,8}", 1..6),
            tokens in proptest::collection::vec(("[ a-zA-Z,é]{0,5}", -30.0f64..0.0), 0..25),
        ) {
            let scores = first_token_scores(&labels, &tokens);
            prop_assert_eq!(scores.len(), labels.len());
            let all_nan = scores.iter().all(|s| s.is_nan());
            prop_assert!(all_nan || scores.iter().all(|s| s.is_finite()));
            // Summed probability never exceeds the listed tokens' total.
            if !all_nan {
                let listed: f64 = tokens.iter().map(|(_, lp)| lp.exp()).sum();
                let floor = tokens.iter().map(|(_, lp)| *lp).fold(f64::INFINITY, f64::min);
                let matched: f64 = scores
                    .iter()
                    .filter(|s| **s > floor)
                    .map(|s| s.exp())
                    .sum();
                prop_assert!(matched <= listed + 1e-9);
            }
        }
    }
}
