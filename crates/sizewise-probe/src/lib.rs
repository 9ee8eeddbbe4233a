//! Measures this machine for sizewise: memory bandwidth on all cores and on one,
//! f32 matmul throughput on one thread and on all, logical cores, memory, and
//! whether the machine was busy while it measured.
//!
//! The result turns into a catalog hardware entry with id `local`
//! ([`hardware_toml`]), which the estimator then uses like any other device.
//!
//! ```no_run
//! let opts = sizewise_probe::ProbeOptions::default();
//! let r = sizewise_probe::probe(&opts, &mut |_step, _done| {}).unwrap();
//! println!("{:.1} GB/s", r.memory_bandwidth.all_cores.read_bytes_per_s / 1e9);
//! let toml = sizewise_probe::hardware_toml(&r).unwrap();
//! # let _ = toml;
//! ```

pub mod bandwidth;
mod catalog;
pub mod matmul;
pub mod system;

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use catalog::{LOCAL_ID, hardware_entry, hardware_toml, round4};
pub use system::{LoadAverage, SystemInfo};

use bandwidth::{Arrays, Kernel};
use matmul::Gemm;
use system::CpuTimes;

/// What went wrong while probing.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The test arrays could not be allocated.
    #[error(
        "could not allocate {bytes} bytes for the bandwidth arrays\n  hint: close other programs or pass a shorter --seconds (smaller arrays)"
    )]
    Alloc {
        /// Bytes asked for.
        bytes: u64,
    },
    /// An argument out of range.
    #[error("{0}")]
    BadInput(String),
    /// The hardware entry could not be written as TOML.
    #[error("writing the hardware entry as TOML: {0}")]
    Toml(#[from] toml::ser::Error),
}

/// How to probe.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeOptions {
    /// Time for the whole probe (each measurement still runs at least once).
    pub budget: Duration,
    /// Threads for the all-core measurements (default: every logical core).
    pub threads: usize,
    /// Bytes of each of the three bandwidth arrays [default: 256 MiB for a budget of
    /// 3 s or more, less for shorter budgets or little free memory].
    pub array_bytes: Option<u64>,
    /// Matrix size of the GEMM [default: the largest of 128..1024 that the budget allows].
    pub matmul_n: Option<usize>,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            budget: Duration::from_secs(6),
            threads: system::logical_cores(),
            array_bytes: None,
            matmul_n: None,
        }
    }
}

/// Memory bandwidth on a number of threads, bytes per second (best repetition).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BandwidthFigures {
    /// Threads that ran the kernels.
    pub threads: usize,
    /// Sum over an array (reads only).
    pub read_bytes_per_s: f64,
    /// `b = a` (read + write).
    pub copy_bytes_per_s: f64,
    /// `a = b + s c` (two reads, one write).
    pub triad_bytes_per_s: f64,
    /// Repetitions run, all three kernels together.
    pub repetitions: usize,
}

/// The memory bandwidth measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bandwidth {
    /// Bytes of each of the three f64 arrays.
    pub array_bytes: u64,
    /// On all the probe's threads.
    pub all_cores: BandwidthFigures,
    /// On one thread.
    pub one_core: BandwidthFigures,
}

/// f32 matmul throughput on a number of threads (best repetition).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatmulFigures {
    /// Threads that ran the multiply.
    pub threads: usize,
    /// 2 n^3 / best time.
    pub flops_per_s: f64,
    /// The best time of one multiply, seconds.
    pub best_s: f64,
    /// Multiplies run.
    pub repetitions: usize,
}

/// The f32 matmul measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matmul {
    /// Matrix size (n x n times n x n).
    pub n: usize,
    /// Instruction set of the kernel (`avx2+fma`, `neon+fma`, `sse2`...).
    pub kernel: String,
    /// On one thread.
    pub single_thread: MatmulFigures,
    /// On all the probe's threads.
    pub multi_thread: MatmulFigures,
}

