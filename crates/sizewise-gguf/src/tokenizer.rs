//! Building a Hugging Face `tokenizers` tokenizer from the vocabulary stored in a GGUF file.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::Path;

use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::normalizers::{Prepend, Replace, Sequence as NormalizerSequence};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence as PreTokenizerSequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{
    AddedToken, DecoderWrapper, NormalizerWrapper, PostProcessorWrapper, PreTokenizerWrapper,
    SplitDelimiterBehavior, Tokenizer,
};

use crate::error::GgufError;
use crate::file::GgufFile;
use crate::value::{MetadataArray, MetadataValue};

type Result<T, E = GgufError> = std::result::Result<T, E>;

/// `tokenizer.ggml.token_type` values (llama.cpp's `llama_token_type`).
mod token_type {
    pub const NORMAL: i64 = 1;
    pub const CONTROL: i64 = 3;
    pub const USER_DEFINED: i64 = 4;
}

/// The split regex of Llama 3 style byte-level BPE vocabularies.
const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// The split regex of Qwen 2 style byte-level BPE vocabularies.
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

fn build_err(e: impl std::fmt::Display) -> GgufError {
    GgufError::TokenizerBuild {
        reason: e.to_string(),
    }
}

fn invalid(reason: String) -> GgufError {
    GgufError::InvalidTokenizer { reason }
}

/// The vocabulary part of the metadata.
struct Vocabulary<'a> {
    tokens: &'a [String],
    /// One type per token (`NORMAL` when the file has no types).
    types: Vec<i64>,
}

impl GgufFile {
    fn required_array(&self, key: &str) -> Result<&MetadataArray> {
        let entry = self.entry(key).ok_or_else(|| GgufError::MissingKey {
            key: key.to_string(),
        })?;
        entry.value.as_array().ok_or_else(|| GgufError::WrongType {
            key: key.to_string(),
            offset: entry.offset,
            expected: "array",
            found: entry.value.type_description(),
        })
    }

    fn string_array(&self, key: &str) -> Result<&[String]> {
        match self.required_array(key)? {
            MetadataArray::String(v) => Ok(v),
            other => Err(GgufError::WrongType {
                key: key.to_string(),
                offset: self.entry(key).map_or(0, |e| e.offset),
                expected: "array of string",
                found: format!("array of {}", other.element_type()),
            }),
        }
    }

    fn optional_bool(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(MetadataValue::as_bool)
    }

