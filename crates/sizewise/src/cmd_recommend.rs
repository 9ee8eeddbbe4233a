//! `sizewise recommend`: which model, on which hardware and precision (or which API), meets a
//! workload's constraints, ranked, with the reasons for each place, the options rejected and
//! the constraint each broke, and a split between a small and a large model when that meets
//! constraints neither meets alone.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;
use serde_json::{Value, json};
use sizewise_catalog::{Catalog, Hardware, Model};
use sizewise_estimate::{Precision, Scenario};
use sizewise_store::{RunKind, RunStatus, Store};

use crate::cmd_compare::cost_basis;
use crate::human;
use crate::i18n::{Lang, localize, tr};
use crate::plan::{Infeasible, Plan, is_encoder_only, plan};
use crate::results::StoreArgs;
use crate::table;
use crate::workload::{MinQuality, Privacy, Workload};

/// Devices tried when the workload names none: a laptop, a gaming GPU, and rented GPUs from
/// small to large (tensor parallel where one is not enough).
pub const DEFAULT_DEVICES: &[&str] = &[
    "apple-m2",
    "nvidia-rtx-4090",
    "nvidia-l4",
    "nvidia-a100-80gb-sxm",
    "nvidia-h100-sxm",
];

/// Arguments of `sizewise recommend`.
#[derive(Args)]
#[command(after_help = "A workload file (TOML):
  task = \"classify support tickets\"
  requests_per_day = 20000
  prompt_tokens = 400
  output_tokens = 20
  latency_p95_ms = 2000          # optional
  monthly_budget_usd = 300       # optional
  privacy = \"on-premises\"        # or \"any\" (default)
  device = \"nvidia-l4\"           # optional: only this hardware (and no API)
  [min_quality]                  # optional
  suite = \"MMLU\"                 # a published benchmark, or a suite run with `sizewise eval`
  score = 0.6

Latency is the slow end (p90) of the estimate's band plus the mean queueing wait at the
average load across the replicas (Sakasegawa's M/G/c approximation), standing in for p95.
Self-hosted options get enough replicas to keep the average load at or under 80% of their
capacity, and pay for them; API costs are list prices. Quality comes from `sizewise eval`
runs in the results store whose target names the model, else from the catalog's published
scores.")]
pub struct RecommendArgs {
    /// The workload file (TOML).
    #[arg(long, value_name = "FILE")]
    workload: PathBuf,
    /// How many options to list.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Print JSON: `options` (best first), `rejected`, `combination`.
    #[arg(long)]
    json: bool,
    /// Language of the reasons.
    #[arg(long, value_enum, default_value_t = Lang::En)]
    lang: Lang,
    #[command(flatten)]
    store: StoreArgs,
}

/// A constraint an option breaks.
#[derive(Debug, Clone, Serialize)]
struct Broken {
    /// `privacy`, `memory`, `context_window`, `latency`, `budget`, `cost_unknown`,
    /// `quality`, `quality_unknown`.
    constraint: &'static str,
    /// Why, in words.
    text: String,
    /// By how much, as a share of the limit, for the constraints that a bigger budget, a
    /// looser latency or a lower floor would meet; `None` for hard ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    excess: Option<f64>,
}

/// A score and where it comes from.
#[derive(Debug, Clone, Serialize)]
struct Quality {
    score: f64,
    kind: &'static str,
    source: String,
}

/// One option: a model self-hosted on a device at a precision, or a model's API.
struct Candidate<'a> {
    plan: Plan<'a>,
    precision: String,
    monthly_usd: Option<f64>,
    cost_text: Option<String>,
    latency_s: Option<f64>,
    load: Option<Load>,
    quality: Option<Quality>,
    broken: Vec<Broken>,
}

/// How busy a self-hosted option is at the workload's average rate, and the latency that
/// gives.
#[derive(Debug, Clone, Copy)]
struct Load {
    /// Replicas (each of `gpus` devices) for the average load at no more than
    /// [`TARGET_UTILISATION`].
    replicas: f64,
    /// Those replicas over the ones the estimate's monthly cost pays for.
    cost_factor: f64,
    /// The share of each replica's capacity the average load takes.
    utilisation: f64,
    /// The slow end (p90) of the end-to-end estimate plus the mean wait in a queue of the
    /// replicas at that utilisation: what a p95 would be near.
    latency_s: f64,
}

