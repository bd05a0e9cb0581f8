//! Streaming reader of request logs (`request-log/v1`): validates the schema once, then decodes
//! record batches of bounded size so memory does not grow with the file.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type, Schema};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::error::{EvalError, Result};
use crate::log_schema::{self, LogRow, LogRowRef, ModelField, ModelOutcome};

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
    pub fn next_batch(&mut self) -> Option<Result<LogBatch>> {
        let batch = match self.reader.next()? {
            Ok(b) => b,
            Err(e) => return Some(Err(EvalError::parquet(&self.path, e))),
        };
        let first = self.next_row;
        self.next_row += batch.num_rows() as u64;
        Some(self.decode(&batch, first))
    }

    fn decode(&self, batch: &RecordBatch, first_row: u64) -> Result<LogBatch> {
        let path = self.path.display().to_string();
        let cast_err = |e: arrow::error::ArrowError| EvalError::parquet(&self.path, e);
        let strings = |idx: Option<usize>| -> Result<Option<StringArray>> {
            idx.map(|i| {
                arrow::compute::cast(batch.column(i), &DataType::Utf8)
                    .map(|a| a.as_string::<i32>().clone())
                    .map_err(cast_err)
            })
            .transpose()
        };
        let ids = strings(Some(self.layout.request_id))?.expect("request_id is required");
        let bad = |row: usize, column: &str, message: String| EvalError::BadValue {
            path: path.clone(),
            row: first_row + row as u64,
            column: column.into(),
            message,
        };
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
        let rows = batch.num_rows();
        let mut outcomes = Vec::with_capacity(rows * model_cols.len());
        for r in 0..rows {
            if ids.is_null(r) {
                return Err(bad(r, log_schema::REQUEST_ID, "request_id is null".into()));
            }
            for (m, cols) in self.layout.models.iter().zip(&model_cols) {
                let quality = get_f(&cols[0], r);
                if let Some(q) = quality {
                    if !(0.0..=1.0).contains(&q) {
                        return Err(bad(
                            r,
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
        }
        Ok(LogBatch {
            first_row,
            models: model_cols.len(),
            prompts: strings(self.layout.prompt)?,
            messages: strings(self.layout.messages)?,
            categories: strings(self.layout.category)?,
            expected: strings(self.layout.expected_decision)?,
            ids,
            outcomes,
        })
    }
}

/// One decoded record batch of a request log, checked: the string columns stay Arrow arrays
/// that rows borrow from (no copy or allocation per row), the model outcomes are decoded.
#[derive(Debug, Clone)]
pub struct LogBatch {
    first_row: u64,
    models: usize,
    ids: StringArray,
    prompts: Option<StringArray>,
    messages: Option<StringArray>,
    categories: Option<StringArray>,
    expected: Option<StringArray>,
    /// Row-major, `len() × models`.
    outcomes: Vec<ModelOutcome>,
}

/// The value of row `r` of an optional string column (`None` when absent or null).
fn cell(column: &Option<StringArray>, r: usize) -> Option<&str> {
    column
        .as_ref()
        .and_then(|c| c.is_valid(r).then(|| c.value(r)))
}

impl LogBatch {
    /// Rows in the batch.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Index of the batch's first row in the log.
    pub fn first_row(&self) -> u64 {
        self.first_row
    }

    /// Row `r` of the batch (panics when `r >= len()`).
    pub fn row(&self, r: usize) -> LogRowRef<'_> {
        LogRowRef {
            request_id: self.ids.value(r),
            prompt: cell(&self.prompts, r),
            messages: cell(&self.messages, r),
            category: cell(&self.categories, r),
            expected_decision: cell(&self.expected, r),
            outcomes: &self.outcomes[r * self.models..(r + 1) * self.models],
        }
    }

    /// The rows, copied out as owned [`LogRow`]s.
    pub fn to_rows(&self) -> Vec<LogRow> {
        (0..self.len()).map(|r| self.row(r).to_row()).collect()
    }
}

/// Owned rows, one batch at a time (for tools and tests; the replay reads [`LogBatch`]es).
impl Iterator for RequestLog {
    type Item = Result<Vec<LogRow>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch().map(|b| b.map(|b| b.to_rows()))
    }
}
