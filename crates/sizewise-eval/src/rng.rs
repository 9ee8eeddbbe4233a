//! SplitMix64, the small public-domain generator of Steele, Lea and Flood (2014) as written by
//! Sebastiano Vigna (<https://prng.di.unimi.it/splitmix64.c>).
//!
//! Few-shot sampling and bootstrap resampling draw from it so that a seed gives the same
//! prompts and the same error bars on every platform and in every future version: the
//! algorithm below is fixed, unlike a library's "standard" generator.

/// The SplitMix64 generator: 64 bits of state, one addition and a mixing function per draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

/// The golden-ratio increment of SplitMix64.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

impl SplitMix64 {
    /// A generator whose state starts at `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// An independent generator for sub-stream `stream` of `seed` (for example one per item):
    /// the generator seeded with `seed` XOR the first output of a generator seeded with
    /// `stream`.
    pub fn stream(seed: u64, stream: u64) -> Self {
        Self::new(seed ^ Self::new(stream).next_u64())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..n` without modulo bias (draws below `2^64 mod n` are
    /// rejected and drawn again); 0 when `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let threshold = n.wrapping_neg() % n;
        loop {
            let r = self.next_u64();
            if r >= threshold {
                return r % n;
            }
        }
    }

    /// A uniform index in `0..n` (see [`SplitMix64::below`]).
    pub fn index(&mut self, n: usize) -> usize {
        // usize is at most 64 bits on every supported target, so both conversions are exact.
        usize::try_from(self.below(n as u64)).unwrap_or(0)
    }

    /// A uniform float in `[0, 1)` from the top 53 bits of the next draw.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Shuffles `items` in place (Fisher-Yates, from the last position down).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.index(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_outputs() {
        // The first outputs of the reference C code for seed 1234567.
        let mut rng = SplitMix64::new(1_234_567);
        let got: Vec<u64> = (0..5).map(|_| rng.next_u64()).collect();
        assert_eq!(
            got,
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423,
                4_593_380_528_125_082_431,
                16_408_922_859_458_223_821,
            ]
        );
        assert_eq!(SplitMix64::new(0).next_u64(), 16_294_208_416_658_607_535);
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = SplitMix64::new(7);
        let mut seen = [0u32; 7];
        for _ in 0..7_000 {
            let v = rng.below(7);
            assert!(v < 7);
            seen[v as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 800), "{seen:?}");
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.below(1), 0);
    }

    #[test]
    fn streams_differ_and_repeat() {
        let a: Vec<u64> = {
            let mut r = SplitMix64::stream(42, 1);
            (0..3).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = SplitMix64::stream(42, 2);
            (0..3).map(|_| r.next_u64()).collect()
        };
        let again: Vec<u64> = {
            let mut r = SplitMix64::stream(42, 1);
            (0..3).map(|_| r.next_u64()).collect()
        };
        assert_ne!(a, b);
        assert_eq!(a, again);
    }

    #[test]
    fn floats_are_in_the_unit_interval() {
        let mut rng = SplitMix64::new(3);
        for _ in 0..1000 {
            let x = rng.next_f64();
            assert!((0.0..1.0).contains(&x));
        }
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut rng = SplitMix64::new(11);
        let mut v: Vec<u32> = (0..50).collect();
        rng.shuffle(&mut v);
        let mut sorted = v.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(v, sorted);
    }
}
