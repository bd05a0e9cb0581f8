//! Importers from public routing-outcome layouts into the request log (`request-log/v1`).
//!
//! * RouteLLM CSVs: `prompt` plus one column per model holding whether that model answered
//!   correctly (`True`/`False`, `1`/`0` or a float in `[0, 1]`). One file per category
//!   (e.g. `mmlu_anatomy.csv`); the category is the file stem, without a `mmlu_` prefix.
//! * RouterBench's wide layout (CSV or Parquet): `sample_id`, `prompt`, `eval_name`, a
//!   `<model>` quality column and a `<model>|total_cost` column per model. The models are the
//!   names that have a `|total_cost` column; `eval_name` becomes the category.

use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{EvalError, Result};
use crate::log_schema::{LogRow, ModelField, ModelOutcome};
use crate::log_writer::RequestLogWriter;

/// The source layouts [`import`] understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// RouteLLM per-category CSVs.
    RouteLlm,
    /// RouterBench wide layout.
    RouterBench,
}

impl std::str::FromStr for ImportFormat {
    type Err = EvalError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "routellm" => Ok(ImportFormat::RouteLlm),
            "routerbench" => Ok(ImportFormat::RouterBench),
            other => Err(EvalError::Invalid(format!(
                "unknown import format `{other}` (expected `routellm` or `routerbench`)"
            ))),
        }
    }
}

/// What an import produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportSummary {
    /// Rows written.
    pub rows: u64,
    /// Models found, in column order.
    pub models: Vec<String>,
    /// Quality cells that were empty (written as null = unscored).
    pub null_quality: u64,
}

/// Suffix of RouterBench's per-model cost column.
pub const ROUTERBENCH_COST_SUFFIX: &str = "|total_cost";
/// RouterBench metadata columns.
const RB_SAMPLE_ID: &str = "sample_id";
const RB_PROMPT: &str = "prompt";
const RB_EVAL_NAME: &str = "eval_name";

/// Imports `inputs` (files, or directories whose `.csv` / `.parquet` files are taken in name
/// order) in `format` into a request log at `out`.
pub fn import(format: ImportFormat, inputs: &[PathBuf], out: &Path) -> Result<ImportSummary> {
    let files = expand_inputs(inputs)?;
    if files.is_empty() {
        return Err(EvalError::Invalid("no input files to import".into()));
    }
    match format {
        ImportFormat::RouteLlm => import_routellm(&files, out),
        ImportFormat::RouterBench => import_routerbench(&files, out),
    }
}

fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| EvalError::io(p, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    matches!(
                        f.extension().and_then(|e| e.to_str()),
                        Some("csv" | "parquet")
                    )
                })
                .collect();
            inside.sort();
            files.extend(inside);
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

/// Parses a quality cell: empty = `None`; `True`/`False`; or a number in `[0, 1]`.
fn parse_quality(path: &Path, row: u64, column: &str, cell: Option<&str>) -> Result<Option<f64>> {
    let Some(s) = cell.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let v = match s {
        "True" | "true" | "TRUE" => 1.0,
        "False" | "false" | "FALSE" => 0.0,
        _ => s.parse::<f64>().map_err(|_| EvalError::BadValue {
            path: path.display().to_string(),
            row,
            column: column.into(),
            message: format!("expected a boolean or a number in [0, 1], found `{s}`"),
        })?,
    };
    if !(0.0..=1.0).contains(&v) {
        return Err(EvalError::BadValue {
            path: path.display().to_string(),
            row,
            column: column.into(),
            message: format!("quality {v} is outside [0, 1]"),
        });
    }
    Ok(Some(v))
}

fn parse_cost(path: &Path, row: u64, column: &str, cell: Option<&str>) -> Result<Option<f64>> {
    let Some(s) = cell.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let v: f64 = s.parse().map_err(|_| EvalError::BadValue {
        path: path.display().to_string(),
        row,
        column: column.into(),
        message: format!("expected a cost in USD, found `{s}`"),
    })?;
    if v < 0.0 || !v.is_finite() {
        return Err(EvalError::BadValue {
            path: path.display().to_string(),
            row,
            column: column.into(),
            message: format!("cost {v} is negative or not finite"),
        });
    }
    Ok(Some(v))
}

