//! Metadata signal: a predicate on one key of the request's `metadata` object (the seed's
//! `classification/classifier_signal_metadata.go`, `metadataRuleMatches`): `equals` a value,
//! `in` a list, or `exists` (true or false). Keys and values compare byte for byte.
//! Confidence 1.

use super::{Signal, SignalKind, SignalMatch};
use crate::config::MetadataRule;
use crate::request::RouteRequest;

/// Compiled metadata rules.
pub struct MetadataSignal {
    rules: Vec<MetadataRule>,
}

impl MetadataSignal {
    /// The rules whose names are in `used` (all if `None`).
    pub fn new(rules: &[MetadataRule], used: Option<&std::collections::BTreeSet<String>>) -> Self {
        let rules = rules
            .iter()
            .filter(|r| used.is_none_or(|u| u.contains(&r.name)))
            .cloned()
            .collect();
        MetadataSignal { rules }
    }
}

impl Signal for MetadataSignal {
    fn kind(&self) -> SignalKind {
        SignalKind::Metadata
    }

    fn evaluate(&self, request: &RouteRequest) -> crate::Result<Vec<SignalMatch>> {
        Ok(self
            .rules
            .iter()
            .filter_map(|r| {
                let value = request.metadata.get(&r.key).map(String::as_str);
                r.predicate.holds(value).then(|| SignalMatch {
                    kind: SignalKind::Metadata,
                    name: r.name.clone(),
                    confidence: 1.0,
                    evidence: match value {
                        Some(v) => format!("{}={v:?}", r.key),
                        None => format!("no {}", r.key),
                    },
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MetadataPredicate;

    fn rule(name: &str, key: &str, predicate: MetadataPredicate) -> MetadataRule {
        MetadataRule {
            name: name.into(),
            key: key.into(),
            predicate,
            ..Default::default()
        }
    }

    /// `classifier_signal_metadata_test.go`: {consent: denied, cohort: canary} matches
    /// `consent equals denied` and `cohort exists`.
    #[test]
    fn predicates_on_the_request_metadata() {
        let rules = [
            rule(
                "consent-denied",
                "consent",
                MetadataPredicate {
                    equals: Some("denied".into()),
                    ..Default::default()
                },
            ),
            rule(
                "has-cohort",
                "cohort",
                MetadataPredicate {
                    exists: Some(true),
                    ..Default::default()
                },
            ),
            rule(
                "no-tenant",
                "tenant",
                MetadataPredicate {
                    exists: Some(false),
                    ..Default::default()
                },
            ),
            rule(
                "beta",
                "cohort",
                MetadataPredicate {
                    one_of: vec!["beta".into(), "Canary".into()],
                    ..Default::default()
                },
            ),
        ];
        let s = MetadataSignal::new(&rules, None);
        let mut req = RouteRequest::from_prompt("x");
        req.metadata.insert("consent".into(), "denied".into());
        req.metadata.insert("cohort".into(), "canary".into());
        let names: Vec<String> = s
            .evaluate(&req)
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(
            names,
            ["consent-denied", "has-cohort", "no-tenant"],
            "`in` is case-sensitive"
        );
        let names: Vec<String> = s
            .evaluate(&RouteRequest::from_prompt("x"))
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(names, ["no-tenant"]);
    }
}
