//! Efficiency priors: how far real engines get from the roofline, per engine and
//! hardware class, as (p10, p50, p90) bands.
//!
//! They come from published measurements (docs/VALIDATION.md lists the rows) and
//! are fitted across rows, not per row: decode reaches 60-90% of peak memory
//! bandwidth plus a fixed cost per layer (kernel launches, synchronisation);
//! prefill reaches a fraction of the peak of the dtype the engine multiplies in.

use serde::Serialize;
use sizewise_catalog::HardwareClass;

use crate::error::EstimateError;

/// An inference engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Engine {
    /// llama.cpp (GGUF; CPU, Metal, CUDA, Vulkan).
    #[serde(rename = "llama.cpp")]
    LlamaCpp,
    /// vLLM (GPU).
    #[serde(rename = "vllm")]
    Vllm,
    /// TensorRT-LLM (NVIDIA GPU).
    #[serde(rename = "trt-llm")]
    TrtLlm,
    /// Hugging Face transformers `generate` (eager PyTorch).
    #[serde(rename = "transformers")]
    Transformers,
}

impl Engine {
    /// Parses an engine name.
    pub fn parse(s: &str) -> Result<Engine, EstimateError> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "llama.cpp" | "llamacpp" | "llama-cpp" | "ollama" => Engine::LlamaCpp,
            "vllm" => Engine::Vllm,
            "trt-llm" | "trtllm" | "tensorrt-llm" | "tensorrt" => Engine::TrtLlm,
            "transformers" | "hf" | "pytorch" => Engine::Transformers,
            _ => return Err(EstimateError::UnknownEngine(s.to_string())),
        })
    }

    /// The canonical name.
    pub fn name(&self) -> &'static str {
        match self {
            Engine::LlamaCpp => "llama.cpp",
            Engine::Vllm => "vllm",
            Engine::TrtLlm => "trt-llm",
            Engine::Transformers => "transformers",
        }
    }
}

/// A (p10, p50, p90) band of a dimensionless factor or a duration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Tri {
    /// Pessimistic end.
    pub lo: f64,
    /// Central value.
    pub mid: f64,
    /// Optimistic end.
    pub hi: f64,
}

impl Tri {
    /// A band.
    pub const fn new(lo: f64, mid: f64, hi: f64) -> Tri {
        Tri { lo, mid, hi }
    }

    /// Every point scaled.
    pub fn scale(self, k: f64) -> Tri {
        Tri::new(self.lo * k, self.mid * k, self.hi * k)
    }
}

/// Efficiencies of one engine on one hardware class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Priors {
    /// Share of the dtype's peak FLOPs reached in prefill.
    pub prefill_mfu: Tri,
    /// Share of peak memory bandwidth reached in decode.
    pub decode_bw: Tri,
    /// Fixed time per layer per forward pass, seconds (lo = fastest).
    pub per_layer_s: Tri,
    /// Fixed time per request (scheduling, tokenisation, sampling), seconds.
    pub per_request_s: Tri,
    /// Where the band comes from.
    pub basis: &'static str,
}

const GPU_BASIS: &str = "fitted across published GPU measurements (FasterTransformer 13B on A100 via Kipply; llama.cpp on P40 and RTX 3080): decode 62-90% of peak bandwidth plus a per-layer launch cost; see docs/VALIDATION.md";
const CPU_BASIS: &str = "llama.cpp on CPUs: decode reads weights at 55-95% of DRAM bandwidth (STREAM-like), and its matrix-vector kernels reach a share of the core's f32 peak that depends on the tensor type (repacked Q4_K 92%, Q4_0 79%, Q6_K 58%, Q8_0 50%, 5-bit 47%, Q4_1 46%), plus the attention over the cache (a fixed cost per query head and cached token beyond its multiply-adds), a pass over the vocabulary's logits, and 8-80 us per layer of small ops; prompt processing reaches 35-90% of the f32 SIMD peak. Fitted with `bench --gguf` on 22 files from 135M to 1.2B parameters on a 2-vCPU EPYC (docs/VALIDATION.md); calibrate with `sizewise probe` and `bench --gguf`";
const APPLE_BASIS: &str =
    "llama.cpp Metal on Apple silicon: decode about 60-85% of unified-memory bandwidth";
