//! Property tests: any scenario on any catalog pair gives finite, ordered bands or
//! a clear error; never a panic or a silent NaN.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::LazyLock;

use proptest::prelude::*;
use sizewise_catalog::Catalog;
use sizewise_estimate::{Engine, Scenario, estimate_numbers, precision::ALL, summarize};

static CATALOG: LazyLock<Catalog> = LazyLock::new(|| Catalog::embedded().unwrap());

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn estimates_are_finite_and_ordered(
        mi in 0usize..64, hi in 0usize..40, pi in 0usize..14, ei in 0usize..5,
        batch in 1u32..256, prompt in 0u64..200_000, output in 1u64..20_000, gpus in 1u32..9,
    ) {
        let c = &*CATALOG;
        let models: Vec<_> = c.models().filter(|m| m.architecture.is_some()).collect();
        let hws: Vec<_> = c.hardware().collect();
        let m = models[mi % models.len()];
        let h = hws[hi % hws.len()];
        let engine = [None, Some(Engine::LlamaCpp), Some(Engine::Vllm), Some(Engine::TrtLlm), Some(Engine::Transformers)][ei];
        let s = Scenario {
            precision: Some(ALL[pi % ALL.len()]),
            engine,
            batch,
            prompt_tokens: prompt,
            output_tokens: output,
            gpus,
            memory_gb: Some(64.0),
            ..Scenario::default()
        };
        let a = summarize(m).unwrap();
        if let Ok(n) = estimate_numbers(m, &a, h, &s) {
            for b in [n.ttft_s, n.tpot_s, n.e2e_s, n.throughput_tokens_per_s, n.training_device_hours] {
                prop_assert!(b.is_finite(), "{} on {}: {b:?}", m.id, h.id);
                prop_assert!(b.p10 <= b.p50 && b.p50 <= b.p90);
                prop_assert!(b.p10 > 0.0);
            }
            prop_assert!(n.weights_bytes > 0.0 && n.kv_bytes >= 0.0);
            prop_assert!(n.max_context_fits >= 0.0);
        }
    }
}