    /// The token with the id stored under `key`, when the key is present and in range.
    fn token_for<'a>(&self, key: &str, tokens: &'a [String]) -> Option<(&'a str, u32)> {
        let id = self.get_u64(key)?;
        let token = tokens.get(usize::try_from(id).ok()?)?;
        Some((token.as_str(), u32::try_from(id).ok()?))
    }

    fn vocabulary(&self) -> Result<Vocabulary<'_>> {
        let tokens = self.string_array("tokenizer.ggml.tokens")?;
        if tokens.is_empty() || u32::try_from(tokens.len()).is_err() {
            return Err(invalid(format!(
                "tokenizer.ggml.tokens has {} entries",
                tokens.len()
            )));
        }
        let types = match self.get("tokenizer.ggml.token_type") {
            None => vec![token_type::NORMAL; tokens.len()],
            Some(_) => {
                let array = self.required_array("tokenizer.ggml.token_type")?;
                let types = array.to_i64_vec().ok_or_else(|| {
                    invalid(format!(
                        "tokenizer.ggml.token_type is an array of {}, not of integers",
                        array.element_type()
                    ))
                })?;
                if types.len() != tokens.len() {
                    return Err(invalid(format!(
                        "tokenizer.ggml.token_type has {} entries for {} tokens",
                        types.len(),
                        tokens.len()
                    )));
                }
                types
            }
        };
        Ok(Vocabulary { tokens, types })
    }

    /// Builds a Hugging Face tokenizer from the vocabulary in this file's metadata.
    ///
    /// * `tokenizer.ggml.model == "gpt2"` (byte-level BPE, SmolLM2, Llama 3, Qwen 2 ...): a
    ///   BPE model over `tokenizer.ggml.tokens` and `tokenizer.ggml.merges`, a byte-level
    ///   pre-tokenizer chosen by `tokenizer.ggml.pre` and a byte-level decoder. This is exact
    ///   (the same ids as the model's own `tokenizer.json`) for `pre` = `"smollm"`,
    ///   `"starcoder"`, `"refact"` (digits split one by one, then the GPT-2 regex),
    ///   `"gpt2"`/`"gpt-2"`/`"default"` (GPT-2 regex), the Llama 3 family (`"llama3"`,
    ///   `"llama-bpe"`, `"llama-v3"`, `"falcon3"`, `"smaug-bpe"`, `"dbrx"`) and `"qwen2"`. Other
    ///   `pre` values fall back to the GPT-2 regex, which can split text differently.
    /// * `tokenizer.ggml.model == "llama"` (SentencePiece BPE, Gemma, Llama 2, Mistral ...): a BPE
    ///   model with byte fallback whose merges are rebuilt from the vocabulary: every split of a
    ///   normal token into two normal tokens, ranked by the score of the merged token
    ///   (`tokenizer.ggml.scores`, highest first). Spaces become `▁`, and a `▁` is prepended
    ///   to each text segment when `tokenizer.ggml.add_space_prefix` is true (the default).
    ///   SentencePiece BPE merges the adjacent pair with the best-scored result, leftmost
    ///   first, which is what these ranks reproduce, so ids match SentencePiece and llama.cpp
    ///   on ordinary text (checked against SentencePiece for Gemma 3 in the tests). Not
    ///   reproduced: SentencePiece normalization rules other than the space escape (no
    ///   `precompiled_charsmap`/NFKC), and SentencePiece Unigram vocabularies are treated as
    ///   BPE, which is only an approximation for them.
    ///
    /// For both, tokens typed CONTROL are added as special tokens and USER_DEFINED ones as
    /// normal added tokens, both matched whole in the raw text, as llama.cpp does. With
    /// `add_special_tokens = true`, encoding adds BOS/EOS as `tokenizer.ggml.add_bos_token` /
    /// `add_eos_token` say (BOS by default for `"llama"`, nothing for `"gpt2"`).
    pub fn tokenizer(&self) -> Result<Tokenizer> {
        let model = self
            .get_str("tokenizer.ggml.model")
            .ok_or_else(|| GgufError::MissingKey {
                key: "tokenizer.ggml.model".to_string(),
            })?;
        match model {
            "gpt2" => self.byte_level_bpe(),
            "llama" => self.sentencepiece_bpe(),
            other => Err(GgufError::UnsupportedTokenizer {
                model: other.to_string(),
            }),
        }
    }

    fn byte_level_bpe(&self) -> Result<Tokenizer> {
        let vocabulary = self.vocabulary()?;
        let vocab = vocab_map(vocabulary.tokens);
        let merge_lines = self.string_array("tokenizer.ggml.merges")?;
        let mut merges = Vec::with_capacity(merge_lines.len());
        for (i, line) in merge_lines.iter().enumerate() {
            let Some((a, b)) = line.split_once(' ') else {
                return Err(invalid(format!(
                    "tokenizer.ggml.merges[{i}] = {line:?} has no space"
                )));
            };
            for part in [a, b, &format!("{a}{b}")] {
                if !vocab.contains_key(part) {
                    return Err(invalid(format!(
                        "tokenizer.ggml.merges[{i}] = {line:?}: {part:?} is not in the vocabulary"
                    )));
                }
            }
            merges.push((a.to_string(), b.to_string()));
        }
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(build_err)?;
        let mut tokenizer = Tokenizer::new(bpe);

        let byte_level = ByteLevel::new(false, false, true);
        let pre = self.get_str("tokenizer.ggml.pre").unwrap_or("default");
        let pre_tokenizer: PreTokenizerWrapper = match pre {
            "smollm" | "starcoder" | "refact" => {
                PreTokenizerSequence::new(vec![Digits::new(true).into(), byte_level.into()]).into()
            }
            "llama3" | "llama-bpe" | "llama-v3" | "falcon3" | "smaug-bpe" | "dbrx" => {
                regex_then_bytes(LLAMA3_SPLIT)?
            }
            "qwen2" | "deepseek-r1-qwen" => regex_then_bytes(QWEN2_SPLIT)?,
            _ => byte_level.into(),
        };
        tokenizer.with_pre_tokenizer(Some(pre_tokenizer));
        tokenizer.with_decoder(Some(DecoderWrapper::ByteLevel(byte_level)));

        self.add_vocabulary_tokens(&mut tokenizer, &vocabulary)?;
        match self.template(vocabulary.tokens, false)? {
            Some(template) => {
                tokenizer.with_post_processor(Some(template));
            }
            None => {
                tokenizer.with_post_processor(Some(PostProcessorWrapper::ByteLevel(
                    ByteLevel::new(false, false, true),
                )));
            }
        }
        Ok(tokenizer)
    }

    fn sentencepiece_bpe(&self) -> Result<Tokenizer> {
        let vocabulary = self.vocabulary()?;
        let tokens = vocabulary.tokens;
        let scores: Vec<f64> = match self.get("tokenizer.ggml.scores") {
            None => (0..tokens.len()).map(|i| -(i as f64)).collect(),
            Some(_) => {
                let array = self.required_array("tokenizer.ggml.scores")?;
                let scores = array.to_f64_vec().ok_or_else(|| {
                    invalid(format!(
                        "tokenizer.ggml.scores is an array of {}, not of numbers",
                        array.element_type()
                    ))
                })?;
                if scores.len() != tokens.len() {
                    return Err(invalid(format!(
                        "tokenizer.ggml.scores has {} entries for {} tokens",
                        scores.len(),
                        tokens.len()
                    )));
                }
                scores
            }
        };
        let vocab = vocab_map(tokens);
        let merges = sentencepiece_merges(tokens, &vocabulary.types, &scores);

        let mut builder = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .byte_fallback(true)
            .fuse_unk(true);
        if let Some((unk, _)) = self.token_for("tokenizer.ggml.unknown_token_id", tokens) {
            builder = builder.unk_token(unk.to_string());
        }
        let bpe = builder.build().map_err(build_err)?;
        let mut tokenizer = Tokenizer::new(bpe);

        let add_space_prefix = self
            .optional_bool("tokenizer.ggml.add_space_prefix")
            .unwrap_or(true);
        let replace: NormalizerWrapper = Replace::new(" ", "\u{2581}").map_err(build_err)?.into();
        let normalizer: NormalizerWrapper = if add_space_prefix {
            NormalizerSequence::new(vec![Prepend::new("\u{2581}".to_string()).into(), replace])
                .into()
        } else {
            replace
        };
        tokenizer
            .with_normalizer(Some(normalizer))
            .map_err(build_err)?;
        let mut decoders: Vec<DecoderWrapper> = vec![
            DecoderWrapper::Replace(Replace::new("\u{2581}", " ").map_err(build_err)?),
            DecoderWrapper::ByteFallback(ByteFallback::new()),
            DecoderWrapper::Fuse(Fuse::new()),
        ];
        if add_space_prefix {
            decoders.push(DecoderWrapper::Strip(Strip::new(' ', 1, 0)));
        }
        tokenizer.with_decoder(Some(DecoderWrapper::Sequence(DecoderSequence::new(
            decoders,
        ))));

        self.add_vocabulary_tokens(&mut tokenizer, &vocabulary)?;
        if let Some(template) = self.template(tokens, true)? {
            tokenizer.with_post_processor(Some(template));
        }
        Ok(tokenizer)
    }

    /// Adds CONTROL tokens as special tokens and USER_DEFINED tokens as added tokens, both
    /// matched in the raw (not normalized) text.
    fn add_vocabulary_tokens(&self, tokenizer: &mut Tokenizer, v: &Vocabulary<'_>) -> Result<()> {
        let mut special = Vec::new();
        let mut user = Vec::new();
        for (token, &ty) in v.tokens.iter().zip(&v.types) {
            if token.is_empty() {
                continue;
            }
            match ty {
                token_type::CONTROL => {
                    special.push(AddedToken::from(token.clone(), true).normalized(false))
                }
                token_type::USER_DEFINED => {
                    user.push(AddedToken::from(token.clone(), false).normalized(false))
                }
                _ => {}
            }
        }
        tokenizer.add_special_tokens(special).map_err(build_err)?;
        tokenizer.add_tokens(user).map_err(build_err)?;
        Ok(())
    }

    /// The BOS/EOS template, when the file asks for one.
    fn template(
        &self,
        tokens: &[String],
        default_bos: bool,
    ) -> Result<Option<PostProcessorWrapper>> {
        let add_bos = self
            .optional_bool("tokenizer.ggml.add_bos_token")
            .unwrap_or(default_bos);
        let add_eos = self
            .optional_bool("tokenizer.ggml.add_eos_token")
            .unwrap_or(false);
        let bos = add_bos
            .then(|| self.token_for("tokenizer.ggml.bos_token_id", tokens))
            .flatten();
        let eos = add_eos
            .then(|| self.token_for("tokenizer.ggml.eos_token_id", tokens))
            .flatten();
        if bos.is_none() && eos.is_none() {
            return Ok(None);
        }
        let mut single = Vec::new();
        let mut pair = Vec::new();
        let mut specials = Vec::new();
        for (t, id) in bos.iter().chain(eos.iter()) {
            if t.is_empty() || t.contains(char::is_whitespace) || t.starts_with('$') {
                return Err(invalid(format!(
                    "BOS/EOS token {t:?} cannot be used in a template"
                )));
            }
            specials.push((t.to_string(), *id));
        }
        if let Some((b, _)) = bos {
            single.push(b.to_string());
            pair.push(b.to_string());
        }
        single.push("$A".to_string());
        pair.push("$A".to_string());
        if let Some((e, _)) = eos {
            single.push(e.to_string());
            pair.push(e.to_string());
        }
        if let Some((b, _)) = bos {
            pair.push(format!("{b}:1"));
        }
        pair.push("$B:1".to_string());
        if let Some((e, _)) = eos {
            pair.push(format!("{e}:1"));
        }
        let template = TemplateProcessing::builder()
            .try_single(single.join(" "))
            .map_err(build_err)?
            .try_pair(pair.join(" "))
            .map_err(build_err)?
            .special_tokens(specials)
            .build()
            .map_err(build_err)?;
        Ok(Some(PostProcessorWrapper::Template(template)))
    }
}

