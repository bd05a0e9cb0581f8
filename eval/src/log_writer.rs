//! Writer of request logs (`request-log/v1`), used by the importers, tests and the benchmark
//! generator. Rows are buffered and flushed as record batches; the file appears atomically.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Builder, Int64Builder, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};

use crate::atomic::{BufferedParquet, Columns};
use crate::error::{EvalError, Result};
use crate::log_schema::{self, LogRow, ModelField};

/// Rows buffered before a record batch is flushed.
const FLUSH_ROWS: usize = 16_384;

/// Streams [`LogRow`]s into a Parquet request log.
pub struct RequestLogWriter {
    out: BufferedParquet<LogColumns>,
}

/// The columns of a request log with these models, fields and messages.
struct LogColumns {
    models: usize,
    fields: Vec<ModelField>,
    with_messages: bool,
}

impl RequestLogWriter {
    /// Starts a log at `path` with per-model columns `fields` for every model of `models`;
    /// a `messages` column is written when `with_messages`.
    pub fn create(
        path: &Path,
        models: &[String],
        fields: &[ModelField],
        with_messages: bool,
    ) -> Result<Self> {
        let mut cols = vec![
            Field::new(log_schema::REQUEST_ID, DataType::Utf8, false),
            Field::new(log_schema::PROMPT, DataType::Utf8, true),
        ];
        if with_messages {
            cols.push(Field::new(log_schema::MESSAGES, DataType::Utf8, true));
        }
        cols.push(Field::new(log_schema::CATEGORY, DataType::Utf8, true));
        cols.push(Field::new(
            log_schema::EXPECTED_DECISION,
            DataType::Utf8,
            true,
        ));
        for m in models {
            cols.extend(fields.iter().map(|f| log_schema::model_field(m, *f)));
        }
        let metadata = HashMap::from([(
            log_schema::SCHEMA_METADATA_KEY.to_string(),
            log_schema::SCHEMA_VERSION.to_string(),
        )]);
        let schema = Arc::new(Schema::new_with_metadata(cols, metadata));
        let columns = LogColumns {
            models: models.len(),
            fields: fields.to_vec(),
            with_messages,
        };
        Ok(RequestLogWriter {
            out: BufferedParquet::create(path, schema, columns, FLUSH_ROWS)?,
        })
    }

    /// Appends a row; its `outcomes` must have one entry per model.
    pub fn push(&mut self, row: LogRow) -> Result<()> {
        let models = self.out.columns().models;
        if row.outcomes.len() != models {
            return Err(EvalError::Invalid(format!(
                "{}: request {} has {} model outcomes, the log has {models} models",
                self.out.path(),
                row.request_id,
                row.outcomes.len(),
            )));
        }
        self.out.push(row)
    }

    /// Flushes the remaining rows, closes the file and renames it into place.
    pub fn finish(self) -> Result<()> {
        self.out.finish()
    }
}

impl Columns for LogColumns {
    type Row = LogRow;

    fn columns(&self, rows: &[LogRow]) -> Vec<ArrayRef> {
        let n = rows.len();
        let str_col = |get: &dyn Fn(&LogRow) -> Option<&str>| -> ArrayRef {
            let mut b = StringBuilder::with_capacity(n, n * 16);
            for r in rows {
                b.append_option(get(r));
            }
            Arc::new(b.finish())
        };
        let mut arrays: Vec<ArrayRef> = vec![
            str_col(&|r| Some(r.request_id.as_str())),
            str_col(&|r| r.prompt.as_deref()),
        ];
        if self.with_messages {
            arrays.push(str_col(&|r| r.messages.as_deref()));
        }
        arrays.push(str_col(&|r| r.category.as_deref()));
        arrays.push(str_col(&|r| r.expected_decision.as_deref()));
        for m in 0..self.models {
            for f in &self.fields {
                let array: ArrayRef = match f {
                    ModelField::InputTokens | ModelField::OutputTokens => {
                        let mut b = Int64Builder::with_capacity(n);
                        for r in rows {
                            let o = &r.outcomes[m];
                            b.append_option(if *f == ModelField::InputTokens {
                                o.input_tokens
                            } else {
                                o.output_tokens
                            });
                        }
                        Arc::new(b.finish())
                    }
                    ModelField::Quality | ModelField::Cost | ModelField::LatencyMs => {
                        let mut b = Float64Builder::with_capacity(n);
                        for r in rows {
                            let o = &r.outcomes[m];
                            b.append_option(match f {
                                ModelField::Quality => o.quality,
                                ModelField::Cost => o.cost,
                                _ => o.latency_ms,
                            });
                        }
                        Arc::new(b.finish())
                    }
                };
                arrays.push(array);
            }
        }
        arrays
    }
}
