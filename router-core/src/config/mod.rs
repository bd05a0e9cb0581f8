//! Config schema, loading and validation (vLLM Semantic Router v0.3 shape).
//!
//! [`LoadedConfig::from_file`] reads a YAML file into a [`RouterConfig`], validates it (every
//! problem is reported as `file:line: yaml.path: message`) and lists what routelab ignores:
//! keys it does not read (listeners, other signal kinds, plugin
//! types it does not implement, ...) and decision leaves whose signal kind routelab does not
//! implement.
//!
//! **Unimplemented signal kinds in rules.** A leaf such as `type: fact_check` never matches
//! (as if the signal were computed and found nothing) and is listed as ignored. Hence
//! `AND(x, fact_check)` never matches, `OR(x, fact_check)` behaves like `x`, and
//! `NOT(fact_check)` always matches. The decision itself stays enabled.
//!
//! **Keyword methods.** `method: bm25 | ngram` and `fuzzy_match` follow the seed (see
//! [`crate::signals::keyword_scored`]); any other method (the seed accepts none: its reference
//! config's `method: fuzzy` is refused by the seed itself) matches keywords exactly and is
//! listed as ignored.

mod algorithm_schema;
mod facts_schema;
mod kb_schema;
mod linemap;
mod load;
mod model_map;
mod projection_schema;
mod reasoning;
mod recipe_schema;
pub mod schema;
mod selection_schema;
pub mod tokens;
mod validate;
mod validate_algorithms;
mod validate_projections;
mod validate_recipes;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

pub use algorithm_schema::*;
pub use facts_schema::*;
pub use kb_schema::*;
pub use linemap::LineMap;
pub use model_map::{ModelMap, MODEL_FAMILIES};
pub use projection_schema::*;
pub use reasoning::merge_json;
pub use recipe_schema::*;
pub use schema::*;
pub use selection_schema::*;
pub use tokens::TokenCount;

use crate::plugins::PluginConfig;
use crate::signals::SignalKind;

/// A validated config plus what came with it from its file.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The config.
    pub config: RouterConfig,
    /// The file it was read from, as given (used in messages).
    pub origin: String,
    /// Directory relative model paths resolve against (the config file's directory).
    pub base_dir: PathBuf,
    /// Everything in the file that routelab does not use, in file order.
    pub ignored: Vec<Ignored>,
    /// Typed, enabled plugins of each decision (same order as `routing.decisions`).
    pub plugins: Vec<Vec<PluginConfig>>,
    /// Model-based kinds whose model family was mapped to `none` (`--model fact_check=none`):
    /// they run no model and never match, as in the seed when a model fails to load.
    pub without: BTreeSet<SignalKind>,
}

/// One part of the file routelab does not use.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ignored {
    /// YAML path (`routing.signals.complexity`, `routing.decisions[3].rules.conditions[1]`).
    pub path: String,
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
    /// Why it is ignored.
    pub reason: String,
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {} ({})", self.path, self.reason),
            None => write!(f, "{} ({})", self.path, self.reason),
        }
    }
}

