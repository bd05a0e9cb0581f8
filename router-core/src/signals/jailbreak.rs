//! Jailbreak signal: the jailbreak-class probability of a prompt-guard classifier.
//!
//! The jailbreak class is the label containing `jailbreak`, `injection`, `unsafe` or
//! `malicious` (case-insensitive), e.g. `jailbreak` vs `benign` or `SAFE` vs `JAILBREAK`; with
//! `modules.prompt_guard.positive_labels`, the jailbreak probability is the sum over the labels
//! named there (the seed's `jailbreakRiskScore`). A rule matches when that probability reaches
//! its `threshold` (else
//! `global.model_catalog.modules.prompt_guard.threshold`, else 0.5). Confidence = the
//! probability. As the seed's `evaluateJailbreakSignal` (`pkg/classification/
//! classifier_signal_jailbreak.go`), the probability is the highest over the windows of the
//! routing text ([`super::text_window::routing_text`]: the last user message with text) in
//! [`super::text_window::security_windows`] of about 384 tokens each, so the whole of a long
//! prompt is read, and, with `include_history`, of the earlier messages too
//! ([`RouteRequest::history_texts`]). Rules with `method: contrastive` are
//! [`super::jailbreak_contrastive`]'s.

use std::collections::BTreeSet;

use super::text_window::{routing_text, security_windows, JAILBREAK_WINDOW};
use super::{Signal, SignalKind, SignalMatch};
use crate::config::JailbreakRule;
use crate::inference::{SequenceClassifier, Stored};
use crate::request::RouteRequest;
use crate::{Error, Result};

/// Default minimum jailbreak probability.
pub const DEFAULT_JAILBREAK_THRESHOLD: f32 = 0.5;

const JAILBREAK_WORDS: [&str; 4] = ["jailbreak", "injection", "unsafe", "malicious"];

struct Rule {
    name: String,
    threshold: f32,
    include_history: bool,
}

/// Compiled jailbreak rules over one classifier.
pub struct JailbreakSignal {
    model: Stored<SequenceClassifier>,
    /// The classes whose probabilities add up to the jailbreak probability.
    classes: Vec<usize>,
    rules: Vec<Rule>,
}

/// Index of the jailbreak class among `labels`.
pub fn jailbreak_class(labels: &[String]) -> Option<usize> {
    labels.iter().position(|l| {
        let l = l.to_lowercase();
        JAILBREAK_WORDS.iter().any(|w| l.contains(w))
    })
}

impl JailbreakSignal {
    /// Builds the rules named in `used` (all when `None`); errors if no label is a jailbreak class.
    pub fn new(
        model: impl Into<Stored<SequenceClassifier>>,
        rules: &[JailbreakRule],
        used: Option<&BTreeSet<String>>,
        default_threshold: f32,
    ) -> Result<Self> {
        let model = model.into();
        let class = jailbreak_class(model.labels()).ok_or_else(|| Error::Model {
            path: model.dir().display().to_string(),
            message: format!(
                "no jailbreak class among labels {:?} (expected one containing {})",
                model.labels(),
                JAILBREAK_WORDS.join("/")
            ),
        })?;
        let rules = rules
            .iter()
            .filter(|r| used.is_none_or(|u| u.contains(&r.name)))
            .map(|r| Rule {
                name: r.name.clone(),
                threshold: r.threshold.unwrap_or(default_threshold),
                include_history: r.include_history,
            })
            .collect();
        Ok(JailbreakSignal {
            model,
            classes: vec![class],
            rules,
        })
    }

    /// Takes the jailbreak probability as the sum over the classes labelled as one of
    /// `labels` (exact names), when any are given; an error naming the model when none of
    /// them is a label of it (the seed's `validateJailbreakPositiveLabels`).
    pub fn with_positive_labels(mut self, labels: &[String]) -> Result<Self> {
        if labels.is_empty() {
            return Ok(self);
        }
        let classes: Vec<usize> = (0..self.model.labels().len())
            .filter(|&i| labels.contains(&self.model.labels()[i]))
            .collect();
        if classes.is_empty() {
            return Err(Error::Model {
                path: self.model.dir().display().to_string(),
                message: format!(
                    "modules.prompt_guard.positive_labels {labels:?}: none is a label of the model {:?}",
                    self.model.labels()
                ),
            });
        }
        self.classes = classes;
        Ok(self)
    }
}

/// The windows jailbreak rules read of each request, in one list: its `routing` text's, then,
/// with `history`, those of its [`RouteRequest::history_texts`]; and per request the start of
/// its windows, the end of its routing text's and the end of its own.
pub(crate) fn windows<'a>(
    requests: &[&'a RouteRequest],
    routing: &'a [std::borrow::Cow<'a, str>],
    history: bool,
) -> (Vec<&'a str>, Vec<(usize, usize, usize)>) {
    let mut texts: Vec<&str> = Vec::new();
    let mut spans = Vec::with_capacity(requests.len());
    for (r, text) in requests.iter().zip(routing) {
        let start = texts.len();
        texts.extend(security_windows(text, JAILBREAK_WINDOW));
        let user_end = texts.len();
        if history {
            for t in r.history_texts() {
                texts.extend(security_windows(t, JAILBREAK_WINDOW));
            }
        }
        spans.push((start, user_end, texts.len()));
    }
    (texts, spans)
}

impl Signal for JailbreakSignal {
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
        // Per request, the windows of the last user message, then of the other messages when
        // a rule reads them; all classified in one batch.
        let history = self.rules.iter().any(|r| r.include_history);
        let routing: Vec<_> = requests.iter().map(|r| routing_text(r)).collect();
        let (texts, spans) = windows(requests, &routing, history);
        let probs = if texts.is_empty() {
            Vec::new()
        } else {
            self.model.classify_batch(&texts)?
        };
        let best = |range: std::ops::Range<usize>| {
            probs[range]
                .iter()
                .map(|p| self.classes.iter().map(|&c| p[c]).sum::<f32>())
                .reduce(f32::max)
        };
        Ok(spans
            .into_iter()
            .map(|(start, user_end, end)| {
                let p_user = best(start..user_end);
                let p_all = best(start..end);
                self.matches(p_user, p_all)
            })
            .collect())
    }
}

impl JailbreakSignal {
    /// The rules matched by the highest jailbreak probability over the windows of the last
    /// user message and over those of every message read (`None` when there is no text).
    fn matches(&self, p_user: Option<f32>, p_all: Option<f32>) -> Vec<SignalMatch> {
        let labels = self.model.labels();
        let label: Vec<&str> = self.classes.iter().map(|&c| labels[c].as_str()).collect();
        let label = label.join("+");
        self.rules
            .iter()
            .filter_map(|r| {
                let p = if r.include_history { p_all } else { p_user }?;
                (p >= r.threshold && p > 0.0).then(|| SignalMatch {
                    kind: SignalKind::Jailbreak,
                    name: r.name.clone(),
                    confidence: p,
                    evidence: format!("{label} p={p:.3}"),
                })
            })
            .collect()
    }
}
