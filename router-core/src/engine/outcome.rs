//! What routing returns: the chosen decision and model, plugins, signals and (optionally) why.

use std::fmt;

use serde::Serialize;

use crate::config::AlgorithmKind;
use crate::plugins::{BlockAction, PluginConfig, SemanticCacheConfig, SystemPromptAction};
use crate::signals::SignalMatch;

/// The result of routing one request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteOutcome {
    /// The winning decision; `None` when no decision matched (default model).
    pub decision: Option<String>,
    /// The chosen model: the decision's first modelRef, the one its learned selection chose,
    /// or the default model.
    pub model: String,
    /// Whether reasoning is on.
    pub use_reasoning: bool,
    /// Effort when reasoning is on (the modelRef's, else `providers.defaults.default_reasoning_effort`).
    pub reasoning_effort: Option<String>,
    /// LoRA adapter named by the modelRef.
    pub lora_name: Option<String>,
    /// Confidence of the winning decision's rule tree (0 when no decision matched).
    pub confidence: f32,
    /// The decision's enabled plugins.
    pub plugins: Vec<PluginConfig>,
    /// Set when a block / fast_response plugin applies: answer with this instead of a model.
    pub block: Option<BlockAction>,
    /// Set when a system_prompt plugin applies.
    pub system_prompt: Option<SystemPromptAction>,
    /// Set when a semantic / response cache plugin applies.
    pub cache: Option<SemanticCacheConfig>,
    /// Every signal match computed for the request.
    pub signals: Vec<SignalMatch>,
    /// What the decision's selection algorithm chose (`knn`, `router_dc`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection: Option<Selection>,
    /// Per-decision evaluation details (only from `route_with_trace` / `decide(.., true)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<Vec<DecisionTrace>>,
}

/// What a decision's selection algorithm chose for one request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selection {
    /// The algorithm.
    pub method: AlgorithmKind,
    /// Index of the chosen model in the decision's modelRefs.
    pub choice: usize,
    /// Each modelRef's score, in modelRefs order (`None`: not scored): the predicted quality
    /// (learned), the softmax of similarities (`router_dc`), the weighted factors
    /// (`multi_factor`), the latency ratio to the fastest, lower is better (`latency_aware`).
    pub scores: Vec<Option<f32>>,
    /// The algorithm's confidence (`None` for learned selectors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// Why, in words (`None` for learned selectors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The decision step's result in compact form: the winning decision by index, its confidence
/// and the signal matches it came from. [`crate::engine::Router::route`] turns it into a
/// [`RouteOutcome`] with [`crate::engine::Router::outcome`]; offline replays keep this form and
/// read what it routes to through [`crate::engine::Router::target`] (no per-request copies of
/// names and plugin settings).
#[derive(Debug, Clone, PartialEq)]
pub struct RouteDecision {
    /// Index of the winning decision in `routing.decisions`; `None` when none matched.
    pub index: Option<usize>,
    /// Confidence of the winning decision's rule tree (0 when none matched).
    pub confidence: f32,
    /// Every signal match computed for the request.
    pub signals: Vec<SignalMatch>,
    /// The selection algorithm's choice, when the winning decision has one.
    pub selection: Option<Selection>,
}

/// What a [`RouteDecision`] routes to, borrowed from the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteTarget<'a> {
    /// The winning decision's name; `None` for the default model.
    pub decision: Option<&'a str>,
    /// The chosen model.
    pub model: &'a str,
    /// Whether reasoning is on.
    pub use_reasoning: bool,
    /// Whether a block / fast_response plugin answers instead of a model.
    pub blocked: bool,
}

/// How one decision evaluated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionTrace {
    /// Decision name.
    pub name: String,
    /// Its priority.
    pub priority: i64,
    /// Whether its rule tree matched.
    pub matched: bool,
    /// Rule-tree confidence when matched.
    pub confidence: Option<f32>,
    /// The rule tree with each leaf's result, e.g. `AND(keyword:urgent=1.00, NOT(jailbreak:pi=no))`.
    pub expression: String,
    /// Every leaf, in tree order.
    pub leaves: Vec<LeafTrace>,
}

/// How one leaf of a rule tree evaluated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeafTrace {
    /// YAML path below the decision (`rules.conditions[1]`).
    pub path: String,
    /// Signal type as written (`keyword`, `complexity`, ...).
    pub kind: String,
    /// Signal rule name.
    pub name: String,
    /// Whether the signal matched.
    pub matched: bool,
    /// The match's confidence.
    pub confidence: Option<f32>,
    /// The signal's evidence when matched, else why not.
    pub evidence: String,
}

impl fmt::Display for RouteOutcome {
    /// Human-readable summary (decision, model, reasoning, plugins, signals, trace).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.decision {
            Some(d) => writeln!(f, "decision:   {d} (confidence {:.3})", self.confidence)?,
            None => writeln!(f, "decision:   none (default model)")?,
        }
        writeln!(f, "model:      {}", self.model)?;
        match (&self.use_reasoning, &self.reasoning_effort) {
            (true, Some(e)) => writeln!(f, "reasoning:  on (effort {e})")?,
            (true, None) => writeln!(f, "reasoning:  on")?,
            (false, _) => writeln!(f, "reasoning:  off")?,
        }
        if let Some(l) = &self.lora_name {
            writeln!(f, "lora:       {l}")?;
        }
        if let Some(b) = &self.block {
            writeln!(f, "block:      status {} {:?}", b.status, b.message)?;
        }
        if let Some(s) = &self.system_prompt {
            writeln!(f, "system:     {:?} {:?}", s.mode, s.system_prompt)?;
        }
        if let Some(c) = &self.cache {
            writeln!(f, "cache:      similarity >= {}", c.similarity_threshold)?;
        }
        if self.plugins.is_empty() {
            writeln!(f, "plugins:    none")?;
        } else {
            let names: Vec<&str> = self
                .plugins
                .iter()
                .map(|p| match p {
                    PluginConfig::Block(_) => "block",
                    PluginConfig::SystemPrompt(_) => "system_prompt",
                    PluginConfig::SemanticCache(_) => "semantic_cache",
                })
                .collect();
            writeln!(f, "plugins:    {}", names.join(", "))?;
        }
        writeln!(f, "signals:")?;
        if self.signals.is_empty() {
            writeln!(f, "  (none matched)")?;
        }
        for s in &self.signals {
            writeln!(
                f,
                "  {}:{} = {:.3}  {}",
                s.kind, s.name, s.confidence, s.evidence
            )?;
        }
        if let Some(trace) = &self.trace {
            writeln!(f, "trace:")?;
            for d in trace {
                let mark = if d.matched { "MATCH" } else { "-    " };
                writeln!(f, "  {mark} [{}] {}: {}", d.priority, d.name, d.expression)?;
                for l in &d.leaves {
                    writeln!(
                        f,
                        "        {} {}:{}  {}",
                        if l.matched { "+" } else { "x" },
                        l.kind,
                        l.name,
                        l.evidence
                    )?;
                }
            }
        }
        Ok(())
    }
}
