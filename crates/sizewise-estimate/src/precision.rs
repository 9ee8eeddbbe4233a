//! Numeric formats of weights and caches, with their real bits per weight.

use serde::Serialize;

use crate::error::EstimateError;

/// How weights are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// 32-bit float.
    Fp32,
    /// bfloat16.
    Bf16,
    /// IEEE half precision.
    Fp16,
    /// 8-bit float (E4M3), Hopper/Ada and later.
    Fp8,
    /// 8-bit integer weights (per-channel scales).
    Int8,
    /// 4-bit integer weights, group size 128 (GPTQ/AWQ style).
    Int4,
    /// GGUF Q8_0: blocks of 32 int8 + one fp16 scale.
    Q8_0,
    /// GGUF Q6_K.
    Q6K,
    /// GGUF Q5_K_M mix.
    Q5KM,
    /// GGUF Q4_K_M mix.
    Q4KM,
    /// GGUF Q4_0: blocks of 32 4-bit + fp16 scale.
    Q4_0,
    /// GGUF Q4_1: blocks of 32 4-bit + fp16 scale and min.
    Q4_1,
    /// GGUF Q3_K_M mix.
    Q3KM,
    /// GGUF Q2_K mix.
    Q2K,
}

/// Which peak of the hardware bounds the matrix multiplications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComputeDtype {
    /// FP32 (CUDA cores, CPU SIMD).
    Fp32,
    /// FP16 tensor cores.
    Fp16,
    /// BF16 tensor cores.
    Bf16,
    /// FP8 tensor cores.
    Fp8,
    /// INT8 tensor cores / dot-product instructions.
    Int8,
}

/// Every precision, for sweeps (`fit`).
pub const ALL: &[Precision] = &[
    Precision::Fp32,
    Precision::Bf16,
    Precision::Fp16,
    Precision::Fp8,
    Precision::Int8,
    Precision::Int4,
    Precision::Q8_0,
    Precision::Q6K,
    Precision::Q5KM,
    Precision::Q4KM,
    Precision::Q4_0,
    Precision::Q4_1,
    Precision::Q3KM,
    Precision::Q2K,
];

/// Where the bits-per-weight of the GGUF mixes come from.
pub const GGUF_BPW_SOURCE: &str = "llama.cpp tools/quantize/README.md (bits per weight measured on Llama 2 7B: Q2_K 3.35, Q3_K_M 3.91, Q4_K_M 4.84, Q5_K_M 5.68, Q6_K 6.56); Q8_0, Q4_0, Q4_1 from their block layouts (ggml-common.h)";

impl Precision {
    /// Parses a precision name (`bf16`, `q4_k_m`, `Q4_K_M`, `int4`...).
    pub fn parse(s: &str) -> Result<Precision, EstimateError> {
        let k = s.to_ascii_lowercase().replace('-', "_");
        Ok(match k.as_str() {
            "fp32" | "f32" | "float32" => Precision::Fp32,
            "bf16" | "bfloat16" => Precision::Bf16,
            "fp16" | "f16" | "float16" | "half" => Precision::Fp16,
            "fp8" | "f8" | "e4m3" => Precision::Fp8,
            "int8" | "i8" | "w8a16" | "w8a8" => Precision::Int8,
            "int4" | "i4" | "w4a16" | "awq" | "gptq" => Precision::Int4,
            "q8_0" => Precision::Q8_0,
            "q6_k" => Precision::Q6K,
            "q5_k_m" | "q5_k" => Precision::Q5KM,
            "q4_k_m" | "q4_k" => Precision::Q4KM,
            "q4_0" => Precision::Q4_0,
            "q4_1" => Precision::Q4_1,
            "q3_k_m" | "q3_k" => Precision::Q3KM,
            "q2_k" => Precision::Q2K,
            _ => return Err(EstimateError::UnknownPrecision(s.to_string())),
        })
    }

