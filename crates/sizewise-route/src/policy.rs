//! The routing decision: which upstreams may take a request, which one goes first, and why.
//!
//! Order: the client's `model` (auto, or a pinned upstream); hard constraints (personal data
//! goes to local upstreams only; the prompt must fit the context window); the user's rules,
//! first match wins; the default. Budgets come after, in the server, since they need the
//! key. Every step that changes the outcome leaves its reason.

use std::sync::OnceLock;

use sizewise_tokens::Tokenizer;

use crate::config::{Config, Privacy, Upstream};
use crate::privacy::{self, PiiKind};

/// What the policy needs to know about a request.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    /// The `model` the client sent.
    pub requested: String,
    /// The prompt: every message's text, joined by newlines.
    pub text: String,
    /// Number of messages (1 for a text completion).
    pub messages: usize,
    /// Task label from `metadata.task` or `x-sizewise-task`, lower case.
    pub task: Option<String>,
    /// `max_tokens` (or `max_completion_tokens`) when the client set it.
    pub max_tokens: Option<u64>,
    /// Every other string of the request that may carry user data (tool-call arguments,
    /// names, `user`, metadata), scanned for personal data only.
    pub other_text: String,
}

/// Where a request goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Upstream indices to try in order; the first is the choice, the rest fallbacks (none
    /// when `policy.fallback` is off).
    pub order: Vec<usize>,
    /// Every upstream the hard constraints allow, in configuration order (the cascade may
    /// escalate to any of them, fallbacks on or off).
    pub allowed: Vec<usize>,
    /// Why the first was chosen (ASCII, for a header).
    pub reason: String,
    /// Personal data found in the prompt.
    pub pii: Vec<PiiKind>,
    /// Non-local upstreams must get the redacted prompt.
    pub redact: bool,
    /// The client named the upstream.
    pub pinned: bool,
}

/// Why no upstream may take a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// `model` names neither `auto` nor an upstream.
    UnknownModel(String),
    /// Personal data, and no local upstream (among those allowed).
    Privacy(String),
    /// The prompt fits no allowed upstream's context window.
    Context(String),
}

impl Refusal {
    /// The message for the client.
    pub fn message(&self) -> &str {
        match self {
            Refusal::UnknownModel(m) | Refusal::Privacy(m) | Refusal::Context(m) => m,
        }
    }
}

/// Chat-template tokens each message adds (role markers), counted generously.
const TOKENS_PER_MESSAGE: u64 = 8;

/// Counts prompts with each upstream's tokenizer, loading each tokenizer on first use.
pub struct Counters {
    tokenizers: Vec<OnceLock<Option<Tokenizer>>>,
}

impl std::fmt::Debug for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counters")
            .field("upstreams", &self.tokenizers.len())
            .finish()
    }
}

impl Counters {
    /// One lazy tokenizer per upstream.
    pub fn new(cfg: &Config) -> Counters {
        Counters {
            tokenizers: cfg.upstreams.iter().map(|_| OnceLock::new()).collect(),
        }
    }

    /// Loads every tokenizer now, so the first requests do not pay for it; returns the
    /// problems met (a tokenizer that does not load falls back to counting bytes).
    pub fn preload(&self, cfg: &Config) -> Vec<String> {
        let mut problems = Vec::new();
        for (i, u) in cfg.upstreams.iter().enumerate() {
            if self.get(i, u).is_none() {
                problems.push(format!(
                    "upstream `{}`: tokenizer `{}` did not load; its prompts are counted as one token per byte",
                    u.name, u.tokenizer
                ));
            }
        }
        problems
    }

    fn get(&self, i: usize, u: &Upstream) -> Option<&Tokenizer> {
        self.tokenizers
            .get(i)?
            .get_or_init(|| Tokenizer::from_name(&u.tokenizer).ok())
            .as_ref()
    }

    /// Prompt tokens of `info` for upstream `i`: text tokens plus a per-message allowance.
    pub fn count(&self, cfg: &Config, i: usize, info: &RequestInfo) -> u64 {
        let text = match cfg.upstreams.get(i).and_then(|u| self.get(i, u)) {
            Some(t) => t
                .encode(&info.text)
                .map_or(info.text.len() as u64, |e| e.count() as u64),
            None => info.text.len() as u64,
        };
        text + TOKENS_PER_MESSAGE * info.messages as u64
    }
}

