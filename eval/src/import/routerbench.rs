//! RouterBench's wide layout (CSV or Parquet): `sample_id`, `prompt`, `eval_name`, a
//! `<model>` quality column and a `<model>|total_cost` column per model.

use std::path::{Path, PathBuf};

use super::{parse_cost, parse_quality, read_table, Filter, ImportSummary, Output};
use crate::error::{EvalError, Result};
use crate::log_schema::{LogRow, ModelField, ModelOutcome};

/// Suffix of RouterBench's per-model cost column.
pub const ROUTERBENCH_COST_SUFFIX: &str = "|total_cost";
/// RouterBench metadata columns.
const RB_SAMPLE_ID: &str = "sample_id";
const RB_PROMPT: &str = "prompt";
const RB_EVAL_NAME: &str = "eval_name";

pub(super) fn import_routerbench(
    files: &[PathBuf],
    out: &Path,
    filter: &Filter,
) -> Result<ImportSummary> {
    let mut output = Output::new(out, &[ModelField::Quality, ModelField::Cost]);
    let mut summary = ImportSummary::default();
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
        let models = file_models;
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
        let w = output.writer(path, models.clone())?;
        for (i, row) in table.rows.iter().enumerate() {
            let r = i as u64;
            let cell = |c: usize| row.get(c).and_then(|x| x.as_deref());
            if !filter.keep(cell(prompt_col), &mut summary) {
                continue;
            }
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
    output.finish(summary)
}