/// A table read as strings: header plus rows of optional cells.
struct StringTable {
    header: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
}

impl StringTable {
    fn column(&self, path: &Path, name: &str, hint: &str) -> Result<usize> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| EvalError::MissingColumn {
                path: path.display().to_string(),
                column: name.into(),
                hint: hint.into(),
            })
    }
}

fn read_csv(path: &Path) -> Result<StringTable> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .map_err(|e| EvalError::Format {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| EvalError::Format {
            path: path.display().to_string(),
            message: e.to_string(),
        })?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| EvalError::Format {
            path: path.display().to_string(),
            message: format!("row {i}: {e}"),
        })?;
        rows.push(
            rec.iter()
                .map(|c| (!c.is_empty()).then(|| c.to_string()))
                .collect(),
        );
    }
    Ok(StringTable { header, rows })
}

fn read_parquet_as_strings(path: &Path) -> Result<StringTable> {
    let file = std::fs::File::open(path).map_err(|e| EvalError::io(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| EvalError::parquet(path, e))?;
    let header: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let reader = builder.build().map_err(|e| EvalError::parquet(path, e))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| EvalError::parquet(path, e))?;
        let cols = batch
            .columns()
            .iter()
            .zip(&header)
            .map(|(c, name)| {
                arrow::compute::cast(c, &DataType::Utf8).map_err(|e| EvalError::ColumnType {
                    path: path.display().to_string(),
                    column: name.clone(),
                    expected: "a string, number or boolean".into(),
                    found: format!("{} ({e})", c.data_type()),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        for r in 0..batch.num_rows() {
            rows.push(
                cols.iter()
                    .map(|c| {
                        let s = c.as_string::<i32>();
                        (!s.is_null(r)).then(|| s.value(r).to_string())
                    })
                    .collect(),
            );
        }
    }
    Ok(StringTable { header, rows })
}

fn read_table(path: &Path) -> Result<StringTable> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("parquet") => read_parquet_as_strings(path),
        _ => read_csv(path),
    }
}

fn routellm_category(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    stem.strip_prefix("mmlu_")
        .map(str::to_string)
        .unwrap_or(stem)
}

fn import_routellm(files: &[PathBuf], out: &Path) -> Result<ImportSummary> {
    let mut models: Option<Vec<String>> = None;
    let mut writer: Option<RequestLogWriter> = None;
    let mut summary = ImportSummary {
        rows: 0,
        models: Vec::new(),
        null_quality: 0,
    };
    for path in files {
        let table = read_table(path)?;
        let prompt_col = table.column(path, "prompt", "RouteLLM CSVs have a `prompt` column")?;
        let file_models: Vec<String> = table
            .header
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != prompt_col)
            .map(|(_, h)| h.clone())
            .collect();
        if file_models.is_empty() {
            return Err(EvalError::MissingColumn {
                path: path.display().to_string(),
                column: "<model>".into(),
                hint: "RouteLLM CSVs need one 0/1 column per model".into(),
            });
        }
        let models = match &models {
            Some(m) if *m != file_models => {
                return Err(EvalError::Invalid(format!(
                    "{}: model columns {file_models:?} differ from {m:?} in the earlier files",
                    path.display()
                )))
            }
            Some(m) => m.clone(),
            None => {
                models = Some(file_models.clone());
                writer = Some(RequestLogWriter::create(
                    out,
                    &file_models,
                    &[ModelField::Quality],
                    false,
                )?);
                file_models
            }
        };
        let model_cols: Vec<usize> = models
            .iter()
            .map(|m| table.column(path, m, "model column"))
            .collect::<Result<_>>()?;
        let category = routellm_category(path);
        let w = writer.as_mut().expect("created with the first file");
        for (i, row) in table.rows.iter().enumerate() {
            let r = i as u64;
            let mut outcomes = Vec::with_capacity(models.len());
            for (m, &c) in models.iter().zip(&model_cols) {
                let quality = parse_quality(path, r, m, row.get(c).and_then(|x| x.as_deref()))?;
                summary.null_quality += u64::from(quality.is_none());
                outcomes.push(ModelOutcome {
                    quality,
                    ..Default::default()
                });
            }
            w.push(LogRow {
                request_id: format!("{category}-{i}"),
                prompt: row.get(prompt_col).cloned().flatten(),
                messages: None,
                category: Some(category.clone()),
                expected_decision: None,
                outcomes,
            })?;
            summary.rows += 1;
        }
    }
    writer.expect("at least one file").finish()?;
    summary.models = models.unwrap_or_default();
    Ok(summary)
}

