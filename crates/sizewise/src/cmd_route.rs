//! `sizewise route --config FILE`: the gateway that sends each request to a small or a large
//! model; `sizewise route hash-key KEY` for the configuration's virtual keys.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::json;
use sizewise_catalog::Catalog;
use sizewise_route::config::Config;

/// Flags of `sizewise route`.
#[derive(Args, Debug)]
#[command(after_long_help = ROUTE_EXAMPLES, args_conflicts_with_subcommands = true)]
pub struct RouteArgs {
    /// The gateway's TOML configuration: upstreams, policy, rules, keys (see below).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Listen here instead of the configuration's `listen` (port 0: any free port).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Check the configuration, print what the gateway would do, and exit.
    #[arg(long)]
    pub check: bool,
    /// Print the start line (and the summary at exit) as JSON.
    #[arg(long)]
    pub json: bool,
    /// Other jobs of the gateway.
    #[command(subcommand)]
    pub action: Option<RouteAction>,
}

/// `sizewise route` subcommands.
#[derive(Subcommand, Debug)]
pub enum RouteAction {
    /// Prints the SHA-256 of a virtual key, for a `[[key]]` entry's `sha256` (the key itself
    /// is never stored).
    HashKey {
        /// The key clients will send as `Authorization: Bearer KEY`.
        key: String,
    },
    /// Quality against the share of large-model calls on an eval suite: both upstreams
    /// answer every item, a difficulty score is learnt on one part and swept on the other
    /// (RouteLLM's measures: APGR, CPT at 50% and 80%), with the cost of each point and where
    /// the configuration's own rules land.
    Eval(crate::cmd_route_eval::RouteEvalArgs),
}

const ROUTE_EXAMPLES: &str = r#"Examples:
  sizewise route --config route.toml                 # serve until Ctrl-C
  sizewise route --config route.toml --check         # what the configuration means, then exit
  sizewise route hash-key sk-team-a                  # for a [[key]] sha256 = "..."
  sizewise route eval --config route.toml --suite sentiment --save-model difficulty.json

A minimal configuration (catalog ids give context windows, prices and tokenizers):

  listen = "127.0.0.1:8090"
  [[upstream]]
  name = "small"
  model = "smollm2-135m"
  url = "http://127.0.0.1:8091/v1"
  local = true                    # data sent here stays on premises
  [[upstream]]
  name = "large"
  model = "llama-3.1-70b"
  url = "http://127.0.0.1:8092/v1"
  api_key_env = "LARGE_API_KEY"
  [policy]
  default = "small"
  privacy = "local-only"          # or "redact", "off"
  on_budget_exhausted = "small"   # or "reject"

  [[rule]]                        # first match wins; every condition given must hold
  name = "code to large"
  to = "large"
  task = ["code"]                 # metadata.task or the x-sizewise-task header
  # regex = "(?i)prove|derive"    # min_messages = 6   min_prompt_tokens = 2000

  [[key]]                         # with keys, clients must send one
  name = "team-a"
  sha256 = "..."                  # sizewise route hash-key KEY
  budget_usd = 50.0
  requests_per_minute = 600

Clients send "model": "auto" to let the policy choose, or an upstream's name to pin it.
Every answer says where it went and why, in x-sizewise-route and x-sizewise-reason.
The ledger (SQLite, route-ledger.sqlite beside the configuration, unless database_url names
another file or postgres://USER:PASSWORD@HOST:PORT/DB, where replicas share budgets) holds one row per request: route, reason, tokens, cost, cost on the large model.
Also served: /v1/models, /health, /metrics (Prometheus).

A learned difficulty score (from `route eval --save-model`) adds a step after the rules:
  [policy]
  difficulty_model = "difficulty.json"
  large_share = 0.3               # the share of requests it should send to the large upstream"#;

/// Runs `sizewise route`.
pub fn route(catalog: &Catalog, args: RouteArgs) -> anyhow::Result<()> {
    if let Some(RouteAction::Eval(a)) = args.action {
        return crate::cmd_route_eval::route_eval(catalog, a);
    }
    if let Some(RouteAction::HashKey { key }) = &args.action {
        anyhow::ensure!(!key.is_empty(), "the key must not be empty");
        println!(
            "{}",
            sizewise_route::keys::hex(&sizewise_route::keys::hash_key(key))
        );
        return Ok(());
    }
    let Some(path) = &args.config else {
        anyhow::bail!(
            "route needs --config FILE\n  hint: `sizewise route --help` shows a minimal configuration"
        );
    };
    let mut cfg = Config::load(path, catalog)?;
    if let Some(l) = &args.listen {
        cfg.listen = l
            .parse()
            .with_context(|| format!("--listen `{l}` is not an address such as 127.0.0.1:8090"))?;
    }
    if args.check {
        return print_check(&cfg, args.json);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        let listen = cfg.listen;
        let ledger = cfg.ledger.clone();
        let (gateway, warnings) = sizewise_route::Gateway::new(cfg.clone()).await?;
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| {
            format!("listening on {listen}\n  hint: change `listen`, or pass --listen 127.0.0.1:0 for any free port")
        })?;
        let addr = listener.local_addr()?;
        let mut err = std::io::stderr().lock();
        for w in &warnings {
            writeln!(err, "warning: {w}")?;
        }
        drop(err);
        let mut out = std::io::stdout().lock();
        if args.json {
            writeln!(
                out,
                "{}",
                json!({"url": format!("http://{addr}/v1"), "ledger": ledger.describe(),
                       "upstreams": cfg.upstreams.iter().map(|u| &u.name).collect::<Vec<_>>()})
            )?;
        } else {
            writeln!(out, "sizewise route: {}", summary_line(&cfg))?;
            writeln!(out, "ledger {}", ledger.describe())?;
            writeln!(out, "listening on http://{addr}/v1  (Ctrl-C to stop)")?;
        }
        out.flush()?;
        drop(out);
        let gateway = Arc::new(gateway);
        sizewise_route::serve(gateway.clone(), listener, crate::cmd_simulate::stop_signal()).await;
        let t = gateway.totals();
        let mut out = std::io::stdout().lock();
        if args.json {
            writeln!(out, "{}", json!({"totals": t}))?;
        } else {
            writeln!(
                out,
                "served {} request{}: {} answered, {} failed, {} refused; US${:.4} spent, US${:.4} saved against always-{}",
                t.requests,
                if t.requests == 1 { "" } else { "s" },
                t.ok,
                t.errors,
                t.rejected,
                t.cost_usd,
                t.large_cost_usd - t.cost_usd,
                cfg.upstreams[cfg.large].name
            )?;
        }
        anyhow::Ok(())
    })
}

