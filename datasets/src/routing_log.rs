//! The real RouteLLM MMLU outcomes converted to routelab's request log
//! (`eval::log_schema`, `request-log/v1`).
//!
//! One row per CSV row (after dropping the prompts listed in `contaminated_prompts.jsonl`):
//! `request_id` = `mmlu/<subject>/<row index in the CSV, 4 digits>`, `prompt` = the CSV prompt
//! (question, options and `Answer:`), `category` = the MMLU-Pro category of the subject,
//! `expected_decision` null, and per model:
//! - `quality`: 1.0 / 0.0 from the CSV (`True` / `False`: whether the model answered correctly);
//! - `input_tokens`: the prompt's length in cl100k_base tokens (GPT-4's tokenizer, embedded in
//!   tiktoken-rs). Mixtral's own SentencePiece tokenizer is not available offline, so the
//!   same count is used for Mixtral (an approximation; its 32k vocabulary typically needs
//!   somewhat more tokens for English text);
//! - `output_tokens`: [`ASSUMED_OUTPUT_TOKENS`] (the answer is one letter, one token in
//!   cl100k_base; the real completions were not logged);
//! - `cost`: `input_tokens * input price + output_tokens * output price` with the litellm
//!   prices in [`PRICES`];
//! - `latency_ms`: null (not logged; replay falls back to the config's latency profile).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use eval::log_schema::{self, ModelField};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::hashing::stable_hash;
use crate::manifest::InputRecord;
use crate::mmlu::category_of;

/// Output tokens assumed per answer (one answer letter).
pub const ASSUMED_OUTPUT_TOKENS: i64 = 1;

/// A model's price as pinned from litellm's table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelPrice {
    /// Model name as in the RouteLLM CSV header (and in the log's column names).
    pub model: &'static str,
    /// Key in litellm's `model_prices_and_context_window_backup.json`.
    pub litellm_key: &'static str,
    /// USD per input token.
    pub input_cost_per_token: f64,
    /// USD per output token.
    pub output_cost_per_token: f64,
}

/// Path of the price table inside the litellm wheel.
pub const LITELLM_PRICES_PATH: &str = "litellm/model_prices_and_context_window_backup.json";

/// Prices of the two RouteLLM models, pinned from litellm 1.80.0's
/// `model_prices_and_context_window_backup.json` (full builds download the wheel and check
/// them with [`verify_prices`]; sample builds use them as pinned). For Mixtral the Together AI entry is used: it is
/// the table's entry for exactly `mistralai/Mixtral-8x7B-Instruct-v0.1`, served unquantised
/// by a hosted API (other hosted entries range from 0.07 to 1.0 USD per million tokens).
pub const PRICES: [ModelPrice; 2] = [
    ModelPrice {
        model: "gpt-4-1106-preview",
        litellm_key: "gpt-4-1106-preview",
        input_cost_per_token: 1e-5,
        output_cost_per_token: 3e-5,
    },
    ModelPrice {
        model: "mistralai/Mixtral-8x7B-Instruct-v0.1",
        litellm_key: "together_ai/mistralai/Mixtral-8x7B-Instruct-v0.1",
        input_cost_per_token: 6e-7,
        output_cost_per_token: 6e-7,
    },
];

#[derive(Deserialize)]
struct LitellmEntry {
    input_cost_per_token: Option<f64>,
    output_cost_per_token: Option<f64>,
}

/// Checks [`PRICES`] against litellm's price table (the JSON text).
pub fn verify_prices(json: &str) -> Result<()> {
    let table: BTreeMap<String, serde_json::Value> = serde_json::from_str(json)
        .map_err(|e| Error::bad_input(LITELLM_PRICES_PATH, "whole file", e.to_string()))?;
    for p in PRICES {
        let value = table.get(p.litellm_key).ok_or_else(|| {
            Error::bad_input(
                LITELLM_PRICES_PATH,
                p.litellm_key,
                "model missing from the table",
            )
        })?;
        let entry: LitellmEntry = serde_json::from_value(value.clone())
            .map_err(|e| Error::bad_input(LITELLM_PRICES_PATH, p.litellm_key, e.to_string()))?;
        let check = |field: &str, got: Option<f64>, pinned: f64| {
            if got != Some(pinned) {
                return Err(Error::bad_input(
                    LITELLM_PRICES_PATH,
                    format!("{}, field {field}", p.litellm_key),
                    format!("table says {got:?}, routelab pins {pinned}"),
                ));
            }
            Ok(())
        };
        check(
            "input_cost_per_token",
            entry.input_cost_per_token,
            p.input_cost_per_token,
        )?;
        check(
            "output_cost_per_token",
            entry.output_cost_per_token,
            p.output_cost_per_token,
        )?;
    }
    Ok(())
}

