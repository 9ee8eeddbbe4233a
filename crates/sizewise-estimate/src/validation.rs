//! Published measurements the estimator is checked against (the development set),
//! with their sources. `sizewise validate` prints the table; a test keeps every
//! row inside the estimate's p10..p90 band.

use sizewise_catalog::{Architecture, Catalog, Category, Hardware, Mlp, Model, Norm, Position};

use crate::core::{Band, Scenario, estimate_numbers};
use crate::precision::Precision;
use crate::priors::Engine;
use crate::{ArchSummary, EstimateError, summarize};

/// What a row measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// Device-hours to pre-train.
    TrainingDeviceHours,
    /// Seconds per training iteration on `train_gpus` devices.
    IterationSeconds {
        /// Tokens per iteration.
        tokens: f64,
    },
    /// Time to first token, ms.
    TtftMs,
    /// Time per output token, ms.
    TpotMs,
    /// Decode tokens/s.
    DecodeTokensPerS,
    /// Prompt-processing tokens/s.
    PrefillTokensPerS,
}

impl Metric {
    /// Unit of the metric.
    pub fn unit(&self) -> &'static str {
        match self {
            Metric::TrainingDeviceHours => "GPU-hours",
            Metric::IterationSeconds { .. } => "s/iteration",
            Metric::TtftMs => "ms",
            Metric::TpotMs => "ms/token",
            Metric::DecodeTokensPerS | Metric::PrefillTokensPerS => "tokens/s",
        }
    }
}

/// One published measurement.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was measured.
    pub figure: &'static str,
    /// Catalog model id, or a model built from the paper (see [`paper_model`]).
    pub model: &'static str,
    /// Catalog hardware id.
    pub hardware: &'static str,
    /// The scenario of the measurement.
    pub scenario: Scenario,
    /// The metric.
    pub metric: Metric,
    /// The published value.
    pub measured: f64,
    /// Where it was published.
    pub source: &'static str,
}

/// The outcome of one row.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The row.
    pub row: Row,
    /// The estimate.
    pub estimate: Band,
    /// (p50 - measured) / measured.
    pub error: f64,
    /// measured within p10..p90.
    pub in_band: bool,
}

fn gpt(id: &str, layers: u32, hidden: u64, heads: u32, vocab: u64, ctx: u64, params: f64) -> Model {
    Model {
        id: id.into(),
        name: id.into(),
        family: "GPT".into(),
        developer: "paper".into(),
        category: Category::Llm,
        named_in_article: false,
        params_total: Some(params),
        params_active: Some(params),
        context_window: Some(ctx),
        max_output_tokens: None,
        training_tokens: None,
        release_date: None,
        license: None,
        open_weights: false,
        access: None,
        tokenizer: None,
        undisclosed: vec![],
        architecture: Some(Architecture {
            layers,
            hidden,
            heads: Some(heads),
            kv_heads: Some(heads),
            head_dim: (hidden / heads as u64) as u32,
            ffn: Some(4 * hidden),
            vocab,
            tied_embeddings: true,
            mlp: Mlp::Plain,
            norm: Norm::Layernorm,
            position: Position::Learned,
            qkv_bias: true,
            linear_bias: true,
            sliding_window: None,
            full_attention_every: None,
            experts: None,
            experts_active: None,
            extra_params: None,
            per_layer: None,
        }),
        api: None,
        scores: vec![],
        estimates: vec![],
        sources: Default::default(),
        status: Default::default(),
        notes: None,
    }
}

/// Models of the development set that are not in the catalog, built from their papers.
pub fn paper_model(id: &str) -> Option<Model> {
    match id {
        // Megatron-Turing NLG (arXiv 2201.11990 §2.2): 105 layers, hidden 20480, 128 heads.
        "mt-nlg-530b" => Some(gpt(id, 105, 20480, 128, 50257, 2048, 530e9)),
        // The GPT-style 13B of Kipply's FasterTransformer table: 40 layers, d_model 5120.
        "gpt-13b" => Some(gpt(id, 40, 5120, 40, 50257, 2048, 13e9)),
        _ => None,
    }
}

