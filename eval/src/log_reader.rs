//! Streaming reader of request logs (`request-log/v1`): validates the schema once, then decodes
//! record batches of bounded size so memory does not grow with the file.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int64Type, Schema};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::error::{EvalError, Result};
use crate::log_schema::{self, LogRow, ModelField, ModelOutcome};

/// Default number of rows decoded at a time.
pub const DEFAULT_BATCH_SIZE: usize = 8192;

/// Column indices of one model's fields (`None` = column absent).
#[derive(Debug, Clone)]
struct ModelColumns {
    name: String,
    fields: [Option<usize>; 5],
}

/// Where each known column lives in the file's schema.
#[derive(Debug, Clone)]
struct Layout {
    request_id: usize,
    prompt: Option<usize>,
    messages: Option<usize>,
    category: Option<usize>,
    expected_decision: Option<usize>,
    models: Vec<ModelColumns>,
}

/// An opened, schema-checked request log.
pub struct RequestLog {
    path: PathBuf,
    layout: Layout,
    num_rows: u64,
    reader: ParquetRecordBatchReader,
    next_row: u64,
}

fn type_error(path: &Path, column: &str, expected: &str, found: &DataType) -> EvalError {
    EvalError::ColumnType {
        path: path.display().to_string(),
        column: column.into(),
        expected: expected.into(),
        found: found.to_string(),
    }
}

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

fn is_float_compatible(t: &DataType) -> bool {
    t.is_floating() || t.is_integer() || matches!(t, DataType::Null)
}

fn is_int_compatible(t: &DataType) -> bool {
    t.is_integer() || matches!(t, DataType::Null)
}

fn string_column(path: &Path, schema: &Schema, name: &str) -> Result<Option<usize>> {
    match schema.index_of(name) {
        Ok(i) => {
            let t = schema.field(i).data_type();
            if is_string(t) || matches!(t, DataType::Null) {
                Ok(Some(i))
            } else {
                Err(type_error(path, name, "Utf8", t))
            }
        }
        Err(_) => Ok(None),
    }
}

impl Layout {
    fn from_schema(path: &Path, schema: &Schema) -> Result<Layout> {
        let request_id = string_column(path, schema, log_schema::REQUEST_ID)?.ok_or_else(|| {
            EvalError::MissingColumn {
                path: path.display().to_string(),
                column: log_schema::REQUEST_ID.into(),
                hint: "every request log needs a request id".into(),
            }
        })?;
        let prompt = string_column(path, schema, log_schema::PROMPT)?;
        let messages = string_column(path, schema, log_schema::MESSAGES)?;
        if prompt.is_none() && messages.is_none() {
            return Err(EvalError::MissingColumn {
                path: path.display().to_string(),
                column: log_schema::PROMPT.into(),
                hint: "one of `prompt` / `messages` is required".into(),
            });
        }
        let category = string_column(path, schema, log_schema::CATEGORY)?;
        let expected_decision = string_column(path, schema, log_schema::EXPECTED_DECISION)?;
        let mut models: Vec<ModelColumns> = Vec::new();
        for (i, field) in schema.fields().iter().enumerate() {
            let Some((model, kind)) = log_schema::parse_model_column(field.name()) else {
                continue;
            };
            let t = field.data_type();
            let ok = if kind.is_integer() {
                is_int_compatible(t)
            } else {
                is_float_compatible(t)
            };
            if !ok {
                let expected = if kind.is_integer() {
                    "Int64"
                } else {
                    "Float64"
                };
                return Err(type_error(path, field.name(), expected, t));
            }
            let slot = match models.iter_mut().find(|m| m.name == model) {
                Some(m) => m,
                None => {
                    models.push(ModelColumns {
                        name: model.to_string(),
                        fields: [None; 5],
                    });
                    models.last_mut().expect("just pushed")
                }
            };
            slot.fields[field_index(kind)] = Some(i);
        }
        Ok(Layout {
            request_id,
            prompt,
            messages,
            category,
            expected_decision,
            models,
        })
    }
}

fn field_index(f: ModelField) -> usize {
    ModelField::ALL
        .iter()
        .position(|x| *x == f)
        .expect("ALL holds every field")
}

