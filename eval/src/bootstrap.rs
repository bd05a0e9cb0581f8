//! Confidence intervals of means over a stream: the Poisson bootstrap (Hanley & MacGibbon,
//! "Creating non-parametric bootstrap samples using Poisson frequencies", 2006; Chamandy et al.,
//! "Estimating uncertainty for massive data streams", Google 2012).
//!
//! Every observation enters each replicate with a Poisson(1) weight, the large-n limit of how
//! often a resample of size n with replacement draws it. The weight of observation i in
//! replicate b is a function of (seed, i, b) alone, so replicates are built in one pass, in any
//! batching, in memory that does not grow with the stream; the statistics of one bootstrap (the
//! means of several values per observation) share each observation's weights, so they are
//! resampled jointly and the weights are drawn once.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::stats::{mix64, quantile_sorted, GOLDEN_GAMMA};

/// A bootstrap confidence interval of a mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapCi {
    /// The sample mean.
    pub mean: f64,
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
    /// Confidence level (e.g. 0.95).
    pub level: f64,
    /// Replicates the interval was read from (those with a positive total weight).
    pub resamples: usize,
    /// The seed used.
    pub seed: u64,
    /// How replicates were drawn: `poisson` (see [`PoissonBootstrap`]).
    pub method: String,
}

/// Observations buffered before they are spread over the replicates.
const FLUSH_AT: usize = 8192;

/// Statistics one bootstrap can hold (each has its own unrolled update).
pub const MAX_STATISTICS: usize = 3;

/// Replicates one parallel task updates.
const REPLICATES_PER_TASK: usize = 32;

/// Thresholds of Poisson(1) by inversion: a uniform 32-bit draw below threshold k (and not
/// below threshold k − 1) means weight k. `P(X ≤ k) = e⁻¹ Σ_{j≤k} 1/j!`, so each weight's
/// probability is exact to 2⁻³²; past the table (probability below 2⁻³²) the weight is its
/// length.
fn poisson_cdf() -> &'static [u32] {
    static CDF: std::sync::OnceLock<Vec<u32>> = std::sync::OnceLock::new();
    CDF.get_or_init(|| {
        let (mut term, mut cdf) = ((-1.0f64).exp(), 0.0);
        let mut out = Vec::new();
        for k in 0..20u32 {
            cdf += term;
            term /= f64::from(k + 1);
            let t = (cdf * 2f64.powi(32)).round();
            if t >= 2f64.powi(32) {
                break;
            }
            out.push(t as u32);
        }
        out
    })
}

/// The Poisson(1) weight of a uniform 32-bit draw: how many thresholds it reaches (the first
/// three compared without branches, as 92% of draws stop there).
fn poisson1(u: u32, cdf: &[u32]) -> u32 {
    let head = u32::from(u >= cdf[0]) + u32::from(u >= cdf[1]) + u32::from(u >= cdf[2]);
    if head < 3 {
        return head;
    }
    3 + cdf[3..].iter().take_while(|&&t| u >= t).count() as u32
}

/// The random state of observation `index` under `seed`, from which its weights are drawn.
fn observation_state(seed: u64, index: u64) -> u64 {
    mix64(seed ^ mix64(index.wrapping_add(GOLDEN_GAMMA)))
}

/// The 64 random bits that hold the weights of replicates `2p` and `2p + 1` (high and low
/// half) of the observation with state `state`.
fn pair_draw(state: u64, pair: usize) -> u64 {
    mix64(state.wrapping_add((pair as u64 + 1).wrapping_mul(GOLDEN_GAMMA)))
}

/// Buffered observations: indices, then `k` values (0 where not observed) and `k` observed
/// flags (1 or 0) per observation.
type Pending<'a> = (&'a [u64], &'a [f64], &'a [u64]);

/// Adds the `pending` observations to the replicates from `first` on, whose sums and weights
/// are `sums` and `weights` (`replicate * K + statistic`). `first` is even, so replicate j of
/// the slice has j's parity. `K` is a constant so the inner loop unrolls.
fn spread<const K: usize>(
    seed: u64,
    cdf: &[u32],
    (indices, values, observed): Pending<'_>,
    first: usize,
    sums: &mut [f64],
    weights: &mut [u64],
) {
    debug_assert!(first.is_multiple_of(2));
    let (values, _) = values.as_chunks::<K>();
    let (observed, _) = observed.as_chunks::<K>();
    let (sums, _) = sums.as_chunks_mut::<K>();
    let (weights, _) = weights.as_chunks_mut::<K>();
    for ((&index, xs), os) in indices.iter().zip(values).zip(observed) {
        let state = observation_state(seed, index);
        let mut draw = 0;
        for (j, (s, w)) in sums.iter_mut().zip(weights.iter_mut()).enumerate() {
            let half = if j.is_multiple_of(2) {
                draw = pair_draw(state, (first + j) / 2);
                draw >> 32
            } else {
                draw & 0xFFFF_FFFF
            };
            let weight = poisson1(half as u32, cdf);
            let (wf, wu) = (f64::from(weight), u64::from(weight));
            for stat in 0..K {
                s[stat] += wf * xs[stat];
                w[stat] += wu * os[stat];
            }
        }
    }
}

