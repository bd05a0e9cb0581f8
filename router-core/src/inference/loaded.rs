//! What every model kind loads first: directory, config, weights, tokenizer, encoder, runtime.

use std::path::PathBuf;

use candle_core::{Tensor, D};

use super::bert::BertEncoder;
use super::encoder::Encoder;
use super::options::{InferenceOptions, Runtime, DEFAULT_MAX_LENGTH};
use super::source::ModelSource;
use super::tokenize::{pad_batch, TextEncoder};
use super::weights::{read_config, Weights};
use crate::export::{BertNames, ModelConfig, CONFIG_FILE};
use crate::{Error, Result};

/// A model directory read into memory, before the task head is chosen.
pub(crate) struct Loaded {
    pub dir: PathBuf,
    pub config: ModelConfig,
    pub weights: Weights,
    /// Where the encoder's tensors are (`bert.*` or top level).
    pub names: BertNames,
}

/// The parts shared by every model kind at inference time.
pub(crate) struct Core {
    pub dir: PathBuf,
    pub encoder: Box<dyn Encoder>,
    pub text: TextEncoder,
    pub runtime: Runtime,
    pub batch_size: usize,
}

impl Loaded {
    /// Resolves `source` and reads config and weights.
    pub(crate) fn open(source: &ModelSource) -> Result<Self> {
        let dir = source.resolve()?;
        let config = read_config(&dir)?;
        if config.model_type != "bert" {
            return Err(Error::Model {
                path: dir.join(CONFIG_FILE).display().to_string(),
                message: format!(
                    "model_type {:?} is not supported (only bert)",
                    config.model_type
                ),
            });
        }
        let weights = Weights::load(&dir)?;
        let names = weights.encoder_names();
        Ok(Loaded {
            dir,
            config,
            weights,
            names,
        })
    }

    /// Path of `config.json`, for error messages.
    pub(crate) fn config_path(&self) -> String {
        self.dir.join(CONFIG_FILE).display().to_string()
    }

    /// Builds the encoder, tokenizer and thread pool.
    pub(crate) fn core(&self, options: &InferenceOptions) -> Result<Core> {
        let encoder = BertEncoder::load(&self.weights, &self.config, &self.names)?;
        let max_length = options
            .max_length
            .unwrap_or(DEFAULT_MAX_LENGTH)
            .min(self.config.max_position_embeddings);
        Ok(Core {
            dir: self.dir.clone(),
            encoder: Box::new(encoder),
            text: TextEncoder::load(&self.dir, max_length)?,
            runtime: Runtime::new(options)?,
            batch_size: options.batch_size,
        })
    }
}

impl Core {
    /// Hidden states `(batch, seq, hidden)` and the mask `(batch, seq)` for padded encodings.
    pub(crate) fn hidden(&self, encodings: &[&tokenizers::Encoding]) -> Result<(Tensor, Tensor)> {
        let batch = pad_batch(encodings)?;
        let hidden = self.encoder.forward(&batch.ids, &batch.mask)?;
        Ok((hidden, batch.mask))
    }

    /// Last hidden state of the first (`[CLS]`) token, `(batch, hidden)`.
    pub(crate) fn first_hidden(&self, encodings: &[&tokenizers::Encoding]) -> Result<Tensor> {
        let batch = pad_batch(encodings)?;
        Ok(self.encoder.forward_first(&batch.ids, &batch.mask)?)
    }
}

/// Attention-masked mean over the sequence: `(batch, seq, hidden)` -> `(batch, hidden)`.
pub(crate) fn masked_mean(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let m = mask.unsqueeze(D::Minus1)?;
    let sum = hidden.broadcast_mul(&m)?.sum(1)?;
    let count = m.sum(1)?.clamp(1e-9f32, f32::MAX)?;
    sum.broadcast_div(&count)
}

/// Rows of a `(n, k)` tensor as vectors.
pub(crate) fn rows(t: &Tensor) -> Result<Vec<Vec<f32>>> {
    Ok(t.to_vec2::<f32>()?)
}
