//! Embedding-similarity signal: cosine similarity of the request to each rule's candidates.
//!
//! Candidate sentences are embedded once, when the signal is built. Per request the last user
//! message is embedded and compared with every candidate; similarities are aggregated per rule
//! ([`aggregate`]) and the rule matches when the aggregate reaches its `threshold`. Confidence =
//! the aggregate clamped to `[0, 1]`; evidence names the most similar candidate.

use std::collections::BTreeSet;

use super::{Signal, SignalKind, SignalMatch};
use crate::config::{Aggregation, EmbeddingRule};
use crate::inference::{Embedder, Stored};
use crate::request::RouteRequest;
use crate::Result;

struct Rule {
    name: String,
    threshold: f32,
    aggregation: Aggregation,
    top_k: Option<usize>,
    candidates: Vec<String>,
    /// Unit vectors, one per candidate.
    vectors: Vec<Vec<f32>>,
}

/// Compiled embedding rules over one embedder.
pub struct EmbeddingSignal {
    model: Stored<Embedder>,
    rules: Vec<Rule>,
}

/// Aggregates candidate similarities: only the `top_k` largest count when set; `Max` and `Any`
/// give the largest (so `Any` matches when any candidate reaches the threshold), `Mean` their
/// mean. `None` when there are no similarities.
pub fn aggregate(sims: &[f32], method: Aggregation, top_k: Option<usize>) -> Option<f32> {
    let mut s = sims.to_vec();
    s.sort_by(|a, b| b.total_cmp(a));
    if let Some(k) = top_k {
        s.truncate(k.max(1));
    }
    let first = *s.first()?;
    Some(match method {
        Aggregation::Max | Aggregation::Any => first,
        Aggregation::Mean => s.iter().sum::<f32>() / s.len() as f32,
    })
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl EmbeddingSignal {
    /// Builds the rules named in `used` (all when `None`), embedding all candidates in one pass.
    pub fn new(
        model: impl Into<Stored<Embedder>>,
        rules: &[EmbeddingRule],
        used: Option<&BTreeSet<String>>,
    ) -> Result<Self> {
        let model = model.into();
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
            .map(|r| Rule {
                name: r.name.clone(),
                threshold: r.threshold,
                aggregation: r.aggregation_method,
                top_k: r.top_k,
                candidates: r.candidates.clone(),
                vectors: vectors.by_ref().take(r.candidates.len()).collect(),
            })
            .collect();
        Ok(EmbeddingSignal { model, rules })
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
        if self.rules.is_empty() {
            return Ok(vec![Vec::new(); requests.len()]);
        }
        let texts: Vec<&str> = requests.iter().map(|r| r.user_text()).collect();
        let embeddings = self.model.embed_batch(&texts)?;
        Ok(embeddings.iter().map(|q| self.matches(q)).collect())
    }
}

impl EmbeddingSignal {
    /// The rules matched by one text's embedding `q`.
    fn matches(&self, q: &[f32]) -> Vec<SignalMatch> {
        self.rules
            .iter()
            .filter_map(|r| {
                let sims: Vec<f32> = r.vectors.iter().map(|v| dot(q, v)).collect();
                let score = aggregate(&sims, r.aggregation, r.top_k)?;
                let (best, best_sim) = sims.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
                (score >= r.threshold).then(|| SignalMatch {
                    kind: SignalKind::Embedding,
                    name: r.name.clone(),
                    confidence: score.clamp(0.0, 1.0),
                    evidence: format!("{score:.3} (best {best_sim:.3}: {:?})", r.candidates[best]),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregation_methods() {
        let s = [0.2, 0.9, 0.5, 0.7];
        assert_eq!(aggregate(&s, Aggregation::Max, None), Some(0.9));
        assert_eq!(aggregate(&s, Aggregation::Any, None), Some(0.9));
        assert!((aggregate(&s, Aggregation::Mean, None).unwrap() - 0.575).abs() < 1e-6);
        assert!((aggregate(&s, Aggregation::Mean, Some(2)).unwrap() - 0.8).abs() < 1e-6);
        assert_eq!(aggregate(&s, Aggregation::Max, Some(1)), Some(0.9));
        assert_eq!(aggregate(&[], Aggregation::Mean, None), None);
    }
}
