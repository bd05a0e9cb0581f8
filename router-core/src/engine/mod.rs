//! Decision engine: compiles a [`LoadedConfig`] into a [`Router`] and routes requests.
//!
//! Only signal rules referenced by some decision are built and computed. Each used
//! `(kind, name)` gets a slot in a per-request confidence table; rule trees are compiled to
//! slot indices ([`rules`]), so evaluating decisions does no string lookups.
//!
//! Selection among matching decisions (vLLM SR semantics):
//! * `strategy: priority`: highest priority, then higher confidence, then name (lexicographic);
//! * `strategy: confidence`: highest confidence, then higher priority, then name.
//!
//! No match: the default model, `decision: None`, reasoning off, no plugins.

mod composers;
mod outcome;
mod projections;
mod recipes;
mod rules;
mod selection;
mod settle;

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

pub use outcome::{DecisionTrace, LeafTrace, RouteDecision, RouteOutcome, RouteTarget, Selection};
pub use recipes::Recipes;
pub use settle::Settled;

use crate::config::{AlgorithmKind, LoadedConfig, ModelSpec, RouterConfig, Strategy};
use crate::inference::ModelRegistry;
use crate::plugins::PluginConfig;
use crate::request::RouteRequest;
use crate::selection::stats::ModelStats;
use crate::signals::context::ContextSignal;
use crate::signals::conversation::ConversationSignal;
use crate::signals::event::EventSignal;
use crate::signals::keyword::KeywordSignal;
use crate::signals::language::LanguageSignal;
use crate::signals::metadata::MetadataSignal;
use crate::signals::structure::StructureSignal;
use crate::signals::{model, Signal, SignalKind, SignalMatch, SignalResults};
use crate::Result;
use rules::{LeafInfo, Node, NEVER, NO_MATCH};

struct CompiledDecision {
    name: String,
    priority: i64,
    tier: i64,
    root: Node,
    leaves: Vec<LeafInfo>,
    /// The modelRefs (the default model when there are none); the first unless a learned
    /// selection chooses another.
    refs: Vec<CompiledRef>,
    plugins: Vec<PluginConfig>,
}

/// One modelRef, its reasoning effort resolved.
struct CompiledRef {
    model: String,
    use_reasoning: bool,
    reasoning_effort: Option<String>,
    lora_name: Option<String>,
}

impl CompiledRef {
    /// The modelRefs of `d` (the default model when it has none).
    fn of(cfg: &RouterConfig, d: &crate::config::Decision) -> Vec<CompiledRef> {
        let mut refs: Vec<CompiledRef> = d
            .model_refs
            .iter()
            .map(|r| CompiledRef {
                model: r.model.clone(),
                use_reasoning: r.use_reasoning,
                reasoning_effort: r.use_reasoning.then(|| {
                    cfg.effective_effort(r.reasoning_effort.as_deref())
                        .to_string()
                }),
                lora_name: r.lora_name.clone(),
            })
            .collect();
        if refs.is_empty() {
            refs.push(CompiledRef {
                model: cfg.providers.defaults.default_model.clone(),
                use_reasoning: false,
                reasoning_effort: None,
                lora_name: None,
            });
        }
        refs
    }
}

impl CompiledDecision {
    /// The modelRef a decision routes to (`selection`'s choice, else the first).
    fn chosen(&self, selection: Option<&Selection>) -> &CompiledRef {
        &self.refs[selection.map_or(0, |s| s.choice).min(self.refs.len() - 1)]
    }
}

/// A request's confidence per used signal rule; inline (no allocation) up to 32 rules.
type ConfidenceTable = SmallVec<[f32; 32]>;

/// A request's measured values that projections read, by value slot (0 when not measured).
type ValueTable = SmallVec<[f64; 4]>;

/// Where a router's model-based signals come from.
enum Models<'a> {
    /// Built from the config's model catalog, loaded through this registry.
    Registry(&'a ModelRegistry),
    /// Given by the caller.
    Given(Vec<Box<dyn Signal>>),
}

