//! Parsing and validation of catalog files.
//!
//! Every failure names the file, the line and column, the field when it can be
//! found, and a hint. Nothing here panics on any input (see the property tests).

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::calibration::Calibration;
use crate::error::CatalogError;
use crate::hardware::Hardware;
use crate::model::{MODEL_DISCLOSABLE_FIELDS, Model};

/// 1-based (line, column) of a byte offset in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.chars().count(), |nl| {
        before[nl + 1..].chars().count()
    }) + 1;
    (line, column)
}

/// The key written on `line` (1-based), if the line is `key = value`.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let (key, _) = l.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('#')).then(|| key.to_string())
}

/// The first line (1-based) that assigns `key`, to point at semantic errors.
fn line_of_key(text: &str, key: &str) -> usize {
    let leaf = key.rsplit('.').next().unwrap_or(key);
    text.lines()
        .position(|l| {
            l.split_once('=')
                .is_some_and(|(k, _)| k.trim().trim_matches('"') == leaf)
        })
        .map_or(0, |i| i + 1)
}

/// The field named in a serde message (`unknown field `x``, `missing field `x``).
fn field_in_message(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_string())
}

fn hint_for(message: &str, kind: &str) -> String {
    if message.contains("unknown field") {
        format!("check the spelling; the fields of a {kind} file are listed in docs/CATALOG.md")
    } else if message.contains("missing field") {
        format!("every {kind} file needs this field; see docs/CATALOG.md for an example")
    } else if message.contains("invalid type") {
        "numbers are written bare (8.03e9), text in quotes; an unpublished value is left out and its name listed in `undisclosed = [...]`".to_string()
    } else {
        "fix the TOML syntax at this position (docs/CATALOG.md has a full example)".to_string()
    }
}

fn parse<T: DeserializeOwned>(path: &Path, text: &str, kind: &str) -> Result<T, CatalogError> {
    toml::from_str::<T>(text).map_err(|e| {
        let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
        let message = e.message().trim().to_string();
        let field = field_in_message(&message).or_else(|| key_on_line(text, line));
        CatalogError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            field,
            hint: hint_for(&message, kind),
            message,
        }
    })
}

struct Check<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Check<'_> {
    fn fail(&self, field: &str, message: String, hint: &str) -> CatalogError {
        CatalogError::Invalid {
            path: self.path.to_path_buf(),
            line: line_of_key(self.text, field),
            column: 0,
            field: Some(field.to_string()),
            message,
            hint: hint.to_string(),
        }
    }

    fn positive(&self, field: &str, v: Option<f64>) -> Result<(), CatalogError> {
        match v {
            Some(x) if !(x.is_finite() && x > 0.0) => Err(self.fail(
                field,
                format!("must be a positive finite number, found {x}"),
                "write the value in its unit (see docs/CATALOG.md), or leave the field out when it is unknown",
            )),
            _ => Ok(()),
        }
    }

    fn id(&self, id: &str) -> Result<(), CatalogError> {
        let ok = !id.is_empty()
            && id.len() <= 80
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if ok {
            Ok(())
        } else {
            Err(self.fail(
                "id",
                format!("id {id:?} must be 1-80 characters of a-z, 0-9, '.', '_' or '-'"),
                "ids are typed on the command line: use lowercase, e.g. \"llama-3.1-8b\"",
            ))
        }
    }

    fn date(&self, field: &str, d: &str) -> Result<(), CatalogError> {
        let b = d.as_bytes();
        let ok = (b.len() == 10 || b.len() == 7)
            && b.iter().enumerate().all(|(i, c)| {
                if i == 4 || i == 7 {
                    *c == b'-'
                } else {
                    c.is_ascii_digit()
                }
            });
        if ok {
            Ok(())
        } else {
            Err(self.fail(
                field,
                format!("date {d:?} is not YYYY-MM-DD"),
                "prices carry the date they were read, e.g. as_of = \"2026-07-24\"",
            ))
        }
    }
}

