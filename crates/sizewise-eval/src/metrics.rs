//! Suite-level metrics with seeded bootstrap standard errors and confidence intervals, and the
//! paired bootstrap that compares two runs item by item.

use serde::{Deserialize, Serialize};

use crate::error::{EvalError, Result};
use crate::rng::SplitMix64;
use crate::score::{Answer, Outcome, Scored};
use crate::suite::{AnswerKind, Metric, Suite, Target};

/// Bootstrap resamples behind every standard error and interval of [`summarize`].
pub const BOOTSTRAP_RESAMPLES: usize = 1000;

/// A score with its bootstrap uncertainty.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The metric over all items.
    pub score: f64,
    /// Standard deviation of the metric over the bootstrap resamples.
    pub stderr: f64,
    /// The 2.5th and 97.5th percentiles of the metric over the resamples.
    pub ci95: [f64; 2],
}

/// A suite's result over the scored items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The suite's id.
    pub suite: String,
    /// The metric's name (`accuracy`, `macro_f1`...).
    pub metric: String,
    /// Items scored.
    pub n: usize,
    /// The main score: the metric over the flexible readings.
    pub score: f64,
    /// Its bootstrap standard error.
    pub stderr: f64,
    /// Its percentile-bootstrap 95% interval.
    pub ci95: [f64; 2],
    /// The metric over the strict readings.
    pub strict: Estimate,
    /// Log-probability scoring only: accuracy normalized by answer length (`acc_norm`).
    pub norm: Option<Estimate>,
    /// Items whose output held no answer at all, strictly read.
    pub no_answer_strict: usize,
    /// Items whose output held no answer at all, flexibly read.
    pub no_answer_flexible: usize,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Seed of the resampling.
    pub seed: u64,
}

/// Summarizes scored items of `suite` with its metric: the main (flexible) score and the
/// strict one, each with a bootstrap standard error and 95% interval from
/// [`BOOTSTRAP_RESAMPLES`] resamples of the items drawn by [`SplitMix64`] from `seed` (the
/// same resamples for every variant). Macro F1 is recomputed on every resample over the
/// labels that occur in it (as gold or as prediction), each label's F1 being 0 when it has
/// no true positive; the other metrics are means of the items' values.
pub fn summarize(suite: &Suite, scored: &[Scored], seed: u64) -> Result<Summary> {
    if scored.is_empty() {
        return Err(EvalError::Empty {
            what: format!("suite {} ({})", suite.id, suite.origin),
        });
    }
    let stat = |pick: fn(&Scored) -> Option<&Outcome>| -> Result<Option<Stat>> {
        let outcomes: Option<Vec<&Outcome>> = scored.iter().map(pick).collect();
        let Some(outcomes) = outcomes else {
            return Ok(None);
        };
        Ok(Some(match (&suite.answer, suite.metric) {
            (AnswerKind::Label { labels }, Metric::MacroF1) => {
                let gold = scored
                    .iter()
                    .map(|s| match suite.item(s.index) {
                        Some(item) if item.id == s.id => match item.target {
                            Target::Label(t) => Ok(t),
                            _ => Err(foreign(suite, s)),
                        },
                        _ => Err(foreign(suite, s)),
                    })
                    .collect::<Result<Vec<_>>>()?;
                let predicted = outcomes
                    .iter()
                    .map(|o| match o.answer {
                        Some(Answer::Candidate { index, .. }) if index < labels.len() => {
                            Some(index)
                        }
                        _ => None,
                    })
                    .collect();
                Stat::MacroF1 {
                    gold,
                    predicted,
                    labels: labels.len(),
                }
            }
            _ => Stat::Mean(outcomes.iter().map(|o| o.value).collect()),
        }))
    };
    let flexible = stat(|s| Some(&s.flexible))?;
    let strict = stat(|s| Some(&s.strict))?;
    let norm = stat(|s| s.norm.as_ref())?;
    let stats: Vec<&Stat> = [&flexible, &strict, &norm].into_iter().flatten().collect();
    let estimates = bootstrap(&stats, scored.len(), seed);
    let estimate = |i: usize| estimates.get(i).copied();
    let main = estimate(0).unwrap_or(Estimate {
        score: 0.0,
        stderr: 0.0,
        ci95: [0.0, 0.0],
    });
    let count_none =
        |pick: fn(&Scored) -> &Outcome| scored.iter().filter(|s| pick(s).answer.is_none()).count();
    Ok(Summary {
        suite: suite.id.clone(),
        metric: suite.metric.name().to_owned(),
        n: scored.len(),
        score: main.score,
        stderr: main.stderr,
        ci95: main.ci95,
        strict: estimate(1).unwrap_or(main),
        norm: norm.as_ref().and(estimate(2)),
        no_answer_strict: count_none(|s| &s.strict),
        no_answer_flexible: count_none(|s| &s.flexible),
        resamples: BOOTSTRAP_RESAMPLES,
        seed,
    })
}

