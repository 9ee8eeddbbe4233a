//! Answers to an eval suite with a set accuracy: the simulator as a stand-in for a model of
//! known quality, for testing routers and eval pipelines.

use std::collections::HashMap;

use crate::SimError;
use crate::text::mix;

/// One suite item as the simulator answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerItem {
    /// The item's id (its draw of right or wrong depends on it).
    pub id: String,
    /// The item's prompt as the last user message holds it.
    pub prompt: String,
    /// The right answer.
    pub right: String,
    /// A wrong answer.
    pub wrong: String,
}

/// A suite's answers: exactly `round(accuracy × items)` of them right, which ones chosen by
/// the seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Answers {
    by_prompt: HashMap<String, usize>,
    items: Vec<AnswerItem>,
    right: Vec<bool>,
}

impl Answers {
    /// Answers for `items`, right on a share `accuracy` of them.
    pub fn new(items: Vec<AnswerItem>, accuracy: f64, seed: u64) -> Result<Answers, SimError> {
        if !(0.0..=1.0).contains(&accuracy) {
            return Err(SimError::Config(format!(
                "accuracy must be between 0 and 1, got {accuracy}"
            )));
        }
        if items.is_empty() {
            return Err(SimError::Config("the answers hold no items".into()));
        }
        // Rank items by a seeded hash of their id; the first round(a·n) are answered right.
        let mut order: Vec<(u64, usize)> = items
            .iter()
            .enumerate()
            .map(|(i, it)| {
                (
                    mix(seed ^ crate::text::hash_request(0, it.id.as_bytes())),
                    i,
                )
            })
            .collect();
        order.sort_unstable();
        let n_right = (accuracy * items.len() as f64).round() as usize;
        let mut right = vec![false; items.len()];
        for &(_, i) in order.iter().take(n_right) {
            right[i] = true;
        }
        let by_prompt = items
            .iter()
            .enumerate()
            .map(|(i, it)| (it.prompt.trim().to_string(), i))
            .collect();
        Ok(Answers {
            by_prompt,
            items,
            right,
        })
    }

    /// The answer to a prompt whose last message is `last` (it must end with an item's
    /// prompt), or `None` for a prompt of no item.
    pub fn answer(&self, last: &str) -> Option<&str> {
        let last = last.trim();
        let i = match self.by_prompt.get(last) {
            Some(&i) => i,
            None => {
                self.items
                    .iter()
                    .enumerate()
                    .filter(|(_, it)| {
                        !it.prompt.trim().is_empty() && last.ends_with(it.prompt.trim())
                    })
                    .max_by_key(|(_, it)| it.prompt.len())?
                    .0
            }
        };
        let it = &self.items[i];
        Some(if self.right[i] { &it.right } else { &it.wrong })
    }
}

/// Splits an answer into the pieces streamed as tokens: each word with its leading space.
pub(crate) fn pieces(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for ch in text.chars() {
        if ch.is_whitespace() && !cur.trim().is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(ch);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<AnswerItem> {
        (0..n)
            .map(|i| AnswerItem {
                id: format!("q{i}"),
                prompt: format!("Question {i}?\nAnswer:"),
                right: "yes".into(),
                wrong: "no".into(),
            })
            .collect()
    }

    #[test]
    fn exactly_the_asked_share_is_right_and_the_seed_picks_which() {
        let a = Answers::new(items(200), 0.7, 1).unwrap();
        let right = (0..200)
            .filter(|i| a.answer(&format!("Question {i}?\nAnswer:")) == Some("yes"))
            .count();
        assert_eq!(right, 140);
        let b = Answers::new(items(200), 0.7, 2).unwrap();
        assert_ne!(a.right, b.right);
        // Few-shot prompts end with the item's prompt.
        assert!(
            a.answer("Question 1?\nAnswer: yes\n\nQuestion 5?\nAnswer:")
                .is_some()
        );
        assert!(a.answer("something else").is_none());
        assert!(Answers::new(items(3), 1.5, 0).is_err());
    }

    #[test]
    fn pieces_keep_every_character() {
        for t in ["Positive", "the answer is 42", "  two  spaces ", ""] {
            assert_eq!(pieces(t).concat(), t);
        }
        assert_eq!(pieces("a b"), vec!["a", " b"]);
    }
}
