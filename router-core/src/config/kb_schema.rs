//! Knowledge bases (`global.model_catalog.kbs`) and the rules that read them
//! (`routing.signals.kb`), as the seed declares them (`pkg/config/kb_config.go`,
//! `canonical_defaults.go`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::schema::PrototypeScoring;

/// `global.model_catalog.kbs[]`: labelled example sentences read from a `labels.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KnowledgeBase {
    /// Name the rules use.
    pub name: String,
    /// Where its labels file is.
    pub source: KbSource,
    /// Score a label needs to be matched (default 0).
    #[serde(default)]
    pub threshold: f32,
    /// Per-label thresholds replacing `threshold`.
    #[serde(default)]
    pub label_thresholds: BTreeMap<String, f32>,
    /// Named sets of labels.
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
    /// Metrics for projections (`group_margin`).
    #[serde(default)]
    pub metrics: Vec<KbMetric>,
    /// How a label's examples become prototypes and are scored.
    #[serde(default)]
    pub prototype_scoring: PrototypeScoring,
}

/// `source` of a knowledge base.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KbSource {
    /// The folder of the labels file.
    pub path: String,
    /// The labels file's name in it (default `labels.json`).
    #[serde(default)]
    pub manifest: Option<String>,
}

/// `metrics[]` of a knowledge base.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KbMetric {
    /// Metric name (`kb_metric` inputs name it).
    pub name: String,
    /// `group_margin`, the only type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The group whose score counts positively.
    #[serde(default)]
    pub positive_group: String,
    /// The group whose score is subtracted.
    #[serde(default)]
    pub negative_group: String,
}

/// `routing.signals.kb[]`: a label or group of a knowledge base, matched when it is the best
/// (`match: best`) or when it passes its threshold (`match: threshold`, the default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KbRule {
    /// Rule name (decision leaves `type: kb` name it).
    pub name: String,
    /// The knowledge base.
    pub kb: String,
    /// What must match.
    pub target: KbTarget,
    /// `best` or `threshold` (default).
    #[serde(default, rename = "match")]
    pub match_mode: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
}

impl KbRule {
    /// Whether the rule matches the best label or group only. The seed's runtime compares
    /// the value as written (`kbSignalMatchMode`): only `best` is best.
    pub fn best(&self) -> bool {
        self.match_mode.as_deref() == Some("best")
    }
}

/// `target` of a kb rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KbTarget {
    /// `label` or `group`.
    pub kind: String,
    /// The label or group name.
    pub value: String,
}

/// The knowledge bases of a config that declares none: the seed's defaults
/// (`defaultCanonicalKnowledgeBases`), `privacy_kb` and `mmlu_kb`, whose labels files ship
/// with routelab (`configs/vllm-sr/knowledge_bases/`).
pub fn default_kbs() -> Vec<KnowledgeBase> {
    let group = |labels: &[&str]| labels.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    let margin = |name: &str, pos: &str, neg: &str| KbMetric {
        name: name.into(),
        kind: "group_margin".into(),
        positive_group: pos.into(),
        negative_group: neg.into(),
    };
    let security = [
        "prompt_injection",
        "credential_exfiltration",
        "jailbreak_role",
        "system_prompt_extraction",
    ];
    let policy = [
        "proprietary_code",
        "internal_document",
        "pii",
        "business_strategy",
        "trade_secret_ip",
        "operational_infrastructure",
        "locality_directive",
        "customer_data",
    ];
    let frontier = [
        "architecture_analysis",
        "root_cause_analysis",
        "multi_step_tradeoffs",
    ];
    let local = ["generic_coding", "simple_task", "general_knowledge"];
    let privacy = KnowledgeBase {
        name: "privacy_kb".into(),
        source: KbSource {
            path: "knowledge_bases/privacy/".into(),
            manifest: None,
        },
        threshold: 0.55,
        label_thresholds: BTreeMap::from([("prompt_injection".to_string(), 0.7)]),
        groups: BTreeMap::from([
            ("security_containment".to_string(), group(&security)),
            ("privacy_policy".to_string(), group(&policy)),
            ("frontier_reasoning".to_string(), group(&frontier)),
            ("local_standard".to_string(), group(&local)),
            (
                "private".to_string(),
                group(&[&security[..], &policy[..]].concat()),
            ),
            (
                "public".to_string(),
                group(&[&frontier[..], &local[..]].concat()),
            ),
        ]),
        metrics: vec![margin("private_vs_public", "private", "public")],
        prototype_scoring: PrototypeScoring::default(),
    };
    let mmlu = KnowledgeBase {
        name: "mmlu_kb".into(),
        source: KbSource {
            path: "knowledge_bases/mmlu/".into(),
            manifest: None,
        },
        threshold: 0.25,
        label_thresholds: BTreeMap::new(),
        groups: BTreeMap::from([
            (
                "escalate".to_string(),
                group(&[
                    "biology",
                    "business",
                    "computer science",
                    "economics",
                    "history",
                    "math",
                    "other",
                    "philosophy",
                    "psychology",
                ]),
            ),
            (
                "keep".to_string(),
                group(&["chemistry", "engineering", "health", "law", "physics"]),
            ),
        ]),
        metrics: vec![margin("escalate_vs_keep", "escalate", "keep")],
        prototype_scoring: PrototypeScoring::default(),
    };
    vec![privacy, mmlu]
}
