//! The gateway's TOML configuration: upstreams, policy, rules, keys. Parsing checks every
//! name and number and says which field is wrong and what it should hold.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;

use regex::Regex;
use serde::Deserialize;
use sizewise_catalog::Catalog;

use crate::ledger::LedgerTarget;

use crate::RouteError;

/// The whole configuration as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Address the gateway listens on (default `127.0.0.1:8090`).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// The usage ledger: a SQLite file path, or `sqlite://PATH`. Default: `route-ledger.sqlite`
    /// beside the configuration file.
    #[serde(default)]
    pub database_url: Option<String>,
    /// Log prompts (never by default).
    #[serde(default)]
    pub log_prompts: bool,
    /// Largest request body accepted, bytes (default 8 MiB).
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Upstreams, in the order they are tried as fallbacks.
    #[serde(default)]
    pub upstream: Vec<RawUpstream>,
    /// How requests are routed.
    #[serde(default)]
    pub policy: RawPolicy,
    /// The user's rules, first match wins.
    #[serde(default)]
    pub rule: Vec<RawRule>,
    /// Virtual keys; with none, the gateway takes requests without a key.
    #[serde(default)]
    pub key: Vec<RawKey>,
    /// Ask the small model first and escalate on a failed check.
    #[serde(default)]
    pub cascade: Option<crate::cascade::RawCascade>,
}

fn default_listen() -> String {
    "127.0.0.1:8090".into()
}

fn default_max_body() -> usize {
    8 << 20
}

/// One upstream as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    /// Name clients pin with `"model"` and headers report.
    pub name: String,
    /// Catalog id: context window, prices, tokenizer.
    pub model: String,
    /// OpenAI-compatible base URL, ending in `/v1`.
    pub url: String,
    /// Data sent here stays on premises.
    #[serde(default)]
    pub local: bool,
    /// Environment variable that holds the upstream's API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Model name sent upstream (default: `model`).
    #[serde(default)]
    pub upstream_model: Option<String>,
    /// Context window in tokens (default: the catalog's).
    #[serde(default)]
    pub context_window: Option<u64>,
    /// Tokenizer: `o200k`, `cl100k`, a tokenizer.json or .gguf path (default: the catalog's,
    /// else o200k as an approximation).
    #[serde(default)]
    pub tokenizer: Option<String>,
    /// USD per 1M input tokens (default: the catalog's API price; 0 for local upstreams).
    #[serde(default)]
    pub input_usd_per_mtok: Option<f64>,
    /// USD per 1M output tokens (default as above).
    #[serde(default)]
    pub output_usd_per_mtok: Option<f64>,
    /// Seconds to wait for the upstream's first byte before trying the next (default 30).
    #[serde(default)]
    pub first_byte_timeout_s: Option<f64>,
    /// Seconds a whole response may take (default 600).
    #[serde(default)]
    pub timeout_s: Option<f64>,
}

/// The routing policy as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// Upstream for `"model": "auto"` when no rule matches (default: the first).
    #[serde(default)]
    pub default: Option<String>,
    /// `local-only` (default), `redact` or `off`.
    #[serde(default)]
    pub privacy: Option<String>,
    /// The always-large baseline that savings are counted against (default: the upstream with
    /// the highest output price).
    #[serde(default)]
    pub large: Option<String>,
    /// When a key's budget is spent: `small` (send to a zero-cost local upstream) or `reject`
    /// (429). Default `small`.
    #[serde(default)]
    pub on_budget_exhausted: Option<String>,
    /// Try the next upstream when one fails before its first byte (default true).
    #[serde(default)]
    pub fallback: Option<bool>,
    /// A difficulty model (`sizewise route eval --save-model`): prompts it scores at or
    /// above the threshold for `large_share` go to the large upstream.
    #[serde(default)]
    pub difficulty_model: Option<String>,
    /// The share of requests the difficulty model should send large (0..1, default 0.3).
    #[serde(default)]
    pub large_share: Option<f64>,
}

