//! The error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while loading a model or running it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The llama.cpp backend could not be initialised for this process.
    #[error("the llama.cpp backend could not be initialised: {0}")]
    Backend(String),
    /// Our own GGUF reader refused the file, so llama.cpp never saw it.
    #[error("{path}: refused before loading, not a valid GGUF file: {source}")]
    InvalidGguf {
        /// The file.
        path: PathBuf,
        /// What the reader found wrong.
        #[source]
        source: sizewise_gguf::GgufError,
    },
    /// llama.cpp could not load a file that our reader accepted.
    #[error(
        "{path}: llama.cpp could not load the model ({reason}); set SIZEWISE_LLAMA_LOG=1 to see llama.cpp's own messages"
    )]
    Load {
        /// The file.
        path: PathBuf,
        /// What llama.cpp reported.
        reason: String,
    },
    /// llama.cpp could not create an inference context.
    #[error(
        "could not create a llama.cpp context of {context_tokens} tokens with {threads} threads ({reason}); try a smaller context"
    )]
    Context {
        /// The requested context length.
        context_tokens: u32,
        /// The requested thread count.
        threads: u32,
        /// What llama.cpp reported.
        reason: String,
    },
    /// A load or generation option is out of range.
    #[error("invalid option {name}: {reason}")]
    InvalidOption {
        /// The option.
        name: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// A chat message could not be passed to llama.cpp or formatted.
    #[error("chat message {index} (role {role:?}): {reason}")]
    Chat {
        /// The message's index in the conversation.
        index: usize,
        /// The message's role.
        role: String,
        /// What is wrong.
        reason: String,
    },
    /// The prompt gave no tokens to evaluate.
    #[error("the prompt is empty: nothing to condition on")]
    EmptyPrompt,
    /// A token-id prompt holds an id outside the model's vocabulary.
    #[error("token id {id} is not in the model's vocabulary of {vocab_size} tokens")]
    UnknownToken {
        /// The offending id.
        id: i32,
        /// Size of the vocabulary.
        vocab_size: usize,
    },
    /// The prompt does not leave room in the context.
    #[error(
        "the prompt is {prompt_tokens} tokens but the context holds {context_tokens}; load with a larger context or shorten the prompt"
    )]
    PromptTooLong {
        /// Tokens in the prompt (with any BOS token).
        prompt_tokens: usize,
        /// The context length the engine was loaded with.
        context_tokens: u32,
    },
    /// A multiple-choice candidate adds no token after the prompt.
    #[error("candidate {index} ({candidate:?}) adds no token after the prompt")]
    EmptyCandidate {
        /// The candidate's index.
        index: usize,
        /// The candidate.
        candidate: String,
    },
    /// llama.cpp failed while evaluating tokens.
    #[error("llama.cpp failed to evaluate {what}: {reason}")]
    Decode {
        /// What was being evaluated (prompt, token, candidate).
        what: String,
        /// What llama.cpp reported.
        reason: String,
    },
}

/// The result type of this crate.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