impl LoadedConfig {
    /// Reads, parses and validates a config file.
    pub fn from_file(path: impl AsRef<Path>) -> crate::Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| crate::Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Self::from_yaml_str(&text, &path.display().to_string(), &base_dir)
    }

    /// Parses and validates YAML text; `origin` names the source in messages, `base_dir` is
    /// where relative model paths resolve.
    pub fn from_yaml_str(text: &str, origin: &str, base_dir: &Path) -> crate::Result<Self> {
        load::load_str(text, origin, base_dir)
    }

    /// Validates a config built in code (no line numbers in messages).
    pub fn from_config(config: RouterConfig, origin: &str, base_dir: &Path) -> crate::Result<Self> {
        load::from_config(config, origin, base_dir, &LineMap::default())
    }

    /// The config recipe `name` routes with, ready to compile: its profile in place of the
    /// top-level one ([`RouterConfig::recipe_view`]); `None` when there is no such recipe.
    /// A config without recipes is its own default recipe.
    pub fn recipe(&self, name: &str) -> Option<LoadedConfig> {
        let c = &self.config;
        let index = c.profile_index(name)?;
        let view = c.recipe_view(name)?;
        let plugins = match index {
            Some(i) => {
                let lines = LineMap::default();
                let mut v = validate::Validator::new(&self.origin, &lines);
                load::read_profile(&view, &load::Scope::Recipe(i), &mut v, &mut |_, _| {})
            }
            None => self.plugins.clone(),
        };
        Some(LoadedConfig {
            config: view,
            origin: self.origin.clone(),
            base_dir: self.base_dir.clone(),
            ignored: Vec::new(),
            plugins,
            without: self.without.clone(),
        })
    }

    /// Resolves a model path of the catalog against [`Self::base_dir`] (absolute paths stay).
    pub fn resolve(&self, p: &str) -> PathBuf {
        self.base_dir.join(p)
    }
}

impl Routing {
    /// Names of the rules of `kind` defined in this profile, in file order.
    pub fn signal_names(&self, kind: SignalKind) -> Vec<&str> {
        let s = &self.signals;
        match kind {
            SignalKind::Keyword => s.keywords.iter().map(|r| r.name.as_str()).collect(),
            SignalKind::Context => s.context.iter().map(|r| r.name.as_str()).collect(),
            SignalKind::Language => s.language.iter().map(|r| r.name.as_str()).collect(),
            SignalKind::Domain => s.domains.iter().map(|r| r.name.as_str()).collect(),
            SignalKind::Jailbreak => s.jailbreak.iter().map(|r| r.name.as_str()).collect(),
            SignalKind::Pii => s.pii.iter().map(|r| r.name.as_str()).collect(),
            SignalKind::Embedding => s.embeddings.iter().map(|r| r.name.as_str()).collect(),
            SignalKind::Conversation => s.conversation.iter().map(|r| r.name.as_str()).collect(),
            SignalKind::Structure => s.structure.iter().map(|r| r.name.as_str()).collect(),
            SignalKind::Reask => s.reasks.iter().map(|r| r.name.as_str()).collect(),
            SignalKind::Complexity => s.complexity.iter().map(|r| r.name.as_str()).collect(),
            SignalKind::Kb => s.kb.iter().map(|r| r.name.as_str()).collect(),
            SignalKind::FactCheck => s.fact_check.iter().map(|r| r.name.as_str()).collect(),
            SignalKind::UserFeedback => s.user_feedbacks.iter().map(|r| r.name.as_str()).collect(),
            SignalKind::Event => s.events.iter().map(|r| r.name.as_str()).collect(),
            SignalKind::Metadata => s.metadata.iter().map(|r| r.name.as_str()).collect(),
            SignalKind::Projection => self
                .projections
                .outputs()
                .map(|o| o.name.as_str())
                .collect(),
        }
    }
}

impl RouterConfig {
    /// Shorthand for [`LoadedConfig::from_file`].
    pub fn load(path: impl AsRef<Path>) -> crate::Result<LoadedConfig> {
        LoadedConfig::from_file(path)
    }

    /// The model spec named `name`.
    pub fn model(&self, name: &str) -> Option<&ModelSpec> {
        self.providers.models.iter().find(|m| m.name == name)
    }

    /// The decision named `name`.
    pub fn decision(&self, name: &str) -> Option<&Decision> {
        self.routing.decisions.iter().find(|d| d.name == name)
    }

    /// Names of the rules of `kind` defined under `routing.signals`, in file order.
    pub fn signal_names(&self, kind: SignalKind) -> Vec<&str> {
        self.routing.signal_names(kind)
    }