/// One rule as written: every condition given must hold.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// Shown in `x-sizewise-reason`.
    #[serde(default)]
    pub name: Option<String>,
    /// Upstream the matching requests go to.
    pub to: String,
    /// Task labels (request `metadata.task` or header `x-sizewise-task`).
    #[serde(default)]
    pub task: Vec<String>,
    /// A regular expression matched against the prompt text.
    #[serde(default)]
    pub regex: Option<String>,
    /// At least this many messages.
    #[serde(default)]
    pub min_messages: Option<usize>,
    /// At least this many prompt tokens (counted with the default upstream's tokenizer).
    #[serde(default)]
    pub min_prompt_tokens: Option<u64>,
    /// At most this many prompt tokens.
    #[serde(default)]
    pub max_prompt_tokens: Option<u64>,
}

/// One virtual key as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    /// Name in the ledger and metrics.
    pub name: String,
    /// SHA-256 of the key, hex (as `sizewise route hash-key` prints it).
    #[serde(default)]
    pub sha256: Option<String>,
    /// Environment variable holding the key itself (hashed at start, never stored).
    #[serde(default)]
    pub key_env: Option<String>,
    /// USD this key may spend in all (none: unlimited).
    #[serde(default)]
    pub budget_usd: Option<f64>,
    /// Requests per minute (none: unlimited).
    #[serde(default)]
    pub requests_per_minute: Option<u32>,
}

/// What to do with personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privacy {
    /// Requests carrying personal data go to local upstreams only.
    LocalOnly,
    /// Personal data is replaced by placeholders before any non-local upstream sees it.
    Redact,
    /// No check.
    Off,
}

impl Privacy {
    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Privacy::LocalOnly => "local-only",
            Privacy::Redact => "redact",
            Privacy::Off => "off",
        }
    }
}

/// What happens when a key's budget is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnBudget {
    /// Send to a zero-cost local upstream; 429 if there is none.
    Small,
    /// Answer 429.
    Reject,
}

/// One upstream, resolved against the catalog.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// Name clients pin and headers report.
    pub name: String,
    /// Catalog id.
    pub model: String,
    /// Model name sent upstream.
    pub upstream_model: String,
    /// Base URL without a trailing slash.
    pub url: String,
    /// On premises.
    pub local: bool,
    /// Environment variable of its key, if any.
    pub api_key_env: Option<String>,
    /// Context window in tokens, if known.
    pub context_window: Option<u64>,
    /// Tokenizer name or path.
    pub tokenizer: String,
    /// True when the tokenizer is the model's own (false: an approximation).
    pub tokenizer_exact: bool,
    /// USD per 1M input tokens.
    pub input_usd_per_mtok: f64,
    /// USD per 1M output tokens.
    pub output_usd_per_mtok: f64,
    /// Where the prices come from.
    pub price_source: String,
    /// Seconds to the first byte.
    pub first_byte_timeout_s: f64,
    /// Seconds for the whole response.
    pub timeout_s: f64,
}

impl Upstream {
    /// USD for `prompt` tokens in and `output` tokens out.
    pub fn cost(&self, prompt: u64, output: u64) -> f64 {
        (prompt as f64 * self.input_usd_per_mtok + output as f64 * self.output_usd_per_mtok) / 1e6
    }
}

/// One rule, compiled.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its name (or `rule N`).
    pub name: String,
    /// Index of the upstream it sends to.
    pub to: usize,
    /// Task labels, lower case.
    pub task: Vec<String>,
    /// Compiled regex.
    pub regex: Option<Regex>,
    /// Conditions on the request's shape.
    pub min_messages: Option<usize>,
    /// Lower bound on prompt tokens.
    pub min_prompt_tokens: Option<u64>,
    /// Upper bound on prompt tokens.
    pub max_prompt_tokens: Option<u64>,
}

/// The learned difficulty step, resolved.
#[derive(Debug, Clone)]
pub struct Difficulty {
    /// The model.
    pub model: std::sync::Arc<crate::difficulty::DifficultyModel>,
    /// Share of large calls it was calibrated for.
    pub share: f64,
    /// Scores at or above this go to `to`.
    pub threshold: f64,
    /// Upstream index hard prompts go to (the large baseline).
    pub to: usize,
}

/// One virtual key, resolved.
#[derive(Debug, Clone)]
pub struct Key {
    /// Name in the ledger.
    pub name: String,
    /// SHA-256 of the key.
    pub sha256: [u8; 32],
    /// Budget in USD.
    pub budget_usd: Option<f64>,
    /// Requests per minute.
    pub requests_per_minute: Option<u32>,
}

