//! Tokenization into padded, masked batches with counted truncation.

use std::path::Path;

use candle_core::{Device, Tensor};
use tokenizers::{Encoding, Tokenizer, TruncationParams};

use crate::export::TOKENIZER_FILE;
use crate::{Error, Result};

/// A tokenizer set to truncate at `max_length` and not to pad (batches pad themselves).
pub(crate) struct TextEncoder {
    tokenizer: Tokenizer,
    max_length: usize,
}

/// Token ids and mask of a batch padded to its longest member.
pub(crate) struct Batch {
    /// `(batch, seq)` u32 ids, padding id 0.
    pub ids: Tensor,
    /// `(batch, seq)` f32, 1 for real tokens.
    pub mask: Tensor,
}

impl TextEncoder {
    /// Loads `<dir>/tokenizer.json`, replacing its padding/truncation settings.
    pub(crate) fn load(dir: &Path, max_length: usize) -> Result<Self> {
        let path = dir.join(TOKENIZER_FILE);
        let mut tokenizer = Tokenizer::from_file(&path).map_err(|e| Error::Model {
            path: path.display().to_string(),
            message: format!("invalid tokenizer: {e}"),
        })?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length,
                ..Default::default()
            }))
            .map_err(|e| Error::Model {
                path: path.display().to_string(),
                message: format!("cannot set truncation to {max_length}: {e}"),
            })?;
        Ok(TextEncoder {
            tokenizer,
            max_length,
        })
    }

    /// Maximum tokens per text.
    pub(crate) fn max_length(&self) -> usize {
        self.max_length
    }

    /// Tokenizes `texts` (with special tokens); offsets are in chars when `char_offsets`, else
    /// bytes. Logs a warning with the count of texts cut to `max_length`.
    pub(crate) fn encode(&self, texts: &[&str], char_offsets: bool) -> Result<Vec<Encoding>> {
        let inputs = texts.to_vec();
        let encodings = if char_offsets {
            self.tokenizer.encode_batch_char_offsets(inputs, true)
        } else {
            self.tokenizer.encode_batch(inputs, true)
        }
        .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let truncated = encodings
            .iter()
            .filter(|e| !e.get_overflowing().is_empty())
            .count();
        if truncated > 0 {
            tracing::warn!(
                truncated,
                total = texts.len(),
                max_length = self.max_length,
                "inputs truncated to max_length tokens"
            );
        }
        Ok(encodings)
    }
}

/// Pads `encodings` to the longest one and builds ids and mask tensors.
pub(crate) fn pad_batch(encodings: &[&Encoding]) -> Result<Batch> {
    let seq = encodings.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
    let b = encodings.len();
    let mut ids = vec![0u32; b * seq];
    let mut mask = vec![0f32; b * seq];
    for (row, enc) in encodings.iter().enumerate() {
        for (j, &id) in enc.get_ids().iter().enumerate() {
            ids[row * seq + j] = id;
            mask[row * seq + j] = 1.0;
        }
    }
    Ok(Batch {
        ids: Tensor::from_vec(ids, (b, seq), &Device::Cpu)?,
        mask: Tensor::from_vec(mask, (b, seq), &Device::Cpu)?,
    })
}

/// Runs `f` over `encodings` in batches of up to `batch_size`, grouping texts of similar length
/// to limit padding, and returns the results in input order.
pub(crate) fn run_sorted<T>(
    encodings: &[Encoding],
    batch_size: usize,
    mut f: impl FnMut(&[&Encoding]) -> Result<Vec<T>>,
) -> Result<Vec<T>> {
    let mut order: Vec<usize> = (0..encodings.len()).collect();
    order.sort_by_key(|&i| encodings[i].len());
    let mut out: Vec<Option<T>> = (0..encodings.len()).map(|_| None).collect();
    for chunk in order.chunks(batch_size.max(1)) {
        let batch: Vec<&Encoding> = chunk.iter().map(|&i| &encodings[i]).collect();
        let results = f(&batch)?;
        for (&i, r) in chunk.iter().zip(results) {
            out[i] = Some(r);
        }
    }
    Ok(out.into_iter().flatten().collect())
}
