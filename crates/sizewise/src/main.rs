//! sizewise: measure, compare and combine small and large language models.

mod cmd_bench;
mod cmd_bench_gguf;
mod cmd_catalog;
mod cmd_compare;
mod cmd_estimate;
mod cmd_eval;
mod cmd_probe;
mod cmd_recommend;
mod cmd_report;
mod cmd_route;
mod cmd_route_eval;
mod cmd_runs;
mod cmd_serve;
mod cmd_simulate;
mod cmd_synth;
mod cmd_tokens;
mod human;
mod i18n;
mod interrupt;
mod plan;
mod results;
mod scenario;
mod table;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sizewise_catalog::Catalog;

/// Measure, compare and combine small and large language models.
///
/// Every number says where it came from: estimated (from the model's
/// architecture and the hardware's datasheet), measured, or published (a
/// catalog fact with its source).
#[derive(Parser)]
#[command(
    name = "sizewise",
    version,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    /// Extra catalog folder (with models/*.toml and hardware/*.toml); entries
    /// with an existing id replace it. Repeatable. The user folder
    /// (~/.config/sizewise/catalog on Linux) is always read.
    #[arg(long, global = true, value_name = "DIR", env = "SIZEWISE_CATALOG")]
    catalog: Vec<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The article's comparison table in numbers: small and large models across
    /// the ten dimensions (the main job).
    Compare(cmd_compare::CompareArgs),
    /// The decision report: one self-contained HTML file with charts (and a Markdown twin),
    /// in English or Brazilian Portuguese, every number marked estimated, measured or
    /// published, with sources.
    Report(cmd_report::ReportArgs),
    /// Which model, hardware and precision (or API) meets a workload's constraints: ranked
    /// options with reasons, the rejected ones and why, and a small/large split when it helps.
    Recommend(cmd_recommend::RecommendArgs),
    /// Every dimension for one model on one device, each number with a band and its basis.
    Estimate(cmd_estimate::EstimateArgs),
    /// Which hardware runs a model, at which precision and longest context.
    Fit(cmd_estimate::FitArgs),
    /// The estimator against published measurements (error per row).
    Validate(cmd_estimate::ValidateArgs),
    /// The models of the catalog, with their sources.
    Models(cmd_catalog::ModelsArgs),
    /// The hardware of the catalog, with their sources.
    Hardware(cmd_catalog::HardwareArgs),
    /// How a text splits into tokens; count, context-window fit and input cost per model.
    Tokens(cmd_tokens::TokensArgs),
    /// Measures this machine (memory bandwidth, f32 matmul, cores, memory) and saves it as
    /// hardware `local`.
    Probe(cmd_probe::ProbeArgs),
    /// Latency and throughput of any OpenAI-compatible endpoint, under load (saved in the
    /// results store).
    Bench(cmd_bench::BenchArgs),
    /// An OpenAI-compatible server that answers with the timing the estimator predicts.
    Simulate(cmd_simulate::SimulateArgs),
    /// The hybrid gateway: one OpenAI-compatible endpoint that sends each request to a small
    /// or a large model by readable rules, with privacy, budgets, fallbacks and a ledger.
    Route(cmd_route::RouteArgs),
    /// An OpenAI-compatible server over a local GGUF model (llama.cpp, in process).
    Serve(cmd_serve::ServeArgs),
    /// Response quality on a task suite (accuracy with its uncertainty, latency and cost per
    /// answer), for a local GGUF model or an OpenAI-compatible endpoint.
    Eval(cmd_eval::EvalArgs),
    /// The measurement runs kept in the results store: list, show, export, delete.
    Runs(cmd_runs::RunsArgs),
    /// Writes a GGUF file with a catalog model's exact architecture and random weights, so
    /// llama.cpp can measure its speed and memory here (its text is meaningless).
    Synth(cmd_synth::SynthArgs),
}

fn user_catalog_dir() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("sizewise").join("catalog"))
}

fn load_catalog(extra: &[PathBuf]) -> anyhow::Result<Catalog> {
    let mut dirs: Vec<PathBuf> = user_catalog_dir().into_iter().collect();
    for d in extra {
        anyhow::ensure!(
            d.is_dir(),
            "catalog folder {} does not exist\n  hint: --catalog takes a folder holding models/*.toml and hardware/*.toml",
            d.display()
        );
        dirs.push(d.clone());
    }
    Catalog::load(&dirs).context("loading the catalog")
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let catalog = load_catalog(&cli.catalog)?;
    match cli.command {
        Command::Compare(a) => cmd_compare::compare(&catalog, a),
        Command::Report(a) => cmd_report::report(&catalog, a),
        Command::Recommend(a) => cmd_recommend::recommend(&catalog, a),
        Command::Estimate(a) => cmd_estimate::estimate(&catalog, a),
        Command::Fit(a) => cmd_estimate::fit(&catalog, a),
        Command::Validate(a) => cmd_estimate::validate(&catalog, a),
        Command::Models(a) => cmd_catalog::models(&catalog, a),
        Command::Hardware(a) => cmd_catalog::hardware(&catalog, a),
        Command::Tokens(a) => cmd_tokens::tokens(&catalog, a),
        Command::Probe(a) => cmd_probe::probe(a),
        Command::Bench(a) if a.gguf.is_some() => cmd_bench_gguf::bench_gguf(&catalog, a),
        Command::Bench(a) => cmd_bench::bench(a),
        Command::Simulate(a) => cmd_simulate::simulate(&catalog, a),
        Command::Route(a) => cmd_route::route(&catalog, a),
        Command::Serve(a) => cmd_serve::serve(a),
        Command::Eval(a) => cmd_eval::eval(&catalog, a),
        Command::Runs(a) => cmd_runs::runs(a),
        Command::Synth(a) => cmd_synth::synth(&catalog, a),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Broken pipes (`sizewise models | head`) are not errors worth a message.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            let mut msg = format!("error: {e}");
            for cause in e.chain().skip(1) {
                msg.push_str(&format!("\n  caused by: {cause}"));
            }
            eprintln!("{msg}");
            ExitCode::from(2)
        }
    }
}