/// Everything one probe measured, and when and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeResult {
    /// Version of sizewise that measured.
    pub tool_version: String,
    /// When the probe started, UTC (RFC 3339).
    pub measured_at: String,
    /// How long the probe took, seconds.
    pub duration_s: f64,
    /// Which kernels, sizes, threads and repetitions, in words.
    pub method: String,
    /// The machine.
    pub system: SystemInfo,
    /// Threads of the all-core measurements.
    pub threads: usize,
    /// Load averages just before the probe.
    pub load_before: Option<LoadAverage>,
    /// Load averages just after.
    pub load_after: Option<LoadAverage>,
    /// Share (0..1) of all CPUs' time that other processes used in a short window
    /// before the probe.
    pub others_cpu_share_before: Option<f64>,
    /// Share (0..1) of all CPUs' time that other processes used during the probe.
    pub others_cpu_share_during: Option<f64>,
    /// True when other work was competing for the machine: the figures may be low.
    pub busy: bool,
    /// Why the machine counts as busy.
    pub busy_reason: Option<String>,
    /// The headline memory bandwidth: all-core read, bytes/s (what the estimator uses).
    pub memory_bandwidth_bytes_per_s: f64,
    /// The headline f32 matmul throughput: all threads, FLOP/s (what the estimator uses).
    pub matmul_f32_flops_per_s: f64,
    /// Memory bandwidth.
    pub memory_bandwidth: Bandwidth,
    /// f32 matmul throughput.
    pub matmul: Matmul,
}

/// Busy when the 1-minute load average exceeds this share of the logical cores.
const BUSY_LOAD_PER_CORE: f64 = 0.5;
/// Busy when other processes use more than this share of all CPUs' time.
const BUSY_OTHERS_SHARE: f64 = 0.25;

/// Runs `f` at least once and again until `deadline` (at most `max` times); returns
/// the best time in seconds and the number of runs.
fn best_of(deadline: Instant, max: usize, mut f: impl FnMut()) -> (f64, usize) {
    let mut best = f64::INFINITY;
    let mut reps = 0;
    loop {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64().max(1e-9));
        reps += 1;
        if reps >= max || Instant::now() >= deadline {
            return (best, reps);
        }
    }
}

/// Bytes of each bandwidth array for a budget and the memory available.
fn array_bytes(budget: Duration, available: Option<u64>) -> u64 {
    const MIB: u64 = 1 << 20;
    // 256 MiB per array (768 MiB in all) from 3 s of budget, down to 32 MiB.
    let by_budget = ((budget.as_secs_f64() * 86.0) as u64 * MIB).clamp(32 * MIB, 256 * MIB);
    let by_memory = available.map_or(u64::MAX, |a| a / 8);
    by_budget.min(by_memory).max(8 * MIB)
}

fn bandwidth_figures(
    arrays: &mut Arrays,
    threads: usize,
    share: Duration,
) -> (BandwidthFigures, String) {
    let mut rates = [0.0f64; 3];
    let mut reps = Vec::new();
    let mut total = 0;
    for (i, k) in Kernel::ALL.into_iter().enumerate() {
        let mut bytes = 0.0;
        let (best, n) = best_of(Instant::now() + share, 50, || {
            bytes = arrays.run(k, threads)
        });
        rates[i] = bytes / best;
        total += n;
        reps.push(format!("{} {n}", k.name()));
    }
    let figures = BandwidthFigures {
        threads,
        read_bytes_per_s: rates[0],
        copy_bytes_per_s: rates[1],
        triad_bytes_per_s: rates[2],
        repetitions: total,
    };
    (figures, reps.join(", "))
}

fn matmul_figures(
    gemm: &Gemm,
    c: &mut [f32],
    threads: usize,
    share: Duration,
) -> Result<MatmulFigures, ProbeError> {
    let mut err = None;
    let (best, reps) = best_of(Instant::now() + share, 200, || {
        if let Err(e) = gemm.multiply(c, threads) {
            err = Some(e);
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    Ok(MatmulFigures {
        threads,
        flops_per_s: gemm.flops() / best,
        best_s: best,
        repetitions: reps,
    })
}

/// A deterministic n x n matrix of small values.
fn matrix(n: usize, seed: u32) -> Vec<f32> {
    let mut x = seed;
    (0..n * n)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 9) as f32 / (1u32 << 23) as f32 - 0.5
        })
        .collect()
}

