//! The numeric core: every dimension of one model x hardware x workload, as
//! (p10, p50, p90) bands, without strings or allocation so that sweeps are fast.

use sizewise_catalog::{Architecture, Hardware, HardwareClass, Model};

use crate::arch::{ParamCount, count_params, experts_touched};
use crate::error::EstimateError;
use crate::precision::{ComputeDtype, Precision};
use crate::priors::{Engine, PriorScale, Priors, Tri, priors, training_mfu};

/// A (p10, p50, p90) band of a quantity, p10 <= p50 <= p90.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Band {
    /// 10th percentile.
    pub p10: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
}

impl Band {
    /// A band from three values in any order.
    pub fn of(a: f64, b: f64, c: f64) -> Band {
        let mut v = [a, b, c];
        v.sort_by(f64::total_cmp);
        Band {
            p10: v[0],
            p50: v[1],
            p90: v[2],
        }
    }

    /// A known value (no spread).
    pub fn exact(v: f64) -> Band {
        Band {
            p10: v,
            p50: v,
            p90: v,
        }
    }

    /// Applies `f` to each point and re-sorts.
    pub fn map(self, f: impl Fn(f64) -> f64) -> Band {
        Band::of(f(self.p10), f(self.p50), f(self.p90))
    }

    /// True when every point is finite.
    pub fn is_finite(&self) -> bool {
        self.p10.is_finite() && self.p50.is_finite() && self.p90.is_finite()
    }
}

/// The bytes of a file's tensors of one GGUF type (`"Q4_K"`, `"Q8_0"`...) that one use
/// shares, for what depends on the type: which weights llama.cpp repacks for its CPU kernels.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedWeights {
    /// ggml's name of the type.
    pub ggml_type: String,
    /// Bytes of data.
    pub bytes: f64,
    /// Elements (weights).
    pub params: f64,
    /// Whether every generated token multiplies these matrices (the layers' and the output
    /// projection's, not a token-embedding table looked up row by row).
    pub decode: bool,
    /// Whether these tensors are matrices of the layers or the output projection, each with a
    /// number of rows that is a multiple of 8: the shape llama.cpp's repacked CPU kernels
    /// take. The token-embedding table, looked up row by row, is not.
    pub repackable_shape: bool,
    /// Rows of these matrices (weights over row length); 0 when unknown. The estimate does
    /// not use it: over 22 files the CPU kernels' speed followed the type, not the row
    /// length (docs/VALIDATION.md, "A fit over 22 files").
    pub rows: f64,
}

/// What the user asks about: the workload and the deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Weight precision (default: bf16 on datacenter GPUs, q4_k_m elsewhere).
    pub precision: Option<Precision>,
    /// Engine (default: vLLM on GPUs for float weights, llama.cpp otherwise).
    pub engine: Option<Engine>,
    /// Concurrent sequences decoded together.
    pub batch: u32,
    /// Prompt length in tokens.
    pub prompt_tokens: u64,
    /// Output length in tokens.
    pub output_tokens: u64,
    /// Tokens kept in the KV cache per sequence (default prompt + output).
    pub context: Option<u64>,
    /// Devices serving one replica (tensor parallelism).
    pub gpus: u32,
    /// Training tokens (default: the catalog's figure).
    pub training_tokens: Option<f64>,
    /// Devices for the training-time estimate.
    pub train_gpus: u32,
    /// Fine-tuning tokens for the fine-tuning estimate.
    pub finetune_tokens: f64,
    /// Requests per day, for monthly cost.
    pub requests_per_day: f64,
    /// Electricity price, USD per kWh.
    pub usd_per_kwh: f64,
    /// Grid carbon intensity, kg CO2 per kWh.
    pub kg_co2_per_kwh: f64,
    /// Memory of the device, GiB (2^30 bytes), used only when the catalog has no
    /// fixed size for it (CPUs with system RAM); ignored for other hardware.
    pub memory_gb: Option<f64>,
    /// Full activation recomputation in training (8·N·D instead of 6·N·D).
    pub recompute: bool,
    /// KV-cache format (default fp16; fp32 for fp32 weights). fp8, q8_0 and q4_0
    /// are what llama.cpp and vLLM offer.
    pub kv_precision: Option<Precision>,
    /// Network round trip between the user and the server, milliseconds: added
    /// once to TTFT and end-to-end time.
    pub network_rtt_ms: f64,
    /// Real average bits per weight of a file (a GGUF's tensors), used instead of
    /// the precision's nominal figure.
    pub weight_bits: Option<f64>,
    /// Corrections to the llama.cpp priors measured on the chosen hardware (a
    /// calibration); applied only when the engine is llama.cpp. `None` lets the caller's
    /// catalog supply one; [`PriorScale::NONE`] asks for the priors alone.
    pub calibration: Option<PriorScale>,
    /// CPU threads the engine runs; on a CPU whose figures say how they scale with
    /// threads (`sizewise probe`'s `local`), fewer threads get less bandwidth and compute.
    /// `None`: all of them.
    pub threads: Option<u32>,
    /// A file's weights by tensor type (empty when not known, e.g. a catalog model).
    pub weight_types: Vec<TypedWeights>,
    /// Whether the engine maps the model file (llama.cpp's default) rather than reading it.
    pub mapped: bool,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            precision: None,
            engine: None,
            batch: 1,
            prompt_tokens: 1000,
            output_tokens: 250,
            context: None,
            gpus: 1,
            training_tokens: None,
            train_gpus: 1024,
            finetune_tokens: 1e8,
            requests_per_day: 10_000.0,
            usd_per_kwh: 0.15,
            kg_co2_per_kwh: 0.4,
            memory_gb: None,
            recompute: false,
            kv_precision: None,
            network_rtt_ms: 0.0,
            weight_bits: None,
            calibration: None,
            threads: None,
            weight_types: Vec::new(),
            mapped: true,
        }
    }
}

/// Electricity-to-compute overhead of a datacenter (cooling, power conversion).
pub const PUE: f64 = 1.2;
/// Hours in an average month.
pub const HOURS_PER_MONTH: f64 = 730.5;
/// Years over which a purchased device is written off.
pub const AMORTIZATION_YEARS: f64 = 3.0;
/// Chinchilla's compute-optimal ratio of training tokens to parameters.
pub const CHINCHILLA_TOKENS_PER_PARAM: f64 = 20.0;
/// Bytes per parameter for full training with Adam in mixed precision: bf16
/// weights (2) and gradients (2), fp32 master weights and two moments (12).
pub const TRAIN_BYTES_PER_PARAM: f64 = 16.0;
/// Sequence length assumed for training activations.
pub const TRAIN_SEQ: f64 = 4096.0;
/// LoRA rank assumed for the fine-tuning memory estimate (q, k, v, o adapters).
pub const LORA_RANK: f64 = 16.0;