/// Parses `text` as JSON (the build-time form of embedded files).
fn parse_json<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, CatalogError> {
    serde_json::from_str::<T>(text).map_err(|e| CatalogError::Invalid {
        path: path.to_path_buf(),
        line: 0,
        column: 0,
        field: field_in_message(&e.to_string()),
        message: e.to_string(),
        hint: "this embedded file was converted at build time; run the tests of sizewise-catalog"
            .into(),
    })
}

/// Parses and validates an embedded model file (JSON converted from TOML at build time).
pub fn parse_model_json(path: &Path, text: &str) -> Result<Model, CatalogError> {
    let m: Model = parse_json(path, text)?;
    validate_model(path, "", m)
}

/// Parses and validates an embedded hardware file (JSON converted from TOML at build time).
pub fn parse_hardware_json(path: &Path, text: &str) -> Result<Hardware, CatalogError> {
    let h: Hardware = parse_json(path, text)?;
    validate_hardware(path, "", h)
}

/// Parses and validates one model file.
pub fn parse_model(path: &Path, text: &str) -> Result<Model, CatalogError> {
    let m: Model = parse(path, text, "model")?;
    validate_model(path, text, m)
}

fn validate_model(path: &Path, text: &str, m: Model) -> Result<Model, CatalogError> {
    let c = Check { path, text };
    c.id(&m.id)?;
    c.positive("params_total", m.params_total)?;
    c.positive("params_active", m.params_active)?;
    c.positive("training_tokens", m.training_tokens)?;
    if let (Some(t), Some(a)) = (m.params_total, m.params_active)
        && a > t * 1.0001
    {
        return Err(c.fail(
            "params_active",
            format!("active parameters ({a}) exceed the total ({t})"),
            "for a dense model both are equal; for MoE, active counts the experts each token uses",
        ));
    }
    if m.context_window == Some(0) {
        return Err(c.fail(
            "context_window",
            "must be at least 1 token".into(),
            "write the window in tokens",
        ));
    }
    for f in &m.undisclosed {
        if !MODEL_DISCLOSABLE_FIELDS.contains(&f.as_str()) {
            return Err(c.fail(
                "undisclosed",
                format!("`{f}` is not a field that can be undisclosed"),
                &format!("use one of: {}", MODEL_DISCLOSABLE_FIELDS.join(", ")),
            ));
        }
        let given = match f.as_str() {
            "params_total" => m.params_total.is_some(),
            "params_active" => m.params_active.is_some(),
            "architecture" => m.architecture.is_some(),
            "training_tokens" => m.training_tokens.is_some(),
            "context_window" => m.context_window.is_some(),
            "max_output_tokens" => m.max_output_tokens.is_some(),
            _ => false,
        };
        if given {
            return Err(c.fail(
                f,
                format!("`{f}` has a value and is also listed as undisclosed"),
                "remove the value or remove the name from `undisclosed`",
            ));
        }
    }
    if let Some(a) = &m.architecture {
        let pos = |field: &str, v: u64| -> Result<(), CatalogError> {
            if v == 0 {
                Err(c.fail(
                    field,
                    "must be at least 1".into(),
                    "copy the value from the model's config.json",
                ))
            } else {
                Ok(())
            }
        };
        pos("layers", a.layers.into())?;
        pos("hidden", a.hidden)?;
        pos("head_dim", a.head_dim.into())?;
        pos("vocab", a.vocab)?;
        if a.layers > 100_000 || a.hidden > 1 << 24 || a.vocab > 1 << 24 || a.head_dim > 1 << 16 {
            return Err(c.fail(
                "architecture",
                "a dimension is implausibly large".into(),
                "check the architecture against the model's config.json",
            ));
        }
        match &a.per_layer {
            Some(p) => {
                let n = a.layers as usize;
                if p.heads.len() != n || p.kv_heads.len() != n || p.ffn.len() != n {
                    return Err(c.fail(
                        "per_layer",
                        format!("per_layer lists must have one entry per layer ({n})"),
                        "give heads, kv_heads and ffn for every layer",
                    ));
                }
                for i in 0..n {
                    if p.heads[i] == 0 || p.kv_heads[i] == 0 || p.heads[i] % p.kv_heads[i] != 0 {
                        return Err(c.fail(
                            "per_layer",
                            format!("layer {i}: heads must be a positive multiple of kv_heads"),
                            "check the per-layer head counts",
                        ));
                    }
                }
            }
            None => {
                let heads = a.heads.unwrap_or(0);
                pos("heads", heads.into())?;
                pos("ffn", a.ffn.unwrap_or(0))?;
                let kv = a.kv_heads.unwrap_or(heads);
                if kv == 0 || heads % kv != 0 {
                    return Err(c.fail(
                        "kv_heads",
                        format!("kv_heads ({kv}) must divide heads ({heads})"),
                        "MHA: kv_heads = heads; GQA: a divisor of heads; MQA: 1",
                    ));
                }
            }
        }
        match (a.experts, a.experts_active) {
            (Some(e), Some(k)) if k == 0 || k > e => {
                return Err(c.fail(
                    "experts_active",
                    format!("experts_active ({k}) must be between 1 and experts ({e})"),
                    "experts_active is the number of experts each token is routed to",
                ));
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(c.fail(
                    "experts",
                    "experts and experts_active go together".into(),
                    "give both for a mixture-of-experts model, neither for a dense one",
                ));
            }
            _ => {}
        }
    }
    if let Some(api) = &m.api {
        for (f, v) in [
            ("input_usd_per_mtok", api.input_usd_per_mtok),
            ("output_usd_per_mtok", api.output_usd_per_mtok),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(c.fail(
                    f,
                    format!("price must be a finite number >= 0, found {v}"),
                    "prices are USD per 1M tokens",
                ));
            }
        }
        c.date("as_of", &api.as_of)?;
    }
    for s in &m.scores {
        if !(s.value.is_finite() && (0.0..=100.0).contains(&s.value)) {
            return Err(c.fail(
                "value",
                format!("score {} for {} is not a percentage", s.value, s.benchmark),
                "scores are percentages between 0 and 100",
            ));
        }
    }
    Ok(m)
}