impl RequestLog {
    /// Opens `path`, checks its schema and prepares to decode `batch_size` rows at a time.
    pub fn open(path: &Path, batch_size: usize) -> Result<RequestLog> {
        let file = File::open(path).map_err(|e| EvalError::io(path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| EvalError::parquet(path, e))?;
        let num_rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
        let layout = Layout::from_schema(path, builder.schema())?;
        let reader = builder
            .with_batch_size(batch_size.max(1))
            .build()
            .map_err(|e| EvalError::parquet(path, e))?;
        Ok(RequestLog {
            path: path.to_path_buf(),
            layout,
            num_rows,
            reader,
            next_row: 0,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows in the file (from the footer).
    pub fn num_rows(&self) -> u64 {
        self.num_rows
    }

    /// Models that have at least one `<model>|*` column, in column order.
    pub fn models(&self) -> Vec<String> {
        self.layout.models.iter().map(|m| m.name.clone()).collect()
    }

    /// Whether `model` has a `<model>|quality` column.
    pub fn has_quality(&self, model: &str) -> bool {
        self.layout
            .models
            .iter()
            .any(|m| m.name == model && m.fields[field_index(ModelField::Quality)].is_some())
    }

    /// Whether the log has a `category` column.
    pub fn has_category(&self) -> bool {
        self.layout.category.is_some()
    }

    /// Whether the log has an `expected_decision` column.
    pub fn has_expected_decision(&self) -> bool {
        self.layout.expected_decision.is_some()
    }

    /// Decodes the next batch of rows; `None` at the end of the file.
    pub fn next_batch(&mut self) -> Option<Result<Vec<LogRow>>> {
        let batch = match self.reader.next()? {
            Ok(b) => b,
            Err(e) => return Some(Err(EvalError::parquet(&self.path, e))),
        };
        let first = self.next_row;
        self.next_row += batch.num_rows() as u64;
        Some(self.decode(&batch, first))
    }

    /// Decodes the next raw Arrow batch without converting rows (for decode-only timing).
    pub fn next_raw_batch(&mut self) -> Option<Result<RecordBatch>> {
        self.reader
            .next()
            .map(|r| r.map_err(|e| EvalError::parquet(&self.path, e)))
    }

    fn decode(&self, batch: &RecordBatch, first_row: u64) -> Result<Vec<LogRow>> {
        let path = self.path.display().to_string();
        let cast_err = |e: arrow::error::ArrowError| EvalError::parquet(&self.path, e);
        let strings = |idx: Option<usize>| -> Result<Option<ArrayRef>> {
            idx.map(|i| arrow::compute::cast(batch.column(i), &DataType::Utf8).map_err(cast_err))
                .transpose()
        };
        let ids = strings(Some(self.layout.request_id))?.expect("request_id is required");
        let prompts = strings(self.layout.prompt)?;
        let messages = strings(self.layout.messages)?;
        let categories = strings(self.layout.category)?;
        let expected = strings(self.layout.expected_decision)?;
        let mut model_cols: Vec<[Option<ArrayRef>; 5]> =
            Vec::with_capacity(self.layout.models.len());
        for m in &self.layout.models {
            let mut cols: [Option<ArrayRef>; 5] = Default::default();
            for (k, field) in ModelField::ALL.into_iter().enumerate() {
                if let Some(i) = m.fields[k] {
                    let target = if field.is_integer() {
                        DataType::Int64
                    } else {
                        DataType::Float64
                    };
                    cols[k] =
                        Some(arrow::compute::cast(batch.column(i), &target).map_err(cast_err)?);
                }
            }
            model_cols.push(cols);
        }
        let get_str = |a: &Option<ArrayRef>, r: usize| -> Option<String> {
            a.as_ref().and_then(|a| {
                let s = a.as_string::<i32>();
                (!s.is_null(r)).then(|| s.value(r).to_string())
            })
        };
        let get_f = |a: &Option<ArrayRef>, r: usize| -> Option<f64> {
            a.as_ref().and_then(|a| {
                let p = a.as_primitive::<Float64Type>();
                (!p.is_null(r)).then(|| p.value(r))
            })
        };
        let get_i = |a: &Option<ArrayRef>, r: usize| -> Option<i64> {
            a.as_ref().and_then(|a| {
                let p = a.as_primitive::<Int64Type>();
                (!p.is_null(r)).then(|| p.value(r))
            })
        };
        let ids_opt = Some(Arc::clone(&ids));
        let mut rows = Vec::with_capacity(batch.num_rows());
        for r in 0..batch.num_rows() {
            let row = first_row + r as u64;
            let bad = |column: &str, message: String| EvalError::BadValue {
                path: path.clone(),
                row,
                column: column.into(),
                message,
            };
            let request_id = get_str(&ids_opt, r)
                .ok_or_else(|| bad(log_schema::REQUEST_ID, "request_id is null".into()))?;
            let mut outcomes = Vec::with_capacity(model_cols.len());
            for (m, cols) in self.layout.models.iter().zip(&model_cols) {
                let quality = get_f(&cols[0], r);
                if let Some(q) = quality {
                    if !(0.0..=1.0).contains(&q) {
                        return Err(bad(
                            &log_schema::model_column(&m.name, ModelField::Quality),
                            format!("quality {q} is outside [0, 1]"),
                        ));
                    }
                }
                outcomes.push(ModelOutcome {
                    quality,
                    input_tokens: get_i(&cols[1], r),
                    output_tokens: get_i(&cols[2], r),
                    cost: get_f(&cols[3], r),
                    latency_ms: get_f(&cols[4], r),
                });
            }
            rows.push(LogRow {
                request_id,
                prompt: get_str(&prompts, r),
                messages: get_str(&messages, r),
                category: get_str(&categories, r),
                expected_decision: get_str(&expected, r),
                outcomes,
            });
        }
        Ok(rows)
    }
}

impl Iterator for RequestLog {
    type Item = Result<Vec<LogRow>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch()
    }
}