/// The checked configuration the gateway runs on.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address.
    pub listen: SocketAddr,
    /// Where the ledger lives.
    pub ledger: crate::ledger::LedgerTarget,
    /// Whether prompts are logged.
    pub log_prompts: bool,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Upstreams in fallback order.
    pub upstreams: Vec<Upstream>,
    /// Default upstream index.
    pub default: usize,
    /// Always-large baseline index.
    pub large: usize,
    /// Privacy policy.
    pub privacy: Privacy,
    /// Budget policy.
    pub on_budget: OnBudget,
    /// Fallbacks on.
    pub fallback: bool,
    /// Rules in order.
    pub rules: Vec<Rule>,
    /// The learned difficulty step, if configured.
    pub difficulty: Option<Difficulty>,
    /// The cascade, if configured.
    pub cascade: Option<crate::cascade::Cascade>,
    /// Virtual keys.
    pub keys: Vec<Key>,
    /// What works but may not be what the operator meant.
    pub warnings: Vec<String>,
}

/// An example of a minimal configuration, for error messages and `--help`.
pub const EXAMPLE: &str = r#"listen = "127.0.0.1:8090"
[[upstream]]
name = "small"
model = "smollm2-135m"
url = "http://127.0.0.1:8091/v1"
local = true
[[upstream]]
name = "large"
model = "llama-3.1-70b"
url = "http://127.0.0.1:8092/v1"
api_key_env = "LARGE_API_KEY"
[policy]
default = "small"
privacy = "local-only""#;

