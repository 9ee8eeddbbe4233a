//! How long a simulated request takes: fixed delays, or the estimator's p50.

use std::time::Duration;

use sizewise_catalog::{Catalog, Hardware, Model};
use sizewise_estimate::{ArchSummary, Scenario, estimate_numbers, summarize};

use crate::SimError;

/// Where the simulator's delays come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Timing {
    /// The same delays for every request, whatever its prompt and the load.
    Fixed {
        /// Time from the request's arrival (or from leaving the queue) to the
        /// first content event, milliseconds.
        ttft_ms: f64,
        /// Time between two content events, milliseconds.
        tpot_ms: f64,
    },
    /// The estimator's median (p50) for `model` on `hardware`: TTFT from the
    /// request's prompt tokens, time per output token from the number of
    /// requests decoding at that moment.
    Estimated {
        /// The catalog model.
        model: Box<Model>,
        /// The catalog device.
        hardware: Box<Hardware>,
        /// Deployment options: precision, engine, gpus, kv_precision,
        /// weight_bits, memory_gb, network_rtt_ms. Its `batch`,
        /// `prompt_tokens`, `output_tokens` and `context` are replaced per
        /// request.
        scenario: Box<Scenario>,
    },
}

impl Timing {
    /// No delay at all: every token as fast as the server can write it.
    pub fn zero() -> Timing {
        Timing::Fixed {
            ttft_ms: 0.0,
            tpot_ms: 0.0,
        }
    }

    /// Fixed delays, in milliseconds.
    pub fn fixed(ttft_ms: f64, tpot_ms: f64) -> Timing {
        Timing::Fixed { ttft_ms, tpot_ms }
    }

    /// The estimator's timing for a model and a device of the embedded catalog,
    /// with the default deployment (the estimator picks precision and engine).
    pub fn estimated(model_id: &str, hardware_id: &str) -> Result<Timing, SimError> {
        Timing::estimated_with(model_id, hardware_id, Scenario::default())
    }

    /// Like [`Timing::estimated`], with deployment options taken from `scenario`.
    pub fn estimated_with(
        model_id: &str,
        hardware_id: &str,
        scenario: Scenario,
    ) -> Result<Timing, SimError> {
        let catalog = Catalog::embedded()?;
        let model = catalog.model(model_id)?.clone();
        let hardware = catalog.hardware_by_id(hardware_id)?.clone();
        let t = Timing::Estimated {
            model: Box::new(model),
            hardware: Box::new(hardware),
            scenario: Box::new(scenario),
        };
        // Fail now, not on the first request.
        Clock::new(&t)?;
        Ok(t)
    }

    /// The delays a request would get: (TTFT, time per output token) for a
    /// prompt of `prompt_tokens`, `output_tokens` to generate and `batch`
    /// requests decoding together. Queueing is not included.
    pub fn predict(
        &self,
        prompt_tokens: u64,
        output_tokens: u64,
        batch: u32,
    ) -> Result<(Duration, Duration), SimError> {
        let c = Clock::new(self)?;
        Ok((
            c.ttft(prompt_tokens, output_tokens)?,
            c.tpot(prompt_tokens, output_tokens, batch)?,
        ))
    }
}

/// Seconds to a duration, refusing what is not a finite, non-negative number.
fn secs(s: f64, what: &str) -> Result<Duration, SimError> {
    Duration::try_from_secs_f64(s).map_err(|_| {
        SimError::Config(format!(
            "{what} must be a finite, non-negative time, got {s} s"
        ))
    })
}

/// The resolved timing, ready for per-request use.
#[derive(Debug)]
pub(crate) enum Clock {
    Fixed {
        ttft: Duration,
        tpot: Duration,
    },
    Estimated {
        model: Box<Model>,
        hardware: Box<Hardware>,
        summary: Box<ArchSummary>,
        scenario: Box<Scenario>,
    },
}

impl Clock {
    pub(crate) fn new(t: &Timing) -> Result<Clock, SimError> {
        match t {
            Timing::Fixed { ttft_ms, tpot_ms } => Ok(Clock::Fixed {
                ttft: secs(ttft_ms / 1e3, "ttft_ms")?,
                tpot: secs(tpot_ms / 1e3, "tpot_ms")?,
            }),
            Timing::Estimated {
                model,
                hardware,
                scenario,
            } => {
                let summary = summarize(model)?;
                let c = Clock::Estimated {
                    model: model.clone(),
                    hardware: hardware.clone(),
                    summary: Box::new(summary),
                    scenario: scenario.clone(),
                };
                // A typical request must be estimable, or the config is wrong.
                c.ttft(128, 16)?;
                c.tpot(128, 16, 1)?;
                Ok(c)
            }
        }
    }

