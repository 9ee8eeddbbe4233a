//! `sizewise estimate`, `sizewise fit` and `sizewise validate`.

use clap::Args;
use serde_json::{Value, json};
use sizewise_catalog::{Catalog, Model};
use sizewise_estimate::{Precision, Scenario, estimate_numbers, report, summarize, validation};

use crate::human;
use crate::i18n::Lang;
use crate::plan::{ParamSource, hardware_by_id, model_by_id, param_count, plan, training_numbers};
use crate::scenario::ScenarioArgs;
use crate::table;

/// Arguments of `sizewise estimate`.
#[derive(Args)]
#[command(after_help = "Examples:
  sizewise estimate llama-3.1-8b --hardware nvidia-rtx-4090 --precision q4_k_m
  sizewise estimate llama-3.1-70b --hardware nvidia-h100-sxm --gpus 2 --batch 16 --explain
  sizewise estimate phi-3-mini --hardware apple-m2 --json | jq .latency
  sizewise estimate gpt-4o-mini            (API-only: published facts and API cost)
  sizewise estimate --gguf SmolLM2-135M-Instruct.Q4_1.gguf -H raspberry-pi-5-8gb
Every number is a band p10..p50..p90 with its basis (--explain prints the bases).")]
pub struct EstimateArgs {
    /// Model id (see `sizewise models`).
    #[arg(required_unless_present = "gguf")]
    model: Option<String>,
    /// Estimate the model in this GGUF file (its architecture and real bytes per weight).
    #[arg(long, conflicts_with = "model", value_name = "FILE")]
    gguf: Option<std::path::PathBuf>,
    /// Hardware id (see `sizewise hardware`) [default: sizewise picks one that fits].
    #[arg(long, short = 'H')]
    hardware: Option<String>,
    /// Hardware for the training estimates (training time, fine-tuning, training
    /// cost and energy), used --train-gpus at a time.
    #[arg(long, default_value = "nvidia-h100-sxm", value_name = "HW")]
    train_hardware: String,
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Print the basis (formula, inputs, sources) of every number.
    #[arg(long)]
    explain: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The estimate of an API-only model: published facts and API costs.
pub fn api_json(m: &Model, s: &Scenario) -> Value {
    let api = m.api.as_ref();
    let per_req = api.map(|x| x.usd_per_request(s.prompt_tokens, s.output_tokens));
    let src = api.map(|x| format!("{} (as of {})", x.source, x.as_of));
    let undisclosed = json!({"value": null, "kind": "undisclosed", "note": "the vendor has not published it; measure the endpoint with `sizewise bench`"});
    json!({
        "model": {"id": m.id, "name": m.name, "category": m.category.as_str(), "open_weights": m.open_weights},
        "hardware": null,
        "scenario": {"deployment": "vendor API", "prompt_tokens": s.prompt_tokens, "output_tokens": s.output_tokens, "requests_per_day": s.requests_per_day},
        "size": {"params": undisclosed, "estimates": m.estimates.iter().filter(|e| e.field.starts_with("params")).map(|e| json!({"field": e.field, "value": e.value, "kind": e.kind, "source": e.source})).collect::<Vec<_>>()},
        "training_data": {"training_tokens": m.training_tokens.map(|t| report::published(json!(t), "tokens", m.source_of("training_tokens"))).unwrap_or(undisclosed.clone())},
        "training_time": {"gpu_hours": undisclosed},
        "compute": {"inference_memory_bytes": undisclosed},
        "inference": {"throughput_tokens_per_s": undisclosed},
        "context_window": {"window_tokens": m.context_window.map(|w| report::published(json!(w), "tokens", m.source_of("context_window"))), "kv_cache_bytes_per_token": undisclosed},
        "cost": {
            "api_usd_per_1m_input_tokens": api.map(|x| report::published(json!(x.input_usd_per_mtok), "USD", src.as_deref())),
            "api_usd_per_1m_output_tokens": api.map(|x| report::published(json!(x.output_usd_per_mtok), "USD", src.as_deref())),
            "api_usd_per_request": per_req,
            "monthly_api_usd": api.map(|x| x.usd_per_month(s.prompt_tokens, s.output_tokens, s.requests_per_day)),
        },
        "performance": {"data_stays_on_premises": false, "deployment": "vendor API: prompts are sent to the provider"},
        "latency": {"ttft_ms": undisclosed, "note": "depends on the provider's serving stack and network; measure with `sizewise bench`"},
        "quality": {"published": m.scores.iter().map(|sc| json!({"benchmark": sc.benchmark, "value": sc.value, "unit": "%", "setting": sc.setting, "source": sc.source, "kind": "published"})).collect::<Vec<_>>()},
        "energy": {"inference_kwh_per_1m_output_tokens": undisclosed},
    })
}

/// Keys whose token counts are context lengths (written like a model card: 128k).
const WINDOW_KEYS: &[&str] = &["window_tokens", "context_tokens", "max_context_that_fits"];

fn fmt_value(v: f64, unit: &str, key: &str) -> String {
    match unit {
        "bytes" => human::bytes(v),
        "ms" => human::seconds(v / 1e3),
        "s" => human::seconds(v),
        "USD" | "USD/h" => human::usd(v),
        "tokens" if WINDOW_KEYS.contains(&key) => human::context(v),
        "FLOP" => human::si(v, "FLOP"),
        "kWh" => human::energy_kwh(v),
        "kg CO2" => human::co2_kg(v),
        "parameters" | "tokens" | "device-hours" => human::count(v),
        "fraction" => format!("{:.0}%", v * 100.0),
        _ => human::sig(v),
    }
}

/// Units that `fmt_value` already writes into the number.
fn unit_in_value(unit: &str) -> bool {
    matches!(
        unit,
        "bytes" | "ms" | "s" | "USD" | "USD/h" | "fraction" | "FLOP" | "kWh" | "kg CO2"
    )
}

/// The key as a person reads it: a quantity shown in scaled units loses the
/// unit its JSON key carries (`ttft_ms` holds milliseconds in JSON; the text
/// says "ttft: 8.49 s"; `training_kwh` becomes "training_energy: 2.68 GWh").
fn display_key(key: &str, v: &Value) -> String {
    match v.get("unit").and_then(Value::as_str) {
        Some("ms") => key.strip_suffix("_ms").unwrap_or(key).to_string(),
        Some("s") => key.strip_suffix("_s").unwrap_or(key).to_string(),
        Some("kWh") => key.replace("kwh", "energy"),
        Some("kg CO2") => key.strip_suffix("_kg").unwrap_or(key).to_string(),
        _ => key.to_string(),
    }
}

fn leaf_text(key: &str, v: &Value) -> Option<String> {
    let unit = v.get("unit").and_then(Value::as_str).unwrap_or("");
    let u = if unit_in_value(unit) { "" } else { unit };
    let spaced = |s: String| {
        if u.is_empty() { s } else { format!("{s} {u}") }
    };
    if let (Some(p10), Some(p50), Some(p90)) = (
        v.get("p10").and_then(Value::as_f64),
        v.get("p50").and_then(Value::as_f64),
        v.get("p90").and_then(Value::as_f64),
    ) {
        return Some(if (p90 - p10).abs() <= p50.abs() * 1e-9 {
            format!("{}  [estimated]", spaced(fmt_value(p50, unit, key)))
        } else {
            format!(
                "{}  (p10 {} .. p90 {})  [estimated]",
                spaced(fmt_value(p50, unit, key)),
                fmt_value(p10, unit, key),
                fmt_value(p90, unit, key)
            )
        });
    }
    match v.get("kind").and_then(Value::as_str) {
        Some("published") => {
            let val = v.get("value")?;
            let s = match val.as_f64() {
                Some(x) => fmt_value(x, unit, key),
                None => val.to_string(),
            };
            Some(format!("{}  [published]", spaced(s)))
        }
        Some("undisclosed") => Some("undisclosed".into()),
        _ => None,
    }
}

/// A plain number in the report: money where the key says USD.
fn plain_number(key: &str, x: f64) -> String {
    if key.contains("usd") {
        human::usd(x)
    } else if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        human::sig(x)
    }
}

