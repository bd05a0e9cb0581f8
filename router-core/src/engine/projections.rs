//! `routing.projections` at request time, after every signal has run and before decisions:
//!
//! 1. **Partitions** (the seed's `applySignalGroups`, `pkg/classification/
//!    classifier_signal_groups.go`): among the matched members of a partition, in match order,
//!    the one with the highest confidence stays matched (the first on a tie) and the others are
//!    dropped; `softmax_exclusive` replaces the winner's confidence with its softmax share at the
//!    partition's temperature. When no member matched, the `default` member matches with
//!    confidence 1 (the seed adds it without a confidence, which a leaf reads as 1).
//! 2. **Complexity composers** ([`super::composers`]): a complexity rule whose composer does
//!    not hold loses its level.
//! 3. **Embedding top-k** (`limitMatchedSignalsByTopK`): at most `embedding_config.top_k`
//!    embedding rules (1 unless set, 0 for all) stay matched, the most confident first.
//! 4. **Scores** (`applyProjections`, `projectionInputValue`): `Σ weight · value` in input
//!    order, scores in dependency order. A value is `match` (1 when 0) or `miss` by whether the
//!    signal matched (`binary`, the default); the match confidence, 1 when the match has none,
//!    0 unmatched (`confidence`); the value the signal measured, matched or not (`raw`, the
//!    seed's `SignalValues`); a knowledge-base metric (`kb_metric`); or another score, or a
//!    mapping output's confidence (`projection`). A value no signal measured reads 0.
//! 5. **Mappings** (`applyProjectionMapping`, `projectionOutputConfidence`): right after its
//!    source score, the first output whose bounds all hold (`threshold_bands`) or every such
//!    output (`multi_emit`) matches with confidence `1 / (1 + e^(−slope · d))`, `d` the score's
//!    distance to the nearest set bound, slope 12 unless the calibration sets one above 0.

use smallvec::SmallVec;

use super::composers::Composers;
use super::rules::NO_MATCH;
use super::settle::Tri;
use crate::config::{ProjectionInput, ProjectionOutput, RouterConfig};
use crate::signals::{SignalKind, SignalMatch};

/// A slot of the confidence table, or `None` for a rule that has none (a kind routelab does
/// not implement: it never matches).
type Slot = Option<u32>;

/// The compiled projections of a config.
#[derive(Debug, Clone)]
pub(crate) struct Projections {
    partitions: Vec<Partition>,
    /// Complexity composers, after the partitions.
    composers: Option<Composers>,
    /// The seed's embedding output policy, after the partitions.
    embedding_top_k: Option<TopK>,
    /// In evaluation order (dependencies first).
    scores: Vec<Score>,
    /// Scores in all (the size of the per-request value array).
    n_scores: usize,
}

#[derive(Debug, Clone)]
struct Partition {
    name: String,
    kind: SignalKind,
    /// Member names with their slots.
    members: Vec<(String, Slot)>,
    /// Index into `members`.
    default: usize,
    /// `softmax_exclusive`'s temperature.
    softmax: Option<f64>,
}

/// At most `k` embedding rules stay matched, the most confident first, ties to the smaller
/// name (the seed's `limitMatchedSignalsByTopK`, `global.model_catalog.embeddings.semantic.
/// embedding_config.top_k`, 1 unless set; 0 keeps all).
#[derive(Debug, Clone)]
struct TopK {
    k: usize,
    /// The used embedding rules with their slots.
    rules: Vec<(String, u32)>,
}