fn sc(f: impl FnOnce(&mut Scenario)) -> Scenario {
    let mut s = Scenario::default();
    f(&mut s);
    s
}

/// The development rows (../shared/reference/groundtruth-dev.md).
pub fn rows() -> Vec<Row> {
    let ft = "Kipply 'Transformer Inference Arithmetic' FasterTransformer table, restated in cli99/llm-analysis examples/fastertransformer/README.md";
    let fast = |s: &mut Scenario, gpus: u32| {
        s.precision = Some(Precision::Fp16);
        s.engine = Some(Engine::TrtLlm);
        s.prompt_tokens = 512;
        s.output_tokens = 10;
        s.gpus = gpus;
    };
    let mtnlg = |gpus: u32| Row {
        figure: "MT-NLG 530B iteration time",
        model: "mt-nlg-530b",
        hardware: "nvidia-a100-40gb-sxm",
        scenario: sc(|s| {
            s.train_gpus = gpus;
            s.recompute = true;
            s.training_tokens = Some(1920.0 * 2048.0);
        }),
        metric: Metric::IterationSeconds {
            tokens: 1920.0 * 2048.0,
        },
        measured: match gpus {
            2240 => 60.1,
            2800 => 50.2,
            _ => 44.4,
        },
        source: "arXiv 2201.11990 §2.4 (global batch 1920, seq 2048, activation recomputation), restated in cli99/llm-analysis examples/megatron-turing-nlg/README.md",
    };
    vec![
        Row {
            figure: "Llama 2 7B pre-training",
            model: "llama-2-7b",
            hardware: "nvidia-a100-80gb-sxm",
            scenario: sc(|s| s.training_tokens = Some(2.0e12)),
            metric: Metric::TrainingDeviceHours,
            measured: 184_320.0,
            source: "meta-llama/llama MODEL_CARD.md (CO2 table)",
        },
        Row {
            figure: "Llama 3 70B pre-training",
            model: "llama-3-70b",
            hardware: "nvidia-h100-sxm",
            scenario: sc(|s| s.training_tokens = Some(15.0e12)),
            metric: Metric::TrainingDeviceHours,
            measured: 6.4e6,
            source: "meta-llama/llama3 MODEL_CARD.md",
        },
        Row {
            figure: "Phi-3-mini pre-training (512 GPUs x 7 days)",
            model: "phi-3-mini",
            hardware: "nvidia-h100-sxm",
            scenario: sc(|s| s.training_tokens = Some(3.3e12)),
            metric: Metric::TrainingDeviceHours,
            measured: 86_016.0,
            source: "microsoft/Phi-3-mini-4k-instruct-gguf README.md (HF commit 1c81bd2)",
        },
        mtnlg(2240),
        mtnlg(2800),
        mtnlg(3360),
        Row {
            figure: "13B prefill, 512 tokens, TP1",
            model: "gpt-13b",
            hardware: "nvidia-a100-40gb-sxm",
            scenario: sc(|s| fast(s, 1)),
            metric: Metric::TtftMs,
            measured: 63.17,
            source: ft,
        },
        Row {
            figure: "13B prefill, 512 tokens, TP2",
            model: "gpt-13b",
            hardware: "nvidia-a100-40gb-sxm",
            scenario: sc(|s| fast(s, 2)),
            metric: Metric::TtftMs,
            measured: 45.45,
            source: ft,
        },
        Row {
            figure: "13B decode per token, TP1",
            model: "gpt-13b",
            hardware: "nvidia-a100-40gb-sxm",
            scenario: sc(|s| fast(s, 1)),
            metric: Metric::TpotMs,
            measured: 22.0,
            source: ft,
        },
        Row {
            figure: "13B decode per token, TP2",
            model: "gpt-13b",
            hardware: "nvidia-a100-40gb-sxm",
            scenario: sc(|s| fast(s, 2)),
            metric: Metric::TpotMs,
            measured: 13.5,
            source: ft,
        },
        Row {
            figure: "LLaMA 7B Q4_0 decode (tg128), llama.cpp CUDA",
            model: "llama-2-7b",
            hardware: "nvidia-tesla-p40",
            scenario: sc(|s| {
                s.precision = Some(Precision::Q4_0);
                s.engine = Some(Engine::LlamaCpp);
                s.prompt_tokens = 1;
                s.output_tokens = 128;
            }),
            metric: Metric::DecodeTokensPerS,
            measured: 56.79,
            source: "ggml-org/llama.cpp PR #4766 (benchmark table)",
        },
        Row {
            figure: "LLaMA 7B Q4_0 prompt processing (pp512), llama.cpp CUDA",
            model: "llama-2-7b",
            hardware: "nvidia-tesla-p40",
            scenario: sc(|s| {
                s.precision = Some(Precision::Q4_0);
                s.engine = Some(Engine::LlamaCpp);
                s.prompt_tokens = 512;
                s.output_tokens = 1;
            }),
            metric: Metric::PrefillTokensPerS,
            measured: 912.41,
            source: "ggml-org/llama.cpp PR #4766 (benchmark table)",
        },
        Row {
            figure: "Llama 3.1 8B Q4_K_M decode, llama.cpp",
            model: "llama-3.1-8b",
            hardware: "nvidia-rtx-3080-10gb",
            scenario: sc(|s| {
                s.precision = Some(Precision::Q4KM);
                s.engine = Some(Engine::LlamaCpp);
                s.prompt_tokens = 1;
                s.output_tokens = 128;
            }),
            metric: Metric::DecodeTokensPerS,
            measured: 111.95,
            source: "dmatora/LLM-inference-speed-benchmarks issue #12 (build 93bc3839)",
        },
        Row {
            figure: "Llama 3.1 8B Q4_K_M prompt eval, llama.cpp",
            model: "llama-3.1-8b",
            hardware: "nvidia-rtx-3080-10gb",
            scenario: sc(|s| {
                s.precision = Some(Precision::Q4KM);
                s.engine = Some(Engine::LlamaCpp);
                s.prompt_tokens = 512;
                s.output_tokens = 1;
            }),
            metric: Metric::PrefillTokensPerS,
            measured: 3806.89,
            source: "dmatora/LLM-inference-speed-benchmarks issue #12 (build 93bc3839)",
        },
    ]
}