const MOBILE_BASIS: &str =
    "phones and boards share DRAM with the OS and throttle: 40-70% of theoretical bandwidth";

/// Measured corrections to the priors of one engine on one machine: what a calibration
/// (`sizewise bench --gguf`) found. Each scale multiplies all three points of its band.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PriorScale {
    /// Multiplies [`Priors::decode_bw`].
    pub decode_bw: f64,
    /// Multiplies [`Priors::prefill_mfu`].
    pub prefill_mfu: f64,
}

impl PriorScale {
    /// No correction.
    pub const NONE: PriorScale = PriorScale {
        decode_bw: 1.0,
        prefill_mfu: 1.0,
    };

    /// `priors` with the corrections applied.
    pub fn apply(self, priors: Priors) -> Priors {
        Priors {
            decode_bw: priors.decode_bw.scale(self.decode_bw),
            prefill_mfu: priors.prefill_mfu.scale(self.prefill_mfu),
            ..priors
        }
    }
}

/// Whether llama.cpp's CPU backend on x86 with AVX2 copies weights of this GGUF type into the
/// interleaved layout of its repacked kernels (`ggml/src/ggml-cpu/repack.cpp`,
/// `ggml_repack_get_optimal_repack_type`: Q4_0, Q4_K and IQ4_NL as 8x8 blocks; Q2_K too, with
/// AVX-512, which is not assumed).
pub fn x86_cpu_repacks(ggml_type: &str) -> bool {
    matches!(ggml_type, "Q4_0" | "Q4_K" | "IQ4_NL")
}

/// Share of one core's f32 peak (two FLOPs per weight) that llama.cpp's matrix-vector
/// kernel for a GGUF type reaches when it decodes one token on an x86 CPU with AVX2. The
/// repacked 8x8 kernels of Q4_K, Q4_0 and IQ4_NL run fastest; Q8_0 and the float types wait
/// on memory, so their figures hold for a core with this one's ratio of bandwidth to
/// compute, and the estimate's bandwidth bound covers the others. Fitted by least squares,
/// together with [`CPU_LOGIT_COST`] and the per-layer cost, to 22 GGUF files on one core of
/// a 2-vCPU AMD EPYC: synthetic SmolLM2-135M, SmolLM2-360M, Qwen2.5-0.5B and Llama 3.2 1B
/// in Q4_K_M, Q4_0, Q4_1, Q5_0 and Q8_0, and the real SmolLM2-135M Q4_1 and Gemma 3 270M
/// Q4_K_M, each decoding 64 tokens after a 16-token prompt, the median of three rounds
/// (`scripts/decode-fit.sh`, docs/VALIDATION.md, "A fit over 22 files": 4.9% RMS error).
/// Q4_1 is the loosest: on this host it ran at 0.62 of the peak on SmolLM2-135M and 0.46 on
/// Llama 3.2 1B, and no cost per row explains that. F16 keeps its earlier figure; Q5_K and
/// the rarer types get Q5_0's until measured.
pub fn cpu_decode_kernel(ggml_type: &str) -> f64 {
    match ggml_type {
        "Q4_K" => 0.92,
        "Q4_0" | "IQ4_NL" => 0.79,
        "Q6_K" => 0.58,
        "Q8_0" | "F32" => 0.50,
        "Q4_1" => 0.46,
        "F16" | "BF16" => 0.30,
        _ => 0.47,
    }
}

/// What llama.cpp on a CPU spends per decoded token on each vocabulary entry beyond the
/// output projection's multiply-adds, as multiply-adds at the f32 peak: the projection's
/// work per row, copying the logits out, and the sampler's pass that lists every token
/// with its logit. 270 in the fit of [`cpu_decode_kernel`] (about 5 ns on a 109 GFLOP/s
/// core): 1.3 ms per token for Gemma 3's 262,144 entries, 0.24 ms for SmolLM2's 49,152.
pub const CPU_LOGIT_COST: f64 = 270.0;

/// Share of one core's f32 peak that llama.cpp's CPU flash attention reaches on the
/// multiply-adds of one decoded token's scores and weighted sum (f16 cache).
pub const CPU_ATTENTION_SHARE: f64 = 0.6;

