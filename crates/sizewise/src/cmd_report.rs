//! `sizewise report`: the comparison as a document to send to a manager: one
//! self-contained HTML file with charts, and a Markdown twin, in English or Brazilian
//! Portuguese, every number marked estimated, measured or published, with its sources.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use serde_json::Value;
use sizewise_catalog::{Catalog, Model};
use sizewise_report::svg::{self, Bar, Frame, Point, Range, Scale, Stack};
use sizewise_report::{Cell, Footnotes, Kind, Report, Section, Table};
use sizewise_store::{RunId, RunKind, RunStatus, Store};

use crate::cmd_compare::{Comparison, Row, comparison, terminal_table, workload_line};
use crate::human;
use crate::i18n::{Lang, localize, t, tr};
use crate::plan::{ParamSource, Plan, param_count};
use crate::results::StoreArgs;
use crate::scenario::ScenarioArgs;
use crate::table;
use crate::workload::Workload;

/// Arguments of `sizewise report`.
#[derive(Args)]
#[command(after_help = "Examples:
  sizewise report                                     the default comparison, sizewise-report.html
  sizewise report --lang pt-BR --html relatorio.html --markdown relatorio.md
  sizewise report phi-3-mini@apple-m2 llama-3.1-70b gpt-4o --workload tickets.toml
  sizewise report --runs 12,15                        these measured runs beside the estimates
The HTML file holds its charts (SVG) and styles: it opens offline and can be mailed as is.")]
pub struct ReportArgs {
    /// Models to compare, as MODEL or MODEL@HARDWARE [default: the `compare` set].
    models: Vec<String>,
    /// Hardware for every open model without an @HW.
    #[arg(long, short = 'H')]
    hardware: Option<String>,
    /// Hardware for the training-time row.
    #[arg(long, default_value = "nvidia-h100-sxm")]
    train_hardware: String,
    /// A workload file (TOML, as `recommend` reads): its prompt and output tokens and
    /// requests per day replace the flags'.
    #[arg(long, value_name = "FILE")]
    workload: Option<PathBuf>,
    /// Measured runs from the results store to show beside the estimates: `latest` (the
    /// newest bench, bench --gguf and eval runs), `none`, or run ids (`12,15`).
    #[arg(long, default_value = "latest")]
    runs: String,
    /// Write the HTML report here [default: sizewise-report.html, unless only --markdown is
    /// given].
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Write the Markdown report here.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Language of the report.
    #[arg(long, value_enum, default_value_t = Lang::En)]
    lang: Lang,
    /// Print what was written as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    scenario: ScenarioArgs,
    #[command(flatten)]
    store: StoreArgs,
}

/// A measured run to draw.
struct Measured {
    id: i64,
    kind: RunKind,
    target: String,
    summary: Value,
}

/// The runs `spec` names, from the store at `path` when it exists.
fn measured_runs(spec: &str, store: &StoreArgs) -> anyhow::Result<Vec<Measured>> {
    let spec = spec.trim();
    if spec.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let path = store.path()?;
    if !path.exists() {
        anyhow::ensure!(
            spec.eq_ignore_ascii_case("latest"),
            "--runs {spec}: there is no results store at {}\n  hint: runs come from `sizewise bench` and `sizewise eval`",
            path.display()
        );
        return Ok(Vec::new());
    }
    let store = Store::open(&path)
        .with_context(|| format!("opening the results store {}", path.display()))?;
    let mut ids: Vec<RunId> = Vec::new();
    if spec.eq_ignore_ascii_case("latest") {
        for kind in [RunKind::EngineBench, RunKind::Bench] {
            ids.extend(store.latest_with_status(kind, RunStatus::Complete)?);
        }
        // The newest eval run of each suite, at most eight.
        let mut suites: Vec<String> = Vec::new();
        for r in store.list_runs(Some(RunKind::Eval), Some(200))? {
            if r.status != RunStatus::Complete || suites.len() >= 8 {
                continue;
            }
            let Some(run) = store.get_run(r.id)? else {
                continue;
            };
            let suite = run.params["suite"].as_str().unwrap_or("").to_string();
            if !suites.contains(&suite) {
                suites.push(suite);
                ids.push(r.id);
            }
        }
    } else {
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let id: i64 = part.parse().with_context(|| {
                format!(
                    "--runs takes `latest`, `none` or run ids like 12,15; `{part}` is not an id"
                )
            })?;
            ids.push(RunId(id));
        }
    }
    let mut out = Vec::new();
    for id in ids {
        let run = store.get_run(id)?.with_context(|| {
            format!(
                "no run {} in {}\n  hint: `sizewise runs list` shows the ids",
                id.0,
                path.display()
            )
        })?;
        let Some(summary) = run.summary else { continue };
        out.push(Measured {
            id: id.0,
            kind: run.info.kind,
            target: run.info.target,
            summary,
        });
    }
    Ok(out)
}

