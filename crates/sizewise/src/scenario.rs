//! Workload and deployment flags shared by `estimate`, `fit` and `compare`.

use clap::Args;
use sizewise_estimate::{Engine, Precision, PriorScale, Scenario};

/// Workload and deployment flags.
#[derive(Args, Clone, Debug)]
pub struct ScenarioArgs {
    /// Weight precision: fp32, bf16, fp16, fp8, int8, int4, q8_0, q6_k, q5_k_m,
    /// q4_k_m, q4_0, q4_1, q3_k_m, q2_k [default: bf16 on datacenter GPUs, q4_k_m elsewhere].
    #[arg(long, short = 'p')]
    pub precision: Option<String>,
    /// Inference engine: llama.cpp, vllm, trt-llm, transformers [default: vllm on GPUs, llama.cpp elsewhere and for GGUF].
    #[arg(long, short = 'e')]
    pub engine: Option<String>,
    /// Sequences decoded together.
    #[arg(long, short = 'b', default_value_t = 1)]
    pub batch: u32,
    /// Prompt length, tokens.
    #[arg(long, default_value_t = 1000)]
    pub prompt_tokens: u64,
    /// Output length, tokens.
    #[arg(long, default_value_t = 250)]
    pub output_tokens: u64,
    /// Tokens held in the KV cache per sequence [default: prompt + output].
    #[arg(long)]
    pub context: Option<u64>,
    /// Devices serving one replica (tensor parallelism).
    #[arg(long, default_value_t = 1)]
    pub gpus: u32,
    /// Training tokens for the training estimate [default: the catalog's figure].
    #[arg(long)]
    pub training_tokens: Option<f64>,
    /// Devices for the training wall-time estimate.
    #[arg(long, default_value_t = 1024)]
    pub train_gpus: u32,
    /// Tokens for the fine-tuning estimate.
    #[arg(long, default_value_t = 1e8)]
    pub finetune_tokens: f64,
    /// Requests per day, for the monthly cost.
    #[arg(long, default_value_t = 10_000.0)]
    pub requests_per_day: f64,
    /// Electricity price, USD per kWh (an assumption: set yours).
    #[arg(long, default_value_t = 0.15)]
    pub usd_per_kwh: f64,
    /// Grid carbon intensity, kg CO2 per kWh (an assumption: set yours).
    #[arg(long, default_value_t = 0.4)]
    pub kg_co2_per_kwh: f64,
    /// RAM of the machine in GiB (2^30 bytes, the unit of every memory figure in
    /// sizewise), for hardware whose memory depends on the system: the CPUs listed
    /// with `system` memory by `sizewise hardware`. Devices with their own memory
    /// ignore it (`estimate -H` refuses it for them).
    #[arg(long, value_name = "GiB")]
    pub memory_gb: Option<f64>,
    /// KV-cache format: fp16 (default), fp8, q8_0, q4_0, fp32.
    #[arg(long)]
    pub kv_precision: Option<String>,
    /// Network round trip to the server, ms (added to TTFT and end-to-end time).
    #[arg(long, default_value_t = 0.0)]
    pub network_rtt_ms: f64,
    /// Ignore the calibration that `sizewise bench --gguf` measured for this hardware
    /// and use the published efficiency priors alone.
    #[arg(long)]
    pub no_calibration: bool,
    /// CPU threads the engine runs. On hardware `local` (from `sizewise probe`, which
    /// measures one thread and all of them), fewer threads get less bandwidth and compute
    /// [default: all].
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,
    /// Training with full activation recomputation (8·N·D FLOPs instead of 6·N·D).
    #[arg(long)]
    pub recompute: bool,
}

impl ScenarioArgs {
    /// The estimator's scenario.
    pub fn scenario(&self) -> anyhow::Result<Scenario> {
        let precision = self
            .precision
            .as_deref()
            .map(Precision::parse)
            .transpose()?;
        let engine = self.engine.as_deref().map(Engine::parse).transpose()?;
        for (name, v) in [
            ("--requests-per-day", self.requests_per_day),
            ("--usd-per-kwh", self.usd_per_kwh),
            ("--kg-co2-per-kwh", self.kg_co2_per_kwh),
            ("--finetune-tokens", self.finetune_tokens),
            ("--network-rtt-ms", self.network_rtt_ms),
        ] {
            anyhow::ensure!(
                v.is_finite() && v >= 0.0,
                "{name} must be a finite number >= 0"
            );
        }
        if let Some(t) = self.training_tokens {
            anyhow::ensure!(
                t.is_finite() && t > 0.0,
                "--training-tokens must be positive"
            );
        }
        if let Some(m) = self.memory_gb {
            anyhow::ensure!(m.is_finite() && m > 0.0, "--memory-gb must be positive");
        }
        anyhow::ensure!(
            self.prompt_tokens <= 100_000_000 && self.output_tokens <= 100_000_000,
            "token counts above 100M are not a request sizewise can reason about"
        );
        Ok(Scenario {
            precision,
            engine,
            batch: self.batch,
            prompt_tokens: self.prompt_tokens,
            output_tokens: self.output_tokens,
            context: self.context,
            gpus: self.gpus,
            training_tokens: self.training_tokens,
            train_gpus: self.train_gpus,
            finetune_tokens: self.finetune_tokens,
            requests_per_day: self.requests_per_day,
            usd_per_kwh: self.usd_per_kwh,
            kg_co2_per_kwh: self.kg_co2_per_kwh,
            memory_gb: self.memory_gb,
            recompute: self.recompute,
            kv_precision: self
                .kv_precision
                .as_deref()
                .map(Precision::parse)
                .transpose()?,
            network_rtt_ms: self.network_rtt_ms,
            weight_bits: None,
            calibration: self.no_calibration.then_some(PriorScale::NONE),
            threads: self.threads,
            weight_types: Vec::new(),
            mapped: true,
        })
    }
}

/// The scenario of the flags' defaults: what `compare` estimates when given no flag.
pub fn default_scenario() -> Scenario {
    #[derive(clap::Parser)]
    struct Defaults {
        #[command(flatten)]
        scenario: ScenarioArgs,
    }
    use clap::Parser;
    Defaults::try_parse_from(["sizewise"])
        .ok()
        .and_then(|d| d.scenario.scenario().ok())
        .unwrap_or_default()
}