/// What llama.cpp's CPU flash attention spends on each (query head, cached token) pair of a
/// decoded token beyond the multiply-adds, as multiply-adds at the f32 peak: the online
/// softmax's exponential and rescaling, and the f16 conversions. On one core of a 2-vCPU AMD
/// EPYC (about 106 GFLOP/s), decoding with 800 cached tokens instead of 32 cost 24 to 34 ns
/// more per pair on SmolLM2-135M, Qwen2.5-0.5B and Llama 3.2 1B (head size 64) and 44 to
/// 52 ns on Gemma 3 270M (head size 256): 1,050 to 1,900 multiply-adds beyond the product
/// over twelve such pairs of runs, 1,400 their median (docs/VALIDATION.md, "Attention on a
/// CPU"). Without it, SmolLM2's decode after a 1,024-token prompt was estimated 46% fast.
pub const CPU_ATTENTION_PAIR_COST: f64 = 1400.0;

/// The spread of [`cpu_decode_kernel`] across machines: (slow, typical, fast) factors.
pub const CPU_KERNEL_BAND: Tri = Tri::new(0.75, 1.0, 1.25);

/// The priors for `engine` on `class`, or why the pair makes no sense.
pub fn priors(
    engine: Engine,
    class: HardwareClass,
    hardware: &str,
) -> Result<Priors, EstimateError> {
    use HardwareClass::*;
    let us = 1e-6;
    let ms = 1e-3;
    match (engine, class) {
        (Engine::TrtLlm, DatacenterGpu | ConsumerGpu) => Ok(Priors {
            prefill_mfu: Tri::new(0.45, 0.66, 0.78),
            decode_bw: Tri::new(0.70, 0.82, 0.90),
            per_layer_s: Tri::new(60.0 * us, 30.0 * us, 10.0 * us),
            per_request_s: Tri::new(3.0 * ms, 1.0 * ms, 0.3 * ms),
            basis: GPU_BASIS,
        }),
        (Engine::Vllm, DatacenterGpu | ConsumerGpu) => Ok(Priors {
            prefill_mfu: Tri::new(0.35, 0.55, 0.70),
            decode_bw: Tri::new(0.65, 0.78, 0.88),
            per_layer_s: Tri::new(50.0 * us, 25.0 * us, 10.0 * us),
            per_request_s: Tri::new(15.0 * ms, 5.0 * ms, 2.0 * ms),
            basis: GPU_BASIS,
        }),
        (Engine::Transformers, DatacenterGpu | ConsumerGpu) => Ok(Priors {
            prefill_mfu: Tri::new(0.20, 0.35, 0.50),
            decode_bw: Tri::new(0.40, 0.55, 0.70),
            per_layer_s: Tri::new(300.0 * us, 150.0 * us, 70.0 * us),
            per_request_s: Tri::new(40.0 * ms, 15.0 * ms, 5.0 * ms),
            basis: "eager PyTorch: Python and kernel-launch overhead per layer dominate small batches (gpu_poor's 2x factor; vLLM/TGI comparisons)",
        }),
        (Engine::LlamaCpp, DatacenterGpu | ConsumerGpu) => Ok(Priors {
            prefill_mfu: Tri::new(0.15, 0.26, 0.40),
            decode_bw: Tri::new(0.62, 0.76, 0.88),
            per_layer_s: Tri::new(80.0 * us, 45.0 * us, 20.0 * us),
            per_request_s: Tri::new(10.0 * ms, 3.0 * ms, 1.0 * ms),
            basis: GPU_BASIS,
        }),
        (Engine::LlamaCpp, Cpu) => Ok(Priors {
            prefill_mfu: Tri::new(0.35, 0.60, 0.90),
            // Q8_0 files, whose kernels wait on memory, read their weights at 75-78% of one
            // core's read bandwidth (docs/VALIDATION.md, "A fit over 22 files").
            decode_bw: Tri::new(0.55, 0.80, 0.95),
            // Norms, RoPE, residual adds and each op's dispatch: 23 us per layer on one
            // thread in the fit over 22 files (docs/VALIDATION.md); the slow end allows for
            // the barriers between ops when several threads share a step.
            per_layer_s: Tri::new(80.0 * us, 23.0 * us, 8.0 * us),
            per_request_s: Tri::new(10.0 * ms, 3.0 * ms, 1.0 * ms),
            basis: CPU_BASIS,
        }),
        (Engine::LlamaCpp, AppleSilicon) => Ok(Priors {
            prefill_mfu: Tri::new(0.30, 0.50, 0.70),
            decode_bw: Tri::new(0.60, 0.72, 0.85),
            per_layer_s: Tri::new(50.0 * us, 25.0 * us, 10.0 * us),
            per_request_s: Tri::new(10.0 * ms, 3.0 * ms, 1.0 * ms),
            basis: APPLE_BASIS,
        }),
        (Engine::LlamaCpp, Phone | Edge) => Ok(Priors {
            prefill_mfu: Tri::new(0.08, 0.20, 0.35),
            decode_bw: Tri::new(0.40, 0.55, 0.70),
            per_layer_s: Tri::new(80.0 * us, 40.0 * us, 20.0 * us),
            per_request_s: Tri::new(20.0 * ms, 5.0 * ms, 2.0 * ms),
            basis: MOBILE_BASIS,
        }),
        (Engine::TrtLlm, _) => Err(EstimateError::Unsupported {
            hardware: hardware.to_string(),
            what: "TensorRT-LLM (it runs on NVIDIA GPUs only)".into(),
            hint: "use --engine llama.cpp".into(),
        }),
        (Engine::Vllm | Engine::Transformers, _) => Err(EstimateError::Unsupported {
            hardware: hardware.to_string(),
            what: format!("{} in sizewise's priors (GPU serving only)", engine.name()),
            hint: "use --engine llama.cpp for CPUs, Apple silicon, phones and boards".into(),
        }),
    }
}

