//! A probe as a catalog hardware entry (`hardware/local.toml`).

use std::collections::BTreeMap;

use sizewise_catalog::hardware::{BANDWIDTH_GB_BYTES, MEMORY_GB_BYTES};
use sizewise_catalog::{Hardware, HardwareClass, Status, ThreadScaling};

use crate::{ProbeError, ProbeResult};

/// The catalog id of the measured machine.
pub const LOCAL_ID: &str = "local";

/// `x` to four significant digits (a measurement holds no more).
pub fn round4(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(3 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// The catalog entry `local` for a probe: the CPU class, its memory, the measured
/// all-core read bandwidth and all-core f32 matmul throughput, each with its source.
pub fn hardware_entry(r: &ProbeResult) -> Hardware {
    let date = r.measured_at.get(..10).unwrap_or(&r.measured_at);
    let measured = format!("measured by sizewise probe on {date}: {}", r.method);
    let mut sources = BTreeMap::new();
    let mut status = BTreeMap::new();
    let memory_gb = r
        .system
        .memory_total_bytes
        .map(|b| (b as f64 / MEMORY_GB_BYTES * 100.0).round() / 100.0)
        .filter(|gb| *gb > 0.0);
    if memory_gb.is_some() {
        sources.insert(
            "memory_gb".to_string(),
            format!("read by sizewise probe on {date} from the operating system (MemTotal in /proc/meminfo)"),
        );
        status.insert("memory_gb".to_string(), Status::Verified);
    }
    for f in ["memory_bandwidth_gbs", "fp32_tflops"] {
        sources.insert(f.to_string(), measured.clone());
        status.insert(f.to_string(), Status::Verified);
    }
    let bw = &r.memory_bandwidth;
    let mm = &r.matmul;
    let mut notes = format!(
        "Measured, sustained figures, not datasheet peaks (the estimator's efficiency priors \
         assume peaks, so estimates on this entry lean low). memory_bandwidth_gbs is the all-core \
         read-sum bandwidth ({threads} threads); copy {copy:.1} GB/s, triad {triad:.1} GB/s; one \
         core: read {one:.1} GB/s. fp32_tflops is the {threads}-thread f32 GEMM ({n}x{n}, {kernel}); \
         one thread: {single:.1} GFLOP/s. {cores} logical cores, {os}/{arch}. Load average \
         before: {load}.",
        threads = r.threads,
        copy = bw.all_cores.copy_bytes_per_s / BANDWIDTH_GB_BYTES,
        triad = bw.all_cores.triad_bytes_per_s / BANDWIDTH_GB_BYTES,
        one = bw.one_core.read_bytes_per_s / BANDWIDTH_GB_BYTES,
        n = mm.n,
        kernel = mm.kernel,
        single = mm.single_thread.flops_per_s / 1e9,
        cores = r.system.logical_cores,
        os = r.system.os,
        arch = r.system.arch,
        load = r
            .load_before
            .map_or("unknown".to_string(), |l| format!("{:.2}", l.one)),
    );
    if let Some(why) = &r.busy_reason {
        notes.push_str(&format!(
            " The machine was busy ({why}): the figures may be low; run `sizewise probe` again when it is idle."
        ));
    }
    Hardware {
        id: LOCAL_ID.to_string(),
        name: format!("This machine ({})", r.system.cpu_model),
        vendor: r.system.cpu_vendor.clone(),
        class: HardwareClass::Cpu,
        description: Some(format!(
            "this machine, measured by `sizewise probe` {} (CPU-only inference)",
            r.measured_at
        )),
        memory_gb,
        memory_type: None,
        memory_bandwidth_gbs: round4(bw.all_cores.read_bytes_per_s / BANDWIDTH_GB_BYTES),
        unified_memory: false,
        fp32_tflops: Some(round4(mm.multi_thread.flops_per_s / 1e12)),
        tf32_tflops: None,
        fp16_tflops: None,
        bf16_tflops: None,
        fp8_tflops: None,
        int8_tops: None,
        tdp_w: None,
        interconnect_gbs: None,
        cloud: None,
        purchase: None,
        undisclosed: Vec::new(),
        estimates: Vec::new(),
        sources,
        status,
        notes: Some(notes),
        threads: Some(ThreadScaling {
            measured_with: u32::try_from(r.threads).unwrap_or(u32::MAX).max(1),
            one_thread_bandwidth_gbs: round4(bw.one_core.read_bytes_per_s / BANDWIDTH_GB_BYTES),
            one_thread_fp32_tflops: round4(mm.single_thread.flops_per_s / 1e12),
        }),
    }
}

/// The text of `hardware/local.toml` for a probe: [`hardware_entry`] with a header
/// that says when and how it was measured.
pub fn hardware_toml(r: &ProbeResult) -> Result<String, ProbeError> {
    let body = toml::to_string(&hardware_entry(r))?;
    Ok(format!(
        "# This machine, measured by `sizewise probe` (sizewise {}) at {}.\n\
         # `sizewise probe` rewrites this file each time it runs.\n\
         # Status \"verified\": the catalog's statuses (verified, unchecked, derived) are meant\n\
         # for published facts; these values come straight from the measurement, their own\n\
         # primary source, which is closest to \"verified\".\n\n{body}",
        r.tool_version, r.measured_at
    ))
}

#[cfg(test)]
mod tests {
    use super::round4;

    #[test]
    fn rounds_to_four_digits() {
        assert_eq!(round4(0.6349124394738952), 0.6349);
        assert_eq!(round4(48.1234), 48.12);
        assert_eq!(round4(0.000131065), 0.0001311);
        assert_eq!(round4(0.0), 0.0);
    }
}
