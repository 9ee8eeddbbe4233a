//! Typed reads of optional JSON fields, each failure a sentence that names the field.

use serde_json::{Map, Value};

/// What kind of JSON value `v` is, for messages.
pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The string at `key`; `None` when absent or null.
pub(crate) fn opt_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("{key} must be a string, not {}", kind_of(other))),
    }
}

/// The boolean at `key`; `None` when absent or null.
pub(crate) fn opt_bool(obj: &Map<String, Value>, key: &str) -> Result<Option<bool>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(format!(
            "{key} must be true or false, not {}",
            kind_of(other)
        )),
    }
}

/// The whole number at `key` (0 to `u32::MAX`); `None` when absent or null.
pub(crate) fn opt_u32(obj: &Map<String, Value>, key: &str) -> Result<Option<u32>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("{key} must be a whole number from 0 up, not {v}")),
    }
}

/// The items of the array at `key`, each of which must be a string.
fn strings(items: &[Value], key: &str) -> Result<Vec<String>, String> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(format!(
                "{key}[{i}] must be a string, not {}",
                kind_of(other)
            )),
        })
        .collect()
}

/// The array of strings at `key`; `None` when absent or null.
pub(crate) fn opt_str_list(
    obj: &Map<String, Value>,
    key: &str,
) -> Result<Option<Vec<String>>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => strings(items, key).map(Some),
        Some(other) => Err(format!(
            "{key} must be an array of strings, not {}",
            kind_of(other)
        )),
    }
}

/// A string, or an array of at least one string (a target that lists several acceptable
/// answers).
pub(crate) fn str_or_list(v: &Value, key: &str) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => strings(items, key),
        Value::Array(_) => Err(format!("{key} is an empty array")),
        other => Err(format!(
            "{key} must be a string or an array of strings, not {}",
            kind_of(other)
        )),
    }
}
