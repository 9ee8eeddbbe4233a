//! Prompt building: each item with its seeded few-shot examples, as chat messages and as one
//! completion text.

use serde::{Deserialize, Serialize};

use crate::error::{EvalError, Result};
use crate::rng::SplitMix64;
use crate::suite::Suite;

/// Who speaks a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The user (prompts and few-shot questions).
    User,
    /// The assistant (few-shot answers).
    Assistant,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who speaks.
    pub role: Role,
    /// What is said.
    pub content: String,
}

/// One item ready to send to a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prepared {
    /// The item's index in the suite.
    pub index: usize,
    /// The item's id.
    pub id: String,
    /// Indices of the items used as few-shot examples, in prompt order.
    pub shots: Vec<usize>,
    /// System message for chat targets.
    pub system: Option<String>,
    /// Chat messages: each few-shot example as a user turn and an assistant turn, then the
    /// item's user turn. The template's preamble opens the first user turn.
    pub messages: Vec<Message>,
    /// The same as one completion prompt: the system message and a blank line, then the
    /// preamble, each example with its answer followed by the separator, and the item's
    /// prompt, without leading whitespace or trailing spaces (the answer's leading space
    /// belongs to the continuation).
    pub text: String,
    /// Label and choice suites: each candidate answer as it would follow `text` (with a
    /// leading space unless `text` ends a line), for log-probability scoring; empty for other
    /// kinds.
    pub continuations: Vec<String>,
    /// Most tokens to generate.
    pub max_tokens: u32,
    /// Stop sequences.
    pub stop: Vec<String>,
}

/// Prepares the prompts of `suite`'s items in file order (only the first `limit` when
/// given), each with `shots` few-shot examples (the suite's default when `None`).
///
/// The examples are drawn once per run, so that every prompt shares them and a target can
/// keep their keys and values between items: `shots + 1` distinct items of the whole suite
/// (not only the first `limit`) are drawn by [`SplitMix64::stream`]`(seed, 0)` (while at
/// most half of the items are wanted, each draw is a uniform index among them, repeats
/// drawn again; otherwise a partial Fisher-Yates shuffle), and each item takes the first
/// `shots` of them that are not itself. A seed therefore gives the same prompts whatever the
/// limit, forever. Asking for more examples than an item has others is an error.
pub fn prepare(
    suite: &Suite,
    shots: Option<u32>,
    seed: u64,
    limit: Option<usize>,
) -> Result<Vec<Prepared>> {
    let shots = shots.unwrap_or(suite.shots);
    let wanted = usize::try_from(shots).unwrap_or(usize::MAX);
    let others = suite.items.len().saturating_sub(1);
    if wanted > others {
        return Err(EvalError::TooManyShots {
            suite: suite.id.clone(),
            file: suite.origin.clone(),
            item: suite
                .items
                .first()
                .map(|i| i.id.clone())
                .unwrap_or_default(),
            shots,
            available: others,
        });
    }
    let template = &suite.template;
    let mut prepared = Vec::new();
    let pool = if wanted == 0 {
        Vec::new()
    } else {
        draw(
            &mut SplitMix64::stream(seed, 0),
            suite.items.len(),
            wanted + 1,
        )
    };
    for item in suite.items.iter().take(limit.unwrap_or(usize::MAX)) {
        let examples: Vec<usize> = pool
            .iter()
            .copied()
            .filter(|&p| p != item.index)
            .take(wanted)
            .collect();

        let mut text = template.preamble.clone();
        let mut messages = Vec::with_capacity(2 * examples.len() + 1);
        let mut preamble = template.preamble.clone();
        for &e in &examples {
            let Some(example) = suite.items.get(e) else {
                continue;
            };
            let question = suite.render(example);
            let answer = suite.answer_text(example);
            text.push_str(&question);
            if !question.ends_with(char::is_whitespace) {
                text.push(' ');
            }
            text.push_str(&answer);
            text.push_str(&template.separator);
            messages.push(Message {
                role: Role::User,
                content: format!("{}{question}", std::mem::take(&mut preamble))
                    .trim()
                    .to_owned(),
            });
            messages.push(Message {
                role: Role::Assistant,
                content: answer,
            });
        }
        let question = suite.render(item);
        text.push_str(&question);
        let body = text.trim_start().trim_end_matches([' ', '\t']);
        let text = match &suite.system {
            Some(system) => format!("{system}\n\n{body}"),
            None => body.to_owned(),
        };
        messages.push(Message {
            role: Role::User,
            content: format!("{preamble}{question}").trim().to_owned(),
        });
        let lead = if text.is_empty() || text.ends_with('\n') {
            ""
        } else {
            " "
        };
        prepared.push(Prepared {
            index: item.index,
            id: item.id.clone(),
            shots: examples,
            system: suite.system.clone(),
            messages,
            continuations: suite
                .candidates(item)
                .iter()
                .map(|c| format!("{lead}{c}"))
                .collect(),
            text,
            max_tokens: suite.max_tokens,
            stop: suite.stop.clone(),
        });
    }
    Ok(prepared)
}

/// `k` distinct positions in `0..n` (k <= n), in draw order.
fn draw(rng: &mut SplitMix64, n: usize, k: usize) -> Vec<usize> {
    if k.saturating_mul(2) <= n {
        let mut picked = Vec::with_capacity(k);
        while picked.len() < k {
            let p = rng.index(n);
            if !picked.contains(&p) {
                picked.push(p);
            }
        }
        picked
    } else {
        let mut all: Vec<usize> = (0..n).collect();
        for j in 0..k {
            let r = j + rng.index(n - j);
            all.swap(j, r);
        }
        all.truncate(k);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_distinct_and_in_range() {
        for (n, k) in [(10, 0), (10, 3), (10, 5), (10, 6), (10, 10), (1, 1)] {
            let mut rng = SplitMix64::new(n as u64 * 31 + k as u64);
            let d = draw(&mut rng, n, k);
            assert_eq!(d.len(), k);
            let mut s = d.clone();
            s.sort_unstable();
            s.dedup();
            assert_eq!(s.len(), k);
            assert!(d.iter().all(|&p| p < n));
        }
    }
}
