//! `sizewise probe`: measures this machine and saves it as hardware `local`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use sizewise_probe::{LOCAL_ID, ProbeOptions, ProbeResult, SystemInfo, hardware_toml};
use sizewise_store::{RunKind, RunStatus};

use crate::human;
use crate::results::StoreArgs;
use crate::table;

/// Arguments of `sizewise probe`.
#[derive(Args)]
#[command(after_help = "Examples:
  sizewise probe                      (about 6 s; saves hardware `local`)
  sizewise probe --seconds 20 --json
  sizewise probe --no-save --threads 1
Then: sizewise estimate smollm2-135m --hardware local
Close other programs first: a busy machine gives low figures (the probe says so).")]
pub struct ProbeArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Time for the whole probe, seconds (longer budgets use larger arrays and more
    /// repetitions).
    #[arg(long, default_value_t = 6.0, value_name = "S")]
    seconds: f64,
    /// Threads for the all-core measurements [default: every logical core].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    threads: Option<u32>,
    /// Measure only: do not save hardware `local` nor record the run.
    #[arg(long)]
    no_save: bool,
    #[command(flatten)]
    store: StoreArgs,
}

/// Where the probe's results went.
struct Saved {
    hardware_file: PathBuf,
    store: PathBuf,
    run_id: String,
}

fn progress_bar() -> ProgressBar {
    let pb = ProgressBar::new(100);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} probe [{bar:30}] {percent:>3}% {elapsed_precise} {wide_msg:.dim}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// Writes `text` as `<dir>/hardware/local.toml`, after checking that the catalog
/// loader accepts it.
fn write_hardware(dir: &Path, text: &str) -> anyhow::Result<PathBuf> {
    let folder = dir.join("hardware");
    let path = folder.join(format!("{LOCAL_ID}.toml"));
    sizewise_catalog::load::parse_hardware(&path, text)
        .context("the measured hardware entry does not load (please report this)")?;
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("creating the catalog folder {}", folder.display()))?;
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Runs `sizewise probe`.
pub fn probe(args: ProbeArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 3600.0,
        "--seconds must be between 0 and 3600 (got {})",
        args.seconds
    );
    let opts = ProbeOptions {
        budget: Duration::from_secs_f64(args.seconds),
        threads: args
            .threads
            .map_or_else(|| ProbeOptions::default().threads, |t| t as usize),
        ..ProbeOptions::default()
    };
    // Everything that could refuse the save is checked before measuring.
    let catalog_dir = if args.no_save {
        None
    } else {
        Some(crate::user_catalog_dir().context(
            "finding the user catalog folder (no config folder on this system)\n  hint: pass --no-save to measure only",
        )?)
    };
    let store = if args.no_save {
        None
    } else {
        Some(args.store.open()?)
    };
    let target = SystemInfo::read().hostname;
    let params = json!({"seconds": args.seconds, "threads": opts.threads});
    // The run is recorded before measuring, so its start time is the real one; a
    // probe that fails leaves it marked incomplete.
    let run = match &store {
        Some(s) => Some(
            s.begin(RunKind::Probe, &target, &params, env!("CARGO_PKG_VERSION"))
                .context("saving the run")?,
        ),
        None => None,
    };

    let pb = progress_bar();
    let result = sizewise_probe::probe(&opts, &mut |step, done| {
        pb.set_message(step.to_string());
        pb.set_position((done * 100.0).round() as u64);
    });
    pb.finish_and_clear();
    let result = result.context("probing this machine")?;

    let mut saved = None;
    if let (Some(dir), Some(run)) = (catalog_dir, run) {
        let text = hardware_toml(&result)?;
        let hardware_file = write_hardware(&dir, &text)?;
        let mut summary = serde_json::to_value(&result)?;
        if let Value::Object(m) = &mut summary {
            m.insert(
                "hardware_file".into(),
                json!(hardware_file.display().to_string()),
            );
        }
        let store_path = run.store().path().to_path_buf();
        let id = run
            .finish(RunStatus::Complete, Some(&summary))
            .context("saving the run")?;
        saved = Some(Saved {
            hardware_file,
            store: store_path,
            run_id: id.to_string(),
        });
    }

    if args.json {
        let mut v = serde_json::to_value(&result)?;
        if let Value::Object(m) = &mut v {
            m.insert(
                "saved".into(),
                match &saved {
                    Some(s) => json!({
                        "hardware_id": LOCAL_ID,
                        "hardware_file": s.hardware_file.display().to_string(),
                        "store": s.store.display().to_string(),
                        "run_id": s.run_id,
                    }),
                    None => Value::Null,
                },
            );
        }
        table::print_json(&v)?;
    } else {
        print_text(&result, saved.as_ref())?;
    }
    if let Some(why) = &result.busy_reason {
        eprintln!(
            "warning: the machine was busy ({why}); the figures may be low.\n  hint: close other programs and run `sizewise probe` again"
        );
    }
    Ok(())
}