/// One request of the log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRow {
    /// `mmlu/<subject>/<row>`.
    pub request_id: String,
    /// Subject (underscore form).
    pub subject: String,
    /// Prompt text.
    pub prompt: String,
    /// MMLU-Pro category.
    pub category: &'static str,
    /// Quality per model, in [`PRICES`] order.
    pub quality: [f64; 2],
    /// cl100k_base tokens of the prompt.
    pub input_tokens: i64,
}

/// What the reader dropped and read.
#[derive(Debug, Clone, Default)]
pub struct LogInputs {
    /// Checksums of every file read (names relative to the repository root).
    pub records: Vec<InputRecord>,
    /// Rows dropped as contaminated.
    pub contaminated: usize,
}

/// Reads the 57 CSVs of `dir` (`mmlu_<subject>.csv`) and drops the contaminated prompts.
/// Token counts are filled in by [`count_tokens`].
pub fn read_routellm_dir(dir: &Path) -> Result<(Vec<LogRow>, LogInputs)> {
    let label = |name: &str| format!("datasets/third_party/routellm-mmlu/{name}");
    let mut inputs = LogInputs::default();
    let contaminated_path = dir.join("contaminated_prompts.jsonl");
    let text = std::fs::read_to_string(&contaminated_path)
        .map_err(|e| Error::io("reading", &contaminated_path, e))?;
    inputs.records.push(InputRecord::new(
        label("contaminated_prompts.jsonl"),
        text.as_bytes(),
    ));
    let drop: HashSet<String> =
        eval::import::contaminated::parse(&label("contaminated_prompts.jsonl"), &text)
            .map_err(|e| Error::bad_input("contaminated_prompts.jsonl", "file", e.to_string()))?;
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io("listing", dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("mmlu_") && n.ends_with(".csv"))
        .collect();
    files.sort();
    if files.len() != 57 {
        return Err(Error::bad_input(
            dir.display().to_string(),
            "directory",
            format!(
                "expected 57 mmlu_<subject>.csv files, found {}",
                files.len()
            ),
        ));
    }
    let mut rows = Vec::new();
    for name in &files {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(|e| Error::io("reading", &path, e))?;
        inputs.records.push(InputRecord::new(label(name), &bytes));
        let subject = name["mmlu_".len()..name.len() - ".csv".len()].to_string();
        let category = category_of(&subject).ok_or_else(|| {
            Error::bad_input(
                name.as_str(),
                "file name",
                format!("unknown MMLU subject {subject:?}"),
            )
        })?;
        let mut reader = csv::ReaderBuilder::new().from_reader(bytes.as_slice());
        let headers = reader
            .headers()
            .map_err(|e| Error::bad_input(name.as_str(), "header", e.to_string()))?
            .clone();
        let col = |want: &str| {
            headers.iter().position(|h| h == want).ok_or_else(|| {
                Error::bad_input(name.as_str(), "header", format!("missing column {want:?}"))
            })
        };
        let prompt_col = col(log_schema::PROMPT)?;
        let model_cols = [col(PRICES[0].model)?, col(PRICES[1].model)?];
        for (i, rec) in reader.records().enumerate() {
            let loc = format!("row {}", i + 2);
            let rec = rec.map_err(|e| Error::bad_input(name.as_str(), &loc, e.to_string()))?;
            let prompt = rec.get(prompt_col).unwrap_or_default().to_string();
            if drop.contains(&prompt) {
                inputs.contaminated += 1;
                continue;
            }
            let mut quality = [0.0; 2];
            for (k, &c) in model_cols.iter().enumerate() {
                quality[k] = match rec.get(c).unwrap_or_default() {
                    "True" => 1.0,
                    "False" => 0.0,
                    other => {
                        return Err(Error::bad_input(
                            name.as_str(),
                            format!("{loc}, field {}", PRICES[k].model),
                            format!("expected True or False, got {other:?}"),
                        ))
                    }
                };
            }
            rows.push(LogRow {
                request_id: format!("mmlu/{subject}/{i:04}"),
                subject: subject.clone(),
                prompt,
                category,
                quality,
                input_tokens: 0,
            });
        }
    }
    rows.sort_by(|a, b| a.request_id.cmp(&b.request_id));
    Ok((rows, inputs))
}

/// Fills `input_tokens` with cl100k_base counts.
pub fn count_tokens(rows: &mut [LogRow], progress: &indicatif::ProgressBar) -> Result<()> {
    let bpe = tiktoken_rs::cl100k_base().map_err(|e| Error::Tokenizer {
        path: "tiktoken-rs:cl100k_base".into(),
        message: e.to_string(),
    })?;
    for row in rows.iter_mut() {
        row.input_tokens = bpe.encode_ordinary(&row.prompt).len() as i64;
        progress.inc(1);
    }
    Ok(())
}