/// Decides where `info` goes under `cfg`.
pub fn decide(cfg: &Config, counters: &Counters, info: &RequestInfo) -> Result<Decision, Refusal> {
    let all: Vec<usize> = (0..cfg.upstreams.len()).collect();
    let pinned = match info.requested.as_str() {
        "auto" | "" => None,
        name => match cfg.upstream_index(name) {
            Some(i) => Some(i),
            None => {
                let names: Vec<&str> = cfg.upstreams.iter().map(|u| u.name.as_str()).collect();
                return Err(Refusal::UnknownModel(format!(
                    "the model `{name}` does not exist here: send \"auto\" to let the policy choose, or one of {}",
                    names.join(", ")
                )));
            }
        },
    };
    let mut allowed: Vec<usize> = match pinned {
        Some(i) => vec![i],
        None => all.clone(),
    };
    let mut why: Vec<String> = Vec::new();

    // Hard constraint 1: personal data.
    // `first` reads clean text once (a few µs for 2 KB); only a hit pays for the full scan.
    let pii: Vec<PiiKind> = if cfg.privacy == Privacy::Off {
        Vec::new()
    } else {
        let mut kinds: Vec<PiiKind> = [info.text.as_str(), info.other_text.as_str()]
            .iter()
            .filter(|t| privacy::first(t).is_some())
            .flat_map(|t| privacy::scan(t))
            .map(|f| f.kind)
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds
    };
    let mut redact = false;
    if !pii.is_empty() {
        let kinds: Vec<&str> = pii.iter().map(|k| k.as_str()).collect();
        let kinds = kinds.join("+");
        match cfg.privacy {
            Privacy::LocalOnly => {
                let before = allowed.clone();
                allowed.retain(|&i| cfg.upstreams[i].local);
                if allowed.is_empty() {
                    let to = if pinned.is_some() {
                        format!(
                            "the pinned upstream `{}` is not local",
                            cfg.upstreams[before[0]].name
                        )
                    } else {
                        "no upstream is marked local = true".to_string()
                    };
                    return Err(Refusal::Privacy(format!(
                        "the request carries personal data ({kinds}) and policy.privacy is local-only, but {to}; send it with \"model\": \"auto\" to a gateway with a local upstream, or set privacy = \"redact\""
                    )));
                }
                if allowed.len() < before.len() {
                    why.push(format!("privacy: {kinds} found, local upstreams only"));
                }
            }
            Privacy::Redact => {
                if allowed.iter().any(|&i| !cfg.upstreams[i].local) {
                    redact = true;
                    why.push(format!("privacy: {kinds} redacted for non-local upstreams"));
                }
            }
            Privacy::Off => {}
        }
    }

    // Hard constraint 2: the prompt (plus the asked output) must fit the window. Tokens never
    // outnumber UTF-8 bytes with byte-level tokenizers, so a prompt whose bytes fit needs no
    // counting.
    let want_out = info.max_tokens.unwrap_or(0);
    let cheap_bound = info.text.len() as u64 + TOKENS_PER_MESSAGE * info.messages as u64;
    let mut counted: Vec<Option<u64>> = vec![None; cfg.upstreams.len()];
    let before = allowed.clone();
    let mut misfits = Vec::new();
    allowed.retain(|&i| {
        let Some(w) = cfg.upstreams[i].context_window else {
            return true;
        };
        if cheap_bound + want_out <= w {
            return true;
        }
        let n = counters.count(cfg, i, info);
        counted[i] = Some(n);
        let fits = n + want_out <= w;
        if !fits {
            misfits.push(format!(
                "{} needs {}{} tokens, {}'s window is {w}",
                if want_out > 0 {
                    "prompt+output"
                } else {
                    "prompt"
                },
                n + want_out,
                if cfg.upstreams[i].tokenizer_exact {
                    ""
                } else {
                    " (approx.)"
                },
                cfg.upstreams[i].name
            ));
        }
        fits
    });
    if allowed.is_empty() {
        let earlier = if why.is_empty() {
            String::new()
        } else {
            format!(" (after {})", why.join("; "))
        };
        return Err(Refusal::Context(format!(
            "the request fits no allowed upstream's context window{earlier}: {}; shorten the prompt or lower max_tokens",
            misfits.join("; ")
        )));
    }
    if allowed.len() < before.len() {
        why.push(format!("context: {}", misfits.join("; ")));
    }

    // Soft choices: pinned, the user's rules, the default.
    let first = if let Some(i) = pinned {
        why.insert(0, "pinned by the client".into());
        i
    } else if let Some((rule, to)) = cfg.rules.iter().find_map(|r| {
        (allowed.contains(&r.to) && rule_matches(cfg, counters, r, info, &mut counted))
            .then_some((r, r.to))
    }) {
        why.push(format!("rule `{}`", rule.name));
        to
    } else if let Some((d, score)) = cfg
        .difficulty
        .as_ref()
        .filter(|d| allowed.contains(&d.to))
        .map(|d| (d, d.model.score(&info.text)))
        .filter(|(d, s)| *s >= d.threshold)
    {
        why.push(format!(
            "difficulty: {score:.3} >= {:.3} (calibrated for {:.0}% large)",
            d.threshold,
            d.share * 100.0
        ));
        d.to
    } else if allowed.contains(&cfg.default) {
        if why.is_empty() {
            why.push("default".into());
        }
        cfg.default
    } else {
        allowed[0]
    };
    let mut order = vec![first];
    if cfg.fallback {
        order.extend(allowed.iter().copied().filter(|&i| i != first));
    }
    let reason = ascii(&why.join("; "));
    Ok(Decision {
        order,
        allowed,
        reason,
        pii,
        redact,
        pinned: pinned.is_some(),
    })
}

