//! Deterministic output text, the prompt-token rule and the fault sequences.

/// Words the simulator writes: lowercase ASCII, so that each one is exactly one
/// token under [`count_tokens`] and needs no JSON escaping.
const VOCAB: &[&str] = &[
    "the", "model", "small", "large", "token", "size", "matters", "latency", "memory", "fast",
    "answer", "cache", "batch", "prompt", "context", "window", "quality", "cost", "energy", "time",
    "first", "output", "input", "device", "server", "request", "stream", "queue", "prefill",
    "decode", "weights", "bytes", "compute", "bound", "router", "hybrid", "choose", "measure",
    "estimate", "publish", "number", "band", "median", "tail", "seconds", "tokens", "per", "and",
    "or", "with", "without", "because", "so", "then", "when", "more", "less", "every", "each",
    "one", "two", "ten", "hundred", "thousand",
];

/// Counts tokens with the simulator's rule: a token is a maximal run of
/// alphanumeric characters (`char::is_alphanumeric`), or any single other
/// character that is not whitespace. Whitespace is never a token.
///
/// `"Hello, world!"` is 4 tokens; the simulator's own output of `n` tokens
/// counts as exactly `n`.
pub fn count_tokens(text: &str) -> u64 {
    let mut n = 0u64;
    let mut in_word = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if !in_word {
                n += 1;
                in_word = true;
            }
        } else {
            in_word = false;
            if !c.is_whitespace() {
                n += 1;
            }
        }
    }
    n
}

/// SplitMix64 finaliser: a stable 64-bit mix (std's hashers may change).
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a over bytes, then mixed with the seed.
pub(crate) fn hash_request(seed: u64, body: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(h ^ mix(seed))
}

/// The `i`-th token of the output seeded by `h`: a word, with a leading space
/// except for the first.
pub(crate) fn word(h: u64, i: u32) -> &'static str {
    let k = mix(h ^ u64::from(i).wrapping_mul(0xD6E8_FEB8_6659_FD93)) % VOCAB.len() as u64;
    VOCAB.get(k as usize).copied().unwrap_or("the")
}

/// Appends the `i`-th token's text (with its leading space) to `out`.
pub(crate) fn push_token(out: &mut Vec<u8>, h: u64, i: u32) {
    if i > 0 {
        out.push(b' ');
    }
    out.extend_from_slice(word(h, i).as_bytes());
}

/// The whole output of `n` tokens.
pub(crate) fn text(h: u64, n: u32) -> String {
    let mut v = Vec::with_capacity(n as usize * 8);
    for i in 0..n {
        push_token(&mut v, h, i);
    }
    String::from_utf8(v).unwrap_or_default()
}

/// A low-discrepancy sequence in [0, 1): `frac(offset + i * step)`. Over any
/// `N` consecutive indices, the share of values below `r` is within about
/// `log(N)/N` of `r`, so fault counts are nearly exact, not binomial.
pub(crate) fn sequence(offset: f64, step: f64, i: u64) -> f64 {
    let x = offset + (i as f64) * step;
    x - x.floor()
}

/// Fractional part of the golden ratio: the step of the error/drop sequence.
pub(crate) const STEP_FAULT: f64 = 0.618_033_988_749_894_9;
/// Fractional part of sqrt(2): the step of the malformed sequence.
pub(crate) const STEP_MALFORMED: f64 = 0.414_213_562_373_095_1;

/// A seed's offset in [0, 1).
pub(crate) fn offset(seed: u64, salt: u64) -> f64 {
    (mix(seed ^ salt) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_rule() {
        assert_eq!(count_tokens(""), 0);
        assert_eq!(count_tokens("   "), 0);
        assert_eq!(count_tokens("Hello, world!"), 4);
        assert_eq!(count_tokens("don't"), 3);
        assert_eq!(count_tokens("a1b2 çà"), 2);
    }

    #[test]
    fn output_counts_as_n_tokens_and_is_deterministic() {
        for n in [1, 2, 16, 100] {
            let t = text(42, n);
            assert_eq!(count_tokens(&t), u64::from(n), "{t}");
            assert_eq!(t, text(42, n));
        }
        assert_ne!(text(1, 16), text(2, 16));
        for w in VOCAB {
            assert!(w.chars().all(|c| c.is_ascii_lowercase()), "{w}");
        }
    }

    #[test]
    fn sequence_shares_are_nearly_exact() {
        let off = offset(7, 1);
        for r in [0.1, 0.25, 0.5] {
            let hits = (0..1000)
                .filter(|i| sequence(off, STEP_FAULT, *i) < r)
                .count() as f64;
            assert!((hits - 1000.0 * r).abs() <= 3.0, "{r}: {hits}");
        }
    }
}
