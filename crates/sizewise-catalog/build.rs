//! Embeds every catalog file under `data/` into the library, so the binary runs
//! offline with no files beside it. Files are converted from TOML to JSON here,
//! once, because JSON parses several times faster at start-up; a file that does
//! not parse as TOML is embedded as TOML, so that start-up reports it with its line.

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
    let out_dir = env::var("OUT_DIR").unwrap_or_default();
    println!("cargo:rerun-if-changed={}", root.display());
    let mut out = String::new();
    for (name, sub) in [("MODEL_FILES", "models"), ("HARDWARE_FILES", "hardware")] {
        let dir = root.join(sub);
        println!("cargo:rerun-if-changed={}", dir.display());
        out.push_str(&format!(
            "/// Embedded `{sub}` files: (name, is_json, contents).\n"
        ));
        out.push_str(&format!("pub const {name}: &[(&str, bool, &str)] = &[\n"));
        for f in list(&dir) {
            println!("cargo:rerun-if-changed={f}");
            let file_name = Path::new(&f)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = fs::read_to_string(&f).unwrap_or_default();
            let json = toml::from_str::<toml::Value>(&text)
                .ok()
                .and_then(|v| serde_json::to_string(&v).ok());
            match json {
                Some(j) => {
                    let dest = Path::new(&out_dir).join(format!("{sub}-{file_name}.json"));
                    if fs::write(&dest, j).is_ok() {
                        out.push_str(&format!(
                            "    (\"data/{sub}/{file_name}\", true, include_str!({:?})),\n",
                            dest.display().to_string()
                        ));
                        continue;
                    }
                    out.push_str(&format!(
                        "    (\"data/{sub}/{file_name}\", false, include_str!({f:?})),\n"
                    ));
                }
                None => {
                    println!(
                        "cargo:warning={f} is not valid TOML; sizewise will report it at start-up"
                    );
                    out.push_str(&format!(
                        "    (\"data/{sub}/{file_name}\", false, include_str!({f:?})),\n"
                    ));
                }
            }
        }
        out.push_str("];\n");
    }
    let dest = Path::new(&out_dir).join("embedded.rs");
    if let Err(e) = fs::write(&dest, out) {
        println!("cargo:warning=cannot write {}: {e}", dest.display());
    }
}
