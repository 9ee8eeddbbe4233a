//! `sizewise route eval`: how much quality a router keeps for each share of large-model calls,
//! measured on an eval suite with the configuration's own upstreams.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use serde_json::{Value, json};
use sizewise_catalog::Catalog;
use sizewise_eval::{Prepared, prepare, score_text};
use sizewise_route::config::Config;
use sizewise_route::curve::{self, CurveReport, Pair};
use sizewise_route::difficulty::{DifficultyModel, share_key};
use sizewise_route::policy::{self, Counters, RequestInfo};

/// Flags of `sizewise route eval`.
#[derive(Args, Debug)]
#[command(after_long_help = EVAL_EXAMPLES)]
pub struct RouteEvalArgs {
    /// The gateway's configuration: `policy.default` is the small model, `policy.large` (or
    /// the dearest upstream) the large one.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
    /// A built-in suite (`sizewise eval list` shows them) or a suite file.
    #[arg(long, short = 's')]
    pub suite: String,
    /// Use only the first N items.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Seed of the few-shot examples and of the train/test split.
    #[arg(long, default_value_t = 1234)]
    pub seed: u64,
    /// Share of the items the difficulty score learns from; the curve is measured on the rest.
    #[arg(long, default_value_t = 0.5)]
    pub train_share: f64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Write the learnt difficulty model here, for `policy.difficulty_model`.
    #[arg(long, value_name = "FILE")]
    pub save_model: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

const EVAL_EXAMPLES: &str = "\
Examples:
  sizewise route eval --config route.toml --suite sentiment
  sizewise route eval --config route.toml --suite mmlu-mini --save-model difficulty.json --json

For a test without a real large model, make one of known quality:
  sizewise simulate large --ttft-ms 0 --tpot-ms 0 --answers sentiment --accuracy 0.9 --port 8092

Measures (RouteLLM's): PGR = (quality - small) / (large - small), the share of the quality gap
a router recovers; APGR, its mean over shares of large calls (0.5 for a random router);
CPT(x%), the share of large calls needed to recover x% of the gap. Thresholds are calibrated
on the training part only, so the realised share on the test part shows the drift a user
would see.";

/// How far above a random split's APGR (0.5) a score must be to count as better. On 100 test
/// items (small right on 57%, large on 88%), a random score's APGR has a standard deviation
/// of 0.058 (2,000 simulated splits): this is about two of them.
const RANDOM_MARGIN: f64 = 0.1;

/// Both answers to one item.
struct Answered {
    text: String,
    small: f64,
    large: f64,
    small_usd: f64,
    large_usd: f64,
    messages: usize,
    train: bool,
}

fn chat_body(p: &Prepared) -> Value {
    json!({"messages": crate::cmd_eval::chat_messages(p), "max_tokens": p.max_tokens, "temperature": 0})
}

/// The text the gateway's policy reads: every message's content joined by newlines.
fn policy_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m["content"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// A seeded hash of item `id`, to order items for the train/test split.
fn split_rank(id: &str, seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // FNV's high bits barely move with the last bytes: finish with SplitMix64's mixer.
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Runs `sizewise route eval`.
pub fn route_eval(catalog: &Catalog, args: RouteEvalArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.train_share > 0.0 && args.train_share < 1.0,
        "--train-share must be between 0 and 1 (exclusive)"
    );
    anyhow::ensure!(args.concurrency >= 1, "--concurrency must be at least 1");
    let cfg = Arc::new(Config::load(&args.config, catalog)?);
    let (small, large) = (cfg.default, cfg.large);
    anyhow::ensure!(
        small != large,
        "route eval compares two upstreams, but policy.default and the large baseline are both `{}`\n  hint: set policy.large to the large upstream",
        cfg.upstreams[small].name
    );
    let suite = crate::cmd_eval::load_suite(&args.suite)?;
    let prompts = prepare(&suite, None, args.seed, args.limit)?;
    anyhow::ensure!(
        prompts.len() >= 20,
        "route eval needs at least 20 items, the suite gives {}",
        prompts.len()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let asker = rt.block_on(async { sizewise_route::Asker::new(&cfg) })?;
    for w in &cfg.warnings {
        eprintln!("warning: {w}");
    }
    let bar = indicatif::ProgressBar::new(prompts.len() as u64 * 2);
    if args.json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    // Each item's request, built once: sent to both upstreams, and read by the policy.
    let bodies: Vec<Value> = prompts.iter().map(chat_body).collect();
    let results: Vec<anyhow::Result<(String, Option<sizewise_route::request::Usage>)>> = rt
        .block_on(async {
            let sem = Arc::new(tokio::sync::Semaphore::new(args.concurrency));
            let mut tasks = Vec::new();
            for (p, body) in prompts.iter().zip(&bodies) {
                for ui in [small, large] {
                    let (asker, cfg, sem, bar) =
                        (asker.clone(), cfg.clone(), sem.clone(), bar.clone());
                    let body = body.clone();
                    let id = p.id.clone();
                    tasks.push(tokio::spawn(async move {
                        let _permit = sem.acquire_owned().await;
                        let r = asker.chat(&cfg, ui, body).await;
                        bar.inc(1);
                        r.map_err(|e| anyhow::anyhow!("item {id}: {e}"))
                    }));
                }
            }
            let mut out = Vec::new();
            for t in tasks {
                out.push(
                    t.await
                        .unwrap_or_else(|e| Err(anyhow::anyhow!("a request task failed: {e}"))),
                );
            }
            out
        });
    bar.finish_and_clear();
    let mut answered = Vec::new();
    for ((p, body), pair) in prompts.iter().zip(&bodies).zip(results.chunks(2)) {
        let item = suite.item(p.index).context("an item went missing")?;
        let mut q = [0.0; 2];
        let mut usd = [0.0; 2];
        for (k, (r, ui)) in pair.iter().zip([small, large]).enumerate() {
            let (text, usage) = match r {
                Ok(a) => a,
                Err(e) => anyhow::bail!(
                    "{e}\n  hint: check that both upstreams run (sizewise route --config FILE --check lists them)"
                ),
            };
            let text = match crate::cmd_eval::first_stop(text, &p.stop) {
                Some(at) => &text[..at],
                None => text.as_str(),
            };
            q[k] = score_text(&suite, item, text).flexible.value;
            usd[k] = usage.map_or(0.0, |u| cfg.upstreams[ui].cost(u.prompt, u.completion));
        }
        answered.push(Answered {
            text: policy_text(body),
            small: q[0],
            large: q[1],
            small_usd: usd[0],
            large_usd: usd[1],
            messages: body["messages"].as_array().map_or(1, Vec::len),
            train: false,
        });
    }
    // Exactly round(share x items) items to learn from, chosen by the seed.
    let mut ranked: Vec<(u64, usize)> = prompts
        .iter()
        .enumerate()
        .map(|(i, p)| (split_rank(&p.id, args.seed), i))
        .collect();
    ranked.sort_unstable();
    let n_train = (args.train_share * answered.len() as f64).round() as usize;
    for &(_, i) in ranked.iter().take(n_train) {
        answered[i].train = true;
    }
    let train: Vec<(String, bool)> = answered
        .iter()
        .filter(|a| a.train)
        .map(|a| (a.text.clone(), a.small < a.large))
        .collect();
    let test: Vec<&Answered> = answered.iter().filter(|a| !a.train).collect();
    anyhow::ensure!(
        train.len() >= 10 && test.len() >= 10,
        "the split left {} items to learn from and {} to test on; use more items or another --train-share",
        train.len(),
        test.len()
    );
    let trained_on = format!(
        "{} ({} of {} items), {} vs {}",
        suite.id,
        train.len(),
        answered.len(),
        cfg.upstreams[small].name,
        cfg.upstreams[large].name
    );
    let model = DifficultyModel::train(&trained_on, &train);
    let pairs: Vec<Pair> = test
        .iter()
        .map(|a| Pair {
            small: a.small,
            large: a.large,
            small_usd: a.small_usd,
            large_usd: a.large_usd,
            score: model.score(&a.text),
        })
        .collect();
    let thresholds: Vec<(f64, f64)> = (0..=10)
        .map(|i| {
            let s = i as f64 / 10.0;
            (
                s,
                model.thresholds.get(&share_key(s)).copied().unwrap_or(2.0),
            )
        })
        .collect();
    let report = curve::evaluate(&pairs, &thresholds);

    // Where the configuration's own policy (rules, context, privacy) sends the test items.
    let counters = Counters::new(&cfg);
    let (mut to_large, mut q, mut usd, mut refused) = (0usize, 0.0, 0.0, 0usize);
    for a in &test {
        let info = RequestInfo {
            requested: "auto".into(),
            text: a.text.clone(),
            messages: a.messages,
            ..RequestInfo::default()
        };
        match policy::decide(&cfg, &counters, &info) {
            Ok(d) if d.order[0] == large => {
                to_large += 1;
                q += a.large;
                usd += a.large_usd;
            }
            Ok(_) => {
                q += a.small;
                usd += a.small_usd;
            }
            Err(_) => refused += 1,
        }
    }
    let n = test.len() as f64;
    let policy_point = json!({
        "share_large": to_large as f64 / n,
        "quality": q / n,
        "usd_per_1k": usd / n * 1000.0,
        "refused": refused,
    });
    if let Some(path) = &args.save_model {
        model
            .save(path)
            .map_err(|e| anyhow::anyhow!("--save-model: {e}"))?;
    }
    let v = json!({
        "suite": suite.id,
        "small": cfg.upstreams[small].name,
        "large": cfg.upstreams[large].name,
        "items": answered.len(),
        "train_items": train.len(),
        "test_items": test.len(),
        "curve": report,
        "policy": policy_point,
        "better_than_random": report.apgr >= 0.5 + RANDOM_MARGIN && report.large_quality > report.small_quality,
        "model_file": args.save_model.as_ref().map(|p| p.display().to_string()),
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    print_report(&v, &report)
}

fn print_report(v: &Value, r: &CurveReport) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "route eval on {}: {} (small) vs {} (large); difficulty score learnt on {} items, measured on {}",
        v["suite"].as_str().unwrap_or(""),
        v["small"].as_str().unwrap_or(""),
        v["large"].as_str().unwrap_or(""),
        v["train_items"],
        v["test_items"]
    )?;
    writeln!(
        out,
        "always small: {:.3}   always large: {:.3}",
        r.small_quality, r.large_quality
    )?;
    let mut t = crate::table::new(&[
        "target large",
        "realised large",
        "quality",
        "PGR",
        "US$ / 1k requests",
    ]);
    for p in &r.points {
        t.add_row(vec![
            format!("{:.0}%", p.target_share * 100.0),
            format!("{:.0}%", p.share * 100.0),
            format!("{:.3}", p.quality),
            format!("{:.2}", p.pgr),
            format!("{:.4}", p.usd_per_1k),
        ]);
    }
    writeln!(out, "{t}")?;
    let pct = |x: Option<f64>| {
        x.map_or("not reached".to_string(), |x| {
            format!("{:.0}% large calls", x * 100.0)
        })
    };
    writeln!(
        out,
        "APGR {:.3} (a random split: 0.500; an oracle that sends large exactly the items small gets wrong: {:.3});  CPT(50%) {};  CPT(80%) {}",
        r.apgr,
        r.oracle_apgr,
        pct(r.cpt50),
        pct(r.cpt80)
    )?;
    let p = &v["policy"];
    writeln!(
        out,
        "the configuration's rules: {:.0}% large, quality {:.3}, US${:.4} per 1k requests{}",
        p["share_large"].as_f64().unwrap_or(0.0) * 100.0,
        p["quality"].as_f64().unwrap_or(0.0),
        p["usd_per_1k"].as_f64().unwrap_or(0.0),
        match p["refused"].as_u64() {
            Some(0) | None => String::new(),
            Some(k) => format!(" ({k} items refused by the policy)"),
        }
    )?;
    if r.large_quality > r.small_quality && r.apgr < 0.5 + RANDOM_MARGIN {
        writeln!(
            out,
            "warning: the difficulty score is not clearly better than a random split on these items (APGR {:.3}, below 0.5 + {RANDOM_MARGIN}); a random share of large calls would do about as well",
            r.apgr
        )?;
    } else if r.large_quality <= r.small_quality {
        writeln!(
            out,
            "note: the large model is not better than the small one on this suite: routing cannot gain quality here"
        )?;
    }
    if let Some(f) = v["model_file"].as_str() {
        writeln!(
            out,
            "difficulty model written to {f}: set policy.difficulty_model = \"{f}\" and policy.large_share"
        )?;
    }
    Ok(())
}
