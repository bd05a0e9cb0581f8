//! Domain signal: a sequence classifier's top label mapped to `routing.signals.domains` rules.
//!
//! The text (last user message, sampled to at most 2,048 characters: [`super::text_window`]) is
//! classified; when the top label's probability reaches the
//! threshold (`global.model_catalog.modules.classifier.domain.threshold`, default 0.5), every
//! rule whose `mmlu_categories` contain that label (or, with no categories, whose name equals
//! it) matches with confidence = that probability. Labels compare case-insensitively with `_`,
//! `-` and spaces treated alike (`computer_science` = `Computer Science`).

use std::collections::BTreeSet;

use super::{Signal, SignalKind, SignalMatch};
use crate::config::DomainRule;
use crate::inference::{SequenceClassifier, Stored};
use crate::request::RouteRequest;
use crate::Result;

/// Default minimum top-label probability.
pub const DEFAULT_DOMAIN_THRESHOLD: f32 = 0.5;

/// Compiled domain rules over one classifier.
pub struct DomainSignal {
    model: Stored<SequenceClassifier>,
    /// Per rule: name and normalised labels.
    rules: Vec<(String, BTreeSet<String>)>,
    threshold: f32,
}

/// Lowercases and unifies `_`, `-` and runs of spaces.
pub(crate) fn normalize_label(s: &str) -> String {
    s.to_lowercase()
        .replace(['_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

impl DomainSignal {
    /// Builds the rules named in `used` (all when `None`); warns about categories the model
    /// cannot predict.
    pub fn new(
        model: impl Into<Stored<SequenceClassifier>>,
        rules: &[DomainRule],
        used: Option<&BTreeSet<String>>,
        threshold: f32,
    ) -> Result<Self> {
        let model = model.into();
        let known: BTreeSet<String> = model.labels().iter().map(|l| normalize_label(l)).collect();
        let rules = rules
            .iter()
            .filter(|r| used.is_none_or(|u| u.contains(&r.name)))
            .map(|r| {
                let cats: Vec<&str> = if r.mmlu_categories.is_empty() {
                    vec![r.name.as_str()]
                } else {
                    r.mmlu_categories.iter().map(String::as_str).collect()
                };
                let labels: BTreeSet<String> = cats.iter().map(|c| normalize_label(c)).collect();
                for l in labels.difference(&known) {
                    tracing::warn!(
                        rule = %r.name,
                        category = %l,
                        model = %model.dir().display(),
                        "domain category is not a label of the classifier; it never matches"
                    );
                }
                (r.name.clone(), labels)
            })
            .collect();
        Ok(DomainSignal {
            model,
            rules,
            threshold,
        })
    }
}

impl Signal for DomainSignal {
    fn kind(&self) -> SignalKind {
        SignalKind::Domain
    }

    fn evaluate(&self, request: &RouteRequest) -> Result<Vec<SignalMatch>> {
        Ok(self.evaluate_batch(&[request])?.remove(0))
    }

    fn evaluate_batch(&self, requests: &[&RouteRequest]) -> Result<Vec<Vec<SignalMatch>>> {
        let windows: Vec<_> = requests
            .iter()
            .map(|r| super::text_window::semantic(r.user_text()))
            .collect();
        let texts: Vec<&str> = windows.iter().map(|w| w.as_ref()).collect();
        let probs = self.model.classify_batch(&texts)?;
        Ok(probs.iter().map(|p| self.matches(p)).collect())
    }
}

impl DomainSignal {
    /// The rules matched by one text's class probabilities.
    fn matches(&self, probs: &[f32]) -> Vec<SignalMatch> {
        let Some((best, &p)) = probs.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)) else {
            return Vec::new();
        };
        if p < self.threshold {
            return Vec::new();
        }
        let raw = &self.model.labels()[best];
        let label = normalize_label(raw);
        self.rules
            .iter()
            .filter(|(_, labels)| labels.contains(&label))
            .map(|(name, _)| SignalMatch {
                kind: SignalKind::Domain,
                name: name.clone(),
                confidence: p,
                evidence: format!("{raw} p={p:.3}"),
            })
            .collect()
    }
}