    fn estimate(
        &self,
        prompt_tokens: u64,
        output_tokens: u64,
        batch: u32,
    ) -> Result<Option<sizewise_estimate::Numbers>, SimError> {
        match self {
            Clock::Fixed { .. } => Ok(None),
            Clock::Estimated {
                model,
                hardware,
                summary,
                scenario,
            } => {
                let s = Scenario {
                    batch: batch.max(1),
                    prompt_tokens,
                    output_tokens: output_tokens.max(1),
                    context: None,
                    ..(**scenario).clone()
                };
                Ok(Some(estimate_numbers(model, summary, hardware, &s)?))
            }
        }
    }

    /// Prefill time of one prompt (no queueing).
    pub(crate) fn ttft(
        &self,
        prompt_tokens: u64,
        output_tokens: u64,
    ) -> Result<Duration, SimError> {
        match self {
            Clock::Fixed { ttft, .. } => Ok(*ttft),
            Clock::Estimated { .. } => match self.estimate(prompt_tokens, output_tokens, 1)? {
                Some(n) => secs(n.ttft_s.p50, "the estimated TTFT"),
                None => Ok(Duration::ZERO),
            },
        }
    }

    /// Time per output token with `batch` requests decoding.
    pub(crate) fn tpot(
        &self,
        prompt_tokens: u64,
        output_tokens: u64,
        batch: u32,
    ) -> Result<Duration, SimError> {
        match self {
            Clock::Fixed { tpot, .. } => Ok(*tpot),
            Clock::Estimated { .. } => match self.estimate(prompt_tokens, output_tokens, batch)? {
                Some(n) => secs(n.tpot_s.p50, "the estimated TPOT"),
                None => Ok(Duration::ZERO),
            },
        }
    }

    /// True when the time per token depends on the batch.
    pub(crate) fn batch_dependent(&self) -> bool {
        matches!(self, Clock::Estimated { .. })
    }

    /// The model's context window, when known.
    pub(crate) fn context_window(&self) -> Option<u64> {
        match self {
            Clock::Fixed { .. } => None,
            Clock::Estimated { model, .. } => model.context_window,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_is_constant() {
        let t = Timing::fixed(200.0, 20.0);
        let (a, b) = t.predict(10, 10, 1).unwrap();
        let (c, d) = t.predict(10_000, 10, 64).unwrap();
        assert_eq!(a, Duration::from_millis(200));
        assert_eq!(b, Duration::from_millis(20));
        assert_eq!((a, b), (c, d));
    }

    #[test]
    fn negative_fixed_is_refused() {
        assert!(Clock::new(&Timing::fixed(-1.0, 0.0)).is_err());
        assert!(Clock::new(&Timing::fixed(0.0, f64::NAN)).is_err());
    }

    #[test]
    fn estimated_grows_with_prompt_and_batch() {
        let t = Timing::estimated("llama-3.1-8b", "nvidia-h100-sxm").unwrap();
        let (ttft_short, tpot_1) = t.predict(100, 64, 1).unwrap();
        let (ttft_long, _) = t.predict(8000, 64, 1).unwrap();
        assert!(ttft_long > ttft_short, "{ttft_long:?} vs {ttft_short:?}");
        let pi = Timing::estimated("smollm2-135m", "raspberry-pi-5-8gb").unwrap();
        let (_, pi_1) = pi.predict(20, 16, 1).unwrap();
        let (_, pi_16) = pi.predict(20, 16, 16).unwrap();
        assert!(pi_16 > pi_1 * 2, "{pi_16:?} vs {pi_1:?}");
        assert!(tpot_1 > Duration::from_micros(100) && tpot_1 < Duration::from_millis(100));
    }

    #[test]
    fn undisclosed_model_is_refused() {
        assert!(Timing::estimated("gpt-4o", "nvidia-h100-sxm").is_err());
        assert!(Timing::estimated("no-such-model", "nvidia-h100-sxm").is_err());
    }
}