/// A compiled config, ready to route requests. Cheap to share (`Send + Sync`).
pub struct Router {
    loaded: LoadedConfig,
    signals: Vec<Box<dyn Signal>>,
    /// Slot of each used signal rule, by kind then name (looked up per match: a fast hash).
    slots: FxHashMap<SignalKind, FxHashMap<String, u32>>,
    n_slots: usize,
    /// Slot of each measured value projections read, by key ([`SignalResults::values`]).
    value_slots: FxHashMap<String, u32>,
    /// `routing.projections`, applied to the table after the signals.
    projections: Option<projections::Projections>,
    decisions: Vec<CompiledDecision>,
    /// Model selection of the decisions that have one.
    selection: selection::Compiled,
    /// Latency observations and in-flight counts the selections read.
    stats: Arc<ModelStats>,
}

impl Router {
    /// Compiles `loaded`: builds the used rule signals and, through
    /// [`model::build_model_signal`], the used model-based signals, whose models come from
    /// `models` (shared with every other router built from the same registry).
    pub fn new(loaded: &LoadedConfig, models: &ModelRegistry) -> Result<Router> {
        Self::build(loaded, Models::Registry(models))
    }

    /// Like [`Router::new`] but model-based kinds (domain, jailbreak, pii, embedding) come from
    /// `model_signals` instead of the model hook (e.g. fakes in tests, precomputed signals in
    /// replays). Used model kinds with no signal given never match.
    pub fn with_signals(
        loaded: &LoadedConfig,
        model_signals: Vec<Box<dyn Signal>>,
    ) -> Result<Router> {
        Self::build(loaded, Models::Given(model_signals))
    }

    fn build(loaded: &LoadedConfig, models: Models<'_>) -> Result<Router> {
        let cfg = &loaded.config;
        let used = cfg.used_signals();
        let mut slots: FxHashMap<SignalKind, FxHashMap<String, u32>> = FxHashMap::default();
        let mut n_slots = 0usize;
        for (kind, names) in &used {
            let m = slots.entry(*kind).or_default();
            for n in names {
                m.insert(n.clone(), n_slots as u32);
                n_slots += 1;
            }
        }
        let measured = cfg.measured_values();
        let mut signals: Vec<Box<dyn Signal>> = Vec::new();
        for (kind, names) in &used {
            match kind {
                SignalKind::Keyword => signals.push(Box::new(KeywordSignal::new(
                    &cfg.routing.signals.keywords,
                    Some(names),
                )?)),
                SignalKind::Context => signals.push(Box::new(ContextSignal::new(
                    &cfg.routing.signals.context,
                    Some(names),
                ))),
                SignalKind::Language => signals.push(Box::new(LanguageSignal::new(
                    &cfg.routing.signals.language,
                    Some(names),
                )?)),
                SignalKind::Conversation => signals.push(Box::new(
                    ConversationSignal::new(&cfg.routing.signals.conversation, Some(names))
                        .measuring(&measured),
                )),
                SignalKind::Structure => signals.push(Box::new(
                    StructureSignal::new(&cfg.routing.signals.structure, Some(names))?
                        .measuring(&measured),
                )),
                SignalKind::Event => signals.push(Box::new(EventSignal::new(
                    &cfg.routing.signals.events,
                    Some(names),
                )?)),
                SignalKind::Metadata => signals.push(Box::new(MetadataSignal::new(
                    &cfg.routing.signals.metadata,
                    Some(names),
                ))),
                // Derived from the others' results, after them (`projections`).
                SignalKind::Projection => {}
                // Mapped to no model (`--model FAMILY=none`): never matches.
                k if loaded.without.contains(k) => {
                    tracing::warn!(kind = %k, "no model (mapped to none): these signals never match");
                }
                _ => {
                    if let Models::Registry(registry) = &models {
                        signals.push(model::build_model_signal(
                            *kind,
                            cfg,
                            names,
                            &loaded.base_dir,
                            registry,
                        )?)
                    }
                }
            }
        }
        let selection = selection::compile(
            loaded,
            match &models {
                Models::Registry(r) => Some(*r),
                Models::Given(_) => None,
            },
        )?;
        if let Models::Given(g) = models {
            signals.extend(g.into_iter().filter(|s| !is_rule_kind(s.kind())));
        }
        let slot = |kind: SignalKind, name: &str| slots.get(&kind)?.get(name).copied();
        let slot_of = |kind: &str, name: &str| -> u32 {
            SignalKind::parse(kind)
                .and_then(|k| slot(k, name))
                .unwrap_or(NEVER)
        };
        let value_slots: FxHashMap<String, u32> = measured
            .into_iter()
            .enumerate()
            .map(|(i, k)| (k, i as u32))
            .collect();
        let value_slot = |key: &str| value_slots.get(key).copied();
        let projections = projections::Projections::compile(cfg, &slot, &value_slot);
        let mut decisions = Vec::with_capacity(cfg.routing.decisions.len());
        for (i, d) in cfg.routing.decisions.iter().enumerate() {
            let mut leaves = Vec::new();
            let root = Node::compile(&d.rules, "rules", &slot_of, &mut leaves);
            decisions.push(CompiledDecision {
                name: d.name.clone(),
                priority: d.priority,
                tier: d.tier,
                root,
                leaves,
                refs: CompiledRef::of(cfg, d),
                plugins: loaded.plugins.get(i).cloned().unwrap_or_default(),
            });
        }
        Ok(Router {
            loaded: loaded.clone(),
            signals,
            slots,
            n_slots,
            value_slots,
            projections,
            decisions,
            selection,
            stats: Arc::new(ModelStats::from_profiles(cfg)),
        })
    }

