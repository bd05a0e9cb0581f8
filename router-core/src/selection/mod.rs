//! Learned model selection: a decision whose `algorithm.type` is `knn`, `mlp` or `mf` picks
//! one of its `modelRefs` per request from a selector trained on request logs
//! (`routelab train --task selection`; format in [`crate::export::selector`]).
//!
//! The selector predicts every model's quality from the request's sentence embedding; a
//! [`Rule`] turns the predictions of the decision's candidates into a choice:
//!
//! * [`Rule::CostWeight`] `λ`: the candidate with the highest `quality − λ · cost`, cost in USD
//!   per 1k requests (RouterBench's willingness-to-pay trade-off; `λ = 0` is pure quality);
//! * [`Rule::Threshold`] `t` (two candidates): the more expensive one when its predicted
//!   quality exceeds the cheaper one's by at least `t` (RouteLLM's threshold on the strong
//!   model's predicted win).
//!
//! The seed (`pkg/modelselection/selector.go`, `KNNSelector.Select`) lets its selectors pick
//! any model in their file and falls back to the first modelRef when the pick is not a
//! candidate; routelab only ever compares the decision's candidates, and refuses (at load) a
//! candidate the selector has no prediction for.
//!
//! The seed's other selection algorithms whose outcome follows from the request, the config
//! and latency observations are here too: [`router_dc`], [`multi_factor`] and
//! [`latency_aware`], reading the model cards and [`stats::ModelStats`].

pub mod latency_aware;
pub mod multi_factor;
mod predictor;
pub mod router_dc;
pub mod stats;

use std::path::{Path, PathBuf};

use crate::export::selector::{
    SelectorManifest, SELECTOR_FILE, SELECTOR_FORMAT, SELECTOR_WEIGHTS_FILE,
};
use crate::inference::weights::Weights;
use crate::{Error, Result};
use predictor::Predictor;

/// A loaded selector.
pub struct Selector {
    dir: PathBuf,
    manifest: SelectorManifest,
    predictor: Predictor,
}

fn model_error(path: &Path, message: String) -> Error {
    Error::Model {
        path: path.display().to_string(),
        message,
    }
}

impl Selector {
    /// Loads the selector exported in `dir`; `k` overrides a kNN selector's neighbour count.
    pub fn load(dir: &Path, k: Option<usize>) -> Result<Self> {
        let path = dir.join(SELECTOR_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| model_error(&path, format!("cannot read: {e}")))?;
        let mut manifest: SelectorManifest = serde_json::from_str(&text)
            .map_err(|e| model_error(&path, format!("invalid selector manifest: {e}")))?;
        if manifest.format != SELECTOR_FORMAT {
            return Err(model_error(
                &path,
                format!(
                    "format {:?}, this routelab reads {SELECTOR_FORMAT:?}",
                    manifest.format
                ),
            ));
        }
        if manifest.models.is_empty() || manifest.mean_cost_per_1k.len() != manifest.models.len() {
            return Err(model_error(
                &path,
                "`models` must be non-empty and `mean_cost_per_1k` have one value per model".into(),
            ));
        }
        if k.is_some() {
            manifest.k = k;
        }
        let weights = Weights::load_file(dir.join(SELECTOR_WEIGHTS_FILE))?;
        let predictor = Predictor::load(&weights, &manifest)?;
        Ok(Selector {
            dir: dir.to_path_buf(),
            manifest,
            predictor,
        })
    }

    /// The directory it was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its manifest (`k` as overridden).
    pub fn manifest(&self) -> &SelectorManifest {
        &self.manifest
    }

    /// Predicted quality of every model of the manifest, per embedding.
    pub fn predict(&self, embeddings: &[&[f32]]) -> Result<Vec<Vec<f32>>> {
        if embeddings.is_empty() {
            return Ok(Vec::new());
        }
        let x = predictor::batch(embeddings, self.manifest.embedding.dim)?;
        self.predictor.predict(&x)
    }
}

/// What a selection algorithm chose among a decision's modelRefs.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// Index of the chosen modelRef.
    pub index: usize,
    /// Each modelRef's score as the algorithm reports it (`None`: not scored).
    pub scores: Vec<Option<f32>>,
    /// The algorithm's confidence in its choice.
    pub confidence: f32,
    /// Why, in words (the seed's `Reasoning`).
    pub reason: String,
}

/// How predicted qualities become a choice (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// Highest `quality − λ · cost per 1k requests`.
    CostWeight(f64),
    /// Two candidates: the expensive one when its predicted quality gain is at least `t`.
    Threshold(f64),
}

/// A decision's candidates as a selector sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidates {
    /// Output index in the selector of each candidate, in modelRefs order.
    outputs: Vec<usize>,
    /// Each candidate's mean cost, USD per 1k requests.
    cost: Vec<f64>,
    rule: Rule,
}

impl Candidates {
    /// The candidates `models` (modelRefs order) of `selector` under `rule`; the message
    /// names what does not fit.
    pub fn new(
        selector: &SelectorManifest,
        models: &[&str],
        rule: Rule,
    ) -> std::result::Result<Self, String> {
        let mut outputs = Vec::with_capacity(models.len());
        for m in models {
            let i = selector.models.iter().position(|s| s == m).ok_or_else(|| {
                format!(
                    "modelRef {m:?} has no prediction in the selector (it predicts {:?})",
                    selector.models
                )
            })?;
            outputs.push(i);
        }
        if outputs.is_empty() {
            return Err("a learned selection needs at least one modelRef".into());
        }
        if matches!(rule, Rule::Threshold(_)) && outputs.len() != 2 {
            return Err(format!(
                "`threshold` compares two models; this decision has {} modelRefs (use `cost_weight`)",
                outputs.len()
            ));
        }
        let cost = outputs
            .iter()
            .map(|&i| selector.mean_cost_per_1k[i])
            .collect();
        Ok(Candidates {
            outputs,
            cost,
            rule,
        })
    }

