//! A probe's `local.toml` loads through the real catalog loader and the estimator
//! runs on it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sizewise_catalog::{Catalog, HardwareClass, Status};
use sizewise_estimate::{Scenario, estimate_numbers, summarize};
use sizewise_probe::{
    Bandwidth, BandwidthFigures, LoadAverage, Matmul, MatmulFigures, ProbeResult, SystemInfo,
    hardware_toml,
};

fn result(busy: bool) -> ProbeResult {
    let bw = |threads, read: f64| BandwidthFigures {
        threads,
        read_bytes_per_s: read,
        copy_bytes_per_s: read * 0.8,
        triad_bytes_per_s: read * 0.9,
        repetitions: 12,
    };
    let mm = |threads, flops| MatmulFigures {
        threads,
        flops_per_s: flops,
        best_s: 0.01,
        repetitions: 20,
    };
    ProbeResult {
        tool_version: "0.1.0".into(),
        measured_at: "2025-06-01T12:34:56Z".into(),
        duration_s: 6.0,
        method: "STREAM-like \"read\" kernels, 512x512 GEMM".into(),
        system: SystemInfo {
            hostname: "box".into(),
            os: "linux".into(),
            arch: "x86_64".into(),
            cpu_model: "AMD EPYC \"Test\" 7B13".into(),
            cpu_vendor: "AMD".into(),
            logical_cores: 2,
            memory_total_bytes: Some(24 * (1 << 30)),
            memory_available_bytes: Some(20 * (1 << 30)),
        },
        threads: 2,
        load_before: Some(LoadAverage {
            one: 1.4,
            five: 1.0,
            fifteen: 0.9,
        }),
        load_after: None,
        others_cpu_share_before: Some(0.1),
        others_cpu_share_during: None,
        busy,
        busy_reason: busy.then(|| "1-minute load average 1.40".to_string()),
        memory_bandwidth_bytes_per_s: 20e9,
        matmul_f32_flops_per_s: 110e9,
        memory_bandwidth: Bandwidth {
            array_bytes: 256 << 20,
            all_cores: bw(2, 20e9),
            one_core: bw(1, 12e9),
        },
        matmul: Matmul {
            n: 512,
            kernel: "avx2+fma".into(),
            single_thread: mm(1, 60e9),
            multi_thread: mm(2, 110e9),
        },
    }
}

#[test]
fn local_toml_loads_and_estimates() {
    for busy in [false, true] {
        let r = result(busy);
        let text = hardware_toml(&r).unwrap();
        assert!(text.starts_with("# This machine"), "{text}");
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("hardware")).unwrap();
        std::fs::write(dir.path().join("hardware/local.toml"), &text).unwrap();

        let catalog = Catalog::load(&[dir.path().to_path_buf()]).unwrap();
        let h = catalog.hardware_by_id("local").unwrap();
        assert_eq!(h.class, HardwareClass::Cpu);
        assert_eq!(h.memory_gb, Some(24.0));
        assert!((h.memory_bandwidth_gbs - 20.0).abs() < 1e-9);
        assert!((h.fp32_tflops.unwrap() - 0.11).abs() < 1e-9);
        for f in ["memory_gb", "memory_bandwidth_gbs", "fp32_tflops"] {
            assert!(
                h.source_of(f)
                    .unwrap()
                    .contains("measured by sizewise probe on 2025-06-01")
                    || f == "memory_gb",
                "{f}"
            );
            assert_eq!(h.status_of(f), Some(Status::Verified), "{f}");
        }
        assert!(h.name.contains("EPYC"));
        assert_eq!(
            h.notes.as_deref().unwrap().contains("figures may be low"),
            busy
        );

        let m = catalog.model("smollm2-135m").unwrap();
        let a = summarize(m).unwrap();
        let n = estimate_numbers(m, &a, h, &Scenario::default()).unwrap();
        assert!(n.fits);
        for v in [
            n.decode_tokens_per_s.p10,
            n.decode_tokens_per_s.p50,
            n.decode_tokens_per_s.p90,
        ] {
            assert!(v.is_finite() && v > 0.0, "{v}");
        }
    }
}

#[test]
fn result_round_trips_through_json() {
    let r = result(true);
    let text = serde_json::to_string(&r).unwrap();
    let back: ProbeResult = serde_json::from_str(&text).unwrap();
    assert_eq!(back, r);
}