/// The most of a replica's capacity the average load may take: above it queues grow fast,
/// so recommend adds replicas (and their cost) until the load fits under it.
const TARGET_UTILISATION: f64 = 0.8;

impl Load {
    fn of(n: &sizewise_estimate::Numbers, w: &Workload) -> Load {
        let demand = w.requests_per_day * w.output_tokens as f64 / 86_400.0;
        let per_replica = n.throughput_tokens_per_s.p50;
        let sized = n.replicas.p50.max(1.0);
        let replicas = if per_replica > 0.0 {
            sized.max((demand / (per_replica * TARGET_UTILISATION)).ceil())
        } else {
            sized
        };
        let utilisation = if per_replica > 0.0 {
            demand / (replicas * per_replica)
        } else {
            f64::INFINITY
        };
        // The mean wait in a queue of `replicas` servers with constant service times:
        // Sakasegawa's (1977) approximation, exact for one server (Pollaczek-Khinchine,
        // rho S / 2 (1 - rho)).
        let wait = if utilisation < 1.0 {
            let power = (2.0 * (replicas + 1.0)).sqrt() - 1.0;
            utilisation.powf(power) / (replicas * (1.0 - utilisation)) * n.e2e_s.p50 / 2.0
        } else {
            f64::INFINITY
        };
        Load {
            replicas,
            cost_factor: replicas / sized,
            utilisation,
            latency_s: n.e2e_s.p90 + wait,
        }
    }
}

impl Candidate<'_> {
    fn meets(&self) -> bool {
        self.broken.is_empty()
    }

    /// Whether every broken constraint is soft (more money, time or a lower floor fixes it).
    fn near(&self) -> Option<f64> {
        self.broken
            .iter()
            .map(|b| b.excess)
            .sum::<Option<f64>>()
            .filter(|_| !self.broken.is_empty())
    }

    fn hardware(&self) -> Option<String> {
        self.plan.hardware.map(|h| {
            let g = self.plan.scenario.gpus;
            if g > 1 {
                format!("{g}x {}", h.id)
            } else {
                h.id.clone()
            }
        })
    }
}

/// A score with three decimals, so that one just under a floor never prints equal to it.
fn score_text(score: f64) -> String {
    format!("{score:.3}")
}

/// A quality's origin in Portuguese.
fn kind_pt(kind: &str) -> &'static str {
    match kind {
        "measured" => "medida",
        _ => "publicada",
    }
}

/// "3 devices" or "2 replicas of 2 devices".
fn machines(replicas: f64, gpus: u32, lang: Lang) -> String {
    let r = replicas.round() as u64;
    match (gpus > 1, lang == Lang::PtBr) {
        (false, false) => format!("{r} device{}", if r == 1 { "" } else { "s" }),
        (false, true) => format!("{r} dispositivo{}", if r == 1 { "" } else { "s" }),
        (true, false) => format!(
            "{r} replica{} of {gpus} devices",
            if r == 1 { "" } else { "s" }
        ),
        (true, true) => format!(
            "{r} réplica{} de {gpus} dispositivos",
            if r == 1 { "" } else { "s" }
        ),
    }
}

/// `latency_s` against the limit, over it or under it, in words.
fn latency_against(latency_s: f64, limit_ms: f64, over: bool, lang: Lang) -> String {
    let (l, limit) = (human::seconds(latency_s), human::seconds(limit_ms / 1000.0));
    let (en, pt) = if over {
        ("over", "acima de")
    } else {
        ("under", "abaixo de")
    };
    tr(
        lang,
        format!("about {l} end to end (slow end of the estimate, with queueing), {en} {limit}"),
        format!(
            "cerca de {l} de ponta a ponta (extremo lento da estimativa, com fila), {pt} {limit}"
        ),
    )
}

/// Eval runs in the store, newest first: (run id, suite, target, score).
fn eval_runs(store: &Store) -> Vec<(i64, String, String, f64)> {
    let Ok(runs) = store.list_runs(Some(RunKind::Eval), None) else {
        return Vec::new();
    };
    runs.iter()
        .filter(|r| r.status == RunStatus::Complete)
        .filter_map(|r| {
            let run = store.get_run(r.id).ok()??;
            let s = run.summary?;
            let score = s["score"].as_f64().or_else(|| s["accuracy"].as_f64())?;
            Some((
                r.id.0,
                s["suite"].as_str()?.to_string(),
                r.target.clone(),
                score,
            ))
        })
        .collect()
}

