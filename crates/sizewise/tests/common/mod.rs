//! What the binary's integration tests share.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

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

/// The sizewise binary with its results store at `store`, no colour and the built-in
/// catalog only.
pub fn sizewise(store: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sizewise"));
    c.env("SIZEWISE_STORE", store)
        .env("NO_COLOR", "1")
        .env_remove("SIZEWISE_CATALOG");
    c
}

/// The JSON a successful command printed; its stderr when it failed.
pub fn ok_json(out: Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// A server process on loopback (`simulate`, `serve`), killed when dropped.
pub struct Server {
    /// The process.
    pub child: Child,
    /// Its API base, from the first line of JSON it prints.
    pub url: String,
}

impl Server {
    /// Starts `command` (run with `--port 0 --json`) and reads its `url`.
    pub fn spawn(mut command: Command) -> Server {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting a server: {e}"));
        let mut line = String::new();
        if let Some(out) = child.stdout.as_mut() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the server's first line is not JSON ({e}): {line:?}"));
        let url = v["url"].as_str().unwrap_or_default().to_string();
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
