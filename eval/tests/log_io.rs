//! Request-log reading, writing and schema errors.

mod common;

use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Array};
use common::*;
use eval::log_reader::RequestLog;
use eval::log_schema::{LogRow, ModelField, ModelOutcome};
use eval::log_writer::RequestLogWriter;
use eval::EvalError;

#[test]
fn reads_tiny_log_in_small_batches() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("log.parquet");
    tiny_log(&p);
    let mut log = RequestLog::open(&p, 3).unwrap();
    assert_eq!(log.num_rows(), 4);
    assert_eq!(log.models(), vec!["small", "big"]);
    assert!(log.has_quality("big") && log.has_category() && log.has_expected_decision());
    let first = log.next_batch().unwrap().unwrap();
    assert_eq!(first.len(), 3);
    let second = log.next_batch().unwrap().unwrap();
    assert_eq!(second.len(), 1);
    assert!(log.next_batch().is_none());
    let r3 = second.row(0);
    assert_eq!(r3.request_id, "r3");
    assert_eq!(
        r3.outcomes[1].quality, None,
        "null quality stays unscored, not 0"
    );
    assert_eq!(r3.outcomes[0].quality, Some(0.0));
    assert_eq!(r3.outcomes[0].output_tokens, Some(500));
}

/// Writes `rows` to `path` with every per-model field of `models`.
fn write_rows(path: &std::path::Path, models: &[&str], rows: &[LogRow]) {
    let models: Vec<String> = models.iter().map(|m| m.to_string()).collect();
    let mut w = RequestLogWriter::create(path, &models, &ModelField::ALL, true).unwrap();
    for row in rows {
        w.push(row.clone()).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn writer_round_trips_rows() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("w.parquet");
    let row = LogRow {
        request_id: "x".into(),
        prompt: None,
        messages: Some(r#"[{"role":"user","content":"hi"}]"#.into()),
        category: Some("cat".into()),
        expected_decision: None,
        outcomes: vec![
            ModelOutcome {
                quality: Some(0.5),
                input_tokens: Some(3),
                output_tokens: Some(4),
                cost: Some(0.25),
                latency_ms: Some(12.0),
            },
            ModelOutcome::default(),
        ],
    };
    write_rows(&p, &["a/b", "c"], std::slice::from_ref(&row));
    let rows: Vec<LogRow> = RequestLog::open(&p, 10)
        .unwrap()
        .flat_map(|b| b.unwrap())
        .collect();
    assert_eq!(rows, vec![row.clone()]);
    let req = rows[0].view().route_request("w", 0).unwrap();
    assert_eq!(req.user_text(), "hi");
}

#[test]
fn rows_borrowed_from_batches_match_the_rows_written() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("many.parquet");
    // Every optional cell is null on some rows and set on others, so a wrong row offset or a
    // null read as a value shows up.
    let written: Vec<LogRow> = (0..11u32)
        .map(|i| {
            let f = f64::from(i);
            LogRow {
                request_id: format!("id-{i}"),
                prompt: (i % 3 != 0).then(|| format!("prompt {i}")),
                messages: (i % 3 == 0).then(|| format!(r#"[{{"role":"user","content":"m{i}"}}]"#)),
                category: (i % 2 == 0).then(|| format!("cat{}", i % 4)),
                expected_decision: (i % 5 != 1).then(|| format!("d{i}")),
                outcomes: vec![
                    ModelOutcome {
                        quality: (i % 4 != 2).then_some(f / 10.0),
                        input_tokens: Some(i64::from(i)),
                        output_tokens: (i % 2 == 1).then_some(i64::from(2 * i)),
                        cost: (i % 3 == 1).then_some(f * 0.5),
                        latency_ms: None,
                    },
                    ModelOutcome {
                        quality: Some(1.0 - f / 20.0),
                        latency_ms: Some(f),
                        ..Default::default()
                    },
                ],
            }
        })
        .collect();
    write_rows(&p, &["m1", "m2"], &written);
    let mut log = RequestLog::open(&p, 4).unwrap();
    let mut read = Vec::new();
    while let Some(batch) = log.next_batch() {
        let batch = batch.unwrap();
        assert_eq!(batch.first_row(), read.len() as u64);
        for r in 0..batch.len() {
            let row = batch.row(r);
            let want = &written[read.len()];
            assert_eq!(row, want.view(), "row {}", read.len());
            let request = row.route_request("many", read.len() as u64).unwrap();
            let text = want
                .prompt
                .clone()
                .unwrap_or_else(|| format!("m{}", read.len()));
            assert_eq!(request.user_text(), text);
            read.push(row.to_row());
        }
    }
    assert_eq!(read, written);
}

fn open_err(cols: Vec<(&str, ArrayRef)>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.parquet");
    write_parquet(&p, cols);
    let mut log = match RequestLog::open(&p, 8) {
        Err(e) => return e.to_string(),
        Ok(l) => l,
    };
    match log.next_batch() {
        Some(Err(e)) => e.to_string(),
        other => panic!(
            "expected an error, got {:?}",
            other.map(|r| r.map(|v| v.len()))
        ),
    }
}

#[test]
fn schema_errors_name_file_column_and_types() {
    let e = open_err(vec![("prompt", strs(&[Some("p")]))]);
    assert!(
        e.contains("bad.parquet") && e.contains("missing column `request_id`"),
        "{e}"
    );
    let e = open_err(vec![("request_id", strs(&[Some("a")]))]);
    assert!(e.contains("`prompt`"), "{e}");
    let e = open_err(vec![
        ("request_id", strs(&[Some("a")])),
        ("prompt", strs(&[Some("p")])),
        ("m|quality", strs(&[Some("good")])),
    ]);
    assert!(
        e.contains("bad.parquet")
            && e.contains("column `m|quality` has type Utf8, expected Float64"),
        "{e}"
    );
    let e = open_err(vec![
        (
            "request_id",
            Arc::new(Int32Array::from(vec![1])) as ArrayRef,
        ),
        ("prompt", strs(&[Some("p")])),
    ]);
    assert!(
        e.contains("`request_id` has type Int32, expected Utf8"),
        "{e}"
    );
}

#[test]
fn bad_values_name_the_row() {
    let e = open_err(vec![
        ("request_id", strs(&[Some("a"), Some("b")])),
        ("prompt", strs(&[Some("p"), Some("q")])),
        ("m|quality", f64s(&[Some(0.5), Some(1.5)])),
    ]);
    assert!(
        e.contains("row 1") && e.contains("m|quality") && e.contains("outside [0, 1]"),
        "{e}"
    );
    let e = open_err(vec![
        ("request_id", strs(&[None])),
        ("prompt", strs(&[Some("p")])),
    ]);
    assert!(
        e.contains("row 0") && e.contains("request_id is null"),
        "{e}"
    );
}

#[test]
fn integer_quality_columns_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("int.parquet");
    write_parquet(
        &p,
        vec![
            ("request_id", strs(&[Some("a")])),
            ("prompt", strs(&[Some("p")])),
            ("m|quality", i64s(&[Some(1)])),
        ],
    );
    let rows = RequestLog::open(&p, 8)
        .unwrap()
        .next_batch()
        .unwrap()
        .unwrap();
    assert_eq!(rows.row(0).outcomes[0].quality, Some(1.0));
    assert!(matches!(
        LogRow {
            messages: Some("not json".into()),
            ..Default::default()
        }
        .view()
        .route_request("f", 7),
        Err(EvalError::BadValue { row: 7, .. })
    ));
}

/// A folder is one log: its visible `.parquet` files in name order (a hidden file, as a
/// writer's temporary one, is left out), with the union of their models; a model a file has
/// no columns for reads as an empty outcome there, and errors name the file and its own row.
#[test]
fn a_folder_of_files_is_one_log() {
    let dir = tempfile::tempdir().unwrap();
    let row = |id: &str, q: Vec<Option<f64>>| LogRow {
        request_id: id.into(),
        prompt: Some(format!("prompt {id}")),
        outcomes: q
            .into_iter()
            .map(|quality| ModelOutcome {
                quality,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    write_rows(
        &dir.path().join("b.parquet"),
        &["big", "mid"],
        &[row("b0", vec![Some(0.5), Some(0.25)])],
    );
    write_rows(
        &dir.path().join("a.parquet"),
        &["small", "big"],
        &[
            row("a0", vec![Some(1.0), None]),
            row("a1", vec![Some(0.0), Some(1.0)]),
        ],
    );
    write_rows(
        &dir.path().join(".c.parquet.tmp1"),
        &["x"],
        &[row("c0", vec![None])],
    );
    std::fs::write(dir.path().join("notes.txt"), "not a log").unwrap();

    let mut log = RequestLog::open(dir.path(), 1).unwrap();
    assert_eq!(log.num_rows(), 3);
    assert_eq!(log.models(), ["small", "big", "mid"]);
    assert!(log.has_quality("mid"));
    let rows: Vec<LogRow> = log.by_ref().flat_map(|b| b.unwrap()).collect();
    let ids: Vec<&str> = rows.iter().map(|r| r.request_id.as_str()).collect();
    assert_eq!(ids, ["a0", "a1", "b0"]);
    let q = |r: &LogRow| -> Vec<Option<f64>> { r.outcomes.iter().map(|o| o.quality).collect() };
    assert_eq!(q(&rows[0]), [Some(1.0), None, None]);
    assert_eq!(q(&rows[1]), [Some(0.0), Some(1.0), None]);
    assert_eq!(q(&rows[2]), [None, Some(0.5), Some(0.25)]);

    // A bad value in the second file names that file and its row 0.
    write_rows(
        &dir.path().join("b.parquet"),
        &["big"],
        &[row("b0", vec![Some(7.0)])],
    );
    let err = RequestLog::open(dir.path(), 8)
        .unwrap()
        .find_map(|b| b.err())
        .unwrap();
    match err {
        EvalError::BadValue { path, row, .. } => {
            assert!(path.ends_with("b.parquet"), "{path}");
            assert_eq!(row, 0);
        }
        e => panic!("{e}"),
    }
    let empty = tempfile::tempdir().unwrap();
    let err = RequestLog::open(empty.path(), 8).err().unwrap().to_string();
    assert!(err.contains("no .parquet request log"), "{err}");
}
