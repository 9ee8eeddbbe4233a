//! `sizewise runs list|show|export|delete`: the measurement runs kept in the results store.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use comfy_table::Cell;
use serde_json::Value;
use sizewise_store::{ExportFormat, Run, RunId, RunInfo, RunKind, Store};

use crate::results::StoreArgs;
use crate::table;

/// Flags of `sizewise runs`.
#[derive(Args, Debug)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub command: Option<RunsCommand>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// What to do with the runs.
#[derive(Subcommand, Debug)]
pub enum RunsCommand {
    /// Runs, newest first (the default).
    List(ListArgs),
    /// One run: what it measured, with which parameters, and its summary.
    Show(ShowArgs),
    /// One run with its per-request rows, as JSON or CSV.
    Export(ExportArgs),
    /// Removes a run and its rows.
    Delete(DeleteArgs),
}

/// Flags of `runs list`.
#[derive(Args, Debug, Default)]
pub struct ListArgs {
    /// Only runs of this kind: bench, probe, engine-bench, eval, calibration.
    #[arg(long)]
    pub kind: Option<String>,
    /// At most this many runs.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Every run, whatever --limit says.
    #[arg(long)]
    pub all: bool,
    /// An array of run objects (with `id` and `kind`).
    #[arg(long)]
    pub json: bool,
}

/// Flags of `runs show`.
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The run id (`sizewise runs list` shows them), or `latest`.
    pub id: String,
    /// The run as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Export formats.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunsFormat {
    /// {"run": {...}, "rows": [...]}.
    Json,
    /// One line per row, with a header.
    Csv,
}

/// Flags of `runs export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The run id, or `latest`.
    pub id: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunsFormat::Json)]
    pub format: RunsFormat,
    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Flags of `runs delete`.
#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// The run id.
    pub id: String,
}

fn resolve_id(store: &Store, id: &str) -> anyhow::Result<RunId> {
    if id.trim().eq_ignore_ascii_case("latest") {
        return store
            .list_runs(None, Some(1))?
            .first()
            .map(|r| r.id)
            .context("the results store has no runs yet\n  hint: sizewise bench URL --model NAME");
    }
    let id: RunId = id.parse()?;
    if !store.exists(id)? {
        bail!(
            "no run {id} in {}\n  hint: sizewise runs list shows the ids",
            store.path().display()
        );
    }
    Ok(id)
}

/// Runs `sizewise runs`.
pub fn runs(args: RunsArgs) -> anyhow::Result<()> {
    let store = args.store.open()?;
    match args.command.unwrap_or(RunsCommand::List(ListArgs {
        limit: 20,
        ..ListArgs::default()
    })) {
        RunsCommand::List(a) => list(&store, &a),
        RunsCommand::Show(a) => show(&store, &a),
        RunsCommand::Export(a) => export(&store, &a),
        RunsCommand::Delete(a) => {
            let id = resolve_id(&store, &a.id)?;
            store.delete_run(id)?;
            table::print(&format!("deleted run {id}"))
        }
    }
}

fn list(store: &Store, a: &ListArgs) -> anyhow::Result<()> {
    let kind: Option<RunKind> = a.kind.as_deref().map(str::parse).transpose()?;
    let limit = (!a.all).then_some(a.limit);
    let runs = store.list_runs(kind, limit)?;
    if a.json {
        return table::print_json(&runs);
    }
    if runs.is_empty() {
        return table::print(&format!(
            "no runs in {} yet; sizewise bench URL --model NAME makes one",
            store.path().display()
        ));
    }
    let mut t = table::new(&[
        "id",
        "kind",
        "status",
        "started (UTC)",
        "target",
        "rows",
        "summary",
    ]);
    for r in &runs {
        let summary = store
            .get_run(r.id)?
            .map(|run| one_line_summary(&run))
            .unwrap_or_default();
        t.add_row(vec![
            Cell::new(r.id),
            Cell::new(r.kind),
            Cell::new(r.status),
            Cell::new(short_time(r)),
            Cell::new(&r.target),
            Cell::new(r.row_count),
            Cell::new(summary),
        ]);
    }
    table::print(&t.to_string())?;
    table::print(&format!("store: {}", store.path().display()))
}

fn short_time(r: &RunInfo) -> String {
    // 2026-05-01T12:00:00.123Z -> 2026-05-01 12:00:00
    r.started_at
        .get(..19)
        .map(|s| s.replace('T', " "))
        .unwrap_or_else(|| r.started_at.clone())
}

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_f64()
}