/// Split by `regex` (matches kept as pieces), then map bytes to the byte-level alphabet.
fn regex_then_bytes(regex: &str) -> Result<PreTokenizerWrapper> {
    let split = Split::new(
        SplitPattern::Regex(regex.to_string()),
        SplitDelimiterBehavior::Isolated,
        false,
    )
    .map_err(build_err)?;
    Ok(PreTokenizerSequence::new(vec![
        split.into(),
        ByteLevel::new(false, false, false).into(),
    ])
    .into())
}

/// Token to id; when a token appears twice, the first id wins.
fn vocab_map(tokens: &[String]) -> Vocab {
    let mut vocab = Vocab::with_capacity(tokens.len());
    for (id, token) in (0u32..).zip(tokens) {
        vocab.entry(token.clone()).or_insert(id);
    }
    vocab
}

/// Merges that reproduce SentencePiece BPE: every split of a normal token into two normal
/// tokens, best merged-token score first (then lower id, then longer left part).
fn sentencepiece_merges(tokens: &[String], types: &[i64], scores: &[f64]) -> Vec<(String, String)> {
    let normal: HashMap<&str, usize> = tokens
        .iter()
        .enumerate()
        .filter(|&(i, _)| types.get(i) == Some(&token_type::NORMAL))
        .map(|(i, t)| (t.as_str(), i))
        .rev() // first id wins for duplicates
        .collect();
    let mut found: Vec<(usize, &str, &str)> = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if types.get(i) != Some(&token_type::NORMAL) || normal.get(token.as_str()) != Some(&i) {
            continue;
        }
        for (cut, _) in token.char_indices().skip(1) {
            let (left, right) = token.split_at(cut);
            if normal.contains_key(left) && normal.contains_key(right) {
                found.push((i, left, right));
            }
        }
    }
    let score = |i: usize| scores.get(i).copied().unwrap_or(f64::NEG_INFINITY);
    found.sort_by(|a, b| {
        score(b.0)
            .total_cmp(&score(a.0))
            .then(a.0.cmp(&b.0))
            .then(b.1.len().cmp(&a.1.len()))
            .then(Ordering::Equal)
    });
    found
        .into_iter()
        .map(|(_, l, r)| (l.to_string(), r.to_string()))
        .collect()
}

