//! Training data: Parquet or JSONL files with `text` + `label` (sequence classification) or
//! `text` + `tags` (token classification, one BIO tag per word-piece, without `[CLS]`/`[SEP]`).

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, ListArray, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use router_core::export::Task;
use serde::Deserialize;

use crate::error::{Result, TrainError};

/// One labelled text.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The text.
    pub text: String,
    /// Its label or tags.
    pub target: Target,
}

/// The supervision of one example.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A class name.
    Label(String),
    /// One BIO tag per word-piece token.
    Tags(Vec<String>),
}

fn data_err(path: &Path, message: String) -> TrainError {
    TrainError::Data {
        path: path.display().to_string(),
        message,
    }
}

/// Reads examples for `task` from a `.parquet` or `.jsonl` file.
pub fn read_examples(path: &Path, task: Task) -> Result<Vec<Example>> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let examples = match ext {
        "parquet" => read_parquet(path, task)?,
        "jsonl" | "json" | "ndjson" => read_jsonl(path, task)?,
        _ => {
            return Err(data_err(
                path,
                "unknown file type (expected .parquet or .jsonl)".into(),
            ))
        }
    };
    if examples.is_empty() {
        return Err(data_err(path, "no rows".into()));
    }
    Ok(examples)
}

#[derive(Deserialize)]
struct JsonRow {
    text: Option<String>,
    label: Option<serde_json::Value>,
    tags: Option<Vec<String>>,
}

fn read_jsonl(path: &Path, task: Task) -> Result<Vec<Example>> {
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row: JsonRow = serde_json::from_str(line)
            .map_err(|e| data_err(path, format!("line {}: invalid JSON: {e}", i + 1)))?;
        let missing = |f: &str| data_err(path, format!("line {}: missing field `{f}`", i + 1));
        let text = row.text.ok_or_else(|| missing("text"))?;
        let target = match task {
            Task::SequenceClassification => {
                Target::Label(match row.label.ok_or_else(|| missing("label"))? {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Number(n) => n.to_string(),
                    serde_json::Value::Bool(b) => b.to_string(),
                    other => {
                        return Err(data_err(
                            path,
                            format!(
                                "line {}: field `label` must be a string or number, got {other}",
                                i + 1
                            ),
                        ))
                    }
                })
            }
            Task::TokenClassification => Target::Tags(row.tags.ok_or_else(|| missing("tags"))?),
        };
        out.push(Example { text, target });
    }
    Ok(out)
}

fn string_column(path: &Path, col: &ArrayRef, name: &str) -> Result<StringArray> {
    let c = cast(col.as_ref(), &DataType::Utf8)
        .map_err(|e| data_err(path, format!("column `{name}` is not text: {e}")))?;
    c.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| data_err(path, format!("column `{name}` is not text")))
}

fn read_parquet(path: &Path, task: Task) -> Result<Vec<Example>> {
    let file = std::fs::File::open(path).map_err(|e| TrainError::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| data_err(path, format!("not a Parquet file: {e}")))?;
    let target_col = match task {
        Task::SequenceClassification => "label",
        Task::TokenClassification => "tags",
    };
    let list_type = DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)));
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| data_err(path, format!("cannot read: {e}")))?;
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .cloned()
                .ok_or_else(|| data_err(path, format!("missing column `{name}`")))
        };
        let texts = string_column(path, &column("text")?, "text")?;
        let target = column(target_col)?;
        let base = out.len();
        match task {
            Task::SequenceClassification => {
                let labels = string_column(path, &target, "label")?;
                for r in 0..batch.num_rows() {
                    if texts.is_null(r) || labels.is_null(r) {
                        return Err(data_err(
                            path,
                            format!("row {}: null text or label", base + r),
                        ));
                    }
                    out.push(Example {
                        text: texts.value(r).to_string(),
                        target: Target::Label(labels.value(r).to_string()),
                    });
                }
            }
            Task::TokenClassification => {
                let lists = cast(target.as_ref(), &list_type).map_err(|e| {
                    data_err(path, format!("column `tags` is not a list of strings: {e}"))
                })?;
                let lists = lists
                    .as_any()
                    .downcast_ref::<ListArray>()
                    .ok_or_else(|| data_err(path, "column `tags` is not a list".into()))?;
                for r in 0..batch.num_rows() {
                    if texts.is_null(r) || lists.is_null(r) {
                        return Err(data_err(
                            path,
                            format!("row {}: null text or tags", base + r),
                        ));
                    }
                    let tags = lists.value(r);
                    let tags = string_column(path, &tags, "tags")?;
                    let tags = (0..tags.len())
                        .map(|i| tags.value(i).to_string())
                        .collect::<Vec<_>>();
                    out.push(Example {
                        text: texts.value(r).to_string(),
                        target: Target::Tags(tags),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// The label set of the examples: sorted class names, or for tags `O` first then the sorted rest.
pub fn collect_labels(examples: &[Example]) -> Vec<String> {
    let mut set = std::collections::BTreeSet::new();
    let mut has_o = false;
    for e in examples {
        match &e.target {
            Target::Label(l) => {
                set.insert(l.clone());
            }
            Target::Tags(t) => {
                for tag in t {
                    if tag == "O" {
                        has_o = true;
                    } else {
                        set.insert(tag.clone());
                    }
                }
            }
        }
    }
    let mut labels: Vec<String> = Vec::new();
    if has_o {
        labels.push("O".into());
    }
    labels.extend(set);
    labels
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let f = std::fs::File::open(path).map_err(|e| TrainError::io(path, e))?;
    router_core::digest::sha256_reader(f).map_err(|e| TrainError::io(path, e))
}
