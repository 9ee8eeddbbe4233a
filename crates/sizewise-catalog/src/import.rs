//! Import of a model's architecture from a GGUF file, so that any GGUF can be
//! shown and estimated like a catalog model.

use std::collections::BTreeMap;
use std::path::Path;

use sizewise_gguf::GgufFile;

use crate::error::CatalogError;
use crate::fact::Status;
use crate::model::{Architecture, Category, Mlp, Model, Norm, Position};

/// What the file says about its own weights, beyond the architecture.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufWeights {
    /// Bytes of all tensor data.
    pub bytes: u64,
    /// Average bits per weight over all tensors.
    pub bits_per_weight: Option<f64>,
    /// llama.cpp's name of the file type ("Q4_K_M"), when set.
    pub file_type: Option<&'static str>,
    /// Bytes by tensor type, split by whether the tensors have the shape of llama.cpp's
    /// repacked CPU kernels (see [`TypeBytes::repackable_shape`]).
    pub by_type: Vec<TypeBytes>,
}

/// Bytes of a file's tensors of one type and shape class.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeBytes {
    /// ggml's name of the type ("Q4_K").
    pub ggml_type: &'static str,
    /// Bytes of data.
    pub bytes: u64,
    /// Elements (weights).
    pub params: u64,
    /// Matrices (two dimensions) other than the token-embedding table, with a number of rows
    /// (the second dimension) that is a multiple of 8.
    pub repackable_shape: bool,
    /// Matrices every generated token multiplies: the layers' and the output projection (the
    /// token-embedding table when the output is tied to it).
    pub decode: bool,
    /// Rows of the matrices (elements over the first dimension, the row length): a
    /// matrix-vector product pays a cost per row beside its cost per weight.
    pub rows: u64,
}

/// The file's tensor bytes by type and shape class, largest first.
fn bytes_by_type(file: &GgufFile) -> Vec<TypeBytes> {
    let mut out: Vec<TypeBytes> = Vec::new();
    let tied = file.tensor("output.weight").is_none();
    for t in file.tensors() {
        let matrix = t.dims.len() == 2;
        let embeddings = t.name.starts_with("token_embd");
        let repackable_shape = matrix && t.dims[1] % 8 == 0 && !embeddings;
        let decode = matrix && (!embeddings || tied);
        let ggml_type = t.ggml_type.name();
        let rows = match t.dims.first() {
            Some(&len) if matrix && len > 0 => t.n_elements / len,
            _ => 0,
        };
        match out.iter_mut().find(|b| {
            b.ggml_type == ggml_type && b.repackable_shape == repackable_shape && b.decode == decode
        }) {
            Some(b) => {
                b.bytes += t.n_bytes;
                b.params += t.n_elements;
                b.rows += rows;
            }
            None => out.push(TypeBytes {
                ggml_type,
                bytes: t.n_bytes,
                params: t.n_elements,
                repackable_shape,
                decode,
                rows,
            }),
        }
    }
    out.sort_by_key(|b| std::cmp::Reverse(b.bytes));
    out
}

/// Layers of each architecture that attend to the full context, one every N
/// (the rest use the sliding window), where llama.cpp hard-codes the pattern.
fn full_attention_every(arch: &str) -> Option<u32> {
    match arch {
        "gemma2" => Some(2),
        "gemma3" => Some(6),
        _ => None,
    }
}

fn id_from_path(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_else(|| "gguf-model".into());
    let id: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    id.trim_matches('-').chars().take(80).collect()
}

/// A sentence for files written by `sizewise synth`, whose weights are random.
fn synthetic_note(file: &GgufFile) -> String {
    if !file.is_synthetic() {
        return String::new();
    }
    let source = file
        .get_str(sizewise_gguf::SOURCE_MODEL_KEY)
        .map(|id| format!(" with the architecture of {id}"))
        .unwrap_or_default();
    format!(
        " SYNTHETIC: written by `sizewise synth`{source}, with random weights: timing and memory measured on it are real, the text it generates is not."
    )
}

/// The error for a GGUF file that cannot describe a model.
fn invalid_gguf(path: &Path, message: String, hint: &str) -> CatalogError {
    CatalogError::Invalid {
        path: path.to_path_buf(),
        line: 0,
        column: 0,
        field: None,
        message,
        hint: hint.to_string(),
    }
}

/// Reads `path` and builds a catalog model from its metadata and tensor table.
/// Every fact's source is the file itself.
pub fn model_from_gguf(path: &Path) -> Result<(Model, GgufWeights), CatalogError> {
    let file = GgufFile::open(path).map_err(|e| {
        invalid_gguf(
            path,
            e.to_string(),
            "the file must be a GGUF model (llama.cpp's format); check that it was downloaded completely",
        )
    })?;
    model_from_gguf_file(path, &file)
}