/// Letters and digits only, lower case: `SmolLM2-135M` and `smollm2-135m` agree.
fn squash(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The model's score on `floor.suite`: measured by an eval run whose target names the model,
/// else published in the catalog (a percentage becomes a share).
fn quality_of(
    m: &Model,
    floor: &MinQuality,
    evals: &[(i64, String, String, f64)],
) -> Option<Quality> {
    let id = squash(&m.id);
    if let Some((run, _, _, score)) = evals.iter().find(|(_, suite, target, _)| {
        suite.eq_ignore_ascii_case(&floor.suite) && squash(target).contains(&id)
    }) {
        return Some(Quality {
            score: *score,
            kind: "measured",
            source: format!("sizewise eval run {run}"),
        });
    }
    m.score(&floor.suite).map(|s| Quality {
        score: if s.value > 1.0 {
            s.value / 100.0
        } else {
            s.value
        },
        kind: "published",
        source: s.source.clone(),
    })
}

/// Precisions worth trying on `h`: llama.cpp's 4- and 8-bit formats off GPUs; bf16, fp8
/// where the device has it, and int4 on GPUs.
fn precisions_for(h: &Hardware) -> Vec<Precision> {
    if h.class.is_gpu() {
        let mut p = vec![Precision::Bf16];
        if h.fp8_tflops.is_some() {
            p.push(Precision::Fp8);
        }
        p.push(Precision::Int4);
        p
    } else {
        vec![Precision::Q4KM, Precision::Q8_0]
    }
}

/// A plan's monthly cost and how it is counted.
fn monthly(p: &Plan, lang: Lang) -> (Option<f64>, Option<String>) {
    let basis = cost_basis(p, lang).map(|(_, text)| text);
    match &p.numbers {
        Some(n) => (n.monthly_self_hosted_usd.map(|b| b.p50), basis),
        None => {
            let s = &p.scenario;
            let month =
                p.model.api.as_ref().map(|api| {
                    api.usd_per_month(s.prompt_tokens, s.output_tokens, s.requests_per_day)
                });
            (month, basis)
        }
    }
}

/// Checks `plan` against the workload's constraints.
fn candidate<'a>(
    plan: Plan<'a>,
    w: &Workload,
    evals: &[(i64, String, String, f64)],
    lang: Lang,
) -> Candidate<'a> {
    let mut broken = Vec::new();
    let api = plan.numbers.is_none();
    if api && w.privacy == Privacy::OnPremises {
        broken.push(Broken {
            constraint: "privacy",
            text: tr(
                lang,
                "an API: requests leave your premises",
                "uma API: as requisições saem da sua infraestrutura",
            ),
            excess: None,
        });
    }
    for why in &plan.infeasible {
        let (constraint, text) = match why {
            Infeasible::DoesNotFit => (
                "memory",
                match &plan.numbers {
                    Some(n) => tr(
                        lang,
                        format!(
                            "needs {} of memory, {} usable",
                            human::bytes(n.inference_memory_bytes),
                            human::bytes(n.usable_memory_bytes)
                        ),
                        format!(
                            "precisa de {} de memória, {} utilizáveis",
                            human::bytes(n.inference_memory_bytes),
                            human::bytes(n.usable_memory_bytes)
                        ),
                    ),
                    None => why.short(lang).to_string(),
                },
            ),
            Infeasible::ContextTooLong => (
                "context_window",
                tr(
                    lang,
                    format!(
                        "{} + {} tokens exceed its {}-token window",
                        w.prompt_tokens,
                        w.output_tokens,
                        plan.model.context_window.unwrap_or(0)
                    ),
                    format!(
                        "{} + {} tokens excedem a janela de {} tokens",
                        w.prompt_tokens,
                        w.output_tokens,
                        plan.model.context_window.unwrap_or(0)
                    ),
                ),
            ),
            Infeasible::CannotGenerate => ("cannot_generate", why.short(lang).to_string()),
        };
        broken.push(Broken {
            constraint,
            text,
            excess: None,
        });
    }
    let load = plan.numbers.as_ref().map(|n| Load::of(n, w));
    let latency_s = load.as_ref().map(|l| l.latency_s);
    if let (Some(limit_ms), Some(l)) = (w.latency_p95_ms, latency_s)
        && l * 1000.0 > limit_ms
    {
        broken.push(Broken {
            constraint: "latency",
            text: latency_against(l, limit_ms, true, lang),
            excess: Some(l * 1000.0 / limit_ms - 1.0),
        });
    }
    let (monthly_usd, cost_text) = monthly(&plan, lang);
    let monthly_usd = monthly_usd.map(|c| c * load.map_or(1.0, |l| l.cost_factor));
    if let Some(budget) = w.monthly_budget_usd {
        match monthly_usd {
            Some(c) if c > budget => broken.push(Broken {
                constraint: "budget",
                text: tr(
                    lang,
                    format!(
                        "{}/month, over the {} budget",
                        human::usd(c),
                        human::usd(budget)
                    ),
                    format!(
                        "{}/mês, acima do orçamento de {}",
                        human::usd(c),
                        human::usd(budget)
                    ),
                ),
                excess: Some(if budget > 0.0 { c / budget - 1.0 } else { c }),
            }),
            Some(_) => {}
            None => broken.push(Broken {
                constraint: "cost_unknown",
                text: tr(
                    lang,
                    "no price for this hardware or API",
                    "sem preço para este hardware ou API",
                ),
                excess: None,
            }),
        }
    }
    let quality = w
        .min_quality
        .as_ref()
        .and_then(|q| quality_of(plan.model, q, evals));
    if let Some(floor) = &w.min_quality {
        match &quality {
            Some(q) if q.score < floor.score => broken.push(Broken {
                constraint: "quality",
                text: tr(
                    lang,
                    format!(
                        "{} {} ({}), under {}",
                        floor.suite,
                        score_text(q.score),
                        q.kind,
                        score_text(floor.score)
                    ),
                    format!(
                        "{} {} ({}), abaixo de {}",
                        floor.suite,
                        score_text(q.score),
                        kind_pt(q.kind),
                        score_text(floor.score)
                    ),
                ),
                excess: Some((floor.score - q.score) / floor.score.max(1e-9)),
            }),
            Some(_) => {}
            None => broken.push(Broken {
                constraint: "quality_unknown",
                text: tr(
                    lang,
                    format!(
                        "no {} score, measured or published (sizewise eval measures one)",
                        floor.suite
                    ),
                    format!(
                        "sem nota de {}, medida ou publicada (sizewise eval mede uma)",
                        floor.suite
                    ),
                ),
                excess: None,
            }),
        }
    }
    for b in &mut broken {
        b.text = localize(&b.text, lang);
    }
    let precision = plan.numbers.as_ref().map_or_else(
        || "api".to_string(),
        |n| n.deployment.precision.name().to_string(),
    );
    Candidate {
        plan,
        precision,
        monthly_usd,
        cost_text,
        latency_s,
        load,
        quality,
        broken,
    }
}

