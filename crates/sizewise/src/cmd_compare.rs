//! `sizewise compare`: the article's comparison table, in numbers, for real
//! models on chosen hardware and workload.

use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::{Value, json};
use sizewise_catalog::Catalog;
use sizewise_estimate::{Precision, Scenario, estimate_numbers, report, summarize};

use crate::cmd_estimate::api_json;
use crate::human;
use crate::i18n::{DIMENSIONS, Lang, t};
use crate::plan::{Plan, plan, split_spec};
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

fn cell(
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
    };
    let und = t(lang, "undisclosed");
    match (dim, &p.numbers, &p.summary) {
        ("size", _, _) => match (m.params_total, &p.numbers) {
            (Some(v), Some(n)) => mk(
                format!(
                    "{} {}; {} @ {}",
                    human::count(v),
                    t(lang, "params"),
                    human::bytes(n.weights_bytes),
                    n.deployment.precision
                ),
                "published",
                Some(v),
            ),
            (Some(v), None) => mk(
                format!("{} {}", human::count(v), t(lang, "params")),
                "published",
                Some(v),
            ),
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
                    "{} {} ({:.0} {})",
                    human::count(tk),
                    "tokens",
                    tk / pp,
                    t(lang, "per_param")
                ),
                "published",
                Some(tk / pp),
            ),
            (Some(tk), None) => mk(
                format!("{} {}", human::count(tk), "tokens"),
                "published",
                None,
            ),
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
                "{} FLOP/tok, {}; {} {}",
                human::count(n.flops_per_token),
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
                    "{} tokens; {}",
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
                    "{} {}; {} {}",
                    human::window(w),
                    "tokens",
                    human::bytes(n.kv_bytes_per_token),
                    t(lang, "kv_per_token")
                ),
                "published",
                Some(w as f64),
            ),
            (Some(w), None) => mk(
                format!("{} {}", human::window(w), "tokens"),
                "published",
                Some(w as f64),
            ),
            _ => mk(und.to_string(), "undisclosed", None),
        },
        ("cost", Some(n), _) => {
            match (n.self_hosted_usd_per_1m_output, n.monthly_self_hosted_usd) {
                (Some(per), Some(month)) => mk(
                    format!(
                        "{}{} {}; {}{}{}",
                        if n.usd_per_hour_electricity_only {
                            t(lang, "electricity")
                        } else {
                            ""
                        },
                        band_text(per, human::usd, explain),
                        t(lang, "per_1m_out"),
                        band_text(month, human::usd, explain),
                        t(lang, "per_month"),
                        if n.replicas.p50 > 1.0 {
                            format!(" ({} {})", n.replicas.p50, t(lang, "replicas"))
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
        ("cost", None, _) => match &m.api {
            Some(api) => {
                let per_req = (p.scenario.prompt_tokens as f64 * api.input_usd_per_mtok
                    + p.scenario.output_tokens as f64 * api.output_usd_per_mtok)
                    / 1e6;
                let month = per_req * p.scenario.requests_per_day * 30.44;
                mk(
                    format!(
                        "{} / {} {} ({}); {}{}",
                        human::usd(api.input_usd_per_mtok),
                        human::usd(api.output_usd_per_mtok),
                        t(lang, "per_1m_out")
                            .replace("output", "in/out")
                            .replace("de saída", "entrada/saída"),
                        api.as_of,
                        human::usd(month),
                        t(lang, "per_month")
                    ),
                    "published",
                    Some(month),
                )
            }
            None => mk(und.to_string(), "undisclosed", None),
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

/// `sizewise compare`.
pub fn compare(catalog: &Catalog, args: CompareArgs) -> anyhow::Result<()> {
    let base = args.scenario.scenario()?;
    let specs: Vec<String> = if args.models.is_empty() {
        DEFAULT_SET.iter().map(|s| s.to_string()).collect()
    } else {
        args.models.clone()
    };
    let lang = args.lang;
    let train_hw = catalog.hardware_by_id(&args.train_hardware)?;
    let mut plans = Vec::new();
    for spec in &specs {
        let (id, hw) = split_spec(spec);
        let m = catalog.model(id)?;
        plans.push(plan(
            catalog,
            m,
            hw.or(args.hardware.as_deref()),
            &base,
            true,
        )?);
    }
    // Training time is compared on one reference device for every model.
    let training: Vec<Option<sizewise_estimate::Numbers>> = plans
        .iter()
        .map(|p| {
            let a = summarize(p.model).ok()?;
            let mut s = Scenario {
                precision: Some(Precision::Bf16),
                engine: None,
                ..base.clone()
            };
            if train_hw.bf16_tflops.is_none() {
                s.precision = Some(Precision::Fp16);
            }
            s.gpus = 1;
            estimate_numbers(p.model, &a, train_hw, &s).ok()
        })
        .collect();
    let mut rows = Vec::new();
    for dim in DIMENSIONS {
        let cells: Vec<Cell> = plans
            .iter()
            .zip(&training)
            .map(|(p, tr)| cell(p, dim, lang, tr.as_ref(), &train_hw.id, args.explain))
            .collect();
        let verdict = verdict(dim, &cells, lang);
        rows.push(Row {
            dimension: dim,
            label: t(lang, dim),
            cells,
            verdict,
        });
    }
    let notes: Vec<String> = plans
        .iter()
        .flat_map(|p| p.notes.iter().map(|n| n.render(lang)))
        .collect();
    let format = if args.json { Format::Json } else { args.format };
    let workload = format!(
        "{}: {} {}, {} {}, {} {}, batch {}",
        t(lang, "workload"),
        base.prompt_tokens,
        t(lang, "prompt"),
        base.output_tokens,
        t(lang, "output"),
        base.requests_per_day,
        t(lang, "requests_day"),
        base.batch
    );
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
                    json!({
                        "id": p.model.id,
                        "label": p.label(),
                        "category": p.model.category.as_str(),
                        "hardware": p.hardware.map(|h| h.id.clone()),
                        "gpus": p.scenario.gpus,
                        "precision": p.numbers.as_ref().map(|n| n.deployment.precision.name()),
                        "engine": p.numbers.as_ref().map(|n| n.deployment.engine.name()),
                        "deployment": if p.numbers.is_some() { "self-hosted" } else { "api" },
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
        Format::Table => {
            let mut header: Vec<String> = vec![t(lang, "dimension").to_string()];
            header.extend(plans.iter().map(Plan::label));
            header.push(t(lang, "verdict").to_string());
            let hdr: Vec<&str> = header.iter().map(String::as_str).collect();
            let mut tb = table::new(&hdr);
            for r in &rows {
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
            for n in &notes {
                s.push_str(&format!("\nnote: {n}"));
            }
            table::print(&s)
        }
    }
}