/// Opens the GGUF file at `path` and builds its tokenizer (see [`GgufFile::tokenizer`]).
pub fn tokenizer_from_gguf(path: &Path) -> Result<Tokenizer> {
    GgufFile::open(path)?.tokenizer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_builder::*;

    #[test]
    fn tiny_byte_level_bpe() {
        // "Ġ" is the byte-level spelling of a space.
        let tokens = ["<|end|>", "a", "b", "Ġ", "ab", "Ġab", "1", "2", "12"];
        let f = GgufFile::from_bytes(
            &GgufBuilder::new()
                .kv_str("tokenizer.ggml.model", "gpt2")
                .kv_str("tokenizer.ggml.pre", "smollm")
                .kv_array("tokenizer.ggml.tokens", &string_array(&tokens))
                .kv_array(
                    "tokenizer.ggml.token_type",
                    &i32_array(&[3, 1, 1, 1, 1, 1, 1, 1, 1]),
                )
                .kv_array(
                    "tokenizer.ggml.merges",
                    &string_array(&["a b", "Ġ ab", "1 2"]),
                )
                .build(),
        )
        .unwrap();
        let tok = f.tokenizer().unwrap();
        let enc = tok.encode("ab ab<|end|>12", false).unwrap();
        // Digits are split one by one before BPE, so "12" never merges.
        assert_eq!(enc.get_ids(), [4, 5, 0, 6, 7]);
        assert_eq!(tok.decode(enc.get_ids(), false).unwrap(), "ab ab<|end|>12");
    }

    #[test]
    fn tiny_sentencepiece_bpe() {
        let tokens = [
            "<unk>",
            "<s>",
            "</s>",
            "<0x21>",
            "\u{2581}",
            "h",
            "i",
            "\u{2581}h",
            "hi",
            "\u{2581}hi",
            "<b>",
        ];
        let types = [2, 3, 3, 6, 1, 1, 1, 1, 1, 1, 4];
        // "▁hi" scores best (both its splits, longer left part first), then "hi", then "▁h".
        let scores = [
            0.0, 0.0, 0.0, 0.0, -1.0, -2.0, -3.0, -30.0, -10.0, -5.0, 0.0,
        ];
        let f = GgufFile::from_bytes(
            &GgufBuilder::new()
                .kv_str("tokenizer.ggml.model", "llama")
                .kv_array("tokenizer.ggml.tokens", &string_array(&tokens))
                .kv_array("tokenizer.ggml.token_type", &i32_array(&types))
                .kv_array("tokenizer.ggml.scores", &f32_array(&scores))
                .kv_u32("tokenizer.ggml.bos_token_id", 1)
                .kv_u32("tokenizer.ggml.unknown_token_id", 0)
                .build(),
        )
        .unwrap();
        let merges = sentencepiece_merges(
            &tokens.map(str::to_string),
            &types.map(i64::from),
            &scores.map(f64::from),
        );
        assert_eq!(
            merges,
            [
                ("\u{2581}h".to_string(), "i".to_string()),
                ("\u{2581}".to_string(), "hi".to_string()),
                ("h".to_string(), "i".to_string()),
                ("\u{2581}".to_string(), "h".to_string()),
            ]
        );
        let tok = f.tokenizer().unwrap();
        // Space prefix added by default; "!" falls back to its byte; <b> is user-defined.
        let enc = tok.encode("hi hi!<b>", false).unwrap();
        assert_eq!(enc.get_ids(), [9, 9, 3, 10]);
        // BOS added by default for SentencePiece vocabularies.
        assert_eq!(tok.encode("hi", true).unwrap().get_ids(), [1, 9]);
        assert_eq!(tok.decode(&[9, 9, 3], false).unwrap(), "hi hi!");
    }
}
