//! `router_dc`: the modelRef whose model card reads most like the request (the seed's
//! `pkg/selection/router_dc.go`, `RouterDCSelector.Select` and `buildDescriptionText`).
//!
//! Each candidate's similarity is `sigmoid(cos(query, card) / T)`; the best one wins when it
//! reaches `min_similarity`, else the first modelRef. The reported scores are a softmax of
//! the similarities at the same temperature, a candidate without card text counting
//! `min_similarity` there (and never winning).

use super::Choice;
use crate::config::{ModelCard, ModelSelection, RouterConfig, RouterDcSettings};
use crate::inference::cosine;

/// The seed's defaults for `global.router.model_selection.router_dc`.
const TEMPERATURE: f64 = 0.07;
const MIN_SIMILARITY: f64 = 0.3;

/// The settings `router_dc` decisions of one config run with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RouterDcParams {
    /// Temperature `T`.
    pub temperature: f64,
    /// Similarity below which the first modelRef is used.
    pub min_similarity: f64,
    /// Whether card capabilities are part of the embedded text.
    pub use_capabilities: bool,
}

impl RouterDcParams {
    /// The seed's `buildRouterDCSelectionConfig`: the global block (or its defaults), then
    /// the first `router_dc` decision that has a block: its `temperature` when not 0, and its
    /// `use_capabilities` (absent: false). One set for the whole config, as the seed shares
    /// one selector.
    pub fn of(config: &RouterConfig) -> Self {
        let global = config_global(&config.global.router.model_selection);
        let mut p = RouterDcParams {
            temperature: global.temperature.unwrap_or(TEMPERATURE),
            min_similarity: global.min_similarity.unwrap_or(MIN_SIMILARITY),
            use_capabilities: global.use_capabilities.unwrap_or(true),
        };
        let first = config.routing.decisions.iter().find_map(|d| {
            let a = d.algorithm.as_ref()?;
            (a.kind == "router_dc")
                .then_some(a.router_dc.as_ref())
                .flatten()
        });
        if let Some(block) = first {
            if let Some(t) = block.temperature.filter(|t| *t != 0.0) {
                p.temperature = t;
            }
            p.use_capabilities = block.use_capabilities.unwrap_or(false);
        }
        p
    }

    /// The text embedded for `card`; empty when it has neither description nor capabilities.
    pub fn card_text(&self, card: &ModelCard) -> String {
        let capabilities = (!card.capabilities.is_empty())
            .then(|| format!("Capabilities: {}", card.capabilities.join(", ")));
        let mut parts: Vec<String> = Vec::new();
        if let Some(d) = card.description.as_deref().filter(|d| !d.is_empty()) {
            parts.push(d.to_owned());
        }
        if self.use_capabilities {
            parts.extend(capabilities.clone());
        }
        if parts.is_empty() {
            if let Some(c) = capabilities {
                parts.push(format!("Model: {}", card.name));
                parts.push(c);
            }
        }
        parts.join(". ")
    }

    /// Chooses among candidates whose card embeddings are `cards` (`None`: no card text).
    pub fn choose(&self, query: &[f32], cards: &[Option<&[f32]>]) -> Choice {
        let t = self.temperature;
        let mut similarity = vec![self.min_similarity; cards.len()];
        let mut best: Option<usize> = None;
        let mut best_score = 0.0;
        for (i, card) in cards.iter().enumerate() {
            let Some(card) = card else { continue };
            let s = 1.0 / (1.0 + (-f64::from(cosine(query, card)) / t).exp());
            similarity[i] = s;
            if s > best_score {
                best = Some(i);
                best_score = s;
            }
        }
        let Some(best) = best.filter(|_| best_score >= self.min_similarity) else {
            return first(cards.len(), "no model above the similarity threshold");
        };
        let max = similarity.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exp: Vec<f64> = similarity.iter().map(|s| ((s - max) / t).exp()).collect();
        let sum: f64 = exp.iter().sum();
        Choice {
            index: best,
            scores: exp.iter().map(|e| Some((e / sum) as f32)).collect(),
            confidence: if best_score > 0.9 {
                0.95
            } else {
                best_score as f32
            },
            reason: format!("query-model similarity {best_score:.4} (temperature {t:.3})"),
        }
    }
}

/// The seed's `defaultSelection`: the first modelRef, every candidate scored `1/n`.
fn first(n: usize, reason: &str) -> Choice {
    Choice {
        index: 0,
        scores: vec![Some(1.0 / n.max(1) as f32); n],
        confidence: 0.5,
        reason: reason.to_owned(),
    }
}