impl Config {
    /// Reads and checks `path`; relative paths inside resolve against its folder.
    pub fn load(path: &Path, catalog: &Catalog) -> Result<Config, RouteError> {
        let text = std::fs::read_to_string(path).map_err(|e| RouteError::Config {
            file: path.display().to_string(),
            message: format!("cannot read it: {e}"),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::parse(&text, base, catalog).map_err(|message| RouteError::Config {
            file: path.display().to_string(),
            message,
        })
    }

    /// Parses `text`; `base` is the folder relative paths resolve against.
    pub fn parse(text: &str, base: &Path, catalog: &Catalog) -> Result<Config, String> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        Config::resolve(raw, base, catalog, &|k| std::env::var(k).ok())
    }

    /// Checks `raw` and resolves it against the catalog; `env` reads environment variables.
    pub fn resolve(
        raw: RawConfig,
        base: &Path,
        catalog: &Catalog,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, String> {
        let listen: SocketAddr = raw.listen.parse().map_err(|_| {
            format!(
                "listen: `{}` is not an address such as 127.0.0.1:8090",
                raw.listen
            )
        })?;
        if raw.upstream.is_empty() {
            return Err(format!(
                "no [[upstream]]: the gateway needs at least one. For example:\n{EXAMPLE}"
            ));
        }
        if raw.max_body_bytes < 1024 {
            return Err("max_body_bytes must be at least 1024".into());
        }
        let mut names = BTreeSet::new();
        let mut upstreams = Vec::new();
        let mut warnings = Vec::new();
        for (i, u) in raw.upstream.iter().enumerate() {
            let up = resolve_upstream(u, base, catalog, &mut warnings)
                .map_err(|m| format!("upstream {} (`{}`): {m}", i + 1, u.name))?;
            if !names.insert(up.name.clone()) {
                return Err(format!("upstream name `{}` is used twice", up.name));
            }
            if up.name == "auto" {
                return Err(
                    "upstream name `auto` is reserved: clients send it to let the policy choose"
                        .into(),
                );
            }
            upstreams.push(up);
        }
        let find = |field: &str, name: &str| -> Result<usize, String> {
            upstreams
                .iter()
                .position(|u| u.name == name)
                .ok_or_else(|| {
                    let all: Vec<&str> = upstreams.iter().map(|u| u.name.as_str()).collect();
                    format!(
                        "{field}: no upstream is named `{name}`; the upstreams are {}",
                        all.join(", ")
                    )
                })
        };
        let p = &raw.policy;
        let default = match &p.default {
            Some(n) => find("policy.default", n)?,
            None => 0,
        };
        let large = match &p.large {
            Some(n) => find("policy.large", n)?,
            None => upstreams
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.output_usd_per_mtok.total_cmp(&b.1.output_usd_per_mtok))
                .map_or(0, |(i, _)| i),
        };
        let privacy = match p.privacy.as_deref() {
            None | Some("local-only") => Privacy::LocalOnly,
            Some("redact") => Privacy::Redact,
            Some("off") => Privacy::Off,
            Some(o) => {
                return Err(format!(
                    "policy.privacy: `{o}` is not one of local-only, redact, off"
                ));
            }
        };
        let on_budget = match p.on_budget_exhausted.as_deref() {
            None | Some("small") => OnBudget::Small,
            Some("reject") => OnBudget::Reject,
            Some(o) => {
                return Err(format!(
                    "policy.on_budget_exhausted: `{o}` is not one of small, reject"
                ));
            }
        };
        let mut rules = Vec::new();
        for (i, r) in raw.rule.iter().enumerate() {
            let name = r.name.clone().unwrap_or_else(|| format!("rule {}", i + 1));
            let to = find(&format!("rule `{name}`: to"), &r.to)?;
            let regex = match &r.regex {
                Some(s) => Some(
                    regex::RegexBuilder::new(s)
                        .size_limit(1 << 20)
                        .build()
                        .map_err(|e| format!("rule `{name}`: regex: {e}"))?,
                ),
                None => None,
            };
            if r.task.is_empty()
                && regex.is_none()
                && r.min_messages.is_none()
                && r.min_prompt_tokens.is_none()
                && r.max_prompt_tokens.is_none()
            {
                return Err(format!(
                    "rule `{name}` has no condition: give task, regex, min_messages, min_prompt_tokens or max_prompt_tokens"
                ));
            }
            rules.push(Rule {
                name,
                to,
                task: r.task.iter().map(|t| t.to_ascii_lowercase()).collect(),
                regex,
                min_messages: r.min_messages,
                min_prompt_tokens: r.min_prompt_tokens,
                max_prompt_tokens: r.max_prompt_tokens,
            });
        }
        let mut keys = Vec::new();
        for k in &raw.key {
            let sha256 = match (&k.sha256, &k.key_env) {
                (Some(h), None) => parse_hex32(h)
                    .ok_or_else(|| format!("key `{}`: sha256 must be 64 hex digits", k.name))?,
                (None, Some(var)) => {
                    let v = env(var).filter(|v| !v.is_empty()).ok_or_else(|| {
                        format!(
                            "key `{}`: the environment variable {var} is not set",
                            k.name
                        )
                    })?;
                    crate::keys::hash_key(&v)
                }
                _ => {
                    return Err(format!(
                        "key `{}`: give exactly one of sha256 (see `sizewise route hash-key`) or key_env",
                        k.name
                    ));
                }
            };
            if let Some(b) = k.budget_usd
                && !(b.is_finite() && b >= 0.0)
            {
                return Err(format!(
                    "key `{}`: budget_usd must be 0 or more, got {b}",
                    k.name
                ));
            }
            if k.requests_per_minute == Some(0) {
                return Err(format!(
                    "key `{}`: requests_per_minute must be at least 1",
                    k.name
                ));
            }
            if keys
                .iter()
                .any(|o: &Key| o.name == k.name || o.sha256 == sha256)
            {
                return Err(format!(
                    "key `{}`: its name or its key is used twice",
                    k.name
                ));
            }
            keys.push(Key {
                name: k.name.clone(),
                sha256,
                budget_usd: k.budget_usd,
                requests_per_minute: k.requests_per_minute,
            });
        }
        let difficulty = match &p.difficulty_model {
            None => {
                if p.large_share.is_some() {
                    return Err("policy.large_share needs policy.difficulty_model".into());
                }
                None
            }
            Some(f) => {
                let path = base.join(f);
                let model = crate::difficulty::DifficultyModel::load(&path)
                    .map_err(|e| format!("policy.difficulty_model {}: {e}", path.display()))?;
                let share = p.large_share.unwrap_or(0.3);
                if !(0.0..=1.0).contains(&share) {
                    return Err(format!(
                        "policy.large_share must be between 0 and 1, got {share}"
                    ));
                }
                let threshold = model.threshold(share).ok_or_else(|| {
                    format!(
                        "policy.difficulty_model {}: it holds no thresholds",
                        path.display()
                    )
                })?;
                Some(Difficulty {
                    model: std::sync::Arc::new(model),
                    share,
                    threshold,
                    to: large,
                })
            }
        };
        let cascade = match &raw.cascade {
            Some(c) => Some(crate::cascade::Cascade::resolve(c, default, large, &find)?),
            None => None,
        };
        let ledger = match raw.database_url.as_deref() {
            None => LedgerTarget::Sqlite(base.join("route-ledger.sqlite")),
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                LedgerTarget::Postgres(u.to_string())
            }
            Some(u) if u.contains("://") && !u.starts_with("sqlite://") => {
                return Err(format!(
                    "database_url: `{}` is neither a SQLite path (or sqlite://PATH) nor postgres://USER:PASSWORD@HOST:PORT/DB",
                    crate::ledger::redact_password(u)
                ));
            }
            Some(u) => {
                let p = Path::new(u.strip_prefix("sqlite://").unwrap_or(u));
                LedgerTarget::Sqlite(if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    base.join(p)
                })
            }
        };
        if !listen.ip().is_loopback() && keys.is_empty() {
            warnings.push(format!(
                "listening on {listen} with no [[key]]: anyone who reaches it can use the upstreams and their API keys; add keys, or listen on 127.0.0.1"
            ));
        }
        for u in &upstreams {
            if let Some(var) = &u.api_key_env
                && env(var).is_none_or(|v| v.is_empty())
            {
                warnings.push(format!(
                    "upstream `{}`: {var} is not set; its requests go without an API key",
                    u.name
                ));
            }
        }
        Ok(Config {
            warnings,
            listen,
            ledger,
            log_prompts: raw.log_prompts,
            max_body_bytes: raw.max_body_bytes,
            upstreams,
            default,
            large,
            privacy,
            on_budget,
            fallback: p.fallback.unwrap_or(true),
            rules,
            difficulty,
            cascade,
            keys,
        })
    }

    /// Index of the upstream named `name`.
    pub fn upstream_index(&self, name: &str) -> Option<usize> {
        self.upstreams.iter().position(|u| u.name == name)
    }
}