/// Parses and validates one hardware file.
pub fn parse_hardware(path: &Path, text: &str) -> Result<Hardware, CatalogError> {
    let h: Hardware = parse(path, text, "hardware")?;
    validate_hardware(path, text, h)
}

fn validate_hardware(path: &Path, text: &str, h: Hardware) -> Result<Hardware, CatalogError> {
    let c = Check { path, text };
    c.id(&h.id)?;
    c.positive("memory_gb", h.memory_gb)?;
    c.positive("memory_bandwidth_gbs", Some(h.memory_bandwidth_gbs))?;
    for (f, v) in [
        ("fp32_tflops", h.fp32_tflops),
        ("tf32_tflops", h.tf32_tflops),
        ("fp16_tflops", h.fp16_tflops),
        ("bf16_tflops", h.bf16_tflops),
        ("fp8_tflops", h.fp8_tflops),
        ("int8_tops", h.int8_tops),
        ("tdp_w", h.tdp_w),
        ("interconnect_gbs", h.interconnect_gbs),
    ] {
        c.positive(f, v)?;
    }
    if let Some(cloud) = &h.cloud {
        c.positive("usd_per_hour", Some(cloud.usd_per_hour))?;
        c.date("as_of", &cloud.as_of)?;
    }
    if let Some(p) = &h.purchase {
        c.positive("usd", Some(p.usd))?;
        c.date("as_of", &p.as_of)?;
    }
    if let Some(t) = &h.threads {
        if t.measured_with == 0 {
            return Err(c.fail(
                "measured_with",
                "must be at least 1 thread".into(),
                "write how many threads the all-core figures were measured with",
            ));
        }
        c.positive("one_thread_bandwidth_gbs", Some(t.one_thread_bandwidth_gbs))?;
        c.positive("one_thread_fp32_tflops", Some(t.one_thread_fp32_tflops))?;
    }
    Ok(h)
}

