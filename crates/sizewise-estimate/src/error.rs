//! Errors of the estimator: impossible or unsupported scenarios.

/// Why a scenario cannot be estimated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EstimateError {
    /// The precision name is not known.
    #[error(
        "unknown precision `{0}`\n  hint: fp32, bf16, fp16, fp8, int8, int4, q8_0, q6_k, q5_k_m, q4_k_m, q4_0, q4_1, q3_k_m, q2_k"
    )]
    UnknownPrecision(String),
    /// The engine name is not known.
    #[error("unknown engine `{0}`\n  hint: llama.cpp, vllm, trt-llm, transformers")]
    UnknownEngine(String),
    /// The model's architecture is not published, so nothing can be derived from it.
    #[error(
        "{model}: the architecture is undisclosed, so sizewise cannot estimate it on hardware\n  hint: compare its published facts and API price with `sizewise compare {model}`, or measure the endpoint with `sizewise bench`"
    )]
    ArchitectureUndisclosed {
        /// Model id.
        model: String,
    },
    /// The catalog lacks a figure the estimate needs.
    #[error("{what}\n  hint: {hint}")]
    MissingFact {
        /// What is missing.
        what: String,
        /// What to do.
        hint: String,
    },
    /// The hardware cannot run this precision or engine.
    #[error("{hardware} does not support {what}\n  hint: {hint}")]
    Unsupported {
        /// Hardware id.
        hardware: String,
        /// The missing capability.
        what: String,
        /// What to do.
        hint: String,
    },
    /// A scenario input is out of range.
    #[error("{0}")]
    InvalidScenario(String),
}
