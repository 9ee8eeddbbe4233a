//! `sizewise compare`: the article's comparison table, in numbers, for real
//! models on chosen hardware and workload.

use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::{Value, json};
use sizewise_catalog::Catalog;
use sizewise_estimate::report;

use crate::cmd_estimate::api_json;
use crate::human;
use crate::i18n::{DIMENSIONS, Lang, localize, t};
use crate::plan::{
    Infeasible, Note, ParamSource, Plan, hardware_by_id, model_by_id, param_count, plan,
    split_spec, training_numbers,
};
use crate::scenario::ScenarioArgs;
use crate::table;

/// The default comparison: the article's small and large models, each where it
/// would really run.
pub const DEFAULT_SET: &[&str] = &[
    "phi-3-mini",
    "gpt-4o-mini",
    "mistral-small-24b-2501",
    "llama-3.1-70b",
    "gpt-4o",
];

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A terminal table.
    Table,
    /// A Markdown table.
    Markdown,
    /// JSON: `models` and `rows`.
    Json,
    /// CSV: one line per dimension and model.
    Csv,
}

/// Arguments of `sizewise compare`.
#[derive(Args)]
#[command(after_help = "Examples:
  sizewise compare                                    the default small-vs-large set
  sizewise compare phi-3-mini@apple-m2 llama-3.1-70b@nvidia-h100-sxm gpt-4o
  sizewise compare smollm2-1.7b qwen2.5-7b --hardware nvidia-l4 --lang pt-BR
  sizewise compare --format json | jq '.rows[] | select(.dimension==\"cost\")'
MODEL@HW pins the hardware; without it sizewise runs small models on a laptop or
small GPU, large ones on H100s (as many as they need), and closed models by API.")]
pub struct CompareArgs {
    /// Models to compare, as MODEL or MODEL@HARDWARE [default: phi-3-mini, gpt-4o-mini,
    /// mistral-small-24b-2501, llama-3.1-70b, gpt-4o].
    models: Vec<String>,
    /// Hardware for every open model without an @HW.
    #[arg(long, short = 'H')]
    hardware: Option<String>,
    /// Hardware for the training-time row.
    #[arg(long, default_value = "nvidia-h100-sxm")]
    train_hardware: String,
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Shortcut for --format json.
    #[arg(long)]
    json: bool,
    /// Language of labels and verdicts.
    #[arg(long, value_enum, default_value_t = Lang::En)]
    lang: Lang,
    /// Add the p10..p90 band to every estimated cell.
    #[arg(long)]
    explain: bool,
}

/// One cell of the table.
#[derive(Serialize, Clone)]
pub struct Cell {
    /// Column label.
    pub model: String,
    /// What a person reads.
    pub text: String,
    /// "estimated", "published", "measured" or "undisclosed".
    pub kind: &'static str,
    /// The number the verdict ranks by, when there is one.
    pub value: Option<f64>,
    /// Why the cell is left out of the verdict (`does_not_fit`,
    /// `context_too_long`, `cannot_generate`), when its column cannot run the
    /// workload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded: Option<&'static str>,
}

/// One dimension of the table.
#[derive(Serialize)]
pub struct Row {
    /// Dimension key (`size`, `training_data`...).
    pub dimension: &'static str,
    /// Label in the chosen language.
    pub label: &'static str,
    /// One cell per model.
    pub cells: Vec<Cell>,
    /// Short verdict.
    pub verdict: String,
}

fn band_text(b: sizewise_estimate::Band, f: impl Fn(f64) -> String, explain: bool) -> String {
    if explain && (b.p90 - b.p10).abs() > b.p50.abs() * 1e-9 {
        format!("{} ({}..{})", f(b.p50), f(b.p10), f(b.p90))
    } else {
        f(b.p50)
    }
}