/// Percentile-bootstrap intervals of the means of a few values per observation, built one
/// observation at a time.
#[derive(Debug, Clone)]
pub struct PoissonBootstrap {
    seed: u64,
    statistics: usize,
    resamples: usize,
    /// Per replicate and statistic (`replicate * statistics + statistic`): Σ weight·x and
    /// Σ weight.
    sums: Vec<f64>,
    weights: Vec<u64>,
    /// Per statistic: observations and Σ x.
    n: Vec<u64>,
    total: Vec<f64>,
    /// Buffered observations: their indices, and per statistic its value (0 where not
    /// observed) and whether it was observed (1 or 0), `statistics` of each per observation.
    pending_index: Vec<u64>,
    pending_values: Vec<f64>,
    pending_observed: Vec<u64>,
}

impl PoissonBootstrap {
    /// No observation yet: `statistics` means, `resamples` replicates drawn from `seed`.
    ///
    /// # Panics
    /// When `statistics` is 0 or above [`MAX_STATISTICS`].
    pub fn new(statistics: usize, resamples: usize, seed: u64) -> Self {
        assert!(
            (1..=MAX_STATISTICS).contains(&statistics),
            "a bootstrap holds 1 to {MAX_STATISTICS} statistics, not {statistics}"
        );
        PoissonBootstrap {
            seed,
            statistics,
            resamples,
            sums: vec![0.0; resamples * statistics],
            weights: vec![0; resamples * statistics],
            n: vec![0; statistics],
            total: vec![0.0; statistics],
            pending_index: Vec::with_capacity(FLUSH_AT),
            pending_values: Vec::with_capacity(FLUSH_AT * statistics),
            pending_observed: Vec::with_capacity(FLUSH_AT * statistics),
        }
    }

    /// Adds observation `index` (distinct within one stream) with one value per statistic;
    /// `None`: the observation has no value for that statistic.
    pub fn add(&mut self, index: u64, values: &[Option<f64>]) {
        debug_assert_eq!(values.len(), self.statistics);
        self.pending_index.push(index);
        for (s, v) in values.iter().enumerate() {
            self.pending_values.push(v.unwrap_or(0.0));
            self.pending_observed.push(u64::from(v.is_some()));
            if let Some(x) = v {
                self.n[s] += 1;
                self.total[s] += x;
            }
        }
        if self.pending_index.len() >= FLUSH_AT {
            self.flush();
        }
    }

    /// Spreads the buffered observations over the replicates, in parallel over replicates
    /// (each replicate sees observations in the order they were added, so sums are exact
    /// whatever the thread count).
    fn flush(&mut self) {
        let (seed, k, cdf) = (self.seed, self.statistics, poisson_cdf());
        let pending = (
            &self.pending_index[..],
            &self.pending_values[..],
            &self.pending_observed[..],
        );
        let chunk = REPLICATES_PER_TASK * k;
        self.sums
            .par_chunks_mut(chunk)
            .zip(self.weights.par_chunks_mut(chunk))
            .enumerate()
            .for_each(|(task, (sums, weights))| {
                let first = task * REPLICATES_PER_TASK;
                match k {
                    1 => spread::<1>(seed, cdf, pending, first, sums, weights),
                    2 => spread::<2>(seed, cdf, pending, first, sums, weights),
                    3 => spread::<3>(seed, cdf, pending, first, sums, weights),
                    _ => unreachable!("PoissonBootstrap::new checks the statistics count"),
                }
            });
        self.pending_index.clear();
        self.pending_values.clear();
        self.pending_observed.clear();
    }

