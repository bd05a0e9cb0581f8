//! Jailbreak signal: the jailbreak-class probability of a prompt-guard classifier.
//!
//! The jailbreak class is the label containing `jailbreak`, `injection`, `unsafe` or
//! `malicious` (case-insensitive), e.g. `jailbreak` vs `benign` or `SAFE` vs `JAILBREAK`. A rule
//! matches when that probability reaches its `threshold` (else
//! `global.model_catalog.modules.prompt_guard.threshold`, else 0.5), on the last user message or,
//! with `include_history`, the whole conversation. Confidence = the probability.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{Signal, SignalKind, SignalMatch};
use crate::config::JailbreakRule;
use crate::inference::SequenceClassifier;
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
    model: Arc<SequenceClassifier>,
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
        model: Arc<SequenceClassifier>,
        rules: &[JailbreakRule],
        used: Option<&BTreeSet<String>>,
        default_threshold: f32,
    ) -> Result<Self> {
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
        let probs = self.model.classify_batch(&texts)?;
        let p_last = last.then(|| probs[0][self.class]);
        let p_hist = history.then(|| probs[texts.len() - 1][self.class]);
        let label = &self.model.labels()[self.class];
        Ok(self
            .rules
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
            .collect())
    }
}