/// How the cost of a column is counted, as a stable code and as words.
pub fn cost_basis(p: &Plan, lang: Lang) -> Option<(&'static str, String)> {
    let pt = lang == Lang::PtBr;
    let b = p.scenario.batch;
    match (&p.numbers, &p.model.api) {
        (Some(n), _) if n.usd_per_hour.is_none() => None,
        (Some(n), _) if n.usd_per_hour_electricity_only => Some((
            "electricity_only",
            if pt {
                format!("só energia, equipamento já seu, lote {b}")
            } else {
                format!("electricity only, device already owned, batch {b}")
            },
        )),
        (Some(n), _) if n.usd_per_hour_from_purchase => Some((
            "purchase",
            if pt {
                format!(
                    "compra amortizada em {:.0} anos + energia, lote {b}",
                    sizewise_estimate::core::AMORTIZATION_YEARS
                )
            } else {
                format!(
                    "purchase over {:.0} years + electricity, batch {b}",
                    sizewise_estimate::core::AMORTIZATION_YEARS
                )
            },
        )),
        (Some(n), _) => {
            let g = p.scenario.gpus;
            let per_device = n.usd_per_hour.unwrap_or(0.0) / f64::from(g.max(1));
            let devices = if g > 1 {
                format!(" x {g}")
            } else {
                String::new()
            };
            Some((
                "rental",
                if pt {
                    format!("aluguel {}/h{devices}, lote {b}", human::usd(per_device))
                } else {
                    format!("rental {}/h{devices}, batch {b}", human::usd(per_device))
                },
            ))
        }
        (None, Some(api)) => Some((
            "api_list_price",
            if pt {
                format!("preço de tabela da API, {}", api.as_of)
            } else {
                format!("API list price, {}", api.as_of)
            },
        )),
        (None, None) => None,
    }
}

/// Dimensions whose verdict only makes sense for columns that can run the
/// workload: memory, speed, cost, latency and where the data goes.
const RUN_DIMENSIONS: &[&str] = &["compute", "inference", "cost", "performance", "latency"];

/// Dimensions whose cell is replaced by "n/a" when the column cannot run.
const SPEED_DIMENSIONS: &[&str] = &["inference", "cost", "latency"];

fn cell(
    p: &Plan,
    dim: &str,
    lang: Lang,
    train: Option<&sizewise_estimate::Numbers>,
    train_hw: &str,
    explain: bool,
) -> Cell {
    let mut c = raw_cell(p, dim, lang, train, train_hw, explain);
    if let Some(reason) = p.infeasible.first()
        && RUN_DIMENSIONS.contains(&dim)
    {
        c.value = None;
        c.excluded = Some(reason.code());
        if SPEED_DIMENSIONS.contains(&dim) {
            c.text = format!("n/a: {}", reason.short(lang));
            c.kind = if *reason == Infeasible::DoesNotFit {
                "estimated"
            } else {
                "published"
            };
        }
    }
    c
}