fn walk(out: &mut String, key: &str, v: &Value, indent: usize, explain: bool) {
    let pad = " ".repeat(indent);
    if let Some(t) = leaf_text(key, v) {
        out.push_str(&format!("{pad}{}: {t}\n", display_key(key, v)));
        if let (true, Some(b)) = (
            explain,
            v.get("basis").or(v.get("source")).and_then(Value::as_str),
        ) {
            out.push_str(&format!("{pad}    basis: {b}\n"));
        }
        return;
    }
    // A figure with a unit but no band: the compute peak.
    if let (Some(x), Some(unit)) = (
        v.get("value").and_then(Value::as_f64),
        v.get("unit").and_then(Value::as_str),
    ) {
        let mut extra: Vec<&str> = Vec::new();
        if let Some(d) = v.get("dtype").and_then(Value::as_str) {
            extra.push(d);
        }
        if let Some(n) = v.get("note").and_then(Value::as_str) {
            let n = n.trim().trim_start_matches('(').trim_end_matches(')');
            if !n.is_empty() {
                extra.push(n);
            }
        }
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(" ({})", extra.join("; "))
        };
        out.push_str(&format!("{pad}{key}: {} {unit}{extra}\n", human::sig(x)));
        return;
    }
    match v {
        Value::Object(map) => {
            out.push_str(&format!("{pad}{key}:\n"));
            for (k, x) in map {
                walk(out, k, x, indent + 2, explain);
            }
        }
        Value::Array(items) => {
            if items.is_empty() {
                return;
            }
            out.push_str(&format!("{pad}{key}:\n"));
            for x in items {
                if let Some(b) = x.get("benchmark") {
                    out.push_str(&format!(
                        "{pad}  {}: {}% ({})  [published]\n",
                        b.as_str().unwrap_or(""),
                        x["value"],
                        x["setting"].as_str().unwrap_or("")
                    ));
                } else if let (Some(f), Some(val)) = (
                    x.get("field").and_then(Value::as_str),
                    x.get("value").and_then(Value::as_f64),
                ) {
                    // A third-party estimate of an undisclosed figure.
                    out.push_str(&format!(
                        "{pad}  {f}: ~{} ({})\n",
                        human::count(val),
                        x.get("kind").and_then(Value::as_str).unwrap_or("estimate")
                    ));
                    if let (true, Some(src)) = (explain, x.get("source").and_then(Value::as_str)) {
                        out.push_str(&format!("{pad}    source: {src}\n"));
                    }
                } else if let Some(s) = x.as_str() {
                    out.push_str(&format!("{pad}  {s}\n"));
                } else {
                    out.push_str(&format!("{pad}  {x}\n"));
                }
            }
        }
        Value::Null => {}
        Value::String(s) if s.is_empty() => {}
        Value::String(s) => out.push_str(&format!("{pad}{key}: {s}\n")),
        Value::Number(n) => match n.as_f64() {
            Some(x) => out.push_str(&format!("{pad}{key}: {}\n", plain_number(key, x))),
            None => out.push_str(&format!("{pad}{key}: {n}\n")),
        },
        other => out.push_str(&format!("{pad}{key}: {other}\n")),
    }
}

