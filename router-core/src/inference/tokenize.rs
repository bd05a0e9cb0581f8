//! Tokenization into padded, masked batches with counted truncation.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use candle_core::{Device, Tensor};
use tokenizers::{Encoding, PostProcessor, Tokenizer, TruncationParams};

use crate::export::TOKENIZER_FILE;
use crate::{Error, Result};

/// A tokenizer set to truncate at `max_length` and not to pad (batches pad themselves).
pub(crate) struct TextEncoder {
    tokenizer: Tokenizer,
    max_length: usize,
    /// Tokens shared by consecutive windows when long inputs are split instead of cut.
    window_overlap: Option<usize>,
    /// Texts cut to `max_length` so far (a replay of many long prompts warns a few times, not per request).
    truncated_total: AtomicU64,
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
            window_overlap: None,
            truncated_total: AtomicU64::new(0),
        })
    }

    /// Stops truncating: [`TextEncoder::encode`] returns whole texts, which
    /// [`TextEncoder::windows`] splits into windows of `max_length` tokens sharing `overlap`.
    pub(crate) fn set_window_overlap(&mut self, overlap: usize) -> Result<()> {
        let specials = self
            .tokenizer
            .get_post_processor()
            .map_or(0, |p| p.added_tokens(false));
        let room = self.max_length.saturating_sub(specials);
        if overlap >= room {
            return Err(Error::Model {
                path: "<options>".into(),
                message: format!(
                    "window overlap {overlap} must be below the {room} text tokens of a \
                     {}-token window",
                    self.max_length
                ),
            });
        }
        self.tokenizer
            .with_truncation(None)
            .map_err(|e| Error::Tokenizer(format!("cannot turn truncation off: {e}")))?;
        self.window_overlap = Some(overlap);
        Ok(())
    }

    /// `enc` as windows of at most `max_length` tokens: each keeps the leading and trailing
    /// special tokens and a run of the text tokens, consecutive runs sharing the configured
    /// overlap (offsets stay those of the whole text). One window when it fits, or when no
    /// overlap was set.
    pub(crate) fn windows<'e>(&self, enc: &'e Encoding) -> impl Iterator<Item = Encoding> + 'e {
        let specials = enc.get_special_tokens_mask();
        let n = enc.len();
        let lead = specials.iter().take_while(|&&s| s == 1).count();
        let trail = specials[lead..]
            .iter()
            .rev()
            .take_while(|&&s| s == 1)
            .count();
        let room = self.max_length.saturating_sub(lead + trail).max(1);
        let body = n - lead - trail;
        // Without windowing (or when the text fits) the one window is the whole encoding.
        let (room, step) = match self.window_overlap.filter(|_| n > self.max_length) {
            Some(overlap) => (room, room.saturating_sub(overlap).max(1)),
            None => (body, body.max(1)),
        };
        let mut next_start = Some(0);
        std::iter::from_fn(move || {
            let start = next_start?;
            let end = (start + room).min(body);
            next_start = (end < body).then_some(start + step);
            let keep: Vec<usize> = (0..lead)
                .chain(lead + start..lead + end)
                .chain(n - trail..n)
                .collect();
            Some(select(enc, &keep))
        })
    }

    /// Maximum tokens per text.
    pub(crate) fn max_length(&self) -> usize {
        self.max_length
    }

    /// Tokenizes `texts` (with special tokens); offsets are in chars when `char_offsets`, else
    /// bytes. Counts the texts cut to `max_length` and logs the running total when it reaches
    /// 1, 2, 4, 8, ... (debug level otherwise).
    pub(crate) fn encode(&self, texts: &[&str], char_offsets: bool) -> Result<Vec<Encoding>> {
        let inputs = texts.to_vec();
        let encodings = if char_offsets {
            self.tokenizer.encode_batch_char_offsets(inputs, true)
        } else {
            self.tokenizer.encode_batch(inputs, true)
        }
        .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let truncated = match self.window_overlap {
            Some(_) => 0,
            None => encodings
                .iter()
                .filter(|e| !e.get_overflowing().is_empty())
                .count(),
        };
        if truncated > 0 {
            let before = self
                .truncated_total
                .fetch_add(truncated as u64, Ordering::Relaxed);
            let after = before + truncated as u64;
            // A new power of two reached: warn; otherwise keep the count at debug level.
            if before == 0 || after.ilog2() > before.ilog2() {
                tracing::warn!(
                    truncated_so_far = after,
                    max_length = self.max_length,
                    "inputs truncated to max_length tokens"
                );
            } else {
                tracing::debug!(truncated_so_far = after, "inputs truncated");
            }
        }
        Ok(encodings)
    }
}

/// The tokens of `enc` at `keep` (in order), as an encoding of its own.
fn select(enc: &Encoding, keep: &[usize]) -> Encoding {
    fn pick<T: Clone>(v: &[T], keep: &[usize]) -> Vec<T> {
        keep.iter().map(|&i| v[i].clone()).collect()
    }
    Encoding::new(
        pick(enc.get_ids(), keep),
        pick(enc.get_type_ids(), keep),
        pick(enc.get_tokens(), keep),
        pick(enc.get_word_ids(), keep),
        pick(enc.get_offsets(), keep),
        pick(enc.get_special_tokens_mask(), keep),
        pick(enc.get_attention_mask(), keep),
        Vec::new(),
        Default::default(),
    )
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