/// A sample of about `fraction_percent` % of each subject's rows (seeded, stable).
pub fn sample_rows(rows: &[LogRow], seed: u64, fraction_percent: u64) -> Vec<LogRow> {
    rows.iter()
        .filter(|r| stable_hash(seed, r.request_id.as_bytes()) % 100 < fraction_percent)
        .cloned()
        .collect()
}

/// The log's Arrow schema (models in [`PRICES`] order, sorted by name).
pub fn schema() -> Schema {
    let mut fields = vec![
        Field::new(log_schema::REQUEST_ID, DataType::Utf8, false),
        Field::new(log_schema::PROMPT, DataType::Utf8, true),
        Field::new(log_schema::CATEGORY, DataType::Utf8, true),
        Field::new(log_schema::EXPECTED_DECISION, DataType::Utf8, true),
    ];
    for p in PRICES {
        for f in ModelField::ALL {
            let dt = if f.is_integer() {
                DataType::Int64
            } else {
                DataType::Float64
            };
            fields.push(Field::new(log_schema::model_column(p.model, f), dt, true));
        }
    }
    let metadata: std::collections::HashMap<String, String> = [(
        log_schema::SCHEMA_METADATA_KEY.to_string(),
        log_schema::SCHEMA_VERSION.to_string(),
    )]
    .into_iter()
    .collect();
    Schema::new_with_metadata(fields, metadata)
}

/// Builds the batch (rows in the given order).
pub fn to_batch(rows: &[LogRow]) -> Result<RecordBatch> {
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.request_id.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.prompt.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.category),
        )),
        Arc::new(StringArray::new_null(rows.len())),
    ];
    for (k, p) in PRICES.iter().enumerate() {
        for f in ModelField::ALL {
            let col: ArrayRef = match f {
                ModelField::Quality => Arc::new(Float64Array::from_iter_values(
                    rows.iter().map(|r| r.quality[k]),
                )),
                ModelField::InputTokens => Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|r| r.input_tokens),
                )),
                ModelField::OutputTokens => Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|_| ASSUMED_OUTPUT_TOKENS),
                )),
                ModelField::Cost => {
                    Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| {
                        r.input_tokens as f64 * p.input_cost_per_token
                            + ASSUMED_OUTPUT_TOKENS as f64 * p.output_cost_per_token
                    })))
                }
                ModelField::LatencyMs => Arc::new(Float64Array::new_null(rows.len())),
            };
            columns.push(col);
        }
    }
    RecordBatch::try_new(Arc::new(schema()), columns).map_err(|e| Error::Parquet {
        path: "<in memory>".into(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_verify_against_a_table_and_mismatches_are_named() {
        let ok = r#"{"gpt-4-1106-preview": {"input_cost_per_token": 1e-05, "output_cost_per_token": 3e-05},
                     "together_ai/mistralai/Mixtral-8x7B-Instruct-v0.1": {"input_cost_per_token": 6e-07, "output_cost_per_token": 6e-07},
                     "sample_spec": {"max_tokens": "x"}}"#;
        verify_prices(ok).unwrap();
        let bad = ok.replace("3e-05", "4e-05");
        let err = verify_prices(&bad).unwrap_err().to_string();
        assert!(
            err.contains("gpt-4-1106-preview") && err.contains("output_cost_per_token"),
            "{err}"
        );
    }

    #[test]
    fn batch_uses_the_log_schema_and_prices() {
        let row = LogRow {
            request_id: "mmlu/anatomy/0000".into(),
            subject: "anatomy".into(),
            prompt: "What?".into(),
            category: "health",
            quality: [1.0, 0.0],
            input_tokens: 100,
        };
        let batch = to_batch(&[row]).unwrap();
        let schema = batch.schema();
        assert_eq!(
            schema
                .metadata()
                .get(log_schema::SCHEMA_METADATA_KEY)
                .map(String::as_str),
            Some(log_schema::SCHEMA_VERSION)
        );
        let idx = schema.index_of("gpt-4-1106-preview|cost").unwrap();
        let cost = batch
            .column(idx)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        // 100 * 1e-5 + 1 * 3e-5
        assert!((cost.value(0) - 0.00103).abs() < 1e-12);
        let idx = schema
            .index_of("mistralai/Mixtral-8x7B-Instruct-v0.1|quality")
            .unwrap();
        let q = batch
            .column(idx)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert_eq!(q.value(0), 0.0);
        assert_eq!(batch.num_columns(), 4 + 2 * 5);
    }
}