/// [`model_from_gguf`] for a file already read from `path`.
pub fn model_from_gguf_file(
    path: &Path,
    file: &GgufFile,
) -> Result<(Model, GgufWeights), CatalogError> {
    let bad = |message: String, hint: &str| invalid_gguf(path, message, hint);
    let g = file.architecture();
    let arch_name = g.architecture.clone().unwrap_or_default();
    let need = |v: Option<u64>, key: &str| {
        v.filter(|x| *x > 0).ok_or_else(|| {
            bad(
                format!("the GGUF metadata has no {arch_name}.{key}"),
                "sizewise needs block_count, embedding_length and attention.head_count to describe the model",
            )
        })
    };
    let layers = need(g.block_count, "block_count")?;
    let hidden = need(g.embedding_length, "embedding_length")?;
    let heads = need(g.head_count, "attention.head_count")?;
    let kv_heads = g.head_count_kv.filter(|x| *x > 0).unwrap_or(heads);
    let head_dim = g
        .key_length
        .filter(|x| *x > 0)
        .unwrap_or(hidden / heads.max(1));
    let small = |x: u64, what: &str| {
        u32::try_from(x).map_err(|_| {
            bad(
                format!("{what} = {x} is out of range"),
                "the file's metadata looks corrupted",
            )
        })
    };
    let has = |name: &str| file.tensor(name).is_some();
    let experts = g.expert_count.filter(|e| *e > 1);
    let architecture = Architecture {
        layers: small(layers, "block_count")?,
        hidden,
        heads: Some(small(heads, "head_count")?),
        kv_heads: Some(small(kv_heads, "head_count_kv")?),
        head_dim: small(head_dim, "key_length")?,
        ffn: g.feed_forward_length,
        vocab: g.vocab_size.unwrap_or(0),
        tied_embeddings: !g.has_output_weight,
        mlp: if has("blk.0.ffn_gate.weight")
            || has("blk.0.ffn_gate_exps.weight")
            || has("blk.0.ffn_gate_up.weight")
        {
            Mlp::Gated
        } else {
            Mlp::Plain
        },
        norm: if has("blk.0.attn_norm.bias") {
            Norm::Layernorm
        } else {
            Norm::Rmsnorm
        },
        position: if has("position_embd.weight") {
            Position::Learned
        } else {
            Position::Rope
        },
        qkv_bias: has("blk.0.attn_q.bias") || has("blk.0.attn_qkv.bias"),
        linear_bias: has("blk.0.attn_output.bias"),
        sliding_window: g.sliding_window,
        full_attention_every: g
            .sliding_window
            .and_then(|_| full_attention_every(&arch_name)),
        experts: experts.map(|e| small(e, "expert_count")).transpose()?,
        experts_active: experts
            .and(g.expert_used_count)
            .map(|e| small(e, "expert_used_count"))
            .transpose()?,
        extra_params: None,
        per_layer: None,
    };
    let source = format!("GGUF metadata and tensor table of {}", path.display());
    let mut sources = BTreeMap::new();
    let mut status = BTreeMap::new();
    for f in ["params_total", "context_window", "architecture"] {
        sources.insert(f.to_string(), source.clone());
        status.insert(f.to_string(), Status::Verified);
    }
    let params = file.parameter_count() as f64;
    let model = Model {
        id: id_from_path(path),
        name: g.name.clone().unwrap_or_else(|| id_from_path(path)),
        family: arch_name.clone(),
        developer: "from GGUF file".into(),
        category: Category::Slm,
        named_in_article: false,
        params_total: Some(params),
        params_active: None,
        context_window: g.context_length,
        max_output_tokens: None,
        training_tokens: None,
        release_date: None,
        license: file.get_str("general.license").map(str::to_string),
        open_weights: true,
        access: Some(format!("local file {}", path.display())),
        tokenizer: None,
        undisclosed: vec![],
        architecture: Some(architecture),
        api: None,
        scores: vec![],
        estimates: vec![],
        sources,
        status,
        notes: Some(format!(
            "Imported from a GGUF file: {} tensors, {} bytes of weights{}. Category SLM is a default: the file does not say.{}",
            file.tensors().len(),
            g.weight_bytes,
            g.file_type_name
                .map(|t| format!(", file type {t}"))
                .unwrap_or_default(),
            synthetic_note(file)
        )),
    };
    Ok((
        model,
        GgufWeights {
            bytes: g.weight_bytes,
            bits_per_weight: g.bits_per_weight,
            file_type: g.file_type_name,
            by_type: bytes_by_type(file),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_command_line_friendly() {
        assert_eq!(
            id_from_path(Path::new("/x/SmolLM2-135M-Instruct.Q4_1.gguf")),
            "smollm2-135m-instruct.q4-1"
        );
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("sizewise-imp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("x.gguf");
        std::fs::write(&f, b"GGUF\x03\x00\x00\x00garbage").unwrap();
        let e = model_from_gguf(&f).unwrap_err().to_string();
        assert!(e.contains("x.gguf") && e.contains("hint"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
