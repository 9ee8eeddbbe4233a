//! Property tests: random bytes and random damage to a valid file give errors, never panics.

mod common;

use common::*;
use proptest::prelude::*;
use sizewise_gguf::GgufFile;

fn valid() -> Vec<u8> {
    sample()
        .kv_str("tokenizer.ggml.model", "gpt2")
        .kv_array("tokenizer.ggml.merges", &string_array(&["a b"]))
        .build()
}

/// Parses and, when that works, uses everything that reads the parsed data.
fn exercise(bytes: &[u8]) {
    if let Ok(f) = GgufFile::from_bytes(bytes) {
        let _ = f.architecture();
        let _ = f.weight_bytes_by_type();
        let _ = f.bits_per_weight();
        for t in f.tensors() {
            assert!(t.file_offset + t.n_bytes <= f.file_size());
        }
        let _ = f.tokenizer();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }

    #[test]
    fn random_bytes_after_a_valid_prefix_never_panic(
        version in prop_oneof![Just(2u32), Just(3u32)],
        rest in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut bytes = b"GGUF".to_vec();
        bytes.extend(version.to_le_bytes());
        bytes.extend(rest);
        exercise(&bytes);
    }

    #[test]
    fn mutations_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = valid();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            let len = cut.index(bytes.len());
            bytes.truncate(len);
        }
        exercise(&bytes);
    }

    #[test]
    fn big_counts_in_header_fields_never_panic(
        field in 0usize..3,
        value in prop_oneof![any::<u64>(), Just(u64::MAX), Just(1u64 << 60), 0u64..1000],
    ) {
        let mut bytes = valid();
        let at = [8, 16, 24][field];
        bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
        exercise(&bytes);
    }

    #[test]
    fn truncations_are_errors(cut in any::<prop::sample::Index>()) {
        let bytes = valid();
        let len = cut.index(bytes.len());
        prop_assert!(GgufFile::from_bytes(&bytes[..len]).is_err());
    }
}
