//! The forward passes of the three selector methods (see [`crate::export::selector`] for the
//! tensors and formulas), on the CPU with candle.

use candle_core::{Device, Tensor};

use crate::export::selector::{
    mlp_layer, SelectorManifest, SelectorMethod, KNN_KEYS, KNN_QUALITY, MF_CLASSIFIER,
    MF_MODEL_BIAS, MF_MODEL_EMBEDDING, MF_TEXT_PROJ,
};
use crate::inference::weights::Weights;
use crate::{Error, Result};

/// A loaded selector's parameters.
pub(crate) enum Predictor {
    Knn {
        /// `[n, d]` unit-length training embeddings.
        keys: Tensor,
        /// `[n, m]` qualities, row-major.
        quality: Vec<f32>,
        k: usize,
    },
    Mlp {
        /// `(weight [out, in], bias [out])` per layer.
        layers: Vec<(Tensor, Tensor)>,
    },
    Mf {
        /// `[r, d]`.
        text_proj: Tensor,
        /// `[m, r]` model embeddings, each scaled by the classifier weights.
        scaled_models: Tensor,
        /// `[m]`.
        bias: Tensor,
    },
}

fn invalid(w: &Weights, message: String) -> Error {
    Error::Model {
        path: w.file().display().to_string(),
        message,
    }
}

impl Predictor {
    /// Reads the tensors of `manifest`'s method from `w`, checking every shape.
    pub(crate) fn load(w: &Weights, manifest: &SelectorManifest) -> Result<Self> {
        let (d, m) = (manifest.embedding.dim, manifest.models.len());
        match manifest.method {
            SelectorMethod::Knn => {
                let keys = w.get_any(KNN_KEYS)?;
                let n = match keys.dims() {
                    [n, dd] if *dd == d && *n > 0 => *n,
                    other => {
                        return Err(invalid(
                            w,
                            format!(
                                "tensor `{KNN_KEYS}` has shape {other:?}, expected [n > 0, {d}]"
                            ),
                        ))
                    }
                };
                let quality = w.get(KNN_QUALITY, &[n, m])?.flatten_all()?.to_vec1()?;
                let k = manifest.k.unwrap_or(1).clamp(1, n);
                Ok(Predictor::Knn { keys, quality, k })
            }
            SelectorMethod::Mlp => {
                let mut layers = Vec::new();
                let mut width = d;
                let widths: Vec<usize> = manifest.hidden.iter().copied().chain([m]).collect();
                for (i, &out) in widths.iter().enumerate() {
                    let p = mlp_layer(i);
                    layers.push((
                        w.get(&p.weight(), &[out, width])?,
                        w.get(&p.bias(), &[out])?,
                    ));
                    width = out;
                }
                Ok(Predictor::Mlp { layers })
            }
            SelectorMethod::Mf => {
                let r = manifest
                    .rank
                    .ok_or_else(|| invalid(w, "an mf selector's manifest needs `rank`".into()))?;
                let text_proj = w.get(MF_TEXT_PROJ, &[r, d])?;
                let models = w.get(MF_MODEL_EMBEDDING, &[m, r])?;
                let classifier = w.get(MF_CLASSIFIER, &[1, r])?;
                let bias = w.get(MF_MODEL_BIAS, &[m])?;
                Ok(Predictor::Mf {
                    text_proj,
                    scaled_models: models.broadcast_mul(&classifier)?,
                    bias,
                })
            }
        }
    }

    /// Predicted quality `[b][m]` of the `[b, d]` embeddings `x`.
    pub(crate) fn predict(&self, x: &Tensor) -> Result<Vec<Vec<f32>>> {
        match self {
            Predictor::Knn { keys, quality, k } => {
                let sims: Vec<Vec<f32>> = x.matmul(&keys.t()?)?.to_vec2()?;
                let m = quality.len() / keys.dims()[0];
                Ok(sims.iter().map(|s| knn_mean(s, quality, m, *k)).collect())
            }
            Predictor::Mlp { layers } => {
                let mut h = x.clone();
                for (i, (w, b)) in layers.iter().enumerate() {
                    h = h.matmul(&w.t()?)?.broadcast_add(b)?;
                    if i + 1 < layers.len() {
                        h = h.relu()?;
                    }
                }
                Ok(candle_nn::ops::sigmoid(&h)?.to_vec2()?)
            }
            Predictor::Mf {
                text_proj,
                scaled_models,
                bias,
            } => {
                let p = x.matmul(&text_proj.t()?)?;
                let s = p.matmul(&scaled_models.t()?)?.broadcast_add(bias)?;
                Ok(candle_nn::ops::sigmoid(&s)?.to_vec2()?)
            }
        }
    }
}

/// Mean quality rows of the `k` keys most similar to the query (`sims[i]`: similarity to key
/// `i`; ties keep the lower index).
fn knn_mean(sims: &[f32], quality: &[f32], m: usize, k: usize) -> Vec<f32> {
    let mut idx: Vec<usize> = (0..sims.len()).collect();
    let by_sim = |a: &usize, b: &usize| sims[*b].total_cmp(&sims[*a]).then(a.cmp(b));
    if k < idx.len() {
        idx.select_nth_unstable_by(k - 1, by_sim);
        idx.truncate(k);
    }
    let mut out = vec![0f32; m];
    for &i in &idx {
        for (o, q) in out.iter_mut().zip(&quality[i * m..(i + 1) * m]) {
            *o += q;
        }
    }
    out.iter_mut().for_each(|o| *o /= idx.len() as f32);
    out
}

/// `[b, d]` tensor of `rows` (all of width `d`).
pub(crate) fn batch(rows: &[&[f32]], d: usize) -> Result<Tensor> {
    let mut flat = Vec::with_capacity(rows.len() * d);
    for r in rows {
        if r.len() != d {
            return Err(Error::Model {
                path: "selector".into(),
                message: format!(
                    "embedding of width {} given, the selector reads {d}",
                    r.len()
                ),
            });
        }
        flat.extend_from_slice(r);
    }
    Ok(Tensor::from_vec(flat, (rows.len(), d), &Device::Cpu)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knn_mean_takes_the_k_most_similar() {
        // 4 keys, 2 models: qualities per key.
        let q = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0];
        let sims = [0.9, 0.1, 0.8, 0.95];
        assert_eq!(knn_mean(&sims, &q, 2, 2), vec![0.5, 0.0]); // keys 3 and 0
        assert_eq!(knn_mean(&sims, &q, 2, 3), vec![2.0 / 3.0, 1.0 / 3.0]); // + key 2
        assert_eq!(knn_mean(&sims, &q, 2, 9), vec![0.5, 0.5]);
        // A tie keeps the lower index.
        assert_eq!(knn_mean(&[0.5, 0.5], &[1.0, 0.0], 1, 1), vec![1.0]);
    }
}
