//! The export format of a learned model selector (`routelab train --task selection`): the
//! contract between the trainer (burn) and router-core's [`crate::selection`] (candle).
//!
//! ```text
//! <dir>/selector.json          SelectorManifest: method, models, mean costs, embedding model, sizes
//! <dir>/selector.safetensors   the method's tensors, named by the functions below
//! <dir>/training_report.json   data, splits and the test split's metrics
//! <dir>/routing.yaml           a routing config whose decision uses the selector
//! <dir>/validation.parquet     the validation split (early stopping, k, the default threshold;
//!                              what `routelab calibrate` should be given)
//! <dir>/test.parquet           the test split of the log, never seen by training or calibration
//! ```
//!
//! Every method predicts each model's quality in `[0, 1]` from the request's unit-length
//! sentence embedding `x` (dimension `d`), for the `m` models of [`SelectorManifest::models`]:
//!
//! * `knn`: `knn.keys` `[n, d]` (unit-length training embeddings) and `knn.quality` `[n, m]`;
//!   the prediction is the mean quality of the `k` keys with the highest cosine similarity.
//! * `mlp`: `mlp.layers.{i}.weight` `[out, in]` and `.bias` `[out]` (PyTorch `nn.Linear`
//!   layout), ReLU between layers, a sigmoid on the last layer's `m` outputs.
//! * `mf`: RouteLLM-style matrix factorisation: `mf.text_proj.weight` `[r, d]` (`P`),
//!   `mf.model_embedding.weight` `[m, r]` (`V`), `mf.classifier.weight` `[1, r]` (`w`) and
//!   `mf.model_bias` `[m]` (`b`); quality of model `j` is `σ(Σ_i w_i · V_ji · (P x)_i + b_j)`.

use serde::{Deserialize, Serialize};

/// File name of the selector manifest.
pub const SELECTOR_FILE: &str = "selector.json";
/// File name of the selector's tensors.
pub const SELECTOR_WEIGHTS_FILE: &str = "selector.safetensors";
/// File name of the routing config written beside a selector.
pub const SELECTOR_CONFIG_FILE: &str = "routing.yaml";
/// File name of the validation split (a request log).
pub const SELECTOR_VALIDATION_LOG_FILE: &str = "validation.parquet";
/// File name of the held-out test split (a request log).
pub const SELECTOR_TEST_LOG_FILE: &str = "test.parquet";
/// The `format` of a [`SelectorManifest`] this version reads and writes.
pub const SELECTOR_FORMAT: &str = "routelab-selector/v1";

/// How a selector predicts quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SelectorMethod {
    /// k nearest neighbours by cosine similarity.
    Knn,
    /// A multi-layer perceptron.
    Mlp,
    /// Matrix factorisation.
    Mf,
}

impl SelectorMethod {
    /// Every method.
    pub const ALL: [SelectorMethod; 3] =
        [SelectorMethod::Knn, SelectorMethod::Mlp, SelectorMethod::Mf];

    /// Its name (`knn`), as in a decision's `algorithm.type`.
    pub fn as_str(self) -> &'static str {
        match self {
            SelectorMethod::Knn => "knn",
            SelectorMethod::Mlp => "mlp",
            SelectorMethod::Mf => "mf",
        }
    }

    /// The method named `s`, if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl std::fmt::Display for SelectorMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The sentence-embedding model a selector's features come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectorEmbedding {
    /// The model directory's name, for people (`all-MiniLM-L6-v2`).
    pub name: String,
    /// `inference::content_key` of the directory: the router refuses any other model.
    pub content_key: String,
    /// Embedding width `d`.
    pub dim: usize,
}

/// `selector.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectorManifest {
    /// [`SELECTOR_FORMAT`].
    pub format: String,
    /// The method.
    pub method: SelectorMethod,
    /// The models whose quality is predicted, in output order.
    pub models: Vec<String>,
    /// Each model's mean cost on the training split, USD per 1k requests (what a
    /// `cost_weight` multiplies).
    pub mean_cost_per_1k: Vec<f64>,
    /// Where the features come from.
    pub embedding: SelectorEmbedding,
    /// `knn`: neighbours averaged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<usize>,
    /// `mlp`: hidden layer widths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hidden: Vec<usize>,
    /// `mf`: the latent dimension `r`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<usize>,
}

/// `knn.keys`.
pub const KNN_KEYS: &str = "knn.keys";
/// `knn.quality`.
pub const KNN_QUALITY: &str = "knn.quality";
/// `mf.text_proj.weight`.
pub const MF_TEXT_PROJ: &str = "mf.text_proj.weight";
/// `mf.model_embedding.weight`.
pub const MF_MODEL_EMBEDDING: &str = "mf.model_embedding.weight";
/// `mf.classifier.weight`.
pub const MF_CLASSIFIER: &str = "mf.classifier.weight";
/// `mf.model_bias`.
pub const MF_MODEL_BIAS: &str = "mf.model_bias";

/// The prefix of MLP layer `i`'s tensors (`mlp.layers.{i}`; `.weight`, `.bias`).
pub fn mlp_layer(i: usize) -> super::TensorPath {
    super::TensorPath::root("mlp").pp("layers").pp(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable() {
        assert_eq!(mlp_layer(1).weight(), "mlp.layers.1.weight");
        assert_eq!(SelectorMethod::parse("mf"), Some(SelectorMethod::Mf));
        assert_eq!(SelectorMethod::parse("svm"), None);
        let json = serde_json::to_string(&SelectorMethod::Knn).unwrap();
        assert_eq!(json, "\"knn\"");
    }
}
