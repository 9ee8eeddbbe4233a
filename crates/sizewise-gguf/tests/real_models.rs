//! Tests on the real SmolLM2-135M-Instruct (Q4_1) and Gemma 3 270M (Q4_K_M) files, when they
//! are in the model cache (`scripts/fetch-test-models.sh`); skipped with a note otherwise.
//!
//! The expected token ids were computed in Python: for SmolLM2 with the `tokenizers` library
//! (BPE from the GGUF tokens and merges, pre-tokenizer Digits + ByteLevel as in the model's
//! `tokenizer.json`), for Gemma 3 with `sentencepiece` running a model proto rebuilt from the
//! GGUF vocabulary (BPE, byte fallback, no dummy prefix). Both agree with transformers'
//! GGUF tokenizer conversion on these sentences.

use std::path::PathBuf;

use sizewise_gguf::{GgmlType, GgufFile, tokenizer_from_gguf};

fn model(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("SIZEWISE_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/models"));
    let path = dir.join(name);
    if path.is_file() {
        Some(path)
    } else {
        println!(
            "skipped: {} not found (run scripts/fetch-test-models.sh)",
            path.display()
        );
        None
    }
}

const SMOLLM2: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
const GEMMA3: &str = "gemma-3-270m-q4_k_m.gguf";

const SMOLLM2_CHAT: &[u32] = &[1, 4093, 198, 26843, 665, 2];
const GEMMA3_CHAT: &[u32] = &[105, 2364, 107, 10979, 993, 106];

const SENTENCES: [&str; 6] = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "In 2024, GPUs cost $30,000 each; 3.14159 is pi.",
    "Size matters: LLM vs. SLM \u{2014} porque o tamanho importa! A\u{e7}\u{e3}o, cora\u{e7}\u{e3}o, \u{65e5}\u{672c}\u{8a9e}\u{306e}\u{30c6}\u{30ad}\u{30b9}\u{30c8} \u{1F680}",
    "  leading spaces and\ttabs\nnew lines\n\nend  ",
    "def f(x):\n    return x**2  # square",
];

const SMOLLM2_IDS: [&[u32]; 6] = [
    &[19556, 28, 905, 17],
    &[504, 2365, 6354, 16438, 27003, 690, 260, 23790, 2767, 30],
    &[
        788, 216, 34, 32, 34, 36, 28, 45742, 1708, 1885, 35, 32, 28, 32, 32, 32, 971, 43, 216, 35,
        30, 33, 36, 33, 37, 41, 314, 16916, 30,
    ],
    &[
        12554, 5939, 42, 450, 34519, 6375, 30, 21594, 61, 1841, 12911, 3806, 263, 252, 14971,
        16147, 752, 81, 17, 330, 32446, 28, 1133, 81, 32446, 28, 17097, 241, 115, 40993, 179, 120,
        248, 26453, 11100, 224, 10391, 251, 10391, 134, 11100, 226, 15107, 244, 218,
    ],
    &[
        216, 2899, 5600, 284, 197, 100, 7366, 198, 2241, 3204, 198, 198, 486, 256,
    ],
    &[
        1604, 275, 24, 104, 727, 472, 1003, 1792, 828, 34, 216, 907, 5222,
    ],
];

const GEMMA3_IDS: [&[u32]; 6] = [
    &[9259, 236764, 1902, 236888],
    &[
        818, 3823, 8864, 37423, 38167, 1024, 506, 31770, 4799, 236761,
    ],
    &[
        902, 236743, 236778, 236771, 236778, 236812, 236764, 118418, 2157, 609, 236800, 236771,
        236764, 236771, 236771, 236771, 1546, 236793, 236743, 236800, 236761, 236770, 236812,
        236770, 236810, 236819, 563, 4604, 236761,
    ],
    &[
        3038, 11949, 236787, 32050, 236792, 7728, 236761, 17700, 236792, 2192, 11093, 512, 79472,
        82166, 236888, 562, 2758, 236764, 108712, 236764, 33375, 238582, 236945, 95830, 236743,
        242015,
    ],
    &[
        138, 26016, 9952, 532, 255968, 39218, 107, 1951, 4463, 108, 643, 138,
    ],
    &[
        2063, 517, 236769, 236781, 1473, 107, 140, 2060, 1123, 1018, 236778, 138, 236865, 6281,
    ],
];