    /// The predictions of the candidates alone, in modelRefs order.
    pub fn of_candidates(&self, predicted: &[f32]) -> Vec<f32> {
        self.outputs.iter().map(|&i| predicted[i]).collect()
    }

    /// The rule.
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// This decision's candidates under another rule.
    pub fn with_rule(&self, rule: Rule) -> Candidates {
        Candidates {
            rule,
            ..self.clone()
        }
    }

    /// Each candidate's mean cost, USD per 1k requests, in modelRefs order.
    pub fn costs(&self) -> &[f64] {
        &self.cost
    }

    /// The chosen candidate (index into modelRefs) for one request's predicted qualities of
    /// the candidates (modelRefs order, [`Candidates::of_candidates`]). Ties go to the
    /// cheaper candidate, then the earlier one.
    pub fn choose(&self, predicted: &[f32]) -> usize {
        match self.rule {
            Rule::Threshold(t) => {
                let (weak, strong) = self.weak_strong();
                if self.gain(predicted) >= t {
                    strong
                } else {
                    weak
                }
            }
            Rule::CostWeight(l) => {
                let score = |c: usize| predicted[c] as f64 - l * self.cost[c];
                (0..self.outputs.len())
                    .reduce(|best, c| {
                        let (sb, sc) = (score(best), score(c));
                        if sc > sb || (sc == sb && self.cost[c] < self.cost[best]) {
                            c
                        } else {
                            best
                        }
                    })
                    .unwrap_or(0)
            }
        }
    }

    /// With two candidates: `(weak, strong)` modelRef indices, strong = the more expensive
    /// (the second on equal cost).
    pub fn weak_strong(&self) -> (usize, usize) {
        if self.cost.len() == 2 && self.cost[0] > self.cost[1] {
            (1, 0)
        } else {
            (0, 1.min(self.cost.len() - 1))
        }
    }

    /// Predicted quality of the strong candidate minus the weak one's (candidates' predictions
    /// as in [`Candidates::choose`]); `Rule::Threshold(t)` routes strong when this is ≥ t.
    pub fn gain(&self, predicted: &[f32]) -> f64 {
        let (weak, strong) = self.weak_strong();
        predicted[strong] as f64 - predicted[weak] as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::selector::{SelectorEmbedding, SelectorMethod};

    fn manifest() -> SelectorManifest {
        SelectorManifest {
            format: SELECTOR_FORMAT.into(),
            method: SelectorMethod::Knn,
            models: vec!["big".into(), "small".into(), "mid".into()],
            mean_cost_per_1k: vec![10.0, 1.0, 4.0],
            embedding: SelectorEmbedding {
                name: "e".into(),
                content_key: "k".into(),
                dim: 2,
            },
            k: Some(1),
            hidden: vec![],
            rank: None,
        }
    }

    #[test]
    fn cost_weight_trades_quality_for_cost() {
        let m = manifest();
        // Per selector output (big, small, mid), then per candidate (small, mid, big).
        let c = |l| Candidates::new(&m, &["small", "mid", "big"], Rule::CostWeight(l)).unwrap();
        let pred = c(0.0).of_candidates(&[0.9, 0.6, 0.8]);
        assert_eq!(pred, vec![0.6, 0.8, 0.9]);
        // λ = 0: best quality (big, modelRef 2).
        assert_eq!(c(0.0).choose(&pred), 2);
        // λ = 0.02: big 0.9-0.2 = 0.70, mid 0.8-0.08 = 0.72, small 0.6-0.02 = 0.58.
        assert_eq!(c(0.02).choose(&pred), 1);
        // λ = 0.1: small 0.5, mid 0.4, big -0.1.
        assert_eq!(c(0.1).choose(&pred), 0);
        // A tie goes to the cheaper candidate (values exact in binary): λ = 0.125 gives
        // small 0.5 - 0.125 = 0.375, mid 0.875 - 0.5 = 0.375, big 0.875 - 1.25.
        let tie = [0.875, 0.5, 0.875];
        assert_eq!(c(0.125).choose(&c(0.0).of_candidates(&tie)), 0);
        let reversed = Candidates::new(&m, &["mid", "small"], Rule::CostWeight(0.125)).unwrap();
        assert_eq!(reversed.choose(&reversed.of_candidates(&tie)), 1);
        assert_eq!(
            reversed
                .with_rule(Rule::CostWeight(0.0))
                .choose(&[0.875, 0.5]),
            0
        );
    }

    #[test]
    fn threshold_routes_strong_on_predicted_gain() {
        let m = manifest();
        let c = Candidates::new(&m, &["big", "small"], Rule::Threshold(0.2)).unwrap();
        assert_eq!(c.weak_strong(), (1, 0));
        assert!((c.gain(&[0.9, 0.6]) - 0.3).abs() < 1e-6);
        assert_eq!(c.choose(&[0.9, 0.6]), 0);
        assert_eq!(c.choose(&[0.7, 0.6]), 1);
        let three = Candidates::new(&m, &["big", "small", "mid"], Rule::Threshold(0.2));
        assert!(three.unwrap_err().contains("two models"));
        let unknown = Candidates::new(&m, &["huge"], Rule::CostWeight(0.0));
        assert!(unknown.unwrap_err().contains("\"huge\""));
    }
}
