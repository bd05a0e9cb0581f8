//! Complexity signal, as the seed evaluates it (`pkg/classification/complexity_rule_scoring.go`,
//! `complexity_candidate_embeddings.go`, `classifier_signal_complexity.go`).
//!
//! Each rule's `hard` and `easy` examples are embedded once, when the signal is built, and
//! reduced to prototype banks as embedding rules are ([`prototypes::prototypes`], with
//! `global.model_catalog.modules.complexity.prototype_scoring`). Per request the last user
//! message (sampled to 2,048 characters, [`super::text_window`]) is embedded and every rule
//! emits exactly one level: with `margin` = hard bank score − easy bank score
//! ([`prototypes::score`] as `max`; an empty bank scores 0), `<rule>:hard` when the margin is
//! above `threshold`, `<rule>:easy` when it is below −`threshold`, `<rule>:medium` otherwise;
//! confidence |margin| (clamped to 1). A rule's `composer` may drop its level afterwards (in the
//! engine, after the other signals).

use super::prototypes::{self, dot, Settings};
use super::{measured_parts, Signal, SignalKind, SignalMatch, SignalResults, SignalValue};
use crate::config::{Aggregation, ComplexityRule, PrototypeScoring};
use crate::inference::{Embedder, Stored};
use crate::request::RouteRequest;
use crate::Result;

/// The prototypes of one side (hard or easy) of a rule, as unit vectors.
struct Bank {
    vectors: Vec<Vec<f32>>,
}

struct Rule {
    name: String,
    threshold: f32,
    hard: Bank,
    easy: Bank,
    /// The values projections read ([`PARTS`]), with their keys.
    measured: Vec<(usize, String)>,
}

/// The values a rule reports (the seed's `evaluateComplexitySignal`): the hard and easy bank
/// scores, their margin, and the fused margin, which is the text margin (routelab scores no
/// images, so the seed's `image_*` values read 0).
const PARTS: [&str; 4] = [
    "text_hard_score",
    "text_easy_score",
    "text_margin",
    "margin",
];

/// Compiled complexity rules over one embedder.
pub struct ComplexitySignal {
    model: Stored<Embedder>,
    rules: Vec<Rule>,
    settings: Settings,
}

impl ComplexitySignal {
    /// Builds every rule (the seed scores them all whenever the signal runs), embedding all
    /// examples in one pass.
    pub fn new(
        model: impl Into<Stored<Embedder>>,
        rules: &[ComplexityRule],
        scoring: &PrototypeScoring,
    ) -> Result<Self> {
        let model = model.into();
        let settings = Settings::of(scoring);
        let all: Vec<&str> = rules
            .iter()
            .flat_map(|r| r.hard.candidates.iter().chain(&r.easy.candidates))
            .map(String::as_str)
            .collect();
        // Examples are embedded by the model itself: the store keeps request outputs only.
        let mut vectors = if all.is_empty() {
            Vec::new().into_iter()
        } else {
            Embedder::embed_batch(&model, &all)?.into_iter()
        };
        let mut bank = |texts: &[String]| {
            let v: Vec<Vec<f32>> = vectors.by_ref().take(texts.len()).collect();
            let keep = prototypes::prototypes(texts, &v, &settings);
            Bank {
                vectors: keep.iter().map(|&i| v[i].clone()).collect(),
            }
        };
        let rules = rules
            .iter()
            .map(|r| Rule {
                name: r.name.clone(),
                threshold: r.threshold,
                hard: bank(&r.hard.candidates),
                easy: bank(&r.easy.candidates),
                measured: Vec::new(),
            })
            .collect();
        Ok(ComplexitySignal {
            model,
            rules,
            settings,
        })
    }

    /// Reports each rule's values whose keys are in `wanted` (`complexity:<rule>:margin`, ...).
    pub fn measuring(mut self, wanted: &std::collections::BTreeSet<String>) -> Self {
        for r in &mut self.rules {
            r.measured = measured_parts(wanted, SignalKind::Complexity, &r.name, &PARTS);
        }
        self
    }
}

/// A bank's score for the query `q` (0 without prototypes).
fn score(bank: &Bank, q: &[f32], settings: &Settings) -> f32 {
    let sims: Vec<f32> = bank.vectors.iter().map(|v| dot(q, v)).collect();
    prototypes::score(&sims, Aggregation::Max, settings, None).unwrap_or(0.0)
}

/// Every rule's level for the query embedding `q`, with the values projections read.
fn matches(rules: &[Rule], settings: &Settings, q: &[f32]) -> SignalResults {
    let mut values = Vec::new();
    let matches = rules
        .iter()
        .map(|r| {
            let (hard, easy) = (score(&r.hard, q, settings), score(&r.easy, q, settings));
            let margin = hard - easy;
            let parts = [hard, easy, margin, margin];
            values.extend(r.measured.iter().map(|(i, key)| SignalValue {
                key: key.clone(),
                value: f64::from(parts[*i]),
            }));
            let level = level(margin, r.threshold);
            SignalMatch {
                kind: SignalKind::Complexity,
                name: format!("{}:{level}", r.name),
                confidence: margin.abs().min(1.0),
                evidence: format!(
                    "hard {hard:.3} - easy {easy:.3} = {margin:+.3} (medium within ±{})",
                    r.threshold
                ),
            }
        })
        .collect();
    SignalResults { matches, values }
}

