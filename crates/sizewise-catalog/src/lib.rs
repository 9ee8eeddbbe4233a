//! The sizewise catalog: language models and hardware, each fact with its source.
//!
//! The catalog ships embedded in the binary (TOML files under `data/`), is
//! validated when loaded, and can be extended or overridden by the same kind of
//! files in user folders (`DIR/models/*.toml`, `DIR/hardware/*.toml`).
//!
//! ```
//! let catalog = sizewise_catalog::Catalog::embedded().unwrap();
//! let m = catalog.model("llama-3.1-8b").unwrap();
//! assert_eq!(m.context_window, Some(131072));
//! ```

pub mod calibration;
pub mod error;
pub mod fact;
pub mod hardware;
pub mod import;
pub mod load;
pub mod model;

use std::path::{Path, PathBuf};

pub use calibration::Calibration;
pub use error::CatalogError;
pub use fact::{Estimate, Status};
pub use hardware::{CloudPrice, Hardware, HardwareClass, PurchasePrice, ThreadScaling};
pub use model::{ApiPrice, Architecture, Category, Mlp, Model, Norm, PerLayer, Position, Score};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// Where an entry of the catalog came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Shipped inside sizewise.
    Embedded,
    /// A user file (which replaced an embedded entry when the id matched).
    File(PathBuf),
}

/// The loaded catalog.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    models: Vec<(Model, Origin)>,
    hardware: Vec<(Hardware, Origin)>,
    calibrations: Vec<(Calibration, Origin)>,
}