    /// This router reading `stats` (shared with whoever records into it: `serve`, a replay)
    /// instead of the config's latency profiles.
    pub fn with_stats(mut self, stats: Arc<ModelStats>) -> Self {
        self.stats = stats;
        self
    }

    /// Whether some decision's selection (`multi_factor`, `latency_aware`) reads the latency
    /// observations and in-flight counts of [`Router::with_stats`].
    pub fn reads_stats(&self) -> bool {
        self.selection.reads_stats()
    }

    /// The `algorithm.type` of decision `index` when routelab does not run it (looper types
    /// and the seed's other model-calling selectors): replay routes it to its first modelRef
    /// and counts it as not replayable.
    pub fn not_replayable(&self, index: usize) -> Option<&str> {
        let d = self.loaded.config.routing.decisions.get(index)?;
        let t = d.algorithm_type();
        (AlgorithmKind::parse(t) == Some(AlgorithmKind::NotReplayable)).then_some(t)
    }

    /// The config this router was built from.
    pub fn config(&self) -> &RouterConfig {
        &self.loaded.config
    }

    /// The loaded config (origin, base dir, ignored list, typed plugins).
    pub fn loaded(&self) -> &LoadedConfig {
        &self.loaded
    }

    /// The spec of model `name` (pricing, latency, reasoning family, backends).
    pub fn model(&self, name: &str) -> Option<&ModelSpec> {
        self.loaded.config.model(name)
    }

    /// JSON patch that sets reasoning for `model` in an OpenAI body; see
    /// [`RouterConfig::reasoning_patch`].
    pub fn reasoning_patch(
        &self,
        model: &str,
        use_reasoning: bool,
        effort: Option<&str>,
    ) -> serde_json::Value {
        self.loaded
            .config
            .reasoning_patch(model, use_reasoning, effort)
    }

    /// The `(kind, name)` signal rules this router computes.
    pub fn used_signals(&self) -> BTreeSet<(SignalKind, String)> {
        self.slots
            .iter()
            .flat_map(|(k, m)| m.keys().map(move |n| (*k, n.clone())))
            .collect()
    }

