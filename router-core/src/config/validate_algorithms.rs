//! Validation of `routing.modelCards` (the seed's `validateCanonicalContract` and
//! `validateCanonicalDecisionModelRefs`, `pkg/config/canonical_config.go`) and of decisions'
//! `algorithm` blocks (`validator_decision.go`, the algorithm checks).

use std::collections::HashSet;

use super::schema::RouterConfig;
use super::validate::Validator;
use super::{AlgorithmKind, DecisionAlgorithm, LatencyAwareSettings, REFUSED_TYPES};

/// `multi_factor.on_no_candidates` values.
const ON_NO_CANDIDATES: [&str; 3] = ["cheapest", "first", "fail"];

impl Validator<'_> {
    /// With model cards declared, every provider model and the default model names a card (the
    /// default may name a card's LoRA). Without cards nothing is checked, as in the seed.
    pub(super) fn model_cards(&mut self, c: &RouterConfig) {
        let cards = &c.routing.model_cards;
        if cards.is_empty() {
            return;
        }
        let names = self.names(
            "routing.modelCards",
            "model card",
            cards.iter().map(|m| m.name.as_str()),
        );
        let loras: HashSet<&str> = cards
            .iter()
            .flat_map(|m| m.loras.iter().map(|l| l.name.as_str()))
            .collect();
        for (i, m) in c.providers.models.iter().enumerate() {
            if !names.contains(m.name.as_str()) {
                let message = format!("model {:?} has no routing.modelCards entry", m.name);
                self.error(&format!("providers.models[{i}].name"), &message);
            }
        }
        let dm = c.providers.defaults.default_model.as_str();
        if !dm.is_empty() && !names.contains(dm) && !loras.contains(dm) {
            let message = format!("default model {dm:?} is neither a model card nor a LoRA of one");
            self.error("providers.defaults.default_model", &message);
        }
    }

    /// With model cards declared, each modelRef names a card or a card's LoRA, and its
    /// `lora_name` is a LoRA of its card.
    pub(super) fn decision_cards(&mut self, c: &RouterConfig) {
        let cards = &c.routing.model_cards;
        if cards.is_empty() {
            return;
        }
        let loras: HashSet<&str> = cards
            .iter()
            .flat_map(|m| m.loras.iter().map(|l| l.name.as_str()))
            .collect();
        for (i, d) in c.routing.decisions.iter().enumerate() {
            for (j, r) in d.model_refs.iter().enumerate() {
                let at = format!("routing.decisions[{i}].modelRefs[{j}]");
                let card = cards.iter().find(|m| m.name == r.model);
                if card.is_none() && !loras.contains(r.model.as_str()) {
                    let message = format!("model {:?} is not in routing.modelCards", r.model);
                    self.error(&format!("{at}.model"), &message);
                }
                if let (Some(card), Some(lora)) = (card, &r.lora_name) {
                    if !card.loras.iter().any(|l| &l.name == lora) {
                        let message = format!(
                            "LoRA {lora:?} is not in the loras of model card {:?}",
                            card.name
                        );
                        self.error(&format!("{at}.lora_name"), &message);
                    }
                }
            }
        }
    }

    /// Each decision's `algorithm`: a known lowercase type, at most one block, the block of
    /// its own type, and the settings of the types routelab runs.
    pub(super) fn algorithms(&mut self, c: &RouterConfig) {
        for (i, d) in c.routing.decisions.iter().enumerate() {
            if let Some(a) = &d.algorithm {
                self.algorithm(&format!("routing.decisions[{i}].algorithm"), a);
            }
        }
    }

    fn algorithm(&mut self, at: &str, a: &DecisionAlgorithm) {
        let t = a.kind.as_str();
        let kind = if t.trim().is_empty() {
            return self.error(&format!("{at}.type"), "algorithm.type is empty");
        } else if t != t.to_lowercase() {
            let message = format!("{t:?} must use the lowercase value {:?}", t.to_lowercase());
            return self.error(&format!("{at}.type"), &message);
        } else if REFUSED_TYPES.contains(&t) {
            let message = format!("{t:?} is not a decision algorithm in v0.3 (the seed moved it to global.router.learning)");
            return self.error(&format!("{at}.type"), &message);
        } else {
            match AlgorithmKind::parse(t) {
                Some(k) => k,
                None => {
                    let message = format!("unknown algorithm type {t:?} (static, router_dc, multi_factor, latency_aware, knn, mlp, mf, or one of the seed's looper and selector types)");
                    return self.error(&format!("{at}.type"), &message);
                }
            }
        };
        let blocks = a.blocks();
        if blocks.len() > 1 {
            let message = format!("one algorithm block at most, found {}", blocks.join(", "));
            self.error(at, &message);
        } else if let Some(&b) = blocks.first() {
            if b != t {
                let message = format!("block {b:?} does not match algorithm.type {t:?}");
                self.error(&format!("{at}.{b}"), &message);
            }
        }
        match kind {
            AlgorithmKind::LatencyAware => match &a.latency_aware {
                None => self.error(at, "type latency_aware needs a latency_aware block with tpot_percentile and/or ttft_percentile"),
                Some(s) => self.latency_percentiles(&format!("{at}.latency_aware"), s),
            },
            AlgorithmKind::MultiFactor => {
                let on_none = a.multi_factor.as_ref().and_then(|m| m.on_no_candidates.as_deref());
                if let Some(v) = on_none {
                    if !ON_NO_CANDIDATES.contains(&v.to_lowercase().as_str()) {
                        let message = format!("{v:?} is not one of {}", ON_NO_CANDIDATES.join(", "));
                        self.error(&format!("{at}.multi_factor.on_no_candidates"), &message);
                    }
                }
            }
            _ => {}
        }
    }

    /// At least one percentile set, each set one in 1..=100.
    fn latency_percentiles(&mut self, at: &str, s: &LatencyAwareSettings) {
        if s.tpot_percentile == 0 && s.ttft_percentile == 0 {
            self.error(at, "set tpot_percentile and/or ttft_percentile (1 to 100)");
        }
        for (key, p) in [
            ("tpot_percentile", s.tpot_percentile),
            ("ttft_percentile", s.ttft_percentile),
        ] {
            if p != 0 && !(1..=100).contains(&p) {
                self.error(
                    &format!("{at}.{key}"),
                    &format!("{key} must be between 1 and 100, got {p}"),
                );
            }
        }
    }
}

impl Validator<'_> {
    /// Metadata rules as the seed's `validateMetadataContracts` checks them: a key without
    /// surrounding whitespace and exactly one comparator (names are checked with every kind's).
    pub(super) fn metadata_rules(&mut self, rules: &[super::MetadataRule]) {
        for (i, r) in rules.iter().enumerate() {
            let at = format!("routing.signals.metadata[{i}]");
            if r.key.trim().is_empty() {
                self.error(&format!("{at}.key"), "key is required");
            } else if r.key.trim() != r.key {
                self.error(
                    &format!("{at}.key"),
                    "key must not have surrounding whitespace",
                );
            }
            if r.predicate.comparators() != 1 {
                let message = "predicate must set exactly one of equals, in (non-empty) or exists";
                self.error(&format!("{at}.predicate"), message);
            }
        }
    }
}