/// The architecture reduced to the numbers the estimator needs, computed once
/// per model so that each estimate is O(1).
#[derive(Debug, Clone, PartialEq)]
pub struct ArchSummary {
    /// Parameter counts.
    pub params: ParamCount,
    /// Transformer blocks.
    pub layers: f64,
    /// Residual width.
    pub hidden: f64,
    /// Vocabulary size.
    pub vocab: f64,
    /// KV elements per token of full-attention layers.
    pub kv_full: f64,
    /// KV elements per token of sliding-window layers.
    pub kv_slide: f64,
    /// Sliding window (tokens), infinity when none.
    pub window: f64,
    /// Attention FLOPs per attended token, full layers.
    pub attn_full: f64,
    /// Attention FLOPs per attended token, sliding layers.
    pub attn_slide: f64,
    /// (experts, active) for MoE models.
    pub moe: Option<(u32, u32)>,
    /// Parameters of one expert summed over all layers.
    pub expert_params: f64,
    /// Mean feed-forward width (per active expert set).
    pub ffn: f64,
    /// Query heads (mean).
    pub heads: f64,
    /// Query heads summed over full-attention layers: each attends every cached token.
    pub heads_full: f64,
    /// Query heads summed over sliding-window layers.
    pub heads_slide: f64,
}

impl ArchSummary {
    /// Summarises `a`.
    pub fn new(a: &Architecture, context_window: Option<u64>) -> ArchSummary {
        let params = count_params(a, context_window);
        let hd = a.head_dim as f64;
        let (mut kv_full, mut kv_slide, mut attn_full, mut attn_slide) = (0.0, 0.0, 0.0, 0.0);
        let mut ffn = 0.0;
        let mut heads = 0.0;
        let (mut heads_full, mut heads_slide) = (0.0, 0.0);
        for i in 0..a.layers as usize {
            let kv = 2.0 * a.kv_heads_at(i) as f64 * hd;
            let at = 4.0 * a.heads_at(i) as f64 * hd;
            if a.is_sliding_layer(i) {
                kv_slide += kv;
                attn_slide += at;
                heads_slide += a.heads_at(i) as f64;
            } else {
                kv_full += kv;
                attn_full += at;
                heads_full += a.heads_at(i) as f64;
            }
            ffn += a.ffn_at(i) as f64;
            heads += a.heads_at(i) as f64;
        }
        let layers = a.layers.max(1) as f64;
        let moe = match (a.experts, a.experts_active) {
            (Some(e), Some(k)) if e > 1 => Some((e, k)),
            _ => None,
        };
        let expert_params = match moe {
            Some((e, k)) if e > k => (params.blocks_total - params.blocks_active) / (e - k) as f64,
            _ => 0.0,
        };
        ArchSummary {
            params,
            layers,
            hidden: a.hidden as f64,
            vocab: a.vocab as f64,
            kv_full,
            kv_slide,
            window: a.sliding_window.map_or(f64::INFINITY, |w| w as f64),
            attn_full,
            attn_slide,
            moe,
            expert_params,
            ffn: ffn / layers * moe.map_or(1.0, |(_, k)| k as f64),
            heads: heads / layers,
            heads_full,
            heads_slide,
        }
    }

    /// KV elements for one sequence holding `ctx` tokens.
    pub fn kv_elems(&self, ctx: f64) -> f64 {
        self.kv_full * ctx + self.kv_slide * ctx.min(self.window)
    }

    /// The longest context whose KV cache holds at most `elems` elements per
    /// sequence (the inverse of [`ArchSummary::kv_elems`]), 0 when none fits.
    pub fn context_for_kv_bytes(&self, elems: f64) -> f64 {
        if elems.is_nan() || elems <= 0.0 {
            return 0.0;
        }
        let all = self.kv_full + self.kv_slide;
        if all <= 0.0 {
            return f64::INFINITY;
        }
        let within = elems / all;
        let c = if within <= self.window {
            within
        } else if self.kv_full > 0.0 {
            (elems - self.kv_slide * self.window) / self.kv_full
        } else {
            f64::INFINITY
        };
        c.floor()
    }

    /// Attention FLOPs of one new token over `ctx` earlier tokens.
    pub fn attn_token(&self, ctx: f64) -> f64 {
        self.attn_full * ctx + self.attn_slide * ctx.min(self.window)
    }

    /// (query head, cached token) pairs one new token's attention visits over `ctx` earlier
    /// tokens, summed over the layers.
    pub fn attn_head_positions(&self, ctx: f64) -> f64 {
        self.heads_full * ctx + self.heads_slide * ctx.min(self.window)
    }

    /// Attention FLOPs of a causal prefill of `n` tokens.
    pub fn attn_prefill(&self, n: f64) -> f64 {
        let w = self.window;
        let slide_pairs = if w < n {
            w * w / 2.0 + (n - w) * w
        } else {
            n * n / 2.0
        };
        self.attn_full * n * n / 2.0 + self.attn_slide * slide_pairs
    }

    /// Weights read from memory for one decode step of `batch` sequences
    /// (parameters, not bytes): blocks with the experts the batch touches, plus
    /// the output projection.
    pub fn weights_read(&self, batch: f64) -> f64 {
        match self.moe {
            Some((e, k)) => {
                let shared = self.params.blocks_active - k as f64 * self.expert_params;
                shared + experts_touched(e, k, batch) * self.expert_params + self.params.lm_head
            }
            None => self.params.blocks_active + self.params.lm_head,
        }
    }
}

/// The resolved deployment: what was chosen where the user left a default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deployment {
    /// Weight precision.
    pub precision: Precision,
    /// Engine.
    pub engine: Engine,
    /// Efficiency priors used.
    pub priors: Priors,
    /// Peak FLOP/s used for the matrix products (one device).
    pub peak_flops: f64,
    /// Peak f32 FLOP/s of one device: what llama.cpp's CPU kernels are priced against
    /// ([`crate::priors::cpu_decode_kernel`]).
    pub f32_flops: f64,
    /// Which peak that is.
    pub compute: ComputeDtype,
    /// Peak memory bandwidth of one device, bytes/s.
    pub bandwidth: f64,
    /// Device memory, bytes (one device).
    pub memory_bytes: f64,
    /// Share of device memory a model may use.
    pub usable_fraction: f64,
    /// Bytes per KV-cache element.
    pub kv_bytes: f64,
    /// Bytes per weight (the precision's, or the file's real average).
    pub weight_bytes: f64,
    /// Device-to-device bandwidth, bytes/s.
    pub link_bw: f64,
    /// Latency of one all-reduce, seconds.
    pub link_latency_s: f64,
    /// True when the compute peak is a third-party estimate, not a datasheet figure.
    pub peak_is_estimate: bool,
    /// The calibration applied to the priors, when there was one.
    pub calibration: Option<PriorScale>,
}

