//! Benchmark prompts: the same token ids for `sizewise bench --gguf` and the bare llama-cpp-2
//! baseline it is compared with.

/// Token ids for a benchmark prompt: `n` draws from `1..vocab_size` (llama-bench also feeds
/// random tokens; their content does not change the cost of evaluating them), reproducible
/// from `seed`. Id 0 is left out because many vocabularies put a control token there.
pub fn random_prompt_tokens(n: usize, vocab_size: usize, seed: u64) -> Vec<i32> {
    let top = vocab_size.clamp(2, i32::MAX as usize) as u64;
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            // splitmix64
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (1 + z % (top - 1)) as i32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_prompt_tokens_are_in_range_and_reproducible() {
        let a = random_prompt_tokens(512, 49_152, 7);
        assert_eq!(a.len(), 512);
        assert!(a.iter().all(|&t| (1..49_152).contains(&t)));
        assert_eq!(a, random_prompt_tokens(512, 49_152, 7));
        assert_ne!(a, random_prompt_tokens(512, 49_152, 8));
        // A degenerate vocabulary still gives valid ids.
        assert!(random_prompt_tokens(8, 0, 1).iter().all(|&t| t == 1));
    }
}
