//! `decisions.parquet`: one row per replayed request with the router's choice and its scored
//! outcome. Streamed in record batches; the file appears atomically when finished.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float32Builder, Float64Builder, ListBuilder, StringBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::atomic::{BufferedParquet, Columns};
use crate::error::Result;

/// Rows buffered per record batch.
const FLUSH_ROWS: usize = 16_384;

/// One row of `decisions.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRow {
    /// Request id from the log.
    pub request_id: String,
    /// Winning decision (`None` = default model).
    pub decision: Option<String>,
    /// Chosen model.
    pub model: String,
    /// Reasoning on.
    pub use_reasoning: bool,
    /// Decision confidence.
    pub confidence: f32,
    /// Matched signals as `kind:name`.
    pub matched_signals: Vec<String>,
    /// Quality of the chosen model (`None` = unscored).
    pub quality: Option<f64>,
    /// Cost of the chosen model, USD.
    pub cost: f64,
    /// Latency of the chosen model, ms (`None` = unknown).
    pub latency_ms: Option<f64>,
    /// Time in `Router::route_decision`, µs.
    pub router_us: f64,
}

/// Streams [`DecisionRow`]s into a Parquet file.
pub struct DecisionsWriter {
    out: BufferedParquet<DecisionColumns>,
}

/// The columns of [`decisions_schema`].
struct DecisionColumns;

/// The schema of `decisions.parquet`.
pub fn decisions_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("request_id", DataType::Utf8, false),
        Field::new("decision", DataType::Utf8, true),
        Field::new("model", DataType::Utf8, false),
        Field::new("use_reasoning", DataType::Boolean, false),
        Field::new("confidence", DataType::Float32, false),
        Field::new(
            "matched_signals",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        ),
        Field::new("quality", DataType::Float64, true),
        Field::new("cost", DataType::Float64, false),
        Field::new("latency_ms", DataType::Float64, true),
        Field::new("router_us", DataType::Float64, false),
    ]))
}

impl Columns for DecisionColumns {
    type Row = DecisionRow;

    fn columns(&self, rows: &[DecisionRow]) -> Vec<ArrayRef> {
        let n = rows.len();
        let mut id = StringBuilder::with_capacity(n, n * 12);
        let mut decision = StringBuilder::with_capacity(n, n * 8);
        let mut model = StringBuilder::with_capacity(n, n * 16);
        let mut reasoning = BooleanBuilder::with_capacity(n);
        let mut confidence = Float32Builder::with_capacity(n);
        let mut matched = ListBuilder::new(StringBuilder::new());
        let mut quality = Float64Builder::with_capacity(n);
        let mut cost = Float64Builder::with_capacity(n);
        let mut latency = Float64Builder::with_capacity(n);
        let mut router_us = Float64Builder::with_capacity(n);
        for r in rows {
            id.append_value(&r.request_id);
            decision.append_option(r.decision.as_deref());
            model.append_value(&r.model);
            reasoning.append_value(r.use_reasoning);
            confidence.append_value(r.confidence);
            for s in &r.matched_signals {
                matched.values().append_value(s);
            }
            matched.append(true);
            quality.append_option(r.quality);
            cost.append_value(r.cost);
            latency.append_option(r.latency_ms);
            router_us.append_value(r.router_us);
        }
        vec![
            Arc::new(id.finish()),
            Arc::new(decision.finish()),
            Arc::new(model.finish()),
            Arc::new(reasoning.finish()),
            Arc::new(confidence.finish()),
            Arc::new(matched.finish()),
            Arc::new(quality.finish()),
            Arc::new(cost.finish()),
            Arc::new(latency.finish()),
            Arc::new(router_us.finish()),
        ]
    }
}

impl DecisionsWriter {
    /// Starts `path` (written to a temp file until [`DecisionsWriter::finish`]).
    pub fn create(path: &Path) -> Result<Self> {
        Ok(DecisionsWriter {
            out: BufferedParquet::create(path, decisions_schema(), DecisionColumns, FLUSH_ROWS)?,
        })
    }

    /// Appends a row.
    pub fn push(&mut self, row: DecisionRow) -> Result<()> {
        self.out.push(row)
    }

    /// Flushes, closes and renames the file into place.
    pub fn finish(self) -> Result<()> {
        self.out.finish()
    }
}
