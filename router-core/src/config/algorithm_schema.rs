//! `routing.decisions[].algorithm` and `routing.modelCards`: how a decision picks among its
//! modelRefs, and what the selection algorithms read of each model (the seed's
//! `pkg/config/decision_config.go` `AlgorithmConfig`, `selection_config.go`, and
//! `canonical_config.go` `RoutingModel`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `routing.modelCards[]`: what the router knows of a model beyond how to reach it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    /// The model's name (`modelRefs[].model`, `providers.models[].name`).
    pub name: String,
    /// Size as written (`8B`); free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param_size: Option<String>,
    /// Context window in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window_size: Option<u64>,
    /// What the model is good at (embedded by `router_dc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Capability labels (embedded by `router_dc` with `use_capabilities`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
    /// LoRA adapters served on this model (`modelRefs[].lora_name`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loras: Vec<LoraAdapter>,
    /// Quality in `[0, 1]` (`multi_factor`); 0 or absent: unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_score: Option<f64>,
    /// `text`, `ar`, `omni`, `diffusion`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modality: Option<String>,
    /// Free labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// `routing.modelCards[].loras[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoraAdapter {
    /// The adapter's name.
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `routing.decisions[].algorithm`: its `type` and that type's block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DecisionAlgorithm {
    /// `static`, `router_dc`, `multi_factor`, `latency_aware`, `knn`, `confidence`, ...
    #[serde(rename = "type", default)]
    pub kind: String,
    /// `router_dc` settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router_dc: Option<RouterDcSettings>,
    /// `multi_factor` settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_factor: Option<MultiFactorSettings>,
    /// `latency_aware` settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_aware: Option<LatencyAwareSettings>,
    /// The blocks of the types routelab does not run (looper and experimental selectors), and
    /// `on_error`, as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_norway::Value>,
}

/// `router_dc` settings, of a decision or of `global.router.model_selection.router_dc`.
/// Of a decision's block the seed reads only `temperature` (when not 0), `require_descriptions`
/// and `use_capabilities` (absent: false); the rest comes from the global block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RouterDcSettings {
    /// Softmax and sigmoid temperature (global default 0.07).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Below this sigmoid similarity the first modelRef is used (global default 0.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_similarity: Option<f64>,
    /// Append `Capabilities: a, b` to each model's description (global default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_capabilities: Option<bool>,
    /// Warn when a model card has no text to embed (no effect on routing, as in the seed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_descriptions: Option<bool>,
    /// Read by the seed nowhere in selection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension_size: Option<u64>,
    /// Read by the seed nowhere in selection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_query_contrastive: Option<bool>,
    /// Read by the seed nowhere in selection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_model_contrastive: Option<bool>,
}

/// `multi_factor` settings (`MultiFactorSelectionConfig`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MultiFactorSettings {
    /// Factor weights; when the block is present an absent weight is 0 (renormalised).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<FactorWeights>,
    /// Ceilings that drop a candidate; absent or 0: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<Slo>,
    /// The latency percentile read (1..=100; otherwise 95).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_percentile: Option<i64>,
    /// When every candidate breaks an SLO: `cheapest` (default), `first` or `fail` (which the
    /// seed's request path turns into the first modelRef).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_no_candidates: Option<String>,
}

/// `multi_factor.weights`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct FactorWeights {
    /// Model card `quality_score` (higher is better).
    #[serde(default)]
    pub quality: f64,
    /// Latency percentile (lower is better).
    #[serde(default)]
    pub latency: f64,
    /// `pricing.prompt_per_1m` (lower is better).
    #[serde(default)]
    pub cost: f64,
    /// Requests in flight (lower is better).
    #[serde(default)]
    pub load: f64,
}