/// Parses and validates one calibration file (`DIR/calibration/*.toml`).
pub fn parse_calibration(path: &Path, text: &str) -> Result<Calibration, CatalogError> {
    let cal: Calibration = parse(path, text, "calibration")?;
    let c = Check { path, text };
    if cal.hardware.is_empty() || cal.engine.is_empty() {
        return Err(c.fail(
            if cal.hardware.is_empty() {
                "hardware"
            } else {
                "engine"
            },
            "must name the hardware id and the engine the calibration applies to".into(),
            "this file is written by `sizewise bench --gguf`: delete it, or run that command again",
        ));
    }
    let (lo, hi) = crate::calibration::SCALE_RANGE;
    for (field, v) in [
        ("decode_bandwidth_scale", cal.decode_bandwidth_scale),
        ("prefill_compute_scale", cal.prefill_compute_scale),
    ] {
        if !(v.is_finite() && (lo..=hi).contains(&v)) {
            return Err(c.fail(
                field,
                format!("must be a finite number between {lo} and {hi}, found {v}"),
                "this file is written by `sizewise bench --gguf`: delete it, or run that command again to measure a new one",
            ));
        }
    }
    for (field, v) in [
        (
            "measured_decode_tokens_per_s",
            cal.measured_decode_tokens_per_s,
        ),
        (
            "measured_prefill_tokens_per_s",
            cal.measured_prefill_tokens_per_s,
        ),
        (
            "estimated_decode_tokens_per_s",
            cal.estimated_decode_tokens_per_s,
        ),
        (
            "estimated_prefill_tokens_per_s",
            cal.estimated_prefill_tokens_per_s,
        ),
    ] {
        c.positive(field, Some(v))?;
    }
    Ok(cal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("a\nbc\n", 3), (2, 2));
        assert_eq!(line_col("", 10), (1, 1));
    }

    #[test]
    fn unknown_field_is_named_with_its_line() {
        let text = "id = \"x\"\nname = \"X\"\nfamily = \"F\"\ndeveloper = \"D\"\ncategory = \"SLM\"\nopen_weights = true\nparams_totl = 1e9\n";
        let err = parse_model(Path::new("m.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("m.toml:7"), "{err}");
        assert!(err.contains("params_totl"), "{err}");
        assert!(err.contains("hint:"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_field() {
        let text = "id = \"x\"\nname = \"X\"\nfamily = \"F\"\ndeveloper = \"D\"\ncategory = \"SLM\"\nopen_weights = true\nparams_total = \"big\"\n";
        let err = parse_model(Path::new("m.toml"), text).unwrap_err();
        match err {
            CatalogError::Invalid { line, field, .. } => {
                assert_eq!(line, 7);
                assert_eq!(field.as_deref(), Some("params_total"));
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn semantic_errors_point_at_the_line() {
        let text = "id = \"x\"\nname = \"X\"\nfamily = \"F\"\ndeveloper = \"D\"\ncategory = \"SLM\"\nopen_weights = true\nparams_total = 1e9\nparams_active = 2e9\n";
        let err = parse_model(Path::new("m.toml"), text).unwrap_err();
        match err {
            CatalogError::Invalid { line, field, .. } => {
                assert_eq!(line, 8);
                assert_eq!(field.as_deref(), Some("params_active"));
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn undisclosed_and_given_is_rejected() {
        let text = "id = \"x\"\nname = \"X\"\nfamily = \"F\"\ndeveloper = \"D\"\ncategory = \"LLM\"\nopen_weights = false\nparams_total = 1e9\nundisclosed = [\"params_total\"]\n";
        assert!(parse_model(Path::new("m.toml"), text).is_err());
    }

    #[test]
    fn bad_kv_heads_rejected() {
        let text = "id = \"x\"\nname = \"X\"\nfamily = \"F\"\ndeveloper = \"D\"\ncategory = \"LLM\"\nopen_weights = true\n[architecture]\nlayers = 2\nhidden = 64\nheads = 8\nkv_heads = 3\nhead_dim = 8\nffn = 128\nvocab = 100\ntied_embeddings = true\n";
        let err = parse_model(Path::new("m.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("kv_heads"), "{err}");
    }
}
