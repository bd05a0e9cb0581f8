//! Classification metrics of a signal or of the decision against labels: accuracy, macro-F1
//! and the confusion matrix.

use std::collections::{BTreeMap, BTreeSet};

use router_core::metrics::{ClassScore, Confusion};
use serde::{Deserialize, Serialize};

/// The predicted label used when the router predicted nothing (no signal match / no decision).
pub const NO_PREDICTION: &str = "(none)";

/// Scores of predictions against labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// Labelled rows.
    pub n: u64,
    /// Rows whose prediction equals the label.
    pub correct: u64,
    /// correct / n.
    pub accuracy: f64,
    /// Unweighted mean of per-class F1 over the union of true and predicted classes
    /// (as scikit-learn's `f1_score(average="macro")`).
    pub macro_f1: f64,
    /// Class names, sorted; row/column order of `matrix`.
    pub labels: Vec<String>,
    /// `matrix[t][p]`: rows with true class `labels[t]` predicted as `labels[p]`.
    pub matrix: Vec<Vec<u64>>,
    /// Per-class scores, in `labels` order.
    pub per_class: Vec<ClassScore>,
}

/// Accumulates (truth, prediction) pairs.
#[derive(Debug, Clone, Default)]
pub struct ConfusionCounter {
    /// Truth -> prediction -> count (nested, so counting a seen pair allocates nothing).
    pairs: BTreeMap<String, BTreeMap<String, u64>>,
}

impl ConfusionCounter {
    /// An empty counter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one labelled row; `None` prediction counts as [`NO_PREDICTION`].
    pub fn add(&mut self, truth: &str, predicted: Option<&str>) {
        let predicted = predicted.unwrap_or(NO_PREDICTION);
        let row = match self.pairs.get_mut(truth) {
            Some(row) => row,
            None => self.pairs.entry(truth.to_string()).or_default(),
        };
        match row.get_mut(predicted) {
            Some(c) => *c += 1,
            None => {
                row.insert(predicted.to_string(), 1);
            }
        }
    }

    /// Rows counted so far.
    pub fn len(&self) -> u64 {
        self.pairs.values().flat_map(BTreeMap::values).sum()
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The scores; `None` when no labelled row was counted.
    pub fn finish(&self) -> Option<Classification> {
        if self.pairs.is_empty() {
            return None;
        }
        let labels: Vec<String> = self
            .pairs
            .iter()
            .flat_map(|(t, row)| std::iter::once(t).chain(row.keys()).cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let index: BTreeMap<&str, usize> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i))
            .collect();
        let mut confusion = Confusion::new(labels.clone());
        for (t, row) in &self.pairs {
            for (p, c) in row {
                confusion.add(index[t.as_str()], index[p.as_str()], *c);
            }
        }
        Some(Classification {
            n: confusion.total(),
            correct: confusion.correct(),
            accuracy: confusion.accuracy(),
            macro_f1: confusion.macro_f1(),
            per_class: confusion.per_class(),
            matrix: confusion.matrix().to_vec(),
            labels,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_scores() {
        // truth/pred: a/a a/a a/b b/b b/(none) c/c
        let mut c = ConfusionCounter::new();
        for (t, p) in [
            ("a", Some("a")),
            ("a", Some("a")),
            ("a", Some("b")),
            ("b", Some("b")),
            ("b", None),
            ("c", Some("c")),
        ] {
            c.add(t, p);
        }
        let s = c.finish().unwrap();
        assert_eq!(s.labels, vec!["(none)", "a", "b", "c"]);
        assert_eq!(s.n, 6);
        assert_eq!(s.correct, 4);
        assert!((s.accuracy - 4.0 / 6.0).abs() < 1e-12);
        // row b: b->(none) 1, b->b 1
        assert_eq!(s.matrix[2], vec![1, 0, 1, 0]);
        // F1: (none) 0; a: P=1 R=2/3 F1=0.8; b: P=1/2 R=1/2 F1=0.5; c: 1. Macro = 2.3/4.
        assert!((s.per_class[1].f1 - 0.8).abs() < 1e-12);
        assert!((s.per_class[2].f1 - 0.5).abs() < 1e-12);
        assert!((s.macro_f1 - 2.3 / 4.0).abs() < 1e-12);
        assert!(ConfusionCounter::new().finish().is_none());
    }
}
