//! `global.router.model_selection`: the seed's settings of its learned selectors, as routelab
//! reads them (`pkg/config/selection_config.go`, `MLSelectionConfig`). A decision names the
//! method in `algorithm: {type: knn}`; the method's block here says where its selector is.

use serde::{Deserialize, Serialize};

use crate::export::selector::SelectorMethod;
use crate::selection::Rule;

/// `global.router`: routelab reads `model_selection` and the auto aliases.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GlobalRouter {
    /// The model names that route with the default recipe (absent: the seed's three; present,
    /// even empty, the complete list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_model_names: Option<Vec<String>>,
    /// Learned model selection.
    #[serde(default)]
    pub model_selection: ModelSelection,
}

/// `global.router.model_selection`: routelab reads `ml` and `router_dc`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelSelection {
    /// The `router_dc` settings every decision of that type starts from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router_dc: Option<super::RouterDcSettings>,
    /// The learned selectors.
    #[serde(default)]
    pub ml: MlSelection,
}

/// `global.router.model_selection.ml`: one block per method (`mf` is a routelab addition).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MlSelection {
    /// Embedding width the selectors read (checked against each selector).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_dim: Option<usize>,
    /// The kNN selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knn: Option<MlSelector>,
    /// The MLP selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlp: Option<MlSelector>,
    /// The matrix-factorisation selector (routelab).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mf: Option<MlSelector>,
}

impl MlSelection {
    /// The block of `method`.
    pub fn get(&self, method: SelectorMethod) -> Option<&MlSelector> {
        match method {
            SelectorMethod::Knn => self.knn.as_ref(),
            SelectorMethod::Mlp => self.mlp.as_ref(),
            SelectorMethod::Mf => self.mf.as_ref(),
        }
    }
}

/// One method's block. The seed's `pretrained_path` names its own JSON file; routelab's names a
/// `routelab train --task selection` export directory. `cost_weight`, `threshold` and
/// `calibration` are routelab additions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MlSelector {
    /// kNN: neighbours averaged (overrides the export's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<usize>,
    /// The selector export directory, relative to the config file's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretrained_path: Option<String>,
    /// `λ` of `quality − λ · cost per 1k requests` (default 0: best predicted quality).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_weight: Option<f64>,
    /// Two candidates: route to the expensive one when its predicted quality gain is ≥ this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// How `routelab calibrate` set `cost_weight` or `threshold` (provenance only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
}

impl MlSelector {
    /// The choice rule; `Err` when both `cost_weight` and `threshold` are set.
    pub fn rule(&self) -> Result<Rule, String> {
        match (self.cost_weight, self.threshold) {
            (Some(_), Some(_)) => Err("set `cost_weight` or `threshold`, not both".into()),
            (_, Some(t)) => Ok(Rule::Threshold(t)),
            (l, None) => Ok(Rule::CostWeight(l.unwrap_or(0.0))),
        }
    }
}

/// Where a calibrated value came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The log it was calibrated on.
    pub log: String,
    /// sha256 of that log's file(s).
    pub log_sha256: String,
    /// Requests of the log used.
    pub requests: u64,
    /// The target, e.g. `strong_share=0.5`.
    pub target: String,
    /// The value the calibrated setting achieves on that log.
    pub achieved: f64,
    /// The calibrated setting (`threshold` or `cost_weight`) and its value.
    pub set: String,
}
