//! Fact-check and user-feedback signals: a sequence classifier's verdict on the request, as the
//! seed evaluates them (`pkg/classification/fact_check_classifier.go` `Classify`,
//! `feedback_detector.go` `Classify`, `classifier_signal_rule_evaluators.go`
//! `evaluateFactCheckSignal` / `evaluateUserFeedbackSignal`, `feedback_signal_gate.go`).
//!
//! The routing text ([`super::text_window::routing_text`], sampled to 2,048 characters) is
//! classified and its top label becomes a verdict; when the label's probability is below the
//! threshold the verdict is the fallback instead. The first rule named like the verdict
//! matches, with confidence 1 (the seed records no confidence for these kinds), so at most one
//! rule matches. An empty text is the fallback verdict without running the model.
//!
//! * **fact_check**: the class labelled `FACT_CHECK_NEEDED` (or `needs_fact_check`; any case)
//!   gives `needs_fact_check`, every other class `no_fact_check_needed`, the fallback. The seed
//!   takes class 1 as "needed" whatever the model's labels say; routelab reads the labels and
//!   refuses a model without that class, so a model with its classes in another order is not
//!   read inverted. Threshold `modules.hallucination_mitigation.fact_check.threshold`: 0.6
//!   when unset, 0.7 when set to 0 or less.
//! * **user_feedback**: the label, lower-cased, is the verdict, `SAT` / `SATISFIED` being
//!   `satisfied`, the fallback (the seed's labels: `SAT`, `NEED_CLARIFICATION`,
//!   `WRONG_ANSWER`, `WANT_DIFFERENT`). It runs only on a follow-up turn, a request with an
//!   assistant message that has text; `modules.feedback_detector.enabled: false` turns it
//!   off. Threshold `modules.feedback_detector.threshold`: 0.7 when unset, 0.5 when set to 0
//!   or less.

use std::collections::BTreeSet;

use super::text_window::{routing_text, semantic};
use super::{Signal, SignalKind, SignalMatch};
use crate::config::{LabelRule, RouterConfig};
use crate::inference::{SequenceClassifier, Stored};
use crate::request::RouteRequest;
use crate::{Error, Result};

/// The fact-check verdict of the class that says a check is needed.
pub const NEEDS_FACT_CHECK: &str = "needs_fact_check";
/// The fact-check fallback verdict.
pub const NO_FACT_CHECK_NEEDED: &str = "no_fact_check_needed";
/// The user-feedback fallback verdict.
pub const SATISFIED: &str = "satisfied";

/// Compiled fact-check or user-feedback rules over one classifier.
pub struct VerdictSignal {
    kind: SignalKind,
    model: Stored<SequenceClassifier>,
    /// The verdict of each class of the model.
    verdicts: Vec<String>,
    fallback: &'static str,
    threshold: f32,
    /// The rule names, in config order (the first named like the verdict matches).
    rules: Vec<String>,
    /// Only on a follow-up turn (user feedback).
    follow_up_only: bool,
}

/// The verdict of each label of a fact-check model; an error naming the model without a
/// "needed" class.
fn fact_check_verdicts(model: &Stored<SequenceClassifier>) -> Result<Vec<String>> {
    let needed = |l: &str| {
        l.eq_ignore_ascii_case("FACT_CHECK_NEEDED") || l.eq_ignore_ascii_case(NEEDS_FACT_CHECK)
    };
    if !model.labels().iter().any(|l| needed(l)) {
        return Err(Error::Model {
            path: model.dir().display().to_string(),
            message: format!(
                "no FACT_CHECK_NEEDED class among labels {:?} (a fact-check classifier has FACT_CHECK_NEEDED and NO_FACT_CHECK_NEEDED)",
                model.labels()
            ),
        });
    }
    Ok(model
        .labels()
        .iter()
        .map(|l| {
            if needed(l) {
                NEEDS_FACT_CHECK
            } else {
                NO_FACT_CHECK_NEEDED
            }
            .to_string()
        })
        .collect())
}

/// The verdict of a user-feedback label (the seed's `normalizeFeedbackLabel`).
pub fn feedback_verdict(label: &str) -> String {
    match label.to_uppercase().as_str() {
        "SAT" | "SATISFIED" => SATISFIED.to_string(),
        _ => label.to_lowercase(),
    }
}

impl VerdictSignal {
    /// The fact-check signal of `config` over `model`, for the rules named in `used`.
    pub fn fact_check(
        model: impl Into<Stored<SequenceClassifier>>,
        config: &RouterConfig,
        used: &BTreeSet<String>,
    ) -> Result<Self> {
        let model = model.into();
        let module = config
            .global
            .model_catalog
            .modules
            .hallucination_mitigation
            .fact_check
            .as_ref();
        let threshold = match module.and_then(|m| m.threshold) {
            None => 0.6,
            Some(t) if t <= 0.0 => 0.7,
            Some(t) => t,
        };
        Ok(VerdictSignal {
            kind: SignalKind::FactCheck,
            verdicts: fact_check_verdicts(&model)?,
            model,
            fallback: NO_FACT_CHECK_NEEDED,
            threshold,
            rules: rule_names(&config.routing.signals.fact_check, used),
            follow_up_only: false,
        })
    }