    /// The canonical name.
    pub fn name(&self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Bf16 => "bf16",
            Precision::Fp16 => "fp16",
            Precision::Fp8 => "fp8",
            Precision::Int8 => "int8",
            Precision::Int4 => "int4",
            Precision::Q8_0 => "q8_0",
            Precision::Q6K => "q6_k",
            Precision::Q5KM => "q5_k_m",
            Precision::Q4KM => "q4_k_m",
            Precision::Q4_0 => "q4_0",
            Precision::Q4_1 => "q4_1",
            Precision::Q3KM => "q3_k_m",
            Precision::Q2K => "q2_k",
        }
    }

    /// The GGUF tensor type that holds most of the weights of this precision in a llama.cpp
    /// file (`Q4_K` for the Q4_K_M mix); `None` for formats llama.cpp does not use.
    pub fn ggml_type(&self) -> Option<&'static str> {
        Some(match self {
            Precision::Fp32 => "F32",
            Precision::Bf16 => "BF16",
            Precision::Fp16 => "F16",
            Precision::Q8_0 => "Q8_0",
            Precision::Q6K => "Q6_K",
            Precision::Q5KM => "Q5_K",
            Precision::Q4KM => "Q4_K",
            Precision::Q4_0 => "Q4_0",
            Precision::Q4_1 => "Q4_1",
            Precision::Q3KM => "Q3_K",
            Precision::Q2K => "Q2_K",
            Precision::Fp8 | Precision::Int8 | Precision::Int4 => return None,
        })
    }

    /// Real bits per weight, scales and minimums included.
    pub fn bits_per_weight(&self) -> f64 {
        match self {
            Precision::Fp32 => 32.0,
            Precision::Bf16 | Precision::Fp16 => 16.0,
            Precision::Fp8 | Precision::Int8 => 8.0,
            // 4-bit values plus one fp16 scale and one zero point per 128 weights.
            Precision::Int4 => 4.25,
            // 32 x 8 bits + 16-bit scale = 272 bits / 32.
            Precision::Q8_0 => 8.5,
            Precision::Q6K => 6.56,
            Precision::Q5KM => 5.68,
            Precision::Q4KM => 4.84,
            // 32 x 4 bits + 16-bit scale = 144 bits / 32.
            Precision::Q4_0 => 4.5,
            // ... plus a 16-bit minimum.
            Precision::Q4_1 => 5.0,
            Precision::Q3KM => 3.91,
            Precision::Q2K => 3.35,
        }
    }

    /// Bytes per weight.
    pub fn bytes_per_weight(&self) -> f64 {
        self.bits_per_weight() / 8.0
    }

    /// True for llama.cpp's GGUF quantisation types.
    pub fn is_gguf(&self) -> bool {
        matches!(
            self,
            Precision::Q8_0
                | Precision::Q6K
                | Precision::Q5KM
                | Precision::Q4KM
                | Precision::Q4_0
                | Precision::Q4_1
                | Precision::Q3KM
                | Precision::Q2K
        )
    }

    /// True when the weights are quantised (not a float format).
    pub fn is_quantized(&self) -> bool {
        self.is_gguf() || matches!(self, Precision::Int8 | Precision::Int4)
    }

    /// The tensor-core dtype a GPU uses for the matrix products at this precision.
    pub fn gpu_compute(&self) -> ComputeDtype {
        match self {
            Precision::Fp32 => ComputeDtype::Fp32,
            Precision::Bf16 => ComputeDtype::Bf16,
            Precision::Fp16 | Precision::Int4 => ComputeDtype::Fp16,
            Precision::Fp8 => ComputeDtype::Fp8,
            // llama.cpp multiplies quantised blocks with int8 dot products (MMQ).
            Precision::Int8 => ComputeDtype::Int8,
            _ => ComputeDtype::Int8,
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips() {
        for p in ALL {
            assert_eq!(Precision::parse(p.name()).unwrap(), *p);
        }
        assert_eq!(Precision::parse("Q4_K_M").unwrap(), Precision::Q4KM);
        assert!(Precision::parse("q9").is_err());
    }

    #[test]
    fn block_formats_are_exact() {
        assert_eq!(Precision::Q4_0.bits_per_weight(), 4.5);
        assert_eq!(Precision::Q4_1.bits_per_weight(), 5.0);
        assert_eq!(Precision::Q8_0.bits_per_weight(), 8.5);
    }
}
