//! How long the personal-data detector takes on a 2 KB prompt, which the gateway scans on
//! every request, and on inputs built to make many candidates that all fail validation.
//! Run: cargo bench -p sizewise-route --bench privacy
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sizewise_route::privacy::{first, redact, scan};

fn prompt_2kb() -> String {
    let para = "You are a helpful assistant. Summarise the following meeting notes for the \
        engineering team, keeping version numbers like 1.2.3 and dates such as 2024-01-15 \
        intact. The budget grew by 12% to US$ 2,761 in Q3, and the release train leaves at \
        10:30 every Tuesday. Please keep the answer under 200 words and use bullet points. ";
    let mut text = String::new();
    while text.len() < 2048 {
        text.push_str(para);
    }
    text
}

fn bench(c: &mut Criterion) {
    let clean = prompt_2kb();
    let mut dirty = clean.clone();
    dirty.insert_str(700, " Contact ana@example.com or (11) 91234-5678. ");
    dirty.push_str(
        " Card 4111 1111 1111 1111, CPF 123.456.789-09, key sk-abcdefghijklmnopqrstuvwx1234.",
    );
    assert!(scan(&clean).is_empty());
    assert_eq!(scan(&dirty).len(), 5);
    let mut g = c.benchmark_group("privacy 2 KB");
    for (name, text) in [("no PII", &clean), ("with PII", &dirty)] {
        g.bench_function(format!("first, {name}"), |b| {
            b.iter(|| first(black_box(text)))
        });
        g.bench_function(format!("scan, {name}"), |b| {
            b.iter(|| scan(black_box(text)))
        });
        g.bench_function(format!("redact, {name}"), |b| {
            b.iter(|| redact(black_box(text)))
        });
    }
    g.finish();
    let mut g = c.benchmark_group("privacy adversarial");
    for (name, text) in [
        ("digits", "7".repeat(2048)),
        ("years", "2019 2020 2021 2022 ".repeat(103)),
        ("4-digit table", "4500 ".repeat(410)),
        ("pw: words", "password: aaaaaaaaa ".repeat(103)),
        ("xsk-", "xsk-".repeat(512)),
    ] {
        g.bench_function(format!("scan, {name}"), |b| {
            b.iter(|| scan(black_box(&text)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
