//! Shared fixtures: a two-model rule config and tiny request logs written with arrow.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{Field, Schema};
use parquet::arrow::ArrowWriter;

/// small: 1 / 2 USD per 1M tokens, big: 10 / 20; latency 100+10/token, 200+20/token.
/// Decision `math` (keyword integral|prove) -> big; default small.
pub const CONFIG: &str = r#"
version: v0.3
providers:
  defaults:
    default_model: small
  models:
    - name: small
      pricing: {prompt_per_1m: 1, completion_per_1m: 2}
      latency: {ttft_ms: 100, tpot_ms: 10}
    - name: big
      pricing: {prompt_per_1m: 10, completion_per_1m: 20}
      latency: {ttft_ms: 200, tpot_ms: 20}
routing:
  signals:
    keywords:
      - name: math_kw
        operator: OR
        keywords: ["integral", "prove"]
    context:
      - name: long_ctx
        min_tokens: 100000
  decisions:
    - name: math
      priority: 100
      rules:
        operator: OR
        conditions:
          - type: keyword
            name: math_kw
      modelRefs:
        - model: big
    - name: long
      priority: 50
      rules:
        operator: OR
        conditions:
          - type: context
            name: long_ctx
      modelRefs:
        - model: big
"#;

/// Same models, no decisions: everything goes to `small`.
pub const CONFIG_ALL_SMALL: &str = r#"
version: v0.3
providers:
  defaults:
    default_model: small
  models:
    - name: small
      pricing: {prompt_per_1m: 1, completion_per_1m: 2}
      latency: {ttft_ms: 100, tpot_ms: 10}
    - name: big
      pricing: {prompt_per_1m: 10, completion_per_1m: 20}
      latency: {ttft_ms: 200, tpot_ms: 20}
routing:
  decisions: []
"#;

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Writes a Parquet file with the given columns.
pub fn write_parquet(path: &Path, cols: Vec<(&str, ArrayRef)>) {
    let fields: Vec<Field> = cols
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let batch =
        RecordBatch::try_new(schema.clone(), cols.into_iter().map(|c| c.1).collect()).unwrap();
    let mut w = ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

pub fn strs(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

pub fn f64s(v: &[Option<f64>]) -> ArrayRef {
    Arc::new(Float64Array::from(v.to_vec()))
}

pub fn i64s(v: &[Option<i64>]) -> ArrayRef {
    Arc::new(Int64Array::from(v.to_vec()))
}

/// The 4-request log of the hand-computed tests. Every row: 1000 prompt / 500 completion
/// tokens, so small costs 0.002 USD and big 0.02 USD per request.
///
/// | id | prompt | category | expected | small q | big q |
/// |---|---|---|---|---|---|
/// | r0 | compute the integral of x | math | math | 0 | 1 |
/// | r1 | prove the theorem | math | math | 1 | 1 |
/// | r2 | hello there | chat | - | 1 | 1 |
/// | r3 | what is the capital of France | chat | math | 0 | null |
pub fn tiny_log(path: &Path) {
    let toks = |v: i64| i64s(&[Some(v); 4]);
    write_parquet(
        path,
        vec![
            (
                "request_id",
                strs(&[Some("r0"), Some("r1"), Some("r2"), Some("r3")]),
            ),
            (
                "prompt",
                strs(&[
                    Some("compute the integral of x"),
                    Some("prove the theorem"),
                    Some("hello there"),
                    Some("what is the capital of France"),
                ]),
            ),
            (
                "category",
                strs(&[Some("math"), Some("math"), Some("chat"), Some("chat")]),
            ),
            (
                "expected_decision",
                strs(&[Some("math"), Some("math"), None, Some("math")]),
            ),
            (
                "small|quality",
                f64s(&[Some(0.0), Some(1.0), Some(1.0), Some(0.0)]),
            ),
            ("small|input_tokens", toks(1000)),
            ("small|output_tokens", toks(500)),
            (
                "big|quality",
                f64s(&[Some(1.0), Some(1.0), Some(1.0), None]),
            ),
            ("big|input_tokens", toks(1000)),
            ("big|output_tokens", toks(500)),
        ],
    );
}
