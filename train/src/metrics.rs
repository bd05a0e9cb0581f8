//! Held-out metrics of a training run, in `training_report.json`'s shape. The scores themselves
//! are computed by [`router_core::metrics`], the module replay reports use too.

use router_core::metrics::{ClassScore, Confusion};
use serde::{Deserialize, Serialize};

/// Classification metrics over a set of predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationMetrics {
    /// Fraction of correct predictions.
    pub accuracy: f64,
    /// Unweighted mean of per-class F1 over classes with gold or predicted items.
    pub macro_f1: f64,
    /// Per-class scores in label order.
    pub per_class: Vec<ClassScore>,
    /// `confusion[gold][predicted]` counts.
    pub confusion: Vec<Vec<u64>>,
    /// Number of scored items.
    pub count: usize,
}

/// Scores `pred` against `gold` (label ids into `labels`).
pub fn classification(gold: &[usize], pred: &[usize], labels: &[String]) -> ClassificationMetrics {
    let mut confusion = Confusion::new(labels.to_vec());
    for (&g, &p) in gold.iter().zip(pred) {
        confusion.add(g, p, 1);
    }
    ClassificationMetrics {
        accuracy: confusion.accuracy(),
        macro_f1: confusion.macro_f1(),
        per_class: confusion.per_class(),
        confusion: confusion.matrix().to_vec(),
        count: gold.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_shape_from_the_shared_scores() {
        let labels: Vec<String> = ["a", "b"].map(String::from).to_vec();
        let m = classification(&[0, 0, 1], &[0, 1, 1], &labels);
        assert_eq!(m.confusion, vec![vec![1, 1], vec![0, 1]]);
        assert_eq!(m.count, 3);
        assert!((m.accuracy - 2.0 / 3.0).abs() < 1e-12);
        // a: P 1, R 1/2, F1 2/3; b: P 1/2, R 1, F1 2/3.
        assert!((m.macro_f1 - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(m.per_class[0].support, 2);
    }
}