/// The level of a margin: strictly above `t` hard, strictly below −`t` easy, else medium (the
/// seed's `classifyComplexityDifficulty`).
fn level(margin: f32, t: f32) -> &'static str {
    if margin > t {
        "hard"
    } else if margin < -t {
        "easy"
    } else {
        "medium"
    }
}

impl Signal for ComplexitySignal {
    fn kind(&self) -> SignalKind {
        SignalKind::Complexity
    }

    fn evaluate(&self, request: &RouteRequest) -> Result<Vec<SignalMatch>> {
        Ok(self.evaluate_batch(&[request])?.remove(0))
    }

    fn evaluate_batch(&self, requests: &[&RouteRequest]) -> Result<Vec<Vec<SignalMatch>>> {
        Ok(super::matches_of(self.evaluate_results(requests)?))
    }

    fn evaluate_results(&self, requests: &[&RouteRequest]) -> Result<Vec<SignalResults>> {
        let rules = !self.rules.is_empty();
        super::text_window::match_embedded(&self.model, requests, rules, |q| {
            matches(&self.rules, &self.settings, q)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bank(v: &[[f32; 2]]) -> Bank {
        Bank {
            vectors: v.iter().map(|x| x.to_vec()).collect(),
        }
    }

    /// Hard (1, 0), (0.8, 0.6) and easy (0, 1), (0.6, 0.8): two prototypes each (0.8 < 0.9),
    /// so a bank scores 0.875 · s0 + 0.125 · s1 (0.75 · best + 0.25 · mean of the top 2).
    fn setup_a(threshold: f32) -> Vec<Rule> {
        vec![Rule {
            name: "r".into(),
            threshold,
            hard: bank(&[[1.0, 0.0], [0.8, 0.6]]),
            easy: bank(&[[0.0, 1.0], [0.6, 0.8]]),
            measured: Vec::new(),
        }]
    }

    fn got(rules: &[Rule], q: [f32; 2]) -> (String, f32) {
        let m = matches(rules, &Settings::default(), &q).matches.remove(0);
        (m.name, m.confidence)
    }

    #[test]
    fn levels_follow_the_margin_band() {
        let s = setup_a(0.1);
        let close = |(name, c): (String, f32), want: &str, conf: f32| {
            assert_eq!(name, want);
            assert!((c - conf).abs() < 1e-5, "{name}: {c} vs {conf}");
        };
        // (1, 0): hard 0.975, easy 0.875 · 0.6 = 0.525: margin +0.45.
        close(got(&s, [1.0, 0.0]), "r:hard", 0.45);
        // (0, 1): the mirror image.
        close(got(&s, [0.0, 1.0]), "r:easy", 0.45);
        // (0.8, 0.6): hard 0.975, easy 0.875 · 0.96 + 0.125 · 0.6 = 0.915: margin 0.06.
        close(got(&s, [0.8, 0.6]), "r:medium", 0.06);
        // (0.8944, 0.4472): hard 0.972690, easy 0.838525: margin 0.134164.
        close(got(&s, [0.894_427_2, 0.447_213_6]), "r:hard", 0.134_164);
        // The band is strict: a margin of exactly the threshold is medium.
        assert_eq!(level(0.1, 0.1), "medium");
        assert_eq!(level(-0.1, 0.1), "medium");
        assert_eq!(level(0.0, 0.0), "medium");
        assert_eq!(level(1e-6, 0.0), "hard");
    }

    /// The values projections read (`evaluateComplexitySignal`'s `SignalValues`), only those
    /// asked for: at (1, 0), hard 0.975, easy 0.525, margin 0.45 (text and fused alike).
    #[test]
    fn measured_values_are_the_bank_scores_and_margin() {
        let wanted: std::collections::BTreeSet<String> = [
            "complexity:r:text_hard_score",
            "complexity:r:text_easy_score",
            "complexity:r:margin",
            "complexity:other:margin",
        ]
        .map(String::from)
        .into();
        let mut rules = setup_a(0.1);
        rules[0].measured = measured_parts(&wanted, SignalKind::Complexity, "r", &PARTS);
        let got = matches(&rules, &Settings::default(), &[1.0, 0.0]).values;
        let keys: Vec<&str> = got.iter().map(|v| v.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "complexity:r:text_hard_score",
                "complexity:r:text_easy_score",
                "complexity:r:margin"
            ]
        );
        for (v, want) in got.iter().zip([0.975, 0.525, 0.45]) {
            assert!((v.value - want).abs() < 1e-6, "{}: {}", v.key, v.value);
        }
    }

    /// An empty easy side scores 0: the margin is the hard score.
    #[test]
    fn an_empty_bank_scores_zero() {
        let s = vec![Rule {
            name: "r".into(),
            threshold: 0.5,
            hard: bank(&[[1.0, 0.0]]),
            easy: bank(&[]),
            measured: Vec::new(),
        }];
        let (name, c) = got(&s, [0.6, 0.8]);
        assert_eq!((name.as_str(), (c * 1e4).round()), ("r:hard", 6000.0));
    }
}
