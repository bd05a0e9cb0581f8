//! MT-Bench as RouteLLM and FastChat publish it: a judgement JSONL (one line per model, question
//! and turn: `question_id`, `model`, `judge`, `score` 1-10 from the GPT-4 judge, `turn`) and a
//! question JSONL (`question_id`, `category`, `turns`: the user turns' text).
//!
//! One request per question: `request_id` `mtbench-<question_id>`, `prompt` the first turn,
//! `category` the question's. Quality is turn 1's score mapped from 1-10 to `[0, 1]`
//! (`(score − 1) / 9`); FastChat's `-1` (the judge's answer could not be parsed) is null.
//! Later turns are counted in the summary as not imported. Each file's kind is told by its first
//! line (`turns` = questions, `score` = judgements).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Filter, ImportSummary};
use crate::error::{EvalError, Result};
use crate::log_schema::{LogRow, ModelField, ModelOutcome};
use crate::log_writer::RequestLogWriter;

#[derive(Deserialize)]
struct Question {
    question_id: i64,
    #[serde(default)]
    category: Option<String>,
    turns: Vec<String>,
}

#[derive(Deserialize)]
struct Judgement {
    question_id: i64,
    model: String,
    score: f64,
    turn: i64,
}

fn bad(path: &Path, line: usize, column: &str, message: String) -> EvalError {
    EvalError::BadValue {
        path: path.display().to_string(),
        row: line as u64,
        column: column.into(),
        message,
    }
}

/// The non-empty lines of a file with their 1-based numbers.
fn lines(path: &Path) -> Result<Vec<(usize, String)>> {
    let text = std::fs::read_to_string(path).map_err(|e| EvalError::io(path, e))?;
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect())
}

fn parse<T: serde::de::DeserializeOwned>(
    path: &Path,
    n: usize,
    line: &str,
    what: &str,
) -> Result<T> {
    serde_json::from_str(line)
        .map_err(|e| bad(path, n, what, format!("not an MT-Bench {what} line: {e}")))
}

/// `(score − 1) / 9`, null for `-1`.
fn quality(path: &Path, n: usize, score: f64) -> Result<Option<f64>> {
    if score == -1.0 {
        return Ok(None);
    }
    if !(1.0..=10.0).contains(&score) {
        return Err(bad(
            path,
            n,
            "score",
            format!("score {score} is outside 1-10 (and not -1)"),
        ));
    }
    Ok(Some((score - 1.0) / 9.0))
}

type Scores = BTreeMap<(i64, String), Option<f64>>;

/// Reads every file into questions and turn-1 scores.
fn read_all(
    files: &[PathBuf],
    summary: &mut ImportSummary,
) -> Result<(BTreeMap<i64, Question>, Scores)> {
    let (mut questions, mut scores) = (BTreeMap::new(), Scores::new());
    let mut later_turns = 0u64;
    for path in files {
        let lines = lines(path)?;
        let Some((_, first)) = lines.first() else {
            continue;
        };
        let first: serde_json::Value = parse(path, lines[0].0, first, "JSONL")?;
        if first.get("turns").is_some() {
            for (n, l) in &lines {
                let q: Question = parse(path, *n, l, "question")?;
                if q.turns.is_empty() {
                    return Err(bad(
                        path,
                        *n,
                        "turns",
                        "a question needs at least one turn".into(),
                    ));
                }
                questions.insert(q.question_id, q);
            }
        } else if first.get("score").is_some() {
            for (n, l) in &lines {
                let j: Judgement = parse(path, *n, l, "judgement")?;
                if j.turn != 1 {
                    later_turns += 1;
                    continue;
                }
                let q = quality(path, *n, j.score)?;
                if scores.insert((j.question_id, j.model.clone()), q).is_some() {
                    return Err(bad(
                        path,
                        *n,
                        "model",
                        format!(
                            "a second turn-1 judgement of question {} by {}",
                            j.question_id, j.model
                        ),
                    ));
                }
            }
        } else {
            return Err(bad(
                path,
                lines[0].0,
                "turns / score",
                "neither an MT-Bench question (`turns`) nor a judgement (`score`)".into(),
            ));
        }
    }
    if later_turns > 0 {
        summary
            .not_imported
            .push(format!("{later_turns} judgements of turns after the first"));
    }
    Ok((questions, scores))
}

pub(super) fn import_mtbench(
    files: &[PathBuf],
    out: &Path,
    filter: &Filter,
) -> Result<ImportSummary> {
    let mut summary = ImportSummary::default();
    let (questions, scores) = read_all(files, &mut summary)?;
    if questions.is_empty() || scores.is_empty() {
        return Err(EvalError::Invalid(format!(
            "MT-Bench import needs a question file and a judgement file (found {} questions, {} turn-1 judgements)",
            questions.len(),
            scores.len()
        )));
    }
    if let Some((qid, m)) = scores.keys().find(|(q, _)| !questions.contains_key(q)) {
        return Err(EvalError::Invalid(format!(
            "a judgement of {m} names question {qid}, which no question file has"
        )));
    }
    let models: Vec<String> = scores
        .keys()
        .map(|(_, m)| m.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut w = RequestLogWriter::create(out, &models, &[ModelField::Quality], false)?;
    for (qid, q) in &questions {
        if !filter.keep(Some(&q.turns[0]), &mut summary) {
            continue;
        }
        let outcomes: Vec<ModelOutcome> = models
            .iter()
            .map(|m| ModelOutcome {
                quality: scores.get(&(*qid, m.clone())).copied().flatten(),
                ..Default::default()
            })
            .collect();
        summary.null_quality += outcomes.iter().filter(|o| o.quality.is_none()).count() as u64;
        w.push(LogRow {
            request_id: format!("mtbench-{qid}"),
            prompt: Some(q.turns[0].clone()),
            messages: None,
            category: q.category.clone(),
            expected_decision: None,
            outcomes,
        })?;
        summary.rows += 1;
    }
    w.finish()?;
    summary.models = models;
    Ok(summary)
}