    /// The user-feedback signal of `config` over `model`, for the rules named in `used` (none
    /// when the detector is disabled).
    pub fn user_feedback(
        model: impl Into<Stored<SequenceClassifier>>,
        config: &RouterConfig,
        used: &BTreeSet<String>,
    ) -> Self {
        let model = model.into();
        let module = &config.global.model_catalog.modules.feedback_detector;
        let threshold = match module.threshold {
            None => 0.7,
            Some(t) if t <= 0.0 => 0.5,
            Some(t) => t,
        };
        let rules = if module.enabled.unwrap_or(true) {
            rule_names(&config.routing.signals.user_feedbacks, used)
        } else {
            Vec::new()
        };
        VerdictSignal {
            kind: SignalKind::UserFeedback,
            verdicts: model.labels().iter().map(|l| feedback_verdict(l)).collect(),
            model,
            fallback: SATISFIED,
            threshold,
            rules,
            follow_up_only: true,
        }
    }

    /// The verdict for one text's class probabilities: the top class's, or the fallback below
    /// the threshold; with the probability the verdict rests on.
    fn verdict(&self, probs: &[f32]) -> (&str, f32) {
        let top = (0..probs.len()).reduce(|b, i| if probs[i] > probs[b] { i } else { b });
        match top {
            // A top class whose verdict is the fallback keeps its own probability.
            Some(i) if probs[i] >= self.threshold || self.verdicts[i] == self.fallback => {
                (self.verdicts[i].as_str(), probs[i])
            }
            Some(i) => (self.fallback, 1.0 - probs[i]),
            None => (self.fallback, 1.0),
        }
    }

    /// The first rule named `verdict`, as a match.
    fn matched(&self, verdict: &str, p: f32) -> Vec<SignalMatch> {
        self.rules
            .iter()
            .find(|r| *r == verdict)
            .map(|name| SignalMatch {
                kind: self.kind,
                name: name.clone(),
                confidence: 1.0,
                evidence: format!("{verdict} p={p:.3}"),
            })
            .into_iter()
            .collect()
    }
}

fn rule_names(rules: &[LabelRule], used: &BTreeSet<String>) -> Vec<String> {
    rules
        .iter()
        .filter(|r| used.contains(&r.name))
        .map(|r| r.name.clone())
        .collect()
}

/// Whether a request is a follow-up turn: an assistant message with text comes before.
fn follows_an_answer(request: &RouteRequest) -> bool {
    request
        .messages
        .iter()
        .any(|m| m.role == "assistant" && !m.content.trim().is_empty())
}

impl Signal for VerdictSignal {
    fn kind(&self) -> SignalKind {
        self.kind
    }

    fn evaluate(&self, request: &RouteRequest) -> Result<Vec<SignalMatch>> {
        Ok(self.evaluate_batch(&[request])?.remove(0))
    }

    fn evaluate_batch(&self, requests: &[&RouteRequest]) -> Result<Vec<Vec<SignalMatch>>> {
        let mut out = vec![Vec::new(); requests.len()];
        if self.rules.is_empty() {
            return Ok(out);
        }
        // The texts the model reads, by request; an empty one is the fallback verdict.
        let mut read: Vec<(usize, String)> = Vec::new();
        for (i, r) in requests.iter().enumerate() {
            if self.follow_up_only && !follows_an_answer(r) {
                continue;
            }
            let text = semantic(&routing_text(r)).into_owned();
            if text.trim().is_empty() {
                out[i] = self.matched(self.fallback, 1.0);
            } else {
                read.push((i, text));
            }
        }
        if read.is_empty() {
            return Ok(out);
        }
        let batch: Vec<&str> = read.iter().map(|(_, t)| t.as_str()).collect();
        for ((i, _), p) in read.iter().zip(self.model.classify_batch(&batch)?) {
            let (verdict, confidence) = self.verdict(&p);
            out[*i] = self.matched(verdict, confidence);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_labels_become_verdicts() {
        // `normalizeFeedbackLabel`.
        assert_eq!(feedback_verdict("SAT"), "satisfied");
        assert_eq!(feedback_verdict("satisfied"), "satisfied");
        assert_eq!(feedback_verdict("WRONG_ANSWER"), "wrong_answer");
        assert_eq!(feedback_verdict("Need_Clarification"), "need_clarification");
        assert_eq!(feedback_verdict("POSITIVE"), "positive");
    }

    #[test]
    fn only_a_follow_up_turn_gets_feedback() {
        // `TestShouldEvaluateUserFeedbackSignal`: an answer with text must come before.
        use crate::request::ChatMessage;
        let turn = |assistant: &str| RouteRequest {
            messages: vec![
                ChatMessage::new("user", "q"),
                ChatMessage::new("assistant", assistant),
                ChatMessage::new("user", "that is wrong"),
            ],
            ..Default::default()
        };
        assert!(follows_an_answer(&turn("an answer")));
        assert!(!follows_an_answer(&turn("  ")));
        assert!(!follows_an_answer(&RouteRequest::from_prompt(
            "that is wrong"
        )));
    }
}