/// Renders an estimate report for a terminal.
pub fn render(v: &Value, explain: bool) -> String {
    let mut out = String::new();
    if let Some(map) = v.as_object() {
        for (k, x) in map {
            // The heading says the model, hardware, scenario and notes.
            if matches!(k.as_str(), "model" | "hardware" | "scenario" | "notes") {
                continue;
            }
            walk(&mut out, k, x, 0, explain);
        }
    }
    out
}

/// The precision a GGUF file type corresponds to.
pub(crate) fn precision_of_file_type(t: Option<&str>) -> Precision {
    match t.unwrap_or("") {
        "F32" | "ALL_F32" => Precision::Fp32,
        "F16" | "MOSTLY_F16" => Precision::Fp16,
        "BF16" | "MOSTLY_BF16" => Precision::Bf16,
        "Q8_0" => Precision::Q8_0,
        "Q6_K" => Precision::Q6K,
        "Q5_K_M" | "Q5_K_S" | "Q5_0" | "Q5_1" => Precision::Q5KM,
        "Q4_0" => Precision::Q4_0,
        "Q4_1" => Precision::Q4_1,
        "Q3_K_M" | "Q3_K_S" | "Q3_K_L" => Precision::Q3KM,
        "Q2_K" | "Q2_K_S" => Precision::Q2K,
        _ => Precision::Q4KM,
    }
}