fn gbs(bytes_per_s: f64) -> String {
    format!("{} GB/s", human::sig(bytes_per_s / 1e9))
}

fn print_text(r: &ProbeResult, saved: Option<&Saved>) -> anyhow::Result<()> {
    let bw = &r.memory_bandwidth;
    let mm = &r.matmul;
    let load = |l: Option<sizewise_probe::LoadAverage>| {
        l.map_or("unknown".to_string(), |l| {
            format!("{:.2} {:.2} {:.2}", l.one, l.five, l.fifteen)
        })
    };
    let share = |s: Option<f64>| s.map_or("unknown".to_string(), |s| format!("{:.0}%", s * 100.0));
    let mut t = table::new(&["measured", "value", "how"]);
    let array = human::bytes(bw.array_bytes as f64);
    t.add_row(vec![
        format!("memory bandwidth, {} threads", bw.all_cores.threads),
        gbs(bw.all_cores.read_bytes_per_s),
        format!(
            "read-sum over {array} (copy {}, triad {})",
            gbs(bw.all_cores.copy_bytes_per_s),
            gbs(bw.all_cores.triad_bytes_per_s)
        ),
    ]);
    t.add_row(vec![
        "memory bandwidth, 1 thread".to_string(),
        gbs(bw.one_core.read_bytes_per_s),
        format!(
            "read-sum (copy {}, triad {})",
            gbs(bw.one_core.copy_bytes_per_s),
            gbs(bw.one_core.triad_bytes_per_s)
        ),
    ]);
    for f in [&mm.multi_thread, &mm.single_thread] {
        let who = if f.threads == 1 {
            "1 thread".to_string()
        } else {
            format!("{} threads", f.threads)
        };
        t.add_row(vec![
            format!("f32 matmul, {who}"),
            human::si(f.flops_per_s, "FLOP/s"),
            format!(
                "{n}x{n} GEMM, {}, best of {}",
                mm.kernel,
                f.repetitions,
                n = mm.n
            ),
        ]);
    }
    let s = &r.system;
    t.add_row(vec![
        "logical cores".to_string(),
        s.logical_cores.to_string(),
        format!("{} ({}, {}/{})", s.cpu_model, s.cpu_vendor, s.os, s.arch),
    ]);
    let mem = |b: Option<u64>| b.map_or("unknown".to_string(), |b| human::bytes(b as f64));
    t.add_row(vec![
        "memory".to_string(),
        mem(s.memory_total_bytes),
        format!("{} available", mem(s.memory_available_bytes)),
    ]);
    t.add_row(vec![
        "load average".to_string(),
        load(r.load_before),
        format!("1, 5, 15 min, before; after: {}", load(r.load_after)),
    ]);
    t.add_row(vec![
        "other processes' CPU".to_string(),
        share(r.others_cpu_share_during),
        format!(
            "share of all CPU time during the probe; just before: {}",
            share(r.others_cpu_share_before)
        ),
    ]);
    t.add_row(vec![
        "measured at".to_string(),
        r.measured_at.clone(),
        format!(
            "in {}, sizewise {}",
            human::seconds(r.duration_s),
            r.tool_version
        ),
    ]);
    table::print(&t.to_string())?;
    match saved {
        Some(s) => {
            table::print(&format!(
                "saved as hardware `{LOCAL_ID}` in {}\nrun {} saved in {} (sizewise runs list)\nnext: sizewise estimate smollm2-135m --hardware {LOCAL_ID}",
                s.hardware_file.display(),
                s.run_id,
                s.store.display()
            ))?;
        }
        None => table::print("not saved (--no-save)")?,
    }
    Ok(())
}
