//! RouteLLM's contaminated-prompts JSONL: one object per line whose `train_prompt` and
//! `eval_prompt` are prompts to drop (an evaluation prompt found in a training set, and its
//! match there).

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use crate::error::{EvalError, Result};

#[derive(Deserialize)]
struct Line {
    train_prompt: String,
    eval_prompt: String,
}

/// The prompts `text` (the file's content) lists; `path` names the file in errors.
pub fn parse(path: &str, text: &str) -> Result<HashSet<String>> {
    let mut out = HashSet::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let l: Line = serde_json::from_str(line).map_err(|e| EvalError::BadValue {
            path: path.to_string(),
            row: i as u64 + 1,
            column: "train_prompt / eval_prompt".into(),
            message: format!("not a contaminated-prompt line: {e}"),
        })?;
        out.insert(l.train_prompt);
        out.insert(l.eval_prompt);
    }
    Ok(out)
}

/// The prompts the file at `path` lists.
pub fn read(path: &Path) -> Result<HashSet<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| EvalError::io(path, e))?;
    parse(&path.display().to_string(), &text)
}