/// Share of peak FLOPs reached in large-scale training, by the device's peak
/// BF16/FP16 throughput: the faster the chip, the harder it is to keep fed.
/// Fitted across Llama 2 7B (A100, 39%), MT-NLG 530B (A100, 36-40%), Llama 3 70B
/// (H100, 28%) and Phi-3-mini (H100, 25%), model-card GPU-hours including restarts.
pub fn training_mfu(peak_tflops: f64) -> Tri {
    let mid = (0.39 - 0.072 * (peak_tflops / 312.0).log2()).clamp(0.18, 0.50);
    Tri::new(mid * 0.72, mid, (mid * 1.25).min(0.60))
}

/// Where the training MFU prior comes from.
pub const TRAINING_MFU_BASIS: &str = "MFU prior 0.39 at A100 peak, falling 0.072 per doubling of peak FLOPs (fitted on Llama 2 7B, MT-NLG 530B, Llama 3 70B, Phi-3-mini GPU-hours; published runs span 16-48%)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_names_parse() {
        for e in [
            Engine::LlamaCpp,
            Engine::Vllm,
            Engine::TrtLlm,
            Engine::Transformers,
        ] {
            assert_eq!(Engine::parse(e.name()).unwrap(), e);
        }
        assert!(Engine::parse("tgi").is_err());
    }

    #[test]
    fn bands_are_ordered() {
        for e in [
            Engine::LlamaCpp,
            Engine::Vllm,
            Engine::TrtLlm,
            Engine::Transformers,
        ] {
            for c in [HardwareClass::DatacenterGpu, HardwareClass::ConsumerGpu] {
                let p = priors(e, c, "x").unwrap();
                assert!(p.decode_bw.lo < p.decode_bw.mid && p.decode_bw.mid < p.decode_bw.hi);
                assert!(
                    p.prefill_mfu.lo < p.prefill_mfu.mid && p.prefill_mfu.mid < p.prefill_mfu.hi
                );
                assert!(p.per_layer_s.lo > p.per_layer_s.hi);
            }
        }
        assert!(priors(Engine::TrtLlm, HardwareClass::AppleSilicon, "m2").is_err());
    }

    #[test]
    fn training_mfu_falls_with_peak() {
        assert!((training_mfu(312.0).mid - 0.39).abs() < 1e-9);
        assert!((training_mfu(989.4).mid - 0.27).abs() < 0.01);
    }
}