fn summary_line(cfg: &Config) -> String {
    let ups: Vec<String> = cfg
        .upstreams
        .iter()
        .map(|u| {
            format!(
                "{} ({}{})",
                u.name,
                u.model,
                if u.local { ", local" } else { "" }
            )
        })
        .collect();
    format!(
        "{}; default {}, privacy {}, {} rule(s), {} key(s)",
        ups.join(", "),
        cfg.upstreams[cfg.default].name,
        cfg.privacy.as_str(),
        cfg.rules.len(),
        cfg.keys.len()
    )
}

fn print_check(cfg: &Config, as_json: bool) -> anyhow::Result<()> {
    let ups: Vec<serde_json::Value> = cfg
        .upstreams
        .iter()
        .map(|u| {
            json!({
                "name": u.name, "model": u.model, "url": u.url, "local": u.local,
                "context_window": u.context_window, "tokenizer": u.tokenizer,
                "tokenizer_exact": u.tokenizer_exact,
                "input_usd_per_mtok": u.input_usd_per_mtok, "output_usd_per_mtok": u.output_usd_per_mtok,
                "price_source": u.price_source,
                "api_key_env": u.api_key_env,
            })
        })
        .collect();
    let rules: Vec<serde_json::Value> = cfg
        .rules
        .iter()
        .map(|r| json!({"name": r.name, "to": cfg.upstreams[r.to].name}))
        .collect();
    let v = json!({
        "listen": cfg.listen.to_string(),
        "ledger": cfg.ledger.describe(),
        "default": cfg.upstreams[cfg.default].name,
        "large_baseline": cfg.upstreams[cfg.large].name,
        "privacy": cfg.privacy.as_str(),
        "fallback": cfg.fallback,
        "upstreams": ups,
        "rules": rules,
        "keys": cfg.keys.iter().map(|k| json!({"name": k.name, "budget_usd": k.budget_usd,
            "requests_per_minute": k.requests_per_minute})).collect::<Vec<_>>(),
        "difficulty": cfg.difficulty.as_ref().map(|d| json!({"threshold": d.threshold,
            "large_share": d.share, "to": cfg.upstreams[d.to].name})),
        "cascade": cfg.cascade.as_ref().map(|c| json!({"from": cfg.upstreams[c.from].name,
            "to": cfg.upstreams[c.to].name,
            "checks": c.checks.iter().map(|k| k.as_str()).collect::<Vec<_>>()})),
        "warnings": cfg.warnings,
    });
    let mut out = std::io::stdout().lock();
    if as_json {
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    writeln!(out, "configuration OK: {}", summary_line(cfg))?;
    for u in &cfg.upstreams {
        writeln!(
            out,
            "  {:<10} {} at {}{}; window {}; tokenizer {}{}; US${}/US${} per 1M in/out ({})",
            u.name,
            u.model,
            u.url,
            if u.local { ", local" } else { "" },
            u.context_window.map_or("unknown".into(), |w| w.to_string()),
            u.tokenizer,
            if u.tokenizer_exact { "" } else { " (approx.)" },
            u.input_usd_per_mtok,
            u.output_usd_per_mtok,
            u.price_source
        )?;
    }
    writeln!(
        out,
        "  decisions: model \"auto\" -> privacy ({}) -> context window -> {} rule(s) -> default `{}`; savings counted against `{}`",
        cfg.privacy.as_str(),
        cfg.rules.len(),
        cfg.upstreams[cfg.default].name,
        cfg.upstreams[cfg.large].name
    )?;
    if let Some(d) = &cfg.difficulty {
        writeln!(
            out,
            "  difficulty score ({}): prompts scoring >= {:.3} go to `{}` (calibrated for {:.0}% of requests)",
            d.model.trained_on,
            d.threshold,
            cfg.upstreams[d.to].name,
            d.share * 100.0
        )?;
    }
    if let Some(c) = &cfg.cascade {
        let checks: Vec<&str> = c.checks.iter().map(|k| k.as_str()).collect();
        writeln!(
            out,
            "  cascade: `{}` answers first; escalated to `{}` when a check fails ({})",
            cfg.upstreams[c.from].name,
            cfg.upstreams[c.to].name,
            checks.join(", ")
        )?;
    }
    for k in &cfg.keys {
        writeln!(
            out,
            "  key `{}`: budget {}, {}",
            k.name,
            k.budget_usd
                .map_or("unlimited".into(), |b| format!("US${b}")),
            k.requests_per_minute
                .map_or("no rate limit".into(), |r| format!(
                    "{r} requests per minute"
                ))
        )?;
    }
    if cfg.keys.is_empty() {
        writeln!(out, "  no [[key]]: requests need no key")?;
    }
    writeln!(out, "  ledger {}", cfg.ledger.describe())?;
    for w in &cfg.warnings {
        writeln!(out, "warning: {w}")?;
    }
    Ok(())
}
