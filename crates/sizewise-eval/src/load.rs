//! Reading a suite from a file or a string, with the format detected from its keys.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::error::{EvalError, Result};
use crate::sizewise::ItemsLoader;
use crate::suite::Suite;
use crate::{bigbench, sizewise};

/// How to read a suite.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Leave out BIG-bench examples that have no single best choice (a tie for the highest
    /// target score, or no score above 0), listing them in [`Suite::skipped`], instead of
    /// refusing the file.
    pub skip_ambiguous: bool,
}

/// Reads the suite file at `path`: a sizewise suite (it has a `sizewise_suite` key) or a
/// BIG-bench task (it has an `examples` key). A sizewise suite's `items_file` is read relative
/// to the suite file's folder.
pub fn load_suite(path: impl AsRef<Path>) -> Result<Suite> {
    load_suite_with(path, &LoadOptions::default())
}

/// [`load_suite`] with options.
pub fn load_suite_with(path: impl AsRef<Path>, options: &LoadOptions) -> Result<Suite> {
    let path = path.as_ref();
    let text = read(path)?;
    let folder = path.parent().unwrap_or_else(|| Path::new(""));
    let load_items = |name: &str| -> Result<(String, String)> {
        let items_path = folder.join(name);
        let content = read(&items_path)?;
        Ok((items_path.display().to_string(), content))
    };
    parse_inner(&text, &path.display().to_string(), options, &load_items)
}

/// Reads a suite from `text`; `origin` names it in errors (a file name, or a label). A
/// sizewise suite read this way must have its items inline: an `items_file` needs
/// [`load_suite`].
pub fn parse_suite(text: &str, origin: &str) -> Result<Suite> {
    parse_suite_with(text, origin, &LoadOptions::default())
}

/// [`parse_suite`] with options.
pub fn parse_suite_with(text: &str, origin: &str, options: &LoadOptions) -> Result<Suite> {
    let no_files = |name: &str| -> Result<(String, String)> {
        Err(EvalError::Suite {
            file: origin.to_owned(),
            problem: format!(
                "items_file {name:?} can only be read when the suite is loaded from a file"
            ),
        })
    };
    parse_inner(text, origin, options, &no_files)
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|source| EvalError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Detects the format of `text` and reads it.
pub(crate) fn parse_inner(
    text: &str,
    origin: &str,
    options: &LoadOptions,
    load_items: ItemsLoader<'_>,
) -> Result<Suite> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = serde_json::from_str(text).map_err(|source| EvalError::Json {
        file: origin.to_owned(),
        source,
    })?;
    let Value::Object(obj) = &value else {
        return Err(EvalError::UnknownFormat {
            file: origin.to_owned(),
        });
    };
    if obj.contains_key("sizewise_suite") {
        sizewise::parse(obj, origin, load_items)
    } else if obj.contains_key("examples") {
        let stem = Path::new(origin)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(origin);
        bigbench::parse(obj, origin, stem, options.skip_ambiguous)
    } else {
        Err(EvalError::UnknownFormat {
            file: origin.to_owned(),
        })
    }
}
