//! RouteLLM's per-category CSVs: `prompt` plus one correctness column per model; columns named
//! `<model>_response` beside a `<model>` column (RouteLLM's `gsm8k_responses.csv`) hold the
//! model's answer text and are not imported.

use std::path::{Path, PathBuf};

use super::{parse_quality, read_table, Filter, ImportSummary, Output};
use crate::error::{EvalError, Result};
use crate::log_schema::{LogRow, ModelField, ModelOutcome};

/// Suffix of RouteLLM's response-text columns.
pub const RESPONSE_SUFFIX: &str = "_response";

fn routellm_category(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    stem.strip_prefix("mmlu_")
        .map(str::to_string)
        .unwrap_or(stem)
}

pub(super) fn import_routellm(
    files: &[PathBuf],
    out: &Path,
    filter: &Filter,
) -> Result<ImportSummary> {
    let mut output = Output::new(out, &[ModelField::Quality]);
    let mut summary = ImportSummary::default();
    for path in files {
        let table = read_table(path)?;
        let prompt_col = table.column(path, "prompt", "RouteLLM CSVs have a `prompt` column")?;
        let is_response = |h: &str| {
            h.strip_suffix(RESPONSE_SUFFIX)
                .is_some_and(|m| table.header.iter().any(|x| x == m))
        };
        let file_models: Vec<String> = table
            .header
            .iter()
            .enumerate()
            .filter(|(i, h)| *i != prompt_col && !is_response(h))
            .map(|(_, h)| h.clone())
            .collect();
        for h in table.header.iter().filter(|h| is_response(h)) {
            if !summary.not_imported.contains(h) {
                summary.not_imported.push(h.clone());
            }
        }
        if file_models.is_empty() {
            return Err(EvalError::MissingColumn {
                path: path.display().to_string(),
                column: "<model>".into(),
                hint: "RouteLLM CSVs need one 0/1 column per model".into(),
            });
        }
        let models = file_models;
        let model_cols: Vec<usize> = models
            .iter()
            .map(|m| table.column(path, m, "model column"))
            .collect::<Result<_>>()?;
        let category = routellm_category(path);
        let w = output.writer(path, models.clone())?;
        for (i, row) in table.rows.iter().enumerate() {
            let r = i as u64;
            if !filter.keep(row.get(prompt_col).and_then(|p| p.as_deref()), &mut summary) {
                continue;
            }
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
    output.finish(summary)
}