/// Every number of the estimate, as bands.
#[derive(Debug, Clone, PartialEq)]
pub struct Numbers {
    /// The resolved deployment.
    pub deployment: Deployment,
    /// Weights in memory (all experts), bytes.
    pub weights_bytes: f64,
    /// KV cache for the batch at the scenario's context, bytes.
    pub kv_bytes: f64,
    /// KV bytes per token of context (one sequence).
    pub kv_bytes_per_token: f64,
    /// Transient activations and logits, bytes.
    pub activation_bytes: f64,
    /// Engine runtime (backend context: CUDA, ROCm, Metal or CPU; buffers), bytes.
    pub runtime_bytes: f64,
    /// Weights llama.cpp copies into its own buffers in the layout of its CPU kernels
    /// (repacked), bytes; counted once in `weights_bytes`.
    pub repacked_bytes: f64,
    /// The most memory the process holds: `inference_memory_bytes`, plus the file pages of
    /// repacked weights when the file is mapped, which were read to repack them and stay
    /// resident until the system needs the memory (they are clean and can be dropped).
    pub peak_resident_bytes: f64,
    /// Memory needed to serve (all devices), bytes.
    pub inference_memory_bytes: f64,
    /// Usable memory of all devices, bytes.
    pub usable_memory_bytes: f64,
    /// Whether the scenario fits.
    pub fits: bool,
    /// Devices needed to hold weights, cache and buffers.
    pub min_devices: u32,
    /// Longest context per sequence that fits beside the weights (capped by the model's window).
    pub max_context_fits: f64,
    /// FLOPs per output token (batch 1, average context).
    pub flops_per_token: f64,
    /// Bytes moved per decode step per sequence.
    pub bytes_per_token: f64,
    /// True when decode at this batch is limited by bandwidth.
    pub memory_bound: bool,
    /// Time to first token, seconds.
    pub ttft_s: Band,
    /// Time per output token (at the scenario's batch), seconds.
    pub tpot_s: Band,
    /// Decode tokens/s of one stream.
    pub decode_tokens_per_s: Band,
    /// End-to-end request time, seconds.
    pub e2e_s: Band,
    /// Output tokens/s over the whole batch, prefill share included.
    pub throughput_tokens_per_s: Band,
    /// Prefill tokens/s.
    pub prefill_tokens_per_s: Band,
    /// Training FLOPs (6·N·D).
    pub training_flops: f64,
    /// Training tokens used.
    pub training_tokens: f64,
    /// True when the training tokens are the compute-optimal default, not a fact.
    pub training_tokens_assumed: bool,
    /// Training MFU band.
    pub training_mfu: Band,
    /// Device-hours to train.
    pub training_device_hours: Band,
    /// Wall time on `train_gpus` devices, seconds.
    pub training_wall_s: Band,
    /// Full fine-tune device-hours on `finetune_tokens`.
    pub finetune_full_hours: Band,
    /// LoRA fine-tune device-hours on `finetune_tokens`.
    pub finetune_lora_hours: Band,
    /// Memory to train (full), bytes.
    pub train_memory_full: f64,
    /// Memory for LoRA on bf16 weights, bytes.
    pub train_memory_lora: f64,
    /// Memory for QLoRA on 4-bit weights, bytes.
    pub train_memory_qlora: f64,
    /// Hourly cost of one replica (all devices), USD, when a price is known.
    pub usd_per_hour: Option<f64>,
    /// True when the hourly cost comes from a purchase price written off, not a rental.
    pub usd_per_hour_from_purchase: bool,
    /// True when the hourly cost is electricity alone (no price in the catalog).
    pub usd_per_hour_electricity_only: bool,
    /// Self-hosted USD per 1M output tokens at the scenario's batch.
    pub self_hosted_usd_per_1m_output: Option<Band>,
    /// Self-hosted monthly cost of the workload.
    pub monthly_self_hosted_usd: Option<Band>,
    /// Replicas needed for the workload's average rate.
    pub replicas: Band,
    /// Training cost at the device's rental price.
    pub training_usd: Option<Band>,
    /// Energy per 1M output tokens, kWh.
    pub kwh_per_1m_output: Option<Band>,
    /// Training energy, kWh.
    pub training_kwh: Option<Band>,
    /// Training emissions, kg CO2.
    pub training_co2_kg: Option<Band>,
}

fn usable_fraction(class: HardwareClass) -> f64 {
    match class {
        HardwareClass::DatacenterGpu | HardwareClass::ConsumerGpu => 0.92,
        // macOS lets the GPU wire about 70-75% of unified memory by default.
        HardwareClass::AppleSilicon => 0.70,
        // The OS and other apps keep most of a phone's memory.
        HardwareClass::Phone => 0.40,
        HardwareClass::Edge => 0.80,
        HardwareClass::Cpu => 0.85,
    }
}

fn default_precision(h: &Hardware) -> Precision {
    match h.class {
        HardwareClass::DatacenterGpu if h.bf16_tflops.is_some() => Precision::Bf16,
        HardwareClass::DatacenterGpu => Precision::Fp16,
        _ => Precision::Q4KM,
    }
}

fn default_engine(h: &Hardware, p: Precision) -> Engine {
    if h.class.is_gpu() && !p.is_gguf() {
        Engine::Vllm
    } else {
        Engine::LlamaCpp
    }
}

fn peak_for(h: &Hardware, dtype: ComputeDtype) -> Option<f64> {
    let t = match dtype {
        ComputeDtype::Fp32 => h.fp32_tflops,
        ComputeDtype::Fp16 => h.fp16_tflops,
        ComputeDtype::Bf16 => h.bf16_tflops,
        ComputeDtype::Fp8 => h.fp8_tflops,
        ComputeDtype::Int8 => h.int8_tops,
    };
    t.map(|x| x * 1e12)
}

/// What to run instead of a float format `h` has no units for: the formats its
/// datasheet does list (a T4 has fp16 but no bf16, so it is told fp16).
fn unsupported_hint(h: &Hardware, precision: Precision) -> String {
    let floats: Vec<&str> = [
        (Precision::Bf16, h.bf16_tflops),
        (Precision::Fp16, h.fp16_tflops),
        (Precision::Fp8, h.fp8_tflops),
    ]
    .iter()
    .filter(|(p, t)| *p != precision && t.is_some())
    .map(|(p, _)| p.name())
    .collect();
    let mut options = floats.clone();
    // Weight-only int8/int4 run on the fp16 tensor path.
    if h.fp16_tflops.is_some() || h.bf16_tflops.is_some() {
        options.extend(["int8", "int4"]);
    }
    let why = match precision {
        Precision::Fp8 => "FP8 needs Ada, Hopper or newer",
        Precision::Bf16 => "bf16 needs Ampere or newer",
        _ => "its datasheet lists no units for it",
    };
    match options.as_slice() {
        [] => format!(
            "{why}; {} lists no tensor-core format: use --precision fp32, or a GGUF format such as q4_k_m with --engine llama.cpp",
            h.id
        ),
        [one] => format!("{why}: use --precision {one}"),
        [init @ .., last] => format!("{why}: use --precision {} or {last}", init.join(", ")),
    }
}

