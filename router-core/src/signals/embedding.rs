//! Embedding-similarity signal, scored as the seed scores it (`pkg/classification/
//! embedding_classifier_scoring.go`, `prototype_scoring.go`, `findAllMatchedRules`).
//!
//! Each rule's candidates are embedded once, when the signal is built, and reduced to
//! prototypes ([`prototypes::prototypes`]). Per request the last user message (sampled to at most
//! 2,048 characters, [`super::text_window`]) is embedded and
//! every rule scored over its prototypes ([`prototypes::score`]). Rules whose score reaches
//! their `threshold` match; when none does and soft matching is on (the default), every rule
//! scoring at least `embedding_config.min_score_threshold` (0.5) matches instead. Confidence =
//! the score clamped to `[0, 1]`; evidence names the most similar prototype.

use std::collections::BTreeSet;

use super::prototypes::{self, dot, Settings};
use super::{measured_parts, Signal, SignalKind, SignalMatch, SignalResults, SignalValue};
use crate::config::{Aggregation, EmbeddingOutput, EmbeddingRule};
use crate::inference::{Embedder, Stored};
use crate::request::RouteRequest;
use crate::Result;

struct Rule {
    name: String,
    threshold: f32,
    aggregation: Aggregation,
    top_k: Option<usize>,
    /// The prototypes' texts and unit vectors.
    texts: Vec<String>,
    vectors: Vec<Vec<f32>>,
    /// The parts of its score projections read ([`PARTS`]), with their keys.
    measured: Vec<(usize, String)>,
}

/// The parts of a rule's score reported as values: `embedding:<rule>` is the score (the seed's
/// `recordEmbeddingResult`).
const PARTS: [&str; 4] = ["", "best", "support", "prototype_count"];

/// Compiled embedding rules over one embedder.
pub struct EmbeddingSignal {
    model: Stored<Embedder>,
    rules: Vec<Rule>,
    settings: Settings,
    /// `None`: soft matching off.
    soft_threshold: Option<f32>,
}

impl EmbeddingSignal {
    /// Builds the rules named in `used` (all when `None`; the engine passes every rule, see
    /// `RouterConfig::used_signals`), embedding all candidates in one pass.
    pub fn new(
        model: impl Into<Stored<Embedder>>,
        rules: &[EmbeddingRule],
        used: Option<&BTreeSet<String>>,
        output: &EmbeddingOutput,
    ) -> Result<Self> {
        let model = model.into();
        let settings = Settings::of(&output.prototype_scoring);
        let selected: Vec<&EmbeddingRule> = rules
            .iter()
            .filter(|r| used.is_none_or(|u| u.contains(&r.name)))
            .collect();
        let all: Vec<&str> = selected
            .iter()
            .flat_map(|r| r.candidates.iter().map(String::as_str))
            .collect();
        // Candidates are embedded by the model itself: the store keeps request outputs only.
        let mut vectors = Embedder::embed_batch(&model, &all)?.into_iter();
        let rules = selected
            .into_iter()
            .map(|r| {
                let v: Vec<Vec<f32>> = vectors.by_ref().take(r.candidates.len()).collect();
                let keep = prototypes::prototypes(&r.candidates, &v, &settings);
                Rule {
                    name: r.name.clone(),
                    threshold: r.threshold,
                    aggregation: r.aggregation_method,
                    top_k: r.top_k,
                    texts: keep.iter().map(|&i| r.candidates[i].clone()).collect(),
                    vectors: keep.iter().map(|&i| v[i].clone()).collect(),
                    measured: Vec::new(),
                }
            })
            .collect();
        let soft_threshold = output.enable_soft_matching.unwrap_or(true).then(|| {
            output
                .min_score_threshold
                .filter(|t| *t > 0.0)
                .unwrap_or(0.5)
        });
        Ok(EmbeddingSignal {
            model,
            rules,
            settings,
            soft_threshold,
        })
    }

    /// Reports the parts of each rule's score whose keys are in `wanted`, for every request,
    /// matched or not: `embedding:<rule>` (the score), `:best`, `:support`, `:prototype_count`.
    pub fn measuring(mut self, wanted: &BTreeSet<String>) -> Self {
        for r in &mut self.rules {
            r.measured = measured_parts(wanted, SignalKind::Embedding, &r.name, &PARTS);
        }
        self
    }
}

impl Signal for EmbeddingSignal {
    fn kind(&self) -> SignalKind {
        SignalKind::Embedding
    }

    fn evaluate(&self, request: &RouteRequest) -> Result<Vec<SignalMatch>> {
        Ok(self.evaluate_batch(&[request])?.remove(0))
    }

    fn evaluate_batch(&self, requests: &[&RouteRequest]) -> Result<Vec<Vec<SignalMatch>>> {
        Ok(super::matches_of(self.evaluate_results(requests)?))
    }

    fn evaluate_results(&self, requests: &[&RouteRequest]) -> Result<Vec<SignalResults>> {
        let rules = !self.rules.is_empty();
        super::text_window::match_embedded(&self.model, requests, rules, |q| self.matches(q))
    }
}

impl EmbeddingSignal {
    /// The rules matched by one text's embedding `q`: hard matches, else soft ones; with the
    /// measured parts of every rule's score.
    fn matches(&self, q: &[f32]) -> SignalResults {
        let mut values = Vec::new();
        let scored: Vec<(&Rule, f32, usize, f32)> = self
            .rules
            .iter()
            .filter_map(|r| {
                let sims: Vec<f32> = r.vectors.iter().map(|v| dot(q, v)).collect();
                let b = prototypes::bank_score(&sims, r.aggregation, &self.settings, r.top_k)?;
                let parts = [b.score, b.best, b.support, b.prototypes as f32];
                values.extend(r.measured.iter().map(|(i, key)| SignalValue {
                    key: key.clone(),
                    value: f64::from(parts[*i]),
                }));
                let (best, best_sim) = sims.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
                Some((r, b.score, best, *best_sim))
            })
            .collect();
        let hard = scored.iter().any(|(r, s, ..)| *s >= r.threshold);
        let matches = scored
            .into_iter()
            .filter(|(r, s, ..)| {
                if hard {
                    *s >= r.threshold
                } else {
                    self.soft_threshold.is_some_and(|t| *s >= t)
                }
            })
            .map(|(r, score, best, best_sim)| SignalMatch {
                kind: SignalKind::Embedding,
                name: r.name.clone(),
                confidence: score.clamp(0.0, 1.0),
                evidence: format!(
                    "{score:.3}{} (best {best_sim:.3}: {:?}; {} prototypes)",
                    if hard { "" } else { " soft" },
                    r.texts[best],
                    r.vectors.len()
                ),
            })
            .collect();
        SignalResults { matches, values }
    }
}
