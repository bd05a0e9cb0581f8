//! Character spans -> BIO tags on the word pieces of a `tokenizers` tokenizer.

use std::path::{Path, PathBuf};

use tokenizers::Tokenizer;

use crate::error::{Error, Result};
use crate::pii::templates::Span;

/// The tag of tokens outside every entity.
pub const OUTSIDE: &str = "O";

/// A tokenizer loaded from a `tokenizer.json`, with truncation and padding switched off.
pub struct PieceTokenizer {
    path: PathBuf,
    inner: Tokenizer,
}

/// Word pieces of a text with their char offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pieces {
    /// Token strings (no `[CLS]`/`[SEP]`).
    pub tokens: Vec<String>,
    /// `(start, end)` char offsets of each token in the text.
    pub offsets: Vec<(usize, usize)>,
}

impl PieceTokenizer {
    /// Loads `tokenizer.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let mut inner = Tokenizer::from_file(path).map_err(|e| Error::Tokenizer {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        inner.with_truncation(None).map_err(|e| Error::Tokenizer {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        inner.with_padding(None);
        Ok(PieceTokenizer {
            path: path.to_path_buf(),
            inner,
        })
    }

    /// Tokenises without special tokens, with char offsets.
    pub fn pieces(&self, text: &str) -> Result<Pieces> {
        let enc = self
            .inner
            .encode_char_offsets(text, false)
            .map_err(|e| Error::Tokenizer {
                path: self.path.clone(),
                message: format!("encoding {text:?}: {e}"),
            })?;
        Ok(Pieces {
            tokens: enc.get_tokens().to_vec(),
            offsets: enc.get_offsets().to_vec(),
        })
    }
}

/// BIO tags for tokens at `offsets`: a token overlapping span `s` is tagged `B-<label>` when
/// it is the first such token of `s`, else `I-<label>`; other tokens are `O`.
/// Also returns how many tagged tokens stick out of their span (0 for word-piece tokenizers
/// whose pre-tokenizer splits at the entity boundaries).
pub fn bio_tags(offsets: &[(usize, usize)], spans: &[Span]) -> (Vec<String>, usize) {
    let mut tags = vec![OUTSIDE.to_string(); offsets.len()];
    let mut partial = 0;
    for span in spans {
        let mut first = true;
        for (i, &(s, e)) in offsets.iter().enumerate() {
            if e <= span.start || s >= span.end || s == e {
                continue;
            }
            if s < span.start || e > span.end {
                partial += 1;
            }
            let prefix = if first { "B" } else { "I" };
            tags[i] = format!("{prefix}-{}", span.label);
            first = false;
        }
    }
    (tags, partial)
}

/// Spans re-derived from BIO tags (for checks): `(first token, last token + 1, label)`.
pub fn tag_runs(tags: &[String]) -> Vec<(usize, usize, String)> {
    let mut runs: Vec<(usize, usize, String)> = Vec::new();
    for (i, t) in tags.iter().enumerate() {
        if let Some(label) = t.strip_prefix("B-") {
            runs.push((i, i + 1, label.to_string()));
        } else if let Some(label) = t.strip_prefix("I-") {
            match runs.last_mut() {
                Some(run) if run.1 == i && run.2 == label => run.1 = i + 1,
                _ => runs.push((i, i + 1, label.to_string())),
            }
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: usize, end: usize, label: &str) -> Span {
        Span {
            start,
            end,
            label: label.to_string(),
        }
    }

    #[test]
    fn tags_follow_spans() {
        // "call anna lind at 555" with pieces call|anna|lind|at|55|##5
        let offsets = [(0, 4), (5, 9), (10, 14), (15, 17), (18, 20), (20, 21)];
        let spans = [span(5, 14, "PERSON"), span(18, 21, "PHONE_NUMBER")];
        let (tags, partial) = bio_tags(&offsets, &spans);
        assert_eq!(
            tags,
            [
                "O",
                "B-PERSON",
                "I-PERSON",
                "O",
                "B-PHONE_NUMBER",
                "I-PHONE_NUMBER"
            ]
        );
        assert_eq!(partial, 0);
        assert_eq!(
            tag_runs(&tags),
            vec![
                (1, 3, "PERSON".to_string()),
                (4, 6, "PHONE_NUMBER".to_string())
            ]
        );
        // a token reaching outside the span is counted
        let (_, partial) = bio_tags(&[(3, 7)], &[span(5, 9, "PERSON")]);
        assert_eq!(partial, 1);
    }
}