fn foreign(suite: &Suite, scored: &Scored) -> EvalError {
    EvalError::ForeignItem {
        suite: suite.id.clone(),
        file: suite.origin.clone(),
        index: scored.index,
        id: scored.id.clone(),
    }
}

/// A metric over items, computable on any resample of them.
enum Stat {
    /// The mean of per-item values.
    Mean(Vec<f64>),
    /// Macro F1 of predicted against gold label indices.
    MacroF1 {
        gold: Vec<usize>,
        predicted: Vec<Option<usize>>,
        labels: usize,
    },
}

impl Stat {
    /// The metric over the items at `picks` (with repeats).
    fn on(&self, picks: &[usize]) -> f64 {
        match self {
            Self::Mean(values) => {
                let sum: f64 = picks.iter().filter_map(|&i| values.get(i)).sum();
                sum / picks.len().max(1) as f64
            }
            Self::MacroF1 {
                gold,
                predicted,
                labels,
            } => macro_f1(gold, predicted, *labels, picks),
        }
    }
}

/// Macro F1 over the labels that occur (as gold or prediction) among the items at `picks`;
/// an item with no prediction is a miss of its gold label.
fn macro_f1(gold: &[usize], predicted: &[Option<usize>], labels: usize, picks: &[usize]) -> f64 {
    let mut tp = vec![0usize; labels];
    let mut fp = vec![0usize; labels];
    let mut fn_ = vec![0usize; labels];
    let mut seen = vec![false; labels];
    for &i in picks {
        let (Some(&g), Some(&p)) = (gold.get(i), predicted.get(i)) else {
            continue;
        };
        if g >= labels {
            continue;
        }
        seen[g] = true;
        match p {
            Some(p) if p == g => tp[g] += 1,
            Some(p) if p < labels => {
                seen[p] = true;
                fp[p] += 1;
                fn_[g] += 1;
            }
            _ => fn_[g] += 1,
        }
    }
    let mut sum = 0.0;
    let mut count = 0usize;
    for l in (0..labels).filter(|&l| seen[l]) {
        let denominator = 2 * tp[l] + fp[l] + fn_[l];
        if denominator > 0 {
            sum += 2.0 * tp[l] as f64 / denominator as f64;
        }
        count += 1;
    }
    if count == 0 { 0.0 } else { sum / count as f64 }
}

/// Each statistic on all items, with its bootstrap error and interval over the same
/// [`BOOTSTRAP_RESAMPLES`] resamples of `n` items.
fn bootstrap(stats: &[&Stat], n: usize, seed: u64) -> Vec<Estimate> {
    let all: Vec<usize> = (0..n).collect();
    let mut rng = SplitMix64::new(seed);
    let mut samples = vec![Vec::with_capacity(BOOTSTRAP_RESAMPLES); stats.len()];
    let mut picks = vec![0usize; n];
    for _ in 0..BOOTSTRAP_RESAMPLES {
        for p in picks.iter_mut() {
            *p = rng.index(n);
        }
        for (stat, out) in stats.iter().zip(samples.iter_mut()) {
            out.push(stat.on(&picks));
        }
    }
    stats
        .iter()
        .zip(samples)
        .map(|(stat, mut values)| {
            let score = stat.on(&all);
            let stderr = std_dev(&values);
            values.sort_by(f64::total_cmp);
            Estimate {
                score,
                stderr,
                ci95: [percentile(&values, 0.025), percentile(&values, 0.975)],
            }
        })
        .collect()
}

