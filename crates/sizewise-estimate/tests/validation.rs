//! The estimator against every published development row.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sizewise_catalog::Catalog;
use sizewise_estimate::validation::{median_abs_error, run};

#[test]
fn every_row_inside_the_band_and_median_error_under_20_percent() {
    let catalog = Catalog::embedded().unwrap();
    let outcomes = run(&catalog).unwrap();
    println!("| figure | measured | p10 | p50 | p90 | unit | error | in band |");
    for o in &outcomes {
        println!(
            "| {} | {} | {:.4} | {:.4} | {:.4} | {} | {:+.1}% | {} |",
            o.row.figure,
            o.row.measured,
            o.estimate.p10,
            o.estimate.p50,
            o.estimate.p90,
            o.row.metric.unit(),
            o.error * 100.0,
            o.in_band
        );
    }
    let mae = median_abs_error(&outcomes);
    println!("median |error| = {:.1}%", mae * 100.0);
    let out: Vec<_> = outcomes
        .iter()
        .filter(|o| !o.in_band)
        .map(|o| o.row.figure)
        .collect();
    assert!(out.is_empty(), "rows outside the band: {out:?}");
    assert!(mae <= 0.20, "median abs error {mae}");
}
