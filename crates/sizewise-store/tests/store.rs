//! Integration tests of the results store on real files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::Instant;

use serde_json::{Value, json};
use sizewise_store::{ExportFormat, Run, RunId, RunKind, RunStatus, Store, StoreError};

fn bench_row(i: u64) -> Value {
    json!({
        "ok": true,
        "ttft_ms": 100.0 + i as f64 / 7.0,
        "e2e_ms": 900.5,
        "output_tokens": 128,
        "finish_reason": "stop",
        "timeline": [{"t_ms": 0.0, "event": "send"}, {"t_ms": 98.1, "event": "headers"}, {"t_ms": 100.2, "event": "token"}],
    })
}

#[test]
fn a_new_store_is_migrated_from_empty_in_new_folders_and_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/results.sqlite3");
    let store = Store::open(&path).unwrap();
    assert!(path.is_file());
    assert_eq!(store.path(), path);
    assert_eq!(
        store.schema_version().unwrap(),
        sizewise_store::schema_version()
    );
    assert!(sizewise_store::schema_version() >= 1);
    drop(store);

    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        tables,
        ["requests", "runs", "runs_kind_started", "runs_started"]
    );
    // Opening again applies nothing and changes nothing.
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        sizewise_store::schema_version()
    );
}

#[test]
fn the_default_path_is_in_the_user_data_folder() {
    if let Ok(p) = Store::default_path() {
        assert!(p.ends_with("sizewise/results.sqlite3"), "{}", p.display());
    }
}

#[test]
fn reopening_keeps_runs_rows_params_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sqlite3");
    let params = json!({"rate": 4.0, "prompts": ["a", "b"], "slo": {"ttft_ms": 500}});
    let id = {
        let store = Store::open(&path).unwrap();
        let id = store
            .start_run(RunKind::Bench, "http://127.0.0.1:8080/v1", &params, "0.1.0")
            .unwrap();
        store.add_rows(id, &[bench_row(0), bench_row(1)]).unwrap();
        store.add_rows(id, &[bench_row(2)]).unwrap();
        store.set_notes(id, Some("first try")).unwrap();
        store
            .finish_run(
                id,
                RunStatus::Complete,
                Some(&json!({"p50_ttft_ms": 100.1})),
            )
            .unwrap();
        id
    };
    let store = Store::open(&path).unwrap();
    let run = store.get_run(id).unwrap().unwrap();
    assert_eq!(run.info.id, id);
    assert_eq!(run.info.kind, RunKind::Bench);
    assert_eq!(run.info.target, "http://127.0.0.1:8080/v1");
    assert_eq!(run.info.status, RunStatus::Complete);
    assert_eq!(run.info.tool_version, "0.1.0");
    assert_eq!(run.info.notes.as_deref(), Some("first try"));
    assert_eq!(run.info.row_count, 3);
    assert!(run.info.started_at.ends_with('Z') && run.info.started_at.contains('T'));
    assert!(run.info.finished_at.as_deref().unwrap() >= run.info.started_at.as_str());
    assert_eq!(run.params, params);
    assert_eq!(run.summary, Some(json!({"p50_ttft_ms": 100.1})));
    assert_eq!(
        store.rows(id).unwrap(),
        vec![bench_row(0), bench_row(1), bench_row(2)]
    );
    assert!(store.get_run(RunId(id.0 + 100)).unwrap().is_none());
}

#[test]
fn json_export_round_trips() {
    let store = Store::open_in_memory().unwrap();
    let id = store
        .start_run(
            RunKind::EngineBench,
            "/models/q.gguf",
            &json!({"n_ctx": 4096}),
            "0.1.0",
        )
        .unwrap();
    let rows: Vec<Value> = (0..50).map(bench_row).collect();
    store.add_rows(id, &rows).unwrap();
    store
        .finish_run(id, RunStatus::Complete, Some(&json!({"tok_s": 31.5})))
        .unwrap();

    let mut out = Vec::new();
    store.export(id, ExportFormat::Json, &mut out).unwrap();
    let doc: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["run"]["id"], json!(id.0));
    assert_eq!(doc["run"]["kind"], json!("engine-bench"));
    assert_eq!(doc["rows"], Value::Array(rows));
    let run: Run = serde_json::from_value(doc["run"].clone()).unwrap();
    assert_eq!(run, store.get_run(id).unwrap().unwrap());
}

