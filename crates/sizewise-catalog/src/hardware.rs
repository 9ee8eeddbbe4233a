//! Hardware that runs models: memory, bandwidth, peak compute per dtype, power, price.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fact::{Estimate, Status};

/// Bytes in one catalog "GB" of device memory. Vendors size device memory in
/// binary units (an "80 GB" H100 holds 80 GiB), so memory sizes use 2^30.
pub const MEMORY_GB_BYTES: f64 = 1_073_741_824.0;

/// Bytes per second in one catalog "GB/s" of bandwidth: bandwidth is decimal.
pub const BANDWIDTH_GB_BYTES: f64 = 1e9;

/// What kind of device this is: it sets defaults such as usable memory share and
/// the efficiency priors of the estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HardwareClass {
    /// Datacenter GPU or accelerator (A100, H100, MI300X...).
    DatacenterGpu,
    /// Desktop/workstation GPU (GeForce, Radeon).
    ConsumerGpu,
    /// Apple silicon laptop/desktop (unified memory).
    AppleSilicon,
    /// Phone system-on-chip.
    Phone,
    /// Edge board (Raspberry Pi, Jetson).
    Edge,
    /// General-purpose CPU with system memory.
    Cpu,
}

impl HardwareClass {
    /// The word used in files and tables.
    pub fn as_str(&self) -> &'static str {
        match self {
            HardwareClass::DatacenterGpu => "datacenter-gpu",
            HardwareClass::ConsumerGpu => "consumer-gpu",
            HardwareClass::AppleSilicon => "apple-silicon",
            HardwareClass::Phone => "phone",
            HardwareClass::Edge => "edge",
            HardwareClass::Cpu => "cpu",
        }
    }

    /// True for discrete GPUs and accelerators.
    pub fn is_gpu(&self) -> bool {
        matches!(
            self,
            HardwareClass::DatacenterGpu | HardwareClass::ConsumerGpu
        )
    }
}

/// A rental price per hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudPrice {
    /// USD per device-hour.
    pub usd_per_hour: f64,
    /// Who rents it at this price.
    pub provider: String,
    /// On-demand, reserved, per GPU or per instance.
    pub basis: String,
    /// Date the price was read (YYYY-MM-DD).
    pub as_of: String,
    /// Where the price was read.
    pub source: String,
    /// Check status of the price.
    pub status: Status,
}

/// A purchase price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurchasePrice {
    /// USD for one device (or one system, for SoCs and boards).
    pub usd: f64,
    /// Launch price, street price...
    pub basis: String,
    /// Date of the price (YYYY-MM-DD or YYYY-MM).
    pub as_of: String,
    /// Where the price was read.
    pub source: String,
    /// Check status of the price.
    pub status: Status,
}

/// One device of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hardware {
    /// Stable id used on the command line (`nvidia-h100-sxm`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Maker.
    pub vendor: String,
    /// Kind of device.
    pub class: HardwareClass,
    /// One line on what it is (architecture, year, form factor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Device memory in GB as vendors state it (binary: 1 GB = 2^30 bytes). For
    /// unified-memory systems, the largest configuration of this entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_gb: Option<f64>,
    /// Memory technology (HBM3, GDDR6X, LPDDR5X...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_type: Option<String>,
    /// Peak memory bandwidth, decimal GB/s.
    pub memory_bandwidth_gbs: f64,
    /// True when CPU and GPU share one memory (Apple, phones, Jetson).
    #[serde(default)]
    pub unified_memory: bool,
    /// Peak FP32 (non-tensor) TFLOPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp32_tflops: Option<f64>,
    /// Peak dense TF32 tensor TFLOPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tf32_tflops: Option<f64>,
    /// Peak dense FP16 tensor TFLOPS (FP32 accumulate on GeForce).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp16_tflops: Option<f64>,
    /// Peak dense BF16 tensor TFLOPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bf16_tflops: Option<f64>,
    /// Peak dense FP8 tensor TFLOPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp8_tflops: Option<f64>,
    /// Peak dense INT8 tensor TOPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int8_tops: Option<f64>,
    /// Board or package power, watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tdp_w: Option<f64>,
    /// Device-to-device bandwidth (NVLink, Infinity Fabric), GB/s per device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interconnect_gbs: Option<f64>,
    /// Rental price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<CloudPrice>,
    /// Purchase price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase: Option<PurchasePrice>,
    /// Names of fields the vendor has not published.
    #[serde(default)]
    pub undisclosed: Vec<String>,
    /// Figures that are not facts, labelled.
    #[serde(default)]
    pub estimates: Vec<Estimate>,
    /// Source of each field.
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
    /// Check status of each field.
    #[serde(default)]
    pub status: BTreeMap<String, Status>,
    /// Caveats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// How the figures of a measured CPU scale with threads (written by `sizewise probe`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<ThreadScaling>,
}

