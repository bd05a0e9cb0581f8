//! Statistics for offline A/B comparisons and reports: a seeded generator, McNemar's test, and
//! percentiles (the bootstrap is in [`crate::bootstrap`], streaming percentiles in
//! [`crate::quantiles`]).

use serde::{Deserialize, Serialize};

/// SplitMix64's state increment (2^64 / φ, odd).
pub const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function: a bijective mix of 64 bits (Stafford's Mix13).
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64: a tiny seeded generator, so that resampling is reproducible across platforms
/// and dependency versions (Steele, Lea & Flood, "Fast splittable pseudorandom number
/// generators", OOPSLA 2014).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN_GAMMA);
        mix64(self.0)
    }

    /// A uniform index in `0..n` (`n > 0`), by Lemire's multiply-shift (bias < n / 2^64).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Nearest-rank quantile of sorted data: the value at rank `ceil(q·n)` (1-based), clamped.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Result of McNemar's test on paired binary outcomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McNemar {
    /// Both correct.
    pub both_correct: u64,
    /// A correct, B wrong (discordant).
    pub only_a: u64,
    /// A wrong, B correct (discordant).
    pub only_b: u64,
    /// Both wrong.
    pub both_wrong: u64,
    /// `exact-binomial` or `chi2-continuity`.
    pub method: String,
    /// The chi-square statistic (chi-square method only).
    pub statistic: Option<f64>,
    /// Two-sided p-value.
    pub p_value: f64,
}

/// Discordant-pair count below which the exact binomial test is used.
pub const MCNEMAR_EXACT_BELOW: u64 = 25;

/// McNemar's test (McNemar 1947) on a 2x2 table of paired outcomes. With discordant counts
/// b = `only_a`, c = `only_b`: if b + c < 25 the exact two-sided binomial test
/// p = min(1, 2·Σ_{k=0}^{min(b,c)} C(b+c, k)·0.5^(b+c)); otherwise the chi-square with
/// Edwards' continuity correction χ² = (|b − c| − 1)² / (b + c), 1 degree of freedom,
/// p = erfc(√(χ²/2)). With no discordant pairs p = 1.
pub fn mcnemar(both_correct: u64, only_a: u64, only_b: u64, both_wrong: u64) -> McNemar {
    let (b, c) = (only_a, only_b);
    let n = b + c;
    let (method, statistic, p_value) = if n == 0 {
        ("exact-binomial", None, 1.0)
    } else if n < MCNEMAR_EXACT_BELOW {
        let k = b.min(c);
        let tail: f64 = (0..=k).map(|i| binomial_pmf_half(n, i)).sum();
        ("exact-binomial", None, (2.0 * tail).min(1.0))
    } else {
        let d = (b as f64 - c as f64).abs() - 1.0;
        let chi2 = d.max(0.0).powi(2) / n as f64;
        ("chi2-continuity", Some(chi2), erfc((chi2 / 2.0).sqrt()))
    };
    McNemar {
        both_correct,
        only_a,
        only_b,
        both_wrong,
        method: method.into(),
        statistic,
        p_value,
    }
}

/// C(n, k)·0.5^n, computed in log space so it stays finite for large n.
fn binomial_pmf_half(n: u64, k: u64) -> f64 {
    let ln_c = ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k);
    (ln_c - n as f64 * std::f64::consts::LN_2).exp()
}

fn ln_factorial(n: u64) -> f64 {
    (2..=n).map(|i| (i as f64).ln()).sum()
}

/// Complementary error function via the Chebyshev-fitted formula of Numerical Recipes
/// (3rd ed., §6.2.2, `erfcc`), fractional error below 1.2e-7 everywhere.
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 2.0 / (2.0 + z);
    const C: [f64; 10] = [
        -1.265_512_23,
        1.000_023_68,
        0.374_091_96,
        0.096_784_18,
        -0.186_288_06,
        0.278_868_07,
        -1.135_203_98,
        1.488_515_87,
        -0.822_152_23,
        0.170_872_77,
    ];
    let mut poly = 0.0;
    for c in C.iter().rev() {
        poly = poly * t + c;
    }
    let r = t * (-z * z + poly).exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// p50 / p95 / p99 (nearest rank), mean and maximum of a sample, e.g. router overhead in
/// microseconds ([`crate::quantiles::QuantileSketch::percentiles`]); zeros for no sample.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Mean.
    pub mean: f64,
    /// Maximum.
    pub max: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcnemar_exact_matches_hand_computation() {
        // b = 1, c = 6, n = 7: P(X <= 1) = (1 + 7) / 128; two-sided p = 16/128 = 0.125.
        let m = mcnemar(10, 1, 6, 3);
        assert_eq!(m.method, "exact-binomial");
        assert!((m.p_value - 0.125).abs() < 1e-12);
        // b = c: p = min(1, 2 * P(X <= 3 | n=6)) = min(1, 2 * 42/64) = 1.
        assert_eq!(mcnemar(0, 3, 3, 0).p_value, 1.0);
        assert_eq!(mcnemar(5, 0, 0, 5).p_value, 1.0);
    }

    #[test]
    fn mcnemar_chi_square_matches_hand_computation() {
        // b = 10, c = 30: chi2 = (20 - 1)^2 / 40 = 9.025; p = erfc(sqrt(4.5125)) = 0.002663.
        let m = mcnemar(50, 10, 30, 10);
        assert_eq!(m.method, "chi2-continuity");
        assert!((m.statistic.unwrap() - 9.025).abs() < 1e-12);
        assert!((m.p_value - 0.002663).abs() < 2e-6, "p {}", m.p_value);
    }

    #[test]
    fn erfc_known_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-7);
        // chi2 = 3.841459 (the 5% critical value) gives p = 0.05.
        assert!((erfc((3.841_459f64 / 2.0).sqrt()) - 0.05).abs() < 1e-6);
    }
}