    /// Computes every used signal for `request`: its matches and the values projections read.
    pub fn signals(&self, request: &RouteRequest) -> Result<SignalResults> {
        let mut out = SignalResults::default();
        for s in &self.signals {
            for found in s.evaluate_results(&[request])? {
                out.append(found);
            }
        }
        Ok(out)
    }

    /// Routes a request (no trace): [`Router::route_decision`], then [`Router::outcome`].
    pub fn route(&self, request: &RouteRequest) -> Result<RouteOutcome> {
        Ok(self.outcome(self.route_decision(request)?))
    }

    /// Computes the signals of a request and picks the winning decision, in the compact form
    /// that [`Router::route`] expands into its outcome.
    pub fn route_decision(&self, request: &RouteRequest) -> Result<RouteDecision> {
        let mut decided = [self.decide_compact(self.signals(request)?)];
        self.selection
            .select(&[request], &mut decided, &self.stats)?;
        let [d] = decided;
        Ok(d)
    }

    /// Routes several requests at once (offline replays): each signal evaluates the whole
    /// batch (one forward pass for a model signal), then the decisions run per request. The
    /// results equal [`Router::route_decision`] of each request, up to the float rounding of
    /// batched inference.
    pub fn route_batch(&self, requests: &[&RouteRequest]) -> Result<Vec<RouteDecision>> {
        let mut matches: Vec<SignalResults> = vec![SignalResults::default(); requests.len()];
        for s in &self.signals {
            let per_request = s.evaluate_results(requests)?;
            debug_assert_eq!(per_request.len(), requests.len());
            for (m, found) in matches.iter_mut().zip(per_request) {
                m.append(found);
            }
        }
        let mut decided: Vec<RouteDecision> = matches
            .into_iter()
            .map(|m| self.decide_compact(m))
            .collect();
        self.selection.select(requests, &mut decided, &self.stats)?;
        Ok(decided)
    }

    /// The candidates of decision `index` when it has a learned selection (what
    /// `routelab calibrate` tunes).
    pub fn selection_candidates(&self, index: usize) -> Option<&crate::selection::Candidates> {
        self.selection.candidates(index)
    }

    /// Whether routing runs a model: a model-based signal or a learned selection (serve routes
    /// such requests off its async threads).
    pub fn runs_models(&self) -> bool {
        self.signals.iter().any(|s| s.kind().is_model_based()) || self.selection.runs_models()
    }

    /// Routes a request and records a per-decision trace.
    pub fn route_with_trace(&self, request: &RouteRequest) -> Result<RouteOutcome> {
        let mut results = self.signals(request)?;
        let table = self.derive(&mut results);
        let matches = results.matches;
        let best = self.best(&table);
        let trace = self.trace(&table, &matches);
        let mut decided = [RouteDecision {
            index: best.map(|(i, _)| i),
            confidence: best.map_or(0.0, |(_, c)| c),
            signals: Vec::new(),
            selection: None,
        }];
        self.selection
            .select(&[request], &mut decided, &self.stats)?;
        let [d] = decided;
        Ok(self.expand(best, matches, d.selection, Some(trace)))
    }

    /// Decision evaluation alone: the winning decision's name and confidence for already
    /// computed signals (`None`: no decision matched). Allocation-light fast path.
    pub fn select(&self, results: &SignalResults) -> Option<(&str, f32)> {
        let table = self.table(results);
        self.best(&table)
            .map(|(i, c)| (self.decisions[i].name.as_str(), c))
    }

    /// The per-request confidence table: one slot per used signal rule, projections applied.
    fn table(&self, results: &SignalResults) -> ConfidenceTable {
        let mut table = self.signal_table(&results.matches);
        if let Some(p) = &self.projections {
            p.apply(&results.matches, &mut table, &self.values(results), None);
        }
        table
    }