/// The few numbers that tell runs apart in a list.
fn one_line_summary(run: &Run) -> String {
    let Some(s) = &run.summary else {
        return String::new();
    };
    match run.info.kind {
        RunKind::Bench => {
            let model = s.get("model").and_then(Value::as_str).unwrap_or("?");
            let load = s.get("load");
            let load = match (
                load.and_then(|l| l.get("concurrency"))
                    .and_then(Value::as_u64),
                load.and_then(|l| l.pointer("/rate/per_s"))
                    .and_then(Value::as_f64),
            ) {
                (Some(c), _) => format!(" c={c}"),
                (None, Some(r)) => format!(" {r}/s"),
                _ => String::new(),
            };
            let errors: u64 = s
                .get("errors")
                .and_then(Value::as_object)
                .map(|m| m.values().filter_map(Value::as_u64).sum())
                .unwrap_or(0);
            let errors = if errors > 0 {
                format!(", {errors} errors")
            } else {
                String::new()
            };
            let f = |p: &[&str]| num(s, p).map_or("-".into(), |v| format!("{v:.1}"));
            format!(
                "{model}{load}: ttft p50 {} ms, tpot p50 {} ms, {} req/s{errors}",
                f(&["ttft_ms", "p50"]),
                f(&["tpot_ms", "p50"]),
                num(s, &["requests_per_s"]).map_or("-".into(), |v| format!("{v:.2}")),
            )
        }
        _ => String::new(),
    }
}

fn show(store: &Store, a: &ShowArgs) -> anyhow::Result<()> {
    let id = resolve_id(store, &a.id)?;
    let run = store
        .get_run(id)?
        .context("the run vanished while reading it")?;
    if a.json {
        return table::print_json(&run);
    }
    let i = &run.info;
    let mut t = table::new(&["field", "value"]);
    let finished = i.finished_at.clone().unwrap_or_else(|| "-".into());
    let fields: Vec<(&str, String)> = vec![
        ("id", i.id.to_string()),
        ("kind", i.kind.to_string()),
        ("status", i.status.to_string()),
        ("target", i.target.clone()),
        ("started", i.started_at.clone()),
        ("finished", finished),
        ("sizewise", i.tool_version.clone()),
        ("host", i.host.clone().unwrap_or_else(|| "-".into())),
        ("rows", i.row_count.to_string()),
    ];
    for (k, v) in fields {
        t.add_row(vec![Cell::new(k), Cell::new(v)]);
    }
    if let Value::Object(p) = &run.params {
        for (k, v) in p {
            if !v.is_null() {
                t.add_row(vec![Cell::new(format!("param {k}")), Cell::new(compact(v))]);
            }
        }
    }
    table::print(&t.to_string())?;
    if let Some(s) = &run.summary {
        if run.info.kind == RunKind::Bench {
            table::print(&bench_summary_table(s))?;
        } else {
            table::print(&serde_json::to_string_pretty(s)?)?;
        }
    }
    table::print(&format!(
        "per-request rows: sizewise runs export {id} --format csv"
    ))
}

fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn bench_summary_table(s: &Value) -> String {
    let mut t = table::new(&["metric", "p50", "p90", "p99", "mean", "n"]);
    let f = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.2}"));
    for m in [
        "ttft_ms",
        "ttfb_ms",
        "tpot_ms",
        "itl_ms",
        "e2e_ms",
        "output_tokens_per_s_per_request",
    ] {
        let Some(st) = s.get(m) else { continue };
        t.add_row(vec![
            Cell::new(m),
            Cell::new(f(num(st, &["p50"]))),
            Cell::new(f(num(st, &["p90"]))),
            Cell::new(f(num(st, &["p99"]))),
            Cell::new(f(num(st, &["mean"]))),
            Cell::new(num(st, &["n"]).map_or("-".into(), |n| format!("{n:.0}"))),
        ]);
    }
    let errors = s
        .get("errors")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "none".into());
    format!(
        "{t}\n{} completed of {} sent; errors: {errors}; {:.2} requests/s, {:.1} output tokens/s",
        num(s, &["completed"]).unwrap_or(0.0),
        num(s, &["sent"]).unwrap_or(0.0),
        num(s, &["requests_per_s"]).unwrap_or(0.0),
        num(s, &["output_tokens_per_s"]).unwrap_or(0.0),
    )
}

fn export(store: &Store, a: &ExportArgs) -> anyhow::Result<()> {
    let id = resolve_id(store, &a.id)?;
    let format = match a.format {
        RunsFormat::Json => ExportFormat::Json,
        RunsFormat::Csv => ExportFormat::Csv,
    };
    match &a.output {
        Some(path) => {
            let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
            store.export(id, format, f)?;
            eprintln!("run {id} written to {}", path.display());
        }
        None => {
            let mut out = std::io::stdout().lock();
            store.export(id, format, &mut out)?;
            if a.format == RunsFormat::Json {
                writeln!(out)?;
            }
        }
    }
    Ok(())
}
