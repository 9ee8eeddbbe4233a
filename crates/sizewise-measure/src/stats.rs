//! Summary statistics.
//!
//! Percentiles use linear interpolation between closest ranks (Hyndman & Fan type 7, the
//! default of NumPy, R and Excel `PERCENTILE.INC`): for sorted values `x[0..n]` and
//! `p` in `[0, 1]`, `h = (n - 1) * p`, `q = x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)])`.
//! The standard deviation is the sample one (divides by `n - 1`; 0 for a single value).
//! With no values every field except `n` is `null`.

use serde::Serialize;

/// Distribution summary of one metric.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Median (type-7 interpolation).
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Arithmetic mean.
    pub mean: Option<f64>,
    /// Sample standard deviation (n - 1).
    pub sd: Option<f64>,
    /// Number of values.
    pub n: usize,
}

/// Percentile `p` (0..=1) of already sorted values, by linear interpolation (type 7).
pub fn percentile_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let p = p.clamp(0.0, 1.0);
    let h = (n - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let frac = h - lo as f64;
    Some(sorted[lo] + frac * (sorted[hi] - sorted[lo]))
}

impl Stats {
    /// Summarizes `values` (non-finite values are dropped; order does not matter).
    pub fn from_values(mut values: Vec<f64>) -> Self {
        values.retain(|v| v.is_finite());
        values.sort_by(f64::total_cmp);
        let n = values.len();
        if n == 0 {
            return Self::default();
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let sd = if n > 1 {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Self {
            p50: percentile_sorted(&values, 0.50),
            p90: percentile_sorted(&values, 0.90),
            p95: percentile_sorted(&values, 0.95),
            p99: percentile_sorted(&values, 0.99),
            mean: Some(mean),
            sd: Some(sd),
            n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn type7_on_one_to_ten() {
        let s = Stats::from_values((1..=10).rev().map(f64::from).collect());
        assert!(close(s.p50, 5.5));
        assert!(close(s.p90, 9.1));
        assert!(close(s.p95, 9.55));
        assert!(close(s.p99, 9.91));
        assert!(close(s.mean, 5.5));
        // sample sd of 1..=10 = sqrt(82.5 / 9)
        assert!(close(s.sd, (82.5f64 / 9.0).sqrt()));
        assert_eq!(s.n, 10);
    }

    #[test]
    fn matches_numpy_on_uneven_values() {
        // numpy.percentile([0, 1, 3, 7, 100], [50, 90, 95, 99]) -> 3, 62.8, 81.4, 96.28
        let s = Stats::from_values(vec![100.0, 0.0, 7.0, 3.0, 1.0]);
        assert!(close(s.p50, 3.0));
        assert!(close(s.p90, 62.8));
        assert!(close(s.p95, 81.4));
        assert!(close(s.p99, 96.28));
    }

    #[test]
    fn single_and_empty() {
        let s = Stats::from_values(vec![4.0]);
        assert!(close(s.p50, 4.0) && close(s.p99, 4.0) && close(s.sd, 0.0));
        let e = Stats::from_values(vec![f64::NAN]);
        assert_eq!(e.n, 0);
        assert!(e.p50.is_none() && e.mean.is_none());
        let j = serde_json::to_value(e).unwrap();
        assert!(j["p50"].is_null());
        assert_eq!(j["n"], 0);
    }

    #[test]
    fn percentile_endpoints() {
        let v = [1.0, 2.0, 4.0];
        assert!(close(percentile_sorted(&v, 0.0), 1.0));
        assert!(close(percentile_sorted(&v, 1.0), 4.0));
        assert!(close(percentile_sorted(&v, 0.75), 3.0));
    }
}
