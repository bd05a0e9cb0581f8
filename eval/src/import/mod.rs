//! Importers from public routing-outcome layouts into the request log (`request-log/v1`).
//!
//! * RouteLLM CSVs ([`routellm`]): `prompt` plus one column per model holding whether that model
//!   answered correctly (`True`/`False`, `1`/`0` or a float in `[0, 1]`). One file per category
//!   (e.g. `mmlu_anatomy.csv`); the category is the file stem, without a `mmlu_` prefix.
//! * RouterBench's wide layout ([`routerbench`]).
//! * MT-Bench ([`mtbench`]): FastChat's judgement JSONL and question JSONL.
//!
//! Every importer can drop the prompts a contaminated-prompts JSONL lists ([`contaminated`]).

pub mod contaminated;
pub mod mtbench;
pub mod routellm;
pub mod routerbench;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{EvalError, Result};
use crate::log_schema::ModelField;
use crate::log_writer::RequestLogWriter;

pub use routerbench::ROUTERBENCH_COST_SUFFIX;

/// The source layouts [`import`] understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// RouteLLM per-category CSVs.
    RouteLlm,
    /// RouterBench wide layout.
    RouterBench,
    /// MT-Bench judgements and questions (JSONL).
    MtBench,
}

impl std::str::FromStr for ImportFormat {
    type Err = EvalError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "routellm" => Ok(ImportFormat::RouteLlm),
            "routerbench" => Ok(ImportFormat::RouterBench),
            "mtbench" => Ok(ImportFormat::MtBench),
            other => Err(EvalError::Invalid(format!(
                "unknown import format `{other}` (expected `routellm`, `routerbench` or `mtbench`)"
            ))),
        }
    }
}

/// What an import produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportSummary {
    /// Rows written.
    pub rows: u64,
    /// Models found, in column order.
    pub models: Vec<String>,
    /// Quality cells that were empty (written as null = unscored).
    pub null_quality: u64,
    /// Rows dropped because their prompt is listed as contaminated.
    pub contaminated: u64,
    /// Source columns or fields that were not imported (e.g. RouteLLM's `<model>_response`).
    pub not_imported: Vec<String>,
}

/// Which rows an import keeps.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Prompts to drop.
    pub contaminated: HashSet<String>,
}

impl Filter {
    /// Whether `prompt` is kept; counts a drop in `summary`.
    pub fn keep(&self, prompt: Option<&str>, summary: &mut ImportSummary) -> bool {
        let drop = prompt.is_some_and(|p| self.contaminated.contains(p));
        summary.contaminated += u64::from(drop);
        !drop
    }
}

/// The log an import writes: created with the first file's models; every later file must
/// have the same models.
struct Output<'a> {
    out: &'a Path,
    fields: &'static [ModelField],
    open: Option<(Vec<String>, RequestLogWriter)>,
}

impl<'a> Output<'a> {
    fn new(out: &'a Path, fields: &'static [ModelField]) -> Self {
        Output {
            out,
            fields,
            open: None,
        }
    }

    /// The writer for the file at `path`, whose models are `models`.
    fn writer(&mut self, path: &Path, models: Vec<String>) -> Result<&mut RequestLogWriter> {
        if let Some((m, _)) = &self.open {
            if *m != models {
                return Err(EvalError::Invalid(format!(
                    "{}: models {models:?} differ from {m:?} in the earlier files",
                    path.display()
                )));
            }
        } else {
            let w = RequestLogWriter::create(self.out, &models, self.fields, false)?;
            self.open = Some((models, w));
        }
        Ok(&mut self.open.as_mut().expect("opened above").1)
    }

    /// Finishes the log and records its models in `summary`.
    fn finish(self, mut summary: ImportSummary) -> Result<ImportSummary> {
        let (models, w) = self
            .open
            .ok_or_else(|| EvalError::Invalid("no input files to import".into()))?;
        w.finish()?;
        summary.models = models;
        Ok(summary)
    }
}

/// Imports `inputs` (files, or directories whose `.csv` / `.parquet` / `.jsonl` files are
/// taken in name order) in `format` into a request log at `out`, keeping the rows `filter`
/// keeps.
pub fn import(
    format: ImportFormat,
    inputs: &[PathBuf],
    out: &Path,
    filter: &Filter,
) -> Result<ImportSummary> {
    let files = expand_inputs(inputs)?;
    if files.is_empty() {
        return Err(EvalError::Invalid("no input files to import".into()));
    }
    match format {
        ImportFormat::RouteLlm => routellm::import_routellm(&files, out, filter),
        ImportFormat::RouterBench => routerbench::import_routerbench(&files, out, filter),
        ImportFormat::MtBench => mtbench::import_mtbench(&files, out, filter),
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
                        Some("csv" | "parquet" | "jsonl")
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