/// A GGUF file's bytes by tensor type, as the estimator takes them.
pub fn typed_weights(
    w: &sizewise_catalog::import::GgufWeights,
) -> Vec<sizewise_estimate::TypedWeights> {
    w.by_type
        .iter()
        .map(|t| sizewise_estimate::TypedWeights {
            ggml_type: t.ggml_type.to_string(),
            bytes: t.bytes as f64,
            params: t.params as f64,
            repackable_shape: t.repackable_shape,
            decode: t.decode,
            rows: t.rows as f64,
        })
        .collect()
}

/// `sizewise estimate`.
pub fn estimate(catalog: &Catalog, args: EstimateArgs) -> anyhow::Result<()> {
    let mut s = args.scenario.scenario()?;
    let imported;
    let m = match &args.gguf {
        Some(path) => {
            let (model, weights) = sizewise_catalog::import::model_from_gguf(path)?;
            if s.precision.is_none() {
                s.precision = Some(precision_of_file_type(weights.file_type));
            }
            s.weight_bits = weights.bits_per_weight;
            s.weight_types = typed_weights(&weights);
            if s.engine.is_none() {
                s.engine = Some(sizewise_estimate::Engine::LlamaCpp);
            }
            imported = model;
            &imported
        }
        None => model_by_id(catalog, args.model.as_deref().unwrap_or_default())?,
    };
    if m.architecture.is_none() && args.hardware.is_some() {
        return Err(summarize(m)
            .err()
            .map_or_else(|| anyhow::anyhow!("no architecture"), Into::into));
    }
    if let Some(id) = &args.hardware {
        let h = hardware_by_id(catalog, id)?;
        if let (Some(_), Some(gib)) = (s.memory_gb, h.memory_gb) {
            anyhow::bail!(
                "{} has {gib} GiB of its own memory: --memory-gb applies only to hardware whose memory depends on the system (the `system` rows of `sizewise hardware`)\n  hint: drop --memory-gb, or describe your device in a catalog file (--catalog DIR, see docs/CATALOG.md)",
                h.id
            );
        }
    }
    let train_hw = hardware_by_id(catalog, &args.train_hardware)?;
    let p = plan(catalog, m, args.hardware.as_deref(), &s, false)?;
    let notes: Vec<String> = p.notes.iter().map(|n| n.render(Lang::En)).collect();
    let mut v = match (&p.hardware, &p.numbers, &p.summary) {
        (Some(h), Some(n), Some(a)) => {
            let train = training_numbers(m, a, train_hw, &p.scenario).map_err(|e| {
                anyhow::anyhow!(
                    "--train-hardware {}: {e}\n  hint: pick a GPU with bf16 or fp16 units, e.g. --train-hardware nvidia-h100-sxm",
                    train_hw.id
                )
            })?;
            report::estimate_json_with_training(m, a, h, &p.scenario, n, Some((train_hw, &train)))
        }
        _ => api_json(m, &s),
    };
    v["notes"] = json!(notes);
    v["feasible"] = json!(p.feasible());
    v["infeasible"] = json!(p.infeasible.iter().map(|r| r.code()).collect::<Vec<_>>());
    if args.json {
        return table::print_json(&v);
    }
    let mut head = format!("{} — ", m.name);
    match (&p.hardware, &p.numbers) {
        (Some(h), Some(n)) => {
            head.push_str(&format!(
                "{}{} at {}, {} engine, batch {}, {} prompt + {} output tokens\n",
                if p.scenario.gpus > 1 {
                    format!("{} x ", p.scenario.gpus)
                } else {
                    String::new()
                },
                h.name,
                n.deployment.precision,
                n.deployment.engine.name(),
                p.scenario.batch,
                p.scenario.prompt_tokens,
                p.scenario.output_tokens
            ));
            head.push_str(&format!(
                "training estimates on {} x {} (--train-hardware, --train-gpus)\n",
                p.scenario.train_gpus, train_hw.id
            ));
        }
        _ => head.push_str("vendor API (architecture undisclosed)\n"),
    }
    for n in &notes {
        head.push_str(&format!("note: {n}\n"));
    }
    table::print(&format!("{head}\n{}", render(&v, args.explain)))
}

