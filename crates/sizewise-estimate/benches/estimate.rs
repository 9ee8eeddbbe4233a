//! How many estimates per second the core does on one core (bar: one million).
//! Run: cargo bench -p sizewise-estimate --bench estimate
#![allow(clippy::expect_used, missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sizewise_catalog::Catalog;
use sizewise_estimate::{Precision, Scenario, estimate_numbers, summarize};

fn bench(c: &mut Criterion) {
    let catalog = Catalog::embedded().expect("catalog");
    let model = catalog.model("llama-3.1-70b").expect("model");
    let hw = catalog.hardware_by_id("nvidia-h100-sxm").expect("hardware");
    let summary = summarize(model).expect("architecture");
    let mut g = c.benchmark_group("estimator");
    g.throughput(Throughput::Elements(1));
    let s = Scenario {
        precision: Some(Precision::Bf16),
        gpus: 2,
        batch: 8,
        ..Scenario::default()
    };
    g.bench_function("estimate_numbers llama-3.1-70b on 2x h100", |b| {
        b.iter(|| {
            estimate_numbers(
                std::hint::black_box(model),
                &summary,
                hw,
                std::hint::black_box(&s),
            )
        })
    });
    let gemma = catalog.model("gemma-2-9b").expect("model");
    let gsum = summarize(gemma).expect("architecture");
    let m2 = catalog.hardware_by_id("apple-m2").expect("hardware");
    let q = Scenario {
        precision: Some(Precision::Q4KM),
        ..Scenario::default()
    };
    g.bench_function(
        "estimate_numbers gemma-2-9b (sliding window) on apple-m2",
        |b| {
            b.iter(|| {
                estimate_numbers(
                    std::hint::black_box(gemma),
                    &gsum,
                    m2,
                    std::hint::black_box(&q),
                )
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