/// Why a candidate that meets every constraint is where it is.
fn reasons(
    c: &Candidate,
    above: Option<&Candidate>,
    w: &Workload,
    rank: usize,
    lang: Lang,
) -> Vec<String> {
    let mut out = Vec::new();
    match above {
        None => out.push(tr(
            lang,
            "the cheapest option that meets every constraint",
            "a opção mais barata que atende a todas as restrições",
        )),
        Some(a) => {
            let (cost, prev) = (c.monthly_usd.unwrap_or(0.0), a.monthly_usd.unwrap_or(0.0));
            let slower = match (c.latency_s, a.latency_s) {
                (Some(l), Some(p)) if l > p => Some(human::seconds(l - p)),
                _ => None,
            };
            out.push(match (cost > prev, slower) {
                (true, _) => tr(
                    lang,
                    format!(
                        "#{rank}: {} more per month than #{}",
                        human::usd(cost - prev),
                        rank - 1
                    ),
                    format!(
                        "#{rank}: {} a mais por mês que a #{}",
                        human::usd(cost - prev),
                        rank - 1
                    ),
                ),
                (false, Some(d)) => tr(
                    lang,
                    format!(
                        "#{rank}: the same cost as #{}, {d} slower end to end",
                        rank - 1
                    ),
                    format!(
                        "#{rank}: o mesmo custo da #{}, {d} mais lenta de ponta a ponta",
                        rank - 1
                    ),
                ),
                (false, None) => tr(
                    lang,
                    format!("#{rank}: the same cost as #{}", rank - 1),
                    format!("#{rank}: o mesmo custo da #{}", rank - 1),
                ),
            });
        }
    }
    if let (Some(c), Some(text)) = (c.monthly_usd, &c.cost_text) {
        let budget = w.monthly_budget_usd.map(human::usd);
        out.push(match budget {
            Some(b) => tr(
                lang,
                format!("{}/month ({text}), within the {b} budget", human::usd(c)),
                format!("{}/mês ({text}), dentro do orçamento de {b}", human::usd(c)),
            ),
            None => tr(
                lang,
                format!("{}/month ({text})", human::usd(c)),
                format!("{}/mês ({text})", human::usd(c)),
            ),
        });
    }
    match (c.latency_s, w.latency_p95_ms) {
        (Some(l), Some(limit)) => out.push(latency_against(l, limit, false, lang)),
        (Some(l), None) => out.push(tr(
            lang,
            format!("about {} end to end", human::seconds(l)),
            format!("cerca de {} de ponta a ponta", human::seconds(l)),
        )),
        (None, _) => out.push(tr(
            lang,
            "API latency is not estimated: measure it with `sizewise bench`",
            "a latência de uma API não é estimada: meça com `sizewise bench`",
        )),
    }
    match (&c.plan.numbers, c.plan.hardware, &c.load) {
        (Some(n), Some(h), Some(load)) => out.push(tr(
            lang,
            format!(
                "data stays on your {} ({} of {} memory used); {} for the load, {:.0}% busy",
                h.id,
                human::bytes(n.inference_memory_bytes),
                human::bytes(n.usable_memory_bytes),
                machines(load.replicas, c.plan.scenario.gpus, lang),
                load.utilisation * 100.0
            ),
            format!(
                "os dados ficam no seu {} ({} de {} de memória em uso); {} para a carga, {:.0}% ocupado",
                h.id,
                human::bytes(n.inference_memory_bytes),
                human::bytes(n.usable_memory_bytes),
                machines(load.replicas, c.plan.scenario.gpus, lang),
                load.utilisation * 100.0
            ),
        )),
        _ => out.push(tr(
            lang,
            "requests go to the provider's API",
            "as requisições vão para a API do provedor",
        )),
    }
    if let (Some(q), Some(floor)) = (&c.quality, &w.min_quality) {
        out.push(tr(
            lang,
            format!(
                "{} {} ({}), at least {}",
                floor.suite,
                score_text(q.score),
                q.kind,
                score_text(floor.score)
            ),
            format!(
                "{} {} ({}), no mínimo {}",
                floor.suite,
                score_text(q.score),
                kind_pt(q.kind),
                score_text(floor.score)
            ),
        ));
    }
    out
}

