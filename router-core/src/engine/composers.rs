//! Complexity composers (the seed's `applySignalComposers` / `filterComplexityByComposer`,
//! `pkg/classification/classifier_composers.go`): after the partitions, a complexity rule whose
//! `composer` does not hold over the other signals' matches loses its level.
//!
//! A composer is evaluated unlike a decision's rules: a node with a `type` is a leaf, true when
//! that rule of a kind [`composer_leaf_kind`] knows matched; `OR` is any child, `NOT` the
//! negation of its one child (false with any other count), anything else `AND` (an empty
//! `AND` is true).

use super::rules::NO_MATCH;
use crate::config::{composer_leaf_kind, RouterConfig, RuleNode, RuleOperator, COMPLEXITY_LEVELS};
use crate::signals::SignalKind;

/// A slot of the confidence table (`None`: a rule the router does not compute).
type Slot = Option<u32>;

/// The composers of a config's complexity rules.
#[derive(Debug, Clone)]
pub(crate) struct Composers {
    rules: Vec<Composed>,
}

#[derive(Debug, Clone)]
struct Composed {
    /// The rule's levels (`<rule>:<level>`) with their slots (`None`: no decision or projection
    /// reads it; it is still dropped from the request's matches).
    levels: Vec<(String, Slot)>,
    condition: Cond,
}

#[derive(Debug, Clone)]
enum Cond {
    Leaf(Slot),
    All(Vec<Cond>),
    Any(Vec<Cond>),
    /// `None`: a `NOT` without exactly one child (false).
    Not(Option<Box<Cond>>),
}

impl Composers {
    /// The composers of `cfg`'s complexity rules (every rule emits a level whenever the signal
    /// runs); `None` when no rule has one.
    pub(crate) fn compile(
        cfg: &RouterConfig,
        slot: &dyn Fn(SignalKind, &str) -> Slot,
    ) -> Option<Composers> {
        let rules: Vec<Composed> = cfg
            .routing
            .signals
            .complexity
            .iter()
            .filter_map(|r| {
                let levels = COMPLEXITY_LEVELS
                    .iter()
                    .map(|l| {
                        let name = format!("{}:{l}", r.name);
                        let s = slot(SignalKind::Complexity, &name);
                        (name, s)
                    })
                    .collect();
                let condition = compile(r.composer.as_ref()?, slot);
                Some(Composed { levels, condition })
            })
            .collect();
        (!rules.is_empty()).then_some(Composers { rules })
    }

    /// Drops the level of every rule whose composer does not hold in `table`; returns the
    /// names of the levels to drop from the request's matches.
    pub(crate) fn apply(&self, table: &mut [f32]) -> Vec<String> {
        let mut dropped = Vec::new();
        for r in &self.rules {
            if r.condition.holds(table) {
                continue;
            }
            for (name, s) in &r.levels {
                if let Some(s) = s {
                    table[*s as usize] = NO_MATCH;
                }
                dropped.push(name.clone());
            }
        }
        dropped
    }
}

fn compile(node: &RuleNode, slot: &dyn Fn(SignalKind, &str) -> Slot) -> Cond {
    if let Some(t) = node.signal_type.as_deref().filter(|t| !t.is_empty()) {
        let name = node.name.as_deref().unwrap_or("");
        return Cond::Leaf(composer_leaf_kind(t).and_then(|k| slot(k, name)));
    }
    let mut children: Vec<Cond> = node.conditions.iter().map(|c| compile(c, slot)).collect();
    match node.operator {
        Some(RuleOperator::Or) => Cond::Any(children),
        Some(RuleOperator::Not) if children.len() == 1 => Cond::Not(children.pop().map(Box::new)),
        Some(RuleOperator::Not) => Cond::Not(None),
        Some(RuleOperator::And) | None => Cond::All(children),
    }
}

impl Cond {
    fn holds(&self, table: &[f32]) -> bool {
        match self {
            Cond::Leaf(s) => s.is_some_and(|s| table.get(s as usize).is_some_and(|v| *v >= 0.0)),
            Cond::All(c) => c.iter().all(|c| c.holds(table)),
            Cond::Any(c) => c.iter().any(|c| c.holds(table)),
            Cond::Not(c) => c.as_ref().is_some_and(|c| !c.holds(table)),
        }
    }
}