    /// Per statistic, the `level` interval: the `(1-level)/2` and `(1+level)/2` nearest-rank
    /// quantiles of the replicates' weighted means, beside the plain mean. `None` for a
    /// statistic without observations, or without replicates.
    pub fn finish(mut self, level: f64) -> Vec<Option<BootstrapCi>> {
        self.flush();
        (0..self.statistics)
            .map(|stat| {
                let mut means: Vec<f64> = (0..self.resamples)
                    .map(|b| b * self.statistics + stat)
                    .filter(|&i| self.weights[i] > 0)
                    .map(|i| self.sums[i] / self.weights[i] as f64)
                    .collect();
                if self.n[stat] == 0 || means.is_empty() {
                    return None;
                }
                means.sort_by(f64::total_cmp);
                let alpha = (1.0 - level) / 2.0;
                Some(BootstrapCi {
                    mean: self.total[stat] / self.n[stat] as f64,
                    lo: quantile_sorted(&means, alpha),
                    hi: quantile_sorted(&means, 1.0 - alpha),
                    level,
                    resamples: means.len(),
                    seed: self.seed,
                    method: "poisson".into(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The weight in replicate `replicate` of the observation with state `state`, by the
    /// definition (what `spread` computes two replicates at a time).
    fn weight(state: u64, replicate: usize, cdf: &[u32]) -> u32 {
        let draw = pair_draw(state, replicate / 2);
        let half = if replicate.is_multiple_of(2) {
            draw >> 32
        } else {
            draw
        };
        poisson1(half as u32, cdf)
    }

    fn ci(values: &[f64], resamples: usize, seed: u64) -> Option<BootstrapCi> {
        let mut b = PoissonBootstrap::new(1, resamples, seed);
        for (i, &v) in values.iter().enumerate() {
            b.add(i as u64, &[Some(v)]);
        }
        b.finish(0.95).pop().flatten()
    }

    #[test]
    fn constant_differences_give_a_point() {
        let c = ci(&[0.25; 50], 1000, 7).unwrap();
        assert_eq!((c.mean, c.lo, c.hi), (0.25, 0.25, 0.25));
        assert_eq!((c.resamples, c.method.as_str()), (1000, "poisson"));
        assert!(ci(&[], 100, 1).is_none());
        assert!(ci(&[1.0], 0, 1).is_none());
    }

    #[test]
    fn the_interval_matches_the_normal_approximation_and_is_seeded() {
        let v: Vec<f64> = (0..2000)
            .map(|i| if i % 4 == 0 { 1.0 } else { 0.0 })
            .collect();
        let a = ci(&v, 2000, 1).unwrap();
        assert_eq!(a, ci(&v, 2000, 1).unwrap());
        assert_ne!(a, ci(&v, 2000, 2).unwrap());
        assert_eq!(a.mean, 0.25);
        // sd of the mean = sqrt(.25 * .75 / 2000) = 0.00968; 1.96 sd = 0.0190.
        assert!((a.lo - 0.231).abs() < 0.004, "lo {}", a.lo);
        assert!((a.hi - 0.269).abs() < 0.004, "hi {}", a.hi);
    }

    #[test]
    fn batched_parallel_sums_equal_the_definition() {
        // More observations than one flush and replicates over several tasks.
        let n = FLUSH_AT * 2 + 123;
        let values: Vec<f64> = (0..n).map(|i| ((i * 37) % 101) as f64 / 7.0).collect();
        let resamples = REPLICATES_PER_TASK * 2 + 5;
        let got = ci(&values, resamples, 99).unwrap();
        let cdf = poisson_cdf();
        let mut means: Vec<f64> = (0..resamples)
            .map(|b| {
                let (mut s, mut w) = (0.0, 0u64);
                for (i, &x) in values.iter().enumerate() {
                    let k = weight(observation_state(99, i as u64), b, cdf);
                    s += f64::from(k) * x;
                    w += u64::from(k);
                }
                s / w as f64
            })
            .collect();
        means.sort_by(f64::total_cmp);
        assert_eq!(got.lo, quantile_sorted(&means, 0.025));
        assert_eq!(got.hi, quantile_sorted(&means, 0.975));
    }

    #[test]
    fn statistics_share_weights_and_skip_missing_values() {
        // The second statistic is observed on even indices only; with the same values there,
        // a one-statistic bootstrap over those indices gives the same interval.
        let values: Vec<f64> = (0..500).map(|i| f64::from(i % 13)).collect();
        let mut joint = PoissonBootstrap::new(2, 300, 4);
        let mut alone = PoissonBootstrap::new(1, 300, 4);
        for (i, &v) in values.iter().enumerate() {
            let even = (i % 2 == 0).then_some(v * 2.0);
            joint.add(i as u64, &[Some(v), even]);
            if let Some(x) = even {
                alone.add(i as u64, &[Some(x)]);
            }
        }
        let mut first = PoissonBootstrap::new(1, 300, 4);
        for (i, &v) in values.iter().enumerate() {
            first.add(i as u64, &[Some(v)]);
        }
        let cis = joint.finish(0.9);
        assert_eq!(cis[0], first.finish(0.9).pop().flatten());
        assert_eq!(cis[1], alone.finish(0.9).pop().flatten());
        assert_eq!(
            cis[0].as_ref().unwrap().mean,
            values.iter().sum::<f64>() / 500.0
        );
        let none = PoissonBootstrap::new(2, 10, 1);
        assert_eq!(none.finish(0.95), vec![None, None]);
    }

    #[test]
    fn weights_are_poisson_one() {
        let cdf = poisson_cdf();
        let draws: Vec<u32> = (0..200_000)
            .map(|i| weight(observation_state(5, i), 3, cdf))
            .collect();
        let n = draws.len() as f64;
        let mean = draws.iter().map(|&k| f64::from(k)).sum::<f64>() / n;
        let var = draws
            .iter()
            .map(|&k| (f64::from(k) - mean).powi(2))
            .sum::<f64>()
            / n;
        let zeros = draws.iter().filter(|&&k| k == 0).count() as f64 / n;
        assert!((mean - 1.0).abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
        assert!((zeros - (-1.0f64).exp()).abs() < 0.005, "P(0) {zeros}");
        assert_eq!(poisson1(0, cdf), 0);
        assert_eq!(poisson1(u32::MAX, cdf), cdf.len() as u32);
    }
}
