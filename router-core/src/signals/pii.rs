//! PII signal: entities from a token classifier, filtered per rule by type and score.
//!
//! A rule matches when some entity has score ≥ its `threshold` (else
//! `global.model_catalog.modules.classifier.pii.threshold`, else 0.5), a type not in
//! `pii_types_allowed` and, if `pii_types_denied` is set, a type in it (types compare
//! case-insensitively). Confidence = the best such score. Evidence names types and character
//! spans in their message, never the PII text itself. As the seed's `evaluatePIISignal`
//! (`pkg/classification/classifier_signal_pii.go`), the last user message is tagged in
//! overlapping windows of about 128 tokens ([`super::text_window::security_windows`]; the
//! same window twice is tagged once), and with `include_history` each system, developer and
//! assistant message and earlier user turn too ([`RouteRequest::history_texts`]).

use std::collections::BTreeSet;

use super::text_window::{security_windows, PII_WINDOW};
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
        // The windows of the last user message, then of the other messages when a rule reads
        // them, each with its first character's offset in its message.
        let history = self.rules.iter().any(|r| r.include_history);
        let mut windows: Vec<(&str, usize)> = windows_of(request.user_text());
        let user_windows = windows.len();
        if history {
            let mut seen: BTreeSet<&str> = BTreeSet::from([request.user_text()]);
            for t in request
                .history_texts()
                .into_iter()
                .filter(|t| seen.insert(t))
            {
                windows.extend(windows_of(t));
            }
        }
        if windows.is_empty() {
            return Ok(Vec::new());
        }
        let texts: Vec<&str> = windows.iter().map(|(t, _)| *t).collect();
        let found: Vec<Vec<Entity>> = self
            .model
            .entities_batch(&texts)?
            .into_iter()
            .zip(&windows)
            .map(|(entities, (_, offset))| {
                entities
                    .into_iter()
                    .map(|e| Entity {
                        start: e.start + offset,
                        end: e.end + offset,
                        ..e
                    })
                    .collect()
            })
            .collect();
        Ok(self
            .rules
            .iter()
            .filter_map(|r| {
                let read = if r.include_history {
                    &found[..]
                } else {
                    &found[..user_windows]
                };
                let hits: Vec<&Entity> = read.iter().flatten().filter(|e| r.triggers(e)).collect();
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

/// The distinct PII windows of `text` (the seed's `piiSignalChunks`), each with the offset of
/// its first character in `text`.
fn windows_of(text: &str) -> Vec<(&str, usize)> {
    let mut seen = BTreeSet::new();
    security_windows(text, PII_WINDOW)
        .into_iter()
        .filter(|w| seen.insert(*w))
        .map(|w| {
            let byte = w.as_ptr() as usize - text.as_ptr() as usize;
            (w, text[..byte].chars().count())
        })
        .collect()
}