    /// The measured values projections read, by value slot (0 for those not measured, as the
    /// seed reads a missing value).
    fn values(&self, results: &SignalResults) -> ValueTable {
        let mut values = ValueTable::from_elem(0.0, self.value_slots.len());
        for v in &results.values {
            if let Some(&s) = self.value_slots.get(&v.key) {
                values[s as usize] = v.value;
            }
        }
        values
    }

    /// The table of the signals alone (derived kinds in `matches`, such as the projection outputs
    /// of an earlier outcome, are not read: they are computed afresh).
    fn signal_table(&self, matches: &[SignalMatch]) -> ConfidenceTable {
        let mut table = ConfidenceTable::from_elem(NO_MATCH, self.n_slots);
        for m in matches.iter().filter(|m| !m.kind.is_derived()) {
            if let Some(&s) = self.slots.get(&m.kind).and_then(|n| n.get(m.name.as_str())) {
                let v = &mut table[s as usize];
                *v = v.max(m.confidence.clamp(0.0, 1.0));
            }
        }
        table
    }

    /// [`Router::table`], with the matches of `results` brought in line with it: partition
    /// members dropped, softmax shares, partition defaults and projection outputs added.
    fn derive(&self, results: &mut SignalResults) -> ConfidenceTable {
        let mut table = self.signal_table(&results.matches);
        let Some(p) = &self.projections else {
            return table;
        };
        let mut changes = projections::Changes::default();
        let values = self.values(results);
        let matches = &mut results.matches;
        p.apply(matches, &mut table, &values, Some(&mut changes));
        matches.retain(|m| {
            !m.kind.is_derived()
                && !changes
                    .dropped
                    .iter()
                    .any(|(k, n)| *k == m.kind && *n == m.name)
        });
        for (kind, name, c) in changes.rescored {
            for m in matches
                .iter_mut()
                .filter(|m| m.kind == kind && m.name == name)
            {
                m.confidence = c;
            }
        }
        matches.extend(changes.added);
        table
    }

    /// The winning decision `(index, confidence)` under the configured strategy; when any
    /// matching decision has a tier, by tier first (the seed's `decisionResultLess`).
    fn best(&self, table: &[f32]) -> Option<(usize, f32)> {
        let strategy = self.loaded.config.routing.strategy.unwrap_or_default();
        let mut best: Option<(usize, f32)> = None;
        let mut best_tiered: Option<(usize, f32)> = None;
        let mut any_tier = false;
        for (i, d) in self.decisions.iter().enumerate() {
            let c = d.root.eval(table);
            if c < 0.0 {
                continue;
            }
            any_tier |= d.tier > 0;
            if best.is_none_or(|b| self.better(strategy, (i, c), b) == Ordering::Greater) {
                best = Some((i, c));
            }
            if best_tiered.is_none_or(|b| self.better_tiered((i, c), b) == Ordering::Greater) {
                best_tiered = Some((i, c));
            }
        }
        if any_tier {
            best_tiered
        } else {
            best
        }
    }

    /// Tiered order: lower tier, then higher confidence, higher priority, smaller name.
    fn better_tiered(&self, a: (usize, f32), b: (usize, f32)) -> Ordering {
        let (da, db) = (&self.decisions[a.0], &self.decisions[b.0]);
        db.tier
            .cmp(&da.tier)
            .then(a.1.total_cmp(&b.1))
            .then(da.priority.cmp(&db.priority))
            .then(db.name.cmp(&da.name))
    }

