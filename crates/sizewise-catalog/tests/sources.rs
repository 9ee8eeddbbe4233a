//! Every fact of the embedded catalog has a source; undisclosed stays undisclosed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sizewise_catalog::{Catalog, Status};

fn model_fields(m: &sizewise_catalog::Model) -> Vec<&'static str> {
    let mut f = Vec::new();
    if m.params_total.is_some() {
        f.push("params_total");
    }
    if m.context_window.is_some() {
        f.push("context_window");
    }
    if m.training_tokens.is_some() {
        f.push("training_tokens");
    }
    if m.max_output_tokens.is_some() {
        f.push("max_output_tokens");
    }
    if let Some(a) = &m.architecture {
        f.extend([
            "architecture.layers",
            "architecture.hidden",
            "architecture.head_dim",
            "architecture.vocab",
        ]);
        if a.heads.is_some() {
            f.push("architecture.heads");
        }
        if a.ffn.is_some() {
            f.push("architecture.ffn");
        }
        f.push("architecture.tied_embeddings");
        if a.sliding_window.is_some() {
            f.push("architecture.sliding_window");
        }
    }
    f
}

#[test]
fn every_model_fact_has_a_source() {
    let c = Catalog::embedded().unwrap();
    let mut missing = Vec::new();
    for m in c.models() {
        for field in model_fields(m) {
            let sourced = m.source_of(field).is_some_and(|s| !s.trim().is_empty());
            let derived = m.status_of(field) == Some(Status::Derived);
            if !sourced && !derived {
                missing.push(format!("{}: {field}", m.id));
            }
        }
        if let Some(api) = &m.api
            && (api.source.trim().is_empty() || api.as_of.is_empty())
        {
            missing.push(format!("{}: api price source/date", m.id));
        }
        for s in &m.scores {
            if s.source.trim().is_empty() || s.setting.trim().is_empty() {
                missing.push(format!("{}: score {}", m.id, s.benchmark));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "facts without a source:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_hardware_fact_has_a_source() {
    let c = Catalog::embedded().unwrap();
    let mut missing = Vec::new();
    for h in c.hardware() {
        let fields = [
            ("memory_gb", h.memory_gb.is_some()),
            ("memory_bandwidth_gbs", true),
            ("fp32_tflops", h.fp32_tflops.is_some()),
            ("tf32_tflops", h.tf32_tflops.is_some()),
            ("fp16_tflops", h.fp16_tflops.is_some()),
            ("bf16_tflops", h.bf16_tflops.is_some()),
            ("fp8_tflops", h.fp8_tflops.is_some()),
            ("int8_tops", h.int8_tops.is_some()),
            ("tdp_w", h.tdp_w.is_some()),
            ("interconnect_gbs", h.interconnect_gbs.is_some()),
        ];
        for (field, present) in fields {
            if present && h.source_of(field).is_none_or(|s| s.trim().is_empty()) {
                missing.push(format!("{}: {field}", h.id));
            }
        }
        if let Some(cl) = &h.cloud
            && cl.source.trim().is_empty()
        {
            missing.push(format!("{}: cloud price", h.id));
        }
    }
    assert!(
        missing.is_empty(),
        "facts without a source:\n{}",
        missing.join("\n")
    );
}

#[test]
fn closed_models_keep_undisclosed_figures_out_of_facts() {
    let c = Catalog::embedded().unwrap();
    for id in [
        "gpt-4",
        "gpt-4o",
        "gpt-4o-mini",
        "claude-3.5-sonnet",
        "gemini-1.5-pro",
    ] {
        let m = c.model(id).unwrap();
        assert!(m.params_total.is_none(), "{id}");
        assert!(m.is_undisclosed("params_total"), "{id}");
        assert!(m.architecture.is_none(), "{id}");
    }
}

#[test]
fn catalog_covers_what_the_article_names() {
    let c = Catalog::embedded().unwrap();
    for id in [
        "gpt-3-175b",
        "gpt-3.5-turbo",
        "gpt-4",
        "gpt-4o",
        "palm-540b",
        "palm-2",
        "bert-base",
        "bert-large",
        "claude-3-haiku",
        "claude-3-sonnet",
        "claude-3-opus",
        "claude-3.5-sonnet",
        "falcon-7b",
        "falcon-40b",
        "falcon-180b",
        "command-r",
        "command-r-plus",
        "gemini-1.5-pro",
        "gemini-1.5-flash",
        "llama-2-7b",
        "llama-3-8b",
        "llama-3.1-70b",
        "llama-3.2-1b",
        "orca-2-7b",
        "phi-3-mini",
        "phi-3-small",
        "phi-3-medium",
        "gpt-4o-mini",
        "gemma-7b",
        "gemma-2-9b",
        "mistral-small-22b-2409",
        "mistral-small-24b-2501",
        "openelm-270m",
        "openelm-3b",
        "qwen2.5-0.5b",
        "smollm2-135m",
        "tinyllama-1.1b",
        "mistral-7b",
        "gemma-3-270m",
        "mixtral-8x7b",
        "olmoe-1b-7b",
    ] {
        assert!(c.model(id).is_ok(), "missing {id}");
    }
    let moe = c
        .models()
        .filter(|m| m.architecture.as_ref().is_some_and(|a| a.is_moe()))
        .count();
    assert!(moe >= 2);
    for id in [
        "nvidia-t4",
        "nvidia-l4",
        "nvidia-a10g",
        "nvidia-a100-40gb-sxm",
        "nvidia-a100-80gb-sxm",
        "nvidia-h100-sxm",
        "nvidia-h100-pcie",
        "nvidia-h200-sxm",
        "nvidia-l40s",
        "amd-mi300x",
        "nvidia-tesla-p40",
        "nvidia-v100-sxm2-32gb",
        "nvidia-rtx-3060-12gb",
        "nvidia-rtx-3080-10gb",
        "nvidia-rtx-3090",
        "nvidia-rtx-4070",
        "nvidia-rtx-4090",
        "amd-rx-6900-xt",
        "amd-rx-7900-xtx",
        "apple-m1",
        "apple-m2",
        "apple-m3-max",
        "apple-m4-pro",
        "apple-a16",
        "apple-a17-pro",
        "snapdragon-8-gen-3",
        "raspberry-pi-5-8gb",
        "jetson-orin-nano-8gb",
        "x86-8core-ddr5-desktop",
        "amd-epyc-9654",
    ] {
        assert!(c.hardware_by_id(id).is_ok(), "missing hardware {id}");
    }
    assert!(c.hardware().count() >= 30);
}
