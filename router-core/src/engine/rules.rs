//! Compiled rule trees: leaves are indices into a per-request confidence table.
//!
//! The table holds, per slot (one slot per used `(kind, name)` signal rule), the match
//! confidence or a negative value for "did not match". Evaluation returns a confidence, again
//! negative for "no match":
//!
//! * leaf: the slot's value (a leaf of an unimplemented kind never matches);
//! * `AND`: all children match, confidence = mean of the children's; an `AND` with no children
//!   (and an empty rule tree) is a fallback that always matches with confidence 0, as in the
//!   seed (`evalAND` and `RuleNode.IsEmpty`);
//! * `OR`: some child matches, confidence = max over the matching children (none: no match);
//! * `NOT`: its single child does not match, confidence 1.

use super::settle::Tri;
use crate::config::{RuleNode, RuleOperator};

/// "No match" in the confidence table.
pub(crate) const NO_MATCH: f32 = -1.0;
/// Slot of a leaf that can never match (unimplemented signal kind).
pub(crate) const NEVER: u32 = u32::MAX;

/// A compiled rule node.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Slot in the table.
    Leaf(u32),
    And(Box<[Node]>),
    Or(Box<[Node]>),
    Not(Box<Node>),
}

/// Leaf metadata kept for traces, in tree order.
#[derive(Debug, Clone)]
pub(crate) struct LeafInfo {
    pub path: String,
    pub kind: String,
    pub name: String,
    pub slot: u32,
}

impl Node {
    /// Compiles a validated rule tree; `slot(kind, name)` gives a leaf's slot (or [`NEVER`]).
    pub(crate) fn compile(
        rule: &RuleNode,
        path: &str,
        slot: &dyn Fn(&str, &str) -> u32,
        leaves: &mut Vec<LeafInfo>,
    ) -> Node {
        let children = |leaves: &mut Vec<LeafInfo>| -> Box<[Node]> {
            rule.conditions
                .iter()
                .enumerate()
                .map(|(i, c)| Node::compile(c, &format!("{path}.conditions[{i}]"), slot, leaves))
                .collect()
        };
        if rule.is_fallback() {
            return Node::And(Box::new([]));
        }
        match rule.operator {
            Some(RuleOperator::And) => Node::And(children(leaves)),
            Some(RuleOperator::Or) => Node::Or(children(leaves)),
            Some(RuleOperator::Not) => {
                let mut c = children(leaves).into_vec();
                // Validation guarantees exactly one child; be total anyway.
                match c.len() {
                    1 => Node::Not(Box::new(c.remove(0))),
                    _ => Node::Not(Box::new(Node::And(c.into_boxed_slice()))),
                }
            }
            None => {
                let kind = rule.signal_type.clone().unwrap_or_default();
                let name = rule.name.clone().unwrap_or_default();
                let s = slot(&kind, &name);
                leaves.push(LeafInfo {
                    path: path.to_string(),
                    kind,
                    name,
                    slot: s,
                });
                Node::Leaf(s)
            }
        }
    }

    /// Evaluates against the confidence table; negative = no match.
    #[inline]
    pub(crate) fn eval(&self, table: &[f32]) -> f32 {
        match self {
            Node::Leaf(s) => table.get(*s as usize).copied().unwrap_or(NO_MATCH),
            Node::And(cs) => {
                if cs.is_empty() {
                    return 0.0;
                }
                let mut sum = 0.0;
                for c in cs.iter() {
                    let v = c.eval(table);
                    if v < 0.0 {
                        return NO_MATCH;
                    }
                    sum += v;
                }
                sum / cs.len() as f32
            }
            Node::Or(cs) => cs.iter().map(|c| c.eval(table)).fold(NO_MATCH, f32::max),
            Node::Not(c) => {
                if c.eval(table) < 0.0 {
                    1.0
                } else {
                    NO_MATCH
                }
            }
        }
    }

    /// Evaluates in three values over what is known of each slot (see [`Tri`]); a leaf of a
    /// kind routelab does not compute is unknown.
    pub(crate) fn eval_tri(&self, cells: &[Tri]) -> Tri {
        match self {
            Node::Leaf(s) => cells.get(*s as usize).copied().unwrap_or(Tri::UNKNOWN),
            Node::And(cs) if cs.is_empty() => Tri::known(0.0),
            Node::And(cs) => {
                let ts: Vec<Tri> = cs.iter().map(|c| c.eval_tri(cells)).collect();
                if ts.iter().any(|t| !t.can) {
                    return Tri::NO;
                }
                let n = ts.len() as f32;
                Tri {
                    can: true,
                    must: ts.iter().all(|t| t.must),
                    lo: ts.iter().map(|t| t.lo).sum::<f32>() / n,
                    hi: ts.iter().map(|t| t.hi).sum::<f32>() / n,
                }
            }
            Node::Or(cs) => {
                let ts: Vec<Tri> = cs
                    .iter()
                    .map(|c| c.eval_tri(cells))
                    .filter(|t| t.can)
                    .collect();
                if ts.is_empty() {
                    return Tri::NO;
                }
                let must = ts.iter().any(|t| t.must);
                let lo = if must {
                    ts.iter()
                        .filter(|t| t.must)
                        .map(|t| t.lo)
                        .fold(f32::MIN, f32::max)
                } else {
                    ts.iter().map(|t| t.lo).fold(f32::MAX, f32::min)
                };
                Tri {
                    can: true,
                    must,
                    lo,
                    hi: ts.iter().map(|t| t.hi).fold(f32::MIN, f32::max),
                }
            }
            Node::Not(c) => {
                let t = c.eval_tri(cells);
                Tri {
                    can: !t.must,
                    must: !t.can,
                    lo: 1.0,
                    hi: 1.0,
                }
            }
        }
    }

    /// Renders the tree with each leaf's value, for traces.
    pub(crate) fn render(
        &self,
        table: &[f32],
        leaves: &[LeafInfo],
        next_leaf: &mut usize,
        out: &mut String,
    ) {
        match self {
            Node::Leaf(s) => {
                let l = &leaves[*next_leaf];
                *next_leaf += 1;
                let v = table.get(*s as usize).copied().unwrap_or(NO_MATCH);
                if v < 0.0 {
                    out.push_str(&format!("{}:{}=no", l.kind, l.name));
                } else {
                    out.push_str(&format!("{}:{}={v:.2}", l.kind, l.name));
                }
            }
            Node::And(cs) if cs.is_empty() => out.push_str("fallback"),
            Node::And(cs) | Node::Or(cs) => {
                out.push_str(if matches!(self, Node::And(_)) {
                    "AND("
                } else {
                    "OR("
                });
                for (i, c) in cs.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    c.render(table, leaves, next_leaf, out);
                }
                out.push(')');
            }
            Node::Not(c) => {
                out.push_str("NOT(");
                c.render(table, leaves, next_leaf, out);
                out.push(')');
            }
        }
    }
}
