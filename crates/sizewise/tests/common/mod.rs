//! What the binary's integration tests share.

#![allow(dead_code)]

use std::path::PathBuf;

/// SmolLM2-135M-Instruct, the small test model (`scripts/fetch-test-models.sh`).
pub const SMOLLM2: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// The path of a test model in `SIZEWISE_MODELS_DIR` (default `.cache/models`), or `None`
/// with a note saying the test skipped.
pub fn model_path(file: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("SIZEWISE_MODELS_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/models"),
    };
    let path = dir.join(file);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "skipped: model not found ({}); run scripts/fetch-test-models.sh",
            path.display()
        );
        None
    }
}
