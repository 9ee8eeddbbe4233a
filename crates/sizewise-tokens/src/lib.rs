//! How text splits into tokens, for several tokenizers.
//!
//! Built in: OpenAI's `o200k` (GPT-4o family), `cl100k` (GPT-4, GPT-3.5), `p50k`
//! and `r50k` (GPT-3) byte-pair encodings, embedded, offline. Any Hugging Face
//! `tokenizer.json` file can be added by path.
//!
//! ```
//! let t = sizewise_tokens::Tokenizer::from_name("cl100k").unwrap();
//! let out = t.encode("hello world").unwrap();
//! assert_eq!(out.count(), 2);
//! assert_eq!(out.pieces(), vec!["hello", " world"]);
//! ```

use std::path::{Path, PathBuf};

use serde::Serialize;

/// Errors of tokenization.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The name is neither a built-in encoding nor a file path.
    #[error(
        "unknown tokenizer `{0}`\n  hint: use one of o200k, cl100k, p50k, r50k, or a path to a tokenizer.json or a .gguf model file"
    )]
    Unknown(String),
    /// A tokenizer file could not be loaded.
    #[error("cannot load tokenizer from {path}: {message}\n  hint: {hint}")]
    Load {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
        /// What to do.
        hint: String,
    },
    /// Encoding failed.
    #[error("tokenizer {name} failed on this text: {message}")]
    Encode {
        /// The tokenizer.
        name: String,
        /// Why.
        message: String,
    },
}

/// The built-in byte-pair encodings.
pub const BUILTIN: &[&str] = &["o200k", "cl100k", "p50k", "r50k"];

enum Backend {
    Tiktoken(&'static tiktoken_rs::CoreBPE),
    Hf(Box<tokenizers::Tokenizer>),
}

/// A loaded tokenizer.
pub struct Tokenizer {
    name: String,
    backend: Backend,
}

/// The result of tokenizing a text: token ids and the byte span of each token
/// in the original text.
#[derive(Debug, Clone, Serialize)]
pub struct Tokenized {
    /// Tokenizer name.
    pub name: String,
    /// Token ids, in order.
    pub ids: Vec<u32>,
    /// Byte range `[start, end)` of each token in the text. Tokens that cover
    /// part of a multi-byte character share that character's span.
    #[serde(skip)]
    pub spans: Vec<(usize, usize)>,
    /// The text, kept to show pieces.
    #[serde(skip)]
    text: String,
}

impl Tokenized {
    /// Number of tokens.
    pub fn count(&self) -> usize {
        self.ids.len()
    }

    /// The text of each token (a token inside a multi-byte character shows the
    /// whole character once, on the token that completes it).
    pub fn pieces(&self) -> Vec<&str> {
        self.spans
            .iter()
            .map(|&(s, e)| self.text.get(s..e).unwrap_or(""))
            .collect()
    }
}

impl Tokenizer {
    /// A built-in encoding by name, or a `tokenizer.json` path.
    pub fn from_name(name: &str) -> Result<Tokenizer, TokenError> {
        let key = name.to_ascii_lowercase();
        let builtin = match key.trim_end_matches("_base") {
            "o200k" => Some(tiktoken_rs::o200k_base_singleton()),
            "cl100k" => Some(tiktoken_rs::cl100k_base_singleton()),
            "p50k" => Some(tiktoken_rs::p50k_base_singleton()),
            "r50k" | "gpt2" => Some(tiktoken_rs::r50k_base_singleton()),
            _ => None,
        };
        if let Some(bpe) = builtin {
            return Ok(Tokenizer {
                name: key.trim_end_matches("_base").to_string(),
                backend: Backend::Tiktoken(bpe),
            });
        }
        let path = Path::new(name);
        if path.extension().is_some_and(|e| e == "json") {
            return Tokenizer::from_hf_file(path);
        }
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
        {
            return Tokenizer::from_gguf_file(path);
        }
        Err(TokenError::Unknown(name.to_string()))
    }

    /// A Hugging Face `tokenizer.json` file.
    pub fn from_hf_file(path: &Path) -> Result<Tokenizer, TokenError> {
        if !path.exists() {
            return Err(TokenError::Load {
                path: path.to_path_buf(),
                message: "no such file".into(),
                hint:
                    "give the path to a tokenizer.json file (it sits beside a model's config.json)"
                        .into(),
            });
        }
        let tk = tokenizers::Tokenizer::from_file(path).map_err(|e| TokenError::Load {
            path: path.to_path_buf(),
            message: e.to_string(),
            hint: "the file must be a Hugging Face tokenizer.json".into(),
        })?;
        Ok(Tokenizer::from_hf(path.display().to_string(), tk))
    }