/// Resolves defaults and checks that the hardware can run the scenario.
pub fn deployment(h: &Hardware, s: &Scenario) -> Result<Deployment, EstimateError> {
    let precision = match (s.precision, s.engine) {
        (Some(p), _) => p,
        // GPU serving engines run float weights by default.
        (None, Some(e)) if e != Engine::LlamaCpp => {
            if h.bf16_tflops.is_some() {
                Precision::Bf16
            } else {
                Precision::Fp16
            }
        }
        (None, _) => default_precision(h),
    };
    let engine = s.engine.unwrap_or_else(|| default_engine(h, precision));
    // `PriorScale::NONE` is how a caller asks for the priors alone.
    let calibration = s
        .calibration
        .filter(|c| engine == Engine::LlamaCpp && *c != PriorScale::NONE);
    let pri = priors(engine, h.class, &h.id)?;
    let pri = calibration.map_or(pri, |c| c.apply(pri));
    if engine == Engine::LlamaCpp
        && matches!(
            precision,
            Precision::Fp8 | Precision::Int8 | Precision::Int4
        )
    {
        return Err(EstimateError::InvalidScenario(format!(
            "llama.cpp does not run {precision} weights: it runs fp32, bf16, fp16 and GGUF types\n  hint: use --precision q8_0 (8-bit) or q4_k_m (4-bit), or --engine vllm on a GPU"
        )));
    }
    if precision.is_gguf() && engine != Engine::LlamaCpp {
        return Err(EstimateError::InvalidScenario(format!(
            "{precision} is a GGUF format, which {} does not run\n  hint: use --engine llama.cpp, or a precision such as bf16, fp8, int8 or int4",
            engine.name()
        )));
    }
    let mut peak_is_estimate = false;
    let (compute, peak) = if h.class.is_gpu() {
        let want = precision.gpu_compute();
        match peak_for(h, want) {
            Some(p) => (want, p),
            None => {
                // Float formats need their own units; quantised weights fall back
                // to the fp16 tensor path, then to plain fp32 cores.
                let fallback = match precision {
                    Precision::Bf16 | Precision::Fp8 => None,
                    Precision::Fp16 => None,
                    _ => peak_for(h, ComputeDtype::Fp16)
                        .map(|p| (ComputeDtype::Fp16, p))
                        .or_else(|| {
                            peak_for(h, ComputeDtype::Fp32).map(|p| (ComputeDtype::Fp32, p))
                        }),
                };
                match fallback {
                    Some(f) => f,
                    None => {
                        return Err(EstimateError::Unsupported {
                            hardware: h.id.clone(),
                            what: format!("{precision} (no {want:?} throughput in its datasheet)"),
                            hint: unsupported_hint(h, precision),
                        });
                    }
                }
            }
        }
    } else {
        // CPUs and SoCs: quantised weights use int8 dot products where the
        // catalog has them, everything else the fp32 SIMD peak.
        let int8 = if precision.is_quantized() {
            peak_for(h, ComputeDtype::Int8)
        } else {
            None
        };
        match int8
            .map(|p| (ComputeDtype::Int8, p))
            .or_else(|| peak_for(h, ComputeDtype::Fp32).map(|p| (ComputeDtype::Fp32, p)))
        {
            Some(x) => x,
            None => match h.estimate("fp32_tflops").and_then(|e| e.value) {
                Some(v) => {
                    peak_is_estimate = true;
                    (ComputeDtype::Fp32, v * 1e12)
                }
                None => {
                    return Err(EstimateError::MissingFact {
                        what: format!("{} has no published compute throughput", h.id),
                        hint: "add fp32_tflops to a catalog override (docs/CATALOG.md), or run `sizewise probe` on the machine".into(),
                    });
                }
            },
        }
    };
    // `memory_gb` describes a machine whose catalog entry has no fixed size (a
    // CPU with system RAM); a device with its own memory keeps it.
    let memory_bytes = match (h.memory_bytes(), s.memory_gb) {
        (Some(b), _) => b,
        (None, Some(gb)) => gb * sizewise_catalog::hardware::MEMORY_GB_BYTES,
        (None, None) => {
            return Err(EstimateError::MissingFact {
                what: format!(
                    "{} has no fixed memory size (it depends on the system)",
                    h.id
                ),
                hint: "pass --memory-gb N with the machine's RAM".into(),
            });
        }
    };
    // An engine that runs fewer threads than a measured CPU's figures were taken with gets
    // what that many threads reach.
    // llama.cpp's CPU kernels are priced as shares of the f32 SIMD peak, whichever peak
    // the prompt's matrix products use.
    let f32_peak = match compute {
        ComputeDtype::Int8 if !h.class.is_gpu() => peak_for(h, ComputeDtype::Fp32).unwrap_or(peak),
        _ => peak,
    };
    let (bandwidth, peak, f32_peak) = match s.threads.and_then(|t| h.for_threads(t)) {
        Some((bw, flops)) => {
            let share = h
                .fp32_tflops
                .map_or(1.0, |all| (flops / (all * 1e12)).min(1.0));
            (bw, peak * share, f32_peak * share)
        }
        None => (h.bandwidth_bytes_per_s(), peak, f32_peak),
    };
    let (link_bw, link_latency_s) = match h.interconnect_gbs {
        Some(g) => (g * 1e9, 10e-6),
        // PCIe 4.0 x16, about 25 GB/s in practice, with a higher launch latency.
        None => (25e9, 25e-6),
    };
    Ok(Deployment {
        precision,
        engine,
        priors: pri,
        peak_flops: peak,
        f32_flops: f32_peak,
        compute,
        bandwidth,
        memory_bytes,
        usable_fraction: usable_fraction(h.class),
        kv_bytes: match s.kv_precision {
            Some(k) => k.bytes_per_weight(),
            None if precision == Precision::Fp32 => 4.0,
            None => 2.0,
        },
        weight_bytes: s
            .weight_bits
            .filter(|b| b.is_finite() && *b > 0.0)
            .map_or(precision.bytes_per_weight(), |b| b / 8.0),
        link_bw,
        link_latency_s,
        peak_is_estimate,
        calibration,
    })
}

/// Prefill chunk of the engine: llama.cpp processes prompts in micro-batches of 512.
fn prefill_chunk(e: Engine) -> f64 {
    match e {
        Engine::LlamaCpp => 512.0,
        Engine::Vllm | Engine::TrtLlm => 8192.0,
        Engine::Transformers => f64::INFINITY,
    }
}

fn runtime_bytes(d: &Deployment, class: HardwareClass, vocab: f64) -> f64 {
    let gib = 1024f64.powi(3);
    let mib = 1024f64.powi(2);
    match (d.engine, class.is_gpu()) {
        (Engine::Vllm | Engine::TrtLlm, _) => 1.0 * gib,
        (Engine::Transformers, _) => 0.8 * gib,
        (Engine::LlamaCpp, true) => 0.4 * gib,
        // The process, llama.cpp's context and compute buffers, and the vocabulary's tables
        // (token strings and maps, about 256 bytes per token): fitted to peak RSS of
        // SmolLM2-135M, Gemma 3 270M and Qwen2.5-0.5B on a CPU (docs/VALIDATION.md).
        (Engine::LlamaCpp, false) => 40.0 * mib + 256.0 * vocab,
    }
}

/// Per-device efficiency of matrix products falls as tensor parallelism makes
/// each device's share of every matrix smaller.
fn tp_efficiency(gpus: f64) -> f64 {
    1.0 / (1.0 + 0.15 * (gpus - 1.0))
}

/// Seconds per token that llama.cpp's matrix-vector kernels on a CPU spend on the weights
/// one decode step multiplies, type by type, at each type's prior share of the f32 peak
/// ([`crate::priors::cpu_decode_kernel`]). The file's tensor types when known, else the
/// precision's main type; `None` for other engines and hardware, and for formats llama.cpp
/// does not run.
fn cpu_kernel_seconds(
    a: &ArchSummary,
    d: &Deployment,
    s: &Scenario,
    class: HardwareClass,
) -> Option<f64> {
    if d.engine != Engine::LlamaCpp || class != HardwareClass::Cpu || d.f32_flops <= 0.0 {
        return None;
    }
    // Each weight costs a multiply-add at the type's share of the f32 peak.
    let seconds =
        |t: &str, params: f64| 2.0 * params / crate::priors::cpu_decode_kernel(t) / d.f32_flops;
    let typed: Vec<&TypedWeights> = s.weight_types.iter().filter(|t| t.decode).collect();
    if typed.is_empty() {
        let t = d.precision.ggml_type()?;
        return Some(seconds(t, a.weights_read(1.0)));
    }
    Some(typed.iter().map(|t| seconds(&t.ggml_type, t.params)).sum())
}

