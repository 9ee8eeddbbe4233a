//! Measured efficiencies of one engine on one machine (`DIR/calibration/*.toml`).
//!
//! `sizewise bench --gguf` measures a model on this machine and writes how far the
//! estimator's priors were from it, as scale factors on the decode bandwidth efficiency and
//! the prefill compute efficiency. Later estimates for that hardware and engine apply them
//! and say so. Each file keeps its provenance: which model, when, with which settings.

use serde::{Deserialize, Serialize};

/// The folder, under a catalog folder, that holds calibrations.
pub const CALIBRATION_DIR: &str = "calibration";

/// One calibration of an engine on a hardware entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// The hardware id it applies to (`local` for a probed machine).
    pub hardware: String,
    /// The engine it applies to (`llama.cpp`).
    pub engine: String,
    /// Multiplies the prior decode bandwidth efficiency: measured over estimated
    /// generation speed, solved so that the calibration model's estimate equals its
    /// measurement.
    pub decode_bandwidth_scale: f64,
    /// Multiplies the prior prefill compute efficiency, solved the same way from prompt
    /// processing speed.
    pub prefill_compute_scale: f64,
    /// When the calibration was measured (RFC 3339, UTC).
    pub measured_at: String,
    /// The model measured (the GGUF's name).
    pub model: String,
    /// The GGUF file measured.
    pub gguf: String,
    /// True when the file was written by `sizewise synth` (random weights).
    #[serde(default)]
    pub synthetic: bool,
    /// CPU threads used by the engine.
    pub threads: u32,
    /// Prompt tokens per repetition.
    pub prompt_tokens: u32,
    /// Output tokens per repetition.
    pub output_tokens: u32,
    /// Measured generation speed, tokens/s (mean over repetitions).
    pub measured_decode_tokens_per_s: f64,
    /// Measured prompt processing speed, tokens/s (mean over repetitions).
    pub measured_prefill_tokens_per_s: f64,
    /// The estimate before calibration, tokens/s.
    pub estimated_decode_tokens_per_s: f64,
    /// The estimate before calibration, tokens/s.
    pub estimated_prefill_tokens_per_s: f64,
    /// The results-store run that holds the measurement, when it was saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The sizewise version that measured it.
    pub sizewise_version: String,
}

impl Calibration {
    /// The file name of the calibration of `engine` on `hardware`.
    pub fn file_name(hardware: &str, engine: &str) -> String {
        format!("{hardware}-{engine}.toml")
    }

    /// One line saying where the calibration comes from.
    pub fn provenance(&self) -> String {
        format!(
            "calibrated by `sizewise bench --gguf` on {}{} ({} threads, {} prompt + {} output tokens, {} on {}): generation x{:.2}, prompt processing x{:.2} against the priors",
            self.model,
            if self.synthetic {
                " (synthetic weights)"
            } else {
                ""
            },
            self.threads,
            self.prompt_tokens,
            self.output_tokens,
            self.engine,
            self.measured_at.get(..10).unwrap_or(&self.measured_at),
            self.decode_bandwidth_scale,
            self.prefill_compute_scale,
        )
    }
}

/// The range a scale factor may take: beyond it the measurement or the probe is broken.
pub const SCALE_RANGE: (f64, f64) = (0.02, 50.0);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::Path;

    use crate::load::parse_calibration;

    const GOOD: &str = r#"
hardware = "local"
engine = "llama.cpp"
decode_bandwidth_scale = 1.31
prefill_compute_scale = 0.42
measured_at = "2026-11-29T10:00:00Z"
model = "SmolLM2-135M-Instruct"
gguf = "SmolLM2-135M-Instruct.Q4_1.gguf"
threads = 1
prompt_tokens = 512
output_tokens = 128
measured_decode_tokens_per_s = 80.1
measured_prefill_tokens_per_s = 400.0
estimated_decode_tokens_per_s = 61.2
estimated_prefill_tokens_per_s = 950.0
sizewise_version = "0.1.0"
"#;

    #[test]
    fn a_written_calibration_loads_and_says_where_it_comes_from() {
        let c = parse_calibration(Path::new("c.toml"), GOOD).unwrap();
        assert_eq!(c.hardware, "local");
        assert!(!c.synthetic);
        let p = c.provenance();
        assert!(
            p.contains("SmolLM2") && p.contains("2026-11-29") && p.contains("x1.31"),
            "{p}"
        );
        // What sizewise writes, it reads back.
        let again = toml::to_string(&c).unwrap();
        assert_eq!(parse_calibration(Path::new("c.toml"), &again).unwrap(), c);
    }

    #[test]
    fn absurd_scales_and_unknown_fields_are_refused_with_the_field() {
        for (from, to, field) in [
            ("1.31", "0.0", "decode_bandwidth_scale"),
            ("0.42", "1e9", "prefill_compute_scale"),
            ("80.1", "-1.0", "measured_decode_tokens_per_s"),
        ] {
            let text = GOOD.replacen(from, to, 1);
            let err = parse_calibration(Path::new("c.toml"), &text)
                .unwrap_err()
                .to_string();
            assert!(err.contains(field) && err.contains("c.toml"), "{err}");
        }
        let err = parse_calibration(Path::new("c.toml"), &format!("{GOOD}extra = 1\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("extra"), "{err}");
    }

    #[test]
    fn a_catalog_folder_supplies_its_calibration() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join(super::CALIBRATION_DIR);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("local-llama.cpp.toml"), GOOD).unwrap();
        let catalog = crate::Catalog::load(&[dir.path().to_path_buf()]).unwrap();
        let c = catalog.calibration("local", "llama.cpp").unwrap();
        assert_eq!(c.decode_bandwidth_scale, 1.31);
        assert!(catalog.calibration("local", "vllm").is_none());
        assert!(
            crate::Catalog::embedded()
                .unwrap()
                .calibration("local", "llama.cpp")
                .is_none()
        );
    }
}
