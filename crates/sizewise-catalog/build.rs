//! Embeds every catalog file under `data/` into the library, so the binary runs
//! offline with no files beside it.

use std::{env, fs, path::Path};

fn list(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .map(|p| p.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn main() {
    let root = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("data");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut out = String::new();
    for (name, sub) in [("MODEL_FILES", "models"), ("HARDWARE_FILES", "hardware")] {
        let dir = root.join(sub);
        println!("cargo:rerun-if-changed={}", dir.display());
        out.push_str(&format!("/// Embedded `{sub}` files: (name, contents).\n"));
        out.push_str(&format!("pub const {name}: &[(&str, &str)] = &[\n"));
        for f in list(&dir) {
            let file_name = Path::new(&f)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push_str(&format!(
                "    (\"data/{sub}/{file_name}\", include_str!({f:?})),\n"
            ));
        }
        out.push_str("];\n");
    }
    let dest = Path::new(&env::var("OUT_DIR").unwrap_or_default()).join("embedded.rs");
    if let Err(e) = fs::write(&dest, out) {
        println!("cargo:warning=cannot write {}: {e}", dest.display());
    }
}
