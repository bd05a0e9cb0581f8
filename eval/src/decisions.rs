//! `decisions.parquet`: one row per replayed request with the router's choice and its scored
//! outcome. Streamed in record batches; the file appears atomically when finished.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float32Builder, Float64Builder, ListBuilder, RecordBatch,
    StringBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::atomic::AtomicFile;
use crate::error::{EvalError, Result};

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
    path: String,
    schema: SchemaRef,
    rows: Vec<DecisionRow>,
    writer: Option<ArrowWriter<File>>,
    file: Option<AtomicFile>,
}

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

impl DecisionsWriter {
    /// Starts `path` (written to a temp file until [`DecisionsWriter::finish`]).
    pub fn create(path: &Path) -> Result<Self> {
        let schema = decisions_schema();
        let (atomic, file) = AtomicFile::create(path)?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        let writer = ArrowWriter::try_new(file, Arc::clone(&schema), Some(props))
            .map_err(|e| EvalError::parquet(path, e))?;
        Ok(DecisionsWriter {
            path: path.display().to_string(),
            schema,
            rows: Vec::with_capacity(FLUSH_ROWS),
            writer: Some(writer),
            file: Some(atomic),
        })
    }

    /// Appends a row.
    pub fn push(&mut self, row: DecisionRow) -> Result<()> {
        self.rows.push(row);
        if self.rows.len() >= FLUSH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let n = self.rows.len();
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
        for r in self.rows.drain(..) {
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
        let arrays: Vec<ArrayRef> = vec![
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
        ];
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), arrays)
            .map_err(|e| EvalError::parquet(&self.path, e))?;
        self.writer
            .as_mut()
            .expect("open until finish")
            .write(&batch)
            .map_err(|e| EvalError::parquet(&self.path, e))
    }

    /// Flushes, closes and renames the file into place.
    pub fn finish(mut self) -> Result<()> {
        self.flush()?;
        self.writer
            .take()
            .expect("open until finish")
            .close()
            .map_err(|e| EvalError::parquet(&self.path, e))?;
        self.file.take().expect("open until finish").commit()
    }
}
