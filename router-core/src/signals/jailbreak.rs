//! Jailbreak signal: the jailbreak-class probability of a prompt-guard classifier.
//!
//! The jailbreak class is the label containing `jailbreak`, `injection`, `unsafe` or
//! `malicious` (case-insensitive), e.g. `jailbreak` vs `benign` or `SAFE` vs `JAILBREAK`. A rule
//! matches when that probability reaches its `threshold` (else
//! `global.model_catalog.modules.prompt_guard.threshold`, else 0.5), on the last user message or,
//! with `include_history`, the whole conversation. Confidence = the probability.

use std::collections::BTreeSet;

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
    class: usize,
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
            class,
            rules,
        })
    }
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
        // Per request: the last user message and/or the whole conversation, classified in one
        // batch.
        let history = self.rules.iter().any(|r| r.include_history);
        let last = self.rules.iter().any(|r| !r.include_history);
        let conversations: Vec<String> = if history {
            requests.iter().map(|r| r.conversation_text()).collect()
        } else {
            Vec::new()
        };
        let mut texts = Vec::new();
        for (i, request) in requests.iter().enumerate() {
            if last {
                texts.push(request.user_text());
            }
            if history {
                texts.push(conversations[i].as_str());
            }
        }
        let probs = self.model.classify_batch(&texts)?;
        let per_request = usize::from(last) + usize::from(history);
        Ok(probs
            .chunks(per_request)
            .map(|p| {
                let p_last = last.then(|| p[0][self.class]);
                let p_hist = history.then(|| p[per_request - 1][self.class]);
                self.matches(p_last, p_hist)
            })
            .collect())
    }
}

impl JailbreakSignal {
    /// The rules matched by the jailbreak probability of the last message and of the whole
    /// conversation (each `None` when no rule looks at it).
    fn matches(&self, p_last: Option<f32>, p_hist: Option<f32>) -> Vec<SignalMatch> {
        let label = &self.model.labels()[self.class];
        self.rules
            .iter()
            .filter_map(|r| {
                let p = if r.include_history { p_hist } else { p_last }?;
                (p >= r.threshold).then(|| SignalMatch {
                    kind: SignalKind::Jailbreak,
                    name: r.name.clone(),
                    confidence: p,
                    evidence: format!("{label} p={p:.3}"),
                })
            })
            .collect()
    }
}
