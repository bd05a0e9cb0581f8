//! Validation of `routing.projections`, the checks of the seed's `validateProjectionContracts`
//! (`pkg/config/validator_projection.go`) in its order: partitions, scores and their inputs,
//! mappings and their outputs, then the scores' dependency order.

use std::collections::{HashMap, HashSet};

use super::schema::RouterConfig;
use super::validate::Validator;
use super::{ProjectionInput, ProjectionMapping, ProjectionPartition, Projections};
use crate::signals::SignalKind;

/// Input types a score may read (`isProjectionInputTypeSupported`); routelab computes the
/// ones that are [`SignalKind`]s, the others never match.
const INPUT_TYPES: [&str; 20] = [
    "keyword",
    "embedding",
    "domain",
    "fact_check",
    "user_feedback",
    "reask",
    "preference",
    "language",
    "context",
    "structure",
    "complexity",
    "modality",
    "authz",
    "jailbreak",
    "pii",
    "kb",
    "conversation",
    "event",
    "kb_metric",
    "projection",
];

/// Signal names by kind, as validation collected them.
type Known<'c> = HashMap<SignalKind, HashSet<&'c str>>;

impl Validator<'_> {
    /// Every check of `routing.projections`.
    pub(super) fn projections(&mut self, c: &RouterConfig, known: &Known<'_>) {
        let p = &c.routing.projections;
        for (i, part) in p.partitions.iter().enumerate() {
            self.partition(&format!("routing.projections.partitions[{i}]"), part, c);
        }
        let outputs: HashSet<&str> = p.outputs().map(|o| o.name.as_str()).collect();
        let mut scores: HashSet<&str> = HashSet::new();
        for (i, s) in p.scores.iter().enumerate() {
            let base = format!("routing.projections.scores[{i}]");
            if s.name.trim().is_empty() {
                self.error(&format!("{base}.name"), "score name cannot be empty");
            } else if !scores.insert(s.name.as_str()) {
                self.error(
                    &format!("{base}.name"),
                    &format!("duplicate score name {:?}", s.name),
                );
            }
            if s.method != "weighted_sum" {
                let m = &s.method;
                self.error(
                    &format!("{base}.method"),
                    &format!("unsupported method {m:?} (supported: weighted_sum)"),
                );
            }
            if s.inputs.is_empty() {
                self.error(&format!("{base}.inputs"), "inputs cannot be empty");
            }
            for (j, input) in s.inputs.iter().enumerate() {
                self.score_input(&format!("{base}.inputs[{j}]"), input, known, &outputs);
                if input.kind == "kb_metric" {
                    self.kb_metric_input(&format!("{base}.inputs[{j}]"), input, c);
                }
            }
        }
        let mut seen_outputs: HashSet<&str> = HashSet::new();
        for (i, m) in p.mappings.iter().enumerate() {
            let base = format!("routing.projections.mappings[{i}]");
            self.mapping(&base, m, &scores, &mut seen_outputs);
        }
        self.score_dependencies(p);
    }

    /// A partition: members of one kind (declared domains or embeddings), its semantics and
    /// its default.
    fn partition(&mut self, base: &str, part: &ProjectionPartition, c: &RouterConfig) {
        if part.members.is_empty() {
            self.error(&format!("{base}.members"), "members cannot be empty");
            return;
        }
        if !matches!(part.semantics.as_str(), "exclusive" | "softmax_exclusive") {
            let s = &part.semantics;
            let message =
                format!("unsupported semantics {s:?} (supported: exclusive, softmax_exclusive)");
            self.error(&format!("{base}.semantics"), &message);
        }
        if part.default.is_empty() {
            self.error(&format!("{base}.default"), "default is required");
        }
        let mut kind = None;
        for (j, m) in part.members.iter().enumerate() {
            let at = format!("{base}.members[{j}]");
            match (c.partition_member_kind(m), kind) {
                (None, _) => self.error(
                    &at,
                    &format!("member {m:?} is not a declared domain or embedding signal"),
                ),
                (Some(k), None) => kind = Some(k),
                (Some(k), Some(first)) if k != first => self.error(
                    &at,
                    &format!(
                        "members must share one kind (domain or embedding), found {first} and {k}"
                    ),
                ),
                _ => {}
            }
        }
        if part.semantics == "softmax_exclusive" && part.temperature <= 0.0 {
            self.error(
                &format!("{base}.temperature"),
                "softmax_exclusive requires temperature > 0",
            );
        }
        if !part.default.is_empty() && !part.members.contains(&part.default) {
            let message = format!("default {:?} must also appear in members", part.default);
            self.error(&format!("{base}.default"), &message);
        }
    }

    /// One input of a score: a supported type, a declared signal (of the kinds routelab
    /// reads), score, mapping output or knowledge base, and a value source that type takes.
    fn score_input(
        &mut self,
        base: &str,
        input: &ProjectionInput,
        known: &Known<'_>,
        outputs: &HashSet<&str>,
    ) {
        let t = input.kind.as_str();
        let what = format!("input {t}({:?})", input.name);
        if !INPUT_TYPES.contains(&t) {
            self.error(
                &format!("{base}.type"),
                &format!("{what} uses unsupported type {t:?}"),
            );
            return;
        }
        let source = input.value_source.trim().to_lowercase();
        let at = format!("{base}.value_source");
        match t {
            "kb_metric" => {
                if input.kb.as_deref().is_none_or(str::is_empty) {
                    self.error(base, "kb_metric inputs require kb");
                }
                if !matches!(source.as_str(), "" | "score") {
                    let message = format!(
                        "{what} has unsupported value_source {:?} (supported: score)",
                        input.value_source
                    );
                    self.error(&at, &message);
                }
            }
            "projection" => self.projection_input(base, input, &source, outputs),
            _ => {
                if let Some(kind) = SignalKind::parse(t) {
                    // A complexity input is declared by its rule, the name before the first `:`
                    // (the seed's `complexityNameDeclared`).
                    let declared = match kind {
                        SignalKind::Complexity => input.name.split(':').next().unwrap_or(""),
                        _ => input.name.as_str(),
                    };
                    if !known[&kind].contains(declared) {
                        let message = format!("{what} is not declared in routing.signals");
                        self.error(&format!("{base}.name"), &message);
                    }
                }
                if !matches!(
                    input.value_source.as_str(),
                    "" | "binary" | "confidence" | "raw"
                ) {
                    let message = format!(
                        "{what} has unsupported value_source {:?} (supported: binary, confidence, raw)",
                        input.value_source
                    );
                    self.error(&at, &message);
                }
            }
        }
    }

    /// A `kb_metric` input names a declared knowledge base and one of its metrics (the seed's
    /// `validateKBMetricProjectionInput`).
    fn kb_metric_input(&mut self, base: &str, input: &ProjectionInput, c: &RouterConfig) {
        let Some(name) = input.kb.as_deref().filter(|k| !k.is_empty()) else {
            return; // reported by `score_input`
        };
        let kbs = c.global.model_catalog.knowledge_bases();
        let Some(kb) = kbs.iter().find(|k| k.name == name) else {
            let message = format!("kb_metric input references unknown kb {name:?}");
            return self.error(&format!("{base}.kb"), &message);
        };
        let metric = input.metric.as_deref().unwrap_or("");
        let known = matches!(metric, "best_score" | "best_matched_score")
            || kb.metrics.iter().any(|m| m.name == metric);
        if !known {
            let message = format!("kb_metric input for kb {name:?} uses unsupported metric {metric:?} (supported: best_score, best_matched_score, or a metric the kb declares)");
            self.error(&format!("{base}.metric"), &message);
        }
    }

    /// A `projection` input: a score (value source `score` or none, checked with the
    /// dependency order) or a mapping output's confidence.
    fn projection_input(
        &mut self,
        base: &str,
        input: &ProjectionInput,
        source: &str,
        outputs: &HashSet<&str>,
    ) {
        if input.name.is_empty() {
            let message =
                "projection input requires a name referencing a declared score or mapping output";
            self.error(base, message);
            return;
        }
        match source {
            "" | "score" => {}
            "confidence" if outputs.contains(input.name.as_str()) => {}
            "confidence" => {
                let message = format!("projection input {:?} with value_source \"confidence\" references no mapping output", input.name);
                self.error(&format!("{base}.name"), &message);
            }
            _ => {
                let message = format!(
                    "projection input {:?} has unsupported value_source {:?} (supported: score, confidence)",
                    input.name, input.value_source
                );
                self.error(&format!("{base}.value_source"), &message);
            }
        }
    }

    /// A mapping: its source score, method, calibration and bands.
    fn mapping<'c>(
        &mut self,
        base: &str,
        m: &'c ProjectionMapping,
        scores: &HashSet<&str>,
        seen: &mut HashSet<&'c str>,
    ) {
        if m.name.trim().is_empty() {
            self.error(&format!("{base}.name"), "mapping name cannot be empty");
        }
        if !scores.contains(m.source.as_str()) {
            let message = format!("source {:?} is not a declared projection score", m.source);
            self.error(&format!("{base}.source"), &message);
        }
        if !matches!(m.method.as_str(), "" | "threshold_bands" | "multi_emit") {
            let message = format!(
                "unsupported method {:?} (supported: threshold_bands, multi_emit)",
                m.method
            );
            self.error(&format!("{base}.method"), &message);
        }
        if m.outputs.is_empty() {
            self.error(&format!("{base}.outputs"), "outputs cannot be empty");
        } else if m.method == "multi_emit" && m.outputs.len() < 2 {
            let message =
                "method \"multi_emit\" requires at least 2 outputs (one output is threshold_bands)";
            self.error(&format!("{base}.outputs"), message);
        }
        if let Some(cal) = &m.calibration {
            if !matches!(cal.method.as_str(), "" | "sigmoid_distance") {
                let message = format!(
                    "unsupported calibration method {:?} (supported: sigmoid_distance)",
                    cal.method
                );
                self.error(&format!("{base}.calibration.method"), &message);
            }
        }
        for (j, o) in m.outputs.iter().enumerate() {
            let at = format!("{base}.outputs[{j}]");
            if o.name.trim().is_empty() {
                self.error(&format!("{at}.name"), "output name cannot be empty");
            } else if !seen.insert(o.name.as_str()) {
                self.error(
                    &format!("{at}.name"),
                    &format!("duplicate output name {:?}", o.name),
                );
            }
            if o.distance(0.0).is_none() {
                self.error(&at, "at least one threshold bound is required");
            }
            if o.gt.is_some() && o.gte.is_some() {
                self.error(&at, "cannot set both gt and gte");
            }
            if o.lt.is_some() && o.lte.is_some() {
                self.error(&at, "cannot set both lt and lte");
            }
        }
    }

    /// Projection inputs name declared scores, and no score depends on itself
    /// (`validateProjectionScoreDependencyOrder`).
    fn score_dependencies(&mut self, p: &Projections) {
        let index: HashMap<&str, usize> = p
            .scores
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        let output_source: HashMap<&str, &str> = p
            .mappings
            .iter()
            .flat_map(|m| {
                m.outputs
                    .iter()
                    .map(move |o| (o.name.as_str(), m.source.as_str()))
            })
            .collect();
        let mut deps: Vec<Vec<usize>> = vec![Vec::new(); p.scores.len()];
        for (i, s) in p.scores.iter().enumerate() {
            for (j, input) in s.inputs.iter().enumerate() {
                if input.kind != "projection" || input.name.is_empty() {
                    continue;
                }
                let confidence = input.value_source.trim().eq_ignore_ascii_case("confidence");
                let target = if confidence {
                    output_source.get(input.name.as_str()).copied()
                } else {
                    Some(input.name.as_str())
                };
                match target.and_then(|t| index.get(t)) {
                    Some(&d) => deps[i].push(d),
                    None if !confidence => {
                        let message = format!(
                            "projection input references undefined score {:?}",
                            input.name
                        );
                        self.error(
                            &format!("routing.projections.scores[{i}].inputs[{j}].name"),
                            &message,
                        );
                    }
                    None => {}
                }
            }
        }
        if let Some(cycle) = find_cycle(&deps) {
            let names: Vec<&str> = cycle.iter().map(|&i| p.scores[i].name.as_str()).collect();
            let message = format!("dependency cycle detected: {}", names.join(" -> "));
            self.error("routing.projections.scores", &message);
        }
    }
}

/// A cycle of the graph `deps` (node -> nodes it reads), as the path that closes it.
fn find_cycle(deps: &[Vec<usize>]) -> Option<Vec<usize>> {
    // 0 unvisited, 1 on the path, 2 done.
    fn visit(
        i: usize,
        deps: &[Vec<usize>],
        state: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        state[i] = 1;
        path.push(i);
        for &d in &deps[i] {
            if state[d] == 1 {
                let start = path.iter().position(|&p| p == d).expect("on the path");
                let mut cycle = path[start..].to_vec();
                cycle.push(d);
                return Some(cycle);
            }
            if state[d] == 0 {
                if let Some(c) = visit(d, deps, state, path) {
                    return Some(c);
                }
            }
        }
        path.pop();
        state[i] = 2;
        None
    }
    let mut state = vec![0u8; deps.len()];
    (0..deps.len()).find_map(|i| {
        if state[i] == 0 {
            visit(i, deps, &mut state, &mut Vec::new())
        } else {
            None
        }
    })
}
