//! A learned difficulty score: the probability that the small model answers a prompt wrong,
//! from a logistic regression over hashed words and word pairs of the prompt, trained on
//! eval results (`sizewise route eval --save-model`). Its threshold is calibrated to a target
//! share of large-model calls, as RouteLLM does: the (1 − share) quantile of the training
//! prompts' scores.
//!
//! It runs in microseconds on a CPU with no model file beyond its weights, so the gateway can
//! score every request without a call to an embedding service.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Hash buckets of the features (2^18).
const DIM: usize = 1 << 18;

/// A trained score.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DifficultyModel {
    /// Format version (1).
    pub sizewise_difficulty: u32,
    /// Suite and upstreams it was trained on, for the record.
    pub trained_on: String,
    /// Training prompts.
    pub n_train: usize,
    /// Intercept.
    pub bias: f32,
    /// Non-zero weights by bucket.
    pub weights: BTreeMap<u32, f32>,
    /// Thresholds by target share of large calls (`"0.30"` → threshold), from the training
    /// prompts' scores.
    pub thresholds: BTreeMap<String, f64>,
}

/// FNV-1a, for stable feature buckets across platforms and versions.
fn fnv(bytes: &[u8], salt: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ salt;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Sparse, L2-normalised features of `text`: lower-case words, word pairs, and length bins.
pub fn features(text: &str) -> Vec<(u32, f32)> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut f: BTreeMap<u32, f32> = BTreeMap::new();
    let mut add = |h: u64| *f.entry((h % DIM as u64) as u32).or_insert(0.0) += 1.0;
    for w in &words {
        add(fnv(w.as_bytes(), 1));
    }
    for p in words.windows(2) {
        add(fnv(p[0].as_bytes(), 2) ^ fnv(p[1].as_bytes(), 3));
    }
    // Length in words, in log2 bins: long prompts are often the hard ones.
    let bin = (words.len() as f64 + 1.0).log2().floor() as u64;
    add(fnv(&bin.to_le_bytes(), 4));
    let norm = f.values().map(|v| v * v).sum::<f32>().sqrt().max(1e-6);
    f.into_iter().map(|(k, v)| (k, v / norm)).collect()
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// The share spelled as a threshold key: two decimals.
pub fn share_key(share: f64) -> String {
    format!("{share:.2}")
}

impl DifficultyModel {
    /// Trains on `(prompt, small_was_wrong)` pairs: logistic regression by stochastic
    /// gradient descent with L2, in a fixed order, so the same data give the same model.
    pub fn train(trained_on: &str, data: &[(String, bool)]) -> DifficultyModel {
        let mut m = DifficultyModel::fit(trained_on, data);
        // Thresholds from out-of-fold scores: a model scores the prompts it learnt from more
        // confidently than new ones, so their quantiles would send too few new prompts large.
        const FOLDS: usize = 5;
        let scores: Vec<f64> = if data.len() >= 2 * FOLDS {
            let mut s = vec![0.0; data.len()];
            for fold in 0..FOLDS {
                let train: Vec<(String, bool)> = data
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % FOLDS != fold)
                    .map(|(_, d)| d.clone())
                    .collect();
                let part = DifficultyModel::fit(trained_on, &train);
                for (i, d) in data.iter().enumerate().filter(|(i, _)| i % FOLDS == fold) {
                    s[i] = part.score(&d.0);
                }
            }
            s
        } else {
            data.iter().map(|(t, _)| m.score(t)).collect()
        };
        for i in 0..=20 {
            let share = i as f64 / 20.0;
            m.thresholds
                .insert(share_key(share), threshold_for_share(&scores, share));
        }
        m
    }

    /// One logistic regression fit, without thresholds.
    fn fit(trained_on: &str, data: &[(String, bool)]) -> DifficultyModel {
        let xs: Vec<Vec<(u32, f32)>> = data.iter().map(|(t, _)| features(t)).collect();
        let ys: Vec<f32> = data
            .iter()
            .map(|(_, y)| if *y { 1.0 } else { 0.0 })
            .collect();
        let mut w = vec![0f32; DIM];
        let pos = ys.iter().sum::<f32>();
        let n = ys.len().max(1) as f32;
        // Start at the base rate, so a score with nothing learnt is the share of wrong answers.
        let rate = (pos / n).clamp(1e-3, 1.0 - 1e-3);
        let mut b = (rate / (1.0 - rate)).ln();
        let (epochs, lr, l2) = (30, 0.5f32, 1e-4f32);
        for epoch in 0..epochs {
            let step = lr / (1.0 + epoch as f32 * 0.1);
            for (x, y) in xs.iter().zip(&ys) {
                let z = b + x.iter().map(|&(k, v)| w[k as usize] * v).sum::<f32>();
                let g = sigmoid(z) - y;
                for &(k, v) in x {
                    let wk = &mut w[k as usize];
                    *wk -= step * (g * v + l2 * *wk);
                }
                b -= step * g * 0.1;
            }
        }
        let weights = w
            .iter()
            .enumerate()
            .filter(|(_, v)| v.abs() > 1e-6)
            .map(|(k, v)| (k as u32, *v))
            .collect();
        DifficultyModel {
            sizewise_difficulty: 1,
            trained_on: trained_on.to_string(),
            n_train: data.len(),
            bias: b,
            weights,
            thresholds: BTreeMap::new(),
        }
    }

    /// P(the small model answers `text` wrong).
    pub fn score(&self, text: &str) -> f64 {
        let z = self.bias
            + features(text)
                .iter()
                .map(|(k, v)| self.weights.get(k).copied().unwrap_or(0.0) * v)
                .sum::<f32>();
        f64::from(sigmoid(z))
    }

    /// The threshold for a share of large calls (the nearest calibrated share).
    pub fn threshold(&self, share: f64) -> Option<f64> {
        self.thresholds
            .iter()
            .min_by(|a, b| {
                let da = (a.0.parse::<f64>().unwrap_or(f64::MAX) - share).abs();
                let db = (b.0.parse::<f64>().unwrap_or(f64::MAX) - share).abs();
                da.total_cmp(&db)
            })
            .map(|(_, t)| *t)
    }

    /// Reads a model file.
    pub fn load(path: &Path) -> Result<DifficultyModel, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
        let m: DifficultyModel = serde_json::from_str(&text).map_err(|e| {
            format!(
                "not a difficulty model (write one with `sizewise route eval --save-model`): {e}"
            )
        })?;
        if m.sizewise_difficulty != 1 {
            return Err(format!("format version {} is not 1", m.sizewise_difficulty));
        }
        if m.weights.keys().any(|&k| k as usize >= DIM) || !m.bias.is_finite() {
            return Err("weights out of range".into());
        }
        Ok(m)
    }

    /// Writes the model as JSON.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string(self).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// The score above which a share `share` of `scores` lies: requests scoring at or above it go
