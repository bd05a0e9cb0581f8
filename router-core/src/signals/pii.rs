//! PII signal: entities from a token classifier, filtered per rule by type and score.
//!
//! A rule matches when some entity has score ≥ its `threshold` (else
//! `global.model_catalog.modules.classifier.pii.threshold`, else 0.5), a type not in
//! `pii_types_allowed` and, if `pii_types_denied` is set, a type in it (types compare
//! case-insensitively). Confidence = the best such score. Evidence names types and character
//! spans, never the PII text itself. Texts longer than the model's `max_length` are tagged in
//! overlapping windows ([`TokenClassifier`]), so PII late in a long conversation is found too.

use std::collections::BTreeSet;

use super::{Signal, SignalKind, SignalMatch};
use crate::config::PiiRule;
use crate::inference::{Entity, Stored, TokenClassifier};
use crate::request::RouteRequest;
use crate::Result;

/// Default minimum entity score.
pub const DEFAULT_PII_THRESHOLD: f32 = 0.5;

struct Rule {
    name: String,
    threshold: f32,
    allowed: BTreeSet<String>,
    denied: BTreeSet<String>,
    include_history: bool,
}

impl Rule {
    fn triggers(&self, e: &Entity) -> bool {
        let t = e.label.to_uppercase();
        e.score >= self.threshold
            && !self.allowed.contains(&t)
            && (self.denied.is_empty() || self.denied.contains(&t))
    }
}

/// Compiled PII rules over one token classifier.
pub struct PiiSignal {
    model: Stored<TokenClassifier>,
    rules: Vec<Rule>,
}

fn upper_set(v: &[String]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_uppercase()).collect()
}

impl PiiSignal {
    /// Builds the rules named in `used` (all when `None`).
    pub fn new(
        model: impl Into<Stored<TokenClassifier>>,
        rules: &[PiiRule],
        used: Option<&BTreeSet<String>>,
        default_threshold: f32,
    ) -> Self {
        let model = model.into();
        let rules = rules
            .iter()
            .filter(|r| used.is_none_or(|u| u.contains(&r.name)))
            .map(|r| Rule {
                name: r.name.clone(),
                threshold: r.threshold.unwrap_or(default_threshold),
                allowed: upper_set(&r.pii_types_allowed),
                denied: upper_set(&r.pii_types_denied),
                include_history: r.include_history,
            })
            .collect();
        PiiSignal { model, rules }
    }
}

impl Signal for PiiSignal {
    fn kind(&self) -> SignalKind {
        SignalKind::Pii
    }

    fn evaluate(&self, request: &RouteRequest) -> Result<Vec<SignalMatch>> {
        if self.rules.is_empty() {
            return Ok(Vec::new());
        }
        let history = self.rules.iter().any(|r| r.include_history);
        let last = self.rules.iter().any(|r| !r.include_history);
        let conversation = request.conversation_text();
        let mut texts = Vec::new();
        if last {
            texts.push(request.user_text());
        }
        if history {
            texts.push(conversation.as_str());
        }
        let found = self.model.entities_batch(&texts)?;
        let (e_last, e_hist) = (&found[0], &found[found.len() - 1]);
        Ok(self
            .rules
            .iter()
            .filter_map(|r| {
                let entities = if r.include_history { e_hist } else { e_last };
                let hits: Vec<&Entity> = entities.iter().filter(|e| r.triggers(e)).collect();
                let best = hits.iter().map(|e| e.score).fold(f32::NAN, f32::max);
                (!hits.is_empty()).then(|| SignalMatch {
                    kind: SignalKind::Pii,
                    name: r.name.clone(),
                    confidence: best,
                    evidence: hits
                        .iter()
                        .map(|e| format!("{}[{}..{}] {:.3}", e.label, e.start, e.end, e.score))
                        .collect::<Vec<_>>()
                        .join(", "),
                })
            })
            .collect())
    }
}
