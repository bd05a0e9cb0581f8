//! Evaluation of a model on an encoded split.

use burn::tensor::Device;
use router_core::export::Task;
use router_core::metrics::{entity_scores, EntityScores};
use serde::{Deserialize, Serialize};

use crate::encode::{make_batch, Encoded, IGNORE_INDEX};
use crate::metrics::{classification, ClassificationMetrics};
use crate::model::Classifier;
use crate::weights::to_vec;

/// Metrics of one split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Label-level metrics (per text, or per token for token classification).
    pub classification: ClassificationMetrics,
    /// Entity-level metrics (token classification only).
    pub entity: Option<EntityScores>,
}

impl EvalReport {
    /// The score early stopping watches: entity F1 for tokens, macro-F1 otherwise.
    pub fn score(&self) -> f64 {
        match &self.entity {
            Some(e) => e.f1,
            None => self.classification.macro_f1,
        }
    }
}

/// Logits of each example: one row per text (`[k]`) or per token (`[s][k]`, flattened).
pub fn predict_logits(model: &Classifier, items: &[&Encoded], device: &Device) -> Vec<Vec<f32>> {
    let token_level = model.kind.task == Task::TokenClassification;
    let batch = make_batch(items, token_level, device);
    let logits = model.forward(batch.ids, batch.mask);
    let [b, s, k] = logits.dims();
    let values = to_vec(logits);
    (0..b)
        .map(|i| values[i * s * k..(i + 1) * s * k].to_vec())
        .collect()
}

fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 {
                (i, v)
            } else {
                best
            }
        })
        .0
}

/// Evaluates `model` (call `valid()` first) on `data`.
pub fn evaluate(
    model: &Classifier,
    data: &[Encoded],
    labels: &[String],
    batch_size: usize,
) -> EvalReport {
    let device = model.classifier.weight.val().device();
    let k = labels.len();
    let mut gold = Vec::new();
    let mut pred = Vec::new();
    let mut gold_seqs: Vec<Vec<&str>> = Vec::new();
    let mut pred_seqs: Vec<Vec<&str>> = Vec::new();
    let token_level = model.kind.task == Task::TokenClassification;
    for chunk in data.chunks(batch_size.max(1)) {
        let items: Vec<&Encoded> = chunk.iter().collect();
        let logits = predict_logits(model, &items, &device);
        for (e, row) in chunk.iter().zip(&logits) {
            if token_level {
                let mut g_seq = Vec::new();
                let mut p_seq = Vec::new();
                for (j, &l) in e.labels.iter().enumerate() {
                    if l == IGNORE_INDEX {
                        continue;
                    }
                    let p = argmax(&row[j * k..(j + 1) * k]);
                    gold.push(l as usize);
                    pred.push(p);
                    g_seq.push(labels[l as usize].as_str());
                    p_seq.push(labels[p].as_str());
                }
                gold_seqs.push(g_seq);
                pred_seqs.push(p_seq);
            } else {
                gold.push(e.labels[0] as usize);
                pred.push(argmax(&row[..k]));
            }
        }
    }
    EvalReport {
        classification: classification(&gold, &pred, labels),
        entity: token_level.then(|| entity_scores(&gold_seqs, &pred_seqs)),
    }
}
