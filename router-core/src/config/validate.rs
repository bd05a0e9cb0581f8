//! Validation: every problem of a parsed config, each as `file:line: yaml.path: message`.

use std::collections::{HashMap, HashSet};

use super::linemap::LineMap;
use super::schema::{
    complexity_leaf, ConversationRule, FeatureType, NumericPredicate, RouterConfig, RuleNode,
    RuleOperator, SourceType, StructureFeatureType, StructureRule, StructureSourceType,
    COMPLEXITY_LEVELS, CONVERSATION_ROLES,
};
use crate::signals::keyword::compile_regex;
use crate::signals::language::lang_from_code;
use crate::signals::SignalKind;
use crate::{Error, Result};

/// Collects problems with their locations.
pub(super) struct Validator<'a> {
    origin: &'a str,
    lines: &'a LineMap,
    problems: Vec<(Option<usize>, String)>,
    /// What replaces a path's leading `routing.` (a recipe's profile is checked as a config of
    /// its own, its problems reported at `recipes[i].routing.…`).
    scope: Option<String>,
}

impl<'a> Validator<'a> {
    pub(super) fn new(origin: &'a str, lines: &'a LineMap) -> Self {
        Validator {
            origin,
            lines,
            problems: Vec::new(),
            scope: None,
        }
    }

    /// Reports the problems of the paths `routing.…` at `prefix…` from now on (`None`: as
    /// written).
    pub(super) fn set_scope(&mut self, prefix: Option<String>) {
        self.scope = prefix;
    }

    /// Records a problem at YAML path `path`.
    pub(super) fn error(&mut self, path: &str, message: &str) {
        let path = &super::load::scoped_path(self.scope.as_deref(), path);
        let line = self.lines.line(path);
        let loc = match line {
            Some(l) => format!("{}:{l}", self.origin),
            None => self.origin.to_string(),
        };
        self.problems
            .push((line, format!("{loc}: {path}: {message}")));
    }

    /// `Err(Error::Invalid)` with all problems in file order, if any.
    pub(super) fn finish(mut self) -> Result<()> {
        if self.problems.is_empty() {
            return Ok(());
        }
        self.problems.sort_by_key(|(l, _)| l.unwrap_or(usize::MAX));
        Err(Error::Invalid(
            self.problems.into_iter().map(|(_, m)| m).collect(),
        ))
    }

    /// A knowledge base's metrics (the seed's `validateKnowledgeBaseMetrics`): named, unique,
    /// not a built-in metric's name, `group_margin` between two of its groups.
    fn kb_metrics(&mut self, base: &str, kb: &super::KnowledgeBase) {
        let mut names: HashSet<&str> = ["best_score", "best_matched_score"].into();
        for (j, m) in kb.metrics.iter().enumerate() {
            let at = format!("{base}.metrics[{j}]");
            if m.name.trim().is_empty() {
                self.error(&format!("{at}.name"), "metrics.name cannot be empty");
            } else if !names.insert(&m.name) {
                self.error(
                    &format!("{at}.name"),
                    &format!("duplicate metric name {:?}", m.name),
                );
            }
            if m.kind != "group_margin" {
                let message = format!(
                    "metric {:?} has unsupported type {:?} (supported: group_margin)",
                    m.name, m.kind
                );
                self.error(&format!("{at}.type"), &message);
            }
            for (key, group) in [
                ("positive_group", &m.positive_group),
                ("negative_group", &m.negative_group),
            ] {
                if !kb.groups.contains_key(group) {
                    let message = format!("metric {:?} references unknown {key} {group:?}", m.name);
                    self.error(&format!("{at}.{key}"), &message);
                }
            }
        }
    }

    fn threshold(&mut self, path: &str, t: Option<f32>) {
        if let Some(t) = t {
            if !(0.0..=1.0).contains(&t) {
                self.error(path, &format!("threshold {t} is outside [0, 1]"));
            }
        }
    }

