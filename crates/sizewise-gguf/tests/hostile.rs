//! Hostile files: absurd sizes and counts, bad offsets. Each must give a typed error, quickly
//! and without allocating what the file claims.

mod common;

use common::*;
use sizewise_gguf::{GgufError, GgufFile};

fn parse(b: &GgufBuilder) -> Result<GgufFile, GgufError> {
    GgufFile::from_bytes(&b.build())
}

#[test]
fn claimed_one_terabyte_tensor() {
    // 2^40 bytes of f32 data in a file of a few hundred bytes.
    let b = GgufBuilder::new().tensor_raw("huge", &[1 << 18, 1 << 20], F32, 0);
    let err = parse(&b).unwrap_err();
    assert!(
        matches!(err, GgufError::TensorOutOfBounds { ref name, .. } if name == "huge"),
        "{err}"
    );
    assert!(err.to_string().contains("past its end"), "{err}");
}

#[test]
fn absurd_counts() {
    let mut b = GgufBuilder::new().kv_u32("a", 1);
    b.tensor_count = 1 << 60;
    let err = parse(&b).unwrap_err();
    assert!(
        matches!(
            err,
            GgufError::CountTooLarge {
                what: "tensor count",
                offset: 8,
                ..
            }
        ),
        "{err}"
    );

    let mut b = GgufBuilder::new().kv_u32("a", 1);
    b.kv_count = 1 << 60;
    let err = parse(&b).unwrap_err();
    assert!(
        matches!(err, GgufError::CountTooLarge { offset: 16, .. }),
        "{err}"
    );

    let mut b = GgufBuilder::new();
    b.kv_count = u64::MAX;
    b.tensor_count = u64::MAX;
    assert!(parse(&b).is_err());
}

#[test]
fn absurd_string_and_array_lengths() {
    // A key whose length claims 2^60 bytes.
    let mut bytes = GgufBuilder::new().kv_u32("abc", 1).build();
    bytes[24..32].copy_from_slice(&(1u64 << 60).to_le_bytes());
    let err = GgufFile::from_bytes(&bytes).unwrap_err();
    assert!(
        matches!(err, GgufError::StringTooLong { offset: 24, len, .. } if len == 1 << 60),
        "{err}"
    );

    // A string value of 2^60 bytes.
    let value = (1u64 << 60).to_le_bytes();
    let err = parse(&GgufBuilder::new().kv_raw("s", T_STRING, &value)).unwrap_err();
    assert!(matches!(err, GgufError::StringTooLong { .. }), "{err}");

    // Arrays of 2^60 elements, of every element type.
    for ty in 0..=12u32 {
        let err =
            parse(&GgufBuilder::new().kv_array("arr", &array_bytes(ty, 1 << 60, &[]))).unwrap_err();
        assert!(
            matches!(err, GgufError::ArrayTooLong { .. }),
            "type {ty}: {err}"
        );
    }
    // u64::MAX elements: the size computation must not overflow.
    let err =
        parse(&GgufBuilder::new().kv_array("arr", &array_bytes(T_U8, u64::MAX, &[]))).unwrap_err();
    assert!(matches!(err, GgufError::ArrayTooLong { .. }), "{err}");
}

#[test]
fn deep_nesting_is_refused() {
    // 10,000 nested arrays, each claiming one element.
    let mut value = Vec::new();
    for _ in 0..10_000 {
        value.extend(array_bytes(T_ARRAY, 1, &[]));
    }
    let err = parse(&GgufBuilder::new().kv_array("deep", &value)).unwrap_err();
    assert!(matches!(err, GgufError::NestingTooDeep { .. }), "{err}");
}

#[test]
fn bad_tensor_offsets() {
    // Misaligned.
    let b = GgufBuilder::new()
        .tensor("a", &[8], F32)
        .tensor_raw("b", &[8], F32, 33);
    let err = parse(&b).unwrap_err();
    assert!(
        matches!(
            err,
            GgufError::MisalignedTensor {
                data_offset: 33,
                ..
            }
        ),
        "{err}"
    );

    // Overlapping: b starts inside a.
    let b = GgufBuilder::new()
        .tensor("a", &[64], F32)
        .tensor_raw("b", &[8], F32, 32);
    let err = parse(&b).unwrap_err();
    assert!(
        matches!(err, GgufError::TensorOverlap { ref name, ref other, .. } if name == "b" && other == "a"),
        "{err}"
    );

    // Offset near u64::MAX: the end computation must not overflow.
    let b = GgufBuilder::new().tensor_raw("far", &[8], F32, u64::MAX - 31);
    let err = parse(&b).unwrap_err();
    assert!(matches!(err, GgufError::TensorOutOfBounds { .. }), "{err}");

    // Past the end by one byte.
    let mut bytes = GgufBuilder::new().tensor("a", &[8], F32).build();
    bytes.pop();
    let err = GgufFile::from_bytes(&bytes).unwrap_err();
    assert!(matches!(err, GgufError::TensorOutOfBounds { .. }), "{err}");
}