fn lookup(catalog: &Catalog, row: &Row) -> Result<(Model, ArchSummary, Hardware), String> {
    let model = match paper_model(row.model) {
        Some(m) => m,
        None => catalog.model(row.model).map_err(|e| e.to_string())?.clone(),
    };
    let summary = summarize(&model).map_err(|e: EstimateError| e.to_string())?;
    let hw = catalog
        .hardware_by_id(row.hardware)
        .map_err(|e| e.to_string())?
        .clone();
    Ok((model, summary, hw))
}

/// Runs every row against `catalog`.
pub fn run(catalog: &Catalog) -> Result<Vec<Outcome>, String> {
    let mut out = Vec::new();
    for row in rows() {
        let (model, summary, hw) = lookup(catalog, &row)?;
        let n = estimate_numbers(&model, &summary, &hw, &row.scenario)
            .map_err(|e| format!("{}: {e}", row.figure))?;
        let estimate = match row.metric {
            Metric::TrainingDeviceHours => n.training_device_hours,
            Metric::IterationSeconds { .. } => n.training_wall_s,
            Metric::TtftMs => n.ttft_s.map(|x| x * 1e3),
            Metric::TpotMs => n.tpot_s.map(|x| x * 1e3),
            Metric::DecodeTokensPerS => n.decode_tokens_per_s,
            Metric::PrefillTokensPerS => n.prefill_tokens_per_s,
        };
        let error = (estimate.p50 - row.measured) / row.measured;
        let in_band = estimate.p10 <= row.measured && row.measured <= estimate.p90;
        out.push(Outcome {
            row,
            estimate,
            error,
            in_band,
        });
    }
    Ok(out)
}

/// Median of |error|.
pub fn median_abs_error(outcomes: &[Outcome]) -> f64 {
    let mut e: Vec<f64> = outcomes.iter().map(|o| o.error.abs()).collect();
    e.sort_by(f64::total_cmp);
    match e.len() {
        0 => 0.0,
        n if n % 2 == 1 => e[n / 2],
        n => (e[n / 2 - 1] + e[n / 2]) / 2.0,
    }
}