impl TopK {
    fn apply(&self, table: &mut [f32], changes: Option<&mut Changes>) {
        let mut matched: Vec<(f32, &str, u32)> = self
            .rules
            .iter()
            .filter_map(|(n, s)| matched(table, Some(*s)).map(|c| (c, n.as_str(), *s)))
            .collect();
        if matched.len() <= self.k {
            return;
        }
        matched.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        let mut changes = changes;
        for &(_, name, slot) in &matched[self.k..] {
            table[slot as usize] = NO_MATCH;
            if let Some(ch) = changes.as_deref_mut() {
                ch.dropped.push((SignalKind::Embedding, name.to_string()));
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Score {
    name: String,
    /// Declaration index (where its value is kept).
    index: usize,
    inputs: Vec<(f64, Value)>,
    mappings: Vec<Mapping>,
}

#[derive(Debug, Clone)]
enum Value {
    /// `on` when the slot matched, else `off`.
    Binary { slot: Slot, on: f64, off: f64 },
    /// The slot's confidence (1 when it is 0), 0 unmatched.
    Confidence(Slot),
    /// Another score's value, by declaration index.
    Score(usize),
    /// A mapping output's confidence, 0 when it did not match.
    Output(Slot),
    /// A measured value (`raw`, `kb_metric`) by value slot, 0 when no signal measures it; any
    /// value in `[lo, hi]` to [`Projections::apply_tri`], which does not know them.
    Measured { slot: Slot, lo: f64, hi: f64 },
    /// A score no score declares, a value no signal measures: 0.
    Zero,
}

#[derive(Debug, Clone)]
struct Mapping {
    multi: bool,
    slope: f64,
    outputs: Vec<(ProjectionOutput, Slot)>,
}

/// What projections changed in a request's signal matches, for its outcome.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    /// Partition members dropped for a winner.
    pub dropped: Vec<(SignalKind, String)>,
    /// Partition winners whose confidence became their softmax share.
    pub rescored: Vec<(SignalKind, String, f32)>,
    /// Partition defaults and projection outputs that matched.
    pub added: Vec<SignalMatch>,
}

impl Projections {
    /// Compiles the projections of `cfg`; `slot(kind, name)` gives a used rule's slot. `None`
    /// when the config has none.
    pub(crate) fn compile(
        cfg: &RouterConfig,
        slot: &dyn Fn(SignalKind, &str) -> Slot,
        value_slot: &dyn Fn(&str) -> Slot,
    ) -> Option<Projections> {
        let p = &cfg.routing.projections;
        let partitions: Vec<Partition> = p
            .partitions
            .iter()
            .filter_map(|part| {
                let kind = cfg.partition_member_kind(part.members.first()?)?;
                let members: Vec<(String, Slot)> = part
                    .members
                    .iter()
                    .map(|m| (m.clone(), slot(kind, m)))
                    .collect();
                Some(Partition {
                    name: part.name.clone(),
                    kind,
                    default: part.members.iter().position(|m| *m == part.default)?,
                    members,
                    // A temperature not above 0 is 1 (`softmaxScores`).
                    softmax: (part.semantics == "softmax_exclusive")
                        .then_some(part.temperature)
                        .map(|t| if t > 0.0 { t } else { 1.0 }),
                })
            })
            .collect();
        // The seed computes no score unless there are scores and mappings.
        let scores = if p.scores.is_empty() || p.mappings.is_empty() {
            Vec::new()
        } else {
            evaluation_order(cfg)
                .into_iter()
                .map(|i| compile_score(cfg, i, slot, value_slot))
                .collect()
        };
        let embedding_top_k = cfg
            .global
            .model_catalog
            .embeddings
            .semantic
            .embedding_config
            .limit()
            .map(|k| TopK {
                k,
                rules: cfg
                    .routing
                    .signals
                    .embeddings
                    .iter()
                    .filter_map(|r| Some((r.name.clone(), slot(SignalKind::Embedding, &r.name)?)))
                    .collect(),
            })
            .filter(|t| t.rules.len() > t.k);
        let composers = Composers::compile(cfg, slot);
        let any = !partitions.is_empty()
            || !scores.is_empty()
            || embedding_top_k.is_some()
            || composers.is_some();
        any.then_some(Projections {
            embedding_top_k,
            partitions,
            composers,
            scores,
            n_scores: p.scores.len(),
        })
    }

    /// Applies the partitions and projections of a request to its confidence `table`, whose
    /// signal slots `matches` filled, with its measured `values` (by value slot); records what
    /// changed in `changes` when given.
    pub(crate) fn apply(
        &self,
        matches: &[SignalMatch],
        table: &mut [f32],
        values: &[f64],
        mut changes: Option<&mut Changes>,
    ) {
        for p in &self.partitions {
            p.apply(matches, table, changes.as_deref_mut());
        }
        if let Some(c) = &self.composers {
            let dropped = c.apply(table);
            if let Some(ch) = changes.as_deref_mut() {
                ch.dropped
                    .extend(dropped.into_iter().map(|n| (SignalKind::Complexity, n)));
            }
        }
        if let Some(t) = &self.embedding_top_k {
            t.apply(table, changes.as_deref_mut());
        }
        let mut scores: SmallVec<[f64; 8]> = SmallVec::from_elem(0.0, self.n_scores);
        for s in &self.scores {
            let value: f64 = s
                .inputs
                .iter()
                .map(|(w, v)| w * v.get(table, values, &scores))
                .sum();
            scores[s.index] = value;
            for m in &s.mappings {
                m.apply(&s.name, value, table, changes.as_deref_mut());
            }
        }
    }
}

impl Projections {
    /// [`Projections::apply`] over what is known of each slot: partition members (model
    /// signals) become unknown, scores become intervals, and each mapping output is known to
    /// match, known not to, or unknown, with the interval of its confidence. `known` holds the
    /// measured values the rule signals fixed, by value slot (`None`: any value in its range).
    pub(crate) fn apply_tri(&self, cells: &mut [Tri], known: &[Option<f64>]) {
        for p in &self.partitions {
            for (_, slot) in &p.members {
                if let Some(s) = slot {
                    cells[*s as usize] = Tri::UNKNOWN;
                }
            }
        }
        let mut scores: SmallVec<[(f64, f64); 8]> = SmallVec::from_elem((0.0, 0.0), self.n_scores);
        for s in &self.scores {
            let (mut lo, mut hi) = (0.0, 0.0);
            for (w, v) in &s.inputs {
                let (a, b) = v.bounds(cells, &scores, known);
                let (a, b) = if *w >= 0.0 {
                    (w * a, w * b)
                } else {
                    (w * b, w * a)
                };
                // 0 · ±inf is NaN: a zero weight contributes nothing.
                if *w != 0.0 {
                    lo += a;
                    hi += b;
                }
            }
            scores[s.index] = (lo, hi);
            for m in &s.mappings {
                m.apply_tri(lo, hi, cells);
            }
        }
    }
}

impl Mapping {
    /// The outputs' knowledge for a score in `[lo, hi]`.
    fn apply_tri(&self, lo: f64, hi: f64, cells: &mut [Tri]) {
        let (mut earlier_surely, mut earlier_maybe) = (false, false);
        for (out, slot) in &self.outputs {
            let holds = out.holds_on(lo, hi);
            let (can, must) = if self.multi {
                (holds != Some(false), holds == Some(true))
            } else {
                let can = holds != Some(false) && !earlier_surely;
                (can, can && holds == Some(true) && !earlier_maybe)
            };
            earlier_surely |= holds == Some(true);
            earlier_maybe |= holds != Some(false);
            let Some(s) = slot else { continue };
            cells[*s as usize] = if can {
                let (dlo, dhi) = out.distance_range(lo, hi);
                let conf = |d: f64| (1.0 / (1.0 + (-self.slope * d).exp())) as f32;
                Tri {
                    can,
                    must,
                    lo: conf(dlo),
                    hi: conf(dhi),
                }
            } else {
                Tri::NO
            };
        }
    }
}

/// The value of `slot` in `table`, when it matched.
fn matched(table: &[f32], slot: Slot) -> Option<f32> {
    let v = *table.get(slot? as usize)?;
    (v >= 0.0).then_some(v)
}

impl Value {
    fn get(&self, table: &[f32], values: &[f64], scores: &[f64]) -> f64 {
        match *self {
            Value::Binary { slot, on, off } => matched(table, slot).map_or(off, |_| on),
            Value::Confidence(slot) => match matched(table, slot) {
                None => 0.0,
                Some(c) if c > 0.0 => f64::from(c),
                Some(_) => 1.0,
            },
            Value::Score(i) => scores[i],
            Value::Output(slot) => matched(table, slot).map_or(0.0, f64::from),
            Value::Measured { slot, .. } => slot.map_or(0.0, |s| values[s as usize]),
            Value::Zero => 0.0,
        }
    }

    /// The interval the value lies in, given what is known of the slots, the scores and the
    /// measured values.
    fn bounds(&self, cells: &[Tri], scores: &[(f64, f64)], known: &[Option<f64>]) -> (f64, f64) {
        let cell = |slot: Slot| {
            slot.and_then(|s| cells.get(s as usize).copied())
                .unwrap_or(Tri::UNKNOWN)
        };
        match *self {
            Value::Binary { slot, on, off } => {
                let t = cell(slot);
                match (t.must, t.can) {
                    (true, _) => (on, on),
                    (false, false) => (off, off),
                    (false, true) => (on.min(off), on.max(off)),
                }
            }
            Value::Confidence(slot) => {
                let t = cell(slot);
                // A matched confidence of 0 reads as 1.
                let (lo, hi) = match (t.lo, t.hi) {
                    (l, h) if l == h && l == 0.0 => (1.0, 1.0),
                    (l, h) if l > 0.0 => (f64::from(l), f64::from(h)),
                    _ => (0.0, 1.0),
                };
                match (t.must, t.can) {
                    (true, _) => (lo, hi),
                    (false, false) => (0.0, 0.0),
                    (false, true) => (0.0, hi),
                }
            }
            Value::Score(i) => scores[i],
            Value::Output(slot) => {
                let t = cell(slot);
                let lo = if t.must { f64::from(t.lo) } else { 0.0 };
                (lo, if t.can { f64::from(t.hi) } else { 0.0 })
            }
            Value::Measured { slot: None, .. } | Value::Zero => (0.0, 0.0),
            Value::Measured {
                slot: Some(s),
                lo,
                hi,
            } => known
                .get(s as usize)
                .copied()
                .flatten()
                .map_or((lo, hi), |v| (v, v)),
        }
    }
}

impl Partition {
    fn apply(&self, matches: &[SignalMatch], table: &mut [f32], changes: Option<&mut Changes>) {
        // Contenders: matched members still alive, first occurrence each, in match order.
        let mut contenders: SmallVec<[(usize, f32); 8]> = SmallVec::new();
        for m in matches.iter().filter(|m| m.kind == self.kind) {
            let Some(i) = self.members.iter().position(|(n, _)| *n == m.name) else {
                continue;
            };
            if let Some(c) = matched(table, self.members[i].1) {
                if !contenders.iter().any(|(j, _)| *j == i) {
                    contenders.push((i, c));
                }
            }
        }
        match contenders.len() {
            0 => {
                let (name, slot) = &self.members[self.default];
                if let Some(s) = slot {
                    table[*s as usize] = 1.0;
                }
                if let Some(ch) = changes {
                    ch.added.push(SignalMatch {
                        kind: self.kind,
                        name: name.clone(),
                        confidence: 1.0,
                        evidence: format!("partition {}: default, no member matched", self.name),
                    });
                }
            }
            1 => {}
            _ => self.keep_winner(&contenders, table, changes),
        }
    }

    /// Keeps the first contender of highest confidence, drops the others.
    fn keep_winner(
        &self,
        contenders: &[(usize, f32)],
        table: &mut [f32],
        changes: Option<&mut Changes>,
    ) {
        let (winner, best) =
            contenders
                .iter()
                .copied()
                .fold((usize::MAX, f32::NEG_INFINITY), |b, c| {
                    if c.1 > b.1 {
                        c
                    } else {
                        b
                    }
                });
        let share = self.softmax.map(|t| {
            let sum: f64 = contenders
                .iter()
                .map(|(_, c)| ((f64::from(*c) - f64::from(best)) / t).exp())
                .sum();
            (1.0 / sum) as f32
        });
        for (i, (_, slot)) in self.members.iter().enumerate() {
            if let (true, Some(s)) = (i != winner, slot) {
                table[*s as usize] = NO_MATCH;
            }
        }
        if let (Some(c), Some(s)) = (share, self.members[winner].1) {
            table[s as usize] = c;
        }
        let Some(ch) = changes else { return };
        for (i, _) in contenders.iter().filter(|(i, _)| *i != winner) {
            ch.dropped.push((self.kind, self.members[*i].0.clone()));
        }
        if let Some(c) = share {
            ch.rescored
                .push((self.kind, self.members[winner].0.clone(), c));
        }
    }
}

impl Mapping {
    fn apply(&self, score: &str, value: f64, table: &mut [f32], mut changes: Option<&mut Changes>) {
        for (out, slot) in &self.outputs {
            if !out.holds(value) {
                continue;
            }
            let d = out.distance(value).unwrap_or(0.0);
            let confidence = (1.0 / (1.0 + (-self.slope * d).exp())) as f32;
            if let Some(s) = slot {
                table[*s as usize] = confidence;
            }
            if let Some(ch) = changes.as_deref_mut() {
                ch.added.push(SignalMatch {
                    kind: SignalKind::Projection,
                    name: out.name.clone(),
                    confidence,
                    evidence: format!("{score}={value:.4}"),
                });
            }
            if !self.multi {
                break;
            }
        }
    }
}

/// Score indices in evaluation order: declaration order, each score after the scores its
/// projection inputs read (the seed's `topologicalScoreOrder`; validation rejects cycles).
fn evaluation_order(cfg: &RouterConfig) -> Vec<usize> {
    let p = &cfg.routing.projections;
    let index = |name: &str| p.scores.iter().position(|s| s.name == name);
    let source_of_output = |output: &str| {
        p.mappings
            .iter()
            .find(|m| m.outputs.iter().any(|o| o.name == output))
            .and_then(|m| index(&m.source))
    };
    let deps = |i: usize| -> Vec<usize> {
        p.scores[i]
            .inputs
            .iter()
            .filter(|input| input.kind.trim().eq_ignore_ascii_case("projection"))
            .filter_map(|input| match value_source(input).as_str() {
                "confidence" => source_of_output(&input.name),
                _ => index(&input.name),
            })
            .collect()
    };
    fn visit(
        i: usize,
        deps: &dyn Fn(usize) -> Vec<usize>,
        seen: &mut Vec<bool>,
        order: &mut Vec<usize>,
    ) {
        if std::mem::replace(&mut seen[i], true) {
            return;
        }
        for d in deps(i) {
            visit(d, deps, seen, order);
        }
        order.push(i);
    }
    let mut seen = vec![false; p.scores.len()];
    let mut order = Vec::with_capacity(p.scores.len());
    for i in 0..p.scores.len() {
        visit(i, &deps, &mut seen, &mut order);
    }
    order
}

/// An input's value source as the runtime reads it (trimmed, lower case).
fn value_source(input: &ProjectionInput) -> String {
    input.value_source.trim().to_lowercase()
}

fn compile_score(
    cfg: &RouterConfig,
    i: usize,
    slot: &dyn Fn(SignalKind, &str) -> Slot,
    value_slot: &dyn Fn(&str) -> Slot,
) -> Score {
    let p = &cfg.routing.projections;
    let s = &p.scores[i];
    let inputs = s
        .inputs
        .iter()
        .map(|input| (input.weight, compile_input(cfg, input, slot, value_slot)))
        .collect();
    let mappings = p
        .mappings
        .iter()
        .filter(|m| m.source == s.name)
        .map(|m| Mapping {
            multi: m.method == "multi_emit",
            slope: m
                .calibration
                .as_ref()
                .map(|c| c.slope)
                .filter(|s| *s > 0.0)
                .unwrap_or(12.0),
            outputs: m
                .outputs
                .iter()
                .map(|o| (o.clone(), slot(SignalKind::Projection, &o.name)))
                .collect(),
        })
        .collect();
    Score {
        name: s.name.clone(),
        index: i,
        inputs,
        mappings,
    }
}

fn compile_input(
    cfg: &RouterConfig,
    input: &ProjectionInput,
    slot: &dyn Fn(SignalKind, &str) -> Slot,
    value_slot: &dyn Fn(&str) -> Slot,
) -> Value {
    let kind = input.kind.trim().to_lowercase();
    let source = value_source(input);
    let measured = || input.measured_key().and_then(|k| value_slot(&k));
    match kind.as_str() {
        // A knowledge-base score or margin: similarities of unit vectors, so within [-1, 1].
        "kb_metric" => {
            return Value::Measured {
                slot: measured(),
                lo: -1.0,
                hi: 1.0,
            }
        }
        "projection" if source == "confidence" => {
            return Value::Output(slot(SignalKind::Projection, &input.name))
        }
        "projection" => {
            let p = &cfg.routing.projections;
            return p
                .scores
                .iter()
                .position(|s| s.name == input.name)
                .map_or(Value::Zero, Value::Score);
        }
        _ => {}
    }
    let rule = SignalKind::parse(&kind).and_then(|k| slot(k, &input.name));
    match source.as_str() {
        "confidence" => Value::Confidence(rule),
        // The seed's `SignalValues` has no value of the other kinds: they read 0.
        "raw" if SignalKind::parse(&kind).is_some_and(SignalKind::measures) => Value::Measured {
            slot: measured(),
            lo: f64::NEG_INFINITY,
            hi: f64::INFINITY,
        },
        "raw" => Value::Zero,
        _ => Value::Binary {
            slot: rule,
            on: if input.match_value == 0.0 {
                1.0
            } else {
                input.match_value
            },
            off: input.miss,
        },
    }
}