/// A cell kind of the comparison table as a mark.
fn kind_of(kind: &str) -> Option<Kind> {
    match kind {
        "estimated" => Some(Kind::Estimated),
        "measured" => Some(Kind::Measured),
        "published" => Some(Kind::Published),
        _ => None,
    }
}

/// The catalog field behind a published cell of `dimension`, for its footnote.
fn source_of(m: &Model, dimension: &str, lang: Lang) -> Option<String> {
    match dimension {
        "size" => m.source_of("params_total").map(str::to_string),
        "training_data" => m.source_of("training_tokens").map(str::to_string),
        "context_window" => m.source_of("context_window").map(str::to_string),
        "cost" => m.api.as_ref().map(|a| {
            format!(
                "{} ({}, {} {})",
                a.source,
                a.provider,
                tr(lang, "as of", "em"),
                a.as_of
            )
        }),
        "quality" => m.score("MMLU").map(|s| s.source.clone()),
        _ => None,
    }
}

/// A count of seconds as a span of time a person knows, in `lang`.
fn analogy(count: f64, lang: Lang) -> String {
    let years = count / 86_400.0 / 365.25;
    let words = human::count(count);
    if years >= 1.0 {
        tr(
            lang,
            "{n} seconds would be about {y} years",
            "{n} segundos seriam cerca de {y} anos",
        )
        .replace("{n}", &words)
        .replace("{y}", &human::thousands(years))
    } else {
        tr(
            lang,
            "{n} seconds would be about {d} days",
            "{n} segundos seriam cerca de {d} dias",
        )
        .replace("{n}", &words)
        .replace("{d}", &format!("{:.1}", count / 86_400.0))
    }
}

/// The row of `dimension`.
fn row<'r>(rows: &'r [Row], dimension: &str) -> Option<&'r Row> {
    rows.iter().find(|r| r.dimension == dimension)
}

/// Everything the sections draw on.
struct Ctx<'c, 'a> {
    cmp: &'c Comparison<'a>,
    lang: Lang,
    notes: Footnotes,
    runs: &'c [Measured],
}

impl Ctx<'_, '_> {
    fn legend(&self, kinds: &[Kind]) -> Vec<(&'static str, String)> {
        kinds
            .iter()
            .map(|k| {
                let name = match k {
                    Kind::Estimated => tr(self.lang, "estimated", "estimado"),
                    Kind::Measured => tr(self.lang, "measured", "medido"),
                    Kind::Published => tr(self.lang, "published", "publicado"),
                };
                (k.color(), name)
            })
            .collect()
    }

    /// A section's lead: the dimension's verdict.
    fn verdict(&self, dimension: &str) -> Option<String> {
        row(&self.cmp.rows, dimension).map(|r| r.verdict.clone())
    }

    /// The table of one dimension: a column per model with the comparison's cell.
    fn dimension_table(&mut self, dimension: &str) -> Option<Table> {
        let r = row(&self.cmp.rows, dimension)?;
        let mut rows = Vec::new();
        for (p, c) in self.cmp.plans.iter().zip(&r.cells) {
            let src = if c.kind == "published" {
                source_of(p.model, dimension, self.lang).and_then(|s| self.notes.cite(&s))
            } else {
                None
            };
            let mut cell = Cell::text(c.text.clone()).cite(src);
            cell.kind = kind_of(c.kind);
            rows.push(vec![Cell::strong(p.label()), cell]);
        }
        Some(Table {
            header: vec![tr(self.lang, "Option", "Opção"), r.label.to_string()],
            rows,
        })
    }

    fn bar_chart(
        &self,
        title: &str,
        scale: Scale,
        format: &dyn Fn(f64) -> String,
        bars: Vec<Bar>,
    ) -> Option<String> {
        if bars.iter().all(|b| !b.value.is_finite()) {
            return None;
        }
        let mut kinds: Vec<Kind> = Vec::new();
        for b in &bars {
            if !kinds.contains(&b.kind) {
                kinds.push(b.kind);
            }
        }
        let lang = self.lang;
        let ticks = |v: f64| localize(&format(v), lang);
        let frame = Frame {
            title,
            format: &ticks,
            legend: self.legend(&kinds),
        };
        let bars: Vec<Bar> = bars
            .into_iter()
            .map(|b| Bar {
                text: localize(&b.text, lang),
                ..b
            })
            .collect();
        Some(svg::bars(&frame, scale, &bars))
    }