/// The threads a CPU's bandwidth and compute figures were measured with, and what one
/// thread reaches: an engine that runs fewer threads gets less of both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadScaling {
    /// Threads behind `memory_bandwidth_gbs` and `fp32_tflops`.
    pub measured_with: u32,
    /// Read bandwidth of one thread, GB/s.
    pub one_thread_bandwidth_gbs: f64,
    /// f32 matrix-multiply throughput of one thread, TFLOP/s.
    pub one_thread_fp32_tflops: f64,
}

impl Hardware {
    /// Bandwidth (bytes/s) and f32 compute (FLOP/s) for an engine running `threads` threads:
    /// the one-thread figures times `threads`, at most the all-thread figures; the
    /// all-thread figures when the entry has no thread scaling or `threads` is not fewer.
    pub fn for_threads(&self, threads: u32) -> Option<(f64, f64)> {
        let t = self.threads.as_ref()?;
        if threads == 0 || threads >= t.measured_with {
            return None;
        }
        let n = f64::from(threads);
        let bw =
            (t.one_thread_bandwidth_gbs * BANDWIDTH_GB_BYTES * n).min(self.bandwidth_bytes_per_s());
        let all_flops = self.fp32_tflops.map_or(f64::INFINITY, |x| x * 1e12);
        let flops = (t.one_thread_fp32_tflops * 1e12 * n).min(all_flops);
        Some((bw, flops))
    }

    /// Device memory in bytes, when the entry has a fixed size.
    pub fn memory_bytes(&self) -> Option<f64> {
        self.memory_gb.map(|gb| gb * MEMORY_GB_BYTES)
    }

    /// Peak memory bandwidth in bytes per second.
    pub fn bandwidth_bytes_per_s(&self) -> f64 {
        self.memory_bandwidth_gbs * BANDWIDTH_GB_BYTES
    }

    /// The estimate that stands in for `field`, if any.
    pub fn estimate(&self, field: &str) -> Option<&Estimate> {
        self.estimates.iter().find(|e| e.field == field)
    }

    /// The source of `field`.
    pub fn source_of(&self, field: &str) -> Option<&str> {
        if let Some(s) = self.sources.get(field) {
            return Some(s);
        }
        let section = field.split('.').next()?;
        self.sources.get(section).map(String::as_str)
    }

    /// The check status of `field`.
    pub fn status_of(&self, field: &str) -> Option<Status> {
        if let Some(s) = self.status.get(field) {
            return Some(*s);
        }
        let section = field.split('.').next()?;
        self.status.get(section).copied()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn fewer_threads_get_the_one_thread_figures_times_threads_capped_by_all() {
        let text = r#"
id = "local"
name = "This machine"
vendor = "AMD"
class = "cpu"
memory_bandwidth_gbs = 16.0
fp32_tflops = 0.1
[threads]
measured_with = 4
one_thread_bandwidth_gbs = 8.0
one_thread_fp32_tflops = 0.03
"#;
        let h = crate::load::parse_hardware(std::path::Path::new("local.toml"), text).unwrap();
        let (bw, flops) = h.for_threads(1).unwrap();
        assert_eq!(bw, 8.0 * BANDWIDTH_GB_BYTES);
        assert!((flops - 0.03e12).abs() < 1.0);
        // Three threads would read 24 GB/s alone, but all four measured 16.
        let (bw, flops) = h.for_threads(3).unwrap();
        assert_eq!(bw, 16.0 * BANDWIDTH_GB_BYTES);
        assert!((flops - 0.09e12).abs() < 1.0);
        assert!(h.for_threads(4).is_none() && h.for_threads(0).is_none());
        let bad = text.replace("measured_with = 4", "measured_with = 0");
        let err = crate::load::parse_hardware(std::path::Path::new("local.toml"), &bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("measured_with"), "{err}");
    }
}
