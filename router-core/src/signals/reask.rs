//! Re-ask signal: the user asks again what they asked before, as the seed evaluates it
//! (`pkg/classification/reask_classifier.go`, `classifier_signal_dispatch.go`
//! `evaluateBoundedReaskSignal`).
//!
//! The current turn is the last user message with text, the earlier turns the user messages
//! before it (other roles never count), each sampled to at most 2,048 characters
//! ([`super::text_window`]) and trimmed; empty earlier turns are skipped. All are embedded, and
//! the similarities of the current turn to the earlier ones, most recent first, are scanned: a
//! rule's streak is the number of leading similarities at or above its `threshold`, and it
//! matches when the streak reaches `lookback_turns`, so the most recent earlier turn must
//! always be a repeat. Only the matching rules of the largest lookback are kept (a persistent
//! re-ask hides the one-turn rule). Confidence = the lowest similarity within the lookback.

use std::collections::HashMap;

use super::prototypes::dot;
use super::{measured_key, Signal, SignalKind, SignalMatch, SignalResults, SignalValue};
use crate::config::ReaskRule;
use crate::inference::{Embedder, Stored};
use crate::request::RouteRequest;
use crate::Result;

#[derive(Debug, Clone)]
struct Rule {
    name: String,
    threshold: f32,
    lookback: usize,
    /// The key its streak is reported under when it matches, if a projection reads it.
    measured: Option<String>,
}

/// Compiled re-ask rules over one embedder.
pub struct ReaskSignal {
    model: Stored<Embedder>,
    rules: Vec<Rule>,
}

/// A request's turns as the signal reads them: the current one, then the earlier ones, most
/// recent first (`None` when there is no current turn or no earlier one).
fn turns(request: &RouteRequest) -> Option<(String, Vec<String>)> {
    let bounded = |t: &str| super::text_window::semantic(t).trim().to_string();
    let mut all = request.user_turns().rev();
    let current = bounded(all.next()?);
    let earlier: Vec<String> = all.map(bounded).filter(|t| !t.is_empty()).collect();
    (!current.is_empty() && !earlier.is_empty()).then_some((current, earlier))
}

impl ReaskSignal {
    /// Builds every rule: the seed evaluates them all, and a matching rule of a longer
    /// lookback hides the others, referenced or not.
    pub fn new(model: impl Into<Stored<Embedder>>, rules: &[ReaskRule]) -> Self {
        let rules = rules
            .iter()
            .map(|r| Rule {
                name: r.name.clone(),
                threshold: r.threshold(),
                lookback: usize::try_from(r.lookback()).unwrap_or(1).max(1),
                measured: None,
            })
            .collect();
        ReaskSignal {
            model: model.into(),
            rules,
        }
    }

    /// Reports the streak of each matched rule whose key is in `wanted` (`reask:<rule>`).
    pub fn measuring(mut self, wanted: &std::collections::BTreeSet<String>) -> Self {
        for r in &mut self.rules {
            r.measured = measured_key(wanted, SignalKind::Reask, &r.name);
        }
        self
    }
}

impl Signal for ReaskSignal {
    fn kind(&self) -> SignalKind {
        SignalKind::Reask
    }

    fn evaluate(&self, request: &RouteRequest) -> Result<Vec<SignalMatch>> {
        Ok(self.evaluate_batch(&[request])?.remove(0))
    }

    fn evaluate_batch(&self, requests: &[&RouteRequest]) -> Result<Vec<Vec<SignalMatch>>> {
        Ok(super::matches_of(self.evaluate_results(requests)?))
    }

    fn evaluate_results(&self, requests: &[&RouteRequest]) -> Result<Vec<SignalResults>> {
        let per_request: Vec<Option<(String, Vec<String>)>> = if self.rules.is_empty() {
            vec![None; requests.len()]
        } else {
            requests.iter().map(|r| turns(r)).collect()
        };
        // Every distinct text of the batch, embedded in one call.
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut texts: Vec<&str> = Vec::new();
        for (current, earlier) in per_request.iter().flatten() {
            for t in std::iter::once(current).chain(earlier) {
                index.entry(t.as_str()).or_insert_with(|| {
                    texts.push(t);
                    texts.len() - 1
                });
            }
        }
        let vectors = if texts.is_empty() {
            Vec::new()
        } else {
            self.model.embed_batch(&texts)?
        };
        let vector = |t: &str| &vectors[index[t]];
        Ok(per_request
            .iter()
            .map(|turns| match turns {
                None => SignalResults::default(),
                Some((current, earlier)) => {
                    let q = vector(current);
                    let sims: Vec<f32> = earlier.iter().map(|t| dot(q, vector(t))).collect();
                    matches(&self.rules, &sims)
                }
            })
            .collect())
    }
}

