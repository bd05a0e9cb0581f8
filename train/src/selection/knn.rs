//! The kNN selector: the training split itself, with `k` chosen on validation.

use router_core::export::selector::{KNN_KEYS, KNN_QUALITY};

use super::{EpochLoss, Fitted, Table, KNN_CANDIDATES};
use crate::weights::TensorMap;

/// Mean squared error of kNN predictions on `validation` for every `k` in `ks`, from one
/// similarity pass per validation row.
fn validation_errors(train: &Table, validation: &Table, ks: &[usize]) -> Vec<f64> {
    let max_k = ks.iter().copied().max().unwrap_or(1).min(train.len());
    let mut err = vec![0f64; ks.len()];
    let mut order: Vec<usize> = (0..train.len()).collect();
    for v in 0..validation.len() {
        let q = validation.row(v);
        let sims: Vec<f32> = (0..train.len())
            .map(|t| train.row(t).iter().zip(q).map(|(a, b)| a * b).sum())
            .collect();
        let by_sim = |a: &usize, b: &usize| sims[*b].total_cmp(&sims[*a]).then(a.cmp(b));
        order.sort_unstable_by(by_sim);
        let mut sum = vec![0f64; train.models];
        let mut next = 0;
        for (rank, &t) in order[..max_k].iter().enumerate() {
            for (s, y) in sum.iter_mut().zip(train.target(t)) {
                *s += *y as f64;
            }
            while next < ks.len() && ks[next].min(train.len()) == rank + 1 {
                let y = validation.target(v);
                err[next] += sum
                    .iter()
                    .zip(y)
                    .map(|(s, y)| (s / (rank + 1) as f64 - *y as f64).powi(2))
                    .sum::<f64>();
                next += 1;
            }
        }
    }
    let denom = (validation.len() * validation.models) as f64;
    err.iter().map(|e| e / denom).collect()
}

/// The selector: `k` as given, else the candidate with the lowest validation error.
pub(super) fn fit(k: Option<usize>, train: &Table, validation: &Table) -> Fitted {
    let ks: Vec<usize> = match k {
        Some(k) => vec![k.max(1)],
        None => KNN_CANDIDATES.to_vec(),
    };
    let errors = validation_errors(train, validation, &ks);
    let best = (0..ks.len())
        .min_by(|&a, &b| errors[a].total_cmp(&errors[b]))
        .unwrap_or(0);
    let mut tensors = TensorMap::default();
    tensors.insert(KNN_KEYS, vec![train.len(), train.dim], train.x.clone());
    tensors.insert(
        KNN_QUALITY,
        vec![train.len(), train.models],
        train.y.clone(),
    );
    Fitted {
        tensors,
        k: Some(ks[best].min(train.len())),
        hidden: Vec::new(),
        rank: None,
        history: ks
            .iter()
            .zip(&errors)
            .map(|(&k, &e)| EpochLoss {
                epoch: k,
                train_loss: f64::NAN,
                validation_loss: e,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[([f32; 2], [f32; 2])]) -> Table {
        let mut t = Table::new(2, 2);
        for (x, y) in rows {
            t.push(x, y);
        }
        t
    }

    #[test]
    fn picks_the_k_that_predicts_validation_best() {
        // Two clusters, each with one model that answers: k = 1 is right, large k averages
        // across clusters.
        let train = table(&[
            ([1.0, 0.0], [1.0, 0.0]),
            ([0.99, 0.141], [1.0, 0.0]),
            ([0.0, 1.0], [0.0, 1.0]),
            ([0.141, 0.99], [0.0, 1.0]),
        ]);
        let val = table(&[([0.98, 0.199], [1.0, 0.0]), ([0.199, 0.98], [0.0, 1.0])]);
        let errs = validation_errors(&train, &val, &[1, 2, 4]);
        assert_eq!(errs[0], 0.0);
        assert_eq!(errs[1], 0.0);
        assert!((errs[2] - 0.25).abs() < 1e-12, "{errs:?}");
        let f = fit(None, &train, &val);
        assert_eq!(f.k, Some(1));
        assert!(f.tensors.get(KNN_KEYS).is_some());
    }
}
