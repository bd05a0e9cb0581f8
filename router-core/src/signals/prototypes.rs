//! The seed's prototype scoring of embedding rules (`pkg/classification/prototype_bank.go`,
//! `prototype_clustering.go`, `prototype_scoring.go`).
//!
//! A rule's candidates become at most `max_prototypes` prototypes: exact duplicates dropped,
//! then greedy star clustering (each remaining candidate seeds the cluster of the remaining
//! candidates at least `cluster_similarity_threshold` similar to it; the largest cluster is
//! taken, ties to the seed with the smaller text, until none remain), each cluster represented
//! by its medoid (highest mean similarity to its members, itself counting 1; ties to the
//! smaller text), sorted by cluster size, then that mean, then text. With clustering disabled
//! every distinct candidate is a prototype.
//!
//! A request scores `w · best + (1 − w) · mean(top m)` over its similarities to the prototypes:
//! `w = best_weight`, `m = top_m` for `max` / `any`, and `w = 0`, `m` = all for `mean`.

use crate::config::{Aggregation, PrototypeScoring};

/// The prototype settings with the seed's defaults applied (`PrototypeScoringConfig.WithDefaults`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Whether candidates are clustered.
    pub enabled: bool,
    /// Similarity to a cluster's seed at which a candidate joins it.
    pub cluster_similarity: f32,
    /// Prototypes kept per rule.
    pub max_prototypes: usize,
    /// Weight of the best similarity.
    pub best_weight: f32,
    /// Similarities averaged as support.
    pub top_m: usize,
}

impl Settings {
    /// The seed's defaults over what the config sets (non-positive values mean the default).
    pub fn of(c: &PrototypeScoring) -> Self {
        let pos = |v: Option<f32>, d: f32| v.filter(|v| *v > 0.0).unwrap_or(d);
        Settings {
            enabled: c.enabled.unwrap_or(true),
            cluster_similarity: pos(c.cluster_similarity_threshold, 0.9),
            max_prototypes: c.max_prototypes.filter(|m| *m > 0).unwrap_or(8),
            best_weight: pos(c.best_weight, 0.75).min(1.0),
            top_m: c.top_m.filter(|m| *m > 0).unwrap_or(2),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings::of(&PrototypeScoring::default())
    }
}

/// Dot product (cosine similarity of unit vectors).
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Indices of the prototypes among `texts` (with unit `vectors`), in the seed's order.
pub fn prototypes(texts: &[String], vectors: &[Vec<f32>], s: &Settings) -> Vec<usize> {
    let mut unique: Vec<usize> = Vec::new();
    for i in 0..texts.len() {
        if !unique.iter().any(|&j| texts[j] == texts[i]) {
            unique.push(i);
        }
    }
    if !s.enabled {
        return unique;
    }
    let sim = |a: usize, b: usize| {
        if a == b {
            1.0
        } else {
            dot(&vectors[a], &vectors[b])
        }
    };
    let mut remaining = unique;
    // (size, mean similarity of the medoid, medoid)
    let mut clusters: Vec<(usize, f32, usize)> = Vec::new();
    while !remaining.is_empty() {
        let members = |seed: usize| -> Vec<usize> {
            remaining
                .iter()
                .copied()
                .filter(|&o| o == seed || sim(seed, o) >= s.cluster_similarity)
                .collect()
        };
        let seed = remaining
            .iter()
            .copied()
            .max_by(|&a, &b| {
                members(a)
                    .len()
                    .cmp(&members(b).len())
                    .then(texts[b].cmp(&texts[a]))
            })
            .expect("non-empty");
        let cluster = members(seed);
        let mean =
            |m: usize| cluster.iter().map(|&o| sim(m, o)).sum::<f32>() / cluster.len() as f32;
        let medoid = cluster
            .iter()
            .copied()
            .max_by(|&a, &b| mean(a).total_cmp(&mean(b)).then(texts[b].cmp(&texts[a])))
            .expect("non-empty");
        clusters.push((cluster.len(), mean(medoid), medoid));
        remaining.retain(|i| !cluster.contains(i));
    }
    clusters.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.1.total_cmp(&a.1))
            .then(texts[a.2].cmp(&texts[b.2]))
    });
    clusters.truncate(s.max_prototypes);
    clusters.into_iter().map(|c| c.2).collect()
}

/// The rule score over a request's similarities to the prototypes (any order); `top_k`, a
/// routelab addition, replaces `m`. `None` without prototypes.
pub fn score(sims: &[f32], method: Aggregation, s: &Settings, top_k: Option<usize>) -> Option<f32> {
    bank_score(sims, method, s, top_k).map(|b| b.score)
}

/// A bank's score with its parts (the seed's `prototypeBankScore`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BankScore {
    /// `w · best + (1 − w) · support`.
    pub score: f32,
    /// The highest similarity.
    pub best: f32,
    /// The mean of the `m` highest similarities.
    pub support: f32,
    /// How many prototypes the bank has.
    pub prototypes: usize,
}

