//! Sentence embeddings: masked mean of the last hidden states, L2-normalised.

use std::path::Path;

use super::loaded::{masked_mean, rows, Core, Loaded};
use super::options::InferenceOptions;
use super::source::ModelSource;
use crate::Result;

/// A sentence embedder over any BERT directory (bare `BertModel` names or `bert.*`).
pub struct Embedder {
    core: Core,
}

impl Embedder {
    /// Loads the encoder of a model directory; task heads, if any, are ignored.
    pub fn load(source: &ModelSource, options: &InferenceOptions) -> Result<Self> {
        let l = Loaded::open(source)?;
        Ok(Embedder {
            core: l.core(options)?,
        })
    }

    /// Embedding width.
    pub fn dim(&self) -> usize {
        self.core.encoder.hidden_size()
    }

    /// The model directory.
    pub fn dir(&self) -> &Path {
        &self.core.dir
    }

    /// Unit-length embeddings, one per text.
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.core.runtime.run(|| {
            let encodings = self.core.text.encode(texts, false)?;
            super::tokenize::run_sorted(&encodings, self.core.batch_size, |batch| {
                let (hidden, mask) = self.core.hidden(batch)?;
                let pooled = masked_mean(&hidden, &mask)?;
                let norm = pooled
                    .sqr()?
                    .sum_keepdim(1)?
                    .sqrt()?
                    .clamp(1e-12f32, f32::MAX)?;
                rows(&pooled.broadcast_div(&norm)?)
            })
        })
    }

    /// Unit-length embedding of one text.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>> {
        Ok(self.embed_batch(&[text])?.remove(0))
    }
}

/// Cosine similarity of two vectors (0 when either is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}