#[test]
fn bad_tensor_shapes_and_types() {
    let err = parse(&GgufBuilder::new().tensor_raw("t", &[1 << 32, 1 << 32], F32, 0)).unwrap_err();
    assert!(matches!(err, GgufError::DimsOverflow { .. }), "{err}");
    let err = parse(&GgufBuilder::new().tensor_raw("t", &[u64::MAX], F32, 0)).unwrap_err();
    assert!(matches!(err, GgufError::DimsOverflow { .. }), "{err}");
    let err = parse(&GgufBuilder::new().tensor_raw("t", &[1, 1, 1, 1, 1], F32, 0)).unwrap_err();
    assert!(
        matches!(err, GgufError::InvalidDimCount { n_dims: 5, .. }),
        "{err}"
    );
    let err = parse(&GgufBuilder::new().tensor_raw("t", &[32], 4, 0)).unwrap_err();
    assert!(
        matches!(err, GgufError::UnknownGgmlType { type_id: 4, .. }),
        "{err}"
    );
    let err = parse(&GgufBuilder::new().tensor_raw("t", &[32], 9999, 0)).unwrap_err();
    assert!(
        matches!(err, GgufError::UnknownGgmlType { type_id: 9999, .. }),
        "{err}"
    );
    let err = parse(&GgufBuilder::new().tensor_raw("t", &[48], Q4_0, 0)).unwrap_err();
    assert!(
        matches!(err, GgufError::PartialBlock { ne0: 48, .. }),
        "{err}"
    );
    let err = parse(
        &GgufBuilder::new()
            .tensor("t", &[8], F32)
            .tensor("t", &[8], F32),
    )
    .unwrap_err();
    assert!(matches!(err, GgufError::DuplicateTensor { .. }), "{err}");
}

#[test]
fn bad_metadata() {
    let err = parse(&GgufBuilder::new().kv_u32("k", 1).kv_u32("k", 2)).unwrap_err();
    assert!(
        matches!(err, GgufError::DuplicateKey { ref key, .. } if key == "k"),
        "{err}"
    );
    for alignment in [0u32, 3, 48] {
        let err = parse(&GgufBuilder::new().kv_u32("general.alignment", alignment)).unwrap_err();
        assert!(
            matches!(err, GgufError::InvalidAlignment { .. }),
            "{alignment}: {err}"
        );
    }
    let err = parse(&GgufBuilder::new().kv_str("general.alignment", "32")).unwrap_err();
    assert!(matches!(err, GgufError::InvalidAlignment { .. }), "{err}");
    let err = parse(&GgufBuilder::new().kv_raw("b", T_BOOL, &[7])).unwrap_err();
    assert!(
        matches!(err, GgufError::InvalidBool { value: 7, .. }),
        "{err}"
    );
}

#[test]
fn tokenizer_errors_are_typed() {
    let f = GgufFile::from_bytes(&GgufBuilder::new().build()).unwrap();
    assert!(matches!(f.tokenizer(), Err(GgufError::MissingKey { .. })));
    let f = GgufFile::from_bytes(
        &GgufBuilder::new()
            .kv_str("tokenizer.ggml.model", "bert")
            .build(),
    )
    .unwrap();
    assert!(matches!(
        f.tokenizer(),
        Err(GgufError::UnsupportedTokenizer { .. })
    ));
    // Merges naming tokens that are not in the vocabulary.
    let f = GgufFile::from_bytes(
        &GgufBuilder::new()
            .kv_str("tokenizer.ggml.model", "gpt2")
            .kv_array("tokenizer.ggml.tokens", &string_array(&["a", "b"]))
            .kv_array("tokenizer.ggml.merges", &string_array(&["a b"]))
            .build(),
    )
    .unwrap();
    assert!(matches!(
        f.tokenizer(),
        Err(GgufError::InvalidTokenizer { .. })
    ));
    // Tokens of the wrong type.
    let f = GgufFile::from_bytes(
        &GgufBuilder::new()
            .kv_str("tokenizer.ggml.model", "llama")
            .kv_array("tokenizer.ggml.tokens", &i32_array(&[1, 2]))
            .build(),
    )
    .unwrap();
    assert!(matches!(f.tokenizer(), Err(GgufError::WrongType { .. })));
    // Scores of the wrong length.
    let f = GgufFile::from_bytes(
        &GgufBuilder::new()
            .kv_str("tokenizer.ggml.model", "llama")
            .kv_array("tokenizer.ggml.tokens", &string_array(&["a", "b"]))
            .kv_array("tokenizer.ggml.scores", &f32_array(&[0.0]))
            .build(),
    )
    .unwrap();
    assert!(matches!(
        f.tokenizer(),
        Err(GgufError::InvalidTokenizer { .. })
    ));
}

#[test]
fn open_missing_file_is_an_error() {
    let err = GgufFile::open("/nonexistent/model.gguf").unwrap_err();
    assert!(matches!(err, GgufError::Open { .. }), "{err}");
}
