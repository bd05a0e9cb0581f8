//! Held-out metrics: accuracy, macro-F1, per-class P/R/F1, confusion matrix, and entity-level F1
//! over BIO tags (an entity is a `B-X` followed by `I-X`s; an `I-X` that does not continue an
//! `X` entity starts a new one, as in conlleval).

use std::collections::BTreeMap;

use router_core::bio::spans;

use serde::{Deserialize, Serialize};

/// Precision, recall and F1 of one class or entity type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScore {
    /// Class or entity type.
    pub label: String,
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
    /// Gold count.
    pub support: usize,
}

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
    pub confusion: Vec<Vec<usize>>,
    /// Number of scored items.
    pub count: usize,
}

fn prf(tp: usize, fp: usize, fn_: usize) -> (f64, f64, f64) {
    let p = if tp + fp == 0 {
        0.0
    } else {
        tp as f64 / (tp + fp) as f64
    };
    let r = if tp + fn_ == 0 {
        0.0
    } else {
        tp as f64 / (tp + fn_) as f64
    };
    let f = if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    };
    (p, r, f)
}

/// Scores `pred` against `gold` (label ids into `labels`).
pub fn classification(gold: &[usize], pred: &[usize], labels: &[String]) -> ClassificationMetrics {
    let n = labels.len();
    let mut confusion = vec![vec![0usize; n]; n];
    for (&g, &p) in gold.iter().zip(pred) {
        confusion[g][p] += 1;
    }
    let correct: usize = (0..n).map(|i| confusion[i][i]).sum();
    let mut per_class = Vec::with_capacity(n);
    let mut f1s = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        let tp = confusion[i][i];
        let support: usize = confusion[i].iter().sum();
        let predicted: usize = (0..n).map(|g| confusion[g][i]).sum();
        let (precision, recall, f1) = prf(tp, predicted - tp, support - tp);
        if support + predicted > 0 {
            f1s.push(f1);
        }
        per_class.push(ClassScore {
            label: label.clone(),
            precision,
            recall,
            f1,
            support,
        });
    }
    ClassificationMetrics {
        accuracy: if gold.is_empty() {
            0.0
        } else {
            correct as f64 / gold.len() as f64
        },
        macro_f1: if f1s.is_empty() {
            0.0
        } else {
            f1s.iter().sum::<f64>() / f1s.len() as f64
        },
        per_class,
        confusion,
        count: gold.len(),
    }
}

/// Entity-level scores: micro P/R/F1 over all types plus per-type scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityMetrics {
    /// Micro precision.
    pub precision: f64,
    /// Micro recall.
    pub recall: f64,
    /// Micro F1.
    pub f1: f64,
    /// Per entity type, sorted by type.
    pub per_type: Vec<ClassScore>,
}

/// Scores predicted against gold BIO sequences (pairs of equal length); exact span match.
/// Spans come from router-core's BIO decoder ([`router_core::bio::spans`]), the one the PII
/// signal serves with.
pub fn entity_f1(gold: &[Vec<&str>], pred: &[Vec<&str>]) -> EntityMetrics {
    let mut counts: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for (g, p) in gold.iter().zip(pred) {
        let gs = spans(g.iter().copied());
        let ps = spans(p.iter().copied());
        for s in &gs {
            let c = counts.entry(s.label.to_string()).or_default();
            if ps.contains(s) {
                c.0 += 1;
            } else {
                c.2 += 1;
            }
        }
        for s in &ps {
            if !gs.contains(s) {
                counts.entry(s.label.to_string()).or_default().1 += 1;
            }
        }
    }
    let (tp, fp, fn_) = counts
        .values()
        .fold((0, 0, 0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2));
    let (precision, recall, f1) = prf(tp, fp, fn_);
    let per_type = counts
        .into_iter()
        .map(|(label, (tp, fp, fn_))| {
            let (precision, recall, f1) = prf(tp, fp, fn_);
            ClassScore {
                label,
                precision,
                recall,
                f1,
                support: tp + fn_,
            }
        })
        .collect();
    EntityMetrics {
        precision,
        recall,
        f1,
        per_type,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn macro_f1_hand_computed() {
        // gold a a a b b c ; pred a a b b c c
        // a: tp2 fp0 fn1 -> p1 r2/3 f0.8 ; b: tp1 fp1 fn1 -> f0.5 ; c: tp1 fp1 fn0 -> p.5 r1 f2/3
        let m = classification(
            &[0, 0, 0, 1, 1, 2],
            &[0, 0, 1, 1, 2, 2],
            &labels(&["a", "b", "c"]),
        );
        assert!((m.accuracy - 4.0 / 6.0).abs() < 1e-12);
        let expected = (0.8 + 0.5 + 2.0 / 3.0) / 3.0;
        assert!((m.macro_f1 - expected).abs() < 1e-12, "{}", m.macro_f1);
        assert_eq!(
            m.confusion,
            vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]
        );
        assert!((m.per_class[2].precision - 0.5).abs() < 1e-12);
        assert_eq!(m.per_class[0].support, 3);
    }

    #[test]
    fn classes_absent_from_gold_and_pred_do_not_count() {
        let m = classification(&[0, 1], &[0, 1], &labels(&["a", "b", "c"]));
        assert_eq!(m.macro_f1, 1.0);
    }

    #[test]
    fn entity_f1_hand_computed() {
        // gold: PER[0,2) EMAIL[3,4) ; pred: PER[0,1) (wrong boundary) EMAIL[3,4) PHONE[5,6)
        let gold = vec![vec!["B-PER", "I-PER", "O", "B-EMAIL", "O", "O"]];
        let pred = vec![vec!["B-PER", "O", "O", "B-EMAIL", "O", "B-PHONE"]];
        let m = entity_f1(&gold, &pred);
        // tp 1, fp 2, fn 1 -> p 1/3, r 1/2, f 0.4
        assert!((m.precision - 1.0 / 3.0).abs() < 1e-12);
        assert!((m.recall - 0.5).abs() < 1e-12);
        assert!((m.f1 - 0.4).abs() < 1e-12);
        let email = m.per_type.iter().find(|t| t.label == "EMAIL").unwrap();
        assert_eq!(email.f1, 1.0);
        let phone = m.per_type.iter().find(|t| t.label == "PHONE").unwrap();
        assert_eq!((phone.precision, phone.support), (0.0, 0));
    }
}