#[test]
fn csv_export_round_trips_with_commas_quotes_and_newlines() {
    let store = Store::open_in_memory().unwrap();
    let id = store
        .start_run(RunKind::Eval, "m", &json!({}), "0")
        .unwrap();
    let tricky = [
        "plain",
        "a, b, c",
        "she said \"hi\"",
        "line 1\nline 2",
        "crlf\r\nend",
        "\"quoted, with comma\"\n",
        "",
        " spaced ",
        "ünïcödé ✓",
    ];
    let rows: Vec<Value> = tricky
        .iter()
        .enumerate()
        .map(|(i, s)| json!({"seq": i, "text": s, "nested": {"k": s, "list": [1, 2]}, "ok": i % 2 == 0, "score": null}))
        .collect();
    store.add_rows(id, &rows).unwrap();
    // A later row adds a column.
    store
        .add_rows(id, &[json!({"text": "last", "extra,col": 1.25})])
        .unwrap();

    let mut out = Vec::new();
    store.export(id, ExportFormat::Csv, &mut out).unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(out.as_slice());
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        headers,
        ["seq", "text", "nested", "ok", "score", "extra,col"]
    );
    let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(records.len(), tricky.len() + 1);
    for (i, (rec, s)) in records.iter().zip(tricky).enumerate() {
        assert_eq!(&rec[0], i.to_string());
        assert_eq!(&rec[1], s, "row {i}");
        let nested: Value = serde_json::from_str(&rec[2]).unwrap();
        assert_eq!(nested, json!({"k": s, "list": [1, 2]}));
        assert_eq!(&rec[3], if i % 2 == 0 { "true" } else { "false" });
        assert_eq!(&rec[4], "");
        assert_eq!(&rec[5], "");
    }
    let last = &records[tricky.len()];
    assert_eq!(&last[1], "last");
    assert_eq!(&last[5], "1.25");
    assert_eq!(&last[0], "");
}

#[test]
fn incomplete_marking_only_touches_running_runs() {
    let store = Store::open_in_memory().unwrap();
    let a = store
        .start_run(RunKind::Bench, "a", &json!({}), "0")
        .unwrap();
    store.add_rows(a, &[bench_row(0)]).unwrap();
    assert!(store.mark_incomplete(a).unwrap());
    let info = store.get_run(a).unwrap().unwrap().info;
    assert_eq!(info.status, RunStatus::Incomplete);
    assert!(info.finished_at.is_some());
    assert_eq!(store.rows(a).unwrap().len(), 1);
    assert!(!store.mark_incomplete(a).unwrap());

    let b = store
        .start_run(RunKind::Bench, "b", &json!({}), "0")
        .unwrap();
    store.finish_run(b, RunStatus::Complete, None).unwrap();
    assert!(!store.mark_incomplete(b).unwrap());
    assert_eq!(
        store.get_run(b).unwrap().unwrap().info.status,
        RunStatus::Complete
    );

    let e = store.mark_incomplete(RunId(999)).unwrap_err();
    assert!(
        matches!(e, StoreError::RunNotFound { id: RunId(999) }),
        "{e}"
    );
    assert!(e.to_string().contains("hint:"));
    let e = store.finish_run(b, RunStatus::Running, None).unwrap_err();
    assert!(matches!(e, StoreError::InvalidArgument { .. }), "{e}");
    assert!(matches!(
        store.add_rows(RunId(999), &[json!(1)]),
        Err(StoreError::RunNotFound { .. })
    ));
    assert!(matches!(
        store.rows(RunId(999)),
        Err(StoreError::RunNotFound { .. })
    ));
}

#[test]
fn an_interrupted_guarded_run_is_kept_and_marked_incomplete_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.sqlite3");
    let id = {
        let store = Store::open(&path).unwrap();
        let run = store.begin(RunKind::Bench, "t", &json!({}), "0").unwrap();
        run.add_rows(&[bench_row(0)]).unwrap();
        run.id()
        // `run` dropped here without finish, as on an early return.
    };
    let store = Store::open(&path).unwrap();
    let run = store.get_run(id).unwrap().unwrap();
    assert_eq!(run.info.status, RunStatus::Incomplete);
    assert_eq!(run.info.row_count, 1);
}

