//! Event signal: does the request text report an event of a rule's kind? The seed's
//! `classification/event_classifier.go` (`NewEventClassifier`, `Classify`) and
//! `classifier_signal_event.go`: each configured criterion (event types, severities, action
//! codes, `temporal`'s urgency words) is a set of whole-word, case-insensitive terms; a rule
//! matches when at least one criterion has a term in the text, with confidence
//! `0.5 + 0.5 · criteria met / criteria configured`. The text is the routing text, sampled
//! like the other semantic signals' ([`super::text_window::semantic`]). Word boundaries are
//! ASCII ones, as Go's `\b` (so `payment` is not a word of `payment_failed`).

use regex::Regex;

use super::text_window::{routing_text, semantic};
use super::{Signal, SignalKind, SignalMatch};
use crate::config::{EventRule, SEVERITIES};
use crate::request::RouteRequest;
use crate::{Error, Result};

/// The urgency words of `temporal: true` (`temporalPattern`).
const TEMPORAL: &str =
    r"(?i)(?-u:\b)(urgent|immediate|asap|deadline|time.sensitive|now|critical.window)(?-u:\b)";

/// One compiled rule: its name and its configured criteria.
struct Compiled {
    name: String,
    /// Each criterion's terms, one regex per criterion (any term matches).
    criteria: Vec<Regex>,
}

/// Compiled event rules.
pub struct EventSignal {
    rules: Vec<Compiled>,
}

/// One regex matching any of `terms` as a whole word in any case; `None` without terms.
fn any_word(terms: impl Iterator<Item = String>) -> Result<Option<Regex>> {
    let escaped: Vec<String> = terms
        .filter(|t| !t.is_empty())
        .map(|t| regex::escape(&t))
        .collect();
    if escaped.is_empty() {
        return Ok(None);
    }
    let pattern = format!(r"(?i)(?-u:\b)(?:{})(?-u:\b)", escaped.join("|"));
    Regex::new(&pattern).map(Some).map_err(|e| Error::Config {
        location: "routing.signals.events".into(),
        message: format!("cannot compile {pattern:?}: {e}"),
    })
}

impl EventSignal {
    /// Compiles the rules whose names are in `used` (all if `None`). Severities other than
    /// the four known ones are dropped, as the seed drops them (validation lists them).
    pub fn new(
        rules: &[EventRule],
        used: Option<&std::collections::BTreeSet<String>>,
    ) -> Result<Self> {
        let temporal = Regex::new(TEMPORAL).expect("a valid pattern");
        let mut out = Vec::new();
        for r in rules
            .iter()
            .filter(|r| used.is_none_or(|u| u.contains(&r.name)))
        {
            let trimmed = |v: &[String]| v.iter().map(|t| t.trim().to_owned()).collect::<Vec<_>>();
            let severities = r
                .severities
                .iter()
                .map(|s| s.trim().to_lowercase())
                .filter(|s| SEVERITIES.contains(&s.as_str()));
            let mut criteria: Vec<Regex> = [
                any_word(trimmed(&r.event_types).into_iter())?,
                any_word(severities)?,
                any_word(trimmed(&r.action_codes).into_iter())?,
            ]
            .into_iter()
            .flatten()
            .collect();
            if r.temporal {
                criteria.push(temporal.clone());
            }
            out.push(Compiled {
                name: r.name.clone(),
                criteria,
            });
        }
        Ok(EventSignal { rules: out })
    }
}

impl Signal for EventSignal {
    fn kind(&self) -> SignalKind {
        SignalKind::Event
    }

    fn evaluate(&self, request: &RouteRequest) -> Result<Vec<SignalMatch>> {
        let routing = routing_text(request);
        let text = semantic(&routing);
        if text.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .rules
            .iter()
            .filter_map(|r| {
                let met = r.criteria.iter().filter(|c| c.is_match(&text)).count();
                (met > 0).then(|| {
                    let configured = r.criteria.len();
                    SignalMatch {
                        kind: SignalKind::Event,
                        name: r.name.clone(),
                        confidence: 0.5 + 0.5 * met as f32 / configured as f32,
                        evidence: format!("{met} of {configured} criteria"),
                    }
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(types: &[&str], severities: &[&str], codes: &[&str], temporal: bool) -> EventRule {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        EventRule {
            name: "e".into(),
            event_types: owned(types),
            severities: owned(severities),
            action_codes: owned(codes),
            temporal,
            ..Default::default()
        }
    }

    fn confidence(r: EventRule, text: &str) -> Option<f32> {
        let s = EventSignal::new(&[r], None).unwrap();
        s.evaluate(&RouteRequest::from_prompt(text))
            .unwrap()
            .first()
            .map(|m| m.confidence)
    }

    /// The seed's `event_classifier_test.go` cases.
    #[test]
    fn criteria_met_over_criteria_configured() {
        let payment = || rule(&["payment_failed"], &["critical"], &[], false);
        assert_eq!(confidence(payment(), "payment_failed occurred"), Some(0.75));
        assert_eq!(
            confidence(payment(), "What is the weather like today?"),
            None
        );
        let all = rule(&["auth_error"], &["high"], &["AUTH_FAIL"], true);
        let text = "auth_error detected: AUTH_FAIL code, high severity, urgent action required";
        assert_eq!(confidence(all, text), Some(1.0));
        let case = rule(&["Payment_Failed"], &[], &[], false);
        assert_eq!(confidence(case, "PAYMENT_FAILED in production"), Some(1.0));
        assert_eq!(
            confidence(rule(&[], &[], &[], false), "anything urgent"),
            None
        );
        // Unknown severities are dropped: the rule has no criterion left.
        assert_eq!(
            confidence(rule(&[], &["severe"], &[], false), "severe outage"),
            None
        );
    }

    /// Go's `\b` is ASCII and `_` is a word character.
    #[test]
    fn words_are_ascii_words() {
        assert_eq!(
            confidence(
                rule(&["payment"], &[], &[], false),
                "a payment_failed event"
            ),
            None
        );
        assert_eq!(
            confidence(rule(&["payment"], &[], &[], false), "the payment failed"),
            Some(1.0)
        );
        let temporal = || rule(&[], &[], &[], true);
        assert_eq!(
            confidence(temporal(), "handle it immediately"),
            None,
            "not `immediate`"
        );
        assert_eq!(confidence(temporal(), "I know"), None);
        assert_eq!(confidence(temporal(), "a time-sensitive fix"), Some(1.0));
        // One of four criteria: 0.625, as the payment-critical fragment on ordinary text.
        let fragment = rule(
            &["payment_failed", "transaction_declined"],
            &["critical", "high"],
            &["TXN_DECLINE"],
            true,
        );
        assert_eq!(
            confidence(fragment, "how do I buy a high chair"),
            Some(0.625)
        );
    }
}