/// `multi_factor.slo`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    /// Time-per-output-token ceiling, ms.
    #[serde(default)]
    pub max_tpot_ms: f64,
    /// Time-to-first-token ceiling, ms.
    #[serde(default)]
    pub max_ttft_ms: f64,
    /// Prompt price ceiling, per million tokens.
    #[serde(default)]
    pub max_cost_per_1m: f64,
    /// In-flight ceiling (more than this drops the candidate).
    #[serde(default)]
    pub max_inflight: u64,
}

/// `latency_aware` settings (`LatencyAwareAlgorithmConfig`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyAwareSettings {
    /// Time-per-output-token percentile (1..=100; 0 or absent: not used).
    #[serde(default)]
    pub tpot_percentile: i64,
    /// Time-to-first-token percentile (1..=100; 0 or absent: not used).
    #[serde(default)]
    pub ttft_percentile: i64,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// How routelab runs an `algorithm.type` (the seed's `selectionMethodByAlgorithmType` and its
/// looper types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlgorithmKind {
    /// The first modelRef (`static`, or no algorithm).
    Static,
    /// A learned selector (`knn`, `mlp`, `mf`).
    Learned(crate::export::selector::SelectorMethod),
    /// Query-to-model-description similarity.
    RouterDc,
    /// Weighted quality, latency, cost and load.
    MultiFactor,
    /// Lowest latency percentiles.
    LatencyAware,
    /// A type whose outcome needs calling models or online state (looper types, `automix`,
    /// `hybrid`, `kmeans`, `svm`, `prompt`): routed to the first modelRef, not replayable.
    NotReplayable,
}

/// The looper types: they call several models and aggregate.
pub const LOOPER_TYPES: &[&str] = &["confidence", "ratings", "remom", "fusion", "workflows"];

/// Selector types the seed runs whose outcome needs model calls, online state or its own
/// artefacts (routelab's `knn` / `mlp` read its own exports).
pub const OTHER_SELECTOR_TYPES: &[&str] = &["automix", "hybrid", "kmeans", "svm", "prompt"];

/// Types the seed's v0.3 refuses on a decision (moved to `global.router.learning`).
pub const REFUSED_TYPES: &[&str] = &[
    "session_aware",
    "elo",
    "rl_driven",
    "gmtrouter",
    "bandit",
    "personalization",
];

impl AlgorithmKind {
    /// The kind of `type`; `None` for a type neither the seed nor routelab knows.
    pub fn parse(t: &str) -> Option<Self> {
        use crate::export::selector::SelectorMethod;
        Some(match t {
            "static" => Self::Static,
            "router_dc" => Self::RouterDc,
            "multi_factor" => Self::MultiFactor,
            "latency_aware" => Self::LatencyAware,
            t if LOOPER_TYPES.contains(&t) || OTHER_SELECTOR_TYPES.contains(&t) => {
                Self::NotReplayable
            }
            t => Self::Learned(SelectorMethod::parse(t)?),
        })
    }
}

impl AlgorithmKind {
    /// The type as the config writes it (`not_replayable` for the types routelab does not
    /// run).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Static => "static",
            Self::Learned(m) => m.as_str(),
            Self::RouterDc => "router_dc",
            Self::MultiFactor => "multi_factor",
            Self::LatencyAware => "latency_aware",
            Self::NotReplayable => "not_replayable",
        }
    }
}

impl std::fmt::Display for AlgorithmKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AlgorithmKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl DecisionAlgorithm {
    /// The names of the type blocks present (typed and untyped, `on_error` aside).
    pub fn blocks(&self) -> Vec<&str> {
        let typed = [
            ("router_dc", self.router_dc.is_some()),
            ("multi_factor", self.multi_factor.is_some()),
            ("latency_aware", self.latency_aware.is_some()),
        ];
        typed
            .into_iter()
            .filter(|(_, present)| *present)
            .map(|(name, _)| name)
            .chain(
                self.other
                    .keys()
                    .map(String::as_str)
                    .filter(|k| *k != "on_error"),
            )
            .collect()
    }
}