    fn section(&mut self, dimension: &str) -> Section {
        let mut s = Section {
            id: dimension.to_string(),
            heading: t(self.lang, dimension).to_string(),
            lead: self.verdict(dimension),
            tables: self.dimension_table(dimension).into_iter().collect(),
            ..Section::default()
        };
        let lang = self.lang;
        let plans = &self.cmp.plans;
        match dimension {
            "size" => {
                let bars: Vec<Bar> = plans
                    .iter()
                    .filter_map(|p| {
                        let (v, src) = param_count(p.model, p.summary.as_ref())?;
                        Some(Bar {
                            label: p.model.id.clone(),
                            value: v,
                            text: human::count(v),
                            kind: if src == ParamSource::Published {
                                Kind::Published
                            } else {
                                Kind::Estimated
                            },
                        })
                    })
                    .collect();
                if let (Some(small), Some(large)) = (
                    bars.iter().min_by(|a, b| a.value.total_cmp(&b.value)),
                    bars.iter().max_by(|a, b| a.value.total_cmp(&b.value)),
                ) {
                    s.paragraphs.push(format!(
                        "{}: {} ({}); {} ({}).",
                        tr(lang, "On a human scale", "Em escala humana"),
                        small.label,
                        analogy(small.value, lang),
                        large.label,
                        analogy(large.value, lang)
                    ));
                }
                s.charts.extend(self.bar_chart(
                    &tr(lang, "Parameters (log scale)", "Parâmetros (escala log)"),
                    Scale::Log,
                    &human::count,
                    bars,
                ));
            }
            "training_data" => {
                let bars = plans
                    .iter()
                    .filter_map(|p| {
                        let v = p.model.training_tokens?;
                        Some(Bar {
                            label: p.model.id.clone(),
                            value: v,
                            text: format!("{} tokens", human::count(v)),
                            kind: Kind::Published,
                        })
                    })
                    .collect();
                s.charts.extend(self.bar_chart(
                    &tr(
                        lang,
                        "Training tokens (log scale)",
                        "Tokens de treinamento (escala log)",
                    ),
                    Scale::Log,
                    &human::count,
                    bars,
                ));
            }
            "training_time" => {
                let bars = plans
                    .iter()
                    .zip(&self.cmp.training)
                    .filter_map(|(p, n)| {
                        let n = n.as_ref().filter(|n| !n.training_tokens_assumed)?;
                        Some(Bar {
                            label: p.model.id.clone(),
                            value: n.training_device_hours.p50,
                            text: format!(
                                "{} h, {}",
                                human::count(n.training_device_hours.p50),
                                human::si(n.training_flops, "FLOP")
                            ),
                            kind: Kind::Estimated,
                        })
                    })
                    .collect();
                s.paragraphs.push(
                    tr(
                        lang,
                        "GPU-hours on one {hw} (6·N·D training FLOPs at a typical utilisation); the text gives the FLOPs.",
                        "Horas de GPU em uma {hw} (6·N·D FLOPs de treinamento com utilização típica); o texto dá os FLOPs.",
                    )
                    .replace("{hw}", &self.cmp.train_hw.id),
                );
                s.charts.extend(self.bar_chart(
                    &tr(
                        lang,
                        "Training compute, GPU-hours (log scale)",
                        "Computação de treinamento, horas de GPU (escala log)",
                    ),
                    Scale::Log,
                    &human::count,
                    bars,
                ));
            }
            "compute" => {
                let stacks: Vec<Stack> = plans
                    .iter()
                    .filter_map(|p| {
                        let n = p.numbers.as_ref()?;
                        // Per device, in GiB so that the axis ticks fall on round numbers.
                        let g = f64::from(p.scenario.gpus.max(1));
                        let gib = (1u64 << 30) as f64;
                        Some(Stack {
                            label: p.label(),
                            parts: vec![
                                n.weights_bytes / g / gib,
                                n.kv_bytes / g / gib,
                                (n.activation_bytes + n.runtime_bytes) / gib,
                            ],
                            limit: Some(n.usable_memory_bytes / g / gib),
                            text: format!(
                                "{} / {}",
                                human::bytes(n.inference_memory_bytes / g),
                                human::bytes(n.usable_memory_bytes / g)
                            ),
                        })
                    })
                    .collect();
                if !stacks.is_empty() {
                    s.chart_notes.push(tr(
                        lang,
                        "Memory per device: weights, KV cache for the request, activations and runtime; the dashed line is the device's usable memory.",
                        "Memória por dispositivo: pesos, cache KV da requisição, ativações e runtime; a linha tracejada é a memória utilizável do dispositivo.",
                    ));
                    let legend = [
                        tr(lang, "weights", "pesos"),
                        tr(lang, "KV cache", "cache KV"),
                        tr(lang, "activations + runtime", "ativações + runtime"),
                    ]
                    .into_iter()
                    .enumerate()
                    .map(|(i, l)| (svg::PART_COLORS[i], l))
                    .collect();
                    let frame = Frame {
                        title: &tr(
                            lang,
                            "Memory per device (estimated)",
                            "Memória por dispositivo (estimada)",
                        ),
                        format: &|v| format!("{} GiB", human::sig(v)),
                        legend,
                    };
                    s.charts.push(svg::stacks(&frame, &stacks));
                }
            }
            "inference" => {
                let bars = plans
                    .iter()
                    .filter_map(|p| {
                        let n = p.numbers.as_ref()?;
                        Some(Bar {
                            label: p.label(),
                            value: n.decode_tokens_per_s.p50,
                            text: format!("{} tok/s", human::sig(n.decode_tokens_per_s.p50)),
                            kind: Kind::Estimated,
                        })
                    })
                    .collect();
                s.charts.extend(self.bar_chart(
                    &tr(
                        lang,
                        "Generation speed per stream, tokens/s",
                        "Velocidade de geração por fluxo, tokens/s",
                    ),
                    Scale::Linear,
                    &human::sig,
                    bars,
                ));
            }
            "context_window" => {
                let bars = plans
                    .iter()
                    .filter_map(|p| {
                        let w = p.model.context_window?;
                        Some(Bar {
                            label: p.model.id.clone(),
                            value: w as f64,
                            text: format!("{} tokens", human::window(w)),
                            kind: Kind::Published,
                        })
                    })
                    .collect();
                let request = self.cmp.base.prompt_tokens + self.cmp.base.output_tokens;
                s.paragraphs.push(
                    tr(
                        lang,
                        "How much text a model reads at once. This workload's request is {n} tokens.",
                        "Quanto texto um modelo lê de uma vez. A requisição desta carga tem {n} tokens.",
                    )
                    .replace("{n}", &request.to_string()),
                );
                s.charts.extend(self.bar_chart(
                    &tr(
                        lang,
                        "Context window, tokens (log scale)",
                        "Janela de contexto, tokens (escala log)",
                    ),
                    Scale::Log,
                    &|v| human::window(v as u64),
                    bars,
                ));
            }
            "cost" => {
                let per_m: Vec<Bar> = plans
                    .iter()
                    .filter_map(|p| match (&p.numbers, &p.model.api) {
                        (Some(n), _) => {
                            let v = n.self_hosted_usd_per_1m_output?.p50;
                            Some(Bar {
                                label: p.label(),
                                value: v,
                                text: human::usd(v),
                                kind: Kind::Estimated,
                            })
                        }
                        (None, Some(api)) => Some(Bar {
                            label: p.label(),
                            value: api.output_usd_per_mtok,
                            text: human::usd(api.output_usd_per_mtok),
                            kind: Kind::Published,
                        }),
                        _ => None,
                    })
                    .collect();
                s.charts.extend(self.bar_chart(
                    &tr(
                        lang,
                        "Cost per 1M output tokens, USD (log scale)",
                        "Custo por 1M de tokens de saída, USD (escala log)",
                    ),
                    Scale::Log,
                    &human::usd,
                    per_m,
                ));
                let monthly: Vec<Bar> = row(&self.cmp.rows, "cost")
                    .map(|r| {
                        plans
                            .iter()
                            .zip(&r.cells)
                            .filter_map(|(p, c)| {
                                let v = c.value?;
                                Some(Bar {
                                    label: p.label(),
                                    value: v,
                                    text: human::usd(v),
                                    kind: kind_of(c.kind).unwrap_or(Kind::Estimated),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                s.paragraphs.push(
                    tr(
                        lang,
                        "Monthly cost of this workload ({n} requests a day): self-hosted options are estimated, APIs are list prices.",
                        "Custo mensal desta carga ({n} requisições por dia): opções auto-hospedadas são estimadas, APIs são preços de tabela.",
                    )
                    .replace("{n}", &human::thousands(self.cmp.base.requests_per_day)),
                );
                s.charts.extend(self.bar_chart(
                    &tr(
                        lang,
                        "Monthly cost of the workload, USD (log scale)",
                        "Custo mensal da carga, USD (escala log)",
                    ),
                    Scale::Log,
                    &human::usd,
                    monthly,
                ));
            }
            "performance" => {
                s.paragraphs.push(tr(
                    lang,
                    "Privacy: a self-hosted model keeps prompts and answers on premises; an API sends them to its provider.",
                    "Privacidade: um modelo auto-hospedado mantém prompts e respostas na sua infraestrutura; uma API os envia ao provedor.",
                ));
            }
            "latency" => self.latency(&mut s),
            "quality" => self.quality(&mut s),
            _ => {}
        }
        s
    }

    fn latency(&mut self, s: &mut Section) {
        let lang = self.lang;
        let mut ttft: Vec<Range> = Vec::new();
        let mut tpot: Vec<Range> = Vec::new();
        for p in &self.cmp.plans {
            let Some(n) = p.numbers.as_ref() else {
                continue;
            };
            let band = |b: sizewise_estimate::Band, label: String| Range {
                label,
                low: b.p10,
                mid: b.p50,
                high: b.p90,
                measured: None,
                text: human::seconds(b.p50),
            };
            ttft.push(band(n.ttft_s, p.label()));
            tpot.push(band(n.tpot_s, p.label()));
        }
        for r in self.runs {
            let ms = |v: &Value| v.as_f64().map(|x| x / 1e3);
            let label = format!("{} {}: {}", tr(lang, "run", "execução"), r.id, r.target);
            let (tt, tp, est_tt, est_tp) = match r.kind {
                // bench --gguf: means over repetitions, and the estimate for `local`.
                RunKind::EngineBench => {
                    let e = &r.summary["estimate"];
                    let decode = e["decode_tokens_per_s"].as_f64();
                    let band = e["decode_tokens_per_s_band"].as_array();
                    let tpot_band = match (decode, band) {
                        (Some(d), Some(b)) => Some((
                            1.0 / b.get(1).and_then(Value::as_f64).unwrap_or(d),
                            1.0 / d,
                            1.0 / b.first().and_then(Value::as_f64).unwrap_or(d),
                        )),
                        _ => None,
                    };
                    let tt_est = ms(&e["ttft_ms"]).map(|v| (v, v, v));
                    (
                        ms(&r.summary["ttft_ms"]["mean"]),
                        ms(&r.summary["tpot_ms"]["mean"]),
                        tt_est,
                        tpot_band,
                    )
                }
                RunKind::Bench => (
                    ms(&r.summary["ttft_ms"]["p50"]),
                    ms(&r.summary["tpot_ms"]["p50"]),
                    None,
                    None,
                ),
                _ => continue,
            };
            let point = |m: Option<f64>, est: Option<(f64, f64, f64)>| Range {
                label: label.clone(),
                low: est.map_or(f64::NAN, |e| e.0),
                mid: est.map_or(f64::NAN, |e| e.1),
                high: est.map_or(f64::NAN, |e| e.2),
                measured: m,
                text: m.map_or_else(String::new, human::seconds),
            };
            if tt.is_some() {
                ttft.push(point(tt, est_tt));
            }
            if tp.is_some() {
                tpot.push(point(tp, est_tp));
            }
        }
        s.paragraphs.push(tr(
            lang,
            "TTFT is the wait for the first token; TPOT the time per token after it.",
            "TTFT é a espera pelo primeiro token; TPOT, o tempo por token depois dele.",
        ));
        s.chart_notes.push(tr(
            lang,
            "Bars are the estimate's p10..p90 band with its median; dots are measurements (sizewise bench).",
            "As barras são a faixa p10..p90 da estimativa com a mediana; os pontos são medições (sizewise bench).",
        ));
        let legend = self.legend(&[Kind::Estimated, Kind::Measured]);
        for (title, rows) in [
            (
                tr(
                    lang,
                    "Time to first token (log scale)",
                    "Tempo até o primeiro token (escala log)",
                ),
                ttft,
            ),
            (
                tr(
                    lang,
                    "Time per output token (log scale)",
                    "Tempo por token de saída (escala log)",
                ),
                tpot,
            ),
        ] {
            if rows.is_empty() {
                continue;
            }
            let ticks = |v: f64| localize(&human::seconds(v), lang);
            let frame = Frame {
                title: &title,
                format: &ticks,
                legend: legend.clone(),
            };
            let rows: Vec<Range> = rows
                .into_iter()
                .map(|r| Range {
                    text: localize(&r.text, lang),
                    ..r
                })
                .collect();
            s.charts.push(svg::ranges(&frame, &rows));
        }
    }

    fn quality(&mut self, s: &mut Section) {
        let lang = self.lang;
        let cost = row(&self.cmp.rows, "cost");
        let points: Vec<Point> = self
            .cmp
            .plans
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let score = p.model.score("MMLU")?.value;
                let monthly = cost?.cells.get(i)?.value?;
                Some(Point {
                    label: p.model.id.clone(),
                    x: monthly,
                    y: score,
                    kind: Kind::Published,
                })
            })
            .collect();
        if !points.is_empty() {
            s.paragraphs.push(tr(
                lang,
                "Quality against monthly cost: published MMLU scores (not measured here) against this workload's cost.",
                "Qualidade contra custo mensal: notas MMLU publicadas (não medidas aqui) contra o custo desta carga.",
            ));
            s.chart_notes.push(tr(
                lang,
                "The dashed line joins the Pareto front: options that no other beats on both.",
                "A linha tracejada liga a fronteira de Pareto: opções que nenhuma outra supera nas duas.",
            ));
            let frame = Frame {
                title: &tr(
                    lang,
                    "MMLU against monthly cost (USD, log scale)",
                    "MMLU contra custo mensal (USD, escala log)",
                ),
                format: &human::usd,
                legend: self.legend(&[Kind::Published]),
            };
            s.charts
                .push(svg::scatter(&frame, &|v| format!("{v:.0}"), &points));
        }
        let evals: Vec<&Measured> = self
            .runs
            .iter()
            .filter(|r| r.kind == RunKind::Eval)
            .collect();
        if !evals.is_empty() {
            s.paragraphs.push(tr(
                lang,
                "Measured with sizewise eval on this machine or endpoint:",
                "Medido com sizewise eval nesta máquina ou endpoint:",
            ));
            let rows = evals
                .iter()
                .map(|r| {
                    let v = &r.summary;
                    let score = v["score"].as_f64().unwrap_or(f64::NAN);
                    let ci = v["ci95"]
                        .as_array()
                        .map(|c| {
                            format!(
                                "{:.3}–{:.3}",
                                c.first().and_then(Value::as_f64).unwrap_or(f64::NAN),
                                c.get(1).and_then(Value::as_f64).unwrap_or(f64::NAN)
                            )
                        })
                        .unwrap_or_default();
                    vec![
                        Cell::text(v["suite"].as_str().unwrap_or("")),
                        Cell::text(r.target.clone()),
                        Cell::of(
                            localize(&format!("{score:.3} [{ci}]"), lang),
                            Kind::Measured,
                        ),
                        Cell::text(v["n"].as_u64().map_or(String::new(), |n| n.to_string())),
                        Cell::text(format!("{} {}", tr(lang, "run", "execução"), r.id)),
                    ]
                })
                .collect();
            let header = if lang == Lang::PtBr {
                ["suíte", "alvo", "nota [IC 95%]", "itens", "execução"]
            } else {
                ["suite", "target", "score [95% CI]", "items", "run"]
            };
            s.tables.push(Table {
                header: header.iter().map(|h| h.to_string()).collect(),
                rows,
            });
        }
    }
}

/// The section that answers "which should I use?" for the workload: `recommend`'s options,
/// split and notes.
fn recommendation_section(rec: &Value, w: &Workload, lang: Lang) -> Section {
    let options = rec["options"].as_array().cloned().unwrap_or_default();
    let lead = rec["message"].as_str().map(str::to_string).or_else(|| {
        let o = options.first()?;
        Some(format!(
            "{}: {} {} {} ({}), {}",
            tr(lang, "Best option", "Melhor opção"),
            o["model"].as_str()?,
            tr(lang, "on", "em"),
            o["hardware"].as_str().unwrap_or("API"),
            o["precision"].as_str().unwrap_or(""),
            localize(
                &format!(
                    "{}{}",
                    human::usd(o["monthly_usd"].as_f64()?),
                    tr(lang, "/month", "/mês")
                ),
                lang
            )
        ))
    });
    let mut limits = Vec::new();
    if let Some(l) = w.latency_p95_ms {
        limits.push(format!("p95 <= {}", human::seconds(l / 1000.0)));
    }
    if let Some(b) = w.monthly_budget_usd {
        limits.push(format!(
            "{} <= {}",
            tr(lang, "budget", "orçamento"),
            human::usd(b)
        ));
    }
    if w.privacy == crate::workload::Privacy::OnPremises {
        limits.push(tr(lang, "data on premises", "dados na sua infraestrutura"));
    }
    if let Some(q) = &w.min_quality {
        limits.push(format!("{} >= {}", q.suite, q.score));
    }
    let mut paragraphs = vec![localize(
        &format!(
            "{}: {}.",
            tr(lang, "Constraints", "Restrições"),
            if limits.is_empty() {
                tr(lang, "none", "nenhuma")
            } else {
                limits.join(", ")
            }
        ),
        lang,
    )];
    paragraphs.extend(
        rec["combination"]["reasons"][0]
            .as_str()
            .map(str::to_string),
    );
    paragraphs.extend(
        rec["notes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str().map(str::to_string)),
    );
    let header = crate::cmd_recommend::option_header(lang);
    let rows = options
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let kind = if o["deployment"] == "api" {
                Kind::Published
            } else {
                Kind::Estimated
            };
            let num = |v: Option<f64>, f: fn(f64) -> String| {
                v.map_or_else(|| "?".to_string(), |x| localize(&f(x), lang))
            };
            vec![
                Cell::text((i + 1).to_string()),
                Cell::strong(o["model"].as_str().unwrap_or("")),
                Cell::text(o["hardware"].as_str().unwrap_or("API")),
                Cell::text(o["precision"].as_str().unwrap_or("")),
                Cell::of(num(o["monthly_usd"].as_f64(), human::usd), kind),
                Cell::text(num(o["latency_s"].as_f64(), human::seconds)),
                Cell::text(
                    o["reasons"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            ]
        })
        .collect();
    Section {
        id: "recommendation".into(),
        heading: tr(
            lang,
            "Recommendation for this workload",
            "Recomendação para esta carga",
        ),
        lead,
        paragraphs,
        tables: vec![Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows,
        }],
        ..Section::default()
    }
}

/// Builds the report of `cmp`.
fn build(cmp: &Comparison, runs: &[Measured], lang: Lang, task: Option<&str>) -> Report {
    let mut ctx = Ctx {
        cmp,
        lang,
        notes: Footnotes::default(),
        runs,
    };
    // The summary table: a row per dimension, a column per option, the verdict.
    let mut header = vec![t(lang, "dimension").to_string()];
    header.extend(cmp.plans.iter().map(Plan::label));
    header.push(t(lang, "verdict").to_string());
    let mut rows = Vec::new();
    for r in &cmp.rows {
        let mut line = vec![Cell::strong(r.label)];
        for (p, c) in cmp.plans.iter().zip(&r.cells) {
            let src = if c.kind == "published" {
                source_of(p.model, r.dimension, lang).and_then(|s| ctx.notes.cite(&s))
            } else {
                None
            };
            let mut cell = Cell::text(c.text.clone()).cite(src);
            cell.kind = kind_of(c.kind);
            line.push(cell);
        }
        line.push(Cell::text(r.verdict.clone()));
        rows.push(line);
    }
    let summary = Table { header, rows };
    let sections: Vec<Section> = crate::i18n::DIMENSIONS
        .iter()
        .map(|d| ctx.section(d))
        .collect();
    let mut subtitle = vec![workload_line(&cmp.base, lang)];
    if let Some(task) = task {
        subtitle.insert(0, format!("{}: {task}", tr(lang, "Task", "Tarefa")));
    }
    subtitle.push(format!(
        "sizewise {} · {}",
        env!("CARGO_PKG_VERSION"),
        tr(
            lang,
            "estimates are bands; the median is shown",
            "estimativas são faixas; mostra-se a mediana"
        )
    ));
    let mut sections = sections;
    // Paragraphs are written here; leads and tables come localized from the comparison
    // (localizing twice would swap the separators back).
    for s in &mut sections {
        for p in s.paragraphs.iter_mut().chain(&mut s.chart_notes) {
            *p = localize(p, lang);
        }
    }
    Report {
        lang: if lang == Lang::PtBr { "pt-BR" } else { "en" }.to_string(),
        title: tr(
            lang,
            "Small or large language model: the decision report",
            "Modelo de linguagem pequeno ou grande: relatório de decisão",
        ),
        subtitle,
        summary: Some((t(lang, "title").to_string(), summary)),
        legend: tr(
            lang,
            "Marks: E estimated (architecture × datasheet), P published (catalog, with source), M measured. Superscripts point to the sources.",
            "Marcas: E estimado (arquitetura × ficha técnica), P publicado (catálogo, com fonte), M medido. Os números sobrescritos apontam as fontes.",
        ),
        sections,
        notes: cmp.notes.clone(),
        sources_heading: tr(lang, "Sources", "Fontes"),
        footnotes: ctx.notes.into_list(),
    }
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// `sizewise report`.
pub fn report(catalog: &Catalog, args: ReportArgs) -> anyhow::Result<()> {
    let mut base = args.scenario.scenario()?;
    let workload = args.workload.as_deref().map(Workload::read).transpose()?;
    let mut hardware = args.hardware.clone();
    if let Some(w) = &workload {
        w.apply(&mut base);
        hardware = hardware.or_else(|| w.device.clone());
    }
    let runs = measured_runs(&args.runs, &args.store)?;
    let cmp = comparison(
        catalog,
        &args.models,
        hardware.as_deref(),
        &args.train_hardware,
        base,
        args.lang,
        false,
    )?;
    let mut report = build(
        &cmp,
        &runs,
        args.lang,
        workload.as_ref().map(|w| w.task.as_str()),
    );
    if let (Some(w), Some(path)) = (&workload, &args.workload) {
        let rec =
            crate::cmd_recommend::recommendation(catalog, w, path, &args.store, args.lang, 5)?;
        report
            .sections
            .insert(0, recommendation_section(&rec, w, args.lang));
    }
    let html_path = match (&args.html, &args.markdown) {
        (Some(p), _) => Some(p.clone()),
        (None, None) => Some(PathBuf::from("sizewise-report.html")),
        (None, Some(_)) => None,
    };
    let charts: usize = report.sections.iter().map(|s| s.charts.len()).sum();
    let mut written = Vec::new();
    if let Some(p) = &html_path {
        let text = sizewise_report::html(&report);
        write(p, &text)?;
        written.push(
            serde_json::json!({"format": "html", "path": p, "bytes": text.len(), "charts": charts}),
        );
    }
    if let Some(p) = &args.markdown {
        let text = sizewise_report::markdown(&report);
        write(p, &text)?;
        written.push(serde_json::json!({"format": "markdown", "path": p, "bytes": text.len()}));
    }
    if args.json {
        return table::print_json(&serde_json::json!({
            "written": written,
            "runs": runs.iter().map(|r| r.id).collect::<Vec<_>>(),
            "lang": report.lang,
        }));
    }
    let workload_text = workload_line(&cmp.base, args.lang);
    let mut s = terminal_table(&cmp.plans, &cmp.rows, &cmp.notes, &workload_text, args.lang);
    s.push_str("\n\n");
    s.push_str(&text_bars(
        &tr(
            args.lang,
            "Context window (tokens)",
            "Janela de contexto (tokens)",
        ),
        &cmp.plans
            .iter()
            .filter_map(|p| {
                Some((
                    p.model.id.clone(),
                    p.model.context_window? as f64,
                    human::window(p.model.context_window?),
                ))
            })
            .collect::<Vec<_>>(),
    ));
    if let Some(r) = row(&cmp.rows, "cost") {
        s.push_str(&text_bars(
            &tr(args.lang, "Monthly cost (USD)", "Custo mensal (USD)"),
            &cmp.plans
                .iter()
                .zip(&r.cells)
                .filter_map(|(p, c)| {
                    Some((
                        p.model.id.clone(),
                        c.value?,
                        localize(&human::usd(c.value?), args.lang),
                    ))
                })
                .collect::<Vec<_>>(),
        ));
    }
    for w in &written {
        s.push_str(&format!(
            "\n{} {} ({} KB{})",
            tr(args.lang, "wrote", "gravado"),
            w["path"].as_str().unwrap_or(""),
            w["bytes"].as_u64().unwrap_or(0) / 1024,
            w["charts"].as_u64().map_or(String::new(), |c| format!(
                ", {c} {}",
                tr(args.lang, "charts", "gráficos")
            ))
        ));
    }
    table::print(&s)
}

/// A small bar chart for the terminal: one line per row, bars in proportion.
fn text_bars(title: &str, rows: &[(String, f64, String)]) -> String {
    let most = rows.iter().map(|r| r.1).fold(0.0, f64::max);
    let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let mut s = format!("{title}\n");
    for (label, v, text) in rows {
        let n = if most > 0.0 && v.is_finite() {
            ((v / most) * 30.0).round().max(1.0) as usize
        } else {
            0
        };
        s.push_str(&format!("  {label:<width$} {} {text}\n", "█".repeat(n)));
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn analogies_speak_both_languages() {
        assert!(analogy(8.03e9, Lang::En).contains("years"));
        assert!(analogy(8.03e9, Lang::PtBr).contains("anos"));
        assert!(analogy(1.35e5, Lang::PtBr).contains("dias"));
    }

    #[test]
    fn terminal_bars_are_proportional() {
        let s = text_bars(
            "t",
            &[
                ("a".into(), 10.0, "10".into()),
                ("bb".into(), 5.0, "5".into()),
            ],
        );
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[1].matches('█').count(), 30);
        assert_eq!(lines[2].matches('█').count(), 15);
    }
}