fn import_routerbench(files: &[PathBuf], out: &Path) -> Result<ImportSummary> {
    let mut models: Option<Vec<String>> = None;
    let mut writer: Option<RequestLogWriter> = None;
    let mut summary = ImportSummary {
        rows: 0,
        models: Vec::new(),
        null_quality: 0,
    };
    for path in files {
        let table = read_table(path)?;
        let prompt_col = table.column(path, RB_PROMPT, "RouterBench rows have a prompt")?;
        let id_col = table.column(path, RB_SAMPLE_ID, "RouterBench rows have a sample_id")?;
        let eval_col = table.header.iter().position(|h| h == RB_EVAL_NAME);
        let file_models: Vec<String> = table
            .header
            .iter()
            .filter_map(|h| h.strip_suffix(ROUTERBENCH_COST_SUFFIX).map(str::to_string))
            .collect();
        if file_models.is_empty() {
            return Err(EvalError::MissingColumn {
                path: path.display().to_string(),
                column: format!("<model>{ROUTERBENCH_COST_SUFFIX}"),
                hint: "RouterBench's wide layout has a cost column per model".into(),
            });
        }
        let models = match &models {
            Some(m) if *m != file_models => {
                return Err(EvalError::Invalid(format!(
                    "{}: models {file_models:?} differ from {m:?} in the earlier files",
                    path.display()
                )))
            }
            Some(m) => m.clone(),
            None => {
                models = Some(file_models.clone());
                writer = Some(RequestLogWriter::create(
                    out,
                    &file_models,
                    &[ModelField::Quality, ModelField::Cost],
                    false,
                )?);
                file_models
            }
        };
        let cols: Vec<(usize, usize)> = models
            .iter()
            .map(|m| {
                Ok((
                    table.column(
                        path,
                        m,
                        "the model's quality column (RouterBench wide layout)",
                    )?,
                    table.column(
                        path,
                        &format!("{m}{ROUTERBENCH_COST_SUFFIX}"),
                        "cost column",
                    )?,
                ))
            })
            .collect::<Result<_>>()?;
        let w = writer.as_mut().expect("created with the first file");
        for (i, row) in table.rows.iter().enumerate() {
            let r = i as u64;
            let cell = |c: usize| row.get(c).and_then(|x| x.as_deref());
            let request_id =
                cell(id_col)
                    .map(str::to_string)
                    .ok_or_else(|| EvalError::BadValue {
                        path: path.display().to_string(),
                        row: r,
                        column: RB_SAMPLE_ID.into(),
                        message: "sample_id is empty".into(),
                    })?;
            let mut outcomes = Vec::with_capacity(models.len());
            for (m, &(qc, cc)) in models.iter().zip(&cols) {
                let quality = parse_quality(path, r, m, cell(qc))?;
                summary.null_quality += u64::from(quality.is_none());
                let cost = parse_cost(path, r, &format!("{m}{ROUTERBENCH_COST_SUFFIX}"), cell(cc))?;
                outcomes.push(ModelOutcome {
                    quality,
                    cost,
                    ..Default::default()
                });
            }
            w.push(LogRow {
                request_id,
                prompt: cell(prompt_col).map(str::to_string),
                messages: None,
                category: eval_col.and_then(cell).map(str::to_string),
                expected_decision: None,
                outcomes,
            })?;
            summary.rows += 1;
        }
    }
    writer.expect("at least one file").finish()?;
    summary.models = models.unwrap_or_default();
    Ok(summary)
}
