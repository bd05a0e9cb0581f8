//! Classification and entity scores, the one definition that training's held-out evaluation
//! (`train::metrics`) and replay reports (`eval::classify`) both report: per-class precision,
//! recall and F1 from a confusion matrix, macro-F1 over the classes that occur, and entity-level
//! F1 over spans decoded by [`crate::bio::spans`], the decoder the PII signal serves with.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::bio::spans;

/// Precision, recall and F1 of one class or entity type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScore {
    /// The class or entity type.
    pub label: String,
    /// Gold count: rows whose true label is this class, or gold entities of this type.
    pub support: u64,
    /// tp / (tp + fp); 0 when nothing was predicted as this class.
    pub precision: f64,
    /// tp / (tp + fn); 0 when the class never occurs.
    pub recall: f64,
    /// 2·P·R / (P + R); 0 when P + R = 0.
    pub f1: f64,
}

impl ClassScore {
    /// The scores of `label` from its true positives, false positives and false negatives.
    pub fn from_counts(label: String, tp: u64, fp: u64, fn_: u64) -> Self {
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let precision = ratio(tp, tp + fp);
        let recall = ratio(tp, tp + fn_);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        ClassScore {
            label,
            support: tp + fn_,
            precision,
            recall,
            f1,
        }
    }
}

/// A confusion matrix over a fixed list of classes: `matrix[truth][predicted]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Confusion {
    labels: Vec<String>,
    matrix: Vec<Vec<u64>>,
}

impl Confusion {
    /// An empty matrix over `labels`.
    pub fn new(labels: Vec<String>) -> Self {
        let k = labels.len();
        Confusion {
            labels,
            matrix: vec![vec![0; k]; k],
        }
    }

    /// Counts `count` rows of true class `truth` predicted as `predicted` (indices into the labels).
    pub fn add(&mut self, truth: usize, predicted: usize, count: u64) {
        self.matrix[truth][predicted] += count;
    }

    /// The classes, in row and column order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The counts, `matrix[truth][predicted]`.
    pub fn matrix(&self) -> &[Vec<u64>] {
        &self.matrix
    }

    /// Rows counted.
    pub fn total(&self) -> u64 {
        self.matrix.iter().flatten().sum()
    }

    /// Rows on the diagonal.
    pub fn correct(&self) -> u64 {
        (0..self.labels.len()).map(|i| self.matrix[i][i]).sum()
    }

    /// correct / total; 0 for an empty matrix.
    pub fn accuracy(&self) -> f64 {
        match self.total() {
            0 => 0.0,
            n => self.correct() as f64 / n as f64,
        }
    }

    /// Per-class scores, in label order.
    pub fn per_class(&self) -> Vec<ClassScore> {
        (0..self.labels.len())
            .map(|i| {
                let tp = self.matrix[i][i];
                let support: u64 = self.matrix[i].iter().sum();
                let predicted: u64 = self.matrix.iter().map(|row| row[i]).sum();
                ClassScore::from_counts(self.labels[i].clone(), tp, predicted - tp, support - tp)
            })
            .collect()
    }

    /// The unweighted mean of per-class F1 over the classes that are true or predicted at least
    /// once (scikit-learn's `f1_score(average="macro")` over the labels present); 0 when none is.
    pub fn macro_f1(&self) -> f64 {
        let present: Vec<f64> = self
            .per_class()
            .iter()
            .enumerate()
            .filter(|(i, c)| c.support > 0 || self.matrix.iter().any(|row| row[*i] > 0))
            .map(|(_, c)| c.f1)
            .collect();
        if present.is_empty() {
            0.0
        } else {
            present.iter().sum::<f64>() / present.len() as f64
        }
    }
}

/// Entity-level scores: micro precision / recall / F1 over every type, and per type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityScores {
    /// Micro precision.
    pub precision: f64,
    /// Micro recall.
    pub recall: f64,
    /// Micro F1.
    pub f1: f64,
    /// Per entity type, sorted by type.
    pub per_type: Vec<ClassScore>,
}

/// Scores predicted against gold BIO tag sequences (pairs of equal length): an entity counts as
/// found only when type and boundaries match exactly (conlleval's rule).
pub fn entity_scores(gold: &[Vec<&str>], pred: &[Vec<&str>]) -> EntityScores {
    // type -> (tp, fp, fn)
    let mut counts: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
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
        for s in ps.iter().filter(|s| !gs.contains(s)) {
            counts.entry(s.label.to_string()).or_default().1 += 1;
        }
    }
    let (tp, fp, fn_) = counts
        .values()
        .fold((0, 0, 0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2));
    let all = ClassScore::from_counts(String::new(), tp, fp, fn_);
    EntityScores {
        precision: all.precision,
        recall: all.recall,
        f1: all.f1,
        per_type: counts
            .into_iter()
            .map(|(label, (tp, fp, fn_))| ClassScore::from_counts(label, tp, fp, fn_))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn confusion(labels: &[&str], pairs: &[(usize, usize)]) -> Confusion {
        let mut c = Confusion::new(labels.iter().map(|s| s.to_string()).collect());
        for &(t, p) in pairs {
            c.add(t, p, 1);
        }
        c
    }

    #[test]
    fn class_scores_hand_computed() {
        // gold a a a b b c ; pred a a b b c c
        // a: tp2 fp0 fn1 -> p1 r2/3 f0.8 ; b: tp1 fp1 fn1 -> f0.5 ; c: tp1 fp1 fn0 -> p.5 r1 f2/3
        let c = confusion(
            &["a", "b", "c"],
            &[(0, 0), (0, 0), (0, 1), (1, 1), (1, 2), (2, 2)],
        );
        assert_eq!((c.total(), c.correct()), (6, 4));
        assert!((c.accuracy() - 4.0 / 6.0).abs() < 1e-12);
        let expected = (0.8 + 0.5 + 2.0 / 3.0) / 3.0;
        assert!((c.macro_f1() - expected).abs() < 1e-12, "{}", c.macro_f1());
        assert_eq!(c.matrix(), &[vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]);
        let per = c.per_class();
        assert!((per[2].precision - 0.5).abs() < 1e-12);
        assert_eq!(per[0].support, 3);
    }

    #[test]
    fn classes_neither_true_nor_predicted_do_not_count() {
        let c = confusion(&["a", "b", "c"], &[(0, 0), (1, 1)]);
        assert_eq!(c.macro_f1(), 1.0);
        // A class only predicted counts (with F1 0).
        let c = confusion(&["a", "b"], &[(0, 0), (0, 1)]);
        assert!((c.macro_f1() - (2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert_eq!(Confusion::new(vec![]).macro_f1(), 0.0);
        assert_eq!(Confusion::new(vec![]).accuracy(), 0.0);
    }

    #[test]
    fn entity_scores_hand_computed() {
        // gold: PER[0,2) EMAIL[3,4) ; pred: PER[0,1) (wrong boundary) EMAIL[3,4) PHONE[5,6)
        let gold = vec![vec!["B-PER", "I-PER", "O", "B-EMAIL", "O", "O"]];
        let pred = vec![vec!["B-PER", "O", "O", "B-EMAIL", "O", "B-PHONE"]];
        let m = entity_scores(&gold, &pred);
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