    /// Checks names of one list: non-empty and unique. Returns the set of names.
    pub(super) fn names<'n>(
        &mut self,
        section: &str,
        what: &str,
        names: impl Iterator<Item = &'n str>,
    ) -> HashSet<&'n str> {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, n) in names.enumerate() {
            let path = format!("{section}[{i}].name");
            if n.trim().is_empty() {
                self.error(&path, &format!("{what} name is empty"));
            } else if let Some(first) = seen.get(n) {
                self.error(
                    &path,
                    &format!("duplicate {what} name {n:?} (first defined at {section}[{first}])"),
                );
            } else {
                seen.insert(n, i);
            }
        }
        seen.into_keys().collect()
    }

    /// Runs every check on `c`: the shared parts, then its top-level profile.
    pub(super) fn validate(&mut self, c: &RouterConfig) {
        let models = self.models(c);
        self.model_cards(c);
        self.profile(c, &models);
    }

    /// Checks the profile of a recipe's view (the shared parts are checked once, at the top).
    pub(super) fn validate_recipe(&mut self, view: &RouterConfig) {
        let models: HashSet<&str> = view
            .providers
            .models
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        self.profile(view, &models);
    }

    /// The checks of one routing profile: its signals, projections, decisions and algorithms.
    fn profile(&mut self, c: &RouterConfig, models: &HashSet<&str>) {
        let known = self.signal_names(c);
        self.signal_rules(c);
        self.projections(c, &known);
        self.decisions(c, models, &known);
        self.decision_cards(c);
        self.algorithms(c);
    }

    /// Models, their reasoning families, prices and latencies, and the default model; returns
    /// the model names.
    fn models<'c>(&mut self, c: &'c RouterConfig) -> HashSet<&'c str> {
        let models = self.names(
            "providers.models",
            "model",
            c.providers.models.iter().map(|m| m.name.as_str()),
        );
        let families = &c.providers.defaults.reasoning_families;
        for (i, m) in c.providers.models.iter().enumerate() {
            let base = format!("providers.models[{i}]");
            if let Some(f) = &m.reasoning_family {
                if !families.contains_key(f) {
                    self.error(
                        &format!("{base}.reasoning_family"),
                        &format!("unknown reasoning family {f:?} (not in providers.defaults.reasoning_families)"),
                    );
                }
            }
            if let Some(p) = &m.pricing {
                if p.prompt_per_1m < 0.0 || p.completion_per_1m < 0.0 {
                    self.error(&format!("{base}.pricing"), "prices must be >= 0");
                }
            }
            if let Some(l) = &m.latency {
                if !(l.ttft_ms >= 0.0 && l.tpot_ms >= 0.0) {
                    self.error(
                        &format!("{base}.latency"),
                        "ttft_ms and tpot_ms must be >= 0",
                    );
                }
            }
        }
        let dm = &c.providers.defaults.default_model;
        if dm.is_empty() {
            self.error(
                "providers.defaults.default_model",
                "no default model (used when no decision matches)",
            );
        } else if !models.contains(dm.as_str()) {
            self.error(
                "providers.defaults.default_model",
                &format!("default model {dm:?} is not defined in providers.models"),
            );
        }
        models
    }

    /// The names of every signal kind's rules (unique, non-empty), by kind.
    fn signal_names<'c>(&mut self, c: &'c RouterConfig) -> HashMap<SignalKind, HashSet<&'c str>> {
        let mut known: HashMap<SignalKind, HashSet<&str>> = HashMap::new();
        for kind in SignalKind::ALL {
            if kind.is_derived() {
                // Projection outputs are named (and checked) with their mappings.
                known.insert(kind, c.signal_names(kind).into_iter().collect());
                continue;
            }
            let section = format!("routing.signals.{}", kind.config_key());
            let names = self.names(
                &section,
                &format!("{kind} signal"),
                c.signal_names(kind).into_iter(),
            );
            known.insert(kind, names);
        }
        known
    }

    /// A rule's `predicate`: its comparators, then `refused` when the feature takes none (the
    /// seed words that message differently per signal kind).
    fn predicate(
        &mut self,
        base: &str,
        predicate: Option<&NumericPredicate>,
        refused: Option<&str>,
    ) {
        let Some(p) = predicate else { return };
        let at = format!("{base}.predicate");
        match (p.problem(), refused) {
            (Some(problem), _) => self.error(&at, problem),
            (None, Some(message)) => self.error(&at, message),
            (None, None) => {}
        }
    }

    /// Conversation rules as the seed's `ValidateConversationRuleContract` checks them.
    fn conversation_rules(&mut self, rules: &[ConversationRule]) {
        for (i, r) in rules.iter().enumerate() {
            let base = format!("routing.signals.conversation[{i}]");
            let source = &r.feature.source;
            if let Some(role) = &source.role {
                if source.kind != SourceType::Message {
                    self.error(
                        &format!("{base}.feature.source.role"),
                        &format!(
                            "source.role is only valid when source.type is \"message\", got {:?}",
                            source.describe()
                        ),
                    );
                } else if !CONVERSATION_ROLES.contains(&role.as_str()) {
                    self.error(
                        &format!("{base}.feature.source.role"),
                        &format!(
                            "unsupported source.role {role:?}; valid roles: {}",
                            CONVERSATION_ROLES.join(", ")
                        ),
                    );
                }
            }
            let exists = r.feature.kind == FeatureType::Exists;
            let message = "feature.type \"exists\" does not accept a predicate";
            self.predicate(&base, r.predicate.as_ref(), exists.then_some(message));
        }
    }

    /// Structure rules as the seed's `ValidateStructureRuleContract` checks them (plus the
    /// regex, which the seed only compiles at start-up).
    fn structure_rules(&mut self, rules: &[StructureRule]) {
        use StructureFeatureType as F;
        use StructureSourceType as S;
        for (i, r) in rules.iter().enumerate() {
            let base = format!("routing.signals.structure[{i}]");
            let source = &r.feature.source;
            let at = format!("{base}.feature.source");
            match source.kind {
                S::Regex => match source.pattern.as_deref() {
                    Some(p) if !p.trim().is_empty() => {
                        if let Err(e) = compile_regex(p, source.case_sensitive) {
                            self.error(&format!("{at}.pattern"), &e);
                        }
                    }
                    _ => self.error(&at, "regex source requires pattern"),
                },
                S::KeywordSet if source.keywords.is_empty() => {
                    self.error(&at, "keyword_set source requires keywords")
                }
                S::Sequence if source.sequences.is_empty() => {
                    self.error(&at, "sequence source requires sequences")
                }
                S::Sequence if source.sequences.iter().any(|s| s.len() < 2) => {
                    self.error(&at, "sequence entries must contain at least 2 markers")
                }
                _ => {}
            }
            if r.feature.kind == F::Sequence && source.kind != S::Sequence {
                self.error(
                    &base,
                    "feature.type=sequence requires feature.source.type=sequence",
                );
            }
            if source.kind == S::TextBytes && r.feature.kind != F::Count {
                self.error(
                    &base,
                    "feature.source.type=text_bytes requires feature.type=count",
                );
            }
            let exists = r.feature.kind == F::Exists;
            let message = "feature.type=exists does not accept predicate";
            self.predicate(&base, r.predicate.as_ref(), exists.then_some(message));
        }
    }

    /// Each signal rule's own settings: keywords and regexes, token bands, language codes,
    /// thresholds, candidates, conversation and structure features.
    fn signal_rules(&mut self, c: &RouterConfig) {
        let s = &c.routing.signals;
        self.conversation_rules(&s.conversation);
        self.structure_rules(&s.structure);
        self.metadata_rules(&s.metadata);
        for (i, k) in s.keywords.iter().enumerate() {
            let base = format!("routing.signals.keywords[{i}]");
            if k.keywords.is_empty() && k.regexes.is_empty() {
                self.error(&base, "no keywords or regexes");
            }
            for (j, kw) in k.keywords.iter().enumerate() {
                let path = format!("{base}.keywords[{j}]");
                if k.keywords_are_regexes() {
                    if let Err(e) = compile_regex(kw, k.case_sensitive) {
                        self.error(&path, &e);
                    }
                } else if kw.is_empty() {
                    self.error(&path, "empty keyword");
                }
            }
            for (j, re) in k.regexes.iter().enumerate() {
                if let Err(e) = compile_regex(re, k.case_sensitive) {
                    self.error(&format!("{base}.regexes[{j}]"), &e);
                }
            }
        }
        for (i, r) in s.context.iter().enumerate() {
            if let (Some(lo), Some(hi)) = (r.min_tokens, r.max_tokens) {
                if lo > hi {
                    self.error(
                        &format!("routing.signals.context[{i}]"),
                        &format!("min_tokens {lo} > max_tokens {hi}"),
                    );
                }
            }
        }
        for (i, r) in s.language.iter().enumerate() {
            let base = format!("routing.signals.language[{i}]");
            if !r.name.is_empty() && lang_from_code(&r.name).is_none() {
                self.error(
                    &format!("{base}.name"),
                    &format!(
                        "unknown language code {:?} (expected ISO 639-1 such as en, zh, es)",
                        r.name
                    ),
                );
            }
            self.threshold(&format!("{base}.threshold"), r.threshold);
        }
        for (i, r) in s.jailbreak.iter().enumerate() {
            self.threshold(
                &format!("routing.signals.jailbreak[{i}].threshold"),
                r.threshold,
            );
        }
        for (i, r) in s.pii.iter().enumerate() {
            self.threshold(&format!("routing.signals.pii[{i}].threshold"), r.threshold);
        }
        for (i, r) in s.embeddings.iter().enumerate() {
            let base = format!("routing.signals.embeddings[{i}]");
            self.threshold(&format!("{base}.threshold"), Some(r.threshold));
            if r.candidates.is_empty() {
                self.error(&format!("{base}.candidates"), "no candidates");
            }
            if r.top_k == Some(0) {
                self.error(&format!("{base}.top_k"), "top_k must be >= 1");
            }
        }
        let kbs = c.global.model_catalog.knowledge_bases();
        for (i, r) in s.kb.iter().enumerate() {
            let base = format!("routing.signals.kb[{i}]");
            // As the seed's `validateKnowledgeBaseSignalRule` (labels are checked when the
            // knowledge base is loaded).
            match kbs.iter().find(|k| k.name == r.kb) {
                None => self.error(
                    &format!("{base}.kb"),
                    &format!("unknown knowledge base {:?}", r.kb),
                ),
                Some(k) => match r.target.kind.as_str() {
                    "label" => {}
                    "group" if k.groups.contains_key(&r.target.value) => {}
                    "group" => self.error(
                        &format!("{base}.target.value"),
                        &format!(
                            "knowledge base {:?} has no group {:?}",
                            r.kb, r.target.value
                        ),
                    ),
                    other => self.error(
                        &format!("{base}.target.kind"),
                        &format!("unknown target kind {other:?} (label or group)"),
                    ),
                },
            }
        }
        for (i, k) in kbs.iter().enumerate() {
            self.threshold(
                &format!("global.model_catalog.kbs[{i}].threshold"),
                Some(k.threshold),
            );
            self.kb_metrics(&format!("global.model_catalog.kbs[{i}]"), k);
        }
        for (i, r) in s.reasks.iter().enumerate() {
            let base = format!("routing.signals.reasks[{i}]");
            // As the seed's `validateReaskContracts`, after its defaults (0 means the default).
            if !(0.0..=1.0).contains(&r.threshold()) {
                self.error(
                    &format!("{base}.threshold"),
                    "threshold must be between 0 and 1",
                );
            }
            if r.lookback() < 1 {
                self.error(
                    &format!("{base}.lookback_turns"),
                    "lookback_turns must be >= 1",
                );
            }
        }
        let modules = &c.global.model_catalog.modules;
        self.threshold(
            "global.model_catalog.modules.classifier.domain.threshold",
            modules.classifier.domain.as_ref().and_then(|m| m.threshold),
        );
        self.threshold(
            "global.model_catalog.modules.classifier.pii.threshold",
            modules.classifier.pii.as_ref().and_then(|m| m.threshold),
        );
        self.threshold(
            "global.model_catalog.modules.prompt_guard.threshold",
            modules.prompt_guard.as_ref().and_then(|m| m.threshold),
        );
    }

    /// Decision names, rule trees, tiers and model references.
    fn decisions(
        &mut self,
        c: &RouterConfig,
        models: &HashSet<&str>,
        known: &HashMap<SignalKind, HashSet<&str>>,
    ) {
        self.names(
            "routing.decisions",
            "decision",
            c.routing.decisions.iter().map(|d| d.name.as_str()),
        );
        for (i, d) in c.routing.decisions.iter().enumerate() {
            let base = format!("routing.decisions[{i}]");
            if !d.rules.is_fallback() {
                self.rule(&format!("{base}.rules"), &d.rules, known);
            }
            if d.tier < 0 {
                self.error(&format!("{base}.tier"), "tier cannot be negative");
            }
            if d.model_refs.is_empty() {
                self.error(&base, "no modelRefs (a decision needs at least one model)");
            }
            for (j, r) in d.model_refs.iter().enumerate() {
                if !models.contains(r.model.as_str()) {
                    self.error(
                        &format!("{base}.modelRefs[{j}].model"),
                        &format!("unknown model {:?} (not in providers.models)", r.model),
                    );
                }
            }
        }
    }

    /// A complexity leaf names `<rule>:<easy|medium|hard>` of a declared rule (the seed's
    /// `validateComplexityConditionName`, `pkg/config/validator_complexity.go`).
    fn complexity_leaf(&mut self, path: &str, name: &str, rules: &HashSet<&str>) {
        let Some((rule, level)) = complexity_leaf(name) else {
            let message = format!("complexity leaf {name:?} must name a level as <rule>:<easy|medium|hard> (a bare rule name never matches)");
            return self.error(path, &message);
        };
        if !rules.contains(rule) {
            let message =
                format!("complexity rule {rule:?} is not declared in routing.signals.complexity");
            self.error(path, &message);
        } else if !COMPLEXITY_LEVELS.contains(&level) {
            let message = format!(
                "complexity leaf {name:?} has unsupported level {level:?} (easy, medium or hard)"
            );
            self.error(path, &message);
        }
    }

    fn rule(&mut self, path: &str, node: &RuleNode, known: &HashMap<SignalKind, HashSet<&str>>) {
        match (node.operator, &node.signal_type) {
            (Some(_), Some(t)) => {
                self.error(
                    path,
                    &format!("a rule node has either `operator` or `type` ({t:?}), not both"),
                );
            }
            (None, None) => {
                self.error(
                    path,
                    "a rule node needs `operator` (AND/OR/NOT) or `type` + `name`",
                );
            }
            (Some(op), None) => {
                let n = node.conditions.len();
                match op {
                    RuleOperator::Not if n != 1 => {
                        self.error(path, &format!("NOT needs exactly one condition, found {n}"));
                    }
                    RuleOperator::Or if n == 0 => {
                        self.error(path, "OR with no conditions never matches (an AND with no conditions is a fallback)");
                    }
                    _ => {}
                }
                if node.name.is_some() {
                    self.error(&format!("{path}.name"), "an operator node has no `name`");
                }
                for (i, c) in node.conditions.iter().enumerate() {
                    self.rule(&format!("{path}.conditions[{i}]"), c, known);
                }
            }
            (None, Some(t)) => {
                if !node.conditions.is_empty() {
                    self.error(
                        &format!("{path}.conditions"),
                        "a leaf (`type`) has no conditions",
                    );
                }
                let Some(name) = &node.name else {
                    self.error(path, &format!("{t} leaf without `name`"));
                    return;
                };
                match SignalKind::parse(t) {
                    Some(SignalKind::Complexity) => {
                        self.complexity_leaf(path, name, &known[&SignalKind::Complexity])
                    }
                    Some(kind) if !known[&kind].contains(name.as_str()) => {
                        self.error(path, &format!("unknown {kind} signal {name:?}"));
                    }
                    _ => {}
                }
            }
        }
    }
}