    /// The signal rules the router computes, by kind (only implemented kinds): those some
    /// decision references, and, as the seed's `getUsedSignals` adds them, every projection
    /// output with the inputs of the scores and the members of the partitions.
    pub fn used_signals(&self) -> BTreeMap<SignalKind, BTreeSet<String>> {
        let mut out: BTreeMap<SignalKind, BTreeSet<String>> = BTreeMap::new();
        let mut runs_kb = false;
        let mut add = |kind: SignalKind, name: &str| {
            out.entry(kind).or_default().insert(name.to_string());
        };
        for d in &self.routing.decisions {
            d.rules.visit_leaves(&mut |kind, name| {
                if let Some(k) = SignalKind::parse(kind) {
                    add(k, name);
                }
            });
        }
        let p = &self.routing.projections;
        if !p.scores.is_empty() && !p.mappings.is_empty() {
            for o in p.outputs() {
                add(SignalKind::Projection, &o.name);
            }
            for input in p.scores.iter().flat_map(|s| &s.inputs) {
                match SignalKind::parse(&input.kind.trim().to_lowercase()) {
                    Some(SignalKind::Projection) => {}
                    // A kb_metric input runs the knowledge-base signal (`kb:<kb>` in the seed's
                    // `expandScoreInputs`), whatever rules it has.
                    None if input.kind.trim().eq_ignore_ascii_case("kb_metric") => runs_kb = true,
                    None => {}
                    Some(k) => add(k, &input.name),
                }
            }
        }
        for part in &p.partitions {
            for m in &part.members {
                if let Some(k) = self.partition_member_kind(m) {
                    add(k, m);
                }
            }
        }
        if runs_kb {
            out.entry(SignalKind::Kb).or_default();
        }
        // A complexity rule's composer reads other signals: they are computed whenever the
        // complexity signal runs, which emits every rule's level (the seed's
        // `expandComplexityComposerDependencies`).
        if out.contains_key(&SignalKind::Complexity) {
            for c in self
                .routing
                .signals
                .complexity
                .iter()
                .filter_map(|r| r.composer.as_ref())
            {
                c.visit_leaves(&mut |kind, name| {
                    if let Some(k) = composer_leaf_kind(kind) {
                        out.entry(k).or_default().insert(name.to_string());
                    }
                });
            }
        }
        // The seed scores every embedding rule whenever the signal runs (`ClassifyDetailed`):
        // a rule that reaches its threshold hides the soft matches of the others, and top_k
        // ranks them all, so no rule can be left out.
        if let Some(used) = out.get_mut(&SignalKind::Embedding) {
            used.extend(
                self.routing
                    .signals
                    .embeddings
                    .iter()
                    .map(|r| r.name.clone()),
            );
        }
        out
    }

    /// The keys of the measured values projections read ([`ProjectionInput::measured_key`]):
    /// what the signals report beside their matches. None when the seed computes no score
    /// (no scores or no mappings).
    pub fn measured_values(&self) -> BTreeSet<String> {
        let p = &self.routing.projections;
        if p.scores.is_empty() || p.mappings.is_empty() {
            return BTreeSet::new();
        }
        p.scores
            .iter()
            .flat_map(|s| &s.inputs)
            .filter_map(|i| i.measured_key())
            .collect()
    }

    /// The kind of a partition member: an embedding rule of that name, else a domain (the
    /// seed's `projectionPartitionMemberTypes` lets embedding win).
    pub fn partition_member_kind(&self, name: &str) -> Option<SignalKind> {
        let s = &self.routing.signals;
        if s.embeddings.iter().any(|r| r.name == name) {
            Some(SignalKind::Embedding)
        } else if s.domains.iter().any(|r| r.name == name) {
            Some(SignalKind::Domain)
        } else {
            None
        }
    }
}

impl RuleNode {
    /// Calls `f(type, name)` for every leaf that has both.
    pub fn visit_leaves(&self, f: &mut dyn FnMut(&str, &str)) {
        if let (Some(t), Some(n)) = (&self.signal_type, &self.name) {
            f(t, n);
        }
        for c in &self.conditions {
            c.visit_leaves(f);
        }
    }
}
