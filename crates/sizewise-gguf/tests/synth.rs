//! A synthetic SmolLM2-135M against the real file: the same tensor names, shapes and
//! parameter count. Skipped with a note when the real file is not in the model cache
//! (`scripts/fetch-test-models.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use sizewise_gguf::{GgufFile, SynthArch, SynthPrecision, SynthSpec, write_synth};

fn smollm2_spec() -> SynthSpec {
    SynthSpec {
        arch: SynthArch::Llama,
        name: "SmolLM2-135M".into(),
        source_model: "smollm2-135m".into(),
        layers: 30,
        hidden: 576,
        heads: 9,
        kv_heads: 3,
        head_dim: 64,
        ffn: 1536,
        vocab: 49152,
        tied_embeddings: true,
        qkv_bias: false,
        context_length: 8192,
        rope_base: 100_000.0,
        rms_eps: 1e-5,
    }
}

#[test]
fn smollm2_parameters_from_the_shape() {
    // Embeddings 49152 x 576 (tied), final norm, 30 layers of norms, GQA attention and a
    // gated MLP: the count of the real file's tensors.
    assert_eq!(smollm2_spec().parameter_count(), 134_515_008);
}

#[test]
fn synthetic_smollm2_has_the_real_tensor_table() {
    let dir = std::env::var_os("SIZEWISE_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/models"));
    let path = dir.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    if !path.is_file() {
        println!("skipped: {} not found", path.display());
        return;
    }
    let real = GgufFile::open(&path).unwrap();
    let table = |f: &GgufFile| -> BTreeMap<String, Vec<u64>> {
        f.tensors()
            .iter()
            .map(|t| (t.name.clone(), t.dims.clone()))
            .collect()
    };
    let spec = smollm2_spec();
    let planned: BTreeMap<String, Vec<u64>> = spec
        .tensors(SynthPrecision::Q4_0)
        .into_iter()
        .map(|t| (t.name, t.dims))
        .collect();
    assert_eq!(planned, table(&real));
    assert_eq!(spec.parameter_count(), real.parameter_count());

    let real_arch = real.architecture();
    let (bytes, _) = write_synth(&spec, SynthPrecision::Q4_0, 0, Vec::new(), |_| {}).unwrap();
    let synth = GgufFile::from_bytes(&bytes).unwrap();
    assert_eq!(table(&synth), table(&real));
    let arch = synth.architecture();
    assert_eq!(arch.block_count, real_arch.block_count);
    assert_eq!(arch.embedding_length, real_arch.embedding_length);
    assert_eq!(arch.feed_forward_length, real_arch.feed_forward_length);
    assert_eq!(arch.head_count, real_arch.head_count);
    assert_eq!(arch.head_count_kv, real_arch.head_count_kv);
    assert_eq!(arch.head_dim(), real_arch.head_dim());
    assert_eq!(arch.vocab_size, real_arch.vocab_size);
    assert_eq!(arch.has_output_weight, real_arch.has_output_weight);
    assert!(synth.is_synthetic() && !real.is_synthetic());
}
