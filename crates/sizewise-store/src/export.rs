//! [`Store::export`]: a run as JSON or CSV.

use std::collections::HashSet;
use std::io::{self, BufWriter, Write};

use serde_json::Value;

use crate::error::{Result, StoreError};
use crate::model::{ExportFormat, RunId};
use crate::store::Store;

/// The CSV column that holds a row that is not a JSON object.
const VALUE_COLUMN: &str = "value";

impl Store {
    /// Writes a run and its rows to `writer`.
    ///
    /// - [`ExportFormat::Json`]: `{"run": {...}, "rows": [...]}`, where `run` is the
    ///   serialized [`crate::Run`] (info, `params`, `summary`).
    /// - [`ExportFormat::Csv`] (RFC 4180 quoting, `\n` line ends): a header line with the
    ///   union of the rows' top-level keys in order of first appearance, then one line per
    ///   row. Strings are written as they are, numbers and booleans as JSON writes them, null
    ///   or a missing key as an empty cell, and arrays and objects JSON-encoded. A row that is
    ///   not an object goes in a `value` column. A run without rows gives an empty file.
    ///
    /// Rows are streamed from the store, not held in memory; the CSV reads them twice (once
    /// for the columns).
    pub fn export(&self, id: RunId, format: ExportFormat, writer: impl Write) -> Result<()> {
        let mut out = BufWriter::new(writer);
        let io_err = |source| StoreError::Write { id, source };
        match format {
            ExportFormat::Json => {
                let run = self.get_run(id)?.ok_or(StoreError::RunNotFound { id })?;
                out.write_all(b"{\"run\":").map_err(io_err)?;
                serde_json::to_writer(&mut out, &run).map_err(|e| json_io(id, e))?;
                out.write_all(b",\"rows\":[").map_err(io_err)?;
                let mut first = true;
                self.for_each_row(id, |_, row| {
                    if !first {
                        out.write_all(b",").map_err(io_err)?;
                    }
                    first = false;
                    serde_json::to_writer(&mut out, &row).map_err(|e| json_io(id, e))
                })?;
                out.write_all(b"]}\n").map_err(io_err)?;
            }
            ExportFormat::Csv => {
                let mut columns: Vec<String> = Vec::new();
                let mut seen: HashSet<String> = HashSet::new();
                self.for_each_row(id, |_, row| {
                    let mut add = |key: &str| {
                        if !seen.contains(key) {
                            seen.insert(key.to_string());
                            columns.push(key.to_string());
                        }
                    };
                    match &row {
                        Value::Object(map) => map.keys().for_each(|k| add(k)),
                        _ => add(VALUE_COLUMN),
                    }
                    Ok(())
                })?;
                if !columns.is_empty() {
                    write_record(&mut out, columns.iter().map(String::as_str)).map_err(io_err)?;
                    let mut cells: Vec<String> = Vec::with_capacity(columns.len());
                    self.for_each_row(id, |_, row| {
                        cells.clear();
                        cells.extend(columns.iter().map(|c| match &row {
                            Value::Object(map) => map.get(c).map(cell).unwrap_or_default(),
                            other if c == VALUE_COLUMN => cell(other),
                            _ => String::new(),
                        }));
                        write_record(&mut out, cells.iter().map(String::as_str)).map_err(io_err)
                    })?;
                }
            }
        }
        out.flush().map_err(io_err)
    }
}

fn json_io(id: RunId, e: serde_json::Error) -> StoreError {
    StoreError::Write {
        id,
        source: io::Error::other(e),
    }
}

/// The text of one CSV cell, before quoting.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        nested @ (Value::Array(_) | Value::Object(_)) => nested.to_string(),
    }
}

/// Writes one CSV line; a field with a comma, a quote, a CR or a LF is quoted, with its
/// quotes doubled.
fn write_record<'s>(out: &mut impl Write, fields: impl Iterator<Item = &'s str>) -> io::Result<()> {
    for (i, field) in fields.enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        if field.contains([',', '"', '\n', '\r']) {
            out.write_all(b"\"")?;
            out.write_all(field.replace('"', "\"\"").as_bytes())?;
            out.write_all(b"\"")?;
        } else {
            out.write_all(field.as_bytes())?;
        }
    }
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(fields: &[&str]) -> String {
        let mut out = Vec::new();
        write_record(&mut out, fields.iter().copied()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(record(&["a", "b c", ""]), "a,b c,\n");
        assert_eq!(
            record(&["x,y", "say \"hi\"", "l1\nl2", "cr\r"]),
            "\"x,y\",\"say \"\"hi\"\"\",\"l1\nl2\",\"cr\r\"\n"
        );
    }

    #[test]
    fn cells_encode_nested_values_as_json() {
        assert_eq!(cell(&json!(null)), "");
        assert_eq!(cell(&json!(1.5)), "1.5");
        assert_eq!(cell(&json!(true)), "true");
        assert_eq!(cell(&json!("s")), "s");
        assert_eq!(cell(&json!([1, {"a": "b"}])), r#"[1,{"a":"b"}]"#);
    }

    #[test]
    fn csv_columns_are_the_union_of_keys_in_first_seen_order() {
        let store = Store::open_in_memory().unwrap();
        let id = store
            .start_run(crate::RunKind::Bench, "t", &json!({}), "0")
            .unwrap();
        store
            .add_rows(
                id,
                &[
                    json!({"b": 1, "a": "x"}),
                    json!({"c": [1], "a": null}),
                    json!(7),
                ],
            )
            .unwrap();
        let mut out = Vec::new();
        store.export(id, ExportFormat::Csv, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "b,a,c,value\n1,x,,\n,,[1],\n,,,7\n"
        );
    }

    #[test]
    fn a_run_without_rows_exports_as_an_empty_csv_and_a_json_with_no_rows() {
        let store = Store::open_in_memory().unwrap();
        let id = store
            .start_run(crate::RunKind::Probe, "t", &json!({"k": 1}), "0")
            .unwrap();
        let mut csv = Vec::new();
        store.export(id, ExportFormat::Csv, &mut csv).unwrap();
        assert!(csv.is_empty());
        let mut js = Vec::new();
        store.export(id, ExportFormat::Json, &mut js).unwrap();
        let v: Value = serde_json::from_slice(&js).unwrap();
        assert_eq!(v["rows"], json!([]));
        assert_eq!(v["run"]["params"], json!({"k": 1}));
        assert_eq!(v["run"]["kind"], json!("probe"));
    }

    #[test]
    fn exporting_a_missing_run_is_an_error() {
        let store = Store::open_in_memory().unwrap();
        let e = store
            .export(RunId(9), ExportFormat::Json, Vec::new())
            .unwrap_err();
        assert!(matches!(e, StoreError::RunNotFound { .. }), "{e}");
    }
}