#[test]
fn list_filters_by_kind_newest_first_with_a_limit_and_latest_finds_the_newest() {
    let store = Store::open_in_memory().unwrap();
    let mut ids = Vec::new();
    for (i, kind) in [
        RunKind::Bench,
        RunKind::Probe,
        RunKind::Bench,
        RunKind::EngineBench,
        RunKind::Bench,
    ]
    .into_iter()
    .enumerate()
    {
        let id = store
            .start_run(kind, &format!("t{i}"), &json!({"i": i}), "0")
            .unwrap();
        ids.push(id);
    }
    store.finish_run(ids[2], RunStatus::Complete, None).unwrap();

    let all = store.list_runs(None, None).unwrap();
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        ids.iter().rev().copied().collect::<Vec<_>>()
    );
    let benches = store.list_runs(Some(RunKind::Bench), None).unwrap();
    assert_eq!(
        benches.iter().map(|r| r.id).collect::<Vec<_>>(),
        [ids[4], ids[2], ids[0]]
    );
    assert!(benches.iter().all(|r| r.kind == RunKind::Bench));
    assert_eq!(
        store
            .list_runs(Some(RunKind::Bench), Some(2))
            .unwrap()
            .len(),
        2
    );
    assert!(
        store
            .list_runs(Some(RunKind::Eval), None)
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.list_runs(None, Some(0)).unwrap().len(), 0);

    let listed = serde_json::to_value(&all[0]).unwrap();
    assert_eq!(listed["id"], json!(ids[4].0));
    assert_eq!(listed["kind"], json!("bench"));
    assert_eq!(listed["status"], json!("running"));

    assert_eq!(store.latest(RunKind::Bench).unwrap(), Some(ids[4]));
    assert_eq!(store.latest(RunKind::Probe).unwrap(), Some(ids[1]));
    assert_eq!(store.latest(RunKind::Calibration).unwrap(), None);
    assert_eq!(
        store
            .latest_with_status(RunKind::Bench, RunStatus::Complete)
            .unwrap(),
        Some(ids[2])
    );
}

#[test]
fn deleting_a_run_removes_its_rows_and_its_id_is_not_reused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("d.sqlite3")).unwrap();
    let a = store
        .start_run(RunKind::Bench, "a", &json!({}), "0")
        .unwrap();
    let b = store
        .start_run(RunKind::Bench, "b", &json!({}), "0")
        .unwrap();
    store.add_rows(b, &[bench_row(0), bench_row(1)]).unwrap();
    store.add_rows(a, &[bench_row(5)]).unwrap();
    assert!(store.delete_run(b).unwrap());
    assert!(!store.delete_run(b).unwrap());
    assert!(store.get_run(b).unwrap().is_none());
    assert!(matches!(store.rows(b), Err(StoreError::RunNotFound { .. })));
    assert_eq!(store.rows(a).unwrap(), vec![bench_row(5)]);
    let c = store
        .start_run(RunKind::Bench, "c", &json!({}), "0")
        .unwrap();
    assert!(c.0 > b.0);
}

#[test]
fn a_store_from_a_newer_sizewise_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.sqlite3");
    drop(Store::open(&path).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let e = Store::open(&path).unwrap_err();
    assert!(
        matches!(e, StoreError::SchemaTooNew { found: 99, .. }),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("upgrade sizewise") && msg.contains(&path.display().to_string()),
        "{msg}"
    );
}

fn assert_not_a_store(path: &Path) {
    let e = Store::open(path).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, StoreError::NotAStore { .. }), "{msg}");
    assert!(
        msg.contains(&path.display().to_string()) && msg.contains("hint:"),
        "{msg}"
    );
}