fn config_global(m: &ModelSelection) -> RouterDcSettings {
    m.router_dc.clone().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> RouterDcParams {
        RouterDcParams {
            temperature: 0.5,
            min_similarity: 0.3,
            use_capabilities: true,
        }
    }

    /// `RouterDCSelector.Select`: sigmoid(cos/T), softmax at T over every candidate (one
    /// without card text at min_similarity), confidence the best similarity.
    #[test]
    fn similarities_softmax_and_confidence_by_hand() {
        let q = [1.0, 0.0];
        let a = [0.0, 1.0]; // cos 0 → sigmoid(0) = 0.5
        let b = [1.0, 1.0]; // cos 1/√2 = 0.707107 → sigmoid(0.707107/0.5 = 1.414214) = 0.804429
        let c = choose(&q, &[Some(&a), Some(&b), None]);
        assert_eq!(c.index, 1);
        let s_b = 1.0 / (1.0 + (-(0.5f64.sqrt()) / 0.5).exp());
        assert!((s_b - 0.804_429).abs() < 1e-6);
        // softmax of (0.5, 0.804429, 0.3) / 0.5
        let e = [
            ((0.5 - s_b) / 0.5f64).exp(),
            1.0,
            ((0.3 - s_b) / 0.5f64).exp(),
        ];
        let sum: f64 = e.iter().sum();
        for (got, want) in c.scores.iter().zip(e.iter().map(|x| x / sum)) {
            assert!(
                (f64::from(got.unwrap()) - want).abs() < 1e-6,
                "{got:?} vs {want}"
            );
        }
        assert!((f64::from(c.confidence) - s_b).abs() < 1e-6);
        // At T = 0.1 the similarity is sigmoid(7.07) = 0.99915: reported as 0.95.
        let sharp = RouterDcParams {
            temperature: 0.1,
            ..params()
        };
        assert_eq!(sharp.choose(&q, &[Some(&b)]).confidence, 0.95);
    }

    fn choose(q: &[f32], cards: &[Option<&[f32]>]) -> Choice {
        params().choose(q, cards)
    }

    #[test]
    fn below_min_similarity_or_without_cards_the_first_model() {
        let p = RouterDcParams {
            min_similarity: 0.6,
            ..params()
        };
        // cos −1 → sigmoid(−2) = 0.119; cos 0 → 0.5: both below 0.6.
        let c = p.choose(&[1.0, 0.0], &[Some(&[-1.0, 0.0]), Some(&[0.0, 1.0])]);
        assert_eq!((c.index, c.confidence), (0, 0.5));
        assert_eq!(c.scores, vec![Some(0.5), Some(0.5)]);
        let none = params().choose(&[1.0], &[None, None, None]);
        assert_eq!(none.index, 0);
        assert!(none.reason.contains("threshold"));
    }

    /// `buildDescriptionText`.
    #[test]
    fn card_text_as_the_seed_builds_it() {
        let card = ModelCard {
            name: "m".into(),
            description: Some("Fast model.".into()),
            capabilities: vec!["chat".into(), "tools".into()],
            ..Default::default()
        };
        let with = params();
        assert_eq!(
            with.card_text(&card),
            "Fast model.. Capabilities: chat, tools"
        );
        let without = RouterDcParams {
            use_capabilities: false,
            ..params()
        };
        assert_eq!(without.card_text(&card), "Fast model.");
        let bare = ModelCard {
            description: None,
            ..card
        };
        assert_eq!(
            without.card_text(&bare),
            "Model: m. Capabilities: chat, tools"
        );
        assert_eq!(without.card_text(&ModelCard::default()), "");
    }

    /// `buildRouterDCSelectionConfig`: the first router_dc decision's block overrides the
    /// temperature (when not 0) and use_capabilities (absent: false).
    #[test]
    fn params_merge_the_global_block_and_the_first_decision() {
        let yaml = |block: &str| {
            let text = format!(
                "providers: {{defaults: {{default_model: a}}, models: [{{name: a}}]}}
routing:
  decisions:
    - {{name: d, modelRefs: [{{model: a}}], algorithm: {{type: router_dc{block}}}}}
global: {{router: {{model_selection: {{router_dc: {{temperature: 0.2, min_similarity: 0.5}}}}}}}}
"
            );
            let base = std::path::Path::new(".");
            let loaded = crate::config::LoadedConfig::from_yaml_str(&text, "t.yaml", base);
            loaded.unwrap().config
        };
        let p = RouterDcParams::of(&yaml(""));
        assert_eq!(
            (p.temperature, p.min_similarity, p.use_capabilities),
            (0.2, 0.5, true)
        );
        let p = RouterDcParams::of(&yaml(", router_dc: {temperature: 0.0}"));
        assert_eq!((p.temperature, p.use_capabilities), (0.2, false));
        let p = RouterDcParams::of(&yaml(
            ", router_dc: {temperature: 0.9, use_capabilities: true}",
        ));
        assert_eq!((p.temperature, p.use_capabilities), (0.9, true));
    }
}