/// Arguments of `sizewise fit`.
#[derive(Args)]
#[command(after_help = "Examples:
  sizewise fit llama-3.1-8b                        every device in the catalog
  sizewise fit llama-3.1-70b -H nvidia-h100-sxm -H amd-mi300x
  sizewise fit phi-3-mini --json")]
pub struct FitArgs {
    /// Model id.
    model: String,
    /// Hardware to check (repeatable) [default: every device of the catalog].
    #[arg(long = "hardware", short = 'H')]
    hardware: Vec<String>,
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Precisions tried by `fit`, best quality first.
const LADDER: &[Precision] = &[
    Precision::Bf16,
    Precision::Fp16,
    Precision::Fp8,
    Precision::Int8,
    Precision::Q8_0,
    Precision::Q6K,
    Precision::Q5KM,
    Precision::Q4KM,
    Precision::Int4,
    Precision::Q3KM,
    Precision::Q2K,
];

/// `sizewise fit`.
pub fn fit(catalog: &Catalog, args: FitArgs) -> anyhow::Result<()> {
    let base = args.scenario.scenario()?;
    let m = model_by_id(catalog, &args.model)?;
    let a = summarize(m)?;
    let devices: Vec<&sizewise_catalog::Hardware> = if args.hardware.is_empty() {
        catalog.hardware().collect()
    } else {
        args.hardware
            .iter()
            .map(|id| hardware_by_id(catalog, id))
            .collect::<Result<_, _>>()?
    };
    let mut rows = Vec::new();
    for h in devices {
        let mut options = Vec::new();
        for p in LADDER {
            let mut s = base.clone();
            s.precision = Some(*p);
            if base.precision.is_some_and(|bp| bp != *p) {
                continue;
            }
            match estimate_numbers(m, &a, h, &s) {
                Ok(n) => options.push(json!({
                    "precision": p.name(),
                    "engine": n.deployment.engine.name(),
                    "fits": n.fits,
                    "memory_bytes": n.inference_memory_bytes,
                    "max_context": n.max_context_fits,
                    "min_devices": if n.min_devices == u32::MAX { Value::Null } else { json!(n.min_devices) },
                    "decode_tokens_per_s": n.decode_tokens_per_s.p50,
                })),
                Err(e) => options.push(json!({"precision": p.name(), "fits": false, "error": e.to_string().lines().next().unwrap_or("")})),
            }
        }
        let best = options.iter().find(|o| {
            o["fits"] == true
                && o["max_context"].as_f64().unwrap_or(0.0)
                    >= (m.context_window.unwrap_or(4096).min(4096)) as f64
        });
        rows.push(json!({"hardware": h.id, "class": h.class.as_str(), "best": best.cloned(), "options": options}));
    }
    if args.json {
        return table::print_json(&json!({"model": m.id, "hardware": rows}));
    }
    let mut t = table::new(&[
        "hardware",
        "best precision that fits",
        "longest context",
        "decode tok/s (p50)",
        "at bf16/fp16",
    ]);
    for r in &rows {
        let best = &r["best"];
        let bf16 = r["options"].as_array().and_then(|o| {
            o.iter()
                .find(|x| x["precision"] == "bf16" && x.get("error").is_none())
                .or_else(|| o.iter().find(|x| x["precision"] == "fp16"))
        });
        t.add_row(vec![
            r["hardware"].as_str().unwrap_or("").to_string(),
            if best.is_null() {
                let needs_memory = r["options"].as_array().is_some_and(|o| {
                    o.iter().any(|x| {
                        x["error"]
                            .as_str()
                            .is_some_and(|e| e.contains("no fixed memory size"))
                    })
                });
                if needs_memory {
                    "memory depends on the system: pass --memory-gb N".into()
                } else {
                    "does not fit".into()
                }
            } else {
                format!(
                    "{} ({})",
                    best["precision"].as_str().unwrap_or(""),
                    best["engine"].as_str().unwrap_or("")
                )
            },
            if best.is_null() {
                String::new()
            } else {
                human::context(best["max_context"].as_f64().unwrap_or(0.0).floor())
            },
            if best.is_null() {
                String::new()
            } else {
                human::sig(best["decode_tokens_per_s"].as_f64().unwrap_or(0.0))
            },
            match bf16 {
                Some(x) if x["fits"] == true => "fits".into(),
                Some(x) => match x["min_devices"].as_u64() {
                    Some(n) if n > 1 && r["class"].as_str().is_some_and(|c| c.ends_with("gpu")) => {
                        format!("needs {n} devices")
                    }
                    _ => "no".into(),
                },
                None => "n/a".into(),
            },
        ]);
    }
    let (params, source) =
        param_count(m, Some(&a)).unwrap_or((a.params.total, ParamSource::Counted));
    let mut footer = String::new();
    if let Some(gib) = base.memory_gb {
        let applied: Vec<&str> = rows
            .iter()
            .filter_map(|r| r["hardware"].as_str())
            .filter(|id| {
                catalog
                    .hardware_by_id(id)
                    .is_ok_and(|h| h.memory_gb.is_none())
            })
            .collect();
        footer = if applied.is_empty() {
            format!(
                "\nnote: --memory-gb {gib} is ignored: every device listed has its own fixed memory."
            )
        } else {
            format!(
                "\nnote: --memory-gb {gib} (GiB) applies to {} only; the other devices have fixed memory.",
                applied.join(", ")
            )
        };
    }
    table::print(&format!(
        "{} ({} params, {}) — which hardware runs it, one device, {} prompt + {} output tokens\n{t}\nbest = the highest-quality precision whose weights and a {}-token cache fit; `sizewise estimate {} -H HW -p P` gives the details.{footer}",
        m.id,
        human::count(params),
        source.as_str(),
        base.prompt_tokens,
        base.output_tokens,
        m.context_window.unwrap_or(4096).min(4096),
        m.id
    ))
}

/// Arguments of `sizewise validate`.
#[derive(Args)]
pub struct ValidateArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `sizewise validate`: the estimator against published measurements.
pub fn validate(catalog: &Catalog, args: ValidateArgs) -> anyhow::Result<()> {
    let outcomes = validation::run(catalog).map_err(anyhow::Error::msg)?;
    let mae = validation::median_abs_error(&outcomes);
    if args.json {
        let rows: Vec<Value> = outcomes
            .iter()
            .map(|o| json!({"figure": o.row.figure, "model": o.row.model, "hardware": o.row.hardware, "unit": o.row.metric.unit(),
                "measured": o.row.measured, "p10": o.estimate.p10, "p50": o.estimate.p50, "p90": o.estimate.p90,
                "error": o.error, "in_band": o.in_band, "source": o.row.source}))
            .collect();
        return table::print_json(&json!({"rows": rows, "median_abs_error": mae}));
    }
    let mut t = table::new(&[
        "figure",
        "hardware",
        "measured",
        "estimate p50 (p10..p90)",
        "error",
        "in band",
    ]);
    for o in &outcomes {
        t.add_row(vec![
            o.row.figure.to_string(),
            o.row.hardware.to_string(),
            format!("{} {}", human::sig(o.row.measured), o.row.metric.unit()),
            format!(
                "{} ({}..{})",
                human::sig(o.estimate.p50),
                human::sig(o.estimate.p10),
                human::sig(o.estimate.p90)
            ),
            format!("{:+.1}%", o.error * 100.0),
            if o.in_band { "yes" } else { "NO" }.into(),
        ]);
    }
    table::print(&format!(
        "{t}\nmedian |error| of p50: {:.1}% over {} published measurements; {} of {} inside p10..p90. Sources: `sizewise validate --json`.",
        mae * 100.0,
        outcomes.len(),
        outcomes.iter().filter(|o| o.in_band).count(),
        outcomes.len()
    ))
}
