//! Streaming reader of request logs (`request-log/v1` and `/v2`): validates the schema once,
//! then decodes record batches of bounded size so memory does not grow with the file.
//!
//! A log is one Parquet file or a folder of them (what `routelab serve --request-log` writes):
//! the folder's `*.parquet` files in name order, hidden files (`.name`, a file still being
//! written) left out. Its model list is the union of the files' models; a model a file has no
//! columns for reads as an empty outcome there.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// One file of a log: its layout and where its models sit in the log's model list.
struct LogFile {
    path: Arc<Path>,
    layout: Layout,
    num_rows: u64,
    /// Index in [`RequestLog::models`] of each of the file's models (layout order).
    model_slot: Vec<usize>,
}

/// An opened, schema-checked request log (a file or a folder of files).
pub struct RequestLog {
    path: PathBuf,
    files: Vec<LogFile>,
    /// Union of the files' models, in order of first appearance.
    models: Vec<String>,
    /// Whether some file has `<model>|quality`, per model.
    quality: Vec<bool>,
    batch_size: usize,
    /// The file being read and its reader.
    current: usize,
    reader: Option<ParquetRecordBatchReader>,
    /// Rows decoded so far (over all files) and in the current file.
    next_row: u64,
    next_file_row: u64,
}

/// The files of a log: `path` itself, or a folder's `*.parquet` files in name order (hidden
/// files left out). An empty folder is an error.
pub fn log_files(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(|e| EvalError::io(path, e))? {
        let p = entry.map_err(|e| EvalError::io(path, e))?.path();
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        let visible = name.is_some_and(|n| !n.starts_with('.') && n.ends_with(".parquet"));
        if visible && p.is_file() {
            files.push(p);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(EvalError::Invalid(format!(
            "{}: the folder holds no .parquet request log",
            path.display()
        )));
    }
    Ok(files)
}

fn open_reader(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    let file = File::open(path).map_err(|e| EvalError::io(path, e))?;
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| EvalError::parquet(path, e))
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
            let hint = if schema.index_of(log_schema::PROMPT_SHA256).is_ok() {
                "this log was recorded without prompts (`serve --request-log-prompts hash|none`), so it cannot be replayed: record with `full` to replay".into()
            } else {
                "one of `prompt` / `messages` is required".into()
            };
            return Err(EvalError::MissingColumn {
                path: path.display().to_string(),
                column: log_schema::PROMPT.into(),
                hint,
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
    /// Opens the log at `path` (a file or a folder, see [`log_files`]), checks every file's
    /// schema and prepares to decode `batch_size` rows at a time.
    pub fn open(path: &Path, batch_size: usize) -> Result<RequestLog> {
        let mut files = Vec::new();
        let mut models: Vec<String> = Vec::new();
        let mut quality: Vec<bool> = Vec::new();
        for file in log_files(path)? {
            let builder = open_reader(&file)?;
            let num_rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
            let layout = Layout::from_schema(&file, builder.schema())?;
            let mut model_slot = Vec::with_capacity(layout.models.len());
            for m in &layout.models {
                let slot = match models.iter().position(|x| *x == m.name) {
                    Some(i) => i,
                    None => {
                        models.push(m.name.clone());
                        quality.push(false);
                        models.len() - 1
                    }
                };
                quality[slot] |= m.fields[field_index(ModelField::Quality)].is_some();
                model_slot.push(slot);
            }
            files.push(LogFile {
                path: Arc::from(file.as_path()),
                layout,
                num_rows,
                model_slot,
            });
        }
        Ok(RequestLog {
            path: path.to_path_buf(),
            files,
            models,
            quality,
            batch_size: batch_size.max(1),
            current: 0,
            reader: None,
            next_row: 0,
            next_file_row: 0,
        })
    }

    /// The log (a file or a folder).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows in the log (from the files' footers).
    pub fn num_rows(&self) -> u64 {
        self.files.iter().map(|f| f.num_rows).sum()
    }

    /// Models that have at least one `<model>|*` column in some file, in order of appearance.
    pub fn models(&self) -> Vec<String> {
        self.models.clone()
    }

    /// Whether `model` has a `<model>|quality` column in some file.
    pub fn has_quality(&self, model: &str) -> bool {
        self.models
            .iter()
            .zip(&self.quality)
            .any(|(m, q)| m == model && *q)
    }

    /// Whether some file of the log has a `category` column.
    pub fn has_category(&self) -> bool {
        self.files.iter().any(|f| f.layout.category.is_some())
    }

    /// Whether some file of the log has an `expected_decision` column.
    pub fn has_expected_decision(&self) -> bool {
        self.files
            .iter()
            .any(|f| f.layout.expected_decision.is_some())
    }

    /// Decodes the next batch of rows; `None` at the end of the last file.
    pub fn next_batch(&mut self) -> Option<Result<LogBatch>> {
        loop {
            let file = self.files.get(self.current)?;
            if self.reader.is_none() {
                let reader = open_reader(&file.path).and_then(|b| {
                    b.with_batch_size(self.batch_size)
                        .build()
                        .map_err(|e| EvalError::parquet(&file.path, e))
                });
                match reader {
                    Ok(r) => self.reader = Some(r),
                    Err(e) => return Some(Err(e)),
                }
                self.next_file_row = 0;
            }
            let next = self.reader.as_mut().expect("opened above").next();
            match next {
                None => {
                    self.reader = None;
                    self.current += 1;
                }
                Some(Err(e)) => return Some(Err(EvalError::parquet(&file.path, e))),
                Some(Ok(batch)) => {
                    let first = self.next_row;
                    let file_first = self.next_file_row;
                    self.next_row += batch.num_rows() as u64;
                    self.next_file_row += batch.num_rows() as u64;
                    return Some(self.decode(&self.files[self.current], &batch, first, file_first));
                }
            }
        }
    }

    /// Decodes one batch of `file`; rows are numbered `first_row..` in the log and
    /// `file_first..` in the file (what errors name).
    fn decode(
        &self,
        file: &LogFile,
        batch: &RecordBatch,
        first_row: u64,
        file_first: u64,
    ) -> Result<LogBatch> {
        let path = file.path.display().to_string();
        let cast_err = |e: arrow::error::ArrowError| EvalError::parquet(&file.path, e);
        let strings = |idx: Option<usize>| -> Result<Option<StringArray>> {
            idx.map(|i| {
                arrow::compute::cast(batch.column(i), &DataType::Utf8)
                    .map(|a| a.as_string::<i32>().clone())
                    .map_err(cast_err)
            })
            .transpose()
        };
        let ids = strings(Some(file.layout.request_id))?.expect("request_id is required");
        let bad = |row: usize, column: &str, message: String| EvalError::BadValue {
            path: path.clone(),
            row: file_first + row as u64,
            column: column.into(),
            message,
        };
        let mut model_cols: Vec<[Option<ArrayRef>; 5]> =
            Vec::with_capacity(file.layout.models.len());
        for m in &file.layout.models {
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
        let n_models = self.models.len();
        let mut outcomes = vec![ModelOutcome::default(); rows * n_models];
        for r in 0..rows {
            if ids.is_null(r) {
                return Err(bad(r, log_schema::REQUEST_ID, "request_id is null".into()));
            }
            let row_outcomes = &mut outcomes[r * n_models..(r + 1) * n_models];
            for ((m, cols), slot) in file
                .layout
                .models
                .iter()
                .zip(&model_cols)
                .zip(&file.model_slot)
            {
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
                row_outcomes[*slot] = ModelOutcome {
                    quality,
                    input_tokens: get_i(&cols[1], r),
                    output_tokens: get_i(&cols[2], r),
                    cost: get_f(&cols[3], r),
                    latency_ms: get_f(&cols[4], r),
                };
            }
        }
        Ok(LogBatch {
            first_row,
            span: RowSpan {
                file: Arc::clone(&file.path),
                first: file_first,
                rows: rows as u64,
            },
            models: n_models,
            prompts: strings(file.layout.prompt)?,
            messages: strings(file.layout.messages)?,
            categories: strings(file.layout.category)?,
            expected: strings(file.layout.expected_decision)?,
            ids,
            outcomes,
        })
    }
}

/// Consecutive rows of one file of a log: `rows` rows from row `first` of `file` (the unit the
/// signal store loads and writes its parts by).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowSpan {
    /// The file.
    pub file: Arc<Path>,
    /// Index of the first row in the file.
    pub first: u64,
    /// Number of rows.
    pub rows: u64,
}

/// One decoded record batch of a request log, checked: the string columns stay Arrow arrays
/// that rows borrow from (no copy or allocation per row), the model outcomes are decoded.
#[derive(Debug, Clone)]
pub struct LogBatch {
    first_row: u64,
    span: RowSpan,
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

    /// The batch's rows in their file.
    pub fn span(&self) -> &RowSpan {
        &self.span
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