/// Seconds llama.cpp's CPU flash attention spends on one decoded token over `ctx` cached
/// tokens (one sequence): the multiply-adds of the scores and the weighted sum, plus a fixed
/// cost for every (query head, cached token) pair ([`crate::priors::CPU_ATTENTION_PAIR_COST`]),
/// at `peak` f32 FLOP/s (positive: [`cpu_kernel_seconds`] has checked it).
fn cpu_attention_seconds(a: &ArchSummary, peak: f64, ctx: f64) -> f64 {
    (a.attn_token(ctx) / crate::priors::CPU_ATTENTION_SHARE
        + 2.0 * crate::priors::CPU_ATTENTION_PAIR_COST * a.attn_head_positions(ctx))
        / peak
}

/// Seconds llama.cpp on a CPU spends per decoded token on the logits beyond the output
/// projection: copying them out and the sampler's pass over every vocabulary entry
/// ([`crate::priors::CPU_LOGIT_COST`]), at `peak` f32 FLOP/s.
fn cpu_logits_seconds(a: &ArchSummary, peak: f64) -> f64 {
    2.0 * crate::priors::CPU_LOGIT_COST * a.vocab / peak
}

struct Timing {
    ttft: f64,
    tpot: f64,
    prefill_batch: f64,
}

/// One point of the efficiency bands, as [`timing`] uses it.
struct Efficiency {
    /// Share of peak FLOPs in prefill.
    mfu: f64,
    /// Share of peak FLOPs for decode's compute term.
    decode_mfu: f64,
    /// Share of peak bandwidth in decode.
    bw_eff: f64,
    /// Fixed time per layer per pass, seconds.
    layer_s: f64,
    /// Fixed time per request, seconds.
    req_s: f64,
    /// Seconds per decoded token of llama.cpp's matrix-vector kernels on a CPU, type by type
    /// (one sequence, at the kernels' prior efficiency); `None` where the compute term is
    /// the model's FLOPs at `decode_mfu`.
    kernel_s: Option<f64>,
    /// Multiplies the kernels' prior efficiency: the band's point and a calibration.
    kernel_eff: f64,
}

fn timing(a: &ArchSummary, d: &Deployment, s: &Scenario, e: Efficiency) -> Timing {
    let Efficiency {
        mfu,
        decode_mfu,
        bw_eff,
        layer_s,
        req_s,
        kernel_s,
        kernel_eff,
    } = e;
    let g = s.gpus.max(1) as f64;
    let b = s.batch.max(1) as f64;
    let p = s.prompt_tokens as f64;
    let o = s.output_tokens as f64;
    let wbytes = d.weight_bytes;
    let flops_rate = d.peak_flops * mfu * g * tp_efficiency(g);
    let bw = d.bandwidth * bw_eff * g;
    let comm = |tokens: f64| -> f64 {
        if g > 1.0 {
            2.0 * a.layers
                * (d.link_latency_s + tokens * a.hidden * 2.0 * 2.0 * (g - 1.0) / g / d.link_bw)
        } else {
            0.0
        }
    };
    let chunk = prefill_chunk(d.engine);
    // Prefill of one prompt.
    let prefill = |tokens: f64, seqs: f64| -> f64 {
        let per_seq = tokens / seqs;
        // Serving engines compute logits for the last prompt token only; eager
        // `transformers` computes them for every position.
        let logits_tokens = if d.engine == Engine::Transformers {
            tokens
        } else {
            seqs
        };
        let flops = 2.0 * (a.params.matmul_active - a.params.lm_head) * tokens
            + 2.0 * a.params.lm_head * logits_tokens
            + seqs * a.attn_prefill(per_seq);
        let passes = (tokens / chunk).ceil().max(1.0);
        let read = passes * a.weights_read(tokens.min(chunk)) * wbytes;
        (flops / flops_rate).max(read / bw) + passes * a.layers * layer_s + comm(tokens)
    };
    let ttft = prefill(p.max(1.0), 1.0) + req_s + s.network_rtt_ms.max(0.0) / 1e3;
    let ctx = p + o / 2.0;
    let kv_read = b * a.kv_elems(ctx) * d.kv_bytes;
    let step_bytes = a.weights_read(b) * wbytes + kv_read;
    let step_flops = b * (2.0 * a.params.matmul_active + a.attn_token(ctx));
    let decode_flops_rate = d.peak_flops * decode_mfu * g * tp_efficiency(g);
    let tpot = match kernel_s {
        // llama.cpp on a CPU runs a step's ops one after another: the weights' kernels,
        // then the attention over the cache, each bound by memory or by the cores, then the
        // pass over the logits. The band and a calibration scale all the cores' work.
        Some(k) => {
            let weights_s = (a.weights_read(b) * wbytes / bw).max(b * k / kernel_eff);
            let attention_s =
                (kv_read / bw).max(b * cpu_attention_seconds(a, d.f32_flops, ctx) / kernel_eff);
            let logits_s = b * cpu_logits_seconds(a, d.f32_flops) / kernel_eff;
            weights_s + attention_s + logits_s + a.layers * layer_s + comm(b)
        }
        None => {
            (step_bytes / bw).max(step_flops / decode_flops_rate) + a.layers * layer_s + comm(b)
        }
    };
    Timing {
        ttft,
        tpot,
        prefill_batch: prefill((p * b).max(1.0), b),
    }
}