fn raw_cell(
    p: &Plan,
    dim: &str,
    lang: Lang,
    train: Option<&sizewise_estimate::Numbers>,
    train_hw: &str,
    explain: bool,
) -> Cell {
    let m = p.model;
    let label = p.label();
    let mk = |text: String, kind: &'static str, value: Option<f64>| Cell {
        model: label.clone(),
        text,
        kind,
        value,
        excluded: None,
    };
    let und = t(lang, "undisclosed");
    let tokens = t(lang, "tokens");
    match (dim, &p.numbers, &p.summary) {
        ("size", _, _) => match (param_count(m, p.summary.as_ref()), &p.numbers) {
            (Some((v, src)), n) => {
                let mut text = format!("{} {}", human::count(v), t(lang, "params"));
                if src == ParamSource::Counted {
                    text.push_str(&format!(" ({})", t(lang, "counted")));
                }
                if let Some(n) = n {
                    text.push_str(&format!(
                        "; {} @ {}",
                        human::bytes(n.weights_bytes),
                        n.deployment.precision
                    ));
                }
                let kind = if src == ParamSource::Published {
                    "published"
                } else {
                    "estimated"
                };
                mk(text, kind, Some(v))
            }
            (None, _) => {
                let est = m.estimate("params_total").and_then(|e| e.value);
                mk(
                    match est {
                        Some(e) => format!("{und} (~{} est.)", human::count(e)),
                        None => und.to_string(),
                    },
                    "undisclosed",
                    None,
                )
            }
        },
        ("training_data", _, _) => match (m.training_tokens, m.params_total) {
            (Some(tk), Some(pp)) => mk(
                format!(
                    "{} {tokens} ({:.0} {})",
                    human::count(tk),
                    tk / pp,
                    t(lang, "per_param")
                ),
                "published",
                Some(tk / pp),
            ),
            (Some(tk), None) => mk(format!("{} {tokens}", human::count(tk)), "published", None),
            _ => mk(und.to_string(), "undisclosed", None),
        },
        ("training_time", _, _) => match train {
            Some(n) if !n.training_tokens_assumed => mk(
                format!(
                    "{} {} {}",
                    band_text(n.training_device_hours, human::count, explain),
                    t(lang, "gpu_hours_on"),
                    train_hw
                ),
                "estimated",
                Some(n.training_device_hours.p50),
            ),
            _ => mk(und.to_string(), "undisclosed", None),
        },
        ("compute", Some(n), _) => {
            let hw = p.hardware.map_or("", |h| h.id.as_str());
            let g = p.scenario.gpus;
            let text = if n.fits {
                format!(
                    "{} {} {} {} ({}{})",
                    human::bytes(n.inference_memory_bytes),
                    t(lang, "of_usable"),
                    human::bytes(n.usable_memory_bytes),
                    t(lang, "usable"),
                    if g > 1 {
                        format!("{g} x ")
                    } else {
                        String::new()
                    },
                    hw
                )
            } else {
                format!(
                    "{}: {} > {}",
                    t(lang, "does_not_fit"),
                    human::bytes(n.inference_memory_bytes),
                    human::bytes(n.usable_memory_bytes)
                )
            };
            mk(text, "estimated", Some(n.inference_memory_bytes))
        }
        ("inference", Some(n), _) => mk(
            format!(
                "{}/tok, {}; {} {}",
                human::si(n.flops_per_token, "FLOP"),
                if n.memory_bound {
                    t(lang, "memory_bound")
                } else {
                    t(lang, "compute_bound")
                },
                band_text(n.decode_tokens_per_s, human::sig, explain),
                t(lang, "per_stream")
            ),
            "estimated",
            Some(n.decode_tokens_per_s.p50),
        ),
        ("context_window", n, _) => match (m.context_window, n) {
            (Some(w), _) if p.scenario.prompt_tokens + p.scenario.output_tokens > w => mk(
                format!(
                    "{} {tokens}; {}",
                    human::window(w),
                    t(lang, "request_too_long")
                        .replace(
                            "{n}",
                            &(p.scenario.prompt_tokens + p.scenario.output_tokens).to_string()
                        )
                        .replace(
                            "{cut}",
                            &(p.scenario.prompt_tokens + p.scenario.output_tokens - w).to_string()
                        )
                ),
                "published",
                Some(w as f64),
            ),
            (Some(w), Some(n)) => mk(
                format!(
                    "{} {tokens}; {} {}",
                    human::window(w),
                    human::bytes(n.kv_bytes_per_token),
                    t(lang, "kv_per_token")
                ),
                "published",
                Some(w as f64),
            ),
            (Some(w), None) => mk(
                format!("{} {tokens}", human::window(w)),
                "published",
                Some(w as f64),
            ),
            _ => mk(und.to_string(), "undisclosed", None),
        },
        ("cost", Some(n), _) => {
            match (
                n.self_hosted_usd_per_1m_output,
                n.monthly_self_hosted_usd,
                cost_basis(p, lang),
            ) {
                (Some(per), Some(month), Some((_, basis))) => mk(
                    format!(
                        "{} {}; {}{}{} ({basis})",
                        band_text(per, human::usd, explain),
                        t(lang, "per_1m_out"),
                        band_text(month, human::usd, explain),
                        t(lang, "per_month"),
                        if n.replicas.p50 > 1.0 {
                            format!(", {} {}", n.replicas.p50, t(lang, "replicas"))
                        } else {
                            String::new()
                        }
                    ),
                    "estimated",
                    Some(month.p50),
                ),
                _ => mk(t(lang, "no_price").into(), "undisclosed", None),
            }
        }
        ("cost", None, _) => match (&m.api, cost_basis(p, lang)) {
            (Some(api), Some((_, basis))) => {
                let s = &p.scenario;
                let month = api.usd_per_month(s.prompt_tokens, s.output_tokens, s.requests_per_day);
                mk(
                    format!(
                        "{} / {} {}; {}{} ({basis})",
                        human::usd(api.input_usd_per_mtok),
                        human::usd(api.output_usd_per_mtok),
                        t(lang, "per_1m_in_out"),
                        human::usd(month),
                        t(lang, "per_month")
                    ),
                    "published",
                    Some(month),
                )
            }
            _ => mk(und.to_string(), "undisclosed", None),
        },
        ("performance", _, _) => {
            if p.numbers.is_some() {
                mk(
                    format!(
                        "{} {}",
                        t(lang, "on_prem"),
                        p.hardware.map_or("", |h| h.id.as_str())
                    ),
                    "published",
                    Some(1.0),
                )
            } else {
                mk(t(lang, "leaves").to_string(), "published", Some(0.0))
            }
        }
        ("latency", Some(n), _) => mk(
            format!(
                "TTFT {}, TPOT {}, e2e {}",
                band_text(n.ttft_s, human::seconds, explain),
                band_text(n.tpot_s, human::seconds, explain),
                band_text(n.e2e_s, human::seconds, explain)
            ),
            "estimated",
            Some(n.e2e_s.p50),
        ),
        ("latency", None, _) => mk(t(lang, "measure").to_string(), "undisclosed", None),
        ("quality", _, _) => match m.score("MMLU") {
            Some(s) => mk(
                format!(
                    "MMLU {} ({})",
                    s.value,
                    s.setting.split([',', '(', ';']).next().unwrap_or("").trim()
                ),
                "published",
                Some(s.value),
            ),
            None => mk(t(lang, "no_score").to_string(), "undisclosed", None),
        },
        (_, None, _) => mk(und.to_string(), "undisclosed", None),
        _ => mk(String::new(), "undisclosed", None),
    }
}

