//! Deterministic randomness: arrival schedules and synthetic prompts.

use crate::config::Arrival;

/// SplitMix64: small, fast, and fully determined by its seed.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in the open interval (0, 1).
    pub(crate) fn open01(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn exp1(&mut self) -> f64 {
        -self.open01().ln()
    }

    fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.open01(), self.open01());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Gamma(shape, 1) by Marsaglia & Tsang (2000); shape < 1 via the `U^(1/k)` boost.
    fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            let u = self.open01();
            return self.gamma(shape + 1.0) * u.powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = self.open01();
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }
}

/// Planned arrival offsets (seconds from the start of the measured phase) of `n` requests.
///
/// Gaps are drawn i.i.d. (exponential for Poisson, gamma(k) for Gamma, equal for Constant) and
/// then rescaled so that their sum is exactly `n / per_s`: the last request is planned at
/// `n / per_s`. For Poisson this is exactly a Poisson process conditioned on its `n`-th
/// arrival falling at `n / per_s` (normalized exponential spacings are uniform spacings), the
/// same stabilization vLLM applies; the requested rate is therefore met by the schedule and
/// `achieved_rate` measures only the client.
pub fn arrival_offsets(n: u64, per_s: f64, arrival: Arrival, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed ^ 0xA5A5_5A5A_0F0F_F0F0);
    let gaps: Vec<f64> = (0..n)
        .map(|_| match arrival {
            Arrival::Constant => 1.0,
            Arrival::Poisson => rng.exp1(),
            Arrival::Gamma { shape } => rng.gamma(shape),
        })
        .collect();
    let sum: f64 = gaps.iter().sum();
    let scale = if sum > 0.0 {
        n as f64 / per_s / sum
    } else {
        0.0
    };
    let mut t = 0.0;
    gaps.into_iter()
        .map(|g| {
            t += g * scale;
            t
        })
        .collect()
}

/// Common English words that are a single token (with their leading space) in GPT-2, Llama,
/// Mistral, Qwen and SmolLM byte-level BPE vocabularies.
const WORDS: [&str; 100] = [
    "the", "of", "and", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are",
    "as", "with", "his", "they", "at", "be", "this", "have", "from", "or", "one", "had", "by",
    "word", "but", "not", "what", "all", "were", "we", "when", "your", "can", "said", "there",
    "use", "an", "each", "which", "she", "do", "how", "their", "if", "will", "up", "other",
    "about", "out", "many", "then", "them", "these", "so", "some", "her", "would", "make", "like",
    "him", "into", "time", "has", "look", "two", "more", "write", "go", "see", "number", "no",
    "way", "could", "people", "my", "than", "first", "water", "been", "call", "who", "oil", "its",
    "now", "find", "long", "down", "day", "did", "get", "come", "made", "may", "part", "over",
    "new",
];

/// The synthetic prompt for request number `index` (warmup requests first) of a run seeded
/// with `seed`.
///
/// Rule: `prompt_tokens` words separated by single spaces, each drawn uniformly from a fixed
/// list of 100 common English words that are one token each in the usual byte-level BPE
/// vocabularies, by SplitMix64 seeded with `seed` and `index`. The text is therefore about
/// `prompt_tokens` tokens (±1 for the first word) before the server's chat template, the
/// same for the same `(seed, index)`, and different between requests (100^8 choices in the
/// first 8 words), so a prefix cache cannot serve one request from another.
pub fn synthetic_prompt(seed: u64, index: u64, prompt_tokens: u32) -> String {
    let mut rng = Rng::new(
        seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    let mut s = String::with_capacity(prompt_tokens as usize * 6);
    for i in 0..prompt_tokens {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(WORDS[(rng.next_u64() % WORDS.len() as u64) as usize]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_end_at_n_over_rate() {
        for arrival in [
            Arrival::Poisson,
            Arrival::Constant,
            Arrival::Gamma { shape: 0.5 },
            Arrival::Gamma { shape: 4.0 },
        ] {
            let a = arrival_offsets(500, 50.0, arrival, 7);
            assert_eq!(a.len(), 500);
            assert!((a[499] - 10.0).abs() < 1e-9, "{arrival:?}");
            assert!(a.windows(2).all(|w| w[1] >= w[0]));
        }
        let c = arrival_offsets(4, 2.0, Arrival::Constant, 0);
        assert_eq!(c, vec![0.5, 1.0, 1.5, 2.0]);
    }

    #[test]
    fn poisson_gaps_look_exponential_and_are_seeded() {
        let a = arrival_offsets(20_000, 100.0, Arrival::Poisson, 3);
        assert_eq!(a, arrival_offsets(20_000, 100.0, Arrival::Poisson, 3));
        assert_ne!(a, arrival_offsets(20_000, 100.0, Arrival::Poisson, 4));
        let gaps: Vec<f64> = std::iter::once(a[0])
            .chain(a.windows(2).map(|w| w[1] - w[0]))
            .collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
        // exponential: coefficient of variation 1
        assert!((var.sqrt() / mean - 1.0).abs() < 0.05);
        let g = arrival_offsets(20_000, 100.0, Arrival::Gamma { shape: 4.0 }, 3);
        let gg: Vec<f64> = g.windows(2).map(|w| w[1] - w[0]).collect();
        let m = gg.iter().sum::<f64>() / gg.len() as f64;
        let v = gg.iter().map(|x| (x - m).powi(2)).sum::<f64>() / gg.len() as f64;
        // gamma(k): coefficient of variation 1/sqrt(k) = 0.5
        assert!((v.sqrt() / m - 0.5).abs() < 0.03);
    }

    #[test]
    fn synthetic_prompts_are_deterministic_unique_and_sized() {
        let a = synthetic_prompt(1, 0, 64);
        assert_eq!(a, synthetic_prompt(1, 0, 64));
        assert_ne!(a, synthetic_prompt(1, 1, 64));
        assert_ne!(a, synthetic_prompt(2, 0, 64));
        assert_eq!(a.split(' ').count(), 64);
        assert!(a.is_ascii());
    }
}
