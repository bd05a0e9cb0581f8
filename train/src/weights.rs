//! Reading HF safetensors weights into host buffers and writing named tensors back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::error::{Result, TrainError};
use crate::lora::tensor_from;

/// An opened safetensors file whose tensors are looked up by name (with an optional prefix).
pub struct WeightFile {
    path: PathBuf,
    bytes: Vec<u8>,
    prefix: String,
}

impl WeightFile {
    /// Reads `path`; tensor names are looked up under `bert.` when the file uses that prefix.
    pub fn open(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
        let mut file = WeightFile {
            path: path.to_path_buf(),
            bytes,
            prefix: String::new(),
        };
        let has_prefix = file
            .tensors()?
            .names()
            .iter()
            .any(|n| n.starts_with("bert.embeddings."));
        if has_prefix {
            file.prefix = "bert.".into();
        }
        Ok(file)
    }

    fn tensors(&self) -> Result<SafeTensors<'_>> {
        SafeTensors::deserialize(&self.bytes).map_err(|e| self.err(format!("not safetensors: {e}")))
    }

    fn err(&self, message: String) -> TrainError {
        TrainError::Weights {
            path: self.path.display().to_string(),
            message,
        }
    }

    /// The values of tensor `name` (f32 row-major), checked against `shape`.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        self.get_exact(&format!("{}{name}", self.prefix), shape)
    }

    /// The values of tensor `full` (no prefix added), checked against `shape`.
    pub fn get_exact(&self, full: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let st = self.tensors()?;
        let view = st
            .tensor(full)
            .map_err(|_| self.err(format!("missing tensor {full}")))?;
        if view.shape() != shape {
            return Err(self.err(format!(
                "tensor {full} has shape {:?}, expected {shape:?}",
                view.shape()
            )));
        }
        if view.dtype() != Dtype::F32 {
            return Err(self.err(format!(
                "tensor {full} has dtype {:?}; only F32 is supported",
                view.dtype()
            )));
        }
        Ok(view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// Tensor `name` as a burn tensor of rank `D`.
    pub fn tensor<const D: usize>(
        &self,
        name: &str,
        shape: [usize; D],
        device: &Device,
    ) -> Result<Tensor<D>> {
        Ok(tensor_from(self.get(name, &shape)?, shape, device))
    }

    /// An HF linear weight `[out, in]` transposed to burn's `[in, out]`.
    pub fn linear_weight(
        &self,
        name: &str,
        d_in: usize,
        d_out: usize,
        device: &Device,
    ) -> Result<Tensor<2>> {
        let hf = self.get(name, &[d_out, d_in])?;
        Ok(tensor_from(
            transpose(&hf, d_out, d_in),
            [d_in, d_out],
            device,
        ))
    }
}

/// Transposes a row-major `[rows, cols]` matrix.
pub fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

/// Named f32 tensors to be written as one safetensors file.
#[derive(Debug, Default)]
pub struct TensorMap {
    tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
}

impl TensorMap {
    /// Adds a tensor from host values.
    pub fn insert(&mut self, name: impl Into<String>, shape: Vec<usize>, values: Vec<f32>) {
        self.tensors.insert(name.into(), (shape, values));
    }

    /// Adds a burn tensor (read back to the host).
    pub fn insert_tensor<const D: usize>(&mut self, name: impl Into<String>, t: Tensor<D>) {
        let shape = t.dims().to_vec();
        let values = to_vec(t);
        self.insert(name, shape, values);
    }

    /// Adds a burn `[in, out]` linear weight as HF `[out, in]`.
    pub fn insert_linear(&mut self, name: impl Into<String>, w: Tensor<2>) {
        let [d_in, d_out] = w.dims();
        self.insert(name, vec![d_out, d_in], transpose(&to_vec(w), d_in, d_out));
    }

    /// The tensor names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.tensors.keys().map(String::as_str).collect()
    }

    /// Looks a tensor up.
    pub fn get(&self, name: &str) -> Option<&(Vec<usize>, Vec<f32>)> {
        self.tensors.get(name)
    }

    /// Serialises to safetensors bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let raw: Vec<(String, Vec<usize>, Vec<u8>)> = self
            .tensors
            .iter()
            .map(|(n, (s, v))| {
                (
                    n.clone(),
                    s.clone(),
                    v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                )
            })
            .collect();
        let views = raw
            .iter()
            .map(|(n, s, b)| {
                TensorView::new(Dtype::F32, s.clone(), b)
                    .map(|v| (n.clone(), v))
                    .map_err(|e| TrainError::Weights {
                        path: n.clone(),
                        message: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        safetensors::serialize(views, None).map_err(|e| TrainError::Weights {
            path: "<memory>".into(),
            message: e.to_string(),
        })
    }
}

/// A burn tensor's values as f32, row-major.
pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("tensor data was converted to f32")
}
