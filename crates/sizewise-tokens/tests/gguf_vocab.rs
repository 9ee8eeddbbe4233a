//! A GGUF model's own vocabulary, on the real test models when they are present
//! (scripts/fetch-test-models.sh puts them in .cache/models).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use sizewise_tokens::Tokenizer;

fn model(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("SIZEWISE_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/models"));
    let p = dir.join(name);
    if p.exists() {
        Some(p)
    } else {
        println!(
            "skipped: {} not found (run scripts/fetch-test-models.sh)",
            p.display()
        );
        None
    }
}

#[test]
fn smollm2_vocab_splits_and_rebuilds_text() {
    let Some(p) = model("SmolLM2-135M-Instruct.Q4_1.gguf") else {
        return;
    };
    let t = Tokenizer::from_name(p.to_str().unwrap()).unwrap();
    let text = "Porque o tamanho importa: 135 milhões de parâmetros.";
    let out = t.encode(text).unwrap();
    assert!(out.count() > 8 && out.count() < 40, "{}", out.count());
    // Digits are split one by one in SmolLM2's pre-tokenizer.
    assert!(out.pieces().iter().any(|p| *p == "1" || p.ends_with('1')));
    assert_eq!(t.name(), "SmolLM2-135M-Instruct.Q4_1.gguf");
}

#[test]
fn gemma3_vocab_loads() {
    let Some(p) = model("gemma-3-270m-q4_k_m.gguf") else {
        return;
    };
    let t = Tokenizer::from_name(p.to_str().unwrap()).unwrap();
    assert!(t.encode("Janela de contexto").unwrap().count() >= 3);
}

#[test]
fn a_file_that_is_not_gguf_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("sizewise-tok-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("fake.gguf");
    std::fs::write(&f, b"not a gguf at all").unwrap();
    let err = Tokenizer::from_name(f.to_str().unwrap())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("fake.gguf") && err.contains("hint"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
