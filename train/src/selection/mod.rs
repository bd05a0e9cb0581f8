//! Training learned model selectors (`routelab train --task selection`): per-model quality
//! predicted from request embeddings, exported in [`router_core::export::selector`]'s layout.
//!
//! * `knn`: no training; the training split's embeddings and qualities are the selector, and
//!   `k` is chosen on the validation split (lowest mean squared error) unless given.
//! * `mlp`, `mf`: burn models ([`nets`]) trained with Adam on the binary cross-entropy between
//!   the predicted and logged quality (soft targets in `[0, 1]`), early-stopped on the
//!   validation loss; the epoch with the lowest validation loss is kept.

mod knn;
mod nets;

use serde::{Deserialize, Serialize};

use router_core::export::selector::SelectorMethod;

use crate::error::{Result, TrainError};
use crate::weights::TensorMap;

/// Features and targets of a set of requests: `n` rows of `dim` embedding values and `models`
/// qualities, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Embedding width.
    pub dim: usize,
    /// Models per row.
    pub models: usize,
    /// `[n, dim]` unit-length embeddings.
    pub x: Vec<f32>,
    /// `[n, models]` qualities in `[0, 1]`.
    pub y: Vec<f32>,
}

impl Table {
    /// An empty table.
    pub fn new(dim: usize, models: usize) -> Self {
        Table {
            dim,
            models,
            x: Vec::new(),
            y: Vec::new(),
        }
    }

    /// Appends one row.
    pub fn push(&mut self, x: &[f32], y: &[f32]) {
        assert_eq!((x.len(), y.len()), (self.dim, self.models), "row width");
        self.x.extend_from_slice(x);
        self.y.extend_from_slice(y);
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.x.len() / self.dim.max(1)
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Row `i`'s embedding.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.x[i * self.dim..(i + 1) * self.dim]
    }

    /// Row `i`'s qualities.
    pub fn target(&self, i: usize) -> &[f32] {
        &self.y[i * self.models..(i + 1) * self.models]
    }
}

/// Hyper-parameters of a selector run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectionConfig {
    /// The method.
    pub method: SelectorMethod,
    /// `knn`: neighbours (chosen on validation from [`KNN_CANDIDATES`] when `None`).
    pub k: Option<usize>,
    /// `mlp`: hidden widths.
    pub hidden: Vec<usize>,
    /// `mf`: latent dimension.
    pub rank: usize,
    /// `mlp` / `mf`: maximum passes over the training split.
    pub epochs: usize,
    /// `mlp` / `mf`: rows per step.
    pub batch_size: usize,
    /// `mlp` / `mf`: Adam learning rate.
    pub learning_rate: f64,
    /// `mlp` / `mf`: decoupled weight decay.
    pub weight_decay: f64,
    /// `mlp` / `mf`: stop after this many epochs without a lower validation loss.
    pub patience: usize,
    /// Seed of initialisation and shuffling.
    pub seed: u64,
    /// Compute device (`flex`, `cuda`, `rocm`).
    pub device: String,
}

/// The `k` values tried on the validation split when none is given.
pub const KNN_CANDIDATES: [usize; 7] = [1, 5, 10, 20, 50, 100, 200];

impl SelectionConfig {
    /// Defaults for `method`.
    pub fn new(method: SelectorMethod) -> Self {
        SelectionConfig {
            method,
            k: None,
            hidden: vec![128],
            rank: 32,
            epochs: 50,
            batch_size: 64,
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            patience: 5,
            seed: 20240601,
            device: "flex".into(),
        }
    }
}

/// One epoch of a network's training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochLoss {
    /// 1-based.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Validation loss.
    pub validation_loss: f64,
}

/// A fitted selector: its tensors and the sizes its manifest records.
pub struct Fitted {
    /// Tensors named as in [`router_core::export::selector`].
    pub tensors: TensorMap,
    /// `knn`: the `k` used.
    pub k: Option<usize>,
    /// `mlp`: hidden widths.
    pub hidden: Vec<usize>,
    /// `mf`: rank.
    pub rank: Option<usize>,
    /// Per-epoch losses (networks), or per-`k` validation errors (`knn`, as `epoch` = k).
    pub history: Vec<EpochLoss>,
}

/// Fits `cfg.method` on `train`, choosing what the validation split chooses.
pub fn fit(cfg: &SelectionConfig, train: &Table, validation: &Table) -> Result<Fitted> {
    if train.is_empty() || validation.is_empty() {
        return Err(TrainError::Config(format!(
            "selection needs training and validation rows (got {} and {})",
            train.len(),
            validation.len()
        )));
    }
    match cfg.method {
        SelectorMethod::Knn => Ok(knn::fit(cfg.k, train, validation)),
        SelectorMethod::Mlp | SelectorMethod::Mf => nets::fit(cfg, train, validation),
    }
}