/// large. Share 0 gives a threshold above every score, share 1 one at or below every score.
pub fn threshold_for_share(scores: &[f64], share: f64) -> f64 {
    if scores.is_empty() || share <= 0.0 {
        // Scores are probabilities: 2 is above all of them (and, unlike infinity, JSON).
        return 2.0;
    }
    if share >= 1.0 {
        // Every request, including new ones that score below every calibration score.
        return -1.0;
    }
    let mut s = scores.to_vec();
    s.sort_by(|a, b| b.total_cmp(a));
    let k = ((share * s.len() as f64).round() as usize).clamp(1, s.len());
    s[k - 1]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Prompts with "theorem" in them are the ones the small model gets wrong.
    fn data(n: usize, offset: usize) -> Vec<(String, bool)> {
        (0..n)
            .map(|i| {
                let j = i + offset;
                let hard = j.is_multiple_of(3);
                let t = if hard {
                    format!("prove the theorem number {j} about primes")
                } else {
                    format!("what colour is item {j} in the picture")
                };
                (t, hard)
            })
            .collect()
    }

    #[test]
    fn it_learns_which_prompts_are_hard_and_ranks_unseen_ones() {
        let m = DifficultyModel::train("test", &data(300, 0));
        let test = data(90, 1000);
        let hard: Vec<f64> = test.iter().filter(|d| d.1).map(|d| m.score(&d.0)).collect();
        let easy: Vec<f64> = test
            .iter()
            .filter(|d| !d.1)
            .map(|d| m.score(&d.0))
            .collect();
        let min_hard = hard.iter().copied().fold(f64::MAX, f64::min);
        let max_easy = easy.iter().copied().fold(f64::MIN, f64::max);
        assert!(min_hard > max_easy, "{min_hard} <= {max_easy}");
        // The threshold for a third of calls separates them.
        let t = m.threshold(1.0 / 3.0).unwrap();
        let sent: usize = test.iter().filter(|d| m.score(&d.0) >= t).count();
        assert!((25..=35).contains(&sent), "{sent}");
    }

    #[test]
    fn thresholds_follow_quantiles_and_files_round_trip() {
        let s = [0.9, 0.1, 0.5, 0.7];
        assert_eq!(threshold_for_share(&s, 0.5), 0.7);
        assert_eq!(threshold_for_share(&s, 1.0), -1.0);
        assert_eq!(threshold_for_share(&s, 0.99), 0.1);
        assert!(threshold_for_share(&s, 0.0) > 1.0);
        let m = DifficultyModel::train("t", &data(30, 0));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.json");
        m.save(&p).unwrap();
        let back = DifficultyModel::load(&p).unwrap();
        assert_eq!(back.score("prove it"), m.score("prove it"));
        std::fs::write(&p, "{}").unwrap();
        assert!(
            DifficultyModel::load(&p)
                .unwrap_err()
                .contains("route eval")
        );
    }
}