/// The rules matched by the similarities of the current turn to the earlier ones (most
/// recent first): each rule's streak, then only the largest matching lookback; a matched
/// rule's value is its streak (the seed's `MatchedTurns`).
fn matches(rules: &[Rule], sims: &[f32]) -> SignalResults {
    let found: Vec<(&Rule, usize, f32)> = rules
        .iter()
        .filter(|r| sims.len() >= r.lookback)
        .filter_map(|r| {
            let streak = sims.iter().take_while(|s| **s >= r.threshold).count();
            let lowest = sims[..r.lookback].iter().fold(1.0f32, |m, s| m.min(*s));
            (streak >= r.lookback).then_some((r, streak, lowest))
        })
        .collect();
    let longest = found.iter().map(|(r, ..)| r.lookback).max();
    let found: Vec<(&Rule, usize, f32)> = found
        .into_iter()
        .filter(|(r, ..)| Some(r.lookback) == longest)
        .collect();
    let values = found
        .iter()
        .filter_map(|(r, streak, _)| {
            Some(SignalValue {
                key: r.measured.clone()?,
                value: *streak as f64,
            })
        })
        .collect();
    let matches = found
        .into_iter()
        .map(|(r, streak, lowest)| SignalMatch {
            kind: SignalKind::Reask,
            name: r.name.clone(),
            confidence: lowest.clamp(0.0, 1.0),
            evidence: format!(
                "repeats the last {streak} user turn(s) (lowest similarity {lowest:.3} over {})",
                r.lookback
            ),
        })
        .collect();
    SignalResults { matches, values }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::ChatMessage;

    /// The shared fragment `fragments/signal/reask/dissatisfaction.yaml`.
    fn fragment() -> Vec<Rule> {
        let rule = |name: &str, lookback| Rule {
            name: name.into(),
            threshold: 0.8,
            lookback,
            measured: None,
        };
        vec![
            rule("likely_dissatisfied", 1),
            rule("persistently_dissatisfied", 2),
        ]
    }

    fn names(m: &SignalResults) -> Vec<(&str, f32)> {
        m.matches
            .iter()
            .map(|m| (m.name.as_str(), m.confidence))
            .collect()
    }

    /// Current turn (1, 0); one earlier turn (0.96, 0.28): similarity 0.96, a one-turn re-ask
    /// (`reask_classifier.go` `Classify` / `evaluateReaskStreak`).
    #[test]
    fn one_repeat_matches_the_one_turn_rule() {
        let sims = [dot(&[1.0, 0.0], &[0.96, 0.28])];
        assert_eq!(
            names(&matches(&fragment(), &sims)),
            [("likely_dissatisfied", 0.96)]
        );
    }

    /// Earlier turns, most recent first, (0.8, 0.6), (0.96, 0.28), (0, 1): similarities 0.8
    /// (a tie passes), 0.96, 0: both rules' streaks are 2, and the lookback-2 rule hides the
    /// other (`retainMaxLookbackReaskMatches`). Confidence min(0.8, 0.96).
    #[test]
    fn a_persistent_repeat_hides_the_one_turn_rule() {
        let q = [1.0f32, 0.0];
        let sims: Vec<f32> = [[0.8f32, 0.6], [0.96, 0.28], [0.0, 1.0]]
            .iter()
            .map(|v| dot(&q, v))
            .collect();
        let m = matches(&fragment(), &sims);
        assert_eq!(names(&m), [("persistently_dissatisfied", 0.8)]);
        let evidence = &m.matches[0].evidence;
        assert!(evidence.contains("last 2 user turn"), "{evidence}");
    }

    /// A matched rule reports its streak (`MatchedTurns`), an unmatched one nothing: with
    /// similarities 0.9, 0.85, 0.2 both rules' streaks are 2 and only the lookback-2 rule is
    /// kept.
    #[test]
    fn a_matched_rule_reports_its_streak() {
        let wanted: std::collections::BTreeSet<String> = [
            "reask:likely_dissatisfied",
            "reask:persistently_dissatisfied",
        ]
        .map(String::from)
        .into();
        let rules: Vec<Rule> = fragment()
            .into_iter()
            .map(|mut r| {
                r.measured = measured_key(&wanted, SignalKind::Reask, &r.name);
                r
            })
            .collect();
        let got = matches(&rules, &[0.9, 0.85, 0.2]);
        assert_eq!(
            got.values,
            [SignalValue {
                key: "reask:persistently_dissatisfied".into(),
                value: 2.0
            }]
        );
        assert!(matches(&rules, &[0.1]).values.is_empty());
    }

    /// The most recent earlier turn (0.6, 0.8) is not a repeat: an exact repeat before it does
    /// not count (`ClassifyOlderMatchBrokenByMostRecentTurn`).
    #[test]
    fn the_most_recent_turn_must_repeat() {
        let sims = [0.6f32, 1.0];
        assert!(matches(&fragment(), &sims).matches.is_empty());
        assert!(matches(&fragment(), &[]).matches.is_empty());
    }

    #[test]
    fn turns_skip_other_roles_and_blank_user_turns() {
        let msg = |role: &str, text: &str| ChatMessage::new(role, text);
        let req = RouteRequest {
            messages: vec![
                msg("system", "be brief"),
                msg("user", "fix my code"),
                msg("assistant", "done"),
                msg("user", "   "),
                msg("user", "still broken: fix my code"),
                msg("assistant", "sorry"),
            ],
            ..Default::default()
        };
        let (current, earlier) = turns(&req).unwrap();
        assert_eq!(current, "still broken: fix my code");
        assert_eq!(earlier, ["fix my code"]);
        assert!(turns(&RouteRequest::from_prompt("only one turn")).is_none());
    }

    proptest::proptest! {
        /// Any similarities and rules: no panic, one lookback kept at most, confidences in
        /// [0, 1].
        #[test]
        fn any_similarities_evaluate(
            sims in proptest::collection::vec(-1.5f32..1.5, 0..6),
            rules in proptest::collection::vec((0.0f32..1.0, 1usize..5), 0..4),
        ) {
            let rules: Vec<Rule> = rules
                .into_iter()
                .enumerate()
                .map(|(i, (threshold, lookback))| Rule { name: format!("r{i}"), threshold, lookback, measured: None })
                .collect();
            let m = matches(&rules, &sims).matches;
            let lookbacks: std::collections::BTreeSet<usize> = m
                .iter()
                .map(|x| rules.iter().find(|r| r.name == x.name).unwrap().lookback)
                .collect();
            proptest::prop_assert!(lookbacks.len() <= 1);
            for x in &m {
                proptest::prop_assert!((0.0..=1.0).contains(&x.confidence));
            }
        }
    }
}