#[test]
fn smollm2_metadata_and_sizes() {
    let Some(path) = model(SMOLLM2) else { return };
    let f = GgufFile::open(&path).unwrap();
    assert_eq!(f.version(), 3);
    assert_eq!(f.tensors().len(), 272);
    assert_eq!(f.parameter_count(), 134_515_008);
    let a = f.architecture();
    assert_eq!(a.architecture.as_deref(), Some("llama"));
    assert_eq!(a.block_count, Some(30));
    assert_eq!(a.embedding_length, Some(576));
    assert_eq!(a.head_count, Some(9));
    assert_eq!(a.head_count_kv, Some(3));
    assert_eq!(a.feed_forward_length, Some(1536));
    assert_eq!(a.vocab_size, Some(49152));
    assert_eq!(a.context_length, Some(8192));
    assert_eq!(a.head_dim(), Some(64));
    assert_eq!(a.expert_count, None);
    assert!(!a.has_output_weight, "SmolLM2 ties its embeddings");
    assert_eq!(a.file_type_name, Some("Q4_1"));
    assert_eq!(a.dominant_type, Some(GgmlType::Q4_1));
    let by_type = f.weight_bytes_by_type();
    assert_eq!(
        by_type.keys().copied().collect::<Vec<_>>(),
        [GgmlType::F32, GgmlType::Q4_1, GgmlType::Q8_0]
    );
    // token_embd is Q8_0: 576 * 49152 weights at 34 bytes per 32.
    assert_eq!(by_type[&GgmlType::Q8_0], 576 * 49152 / 32 * 34);
    let data_end = f
        .tensors()
        .iter()
        .map(|t| t.file_offset + t.n_bytes)
        .max()
        .unwrap();
    assert!(data_end <= f.file_size() && f.file_size() - data_end < 32);
    let bpw = f.bits_per_weight().unwrap();
    assert!((5.0..6.0).contains(&bpw), "{bpw}");
}

#[test]
fn smollm2_tokenizer_matches_reference() {
    let Some(path) = model(SMOLLM2) else { return };
    let tok = tokenizer_from_gguf(&path).unwrap();
    for (sentence, want) in SENTENCES.iter().zip(SMOLLM2_IDS) {
        let got = tok.encode(*sentence, false).unwrap();
        assert_eq!(got.get_ids(), want, "{sentence:?}");
        assert_eq!(tok.decode(got.get_ids(), false).unwrap(), *sentence);
    }
    let chat = tok
        .encode("<|im_start|>user\nHi there<|im_end|>", false)
        .unwrap();
    assert_eq!(chat.get_ids(), SMOLLM2_CHAT);
    // add_bos_token is false for SmolLM2.
    assert_eq!(
        tok.encode("Hello, world!", true).unwrap().get_ids(),
        SMOLLM2_IDS[0]
    );
}

#[test]
fn gemma3_metadata_and_sizes() {
    let Some(path) = model(GEMMA3) else { return };
    let f = GgufFile::open(&path).unwrap();
    assert_eq!(f.tensors().len(), 236);
    assert_eq!(f.parameter_count(), 268_098_176);
    let a = f.architecture();
    assert_eq!(a.architecture.as_deref(), Some("gemma3"));
    assert_eq!(a.block_count, Some(18));
    assert_eq!(a.embedding_length, Some(640));
    assert_eq!(a.feed_forward_length, Some(2048));
    assert_eq!(a.head_count, Some(4));
    assert_eq!(a.head_count_kv, Some(1));
    assert_eq!(a.key_length, Some(256));
    assert_eq!(a.head_dim(), Some(256));
    assert_eq!(a.context_length, Some(32768));
    assert_eq!(a.sliding_window, Some(512));
    assert_eq!(a.vocab_size, Some(262_144));
    assert!(!a.has_output_weight);
    assert_eq!(a.file_type_name, Some("Q4_K_M"));
    let by_type = f.weight_bytes_by_type();
    for t in [
        GgmlType::F32,
        GgmlType::Q5_0,
        GgmlType::Q4K,
        GgmlType::Q8_0,
        GgmlType::Q6K,
    ] {
        assert!(by_type.contains_key(&t), "{t}");
    }
    // The embedding table (Q8_0, 640 x 262144) holds most of the weights.
    assert_eq!(a.dominant_type, Some(GgmlType::Q8_0));
}

#[test]
fn gemma3_tokenizer_matches_sentencepiece() {
    let Some(path) = model(GEMMA3) else { return };
    let tok = tokenizer_from_gguf(&path).unwrap();
    for (sentence, want) in SENTENCES.iter().zip(GEMMA3_IDS) {
        let got = tok.encode(*sentence, false).unwrap();
        assert_eq!(got.get_ids(), want, "{sentence:?}");
        assert_eq!(tok.decode(got.get_ids(), false).unwrap(), *sentence);
    }
    let chat = tok
        .encode("<start_of_turn>user\nHi there<end_of_turn>", false)
        .unwrap();
    assert_eq!(chat.get_ids(), GEMMA3_CHAT);
    // add_bos_token is true for Gemma 3: <bos> is id 2.
    let with_bos = tok.encode("Hello, world!", true).unwrap();
    assert_eq!(with_bos.get_ids()[0], 2);
    assert_eq!(&with_bos.get_ids()[1..], GEMMA3_IDS[0]);
}