/// [`score`] with its parts.
pub fn bank_score(
    sims: &[f32],
    method: Aggregation,
    s: &Settings,
    top_k: Option<usize>,
) -> Option<BankScore> {
    let mut sorted = sims.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let best = *sorted.first()?;
    let (w, m) = match method {
        Aggregation::Mean => (0.0, top_k.unwrap_or(sorted.len())),
        Aggregation::Max | Aggregation::Any => (s.best_weight, top_k.unwrap_or(s.top_m)),
    };
    let m = m.clamp(1, sorted.len());
    let support = sorted[..m].iter().sum::<f32>() / m as f32;
    Some(BankScore {
        score: w * best + (1.0 - w) * support,
        best,
        support,
        prototypes: sorted.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s() -> Settings {
        Settings::default()
    }

    /// The parts of a bank score (`prototypeBankScore`): sims 0.9, 0.5, 0.1 with the default
    /// w = 0.75, m = 2: best 0.9, support 0.7, score 0.85; `mean` is the mean of all.
    #[test]
    fn bank_scores_report_their_parts() {
        let b = bank_score(&[0.5, 0.9, 0.1], Aggregation::Max, &s(), None).unwrap();
        let close = |a: f32, b: f32| (a - b).abs() < 1e-6;
        assert!(close(b.best, 0.9) && close(b.support, 0.7) && close(b.score, 0.85));
        assert_eq!(b.prototypes, 3);
        let m = bank_score(&[0.5, 0.9, 0.1], Aggregation::Mean, &s(), None).unwrap();
        assert!(close(m.score, 0.5) && close(m.support, 0.5) && close(m.best, 0.9));
        assert_eq!(bank_score(&[], Aggregation::Max, &s(), None), None);
    }

    #[test]
    fn scores_as_the_seed_worked_out() {
        // The seed's TestEmbeddingClassifier_MaxAggregationUsesPrototypeAwareScoring
        // (pkg/classification/embedding_classifier_test.go): similarities 1.0 and 0.4.
        let got = score(&[0.4, 1.0], Aggregation::Max, &s(), None).unwrap();
        assert!((got - 0.925).abs() < 1e-6, "{got}");
        // [0.8, 0.6, 0.2]: max 0.75·0.8 + 0.25·0.7 = 0.775; mean 0.5333.
        let sims = [0.8, 0.6, 0.2];
        assert!((score(&sims, Aggregation::Any, &s(), None).unwrap() - 0.775).abs() < 1e-6);
        assert!((score(&sims, Aggregation::Mean, &s(), None).unwrap() - 1.6 / 3.0).abs() < 1e-6);
        // One prototype: the score is its similarity.
        assert_eq!(score(&[0.3], Aggregation::Max, &s(), None), Some(0.3));
        assert_eq!(score(&[], Aggregation::Max, &s(), None), None);
    }

    /// Unit vectors in the plane at these angles (degrees).
    fn at(deg: &[f32]) -> Vec<Vec<f32>> {
        deg.iter()
            .map(|d| vec![d.to_radians().cos(), d.to_radians().sin()])
            .collect()
    }

    #[test]
    fn clustering_keeps_the_medoid_of_the_largest_star() {
        // A·B = cos 18° = 0.951, B·C = cos 23° = 0.921, A·C = cos 41° = 0.755 (the seed's
        // worked shape: B's star {A, B, C} is the largest, and B is its medoid).
        let texts: Vec<String> = ["A", "B", "C", "D"].map(String::from).to_vec();
        let v = at(&[0.0, 18.0, 41.0, 120.0]);
        assert_eq!(prototypes(&texts, &v, &s()), vec![1, 3]);
        // A query at A's angle now scores against B and D only.
        let q = at(&[0.0])[0].clone();
        let sims: Vec<f32> = [1, 3].iter().map(|&i| dot(&q, &v[i])).collect();
        let got = score(&sims, Aggregation::Max, &s(), None).unwrap();
        let want = 0.75 * 18f32.to_radians().cos()
            + 0.25 * (18f32.to_radians().cos() + 120f32.to_radians().cos()) / 2.0;
        assert!((got - want).abs() < 1e-6);
        // Disabled: every distinct candidate; duplicates always go.
        let off = Settings {
            enabled: false,
            ..s()
        };
        let dup: Vec<String> = ["A", "B", "A"].map(String::from).to_vec();
        assert_eq!(prototypes(&dup, &at(&[0.0, 18.0, 0.0]), &off), vec![0, 1]);
        // The cap keeps the largest clusters first, then the more cohesive, then by text.
        let capped = Settings {
            max_prototypes: 1,
            ..s()
        };
        assert_eq!(prototypes(&texts, &v, &capped), vec![1]);
    }
}