fn rule_matches(
    cfg: &Config,
    counters: &Counters,
    r: &crate::config::Rule,
    info: &RequestInfo,
    counted: &mut [Option<u64>],
) -> bool {
    if !r.task.is_empty() && !info.task.as_ref().is_some_and(|t| r.task.contains(t)) {
        return false;
    }
    if r.min_messages.is_some_and(|m| info.messages < m) {
        return false;
    }
    if let Some(re) = &r.regex
        && !re.is_match(&info.text)
    {
        return false;
    }
    if r.min_prompt_tokens.is_some() || r.max_prompt_tokens.is_some() {
        let i = cfg.default;
        let n = match counted.get(i).copied().flatten() {
            Some(n) => n,
            None => {
                let n = counters.count(cfg, i, info);
                if let Some(c) = counted.get_mut(i) {
                    *c = Some(n);
                }
                n
            }
        };
        if r.min_prompt_tokens.is_some_and(|m| n < m) || r.max_prompt_tokens.is_some_and(|m| n > m)
        {
            return false;
        }
    }
    true
}

/// Header values must be visible ASCII.
pub(crate) fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    use sizewise_catalog::Catalog;

    use super::*;
    use crate::config::RawConfig;

    fn cfg(extra: &str) -> Config {
        let cat = Catalog::embedded().unwrap();
        let text = format!("{}\n{extra}", crate::config::EXAMPLE);
        let raw: RawConfig = toml::from_str(&text).unwrap();
        Config::resolve(raw, Path::new("/tmp"), &cat, &|_| None).unwrap()
    }

    fn info(model: &str, text: &str) -> RequestInfo {
        RequestInfo {
            requested: model.into(),
            text: text.into(),
            messages: 1,
            ..RequestInfo::default()
        }
    }

    const TO_LARGE: &str =
        "[[rule]]\nname = \"hard questions\"\nto = \"large\"\nregex = \"(?i)prove\"";

    #[test]
    fn personal_data_goes_local_whatever_the_rules_say() {
        let c = cfg(TO_LARGE);
        let n = Counters::new(&c);
        let d = decide(
            &c,
            &n,
            &info("auto", "prove this, then mail ana@example.com.br"),
        )
        .unwrap();
        assert_eq!(d.order, vec![0]);
        assert!(d.reason.contains("privacy: email"), "{}", d.reason);
        let d = decide(&c, &n, &info("auto", "prove this")).unwrap();
        assert_eq!(d.order, vec![1, 0]);
        assert_eq!(d.allowed, vec![0, 1]);
        let mut c2 = c.clone();
        c2.fallback = false;
        let d = decide(&c2, &n, &info("auto", "prove this")).unwrap();
        assert_eq!((d.order, d.allowed), (vec![1], vec![0, 1]));
        assert_eq!(d.reason, "rule `hard questions`");
        let e = decide(&c, &n, &info("large", "mail ana@example.com")).unwrap_err();
        assert!(matches!(e, Refusal::Privacy(_)), "{e:?}");
    }

    #[test]
    fn a_prompt_longer_than_the_small_window_goes_large() {
        let c = cfg("");
        let n = Counters::new(&c);
        let w = c.upstreams[0].context_window.unwrap() as usize;
        let long = "word ".repeat(w + 10);
        let d = decide(&c, &n, &info("auto", &long)).unwrap();
        assert_eq!(d.order, vec![1]);
        assert!(
            d.reason.starts_with("context: prompt needs"),
            "{}",
            d.reason
        );
        let e = decide(&c, &n, &info("small", &long)).unwrap_err();
        assert!(matches!(e, Refusal::Context(_)), "{e:?}");
    }

    #[test]
    fn unknown_models_list_the_choices() {
        let c = cfg("");
        let e = decide(&c, &Counters::new(&c), &info("gpt-4", "hi")).unwrap_err();
        assert!(e.message().contains("\"auto\"") && e.message().contains("small, large"));
    }

    #[test]
    fn rules_match_on_tasks_messages_and_lengths() {
        let c = cfg(
            "[[rule]]\nto = \"large\"\ntask = [\"code\"]\n[[rule]]\nname = \"long\"\nto = \"large\"\nmin_prompt_tokens = 50",
        );
        let n = Counters::new(&c);
        let mut i = info("auto", "short");
        assert_eq!(decide(&c, &n, &i).unwrap().reason, "default");
        i.task = Some("code".into());
        assert_eq!(decide(&c, &n, &i).unwrap().reason, "rule `rule 1`");
        let i = info("auto", &"many words here ".repeat(20));
        assert_eq!(decide(&c, &n, &i).unwrap().reason, "rule `long`");
    }

    #[test]
    fn redaction_keeps_every_upstream_open() {
        let c = cfg("").clone();
        let mut c = c;
        c.privacy = Privacy::Redact;
        let d = decide(
            &c,
            &Counters::new(&c),
            &info("large", "call +55 11 91234-5678"),
        )
        .unwrap();
        assert_eq!(d.order, vec![1]);
        assert!(d.redact);
    }
}
