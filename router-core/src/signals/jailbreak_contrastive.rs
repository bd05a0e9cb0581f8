//! Jailbreak rules with `method: contrastive` (the seed's
//! `classification/contrastive_jailbreak_classifier.go`, `AnalyzeMessages`): each window of
//! the text a rule reads ([`super::text_window::security_windows`], as the classifier's) scores
//! `max similarity to its jailbreak_patterns − max similarity to its benign_patterns` (an empty
//! list counts −1), similarities being dot products of the embedding model's unit vectors; the
//! rule's score is the highest over the windows and it matches at `score ≥ threshold` (a
//! threshold of 0 or less is 0.10). Patterns are embedded once, when the router is built, with
//! the embedding signal's model. Confidence is the score clamped to `[0, 1]` (the seed reports
//! it unclamped, up to 2).

use std::collections::BTreeSet;

use super::text_window::routing_text;
use super::{Signal, SignalKind, SignalMatch};
use crate::config::JailbreakRule;
use crate::inference::{Embedder, Stored};
use crate::request::RouteRequest;
use crate::Result;

/// The threshold of a rule that sets none above 0.
const DEFAULT_THRESHOLD: f32 = 0.10;

struct Rule {
    name: String,
    threshold: f32,
    include_history: bool,
    jailbreak: Vec<Vec<f32>>,
    benign: Vec<Vec<f32>>,
}

impl Rule {
    /// The contrast of one window's embedding.
    fn score(&self, e: &[f32]) -> f32 {
        let best = |set: &[Vec<f32>]| set.iter().map(|p| dot(e, p)).fold(-1.0, f32::max);
        best(&self.jailbreak) - best(&self.benign)
    }
}

/// The dot product over the common length (the seed's `cosineSimilarity` on unit vectors).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The contrastive jailbreak rules of a config.
pub struct ContrastiveJailbreak {
    model: Stored<Embedder>,
    rules: Vec<Rule>,
}

impl ContrastiveJailbreak {
    /// Embeds the patterns of the rules named in `used` with `model`.
    pub fn new(
        model: Stored<Embedder>,
        rules: &[JailbreakRule],
        used: &BTreeSet<String>,
    ) -> Result<Self> {
        let mut out = Vec::new();
        for r in rules.iter().filter(|r| used.contains(&r.name)) {
            let embed = |patterns: &[String]| -> Result<Vec<Vec<f32>>> {
                let texts: Vec<&str> = patterns
                    .iter()
                    .map(String::as_str)
                    .filter(|p| !p.is_empty())
                    .collect();
                if texts.is_empty() {
                    return Ok(Vec::new());
                }
                model.embed_batch(&texts)
            };
            out.push(Rule {
                name: r.name.clone(),
                threshold: r
                    .threshold
                    .filter(|t| *t > 0.0)
                    .unwrap_or(DEFAULT_THRESHOLD),
                include_history: r.include_history,
                jailbreak: embed(&r.jailbreak_patterns)?,
                benign: embed(&r.benign_patterns)?,
            });
        }
        Ok(ContrastiveJailbreak { model, rules: out })
    }
}

impl Signal for ContrastiveJailbreak {
    fn kind(&self) -> SignalKind {
        SignalKind::Jailbreak
    }

    fn evaluate(&self, request: &RouteRequest) -> Result<Vec<SignalMatch>> {
        Ok(self.evaluate_batch(&[request])?.remove(0))
    }

    fn evaluate_batch(&self, requests: &[&RouteRequest]) -> Result<Vec<Vec<SignalMatch>>> {
        if self.rules.is_empty() {
            return Ok(vec![Vec::new(); requests.len()]);
        }
        let history = self.rules.iter().any(|r| r.include_history);
        let routing: Vec<_> = requests.iter().map(|r| routing_text(r)).collect();
        let (texts, spans) = super::jailbreak::windows(requests, &routing, history);
        let embedded = if texts.is_empty() {
            Vec::new()
        } else {
            self.model.embed_batch(&texts)?
        };
        Ok(spans
            .into_iter()
            .map(|(start, user_end, end)| {
                self.rules
                    .iter()
                    .filter_map(|rule| {
                        let read = if rule.include_history { end } else { user_end };
                        let score = embedded[start..read]
                            .iter()
                            .map(|e| rule.score(e))
                            .reduce(f32::max)?;
                        (score >= rule.threshold).then(|| SignalMatch {
                            kind: SignalKind::Jailbreak,
                            name: rule.name.clone(),
                            confidence: score.clamp(0.0, 1.0),
                            evidence: format!("contrastive score {score:.3}"),
                        })
                    })
                    .collect()
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(jailbreak: Vec<Vec<f32>>, benign: Vec<Vec<f32>>) -> Rule {
        Rule {
            name: "r".into(),
            threshold: DEFAULT_THRESHOLD,
            include_history: false,
            jailbreak,
            benign,
        }
    }

    /// `AnalyzeMessages`: max jailbreak similarity minus max benign similarity, −1 for an
    /// empty set, dot products.
    #[test]
    fn contrast_of_the_best_similarities() {
        let r = rule(vec![vec![1.0, 0.0], vec![0.6, 0.8]], vec![vec![0.0, 1.0]]);
        // e = (0.8, 0.6): jailbreak max(0.8, 0.96) = 0.96, benign 0.6.
        assert!((r.score(&[0.8, 0.6]) - 0.36).abs() < 1e-6);
        let no_benign = rule(vec![vec![1.0, 0.0]], Vec::new());
        assert!((no_benign.score(&[0.5, 0.0]) - 1.5).abs() < 1e-6);
        let neither = rule(Vec::new(), Vec::new());
        assert_eq!(neither.score(&[1.0, 0.0]), 0.0);
    }
}