/// Estimates every dimension for `model` on `h` under `s`.
pub fn estimate_numbers(
    model: &Model,
    a: &ArchSummary,
    h: &Hardware,
    s: &Scenario,
) -> Result<Numbers, EstimateError> {
    if s.batch == 0 {
        return Err(EstimateError::InvalidScenario(
            "--batch must be at least 1".into(),
        ));
    }
    if s.gpus == 0 || s.train_gpus == 0 {
        return Err(EstimateError::InvalidScenario(
            "--gpus must be at least 1".into(),
        ));
    }
    if s.gpus > 1 && !h.class.is_gpu() {
        return Err(EstimateError::InvalidScenario(format!(
            "{} is not a GPU: tensor parallelism across --gpus {} applies to GPUs only",
            h.id, s.gpus
        )));
    }
    if s.output_tokens == 0 {
        return Err(EstimateError::InvalidScenario(
            "--output-tokens must be at least 1".into(),
        ));
    }
    let d = deployment(h, s)?;
    let g = s.gpus as f64;
    let b = s.batch as f64;
    let p = s.prompt_tokens as f64;
    let o = s.output_tokens as f64;
    let ctx = s.context.map_or(p + o, |c| c as f64);
    if let (Some(w), Some(c)) = (model.context_window, s.context)
        && c > w
    {
        {
            return Err(EstimateError::InvalidScenario(format!(
                "a context of {c} tokens is longer than {}'s window of {w} tokens\n  hint: `sizewise tokens --file F` shows how much would be cut",
                model.id
            )));
        }
    }
    let wbytes = d.weight_bytes;
    let weights_bytes = a.params.total * wbytes;
    let repacked_bytes = if d.engine == Engine::LlamaCpp && h.class == HardwareClass::Cpu {
        s.weight_types
            .iter()
            .filter(|t| t.repackable_shape && crate::priors::x86_cpu_repacks(&t.ggml_type))
            .fold(0.0, |sum, t| sum + t.bytes)
    } else {
        0.0
    };
    let kv_bytes_per_token = (a.kv_full + a.kv_slide) * d.kv_bytes;
    let kv_bytes = b * a.kv_elems(ctx) * d.kv_bytes;
    let chunk = prefill_chunk(d.engine).min(p.max(1.0));
    let act_tokens = chunk * if d.engine == Engine::LlamaCpp { 1.0 } else { b };
    let mut activation_bytes =
        act_tokens * (4.0 * a.hidden + 2.0 * a.ffn) * 2.0 + b * a.vocab * 4.0;
    if d.engine == Engine::Transformers {
        // Eager attention materialises the score matrix of one layer.
        activation_bytes += b * a.heads * p * p * 2.0;
    }
    let runtime = runtime_bytes(&d, h.class, a.vocab);
    let per_device_need = (weights_bytes + kv_bytes) / g + activation_bytes + runtime;
    let usable = d.memory_bytes * d.usable_fraction;
    let fits = per_device_need <= usable;
    let spare = usable - activation_bytes - runtime;
    let min_devices = if spare <= 0.0 {
        u32::MAX
    } else {
        ((weights_bytes + kv_bytes) / spare)
            .ceil()
            .max(1.0)
            .min(u32::MAX as f64) as u32
    };
    let room = usable * g - weights_bytes - g * (activation_bytes + runtime);
    let mut max_context_fits = a.context_for_kv_bytes(room / (b * d.kv_bytes));
    if let Some(w) = model.context_window {
        max_context_fits = max_context_fits.min(w as f64);
    }

    let pri = d.priors;
    // A calibration's prefill factor comes from prompt processing; decode's compute term
    // keeps the prior, so that a short benchmark prompt does not cap generation speed.
    let prefill_factor = d.calibration.map_or(1.0, |c| c.prefill_mfu);
    // A calibration's decode factor scales whichever bound decode meets: the bandwidth or
    // the kernels.
    let decode_factor = d.calibration.map_or(1.0, |c| c.decode_bw);
    let kernel_s = cpu_kernel_seconds(a, &d, s, h.class);
    let run = |mfu: f64, bw: f64, layer: f64, req: f64, kernel: f64| {
        let e = Efficiency {
            mfu,
            decode_mfu: mfu / prefill_factor,
            bw_eff: bw,
            layer_s: layer,
            req_s: req,
            kernel_s,
            kernel_eff: kernel * decode_factor,
        };
        timing(a, &d, s, e)
    };
    let kernel_band = crate::priors::CPU_KERNEL_BAND;
    let fast = run(
        pri.prefill_mfu.hi,
        pri.decode_bw.hi,
        pri.per_layer_s.hi,
        pri.per_request_s.hi,
        kernel_band.hi,
    );
    let mid = run(
        pri.prefill_mfu.mid,
        pri.decode_bw.mid,
        pri.per_layer_s.mid,
        pri.per_request_s.mid,
        kernel_band.mid,
    );
    let slow = run(
        pri.prefill_mfu.lo,
        pri.decode_bw.lo,
        pri.per_layer_s.lo,
        pri.per_request_s.lo,
        kernel_band.lo,
    );
    let ttft_s = Band::of(fast.ttft, mid.ttft, slow.ttft);
    let tpot_s = Band::of(fast.tpot, mid.tpot, slow.tpot);
    let decode_tokens_per_s = tpot_s.map(|t| 1.0 / t);
    let e2e = |t: &Timing| t.ttft + (o - 1.0) * t.tpot;
    let e2e_s = Band::of(e2e(&fast), e2e(&mid), e2e(&slow));
    let thr = |t: &Timing| b * o / (t.prefill_batch + o * t.tpot);
    let throughput = Band::of(thr(&fast), thr(&mid), thr(&slow));
    let prefill_tokens_per_s = Band::of(p / fast.ttft, p / mid.ttft, p / slow.ttft);

    let avg_ctx = p + o / 2.0;
    let flops_per_token = 2.0 * a.params.matmul_active + a.attn_token(avg_ctx);
    let bytes_per_token = a.weights_read(b) * wbytes / b + a.kv_elems(avg_ctx) * d.kv_bytes;
    let step_bytes = a.weights_read(b) * wbytes + b * a.kv_elems(avg_ctx) * d.kv_bytes;
    let memory_bound = step_bytes / (d.bandwidth * pri.decode_bw.mid)
        >= b * flops_per_token / (d.peak_flops * pri.prefill_mfu.mid);

    // Training.
    let n = a.params.active;
    let (training_tokens, training_tokens_assumed) =
        match s.training_tokens.or(model.training_tokens) {
            Some(t) => (t, false),
            None => (CHINCHILLA_TOKENS_PER_PARAM * a.params.total, true),
        };
    let training_flops = if s.recompute { 8.0 } else { 6.0 } * n * training_tokens;
    let train_peak = h
        .bf16_tflops
        .or(h.fp16_tflops)
        .or(h.fp32_tflops)
        .map(|t| t * 1e12)
        .unwrap_or(d.peak_flops);
    let mfu: Tri = training_mfu(train_peak / 1e12);
    let hours = |flops: f64| {
        Band::of(
            flops / (train_peak * mfu.hi) / 3600.0,
            flops / (train_peak * mfu.mid) / 3600.0,
            flops / (train_peak * mfu.lo) / 3600.0,
        )
    };
    let training_device_hours = hours(training_flops);
    let training_wall_s = training_device_hours.map(|x| x * 3600.0 / s.train_gpus as f64);
    let finetune_full_hours = hours(6.0 * n * s.finetune_tokens);
    // LoRA skips weight gradients: forward (2ND) plus activation gradients (2ND).
    let finetune_lora_hours = hours(4.0 * n * s.finetune_tokens);
    let train_act = 2.0 * TRAIN_SEQ * a.hidden * a.layers * 2.0;
    let lora_params = LORA_RANK * 2.0 * a.hidden * 4.0 * a.layers;
    let train_memory_full = a.params.total * TRAIN_BYTES_PER_PARAM + train_act;
    let train_memory_lora = a.params.total * 2.0 + lora_params * TRAIN_BYTES_PER_PARAM + train_act;
    let train_memory_qlora =
        a.params.total * 0.55 + lora_params * TRAIN_BYTES_PER_PARAM + train_act;

    // Costs and energy.
    let tdp = h
        .tdp_w
        .or_else(|| h.estimate("tdp_w").and_then(|e| e.value));
    let power_usd_per_hour = tdp.map(|w| w / 1000.0 * s.usd_per_kwh);
    let (usd_per_hour, from_purchase, electricity_only) = match (&h.cloud, &h.purchase) {
        (Some(c), _) => (Some(c.usd_per_hour * g), false, false),
        (None, Some(pp)) => {
            let capex = pp.usd / (AMORTIZATION_YEARS * 8766.0);
            (
                Some((capex + power_usd_per_hour.unwrap_or(0.0)) * g),
                true,
                false,
            )
        }
        (None, None) => (
            power_usd_per_hour.map(|x| x * g),
            false,
            power_usd_per_hour.is_some(),
        ),
    };
    let self_hosted = usd_per_hour.map(|hr| throughput.map(|t| hr / (t * 3600.0) * 1e6));
    let demand = s.requests_per_day * o / 86400.0;
    let replicas = throughput.map(|t| (demand / t).ceil().max(1.0));
    let monthly = usd_per_hour.map(|hr| replicas.map(|r| r * hr * HOURS_PER_MONTH));
    let training_usd = h
        .cloud
        .as_ref()
        .map(|c| training_device_hours.map(|x| x * c.usd_per_hour));
    let kwh_per_1m_output = tdp.map(|w| {
        Band::of(
            w * g * 0.6 * (1e6 / throughput.p90) / 3.6e6,
            w * g * 0.8 * (1e6 / throughput.p50) / 3.6e6,
            w * g * 1.0 * (1e6 / throughput.p10) / 3.6e6,
        )
    });
    let training_kwh = tdp.map(|w| training_device_hours.map(|x| x * w * PUE / 1000.0));
    let training_co2_kg = training_kwh.map(|k| k.map(|x| x * s.kg_co2_per_kwh));

    let inference_memory_bytes = weights_bytes + kv_bytes + g * (activation_bytes + runtime);
    let out = Numbers {
        deployment: d,
        weights_bytes,
        kv_bytes,
        kv_bytes_per_token,
        activation_bytes,
        runtime_bytes: runtime,
        repacked_bytes,
        peak_resident_bytes: inference_memory_bytes + if s.mapped { repacked_bytes } else { 0.0 },
        inference_memory_bytes,
        usable_memory_bytes: usable * g,
        fits,
        min_devices,
        max_context_fits,
        flops_per_token,
        bytes_per_token,
        memory_bound,
        ttft_s,
        tpot_s,
        decode_tokens_per_s,
        e2e_s,
        throughput_tokens_per_s: throughput,
        prefill_tokens_per_s,
        training_flops,
        training_tokens,
        training_tokens_assumed,
        training_mfu: Band::of(mfu.lo, mfu.mid, mfu.hi),
        training_device_hours,
        training_wall_s,
        finetune_full_hours,
        finetune_lora_hours,
        train_memory_full,
        train_memory_lora,
        train_memory_qlora,
        usd_per_hour,
        usd_per_hour_from_purchase: from_purchase,
        usd_per_hour_electricity_only: electricity_only,
        self_hosted_usd_per_1m_output: self_hosted,
        monthly_self_hosted_usd: monthly,
        replicas,
        training_usd,
        kwh_per_1m_output,
        training_kwh,
        training_co2_kg,
    };
    if !(out.ttft_s.is_finite() && out.tpot_s.is_finite() && out.weights_bytes.is_finite()) {
        return Err(EstimateError::InvalidScenario(
            "the scenario gives a non-finite result; check the catalog figures of this model and hardware".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(sliding: Option<u64>, every: Option<u32>) -> ArchSummary {
        let a = Architecture {
            layers: 4,
            hidden: 256,
            heads: Some(4),
            kv_heads: Some(2),
            head_dim: 64,
            ffn: Some(1024),
            vocab: 1000,
            tied_embeddings: true,
            mlp: sizewise_catalog::Mlp::Gated,
            norm: sizewise_catalog::Norm::Rmsnorm,
            position: sizewise_catalog::Position::Rope,
            qkv_bias: false,
            linear_bias: false,
            sliding_window: sliding,
            full_attention_every: every,
            experts: None,
            experts_active: None,
            extra_params: None,
            per_layer: None,
        };
        ArchSummary::new(&a, Some(32768))
    }

    #[test]
    fn context_for_kv_inverts_kv_elems() {
        for s in [
            summary(None, None),
            summary(Some(512), Some(2)),
            summary(Some(512), None),
        ] {
            for ctx in [1.0, 100.0, 512.0, 513.0, 4000.0, 30000.0] {
                let back = s.context_for_kv_bytes(s.kv_elems(ctx));
                if s.kv_full == 0.0 && ctx > s.window {
                    // Every layer is windowed: the cache stops growing, any context fits.
                    assert!(back >= s.window);
                    assert!(s.context_for_kv_bytes(s.kv_elems(ctx) * 1.01).is_infinite());
                } else {
                    assert!((back - ctx).abs() <= 1.0, "{ctx} -> {back}");
                }
            }
            assert_eq!(s.context_for_kv_bytes(-5.0), 0.0);
        }
    }

    #[test]
    fn bands_sort_their_points() {
        let b = Band::of(3.0, 1.0, 2.0);
        assert_eq!((b.p10, b.p50, b.p90), (1.0, 2.0, 3.0));
    }

    fn device(id: &str) -> Hardware {
        let c = sizewise_catalog::Catalog::embedded().unwrap_or_default();
        c.hardware_by_id(id)
            .cloned()
            .unwrap_or_else(|_| unreachable!("{id} is in the embedded catalog"))
    }

    fn hint_for(id: &str, p: Precision) -> String {
        let s = Scenario {
            precision: Some(p),
            engine: Some(Engine::Vllm),
            ..Scenario::default()
        };
        match deployment(&device(id), &s) {
            Err(EstimateError::Unsupported { hint, .. }) => hint,
            other => format!("no hint: {other:?}"),
        }
    }

    #[test]
    fn memory_gb_sizes_only_hardware_without_fixed_memory() {
        let gib = 1024f64.powi(3);
        let s = Scenario {
            memory_gb: Some(512.0),
            ..Scenario::default()
        };
        let l4 = deployment(&device("nvidia-l4"), &s).map(|d| d.memory_bytes);
        assert_eq!(l4.ok(), Some(24.0 * gib));
        let cpu = deployment(&device("x86-8core-ddr5-desktop"), &s).map(|d| d.memory_bytes);
        assert_eq!(cpu.ok(), Some(512.0 * gib));
    }

    #[test]
    fn unsupported_formats_point_to_formats_the_device_has() {
        // A T4 has fp16 tensor cores but neither bf16 nor fp8.
        let h = hint_for("nvidia-t4", Precision::Fp8);
        assert!(h.contains("fp16") && !h.contains("bf16"), "{h}");
        let h = hint_for("nvidia-t4", Precision::Bf16);
        assert!(h.contains("fp16"), "{h}");
        // An A100 has bf16 but no fp8.
        let h = hint_for("nvidia-a100-80gb-sxm", Precision::Fp8);
        assert!(h.contains("bf16") && h.contains("fp16"), "{h}");
    }

    #[test]
    fn a_calibration_scales_only_the_llama_cpp_priors() {
        let cpu = device("x86-8core-ddr5-desktop");
        let scenario = |engine, calibration| Scenario {
            engine: Some(engine),
            memory_gb: Some(32.0),
            precision: Some(Precision::Q4KM),
            calibration,
            ..Scenario::default()
        };
        let scale = PriorScale {
            decode_bw: 1.5,
            prefill_mfu: 0.5,
        };
        let plain = deployment(&cpu, &scenario(Engine::LlamaCpp, None)).unwrap();
        let scaled = deployment(&cpu, &scenario(Engine::LlamaCpp, Some(scale))).unwrap();
        assert_eq!(scaled.calibration, Some(scale));
        assert_eq!(scaled.priors.decode_bw, plain.priors.decode_bw.scale(1.5));
        assert_eq!(
            scaled.priors.prefill_mfu,
            plain.priors.prefill_mfu.scale(0.5)
        );
        assert_eq!(scaled.priors.per_layer_s, plain.priors.per_layer_s);
        // `NONE` asks for the priors alone, and is not reported as a calibration.
        let none = deployment(&cpu, &scenario(Engine::LlamaCpp, Some(PriorScale::NONE))).unwrap();
        assert_eq!(none.calibration, None);
        assert_eq!(none.priors, plain.priors);
        // A calibration of llama.cpp says nothing about another engine.
        let gpu = device("nvidia-l4");
        let s = Scenario {
            engine: Some(Engine::Vllm),
            calibration: Some(scale),
            ..Scenario::default()
        };
        assert_eq!(deployment(&gpu, &s).unwrap().calibration, None);
    }

    #[test]
    fn mapped_repacked_weights_are_resident_twice_at_peak_on_a_cpu() {
        let c = sizewise_catalog::Catalog::embedded().unwrap_or_default();
        let model = c.model("smollm2-135m").unwrap().clone();
        let a = crate::summarize(&model).unwrap();
        let typed = |t: &str, bytes: f64, repackable_shape: bool| TypedWeights {
            ggml_type: t.into(),
            bytes,
            params: bytes * 2.0,
            decode: repackable_shape,
            repackable_shape,
            rows: 0.0,
        };
        let scenario = |mapped| Scenario {
            engine: Some(Engine::LlamaCpp),
            memory_gb: Some(32.0),
            precision: Some(Precision::Q4_0),
            weight_types: vec![
                typed("Q4_0", 60e6, true),
                // Looked up row by row, never repacked.
                typed("Q4_0", 15e6, false),
                typed("Q6_K", 20e6, true),
            ],
            mapped,
            ..Scenario::default()
        };
        let cpu = device("x86-8core-ddr5-desktop");
        let on = estimate_numbers(&model, &a, &cpu, &scenario(true)).unwrap();
        assert_eq!(on.repacked_bytes, 60e6);
        assert_eq!(on.peak_resident_bytes, on.inference_memory_bytes + 60e6);
        let off = estimate_numbers(&model, &a, &cpu, &scenario(false)).unwrap();
        assert_eq!(off.peak_resident_bytes, off.inference_memory_bytes);
        assert_eq!(off.inference_memory_bytes, on.inference_memory_bytes);
        // A GPU's weights live in its own memory: nothing is repacked for CPU kernels.
        let gpu = estimate_numbers(&model, &a, &device("nvidia-l4"), &scenario(true)).unwrap();
        assert_eq!(gpu.repacked_bytes, 0.0);
        assert_eq!(gpu.peak_resident_bytes, gpu.inference_memory_bytes);
    }

    /// Decode tokens/s of `model` in Q4_1 on `hw` under llama.cpp after a prompt of `prompt`
    /// tokens.
    fn llama_cpp_decode(model: &sizewise_catalog::Model, hw: &Hardware, prompt: u64) -> f64 {
        let a = crate::summarize(model).unwrap();
        let s = Scenario {
            engine: Some(Engine::LlamaCpp),
            precision: Some(Precision::Q4_1),
            memory_gb: Some(24.0),
            prompt_tokens: prompt,
            output_tokens: 64,
            ..Scenario::default()
        };
        estimate_numbers(model, &a, hw, &s)
            .unwrap()
            .decode_tokens_per_s
            .p50
    }

    /// One core of the 2-vCPU AMD EPYC the CPU priors were fitted on, as `sizewise probe`
    /// measured it.
    fn epyc_core() -> Hardware {
        Hardware {
            id: "epyc-core".into(),
            memory_bandwidth_gbs: 37.1,
            fp32_tflops: Some(0.1057),
            int8_tops: None,
            ..device("x86-8core-ddr5-desktop")
        }
    }

    #[test]
    fn sliding_layers_attend_within_their_window_only() {
        let full = summary(None, None);
        let slide = summary(Some(512), Some(2));
        assert_eq!(full.attn_head_positions(100.0), 4.0 * 4.0 * 100.0);
        // Half the layers slide: at 2,000 tokens they visit 512.
        assert_eq!(
            slide.attn_head_positions(2000.0),
            2.0 * 4.0 * 2000.0 + 2.0 * 4.0 * 512.0
        );
        assert_eq!(
            slide.attn_head_positions(300.0),
            full.attn_head_positions(300.0)
        );
    }

    #[test]
    fn a_long_cache_slows_cpu_decoding_as_measured() {
        let c = sizewise_catalog::Catalog::embedded().unwrap_or_default();
        let smollm2 = c.model("smollm2-135m").unwrap().clone();
        // SmolLM2-135M Q4_1 on one EPYC core decoded 163 tokens/s after a 16-token prompt
        // and 74 after a 1,024-token one (docs/VALIDATION.md, "Attention on a CPU"): 2.2x.
        // The attention's multiply-adds alone gave 1.1x.
        let core = epyc_core();
        let cpu = llama_cpp_decode(&smollm2, &core, 16) / llama_cpp_decode(&smollm2, &core, 1024);
        assert!((1.9..2.5).contains(&cpu), "{cpu}");
        // The fixed cost per (head, token) pair is llama.cpp's CPU kernel's, not a GPU's.
        let gpu = device("nvidia-rtx-4090");
        let gpu = llama_cpp_decode(&smollm2, &gpu, 16) / llama_cpp_decode(&smollm2, &gpu, 1024);
        assert!(gpu < 1.3, "{gpu}");
    }

    #[test]
    fn a_larger_vocabulary_costs_cpu_decoding_its_logits() {
        let c = sizewise_catalog::Catalog::embedded().unwrap_or_default();
        let small = c.model("smollm2-135m").unwrap().clone();
        let mut large = small.clone();
        if let Some(a) = large.architecture.as_mut() {
            a.vocab *= 4;
        }
        let a_small = crate::summarize(&small).unwrap();
        let a_large = crate::summarize(&large).unwrap();
        let hw = device("x86-8core-ddr5-desktop");
        let s = Scenario {
            engine: Some(Engine::LlamaCpp),
            precision: Some(Precision::Q4KM),
            memory_gb: Some(32.0),
            ..Scenario::default()
        };
        let tpot = |m, a| estimate_numbers(m, a, &hw, &s).unwrap().tpot_s.p50;
        let d = deployment(&hw, &s).unwrap();
        let extra = tpot(&large, &a_large) - tpot(&small, &a_small);
        // The output projection's extra weights, plus the pass over 3 x 49,152 more logits.
        let logits =
            cpu_logits_seconds(&a_large, d.f32_flops) - cpu_logits_seconds(&a_small, d.f32_flops);
        assert!(logits > 0.0);
        assert!(extra > logits, "{extra} {logits}");
    }
}