#[test]
fn garbage_files_folders_and_other_databases_are_refused_with_the_path() {
    let dir = tempfile::tempdir().unwrap();

    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "this is not a database, just some text\n".repeat(200),
    )
    .unwrap();
    assert_not_a_store(&text);

    let binary = dir.path().join("random.bin");
    let bytes: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&binary, bytes).unwrap();
    assert_not_a_store(&binary);

    let folder = dir.path().join("folder");
    std::fs::create_dir(&folder).unwrap();
    assert_not_a_store(&folder);

    let other = dir.path().join("other.db");
    {
        let conn = rusqlite::Connection::open(&other).unwrap();
        conn.execute_batch("CREATE TABLE runs (x); INSERT INTO runs VALUES (1);")
            .unwrap();
    }
    assert_not_a_store(&other);

    // A real store whose header was damaged.
    let damaged = dir.path().join("damaged.sqlite3");
    {
        let store = Store::open(&damaged).unwrap();
        let id = store
            .start_run(RunKind::Bench, "t", &json!({}), "0")
            .unwrap();
        store.add_rows(id, &[bench_row(0)]).unwrap();
    }
    let mut bytes = std::fs::read(&damaged).unwrap();
    bytes[..16].copy_from_slice(b"garbage garbage!");
    std::fs::write(&damaged, bytes).unwrap();
    let _ = std::fs::remove_file(dir.path().join("damaged.sqlite3-wal"));
    let _ = std::fs::remove_file(dir.path().join("damaged.sqlite3-shm"));
    assert_not_a_store(&damaged);

    // An empty file is a valid empty SQLite database and becomes a store.
    let empty = dir.path().join("empty.sqlite3");
    std::fs::write(&empty, b"").unwrap();
    Store::open(&empty).unwrap();
}

#[test]
fn two_handles_on_one_file_write_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite3");
    const WRITERS: usize = 4;
    const RUNS: usize = 15;
    const BATCHES: usize = 10;
    let barrier = Arc::new(Barrier::new(WRITERS));
    let handles: Vec<_> = (0..WRITERS)
        .map(|w| {
            let path = path.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                // Every thread opens (and possibly migrates) the fresh file at the same time.
                let store = Store::open(&path).unwrap();
                let mut ids = Vec::new();
                for r in 0..RUNS {
                    let run = store
                        .begin(RunKind::Bench, &format!("w{w}"), &json!({"r": r}), "0")
                        .unwrap();
                    for b in 0..BATCHES {
                        let rows: Vec<Value> =
                            (0..10).map(|i| json!({"w": w, "b": b, "i": i})).collect();
                        run.add_rows(&rows).unwrap();
                    }
                    ids.push(run.finish(RunStatus::Complete, None).unwrap());
                }
                ids
            })
        })
        .collect();
    let ids: Vec<RunId> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let store = Store::open(&path).unwrap();
    assert_eq!(store.list_runs(None, None).unwrap().len(), WRITERS * RUNS);
    for id in ids {
        let rows = store.rows(id).unwrap();
        assert_eq!(rows.len(), BATCHES * 10);
        // Rows keep their order within a run.
        for (k, row) in rows.iter().enumerate() {
            assert_eq!(row["b"], json!(k / 10));
            assert_eq!(row["i"], json!(k % 10));
        }
        assert_eq!(
            store.get_run(id).unwrap().unwrap().info.row_count,
            (BATCHES * 10) as u64
        );
    }
}

#[test]
fn a_hundred_thousand_rows_insert_fast() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("big.sqlite3")).unwrap();
    let id = store
        .start_run(RunKind::Bench, "t", &json!({}), "0")
        .unwrap();
    let rows: Vec<Value> = (0..100_000).map(bench_row).collect();
    let start = Instant::now();
    store.add_rows(id, &rows).unwrap();
    let insert = start.elapsed();
    let start = Instant::now();
    let back = store.rows(id).unwrap();
    let read = start.elapsed();
    eprintln!("100k rows: insert {insert:?}, read {read:?}");
    assert_eq!(back.len(), 100_000);
    assert_eq!(back[99_999], rows[99_999]);
    assert_eq!(store.get_run(id).unwrap().unwrap().info.row_count, 100_000);
    // Generous for an unoptimised debug build on a slow CI machine; release is far faster.
    assert!(insert.as_secs_f64() < 20.0, "insert took {insert:?}");
}
