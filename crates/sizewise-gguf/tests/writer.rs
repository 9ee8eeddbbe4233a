//! The writer against the reader: whatever metadata and tensors go in come back out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use sizewise_gguf::{GgmlType, GgufFile, GgufWriter, MetadataArray, MetadataValue};

fn float32() -> impl Strategy<Value = f32> {
    any::<f32>().prop_filter("NaN never equals itself", |x| !x.is_nan())
}

fn float64() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("NaN never equals itself", |x| !x.is_nan())
}

fn array() -> impl Strategy<Value = MetadataArray> {
    let n = 0..20usize;
    let flat = prop_oneof![
        proptest::collection::vec(any::<String>(), n.clone()).prop_map(MetadataArray::String),
        proptest::collection::vec(float32(), n.clone()).prop_map(MetadataArray::F32),
        proptest::collection::vec(any::<i32>(), n.clone()).prop_map(MetadataArray::I32),
        proptest::collection::vec(any::<u8>(), n.clone()).prop_map(MetadataArray::U8),
        proptest::collection::vec(any::<bool>(), n.clone()).prop_map(MetadataArray::Bool),
        proptest::collection::vec(any::<u64>(), n.clone()).prop_map(MetadataArray::U64),
        proptest::collection::vec(float64(), n).prop_map(MetadataArray::F64),
    ];
    flat.prop_recursive(2, 16, 4, |inner| {
        proptest::collection::vec(inner, 0..4).prop_map(MetadataArray::Array)
    })
}

fn value() -> impl Strategy<Value = MetadataValue> {
    prop_oneof![
        any::<u8>().prop_map(MetadataValue::U8),
        any::<i8>().prop_map(MetadataValue::I8),
        any::<u16>().prop_map(MetadataValue::U16),
        any::<i16>().prop_map(MetadataValue::I16),
        any::<u32>().prop_map(MetadataValue::U32),
        any::<i32>().prop_map(MetadataValue::I32),
        float32().prop_map(MetadataValue::F32),
        any::<bool>().prop_map(MetadataValue::Bool),
        any::<String>().prop_map(MetadataValue::String),
        any::<u64>().prop_map(MetadataValue::U64),
        any::<i64>().prop_map(MetadataValue::I64),
        float64().prop_map(MetadataValue::F64),
        array().prop_map(MetadataValue::Array),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn metadata_round_trips(
        entries in proptest::collection::btree_map(any::<String>(), value(), 0..12),
        with_tensor in any::<bool>(),
    ) {
        // `general.alignment` must hold a power of two; the generator rarely makes one.
        let entries: Vec<(String, MetadataValue)> =
            entries.into_iter().filter(|(k, _)| k != "general.alignment").collect();
        let mut w = GgufWriter::new();
        for (k, v) in &entries {
            w.add_metadata(k.clone(), v.clone()).unwrap();
        }
        if with_tensor {
            w.add_tensor("t", &[32, 2], GgmlType::Q8_0).unwrap();
        }
        let size = w.file_size();
        let mut d = w.start(Vec::new()).unwrap();
        if with_tensor {
            d.write_tensor("t", &[9u8; 68]).unwrap();
        }
        let bytes = d.finish().unwrap();
        prop_assert_eq!(bytes.len() as u64, size);
        let f = GgufFile::from_bytes(&bytes).unwrap();
        prop_assert_eq!(f.metadata().len(), entries.len());
        for (entry, (k, v)) in f.metadata().iter().zip(&entries) {
            prop_assert_eq!(&entry.key, k);
            prop_assert_eq!(&entry.value, v);
        }
        prop_assert_eq!(f.tensors().len(), usize::from(with_tensor));
    }

    #[test]
    fn tensor_tables_round_trip(
        shapes in proptest::collection::vec((1u64..5, 1u64..4, 0usize..4), 1..10),
        alignment in prop_oneof![Just(None), Just(Some(1u32)), Just(Some(64)), Just(Some(256))],
    ) {
        let types = [GgmlType::F32, GgmlType::F16, GgmlType::Q4_0, GgmlType::Q6K];
        let mut w = GgufWriter::new();
        if let Some(a) = alignment {
            w.add_metadata("general.alignment", MetadataValue::U32(a)).unwrap();
        }
        for (i, &(blocks, rows, ty)) in shapes.iter().enumerate() {
            let ty = types[ty];
            w.add_tensor(format!("t{i}"), &[blocks * ty.block_size(), rows], ty).unwrap();
        }
        let layout = w.tensors();
        let size = w.file_size();
        let mut d = w.start(Vec::new()).unwrap();
        for t in &layout {
            let data: Vec<u8> = (0..t.n_bytes).map(|b| (b % 251) as u8).collect();
            d.write_tensor(&t.name, &data).unwrap();
        }
        let bytes = d.finish().unwrap();
        prop_assert_eq!(bytes.len() as u64, size);
        let f = GgufFile::from_bytes(&bytes).unwrap();
        prop_assert_eq!(f.alignment(), u64::from(alignment.unwrap_or(32)));
        prop_assert_eq!(f.tensors().len(), layout.len());
        for (t, l) in f.tensors().iter().zip(&layout) {
            prop_assert_eq!(&t.name, &l.name);
            prop_assert_eq!(&t.dims, &l.dims);
            prop_assert_eq!(t.ggml_type, l.ggml_type);
            prop_assert_eq!(t.n_bytes, l.n_bytes);
            prop_assert_eq!(t.n_elements, l.n_elements());
            let start = t.file_offset as usize;
            prop_assert_eq!(bytes[start + t.n_bytes as usize - 1], ((t.n_bytes - 1) % 251) as u8);
        }
    }
}
