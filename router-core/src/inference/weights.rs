//! Reading a model directory: config, safetensors weights (with tensor-naming errors) and tokenizer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};

use crate::export::{BertNames, ModelConfig, TensorPath, CONFIG_FILE, WEIGHTS_FILE};
use crate::{Error, Result};

/// Reads and parses `config.json`.
pub(crate) fn read_config(dir: &Path) -> Result<ModelConfig> {
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::Model {
        path: path.display().to_string(),
        message: format!("cannot read: {e}"),
    })?;
    serde_json::from_str(&text).map_err(|e| Error::Model {
        path: path.display().to_string(),
        message: format!("invalid model config: {e}"),
    })
}

/// The tensors of `model.safetensors`, looked up by name with shape checks.
pub(crate) struct Weights {
    file: PathBuf,
    tensors: HashMap<String, Tensor>,
}

impl Weights {
    /// Loads every tensor of `<dir>/model.safetensors` onto the CPU.
    pub(crate) fn load(dir: &Path) -> Result<Self> {
        Self::load_file(dir.join(WEIGHTS_FILE))
    }

    /// Loads every tensor of the safetensors file `file` onto the CPU.
    pub(crate) fn load_file(file: PathBuf) -> Result<Self> {
        let bytes = std::fs::read(&file).map_err(|e| Error::Model {
            path: file.display().to_string(),
            message: format!("cannot read: {e}"),
        })?;
        let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).map_err(|e| {
            Error::Model {
                path: file.display().to_string(),
                message: format!("not a valid safetensors file: {e}"),
            }
        })?;
        Ok(Weights { file, tensors })
    }

    /// The file the tensors came from.
    pub(crate) fn file(&self) -> &Path {
        &self.file
    }

    /// Whether a tensor exists.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// The encoder's names: under `bert.` when the tensors carry the task-model prefix, at the
    /// top level for a bare encoder.
    pub(crate) fn encoder_names(&self) -> BertNames {
        let task = BertNames::task_model();
        if self.contains(&task.word_embeddings()) {
            task
        } else {
            BertNames::new("")
        }
    }

    /// The tensor `name` as f32, checked to have `shape`.
    pub(crate) fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let t = self.tensors.get(name).ok_or_else(|| Error::Model {
            path: self.file.display().to_string(),
            message: format!("missing tensor `{name}`"),
        })?;
        if t.dims() != shape {
            return Err(Error::Model {
                path: self.file.display().to_string(),
                message: format!(
                    "tensor `{name}` has shape {:?}, expected {shape:?}",
                    t.dims()
                ),
            });
        }
        self.to_f32(name, t)
    }

    /// The tensor `name` as f32 with any shape (for heads whose size the weights decide).
    pub(crate) fn get_any(&self, name: &str) -> Result<Tensor> {
        let t = self.tensors.get(name).ok_or_else(|| Error::Model {
            path: self.file.display().to_string(),
            message: format!("missing tensor `{name}`"),
        })?;
        self.to_f32(name, t)
    }

    fn to_f32(&self, name: &str, t: &Tensor) -> Result<Tensor> {
        t.to_dtype(DType::F32).map_err(|e| Error::Model {
            path: self.file.display().to_string(),
            message: format!("tensor `{name}`: cannot convert to f32: {e}"),
        })
    }

    /// A `Linear` layer from `<path>.weight` (`[out, in]`) and `<path>.bias` (`[out]`).
    pub(crate) fn linear(
        &self,
        path: &TensorPath,
        d_in: usize,
        d_out: usize,
    ) -> Result<candle_nn::Linear> {
        let w = self.get(&path.weight(), &[d_out, d_in])?;
        let b = self.get(&path.bias(), &[d_out])?;
        Ok(candle_nn::Linear::new(w, Some(b)))
    }

    /// A `LayerNorm` from `<path>.weight` and `<path>.bias` of size `d`.
    pub(crate) fn layer_norm(
        &self,
        path: &TensorPath,
        d: usize,
        eps: f64,
    ) -> Result<candle_nn::LayerNorm> {
        let w = self.get(&path.weight(), &[d])?;
        let b = self.get(&path.bias(), &[d])?;
        Ok(candle_nn::LayerNorm::new(w, b, eps))
    }
}
