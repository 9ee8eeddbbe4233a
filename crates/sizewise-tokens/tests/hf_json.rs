//! Any Hugging Face tokenizer.json loads by path: a tiny one is built and saved here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use sizewise_tokens::Tokenizer;
use tokenizers::models::wordlevel::WordLevel;
use tokenizers::pre_tokenizers::whitespace::Whitespace;

#[test]
fn a_saved_tokenizer_json_is_used_with_its_offsets() {
    let vocab: HashMap<String, u32> = [
        ("[UNK]", 0),
        ("porque", 1),
        ("o", 2),
        ("tamanho", 3),
        ("importa", 4),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let model = WordLevel::builder()
        .vocab(vocab.into_iter().collect())
        .unk_token("[UNK]".into())
        .build()
        .unwrap();
    let mut tk = tokenizers::Tokenizer::new(model);
    tk.with_pre_tokenizer(Some(Whitespace {}));
    let dir = std::env::temp_dir().join(format!("sizewise-hf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tokenizer.json");
    tk.save(&path, false).unwrap();

    let t = Tokenizer::from_name(path.to_str().unwrap()).unwrap();
    let out = t.encode("porque o tamanho importa muito").unwrap();
    assert_eq!(out.ids, vec![1, 2, 3, 4, 0]);
    assert_eq!(
        out.pieces(),
        vec!["porque", "o", "tamanho", "importa", "muito"]
    );

    std::fs::write(dir.join("bad.json"), "{ not a tokenizer").unwrap();
    let err = Tokenizer::from_name(dir.join("bad.json").to_str().unwrap())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("bad.json") && err.contains("hint"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