/// Writes `selector.json` (from `manifest`, its sizes set from `fitted`) and
/// `selector.safetensors` into the directory `dir`.
pub fn write_selector(
    dir: &std::path::Path,
    fitted: &Fitted,
    mut manifest: router_core::export::selector::SelectorManifest,
) -> Result<()> {
    use router_core::export::selector::{SELECTOR_FILE, SELECTOR_WEIGHTS_FILE};
    manifest.k = fitted.k;
    manifest.hidden = fitted.hidden.clone();
    manifest.rank = fitted.rank;
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| TrainError::Config(format!("cannot serialise the selector manifest: {e}")))?;
    let path = dir.join(SELECTOR_FILE);
    std::fs::write(&path, json).map_err(|e| TrainError::io(&path, e))?;
    let path = dir.join(SELECTOR_WEIGHTS_FILE);
    std::fs::write(&path, fitted.tensors.to_bytes()?).map_err(|e| TrainError::io(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use router_core::export::selector::{SelectorEmbedding, SelectorManifest, SELECTOR_FORMAT};
    use router_core::selection::Selector;

    /// Two clusters of unit vectors in 3-D: near e1 only model 0 answers, near e2 only model 1.
    fn clusters(n: usize, seed: u64) -> Table {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut t = Table::new(3, 2);
        for i in 0..n {
            let a = i % 2 == 0;
            let mut x = if a {
                [1.0f32, 0.0, 0.0]
            } else {
                [0.0, 1.0, 0.0]
            };
            for v in &mut x {
                *v += rng.random_range(-0.2..0.2);
            }
            x[2] = rng.random_range(-0.2..0.2);
            let norm = x.iter().map(|v| v * v).sum::<f32>().sqrt();
            x.iter_mut().for_each(|v| *v /= norm);
            t.push(&x, if a { &[1.0, 0.0] } else { &[0.0, 1.0] });
        }
        t
    }

    fn manifest(method: SelectorMethod) -> SelectorManifest {
        SelectorManifest {
            format: SELECTOR_FORMAT.into(),
            method,
            models: vec!["a".into(), "b".into()],
            mean_cost_per_1k: vec![1.0, 2.0],
            embedding: SelectorEmbedding {
                name: "toy".into(),
                content_key: "toy".into(),
                dim: 3,
            },
            k: None,
            hidden: Vec::new(),
            rank: None,
        }
    }

    /// Fits `method`, exports it, and checks through router-core's reader that every held-out
    /// row's answering model gets the higher predicted quality.
    fn recovers(method: SelectorMethod) -> Vec<Vec<f32>> {
        let (train, val, test) = (clusters(200, 1), clusters(40, 2), clusters(40, 3));
        let mut cfg = SelectionConfig::new(method);
        cfg.epochs = 60;
        cfg.learning_rate = 0.02;
        cfg.rank = 4;
        cfg.hidden = vec![8];
        let fitted = fit(&cfg, &train, &val).unwrap();
        let dir = tempfile::tempdir().unwrap();
        write_selector(dir.path(), &fitted, manifest(method)).unwrap();
        let sel = Selector::load(dir.path(), None).unwrap();
        let rows: Vec<&[f32]> = (0..test.len()).map(|i| test.row(i)).collect();
        let pred = sel.predict(&rows).unwrap();
        for (i, p) in pred.iter().enumerate() {
            let right = if test.target(i)[0] > 0.5 { 0 } else { 1 };
            assert!(
                p[right] > 0.8 && p[1 - right] < 0.2,
                "{method} row {i}: {p:?}"
            );
        }
        pred
    }

    #[test]
    fn knn_recovers_the_answering_model() {
        let p = recovers(SelectorMethod::Knn);
        // Clean clusters: every neighbour agrees.
        assert!(p.iter().all(|r| r.iter().all(|&q| q == 0.0 || q == 1.0)));
    }

    #[test]
    fn mf_recovers_the_answering_model() {
        recovers(SelectorMethod::Mf);
    }

    #[test]
    fn mlp_recovers_the_answering_model() {
        recovers(SelectorMethod::Mlp);
    }

    #[test]
    fn the_export_predicts_what_the_trained_network_predicts() {
        let (train, val) = (clusters(100, 4), clusters(20, 5));
        for method in [SelectorMethod::Mlp, SelectorMethod::Mf] {
            let mut cfg = SelectionConfig::new(method);
            cfg.epochs = 3;
            cfg.hidden = vec![5, 4];
            cfg.rank = 3;
            let (fitted, trained) = nets::fit_keep(&cfg, &train, &val).unwrap();
            let dir = tempfile::tempdir().unwrap();
            write_selector(dir.path(), &fitted, manifest(method)).unwrap();
            let sel = Selector::load(dir.path(), None).unwrap();
            let rows: Vec<&[f32]> = (0..val.len()).map(|i| val.row(i)).collect();
            let exported = sel.predict(&rows).unwrap();
            let trained = nets::predict(&trained, &val);
            for (a, b) in exported.iter().flatten().zip(trained.iter().flatten()) {
                assert!((a - b).abs() < 1e-5, "{method}: {a} vs {b}");
            }
        }
    }
}
