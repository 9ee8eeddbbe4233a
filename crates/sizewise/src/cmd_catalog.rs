//! `sizewise models` and `sizewise hardware`: the catalog, with sources.

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use sizewise_catalog::{Catalog, Category, Hardware, Model, Origin};

use crate::human;
use crate::table;

/// Arguments of `sizewise models`.
#[derive(Args)]
#[command(after_help = "Examples:
  sizewise models                    every model, LLMs and SLMs
  sizewise models --category slm     the small ones
  sizewise models show llama-3.1-8b  one model, every fact with its source
  sizewise models --json | jq '.[] | select(.open_weights) | .id'")]
pub struct ModelsArgs {
    #[command(subcommand)]
    action: Option<ModelsAction>,
    /// Only models of this category (the article's label; any case: slm, SLM).
    #[arg(long, value_enum, ignore_case = true)]
    category: Option<CategoryArg>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum ModelsAction {
    /// One model: every fact with its source and check status.
    Show {
        /// Model id (see `sizewise models`).
        #[arg(required_unless_present = "gguf")]
        id: Option<String>,
        /// Read the model from a GGUF file instead of the catalog.
        #[arg(long, conflicts_with = "id", value_name = "FILE")]
        gguf: Option<std::path::PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum CategoryArg {
    Llm,
    Slm,
}

/// Arguments of `sizewise hardware`.
#[derive(Args)]
#[command(after_help = "Examples:
  sizewise hardware                   every device
  sizewise hardware show nvidia-h100-sxm
  sizewise hardware --json")]
pub struct HardwareArgs {
    #[command(subcommand)]
    action: Option<HardwareAction>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum HardwareAction {
    /// One device: every fact with its source and check status.
    Show {
        /// Hardware id (see `sizewise hardware`).
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn origin_str(o: Option<&Origin>) -> String {
    match o {
        Some(Origin::File(p)) => p.display().to_string(),
        _ => "embedded".into(),
    }
}

/// The JSON face of a model: every catalog field, plus explicit nulls for
/// undisclosed values and one `sources` object covering prices and scores.
pub fn model_json(m: &Model, origin: Option<&Origin>) -> Value {
    let mut v = serde_json::to_value(m).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        for key in [
            "params_total",
            "params_active",
            "context_window",
            "training_tokens",
        ] {
            map.entry(key).or_insert(Value::Null);
        }
        let mut sources = serde_json::Map::new();
        for (k, s) in &m.sources {
            sources.insert(k.clone(), json!(s));
        }
        if let Some(api) = &m.api {
            sources.insert("api".into(), json!(api.source));
        }
        for s in &m.scores {
            sources.insert(format!("scores.{}", s.benchmark), json!(s.source));
        }
        map.insert("sources".into(), Value::Object(sources));
        map.insert("origin".into(), json!(origin_str(origin)));
        map.insert(
            "is_moe".into(),
            match &m.architecture {
                Some(a) => json!(a.is_moe()),
                None => Value::Null,
            },
        );
    }
    v
}

/// The JSON face of a hardware entry, with byte units spelled out.
pub fn hardware_json(h: &Hardware, origin: Option<&Origin>) -> Value {
    let mut v = serde_json::to_value(h).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert("memory_bytes".into(), json!(h.memory_bytes()));
        map.insert(
            "memory_bandwidth_bytes_per_s".into(),
            json!(h.bandwidth_bytes_per_s()),
        );
        let mut sources = serde_json::Map::new();
        for (k, s) in &h.sources {
            sources.insert(k.clone(), json!(s));
        }
        if let Some(c) = &h.cloud {
            sources.insert("cloud".into(), json!(c.source));
        }
        if let Some(p) = &h.purchase {
            sources.insert("purchase".into(), json!(p.source));
        }
        map.insert("sources".into(), Value::Object(sources));
        map.insert("origin".into(), json!(origin_str(origin)));
    }
    v
}

fn params_cell(m: &Model) -> String {
    match m.params_total {
        Some(p) => human::count(p),
        None if m.is_undisclosed("params_total") => match m.estimate("params_total") {
            Some(e) => format!(
                "undisclosed (est. ~{})",
                e.value.map(human::count).unwrap_or_default()
            ),
            None => "undisclosed".into(),
        },
        None => match sizewise_estimate::summarize(m) {
            // No published figure: the same count `estimate` and `fit` show.
            Ok(a) => format!("{} (counted)", human::count(a.params.total)),
            Err(_) => "unknown".into(),
        },
    }
}

fn active_cell(m: &Model) -> String {
    match (m.params_active, m.params_total) {
        (Some(a), Some(t)) if (a - t).abs() > t * 1e-3 => human::count(a),
        (Some(_), Some(_)) => "= total".into(),
        (Some(a), None) => human::count(a),
        _ if m.is_undisclosed("params_active") => "undisclosed".into(),
        _ => "".into(),
    }
}

/// `sizewise models`.
pub fn models(catalog: &Catalog, args: ModelsArgs) -> anyhow::Result<()> {
    if let Some(ModelsAction::Show { id, gguf, json }) = args.action {
        if let Some(path) = gguf {
            let (m, _) = sizewise_catalog::import::model_from_gguf(&path)?;
            let origin = Origin::File(path);
            if json || args.json {
                return table::print_json(&model_json(&m, Some(&origin)));
            }
            return table::print(&show_model(&m, Some(&origin)));
        }
        let m = crate::plan::model_by_id(catalog, id.as_deref().unwrap_or_default())?;
        let origin = catalog.model_origin(&m.id);
        if json || args.json {
            return table::print_json(&model_json(m, origin));
        }
        return table::print(&show_model(m, origin));
    }
    let wanted = args.category.map(|c| match c {
        CategoryArg::Llm => Category::Llm,
        CategoryArg::Slm => Category::Slm,
    });
    let list: Vec<&Model> = catalog
        .models()
        .filter(|m| wanted.is_none_or(|c| m.category == c))
        .collect();
    if args.json {
        let v: Vec<Value> = list
            .iter()
            .map(|m| model_json(m, catalog.model_origin(&m.id)))
            .collect();
        return table::print_json(&v);
    }
    let mut t = table::new(&[
        "id",
        "category",
        "params",
        "active",
        "context",
        "weights",
        "API $/1M in/out",
    ]);
    for m in &list {
        t.add_row(vec![
            m.id.clone(),
            m.category.as_str().to_string(),
            params_cell(m),
            active_cell(m),
            m.context_window.map(human::window).unwrap_or_default(),
            if m.open_weights { "open" } else { "closed" }.to_string(),
            m.api
                .as_ref()
                .map(|a| {
                    format!(
                        "{} / {}",
                        human::usd(a.input_usd_per_mtok),
                        human::usd(a.output_usd_per_mtok)
                    )
                })
                .unwrap_or_default(),
        ]);
    }
    table::print(&format!(
        "{t}\n{} models. `sizewise models show ID` gives every fact with its source; prices are as of the date shown there.",
        list.len()
    ))
}

fn fact_line(out: &mut Vec<[String; 4]>, m: &Model, field: &str, value: Option<String>) {
    let value = match value {
        Some(v) => v,
        None if m.is_undisclosed(field)
            || (field.starts_with("architecture") && m.is_undisclosed("architecture")) =>
        {
            match m.estimate(field) {
                Some(e) => format!(
                    "undisclosed (estimate: {} — {}, {})",
                    e.value
                        .map(human::count)
                        .or(e.text.clone())
                        .unwrap_or_default(),
                    e.kind,
                    e.source
                ),
                None => "undisclosed".into(),
            }
        }
        None => return,
    };
    out.push([
        field.to_string(),
        value,
        m.status_of(field)
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        m.source_of(field).unwrap_or("").to_string(),
    ]);
}

fn show_model(m: &Model, origin: Option<&Origin>) -> String {
    let mut rows: Vec<[String; 4]> = Vec::new();
    fact_line(
        &mut rows,
        m,
        "params_total",
        m.params_total.map(human::count),
    );
    fact_line(
        &mut rows,
        m,
        "params_active",
        m.params_active.map(human::count),
    );
    fact_line(
        &mut rows,
        m,
        "context_window",
        m.context_window.map(|c| match human::window(c) {
            w if w == c.to_string() => format!("{c} tokens"),
            w => format!("{c} tokens ({w})"),
        }),
    );
    fact_line(
        &mut rows,
        m,
        "max_output_tokens",
        m.max_output_tokens.map(|c| format!("{c} tokens")),
    );
    fact_line(
        &mut rows,
        m,
        "training_tokens",
        m.training_tokens.map(human::count),
    );
    fact_line(&mut rows, m, "release_date", m.release_date.clone());
    fact_line(&mut rows, m, "license", m.license.clone());
    match &m.architecture {
        Some(a) => {
            fact_line(
                &mut rows,
                m,
                "architecture.layers",
                Some(a.layers.to_string()),
            );
            fact_line(
                &mut rows,
                m,
                "architecture.hidden",
                Some(a.hidden.to_string()),
            );
            fact_line(
                &mut rows,
                m,
                "architecture.heads",
                a.heads.map(|x| x.to_string()),
            );
            fact_line(
                &mut rows,
                m,
                "architecture.kv_heads",
                a.kv_heads.map(|x| x.to_string()),
            );
            fact_line(
                &mut rows,
                m,
                "architecture.head_dim",
                Some(a.head_dim.to_string()),
            );
            fact_line(
                &mut rows,
                m,
                "architecture.ffn",
                a.ffn.map(|x| x.to_string()),
            );
            fact_line(
                &mut rows,
                m,
                "architecture.vocab",
                Some(a.vocab.to_string()),
            );
            fact_line(
                &mut rows,
                m,
                "architecture.tied_embeddings",
                Some(a.tied_embeddings.to_string()),
            );
            if let (Some(e), Some(k)) = (a.experts, a.experts_active) {
                fact_line(
                    &mut rows,
                    m,
                    "architecture.experts",
                    Some(format!("{e} experts, {k} per token")),
                );
            }
            if let Some(w) = a.sliding_window {
                let pattern = match a.full_attention_every {
                    Some(n) if n > 0 => format!(", every {n}th layer global"),
                    _ => ", all layers".into(),
                };
                fact_line(
                    &mut rows,
                    m,
                    "architecture.sliding_window",
                    Some(format!("{w} tokens{pattern}")),
                );
            }
            if let Some(p) = &a.per_layer {
                fact_line(
                    &mut rows,
                    m,
                    "architecture.per_layer",
                    Some(format!(
                        "heads {:?}, kv_heads {:?}, ffn {:?}",
                        p.heads, p.kv_heads, p.ffn
                    )),
                );
            }
        }
        None => fact_line(&mut rows, m, "architecture", None),
    }
    if let Some(api) = &m.api {
        rows.push([
            "api price".into(),
            format!(
                "{} in / {} out per 1M tokens, {} (as of {})",
                human::usd(api.input_usd_per_mtok),
                human::usd(api.output_usd_per_mtok),
                api.provider,
                api.as_of
            ),
            api.status.as_str().into(),
            api.source.clone(),
        ]);
    }
    for s in &m.scores {
        rows.push([
            format!("score {}", s.benchmark),
            format!("{} ({})", s.value, s.setting),
            s.status.as_str().into(),
            s.source.clone(),
        ]);
    }
    for e in &m.estimates {
        if m.is_undisclosed(&e.field) {
            continue; // already shown next to its field
        }
        rows.push([
            format!("estimate {}", e.field),
            e.value
                .map(human::count)
                .or(e.text.clone())
                .unwrap_or_default(),
            e.kind.clone(),
            e.source.clone(),
        ]);
    }
    let mut t = table::new(&["fact", "value", "status", "source"]);
    for r in rows {
        t.add_row(r.to_vec());
    }
    let mut s = format!(
        "{} ({}) — {} by {}, category {}{}\nweights: {}{}\n",
        m.name,
        m.id,
        m.family,
        m.developer,
        m.category.as_str(),
        if m.named_in_article {
            ", named in the article"
        } else {
            ""
        },
        if m.open_weights { "open" } else { "closed" },
        m.access
            .as_ref()
            .map(|a| format!(" ({a})"))
            .unwrap_or_default(),
    );
    s.push_str(&t.to_string());
    if let Some(n) = &m.notes {
        s.push_str(&format!("\nnotes: {n}"));
    }
    s.push_str(&format!("\nfrom: {}", origin_str(origin)));
    s
}

/// `sizewise hardware`.
pub fn hardware(catalog: &Catalog, args: HardwareArgs) -> anyhow::Result<()> {
    if let Some(HardwareAction::Show { id, json }) = args.action {
        let h = crate::plan::hardware_by_id(catalog, &id)?;
        let origin = catalog.hardware_origin(&h.id);
        if json || args.json {
            return table::print_json(&hardware_json(h, origin));
        }
        return table::print(&show_hardware(h, origin));
    }
    if args.json {
        let v: Vec<Value> = catalog
            .hardware()
            .map(|h| hardware_json(h, catalog.hardware_origin(&h.id)))
            .collect();
        return table::print_json(&v);
    }
    let mut t = table::new(&[
        "id",
        "class",
        "memory",
        "bandwidth",
        "bf16/fp16 TFLOPS",
        "TDP",
        "cloud $/h",
    ]);
    let mut n = 0;
    for h in catalog.hardware() {
        n += 1;
        t.add_row(vec![
            h.id.clone(),
            h.class.as_str().to_string(),
            h.memory_gb
                .map(|g| format!("{g} GiB{}", if h.unified_memory { " unified" } else { "" }))
                .unwrap_or_else(|| "system (--memory-gb)".into()),
            format!("{} GB/s", human::sig(h.memory_bandwidth_gbs)),
            h.bf16_tflops
                .or(h.fp16_tflops)
                .map(human::sig)
                .unwrap_or_else(|| "n/p".into()),
            h.tdp_w.map(|w| format!("{w} W")).unwrap_or_default(),
            h.cloud
                .as_ref()
                .map(|c| human::usd(c.usd_per_hour))
                .unwrap_or_default(),
        ]);
    }
    table::print(&format!(
        "{t}\n{n} devices. Compute is dense peak; n/p = not published by the vendor. `sizewise hardware show ID` gives sources."
    ))
}

fn show_hardware(h: &Hardware, origin: Option<&Origin>) -> String {
    let mut t = table::new(&["fact", "value", "status", "source"]);
    let mut row = |field: &str, value: Option<String>| {
        if let Some(v) = value {
            t.add_row(vec![
                field.to_string(),
                v,
                h.status_of(field)
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                h.source_of(field).unwrap_or("").to_string(),
            ]);
        } else if let Some(e) = h.estimate(field) {
            t.add_row(vec![
                field.to_string(),
                format!(
                    "not published (estimate: {})",
                    e.value
                        .map(human::sig)
                        .or(e.text.clone())
                        .unwrap_or_default()
                ),
                e.kind.clone(),
                e.source.clone(),
            ]);
        }
    };
    row(
        "memory_gb",
        h.memory_gb.map(|g| {
            format!(
                "{g} GiB ({} bytes){}",
                human::thousands(g * sizewise_catalog::hardware::MEMORY_GB_BYTES),
                if h.unified_memory {
                    ", unified with the CPU"
                } else {
                    ""
                }
            )
        }),
    );
    row("memory_type", h.memory_type.clone());
    row(
        "memory_bandwidth_gbs",
        Some(format!("{} GB/s", h.memory_bandwidth_gbs)),
    );
    row("fp32_tflops", h.fp32_tflops.map(|x| format!("{x} TFLOPS")));
    row("tf32_tflops", h.tf32_tflops.map(|x| format!("{x} TFLOPS")));
    row("fp16_tflops", h.fp16_tflops.map(|x| format!("{x} TFLOPS")));
    row("bf16_tflops", h.bf16_tflops.map(|x| format!("{x} TFLOPS")));
    row("fp8_tflops", h.fp8_tflops.map(|x| format!("{x} TFLOPS")));
    row("int8_tops", h.int8_tops.map(|x| format!("{x} TOPS")));
    row("tdp_w", h.tdp_w.map(|x| format!("{x} W")));
    row(
        "interconnect_gbs",
        h.interconnect_gbs.map(|x| format!("{x} GB/s")),
    );
    if let Some(c) = &h.cloud {
        t.add_row(vec![
            "cloud price".into(),
            format!(
                "{}/h, {} ({}; as of {})",
                human::usd(c.usd_per_hour),
                c.provider,
                c.basis,
                c.as_of
            ),
            c.status.as_str().into(),
            c.source.clone(),
        ]);
    }
    if let Some(p) = &h.purchase {
        t.add_row(vec![
            "purchase price".into(),
            format!("{} ({}; {})", human::usd(p.usd), p.basis, p.as_of),
            p.status.as_str().into(),
            p.source.clone(),
        ]);
    }
    for e in &h.estimates {
        if matches!(
            e.field.as_str(),
            "fp32_tflops"
                | "tf32_tflops"
                | "fp16_tflops"
                | "bf16_tflops"
                | "fp8_tflops"
                | "int8_tops"
                | "tdp_w"
        ) {
            continue;
        }
        t.add_row(vec![
            format!("estimate {}", e.field),
            e.value
                .map(human::sig)
                .or(e.text.clone())
                .unwrap_or_default(),
            e.kind.clone(),
            e.source.clone(),
        ]);
    }
    let mut s = format!(
        "{} ({}) — {}, {}{}\n",
        h.name,
        h.id,
        h.vendor,
        h.class.as_str(),
        h.description
            .as_ref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default()
    );
    s.push_str(&t.to_string());
    if let Some(n) = &h.notes {
        s.push_str(&format!("\nnotes: {n}"));
    }
    s.push_str(&format!("\nfrom: {}", origin_str(origin)));
    s
}