fn option_json(c: &Candidate, reasons: Vec<String>, meets: bool) -> Value {
    json!({
        "model": c.plan.model.id,
        "hardware": c.hardware(),
        "precision": c.precision,
        "deployment": if c.plan.numbers.is_some() { "self-hosted" } else { "api" },
        "meets_constraints": meets,
        "monthly_usd": c.monthly_usd,
        "latency_s": c.latency_s,
        "devices": c.load.map(|l| l.replicas * f64::from(c.plan.scenario.gpus.max(1))),
        "utilisation": c.load.map(|l| l.utilisation),
        "quality": c.quality,
        "reasons": reasons,
        "broken": c.broken,
    })
}

/// A split of the requests between a cheaper model short of the quality floor and a better
/// one over the budget.
struct Split<'c, 'a> {
    small: &'c Candidate<'a>,
    large: &'c Candidate<'a>,
    share: f64,
    monthly_usd: f64,
    score: f64,
}

/// The cheapest split that meets the budget and the quality floor, at the expected score of
/// a random split (a router that sends the easy requests to the small model does better).
fn best_split<'c, 'a>(cands: &'c [Candidate<'a>], w: &Workload) -> Option<Split<'c, 'a>> {
    let (budget, floor) = (w.monthly_budget_usd?, w.min_quality.as_ref()?);
    let only = |c: &Candidate, what: &str| {
        c.broken.iter().all(|b| b.constraint == what) && !c.broken.is_empty()
    };
    // The cheapest option of each model, on each side.
    let pick = |what: &str| {
        let mut best: Vec<&'c Candidate<'a>> = Vec::new();
        for c in cands
            .iter()
            .filter(|c| only(c, what) && c.monthly_usd.is_some() && c.quality.is_some())
        {
            match best.iter_mut().find(|b| b.plan.model.id == c.plan.model.id) {
                Some(b) if c.monthly_usd < b.monthly_usd => *b = c,
                Some(_) => {}
                None => best.push(c),
            }
        }
        best
    };
    let (smalls, larges) = (pick("quality"), pick("budget"));
    let mut out: Option<Split> = None;
    for s in &smalls {
        for l in &larges {
            let (Some(cs), Some(cl), Some(qs), Some(ql)) = (
                s.monthly_usd,
                l.monthly_usd,
                s.quality.as_ref().map(|q| q.score),
                l.quality.as_ref().map(|q| q.score),
            ) else {
                continue;
            };
            if cl <= cs || ql <= qs {
                continue;
            }
            // Cost and expected score are linear in the cheaper model's share: the cheapest
            // split sends it as much as the floor allows (in steps of 5%).
            let need = (cl - budget) / (cl - cs);
            let most = (ql - floor.score) / (ql - qs);
            let share = (most * 20.0).floor() / 20.0;
            if share < need || !(share > 0.0 && share < 1.0) {
                continue;
            }
            let monthly_usd = share * cs + (1.0 - share) * cl;
            let score = share * qs + (1.0 - share) * ql;
            if monthly_usd > budget || score < floor.score {
                continue;
            }
            if out.as_ref().is_none_or(|o| monthly_usd < o.monthly_usd) {
                out = Some(Split {
                    small: s,
                    large: l,
                    share,
                    monthly_usd,
                    score,
                });
            }
        }
    }
    out
}