fn verdict(dim: &str, cells: &[Cell], lang: Lang) -> String {
    let known: Vec<&Cell> = cells
        .iter()
        .filter(|c| c.value.is_some_and(f64::is_finite))
        .collect();
    let pick_min = |cells: &[&Cell]| {
        cells
            .iter()
            .min_by(|a, b| a.value.unwrap_or(0.0).total_cmp(&b.value.unwrap_or(0.0)))
            .map(|c| (*c).clone())
    };
    let pick_max = |cells: &[&Cell]| {
        cells
            .iter()
            .max_by(|a, b| a.value.unwrap_or(0.0).total_cmp(&b.value.unwrap_or(0.0)))
            .map(|c| (*c).clone())
    };
    if known.is_empty() {
        return t(lang, "not_comparable").to_string();
    }
    let name = |c: &Cell| c.model.split(['@', ' ']).next().unwrap_or("").to_string();
    if let [only] = known.as_slice()
        && cells.iter().any(|c| c.excluded.is_some())
        && dim != "performance"
    {
        // The others cannot run the workload: there is nothing to rank.
        return format!("{}: {}", t(lang, "only_runnable"), name(only));
    }
    match dim {
        "size" => match (pick_min(&known), pick_max(&known)) {
            (Some(a), Some(b)) if known.len() > 1 => format!(
                "{}: {} {:.0} {} {}",
                t(lang, "smallest"),
                name(&a),
                b.value.unwrap_or(1.0) / a.value.unwrap_or(1.0),
                t(lang, "smaller"),
                name(&b)
            ),
            (Some(a), _) => format!("{}: {}", t(lang, "smallest"), name(&a)),
            _ => String::new(),
        },
        "training_data" => pick_max(&known)
            .map(|c| format!("{}: {}", t(lang, "most_data"), name(&c)))
            .unwrap_or_default(),
        "training_time" => pick_min(&known)
            .map(|c| format!("{}: {}", t(lang, "cheapest_train"), name(&c)))
            .unwrap_or_default(),
        "compute" => pick_min(&known)
            .map(|c| format!("{}: {}", t(lang, "least_memory"), name(&c)))
            .unwrap_or_default(),
        "inference" => pick_max(&known)
            .map(|c| format!("{}: {}", t(lang, "fastest_decode"), name(&c)))
            .unwrap_or_default(),
        "context_window" => pick_max(&known)
            .map(|c| format!("{}: {}", t(lang, "largest_window"), name(&c)))
            .unwrap_or_default(),
        "cost" => pick_min(&known)
            .map(|c| format!("{}: {}", t(lang, "cheapest"), name(&c)))
            .unwrap_or_default(),
        "performance" => format!(
            "{} / {} {}",
            known.iter().filter(|c| c.value == Some(1.0)).count(),
            cells.len(),
            t(lang, "private")
        ),
        "latency" => pick_min(&known)
            .map(|c| format!("{}: {}", t(lang, "lowest_latency"), name(&c)))
            .unwrap_or_default(),
        "quality" => pick_max(&known)
            .map(|c| format!("{}: {}", t(lang, "best_mmlu"), name(&c)))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn kind_tag(kind: &str) -> &'static str {
    match kind {
        "estimated" => "[E]",
        "published" => "[P]",
        "measured" => "[M]",
        _ => "",
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The note that says which columns the verdicts leave out, and why.
fn excluded_note(plans: &[Plan], lang: Lang) -> Option<String> {
    let out: Vec<String> = plans
        .iter()
        .filter(|p| !p.feasible())
        .map(|p| {
            let why: Vec<&str> = p.infeasible.iter().map(|r| r.short(lang)).collect();
            format!("{} ({})", p.label(), why.join(", "))
        })
        .collect();
    if out.is_empty() {
        return None;
    }
    Some(format!("{}: {}", t(lang, "excluded"), out.join("; ")))
}

/// The note that says how each column's cost is counted, when they differ in kind.
fn cost_note(plans: &[Plan], lang: Lang, batch: u32) -> Option<String> {
    let pt = lang == Lang::PtBr;
    let bases: Vec<(&Plan, &'static str)> = plans
        .iter()
        .filter(|p| p.feasible())
        .filter_map(|p| cost_basis(p, lang).map(|(code, _)| (p, code)))
        .collect();
    let owned: Vec<String> = bases
        .iter()
        .filter(|(_, c)| *c == "electricity_only")
        .map(|(p, _)| p.model.id.clone())
        .collect();
    let self_hosted = bases.iter().any(|(_, c)| *c != "api_list_price");
    let api = bases.iter().any(|(_, c)| *c == "api_list_price");
    if !self_hosted {
        return None;
    }
    let mut parts = Vec::new();
    if !owned.is_empty() {
        let one = owned.len() == 1;
        parts.push(if pt {
            format!(
                "{} {} só a energia (equipamento que você já tem, sem compra nem aluguel)",
                owned.join(", "),
                if one { "conta" } else { "contam" }
            )
        } else {
            format!(
                "{} {} electricity only (a device you already own: no purchase or rental)",
                owned.join(", "),
                if one { "counts" } else { "count" }
            )
        });
    }
    parts.push(if pt {
        format!(
            "colunas auto-hospedadas supõem lote {batch} (--batch N para um servidor compartilhado) e réplicas para a carga média"
        )
    } else {
        format!(
            "self-hosted columns assume batch {batch} (--batch N for a shared server) and enough replicas for the average load"
        )
    });
    if api {
        parts.push(
            if pt {
                "colunas de API são preços de tabela por token"
            } else {
                "API columns are list prices per token"
            }
            .to_string(),
        );
    }
    let mut kinds: Vec<&str> = bases.iter().map(|(_, c)| *c).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let head = match (kinds.len() > 1, pt) {
        (true, true) => "custos não são equivalentes",
        (true, false) => "costs are not like-for-like",
        (false, true) => "como os custos são contados",
        (false, false) => "how costs are counted",
    };
    Some(format!("{head}: {}", parts.join("; ")))
}

/// The note of `p` that explains `why`, in `lang`.
fn reason_text(p: &Plan, why: Infeasible, lang: Lang) -> String {
    p.notes
        .iter()
        .find(|n| {
            matches!(
                (why, n),
                (Infeasible::DoesNotFit, Note::DoesNotFit { .. })
                    | (Infeasible::ContextTooLong, Note::ContextTooLong { .. })
                    | (Infeasible::CannotGenerate, Note::CannotGenerate { .. })
            )
        })
        .map_or_else(|| why.short(lang).to_string(), |n| n.render(lang))
}

/// A comparison, computed: its columns, their training estimates, the table and its notes.
pub struct Comparison<'a> {
    /// One column per model.
    pub plans: Vec<Plan<'a>>,
    /// Each column's training estimate on the training hardware, when computable.
    pub training: Vec<Option<sizewise_estimate::Numbers>>,
    /// The ten dimensions' rows.
    pub rows: Vec<Row>,
    /// Notes: choices made for the reader, exclusions, how costs are counted.
    pub notes: Vec<String>,
    /// The workload and deployment every column was estimated for.
    pub base: sizewise_estimate::Scenario,
    /// The hardware of the training-time row.
    pub train_hw: &'a sizewise_catalog::Hardware,
}

/// Computes the comparison of `specs` (MODEL or MODEL@HARDWARE; empty for the default set).
pub fn comparison<'a>(
    catalog: &'a Catalog,
    specs: &[String],
    hardware: Option<&str>,
    train_hardware: &str,
    base: sizewise_estimate::Scenario,
    lang: Lang,
    explain: bool,
) -> anyhow::Result<Comparison<'a>> {
    let specs: Vec<String> = if specs.is_empty() {
        DEFAULT_SET.iter().map(|s| s.to_string()).collect()
    } else {
        specs.to_vec()
    };
    let train_hw = hardware_by_id(catalog, train_hardware)?;
    let mut plans = Vec::new();
    for spec in &specs {
        let (id, hw) = split_spec(spec)?;
        let m = model_by_id(catalog, id)?;
        let mut p = plan(catalog, m, hw.or(hardware), &base, true)?;
        if let (Some(h), None) = (hw, p.hardware) {
            p.notes.push(Note::ApiIgnoresHardware {
                model: m.id.clone(),
                hardware: h.to_string(),
            });
        }
        plans.push(p);
    }
    // Training time is compared on one reference device for every model.
    let training: Vec<Option<sizewise_estimate::Numbers>> = plans
        .iter()
        .map(|p| {
            let a = p.summary.as_ref()?;
            training_numbers(p.model, a, train_hw, &base).ok()
        })
        .collect();
    let mut rows = Vec::new();
    for dim in DIMENSIONS {
        let cells: Vec<Cell> = plans
            .iter()
            .zip(&training)
            .map(|(p, tr)| cell(p, dim, lang, tr.as_ref(), &train_hw.id, explain))
            .collect();
        let verdict = verdict(dim, &cells, lang);
        rows.push(Row {
            dimension: dim,
            label: t(lang, dim),
            cells,
            verdict,
        });
    }
    let mut notes: Vec<String> = plans
        .iter()
        .flat_map(|p| p.notes.iter().map(|n| n.render(lang)))
        .collect();
    notes.extend(excluded_note(&plans, lang));
    notes.extend(cost_note(&plans, lang, base.batch));
    // Numbers the way the reader's language writes them.
    for r in &mut rows {
        for c in &mut r.cells {
            c.text = localize(&c.text, lang);
        }
        r.verdict = localize(&r.verdict, lang);
    }
    for n in &mut notes {
        *n = localize(n, lang);
    }
    Ok(Comparison {
        plans,
        training,
        rows,
        notes,
        base,
        train_hw,
    })
}

/// The workload line of a comparison, in `lang`.
pub fn workload_line(base: &sizewise_estimate::Scenario, lang: Lang) -> String {
    let line = format!(
        "{}: {} {}, {} {}, {} {}, {} {}",
        t(lang, "workload"),
        base.prompt_tokens,
        t(lang, "prompt"),
        base.output_tokens,
        t(lang, "output"),
        base.requests_per_day,
        t(lang, "requests_day"),
        t(lang, "batch"),
        base.batch
    );
    localize(&line, lang)
}

/// The comparison as a terminal table, with its legend and notes.
pub fn terminal_table(
    plans: &[Plan],
    rows: &[Row],
    notes: &[String],
    workload: &str,
    lang: Lang,
) -> String {
    let mut header: Vec<String> = vec![t(lang, "dimension").to_string()];
    header.extend(plans.iter().map(Plan::label));
    header.push(t(lang, "verdict").to_string());
    let hdr: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut tb = table::new(&hdr);
    for r in rows {
        let mut line = vec![r.label.to_string()];
        line.extend(
            r.cells
                .iter()
                .map(|c| format!("{} {}", c.text, kind_tag(c.kind))),
        );
        line.push(r.verdict.clone());
        tb.add_row(line);
    }
    let mut s = format!(
        "{} — {workload}\n{tb}\n{}",
        t(lang, "title"),
        t(lang, "legend")
    );
    for n in notes {
        s.push_str(&format!("\n{}: {n}", t(lang, "note")));
    }
    s
}

/// `sizewise compare`.
pub fn compare(catalog: &Catalog, args: CompareArgs) -> anyhow::Result<()> {
    let lang = args.lang;
    let Comparison {
        plans,
        rows,
        notes,
        base,
        train_hw,
        ..
    } = comparison(
        catalog,
        &args.models,
        args.hardware.as_deref(),
        &args.train_hardware,
        args.scenario.scenario()?,
        lang,
        args.explain,
    )?;
    let format = if args.json { Format::Json } else { args.format };
    let workload = workload_line(&base, lang);
    match format {
        Format::Json => {
            let models: Vec<Value> = plans
                .iter()
                .map(|p| {
                    let detail = match (&p.hardware, &p.numbers, &p.summary) {
                        (Some(h), Some(n), Some(a)) => {
                            report::estimate_json(p.model, a, h, &p.scenario, n)
                        }
                        _ => api_json(p.model, &p.scenario),
                    };
                    let infeasible: Vec<Value> = p
                        .infeasible
                        .iter()
                        .map(|r| json!({"reason": r.code(), "text": reason_text(p, *r, lang)}))
                        .collect();
                    json!({
                        "id": p.model.id,
                        "label": p.label(),
                        "category": p.model.category.as_str(),
                        "hardware": p.hardware.map(|h| h.id.clone()),
                        "gpus": p.scenario.gpus,
                        "precision": p.numbers.as_ref().map(|n| n.deployment.precision.name()),
                        "engine": p.numbers.as_ref().map(|n| n.deployment.engine.name()),
                        "deployment": if p.numbers.is_some() { "self-hosted" } else { "api" },
                        "feasible": p.feasible(),
                        "infeasible": infeasible,
                        "cost_basis": cost_basis(p, lang).map(|(code, text)| json!({"kind": code, "text": text})),
                        "estimate": detail,
                    })
                })
                .collect();
            table::print_json(&json!({
                "title": t(lang, "title"),
                "lang": if lang == Lang::PtBr { "pt-BR" } else { "en" },
                "scenario": {"prompt_tokens": base.prompt_tokens, "output_tokens": base.output_tokens, "requests_per_day": base.requests_per_day, "batch": base.batch, "train_hardware": train_hw.id},
                "models": models,
                "rows": rows,
                "notes": notes,
            }))
        }
        Format::Csv => {
            let mut s = String::from("dimension,label,model,kind,value,text\n");
            for r in &rows {
                for c in &r.cells {
                    s.push_str(&format!(
                        "{},{},{},{},{},{}\n",
                        r.dimension,
                        csv_field(r.label),
                        csv_field(&c.model),
                        c.kind,
                        c.value.map(|v| v.to_string()).unwrap_or_default(),
                        csv_field(&c.text)
                    ));
                }
            }
            print!("{s}");
            Ok(())
        }
        Format::Markdown => {
            let mut s = format!(
                "## {}\n\n{workload}\n\n| {} |",
                t(lang, "title"),
                t(lang, "dimension")
            );
            for p in &plans {
                s.push_str(&format!(" {} |", p.label()));
            }
            s.push_str(&format!(" {} |\n|---|", t(lang, "verdict")));
            for _ in &plans {
                s.push_str("---|");
            }
            s.push_str("---|\n");
            for r in &rows {
                s.push_str(&format!("| **{}** |", r.label));
                for c in &r.cells {
                    s.push_str(&format!(
                        " {} {} |",
                        c.text.replace('|', "\\|"),
                        kind_tag(c.kind)
                    ));
                }
                s.push_str(&format!(" {} |\n", r.verdict));
            }
            s.push_str(&format!("\n{}\n", t(lang, "legend")));
            for n in &notes {
                s.push_str(&format!("\n- {n}"));
            }
            table::print(&s)
        }
        Format::Table => table::print(&terminal_table(&plans, &rows, &notes, &workload, lang)),
    }
}
