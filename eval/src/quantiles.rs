//! Percentiles of a stream in memory that does not grow with its length: a histogram with
//! logarithmic buckets (the DDSketch of Masson, Rim & Lee, VLDB 2019) whose buckets also keep
//! their smallest and largest value, so a bucket holding one distinct value answers exactly.

use std::collections::BTreeMap;

use crate::stats::Percentiles;

/// Relative accuracy of [`QuantileSketch`]: a reported percentile is within this fraction of
/// the exact nearest-rank value (values closer to zero than [`ZERO_BAND`] excepted).
pub const RELATIVE_ACCURACY: f64 = 0.0005;

/// Values of smaller magnitude share one bucket around zero.
pub const ZERO_BAND: f64 = 1e-9;

/// Values that fell into one bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    count: u64,
    min: f64,
    max: f64,
}

/// Streaming nearest-rank percentiles, mean and maximum of a sample.
#[derive(Debug, Clone, Default)]
pub struct QuantileSketch {
    /// Bucket key (ordered like the values) -> bucket.
    buckets: BTreeMap<i32, Bucket>,
    count: u64,
    sum: f64,
    max: f64,
}

/// log(γ) with γ = (1 + α) / (1 − α): bucket k > 0 holds `ZERO_BAND · (γ^(k-2), γ^(k-1)]`.
fn ln_gamma() -> f64 {
    ((1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)).ln()
}

/// The bucket of `v`: 0 around zero, positive keys for positive values, mirrored below zero.
fn key(v: f64) -> i32 {
    let magnitude = v.abs();
    if magnitude < ZERO_BAND {
        return 0;
    }
    let k = 1 + ((magnitude / ZERO_BAND).ln() / ln_gamma()).ceil() as i32;
    if v > 0.0 {
        k
    } else {
        -k
    }
}

/// The value that represents bucket `k`: within [`RELATIVE_ACCURACY`] of every value it holds.
fn representative(k: i32) -> f64 {
    if k == 0 {
        return 0.0;
    }
    let g = ln_gamma().exp();
    let upper = ZERO_BAND * ((k.abs() - 1) as f64 * ln_gamma()).exp();
    let v = 2.0 * upper / (1.0 + g);
    if k > 0 {
        v
    } else {
        -v
    }
}

impl QuantileSketch {
    /// An empty sketch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one value; NaN is not a value and is not counted.
    pub fn add(&mut self, v: f64) {
        if v.is_nan() {
            return;
        }
        let b = self.buckets.entry(key(v)).or_insert(Bucket {
            count: 0,
            min: v,
            max: v,
        });
        b.count += 1;
        b.min = b.min.min(v);
        b.max = b.max.max(v);
        self.max = if self.count == 0 { v } else { self.max.max(v) };
        self.count += 1;
        self.sum += v;
    }

    /// Values added.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The nearest-rank `q` quantile (the value at rank `ceil(q·n)`), within
    /// [`RELATIVE_ACCURACY`]; exact when its bucket holds one distinct value. NaN when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return f64::NAN;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (&k, b) in &self.buckets {
            seen += b.count;
            if seen >= rank {
                return representative(k).clamp(b.min, b.max);
            }
        }
        self.max
    }

    /// p50 / p95 / p99, mean and maximum; zeros when empty.
    pub fn percentiles(&self) -> Percentiles {
        if self.count == 0 {
            return Percentiles::default();
        }
        Percentiles {
            p50: self.quantile(0.50),
            p95: self.quantile(0.95),
            p99: self.quantile(0.99),
            mean: self.sum / self.count as f64,
            max: self.max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::SplitMix64;

    /// Nearest-rank quantile of `values` by sorting (the definition the sketch approximates).
    fn exact(values: &[f64], q: f64) -> f64 {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        v[rank - 1]
    }

    #[test]
    fn distinct_integers_are_exact() {
        let mut s = QuantileSketch::new();
        for i in (1..=100).rev() {
            s.add(f64::from(i));
        }
        let p = s.percentiles();
        assert_eq!((p.p50, p.p95, p.p99, p.max), (50.0, 95.0, 99.0, 100.0));
        assert_eq!(p.mean, 50.5);
        assert_eq!(s.quantile(0.0), 1.0);
    }

    #[test]
    fn continuous_values_are_within_the_relative_accuracy() {
        // Log-normal-ish latencies over six decades, and values on both sides of zero.
        let mut rng = SplitMix64::new(11);
        let values: Vec<f64> = (0..20_000)
            .map(|i| {
                let v = (rng.unit() * 14.0 - 2.0).exp();
                if i % 7 == 0 {
                    -v
                } else {
                    v
                }
            })
            .collect();
        let mut s = QuantileSketch::new();
        for &v in &values {
            s.add(v);
        }
        for q in [0.01, 0.1, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            let (want, got) = (exact(&values, q), s.quantile(q));
            assert!(
                (got - want).abs() <= RELATIVE_ACCURACY * want.abs() * 1.000_001,
                "q {q}: exact {want}, sketch {got}"
            );
        }
        assert_eq!(s.count(), 20_000);
        assert_eq!(s.percentiles().max, exact(&values, 1.0));
    }

    #[test]
    fn zeros_nan_and_the_empty_sketch() {
        let mut s = QuantileSketch::new();
        assert!(s.quantile(0.5).is_nan());
        assert_eq!(s.percentiles(), Percentiles::default());
        s.add(f64::NAN);
        assert_eq!(s.count(), 0);
        for v in [0.0, 0.0, 0.0, 2.5] {
            s.add(v);
        }
        assert_eq!(
            (s.quantile(0.5), s.quantile(0.75), s.quantile(1.0)),
            (0.0, 0.0, 2.5)
        );
    }

    #[test]
    fn buckets_order_like_values() {
        let vs = [
            -1e6, -3.0, -1e-12, 0.0, 1e-12, 1e-6, 1.0, 1.0005, 1.002, 7e9,
        ];
        for w in vs.windows(2) {
            assert!(key(w[0]) <= key(w[1]), "{} {}", w[0], w[1]);
        }
        assert!(key(1.0) < key(1.002));
        // Every value lies within the accuracy of its bucket's representative.
        for v in [1e-6, 0.37, 1.0, 812.25, 3.3e7] {
            let r = representative(key(v));
            assert!(
                (r - v).abs() <= RELATIVE_ACCURACY * v * 1.000_001,
                "{v} -> {r}"
            );
        }
    }
}