/// The columns of a list of options, in `lang`.
pub fn option_header(lang: Lang) -> [&'static str; 7] {
    if lang == Lang::PtBr {
        [
            "#",
            "modelo",
            "hardware",
            "precisão",
            "custo/mês",
            "latência",
            "por quê",
        ]
    } else {
        [
            "#",
            "model",
            "hardware",
            "precision",
            "cost/month",
            "latency",
            "why",
        ]
    }
}

/// `sizewise recommend`.
pub fn recommend(catalog: &Catalog, args: RecommendArgs) -> anyhow::Result<()> {
    let w = Workload::read(&args.workload)?;
    let out = recommendation(
        catalog,
        &w,
        &args.workload,
        &args.store,
        args.lang,
        args.top,
    )?;
    if args.json {
        return table::print_json(&out);
    }
    print_text(&out, args.lang)
}

/// The recommendation for workload `w` (read from `origin`) as JSON: `options` best first
/// (at most `top`), `rejected`, `combination`, `message`, `notes`.
pub fn recommendation(
    catalog: &Catalog,
    w: &Workload,
    origin: &Path,
    store: &StoreArgs,
    lang: Lang,
    top: usize,
) -> anyhow::Result<Value> {
    let mut base = crate::scenario::default_scenario();
    w.apply(&mut base);
    let devices: Vec<&Hardware> = match w.device(catalog, origin)? {
        Some(h) => vec![h],
        None => {
            let mut d: Vec<&Hardware> = DEFAULT_DEVICES
                .iter()
                .filter_map(|id| catalog.hardware_by_id(id).ok())
                .collect();
            d.extend(catalog.hardware_by_id(sizewise_probe::LOCAL_ID).ok());
            d
        }
    };
    // Quality measured by `sizewise eval`, if the store exists (recommend never creates it).
    let evals = match store.path() {
        Ok(path) if path.exists() => Store::open(&path)
            .map(|s| eval_runs(&s))
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let mut cands: Vec<Candidate> = Vec::new();
    for m in catalog.models().filter(|m| !is_encoder_only(m)) {
        if sizewise_estimate::summarize(m).is_ok() {
            for h in &devices {
                for precision in precisions_for(h) {
                    let s = Scenario {
                        precision: Some(precision),
                        ..base.clone()
                    };
                    // A precision the device or engine cannot run is not an option.
                    if let Ok(p) = plan(catalog, m, Some(&h.id), &s, true) {
                        cands.push(candidate(p, w, &evals, lang));
                    }
                }
            }
        }
        // A workload that names its device runs there: no API.
        if m.api.is_some() && w.device.is_none() {
            let mut p = plan(catalog, m, None, &base, false)?;
            if p.numbers.is_some() {
                // An open model with an API price: its API is an option of its own.
                p.hardware = None;
                p.numbers = None;
                p.summary = None;
                p.infeasible.retain(|r| *r != Infeasible::DoesNotFit);
            }
            cands.push(candidate(p, w, &evals, lang));
        }
    }
    let mut meets: Vec<&Candidate> = cands.iter().filter(|c| c.meets()).collect();
    meets.sort_by(|a, b| {
        let cost = |c: &Candidate| c.monthly_usd.unwrap_or(f64::INFINITY);
        let lat = |c: &Candidate| c.latency_s.unwrap_or(f64::INFINITY);
        cost(a)
            .total_cmp(&cost(b))
            .then(lat(a).total_cmp(&lat(b)))
            .then(a.plan.model.id.cmp(&b.plan.model.id))
    });
    let mut near: Vec<(&Candidate, f64)> = cands
        .iter()
        .filter_map(|c| c.near().map(|x| (c, x)))
        .collect();
    near.sort_by(|a, b| a.1.total_cmp(&b.1));
    let split = if meets.is_empty() {
        best_split(&cands, w)
    } else {
        None
    };

    let options: Vec<Value> = if meets.is_empty() {
        near.iter()
            .take(top.clamp(1, 3))
            .map(|(c, _)| option_json(c, c.broken.iter().map(|b| b.text.clone()).collect(), false))
            .collect()
    } else {
        meets
            .iter()
            .take(top.max(1))
            .enumerate()
            .map(|(i, c)| {
                let above = i.checked_sub(1).and_then(|j| meets.get(j).copied());
                let reasons = reasons(c, above, w, i + 1, lang)
                    .iter()
                    .map(|r| localize(r, lang))
                    .collect();
                option_json(c, reasons, true)
            })
            .collect()
    };
    let rejected: Vec<Value> = cands
        .iter()
        .filter(|c| !c.meets())
        .map(|c| {
            json!({
                "model": c.plan.model.id,
                "hardware": c.hardware(),
                "precision": c.precision,
                "constraint": c.broken.first().map_or("", |b| b.constraint),
                "text": c.broken.first().map(|b| b.text.clone()),
                "broken": c.broken,
            })
        })
        .collect();
    let message = if !meets.is_empty() {
        None
    } else if split.is_some() {
        Some(tr(
            lang,
            "no single option meets every constraint; a split between two models does (below)",
            "nenhuma opção sozinha atende a todas as restrições; uma divisão entre dois modelos atende (abaixo)",
        ))
    } else {
        Some(match near.first() {
            Some((c, _)) => tr(
                lang,
                format!(
                    "no option meets every constraint; the nearest is {} on {} ({})",
                    c.plan.model.id,
                    c.hardware().unwrap_or_else(|| "its API".into()),
                    c.broken
                        .iter()
                        .map(|b| b.text.clone())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                format!(
                    "nenhuma opção atende a todas as restrições; a mais próxima é {} em {} ({})",
                    c.plan.model.id,
                    c.hardware().unwrap_or_else(|| "sua API".into()),
                    c.broken
                        .iter()
                        .map(|b| b.text.clone())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            ),
            None => tr(
                lang,
                "no option meets the hard constraints (privacy, memory, context window, a known price and score)",
                "nenhuma opção atende às restrições rígidas (privacidade, memória, janela de contexto, preço e nota conhecidos)",
            ),
        })
    };
    let combination = split.as_ref().map(|s| {
        json!({
            "small": {"model": s.small.plan.model.id, "hardware": s.small.hardware(), "precision": s.small.precision, "share": s.share},
            "large": {"model": s.large.plan.model.id, "hardware": s.large.hardware(), "precision": s.large.precision, "share": 1.0 - s.share},
            "monthly_usd": s.monthly_usd,
            "expected_score": s.score,
            "reasons": [localize(&tr(lang,
                format!("{:.0}% of requests to {} (cheaper) and the rest to {} (stronger): {}/month and an expected {} of {}, where the first alone misses the score and the second alone the budget (a random split; a router that sends easy requests to the cheaper model does better: sizewise route)",
                    s.share * 100.0, s.small.plan.model.id, s.large.plan.model.id, human::usd(s.monthly_usd),
                    w.min_quality.as_ref().map_or("", |q| q.suite.as_str()), score_text(s.score)),
                format!("{:.0}% das requisições para {} (mais barato) e o resto para {} (mais forte): {}/mês e {} esperado de {}, quando o primeiro sozinho não atinge a nota e o segundo sozinho estoura o orçamento (divisão aleatória; um roteador que manda as fáceis ao modelo mais barato faz melhor: sizewise route)",
                    s.share * 100.0, s.small.plan.model.id, s.large.plan.model.id, human::usd(s.monthly_usd),
                    w.min_quality.as_ref().map_or("", |q| q.suite.as_str()), score_text(s.score))), lang)],
        })
    });
    let mut notes = Vec::new();
    if w.min_quality.is_none() {
        notes.push(tr(
            lang,
            "no quality floor: options are ranked by cost, then latency; add [min_quality] (suite, score) to leave out models too weak for the task",
            "sem nota mínima: as opções são ordenadas por custo e depois latência; acrescente [min_quality] (suite, score) para excluir modelos fracos demais para a tarefa",
        ));
    }
    notes.push(tr(
        lang,
        "latency is the slow end of the estimate plus the mean queueing wait at the average load; self-hosted costs pay for enough devices to keep that load at or under 80% busy; a device with no price counts electricity only, as one you already own; API costs are list prices",
        "a latência é o extremo lento da estimativa mais a espera média na fila com a carga média; custos auto-hospedados pagam dispositivos suficientes para manter essa carga em até 80% de ocupação; um dispositivo sem preço conta só a energia, como um que você já tem; custos de API são preços de tabela",
    ));
    let out = json!({
        "workload": w,
        "notes": notes,
        "devices": devices.iter().map(|h| h.id.clone()).collect::<Vec<_>>(),
        "options": options,
        "none_meets": meets.is_empty(),
        "message": message,
        "combination": combination,
        "meeting_count": meets.len(),
        "rejected": rejected,
    });
    Ok(out)
}

/// The terminal view: the options as a table with a cost bar, the rejections counted by
/// constraint, the split.
fn print_text(out: &Value, lang: Lang) -> anyhow::Result<()> {
    let pt = lang == Lang::PtBr;
    let mut s = String::new();
    if let Some(m) = out["message"].as_str() {
        s.push_str(&format!("{m}\n\n"));
    }
    let options = out["options"].as_array().cloned().unwrap_or_default();
    let most = options
        .iter()
        .filter_map(|o| o["monthly_usd"].as_f64())
        .fold(0.0, f64::max);
    let mut tb = table::new(&option_header(lang));
    for (i, o) in options.iter().enumerate() {
        let cost = o["monthly_usd"].as_f64();
        let bar = cost.map_or(String::new(), |c| {
            let n = if most > 0.0 {
                (c / most * 12.0).round() as usize
            } else {
                0
            };
            format!(" {}", "█".repeat(n.max(1)))
        });
        tb.add_row(vec![
            (i + 1).to_string(),
            o["model"].as_str().unwrap_or("").to_string(),
            o["hardware"].as_str().unwrap_or("API").to_string(),
            o["precision"].as_str().unwrap_or("").to_string(),
            localize(
                &format!("{}{bar}", cost.map_or("?".into(), human::usd)),
                lang,
            ),
            localize(
                &o["latency_s"].as_f64().map_or("?".into(), human::seconds),
                lang,
            ),
            o["reasons"]
                .as_array()
                .map(|r| {
                    r.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default(),
        ]);
    }
    s.push_str(&format!("{tb}\n"));
    if let Some(c) = out["combination"].as_object() {
        s.push_str(&format!(
            "\n{}: {}\n",
            if pt { "combinação" } else { "combination" },
            c["reasons"][0].as_str().unwrap_or("")
        ));
    }
    for n in out["notes"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "{}: {}\n",
            if pt { "nota" } else { "note" },
            n.as_str().unwrap_or("")
        ));
    }
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for r in out["rejected"].as_array().into_iter().flatten() {
        let k = r["constraint"].as_str().unwrap_or("");
        match counts.iter_mut().find(|(n, _)| *n == k) {
            Some((_, n)) => *n += 1,
            None => counts.push((k, 1)),
        }
    }
    if !counts.is_empty() {
        let list: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
        s.push_str(&format!(
            "\n{} ({}): {}\n{}",
            if pt { "rejeitadas" } else { "rejected" },
            if pt {
                "primeira restrição violada"
            } else {
                "first constraint broken"
            },
            list.join(", "),
            if pt {
                "--json lista cada opção rejeitada e o motivo"
            } else {
                "--json lists each rejected option and why"
            }
        ));
    }
    table::print(&s)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn names_match_whatever_their_punctuation() {
        assert!(squash("SmolLM2-135M-Instruct.Q4_1 (GGUF)").contains(&squash("smollm2-135m")));
        assert!(!squash("qwen2.5-0.5b").contains(&squash("qwen2.5-7b")));
    }
}
