//! A safe, validated reader for GGUF model files.
//!
//! [`GgufFile::open`] reads only the header, the metadata and the tensor table of a GGUF file
//! (versions 2 and 3), with buffered I/O, and validates all of it against the real file size
//! before anything is used: string and array lengths, key and tensor counts, tensor types,
//! dimensions, alignment, bounds and overlaps. A malformed or hostile file gives a
//! [`GgufError`] that names what is wrong and at what byte offset; the reader never panics
//! and never allocates a size the file claims without having the bytes to back it.
//!
//! On top of that it gives exact sizes ([`GgmlType`] knows the block layout of every ggml
//! type), an architecture summary ([`GgufArchitecture`]) and a Hugging Face tokenizer built
//! from the vocabulary ([`GgufFile::tokenizer`]).
//!
//! It also writes GGUF files: [`GgufWriter`] streams metadata, the tensor table and tensor
//! data into any `Write`, and [`write_synth`] uses it to write a synthetic model (a real
//! architecture with random weights, marked by [`GgufFile::is_synthetic`]) that llama.cpp
//! loads, for measuring speed and memory where the real weights are not at hand.
//!
//! ```no_run
//! # fn main() -> Result<(), sizewise_gguf::GgufError> {
//! let file = sizewise_gguf::GgufFile::open("SmolLM2-135M-Instruct.Q4_1.gguf")?;
//! let arch = file.architecture();
//! println!("{} parameters, {:.2} bits per weight", file.parameter_count(),
//!     file.bits_per_weight().unwrap_or(0.0));
//! println!("{:?} layers", arch.block_count);
//! let tokenizer = file.tokenizer()?;
//! # Ok(()) }
//! ```

mod arch;
mod error;
mod file;
mod synth;
mod tokenizer;
mod types;
mod value;
mod writer;

#[cfg(test)]
#[path = "../tests/common/mod.rs"]
mod test_builder;

pub use arch::GgufArchitecture;
pub use error::{GgufError, GgufWriteError};
pub use file::{
    DEFAULT_ALIGNMENT, GGUF_MAGIC, GgufFile, MAX_ARRAY_NESTING, MAX_DIMS, MAX_HEADER_BYTES,
    MetadataEntry, TensorInfo, tensor_byte_size,
};
pub use synth::{
    MIN_SYNTH_VOCAB, SEED_KEY, SOURCE_MODEL_KEY, SYNTHETIC_KEY, SynthArch, SynthError,
    SynthPrecision, SynthSpec, SynthSummary, SynthTensor, f16_bits, scale_offsets, write_synth,
};
pub use tokenizer::tokenizer_from_gguf;
pub use types::{GgmlType, file_type_name};
pub use value::{MetadataArray, MetadataValue, ValueType};
pub use writer::{GGUF_WRITE_VERSION, GgufDataWriter, GgufWriter, TensorLayout};