/// Sample standard deviation (n - 1 in the denominator); 0 for fewer than two values.
fn std_dev(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let squares: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (squares / (values.len() - 1) as f64).sqrt()
}

/// The `q` quantile of sorted values, interpolating linearly between the two nearest ranks
/// (the default of R and NumPy).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return 0.0;
    };
    let rank = q * last as f64;
    let below = rank.floor() as usize;
    let above = rank.ceil() as usize;
    let (Some(lo), Some(hi)) = (sorted.get(below), sorted.get(above)) else {
        return 0.0;
    };
    lo + (hi - lo) * (rank - below as f64)
}

/// The comparison of two runs scored on the same items.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Paired {
    /// Mean of `a - b` over the items.
    pub mean_diff: f64,
    /// Percentile-bootstrap 95% interval of the mean difference.
    pub ci95: [f64; 2],
    /// Two-sided p-value: twice the share of resamples whose mean difference does not have
    /// the sign of `mean_diff` (zero counts as not having it), at most 1; 1 when
    /// `mean_diff` is 0.
    pub p_value: f64,
    /// Items compared.
    pub n: usize,
    /// Resamples drawn.
    pub iters: usize,
}

/// Compares per-item values of two runs on the same items (`a[i]` and `b[i]` are the same
/// item) by a paired bootstrap: `iters` resamples of the items drawn by [`SplitMix64`] from
/// `seed`, each giving the mean of `a - b` over the resampled items.
pub fn paired_bootstrap(a: &[f64], b: &[f64], seed: u64, iters: usize) -> Result<Paired> {
    let problem = |problem: String| Err(EvalError::Paired { problem });
    if a.len() != b.len() {
        return problem(format!(
            "run a has {} items and run b has {}; both must score the same items",
            a.len(),
            b.len()
        ));
    }
    if a.is_empty() {
        return problem("no items to compare".to_owned());
    }
    if iters == 0 {
        return problem("0 resamples asked for".to_owned());
    }
    if let Some(i) = a.iter().chain(b).position(|v| !v.is_finite()) {
        let (run, item) = if i < a.len() {
            ("a", i)
        } else {
            ("b", i - a.len())
        };
        return problem(format!(
            "run {run} item {item} has a value that is not a finite number"
        ));
    }
    let diffs: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let stat = Stat::Mean(diffs);
    let n = a.len();
    let all: Vec<usize> = (0..n).collect();
    let mean_diff = stat.on(&all);
    let mut rng = SplitMix64::new(seed);
    let mut picks = vec![0usize; n];
    let mut means = Vec::with_capacity(iters);
    for _ in 0..iters {
        for p in picks.iter_mut() {
            *p = rng.index(n);
        }
        means.push(stat.on(&picks));
    }
    let opposite = if mean_diff > 0.0 {
        means.iter().filter(|m| **m <= 0.0).count()
    } else if mean_diff < 0.0 {
        means.iter().filter(|m| **m >= 0.0).count()
    } else {
        iters
    };
    means.sort_by(f64::total_cmp);
    Ok(Paired {
        mean_diff,
        ci95: [percentile(&means, 0.025), percentile(&means, 0.975)],
        p_value: (2.0 * opposite as f64 / iters as f64).min(1.0),
        n,
        iters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macro_f1_on_a_known_confusion() {
        // gold:      A A A B B C
        // predicted: A A B B - A
        // A: tp 2, fp 1, fn 1 -> 4/6; B: tp 1, fp 1, fn 1 -> 2/4; C: tp 0, fn 1 -> 0.
        let gold = [0, 0, 0, 1, 1, 2];
        let predicted = [Some(0), Some(0), Some(1), Some(1), None, Some(0)];
        let all: Vec<usize> = (0..6).collect();
        let f1 = macro_f1(&gold, &predicted, 3, &all);
        assert!((f1 - (4.0 / 6.0 + 0.5 + 0.0) / 3.0).abs() < 1e-12, "{f1}");
        // A label that occurs neither as gold nor as prediction does not count.
        let f1 = macro_f1(&gold, &predicted, 4, &all);
        assert!((f1 - (4.0 / 6.0 + 0.5) / 3.0).abs() < 1e-12);
        // Perfect predictions.
        let perfect: Vec<Option<usize>> = gold.iter().map(|g| Some(*g)).collect();
        assert_eq!(macro_f1(&gold, &perfect, 3, &all), 1.0);
    }

    #[test]
    fn percentiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&v, 0.5), 3.0);
        assert_eq!(percentile(&v, 1.0), 5.0);
        assert!((percentile(&v, 0.1) - 1.4).abs() < 1e-12);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn std_dev_of_known_values() {
        assert!(
            (std_dev(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]) - 2.138_089_935_299_395).abs()
                < 1e-12
        );
        assert_eq!(std_dev(&[1.0]), 0.0);
    }

    #[test]
    fn bootstrap_error_of_a_proportion_is_near_the_formula() {
        // 100 items, 70 right: the binomial standard error is sqrt(0.7 * 0.3 / 100) = 0.0458.
        let values: Vec<f64> = (0..100).map(|i| if i < 70 { 1.0 } else { 0.0 }).collect();
        let stat = Stat::Mean(values);
        let est = bootstrap(&[&stat], 100, 1)[0];
        assert!((est.score - 0.7).abs() < 1e-12);
        assert!((est.stderr - 0.0458).abs() < 0.006, "{}", est.stderr);
        assert!(est.ci95[0] < 0.7 && 0.7 < est.ci95[1]);
        assert!((est.ci95[0] - 0.61).abs() < 0.03 && (est.ci95[1] - 0.79).abs() < 0.03);
    }

    #[test]
    fn paired_bootstrap_sees_a_clear_difference_and_none() {
        let a: Vec<f64> = (0..200)
            .map(|i| if i % 10 < 8 { 1.0 } else { 0.0 })
            .collect();
        let b: Vec<f64> = (0..200)
            .map(|i| if i % 10 < 5 { 1.0 } else { 0.0 })
            .collect();
        let p = paired_bootstrap(&a, &b, 9, 1000).unwrap();
        assert!((p.mean_diff - 0.3).abs() < 1e-12);
        assert!(p.p_value < 0.01, "{}", p.p_value);
        assert!(p.ci95[0] > 0.2 && p.ci95[1] < 0.4, "{:?}", p.ci95);
        assert_eq!((p.n, p.iters), (200, 1000));

        let same = paired_bootstrap(&a, &a, 9, 1000).unwrap();
        assert_eq!(same.mean_diff, 0.0);
        assert_eq!(same.p_value, 1.0);
        assert_eq!(same.ci95, [0.0, 0.0]);

        // Reversing the runs mirrors the result.
        let r = paired_bootstrap(&b, &a, 9, 1000).unwrap();
        assert!((r.mean_diff + 0.3).abs() < 1e-12);
        assert_eq!(r.p_value, p.p_value);
    }

    #[test]
    fn paired_bootstrap_refuses_mismatched_input() {
        assert!(paired_bootstrap(&[1.0], &[1.0, 0.0], 1, 10).is_err());
        assert!(paired_bootstrap(&[], &[], 1, 10).is_err());
        assert!(paired_bootstrap(&[1.0], &[0.0], 1, 0).is_err());
        let err = paired_bootstrap(&[1.0, 0.0], &[0.0, f64::NAN], 1, 10).unwrap_err();
        assert!(err.to_string().contains("run b item 1"), "{err}");
    }
}