    /// The vocabulary of a GGUF model file (byte-level BPE exactly; SentencePiece
    /// vocabularies as BPE with byte fallback, see `sizewise_gguf::tokenizer`).
    pub fn from_gguf_file(path: &Path) -> Result<Tokenizer, TokenError> {
        if !path.exists() {
            return Err(TokenError::Load {
                path: path.to_path_buf(),
                message: "no such file".into(),
                hint: "give the path to a .gguf model file".into(),
            });
        }
        let tk = sizewise_gguf::tokenizer_from_gguf(path).map_err(|e| TokenError::Load {
            path: path.to_path_buf(),
            message: e.to_string(),
            hint: "the file must be a GGUF model whose metadata carries its vocabulary (tokenizer.ggml.*)".into(),
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Ok(Tokenizer::from_hf(name, tk))
    }

    /// Wraps an already built Hugging Face tokenizer under `name`.
    pub fn from_hf(name: String, tk: tokenizers::Tokenizer) -> Tokenizer {
        Tokenizer {
            name,
            backend: Backend::Hf(Box::new(tk)),
        }
    }

    /// The tokenizer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Splits `text` into tokens.
    pub fn encode(&self, text: &str) -> Result<Tokenized, TokenError> {
        let (ids, spans) = match &self.backend {
            Backend::Tiktoken(bpe) => {
                let ids: Vec<u32> = bpe.encode_ordinary(text);
                let mut spans = Vec::with_capacity(ids.len());
                let mut pos = 0usize;
                let mut pending: Vec<usize> = Vec::new();
                for id in &ids {
                    let len = bpe
                        ._decode_native_and_split(vec![*id])
                        .next()
                        .map_or(0, |b| b.len());
                    let end = (pos + len).min(text.len());
                    if text.is_char_boundary(end) {
                        let start = pending.first().map_or(pos, |&p| p);
                        // Tokens that ended inside a character show nothing; the
                        // token that completes the character shows all of it.
                        for _ in pending.drain(..) {
                            spans.push((start, start));
                        }
                        spans.push((start, end));
                    } else {
                        pending.push(pos);
                    }
                    pos = end;
                }
                for p in pending {
                    spans.push((p, text.len()));
                }
                (ids, spans)
            }
            Backend::Hf(tk) => {
                let enc = tk.encode(text, false).map_err(|e| TokenError::Encode {
                    name: self.name.clone(),
                    message: e.to_string(),
                })?;
                let spans = enc
                    .get_offsets()
                    .iter()
                    .map(|&(s, e)| (s.min(text.len()), e.min(text.len())))
                    .collect();
                (enc.get_ids().to_vec(), spans)
            }
        };
        Ok(Tokenized {
            name: self.name.clone(),
            ids,
            spans,
            text: text.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cl100k_hello_world_is_two_tokens() {
        let t = Tokenizer::from_name("cl100k").unwrap();
        let out = t.encode("hello world").unwrap();
        assert_eq!(out.ids, vec![15339, 1917]);
        assert_eq!(out.pieces(), vec!["hello", " world"]);
    }

    #[test]
    fn o200k_counts_portuguese() {
        let t = Tokenizer::from_name("o200k").unwrap();
        let out = t.encode("Porque o tamanho importa").unwrap();
        assert!(out.count() >= 4 && out.count() <= 8, "{}", out.count());
        assert_eq!(out.pieces().concat(), "Porque o tamanho importa");
    }

    #[test]
    fn pieces_rebuild_text_with_multibyte_characters() {
        for name in BUILTIN {
            let t = Tokenizer::from_name(name).unwrap();
            let text = "Janela de contexto: 🤖 ção 中文 ✓";
            let out = t.encode(text).unwrap();
            assert_eq!(out.spans.len(), out.count());
            assert_eq!(out.pieces().concat(), text, "{name}");
        }
    }

    #[test]
    fn special_tokens_in_user_text_are_plain_text() {
        let t = Tokenizer::from_name("cl100k").unwrap();
        let out = t.encode("<|endoftext|>").unwrap();
        assert!(out.count() > 1);
    }

    #[test]
    fn unknown_name_is_an_error() {
        assert!(matches!(
            Tokenizer::from_name("nope"),
            Err(TokenError::Unknown(_))
        ));
        assert!(Tokenizer::from_name("/no/such/tokenizer.json").is_err());
    }
}
