//! Tokenisation of examples into padded id/mask/label batches.

use std::path::Path;

use burn::tensor::{Device, Int, Tensor, TensorData};
use tokenizers::Tokenizer;

use crate::data::{Example, Target};
use crate::error::{Result, TrainError};

/// Label id for positions the loss and metrics skip (special tokens, padding), as in HF.
pub const IGNORE_INDEX: i64 = -100;

/// One tokenised example.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// `[CLS] tokens… [SEP]`.
    pub ids: Vec<u32>,
    /// Sequence: one label id. Token: one per position, [`IGNORE_INDEX`] on `[CLS]`/`[SEP]`.
    pub labels: Vec<i64>,
}

/// The base model's tokenizer plus the ids of its special tokens.
pub struct Encoder {
    tokenizer: Tokenizer,
    cls: u32,
    sep: u32,
    max_len: usize,
}

impl Encoder {
    /// Loads `tokenizer.json`; sequences are truncated to `max_len` tokens including specials.
    pub fn new(path: &Path, max_len: usize) -> Result<Self> {
        let tokenizer = Tokenizer::from_file(path)
            .map_err(|e| TrainError::Tokenizer(format!("{}: {e}", path.display())))?;
        Self::from_tokenizer(tokenizer, max_len)
    }

    /// Wraps an already built tokenizer.
    pub fn from_tokenizer(mut tokenizer: Tokenizer, max_len: usize) -> Result<Self> {
        // Padding and truncation are done here, per batch; a tokenizer.json may configure both.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| TrainError::Tokenizer(e.to_string()))?;
        let id = |t: &str| {
            tokenizer
                .token_to_id(t)
                .ok_or_else(|| TrainError::Tokenizer(format!("vocabulary has no {t} token")))
        };
        if max_len < 3 {
            return Err(TrainError::Config(format!(
                "max_length {max_len} is below 3"
            )));
        }
        Ok(Encoder {
            cls: id("[CLS]")?,
            sep: id("[SEP]")?,
            tokenizer,
            max_len,
        })
    }

    /// Word-piece ids of `text` without special tokens.
    pub fn pieces(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| TrainError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Encodes examples; `labels` maps names to ids. Errors name `file` and the row.
    pub fn encode_all(
        &self,
        examples: &[Example],
        labels: &[String],
        file: &Path,
    ) -> Result<Vec<Encoded>> {
        let lookup = |name: &str, row: usize| -> Result<i64> {
            labels
                .iter()
                .position(|l| l == name)
                .map(|i| i as i64)
                .ok_or_else(|| TrainError::Data {
                    path: file.display().to_string(),
                    message: format!(
                        "row {row}: unknown label {name:?} (labels: {})",
                        labels.join(", ")
                    ),
                })
        };
        examples
            .iter()
            .enumerate()
            .map(|(row, ex)| {
                let mut pieces = self.pieces(&ex.text)?;
                let keep = self.max_len - 2;
                let labels = match &ex.target {
                    Target::Label(l) => vec![lookup(l, row)?],
                    Target::Tags(tags) => {
                        if tags.len() != pieces.len() {
                            return Err(TrainError::Data {
                                path: file.display().to_string(),
                                message: format!(
                                    "row {row}: {} tags for {} word-piece tokens",
                                    tags.len(),
                                    pieces.len()
                                ),
                            });
                        }
                        let mut out = vec![IGNORE_INDEX];
                        for t in tags.iter().take(keep) {
                            out.push(lookup(t, row)?);
                        }
                        out.push(IGNORE_INDEX);
                        out
                    }
                };
                pieces.truncate(keep);
                let mut ids = Vec::with_capacity(pieces.len() + 2);
                ids.push(self.cls);
                ids.extend(pieces);
                ids.push(self.sep);
                Ok(Encoded { ids, labels })
            })
            .collect()
    }
}

/// A padded batch on a device.
pub struct Batch {
    /// Token ids `[b, s]`.
    pub ids: Tensor<2, Int>,
    /// Attention mask `[b, s]`, 1.0 for tokens, 0.0 for padding.
    pub mask: Tensor<2>,
    /// Label ids: `[b]` for sequences or `[b * s]` for tokens ([`IGNORE_INDEX`] on padding).
    pub labels: Vec<i64>,
    /// Sequence length `s`.
    pub seq_len: usize,
}

/// Pads `items` to their longest length (pad id 0) and moves them to `device`.
pub fn make_batch(items: &[&Encoded], token_level: bool, device: &Device) -> Batch {
    let s = items.iter().map(|e| e.ids.len()).max().unwrap_or(1);
    let b = items.len();
    let mut ids = vec![0i64; b * s];
    let mut mask = vec![0f32; b * s];
    let mut labels = Vec::with_capacity(if token_level { b * s } else { b });
    for (i, e) in items.iter().enumerate() {
        for (j, &id) in e.ids.iter().enumerate() {
            ids[i * s + j] = id as i64;
            mask[i * s + j] = 1.0;
        }
        if token_level {
            labels.extend(e.labels.iter().copied());
            labels.extend(std::iter::repeat_n(IGNORE_INDEX, s - e.labels.len()));
        } else {
            labels.push(e.labels[0]);
        }
    }
    Batch {
        ids: Tensor::from_data(TensorData::new(ids, [b, s]), device),
        mask: Tensor::from_data(TensorData::new(mask, [b, s]), device),
        labels,
        seq_len: s,
    }
}