    /// Whether the decision for `request` is settled by its rule signals alone: they are
    /// computed (with the values projections read of them), every model-based signal (and
    /// every kind routelab does not compute) is taken as unknown, and the result says which
    /// decision wins whatever they say, if one does.
    pub fn settled_by_rules(&self, request: &RouteRequest) -> Result<Settled> {
        let mut rule = SignalResults::default();
        for s in self.signals.iter().filter(|s| is_rule_kind(s.kind())) {
            for found in s.evaluate_results(&[request])? {
                rule.append(found);
            }
        }
        let mut cells: Vec<settle::Tri> = self
            .signal_table(&rule.matches)
            .iter()
            .map(|&v| settle::Tri::of(v))
            .collect();
        for (kind, names) in &self.slots {
            if kind.is_model_based() {
                for &s in names.values() {
                    cells[s as usize] = settle::Tri::UNKNOWN;
                }
            }
        }
        // Keyword rules whose method routelab does not implement may match otherwise.
        let keywords = &self.loaded.config.routing.signals.keywords;
        for k in keywords
            .iter()
            .filter(|k| k.unimplemented_method().is_some())
        {
            if let Some(s) = self
                .slots
                .get(&SignalKind::Keyword)
                .and_then(|m| m.get(&k.name))
            {
                cells[*s as usize] = settle::Tri::UNKNOWN;
            }
        }
        if let Some(p) = &self.projections {
            p.apply_tri(&mut cells, &self.rule_values(&rule));
        }
        let ranked: Vec<settle::Ranked<'_>> = self
            .decisions
            .iter()
            .map(|d| settle::Ranked {
                tri: d.root.eval_tri(&cells),
                tier: d.tier,
                priority: d.priority,
                name: &d.name,
            })
            .collect();
        let by_confidence = self.loaded.config.routing.strategy == Some(Strategy::Confidence);
        Ok(settle::settle(&ranked, by_confidence))
    }

    /// Each value slot's value when a rule signal measures it (known whatever the models
    /// say), `None` for the values of model-based signals.
    fn rule_values(&self, rule: &SignalResults) -> Vec<Option<f64>> {
        let values = self.values(rule);
        let mut known = vec![None; self.value_slots.len()];
        for (key, &s) in &self.value_slots {
            let kind = key.split(':').next().and_then(SignalKind::parse);
            if kind.is_some_and(is_rule_kind) {
                known[s as usize] = Some(values[s as usize]);
            }
        }
        known
    }

    /// Evaluates the decisions on already computed signals (matches of rules no decision uses
    /// are kept in the outcome but do not influence it; a value projections read that is not
    /// given reads 0, as in the seed). A selection algorithm needs the request, which this does
    /// not have: such a decision's outcome names its first modelRef and has no `selection` (use
    /// [`Router::route`] or [`Router::route_with_trace`]).
    pub fn decide(&self, results: impl Into<SignalResults>, trace: bool) -> RouteOutcome {
        let mut results = results.into();
        let table = self.derive(&mut results);
        let matches = results.matches;
        let best = self.best(&table);
        let trace = trace.then(|| self.trace(&table, &matches));
        self.expand(best, matches, None, trace)
    }

    /// [`Router::decide`] in the compact form (no trace).
    fn decide_compact(&self, mut results: SignalResults) -> RouteDecision {
        let best = self.best(&self.derive(&mut results));
        RouteDecision {
            index: best.map(|(i, _)| i),
            confidence: best.map_or(0.0, |(_, c)| c),
            signals: results.matches,
            selection: None,
        }
    }

    /// The full outcome of a compact decision (what [`Router::route`] returns).
    pub fn outcome(&self, decision: RouteDecision) -> RouteOutcome {
        let best = decision.index.map(|i| (i, decision.confidence));
        self.expand(best, decision.signals, decision.selection, None)
    }

