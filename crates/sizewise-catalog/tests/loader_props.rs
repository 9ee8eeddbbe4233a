//! Property tests: no catalog file, however malformed, makes the loader panic;
//! every rejection names the file and a line inside it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use proptest::prelude::*;
use sizewise_catalog::CatalogError;
use sizewise_catalog::load::{parse_hardware, parse_model};

const MODEL: &str = include_str!("../data/models/llama-3.1-8b.toml");
const HARDWARE: &str = include_str!("../data/hardware/nvidia-h100-sxm.toml");

fn check_error(e: &CatalogError, text: &str) {
    match e {
        CatalogError::Invalid {
            path, line, hint, ..
        } => {
            assert_eq!(path, Path::new("f.toml"));
            assert!(
                *line <= text.lines().count() + 1,
                "line {line} out of range"
            );
            assert!(!hint.is_empty());
        }
        other => panic!("unexpected error kind: {other}"),
    }
}

fn mutate(base: &str, cut: usize, flips: &[(usize, u8)], drop_line: Option<usize>) -> String {
    let mut bytes = base.as_bytes().to_vec();
    for &(pos, b) in flips {
        if !bytes.is_empty() {
            let i = pos % bytes.len();
            bytes[i] = b;
        }
    }
    bytes.truncate(cut.min(bytes.len()));
    let s = String::from_utf8_lossy(&bytes).into_owned();
    match drop_line {
        Some(n) => s
            .lines()
            .enumerate()
            .filter(|(i, _)| *i != n % s.lines().count().max(1))
            .map(|(_, l)| l)
            .collect::<Vec<_>>()
            .join("\n"),
        None => s,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_text_never_panics(s in ".{0,400}") {
        if let Err(e) = parse_model(Path::new("f.toml"), &s) { check_error(&e, &s); }
        if let Err(e) = parse_hardware(Path::new("f.toml"), &s) { check_error(&e, &s); }
    }

    #[test]
    fn mutated_model_files_never_panic(
        cut in 0usize..4000,
        flips in proptest::collection::vec((0usize..4000, any::<u8>()), 0..6),
        drop_line in proptest::option::of(0usize..80),
    ) {
        let text = mutate(MODEL, cut, &flips, drop_line);
        if let Err(e) = parse_model(Path::new("f.toml"), &text) { check_error(&e, &text); }
    }

    #[test]
    fn mutated_hardware_files_never_panic(
        cut in 0usize..4000,
        flips in proptest::collection::vec((0usize..4000, any::<u8>()), 0..6),
        drop_line in proptest::option::of(0usize..80),
    ) {
        let text = mutate(HARDWARE, cut, &flips, drop_line);
        if let Err(e) = parse_hardware(Path::new("f.toml"), &text) { check_error(&e, &text); }
    }

    #[test]
    fn absurd_numbers_are_rejected_not_trusted(v in prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(-1.0), Just(0.0)]) {
        let text = format!("id = \"x\"\nname = \"X\"\nfamily = \"F\"\ndeveloper = \"D\"\ncategory = \"SLM\"\nopen_weights = true\nparams_total = {v}\n");
        let text = text.replace("NaN", "nan");
        let r = parse_model(Path::new("f.toml"), &text);
        prop_assert!(r.is_err());
    }
}