fn suggestions<'a>(wanted: &str, ids: impl Iterator<Item = &'a str>) -> Vec<String> {
    let wanted = wanted.to_ascii_lowercase();
    let mut scored: Vec<(f64, &str)> = ids
        .map(|id| {
            let mut s = strsim::jaro_winkler(&wanted, id);
            if id.contains(&wanted) || (wanted.len() >= 3 && wanted.contains(id)) {
                s += 0.5;
            }
            (s, id)
        })
        .filter(|(s, _)| *s >= 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored
        .into_iter()
        .take(4)
        .map(|(_, id)| id.to_string())
        .collect()
}

impl Catalog {
    /// The catalog shipped in the binary.
    pub fn embedded() -> Result<Catalog, CatalogError> {
        let mut c = Catalog::default();
        for (name, is_json, text) in embedded::MODEL_FILES {
            let path = Path::new(name);
            let m = if *is_json {
                load::parse_model_json(path, text)?
            } else {
                load::parse_model(path, text)?
            };
            c.insert_model(m, Origin::Embedded);
        }
        for (name, is_json, text) in embedded::HARDWARE_FILES {
            let path = Path::new(name);
            let h = if *is_json {
                load::parse_hardware_json(path, text)?
            } else {
                load::parse_hardware(path, text)?
            };
            c.insert_hardware(h, Origin::Embedded);
        }
        Ok(c)
    }

    /// The embedded catalog plus every folder in `dirs`, in order (later files
    /// override earlier entries with the same id). A folder that does not exist
    /// is skipped; a bad file stops the load with its path, line and field.
    pub fn load(dirs: &[PathBuf]) -> Result<Catalog, CatalogError> {
        let mut c = Catalog::embedded()?;
        for dir in dirs {
            c.add_dir(dir)?;
        }
        Ok(c)
    }

    /// Adds `dir/models/*.toml`, `dir/hardware/*.toml` and `dir/calibration/*.toml`.
    pub fn add_dir(&mut self, dir: &Path) -> Result<(), CatalogError> {
        for path in toml_files(&dir.join("models"))? {
            let text = read(&path)?;
            let m = load::parse_model(&path, &text)?;
            self.insert_model(m, Origin::File(path));
        }
        for path in toml_files(&dir.join("hardware"))? {
            let text = read(&path)?;
            let h = load::parse_hardware(&path, &text)?;
            self.insert_hardware(h, Origin::File(path));
        }
        for path in toml_files(&dir.join(calibration::CALIBRATION_DIR))? {
            let text = read(&path)?;
            let c = load::parse_calibration(&path, &text)?;
            self.insert_calibration(c, Origin::File(path));
        }
        Ok(())
    }

    /// Adds or replaces the calibration of its (hardware, engine) pair.
    pub fn insert_calibration(&mut self, c: Calibration, origin: Origin) {
        match self
            .calibrations
            .iter_mut()
            .find(|(x, _)| x.hardware == c.hardware && x.engine == c.engine)
        {
            Some(slot) => *slot = (c, origin),
            None => self.calibrations.push((c, origin)),
        }
    }

    /// The calibration of `engine` on `hardware`, when one was measured.
    pub fn calibration(&self, hardware: &str, engine: &str) -> Option<&Calibration> {
        self.calibrations
            .iter()
            .find(|(c, _)| c.hardware.eq_ignore_ascii_case(hardware) && c.engine == engine)
            .map(|(c, _)| c)
    }

    /// Adds or replaces a model.
    pub fn insert_model(&mut self, m: Model, origin: Origin) {
        match self.models.iter_mut().find(|(x, _)| x.id == m.id) {
            Some(slot) => *slot = (m, origin),
            None => self.models.push((m, origin)),
        }
    }

    /// Adds or replaces a hardware entry.
    pub fn insert_hardware(&mut self, h: Hardware, origin: Origin) {
        match self.hardware.iter_mut().find(|(x, _)| x.id == h.id) {
            Some(slot) => *slot = (h, origin),
            None => self.hardware.push((h, origin)),
        }
    }

    /// All models, in catalog order.
    pub fn models(&self) -> impl Iterator<Item = &Model> {
        self.models.iter().map(|(m, _)| m)
    }

    /// All hardware, in catalog order.
    pub fn hardware(&self) -> impl Iterator<Item = &Hardware> {
        self.hardware.iter().map(|(h, _)| h)
    }

    /// The model with this id (case-insensitive), or an error with suggestions.
    pub fn model(&self, id: &str) -> Result<&Model, CatalogError> {
        self.models
            .iter()
            .map(|(m, _)| m)
            .find(|m| m.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| CatalogError::UnknownModel {
                id: id.to_string(),
                suggestions: suggestions(id, self.models().map(|m| m.id.as_str())),
            })
    }

    /// The hardware with this id (case-insensitive), or an error with suggestions.
    pub fn hardware_by_id(&self, id: &str) -> Result<&Hardware, CatalogError> {
        self.hardware
            .iter()
            .map(|(h, _)| h)
            .find(|h| h.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| CatalogError::UnknownHardware {
                id: id.to_string(),
                suggestions: suggestions(id, self.hardware().map(|h| h.id.as_str())),
            })
    }

    /// Where the model with this id came from.
    pub fn model_origin(&self, id: &str) -> Option<&Origin> {
        self.models.iter().find(|(m, _)| m.id == id).map(|(_, o)| o)
    }

    /// Where the hardware with this id came from.
    pub fn hardware_origin(&self, id: &str) -> Option<&Origin> {
        self.hardware
            .iter()
            .find(|(h, _)| h.id == id)
            .map(|(_, o)| o)
    }
}

fn read(path: &Path) -> Result<String, CatalogError> {
    std::fs::read_to_string(path).map_err(|source| CatalogError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, CatalogError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(CatalogError::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut files: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_loads() {
        let c = Catalog::embedded().unwrap();
        assert!(c.models().count() >= 55);
        assert!(c.hardware().count() >= 16);
    }

    #[test]
    fn unknown_id_suggests() {
        let c = Catalog::embedded().unwrap();
        let err = c.model("llama-3.1-8").unwrap_err().to_string();
        assert!(err.contains("did you mean"), "{err}");
        assert!(err.contains("llama-3.1-8b"), "{err}");
        let err = c.hardware_by_id("h100").unwrap_err().to_string();
        assert!(err.contains("nvidia-h100-sxm"), "{err}");
    }

    #[test]
    fn user_dir_overrides_and_adds() {
        let dir = std::env::temp_dir().join(format!("sizewise-cat-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("models")).unwrap();
        std::fs::write(
            dir.join("models/mine.toml"),
            "id = \"my-model\"\nname = \"Mine\"\nfamily = \"X\"\ndeveloper = \"me\"\ncategory = \"SLM\"\nopen_weights = true\nparams_total = 1e8\n",
        )
        .unwrap();
        let c = Catalog::load(std::slice::from_ref(&dir)).unwrap();
        assert!(c.model("my-model").is_ok());
        assert!(matches!(c.model_origin("my-model"), Some(Origin::File(_))));
        std::fs::remove_dir_all(&dir).ok();
    }
}