    /// What `decision` routes to: decision name, model, reasoning and blocking, as in its
    /// [`Router::outcome`]. Panics if `decision` came from another router.
    pub fn target(&self, decision: &RouteDecision) -> RouteTarget<'_> {
        match decision.index {
            None => RouteTarget {
                decision: None,
                model: &self.loaded.config.providers.defaults.default_model,
                use_reasoning: false,
                blocked: false,
            },
            Some(i) => {
                let d = &self.decisions[i];
                let r = d.chosen(decision.selection.as_ref());
                RouteTarget {
                    decision: Some(&d.name),
                    model: &r.model,
                    use_reasoning: r.use_reasoning,
                    blocked: d
                        .plugins
                        .iter()
                        .any(|p| matches!(p, PluginConfig::Block(_))),
                }
            }
        }
    }

    /// Builds the outcome of the winning decision `best` (`(index, confidence)`).
    fn expand(
        &self,
        best: Option<(usize, f32)>,
        matches: Vec<SignalMatch>,
        selection: Option<Selection>,
        trace: Option<Vec<DecisionTrace>>,
    ) -> RouteOutcome {
        let cfg = &self.loaded.config;
        match best {
            None => RouteOutcome {
                decision: None,
                model: cfg.providers.defaults.default_model.clone(),
                use_reasoning: false,
                reasoning_effort: None,
                lora_name: None,
                confidence: 0.0,
                plugins: Vec::new(),
                block: None,
                system_prompt: None,
                cache: None,
                signals: matches,
                selection: None,
                trace,
            },
            Some((i, c)) => {
                let d = &self.decisions[i];
                let mut block = None;
                let mut system_prompt = None;
                let mut cache = None;
                for p in &d.plugins {
                    match p {
                        PluginConfig::Block(b) => block = block.or_else(|| Some(b.clone())),
                        PluginConfig::SystemPrompt(s) => {
                            system_prompt = system_prompt.or_else(|| Some(s.clone()))
                        }
                        PluginConfig::SemanticCache(s) => cache = cache.or_else(|| Some(s.clone())),
                    }
                }
                let r = d.chosen(selection.as_ref());
                RouteOutcome {
                    decision: Some(d.name.clone()),
                    model: r.model.clone(),
                    use_reasoning: r.use_reasoning,
                    reasoning_effort: r.reasoning_effort.clone(),
                    lora_name: r.lora_name.clone(),
                    confidence: c,
                    plugins: d.plugins.clone(),
                    block,
                    system_prompt,
                    cache,
                    signals: matches,
                    selection,
                    trace,
                }
            }
        }
    }

    /// Orders two matching decisions `(index, confidence)`; `Greater` means `a` wins.
    fn better(&self, strategy: Strategy, a: (usize, f32), b: (usize, f32)) -> Ordering {
        let (da, db) = (&self.decisions[a.0], &self.decisions[b.0]);
        let by_priority = da.priority.cmp(&db.priority);
        let by_conf = a.1.total_cmp(&b.1);
        let by_name = db.name.cmp(&da.name); // smaller name wins
        match strategy {
            Strategy::Priority => by_priority.then(by_conf).then(by_name),
            Strategy::Confidence => by_conf.then(by_priority).then(by_name),
        }
    }

    fn trace(&self, table: &[f32], matches: &[SignalMatch]) -> Vec<DecisionTrace> {
        self.decisions
            .iter()
            .map(|d| {
                let c = d.root.eval(table);
                let mut expression = String::new();
                d.root.render(table, &d.leaves, &mut 0, &mut expression);
                let leaves = d
                    .leaves
                    .iter()
                    .map(|l| {
                        let v = table.get(l.slot as usize).copied().unwrap_or(NO_MATCH);
                        let evidence = if l.slot == NEVER {
                            format!("signal type {:?} not implemented; never matches", l.kind)
                        } else if v < 0.0 {
                            "no match".to_string()
                        } else {
                            matches
                                .iter()
                                .find(|m| m.kind.as_str() == l.kind && m.name == l.name)
                                .map(|m| m.evidence.clone())
                                .unwrap_or_default()
                        };
                        LeafTrace {
                            path: l.path.clone(),
                            kind: l.kind.clone(),
                            name: l.name.clone(),
                            matched: v >= 0.0,
                            confidence: (v >= 0.0).then_some(v),
                            evidence,
                        }
                    })
                    .collect();
                DecisionTrace {
                    name: d.name.clone(),
                    priority: d.priority,
                    matched: c >= 0.0,
                    confidence: (c >= 0.0).then_some(c),
                    expression,
                    leaves,
                }
            })
            .collect()
    }
}

fn is_rule_kind(k: SignalKind) -> bool {
    !k.is_model_based()
}