fn resolve_upstream(
    u: &RawUpstream,
    base: &Path,
    catalog: &Catalog,
    warnings: &mut Vec<String>,
) -> Result<Upstream, String> {
    if u.name.is_empty() || u.name.contains(char::is_whitespace) {
        return Err("name must be a non-empty word".into());
    }
    // A model outside the catalog (a fine-tune, say) works when the file gives what the
    // catalog would: its context window and, unless local, its prices.
    let found = catalog.model(&u.model);
    let priced = u.local || (u.input_usd_per_mtok.is_some() && u.output_usd_per_mtok.is_some());
    let (id, m_tokenizer, m_api, m_window) = match &found {
        Ok(m) => (
            m.id.clone(),
            m.tokenizer.clone(),
            m.api.clone(),
            m.context_window,
        ),
        Err(_) if u.context_window.is_some() && priced => {
            warnings.push(format!(
                "upstream `{}`: `{}` is not in the catalog; using the context window and prices given here, and o200k to count tokens",
                u.name, u.model
            ));
            (u.model.clone(), None, None, None)
        }
        Err(e) => {
            return Err(format!(
                "{e}\n  hint: add it to the catalog (docs/CATALOG.md), or give context_window{} here",
                if u.local {
                    ""
                } else {
                    ", input_usd_per_mtok and output_usd_per_mtok"
                }
            ));
        }
    };
    let url = u.url.trim_end_matches('/').to_string();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!(
            "url `{}` must start with http:// or https:// (an OpenAI-compatible base such as http://127.0.0.1:8091/v1)",
            u.url
        ));
    }
    url.parse::<hyper::Uri>()
        .map_err(|e| format!("url `{}`: {e}", u.url))?;
    if !url.ends_with("/v1") {
        warnings.push(format!(
            "upstream `{}`: url `{url}` does not end in /v1, where OpenAI-compatible servers usually answer (http://HOST:PORT/v1)",
            u.name
        ));
    }
    let (tokenizer, tokenizer_exact) = match (&u.tokenizer, &m_tokenizer) {
        (Some(t), _) => {
            let p = Path::new(t);
            let t = if (t.ends_with(".json") || t.ends_with(".gguf")) && p.is_relative() {
                base.join(p).display().to_string()
            } else {
                t.clone()
            };
            (t, true)
        }
        (None, Some(t)) => (t.clone(), true),
        (None, None) => ("o200k".to_string(), false),
    };
    let (mut input, mut output, mut source) = match (&m_api, u.local) {
        (Some(p), false) => (
            p.input_usd_per_mtok,
            p.output_usd_per_mtok,
            format!("{} as of {} ({})", p.provider, p.as_of, p.source),
        ),
        (None, false) => (
            0.0,
            0.0,
            "no API price in the catalog: counted as 0; set input_usd_per_mtok and output_usd_per_mtok".into(),
        ),
        (_, true) => (0.0, 0.0, "local: no per-token price".into()),
    };
    if u.input_usd_per_mtok.is_some() || u.output_usd_per_mtok.is_some() {
        input = u.input_usd_per_mtok.unwrap_or(input);
        output = u.output_usd_per_mtok.unwrap_or(output);
        source = "the configuration".into();
    }
    for (f, v) in [
        ("input_usd_per_mtok", input),
        ("output_usd_per_mtok", output),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(format!("{f} must be 0 or more, got {v}"));
        }
    }
    let secs = |f: &str, v: Option<f64>, d: f64| -> Result<f64, String> {
        let v = v.unwrap_or(d);
        if v.is_finite() && v > 0.0 && v <= 86_400.0 {
            Ok(v)
        } else {
            Err(format!("{f} must be between 0 and 86400 seconds, got {v}"))
        }
    };
    if u.context_window == Some(0) {
        return Err("context_window must be at least 1".into());
    }
    Ok(Upstream {
        name: u.name.clone(),
        upstream_model: u.upstream_model.clone().unwrap_or_else(|| id.clone()),
        model: id,
        url,
        local: u.local,
        api_key_env: u.api_key_env.clone(),
        context_window: u.context_window.or(m_window),
        tokenizer,
        tokenizer_exact,
        input_usd_per_mtok: input,
        output_usd_per_mtok: output,
        price_source: source,
        first_byte_timeout_s: secs("first_byte_timeout_s", u.first_byte_timeout_s, 30.0)?,
        timeout_s: secs("timeout_s", u.timeout_s, 600.0)?,
    })
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        let cat = Catalog::embedded().unwrap();
        let raw: RawConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        Config::resolve(raw, Path::new("/tmp"), &cat, &|k| {
            (k == "TEAM_KEY").then(|| "sk-team".to_string())
        })
    }

    #[test]
    fn the_minimal_form_resolves_against_the_catalog() {
        let c = parse(EXAMPLE).unwrap();
        assert_eq!(
            c.warnings,
            vec!["upstream `large`: LARGE_API_KEY is not set; its requests go without an API key"]
        );
        assert_eq!(c.upstreams.len(), 2);
        assert_eq!(c.default, 0);
        assert_eq!(c.privacy, Privacy::LocalOnly);
        assert!(c.upstreams[0].local);
        assert_eq!(c.upstreams[0].input_usd_per_mtok, 0.0);
        assert!(
            c.upstreams[1].output_usd_per_mtok > 0.0,
            "llama-3.1-70b has a catalog price"
        );
        assert_eq!(c.large, 1, "the dearest upstream is the baseline");
        assert!(c.upstreams[0].context_window.is_some());
        assert_eq!(
            c.ledger,
            LedgerTarget::Sqlite("/tmp/route-ledger.sqlite".into())
        );
    }

    #[test]
    fn mistakes_name_the_field_and_the_choices() {
        let e = parse(&format!(
            "{EXAMPLE}\n[[rule]]\nto = \"huge\"\ntask = [\"code\"]"
        ))
        .unwrap_err();
        assert!(
            e.contains("no upstream is named `huge`") && e.contains("small, large"),
            "{e}"
        );
        let e = parse(&EXAMPLE.replace("local-only", "strict")).unwrap_err();
        assert!(e.contains("local-only, redact, off"), "{e}");
        let e = parse(&EXAMPLE.replace("smollm2-135m", "no-such-model")).unwrap_err();
        assert!(e.contains("upstream 1 (`small`)"), "{e}");
        let e = parse(&format!("{EXAMPLE}\n[[rule]]\nto = \"large\"")).unwrap_err();
        assert!(e.contains("has no condition"), "{e}");
        let e = parse(&format!(
            "{EXAMPLE}\n[[rule]]\nto = \"large\"\nregex = \"(\""
        ))
        .unwrap_err();
        assert!(e.contains("regex"), "{e}");
        let e = parse("listen = \"here\"").unwrap_err();
        assert!(e.contains("listen"), "{e}");
        let e = parse("listen = \"127.0.0.1:1\"").unwrap_err();
        assert!(e.contains("[[upstream]]"), "{e}");
        let e = parse(&format!("{EXAMPLE}\ncolour = 1")).unwrap_err();
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn keys_come_hashed_or_from_the_environment() {
        let h = "ab".repeat(32);
        let c = parse(&format!(
            "{EXAMPLE}\n[[key]]\nname = \"a\"\nsha256 = \"{h}\"\nbudget_usd = 1.5\n[[key]]\nname = \"b\"\nkey_env = \"TEAM_KEY\"\nrequests_per_minute = 60"
        ))
        .unwrap();
        assert_eq!(c.keys[0].sha256, [0xab; 32]);
        assert_eq!(c.keys[1].sha256, crate::keys::hash_key("sk-team"));
        let e = parse(&format!(
            "{EXAMPLE}\n[[key]]\nname = \"c\"\nkey_env = \"UNSET\""
        ))
        .unwrap_err();
        assert!(e.contains("UNSET is not set"), "{e}");
        let e = parse(&format!(
            "{EXAMPLE}\n[[key]]\nname = \"c\"\nsha256 = \"xyz\""
        ))
        .unwrap_err();
        assert!(e.contains("64 hex"), "{e}");
    }

    #[test]
    fn the_cascade_defaults_to_small_then_large_and_checks_its_names() {
        let c = parse(&format!("{EXAMPLE}\n[cascade]")).unwrap();
        let k = c.cascade.unwrap();
        assert_eq!((k.from, k.to, k.checks.len()), (0, 1, 3));
        let e = parse(&format!("{EXAMPLE}\n[cascade]\nchecks = [\"vibes\"]")).unwrap_err();
        assert!(e.contains("json, refusal, logprob"), "{e}");
        let e = parse(&format!("{EXAMPLE}\n[cascade]\nto = \"small\"")).unwrap_err();
        assert!(e.contains("same upstream"), "{e}");
        let e = parse(&format!("{EXAMPLE}\n[cascade]\nmin_mean_logprob = 2.0")).unwrap_err();
        assert!(e.contains("0 or below"), "{e}");
    }

    #[test]
    fn models_outside_the_catalog_need_a_window_and_prices() {
        let own = EXAMPLE.replace("llama-3.1-70b", "acme-ft-7b");
        let e = parse(&own).unwrap_err();
        assert!(e.contains("context_window, input_usd_per_mtok"), "{e}");
        let c = parse(&own.replace(
            "api_key_env",
            "context_window = 32768\ninput_usd_per_mtok = 1.0\noutput_usd_per_mtok = 2.0\napi_key_env",
        ))
        .unwrap();
        assert_eq!(c.upstreams[1].context_window, Some(32768));
        assert!(c.warnings.iter().any(|w| w.contains("not in the catalog")));
        let c = parse(
            &format!(
                "listen = \"0.0.0.0:8090\"\n{}",
                &EXAMPLE[EXAMPLE.find('\n').unwrap()..]
            )
            .replace("/v1\"\nlocal", "\"\nlocal"),
        )
        .unwrap();
        assert!(
            c.warnings.iter().any(|w| w.contains("no [[key]]")),
            "{:?}",
            c.warnings
        );
        assert!(
            c.warnings.iter().any(|w| w.contains("does not end in /v1")),
            "{:?}",
            c.warnings
        );
    }

    #[test]
    fn the_ledger_is_sqlite_or_postgres() {
        let c = parse(&format!(
            "database_url = \"postgres://u:p@db/x\"\n{EXAMPLE}"
        ))
        .unwrap();
        assert_eq!(
            c.ledger,
            LedgerTarget::Postgres("postgres://u:p@db/x".into())
        );
        assert_eq!(c.ledger.describe(), "postgres://u:***@db/x");
        let c = parse(&format!("database_url = \"sqlite://l.db\"\n{EXAMPLE}")).unwrap();
        assert_eq!(c.ledger, LedgerTarget::Sqlite("/tmp/l.db".into()));
        let e = parse(&format!("database_url = \"mysql://u:p@db/x\"\n{EXAMPLE}")).unwrap_err();
        assert!(e.contains("postgres://") && !e.contains(":p@"), "{e}");
    }
}