/// The largest matrix size whose single-thread multiply fits about three times in
/// `share`, given a measured rate in FLOP/s.
fn pick_n(rate: f64, share: Duration) -> usize {
    let mut n = 128;
    for m in [256usize, 512, 1024] {
        if 2.0 * (m as f64).powi(3) / rate.max(1.0) <= share.as_secs_f64() / 3.0 {
            n = m;
        }
    }
    n
}

/// Measures this machine within `opts.budget`. `progress` hears each step's name and
/// the share of the probe done (0..1).
pub fn probe(
    opts: &ProbeOptions,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<ProbeResult, ProbeError> {
    if opts.threads == 0 {
        return Err(ProbeError::BadInput(
            "--threads must be at least 1".to_string(),
        ));
    }
    let threads = opts.threads;
    let started = Instant::now();
    let measured_at = system::now_rfc3339();
    let budget = opts.budget.max(Duration::from_millis(100));
    let sys = SystemInfo::read();

    // Is anything else running? Load average, then a short look at CPU time.
    progress("checking load", 0.0);
    let load_before = system::load_average();
    let window = budget
        .mul_f64(0.04)
        .clamp(Duration::from_millis(50), Duration::from_millis(250));
    let t0 = CpuTimes::now();
    std::thread::sleep(window);
    let t1 = CpuTimes::now();
    let others_before = t0.zip(t1).and_then(|(a, b)| a.others_share(&b));

    // Memory bandwidth: about half of the budget, six measurements.
    progress("allocating", 0.03);
    let bytes = opts.array_bytes.unwrap_or_else(|| {
        array_bytes(
            budget,
            sys.memory_available_bytes.or(sys.memory_total_bytes),
        )
    });
    let len = (bytes / 8).max(1) as usize;
    let mut arrays = Arrays::new(len, threads)?;
    let left = budget.saturating_sub(started.elapsed());
    let share = left.mul_f64(0.5 / 6.0);
    progress("memory bandwidth, all cores", 0.1);
    let (all, all_reps) = bandwidth_figures(&mut arrays, threads, share);
    progress("memory bandwidth, one core", 0.3);
    let (one, one_reps) = bandwidth_figures(&mut arrays, 1, share);
    let array_bytes = arrays.bytes_per_array();
    drop(arrays);

    // f32 matmul: the rest of the budget; a small multiply sizes the real one.
    progress("f32 matmul, one thread", 0.5);
    let left = budget.saturating_sub(started.elapsed());
    let n = match opts.matmul_n {
        Some(n) => n.max(1),
        None => {
            let g = Gemm::new(&matrix(128, 1), &matrix(128, 2), 128)?;
            let mut c = vec![0.0f32; 128 * 128];
            let t = Instant::now();
            g.multiply(&mut c, 1)?;
            pick_n(
                g.flops() / t.elapsed().as_secs_f64().max(1e-9),
                left.mul_f64(0.4),
            )
        }
    };
    let gemm = Gemm::new(&matrix(n, 1), &matrix(n, 2), n)?;
    let mut c = vec![0.0f32; n * n];
    let single = matmul_figures(&gemm, &mut c, 1, left.mul_f64(0.4))?;
    progress("f32 matmul, all cores", 0.75);
    let left = budget.saturating_sub(started.elapsed());
    let multi = matmul_figures(&gemm, &mut c, threads, left)?;
    progress("done", 1.0);

    let t2 = CpuTimes::now();
    let others_during = t1.zip(t2).and_then(|(a, b)| a.others_share(&b));
    let load_after = system::load_average();

    let mut reasons = Vec::new();
    if let Some(l) = load_before
        && l.one > BUSY_LOAD_PER_CORE * sys.logical_cores as f64
    {
        reasons.push(format!(
            "1-minute load average {:.2} before the probe, above half of the {} logical cores",
            l.one, sys.logical_cores
        ));
    }
    if let Some(s) = others_before.filter(|s| *s > BUSY_OTHERS_SHARE) {
        reasons.push(format!(
            "other processes used {:.0}% of the CPU time just before the probe",
            s * 100.0
        ));
    }
    if let Some(s) = others_during.filter(|s| *s > BUSY_OTHERS_SHARE) {
        reasons.push(format!(
            "other processes used {:.0}% of the CPU time during the probe",
            s * 100.0
        ));
    }
    if threads > sys.logical_cores {
        reasons.push(format!(
            "{threads} threads on {} logical cores share them",
            sys.logical_cores
        ));
    }

    const MIB: f64 = 1024.0 * 1024.0;
    let method = format!(
        "memory bandwidth: STREAM-like read-sum, copy and triad over three {:.0} MiB f64 arrays \
         (bytes counted as STREAM does), best of repetitions on {threads} threads ({all_reps}) \
         and on 1 thread ({one_reps}); f32 matmul: packed, cache-blocked {}x{} GEMM \
         ({} kernel, {}x{} register tile), FLOP = 2n^3, best of {} multiplies on 1 thread and {} \
         on {threads} threads; budget {:.1} s",
        array_bytes as f64 / MIB,
        n,
        n,
        matmul::kernel_name(),
        matmul::MR,
        matmul::NR,
        single.repetitions,
        multi.repetitions,
        budget.as_secs_f64(),
    );

    Ok(ProbeResult {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        measured_at,
        duration_s: started.elapsed().as_secs_f64(),
        method,
        threads,
        load_before,
        load_after,
        others_cpu_share_before: others_before,
        others_cpu_share_during: others_during,
        busy: !reasons.is_empty(),
        busy_reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
        memory_bandwidth_bytes_per_s: all.read_bytes_per_s,
        matmul_f32_flops_per_s: multi.flops_per_s,
        memory_bandwidth: Bandwidth {
            array_bytes,
            all_cores: all,
            one_core: one,
        },
        matmul: Matmul {
            n,
            kernel: matmul::kernel_name().to_string(),
            single_thread: single,
            multi_thread: multi,
        },
        system: sys,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn a_tiny_probe_gives_positive_finite_figures() {
        let opts = ProbeOptions {
            budget: Duration::from_millis(200),
            threads: 2,
            array_bytes: Some(1 << 20),
            matmul_n: Some(48),
        };
        let mut steps = Vec::new();
        let r = probe(&opts, &mut |s, f| steps.push((s.to_string(), f))).unwrap();
        for v in [
            r.memory_bandwidth.all_cores.read_bytes_per_s,
            r.memory_bandwidth.all_cores.copy_bytes_per_s,
            r.memory_bandwidth.all_cores.triad_bytes_per_s,
            r.memory_bandwidth.one_core.read_bytes_per_s,
            r.matmul.single_thread.flops_per_s,
            r.matmul.multi_thread.flops_per_s,
        ] {
            assert!(v.is_finite() && v > 0.0, "{v}");
        }
        assert_eq!(r.memory_bandwidth.array_bytes, 1 << 20);
        assert!(r.memory_bandwidth.all_cores.repetitions >= 3);
        assert_eq!(r.matmul.n, 48);
        assert_eq!(r.busy, r.busy_reason.is_some());
        assert!(r.method.contains("48x48"), "{}", r.method);
        assert_eq!(steps.last().map(|s| s.1), Some(1.0));
        assert!(probe(&ProbeOptions { threads: 0, ..opts }, &mut |_, _| {}).is_err());
    }

    #[test]
    fn sizes_follow_budget_and_memory() {
        const MIB: u64 = 1 << 20;
        assert_eq!(array_bytes(Duration::from_secs(6), None), 256 * MIB);
        assert_eq!(array_bytes(Duration::from_secs(1), None), 86 * MIB);
        assert_eq!(
            array_bytes(Duration::from_secs(6), Some(1024 * MIB)),
            128 * MIB
        );
        assert_eq!(pick_n(1e12, Duration::from_secs(1)), 1024);
        assert_eq!(pick_n(1e3, Duration::from_secs(1)), 128);
    }
}
