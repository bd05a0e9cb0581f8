//! Vectorisable f32 `exp`, `erf` and GELU, and the slice kernels built on them (scaled, masked
//! softmax over rows; bias + GELU). Every function is branch-free straight-line code (selects,
//! not jumps), so LLVM turns the loops over slices into SIMD code; the kernels are compiled
//! three times (AVX-512, AVX2 + FMA, baseline) and pick the best the CPU has at run time.
//!
//! The scalar `exp`, `erf` and `gelu` are the kernels' building blocks as plain functions, for
//! the tests. Accuracy (checked by the tests against f64 on dense grids): `exp` relative error below
//! 3e-7 for results in the normal f32 range (inputs below about -87.3, whose results would be
//! subnormal, give 0); `erf` relative error below 4e-7; GELU relative error below 2e-6 for
//! `x >= -2` and below `2e-6 * x^2 / 4` in the negative tail, where the problem's own
//! conditioning (`exp(-x^2 / 2)`) dominates; the tail goes through `erfc`, without cancellation.

use rayon::prelude::*;

/// Multiply-add as a fused instruction (when compiled for FMA) or as two roundings.
trait MulAdd {
    fn mul_add(a: f32, b: f32, c: f32) -> f32;
}

/// `a * b + c` with one rounding; only used where the FMA instruction is enabled.
struct Fused;
/// `a * b + c` with two roundings (no libm call on CPUs without FMA).
struct Plain;

impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

impl MulAdd for Plain {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

/// Horner evaluation of `c[0] + c[1] x + c[2] x^2 + ...`.
#[inline(always)]
fn poly<M: MulAdd, const N: usize>(x: f32, c: &[f32; N]) -> f32 {
    let mut p = c[N - 1];
    for &ci in c[..N - 1].iter().rev() {
        p = M::mul_add(p, x, ci);
    }
    p
}

/// `exp(x)` above this overflows to infinity.
const EXP_HI: f32 = 88.722_83;
/// `exp(x)` below this is not a normal f32; the result is flushed to 0.
const EXP_LO: f32 = -87.336_54;
/// Taylor coefficients of `e^r` for `|r| <= ln 2 / 2` (truncation error ~1.2e-7).
const EXP_POLY: [f32; 7] = [
    1.0,
    1.0,
    0.5,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
];
/// Adding and subtracting 1.5 * 2^23 rounds an f32 of magnitude below 2^22 to an integer.
const ROUND_MAGIC: f32 = 12_582_912.0;
/// ln 2 split so that `n * LN2_HI` is exact for |n| < 2^11.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

#[inline(always)]
fn exp_with<M: MulAdd>(x: f32) -> f32 {
    // NaN fails both comparisons and flows through as NaN.
    let xc = if x > EXP_HI { EXP_HI } else { x };
    let xc = if xc < EXP_LO { EXP_LO } else { xc };
    // x = n ln2 + r, |r| <= ln2 / 2; e^x = 2^n e^r.
    let shifted = M::mul_add(xc, std::f32::consts::LOG2_E, ROUND_MAGIC);
    let n = shifted - ROUND_MAGIC;
    let r = M::mul_add(n, -LN2_HI, xc);
    let r = M::mul_add(n, -LN2_LO, r);
    let p = poly::<M, 7>(r, &EXP_POLY);
    // The low mantissa bits of `shifted` hold n (two's complement); build 2^n from them.
    // n lies in [-126, 128] and 2^128 is not an f32, so scale by 2^(n/2) twice (exact).
    let n_int = (shifted.to_bits() as i32).wrapping_sub(ROUND_MAGIC.to_bits() as i32);
    let half = n_int >> 1;
    let s1 = f32::from_bits(((half + 127) as u32) << 23);
    let s2 = f32::from_bits(((n_int - half + 127) as u32) << 23);
    let v = p * s1 * s2;
    let v = if x > EXP_HI { f32::INFINITY } else { v };
    if x < EXP_LO {
        0.0
    } else {
        v
    }
}

/// `e^x` for f32 (see the module doc for accuracy; `exp(-inf) = 0`, `exp(inf) = inf`,
/// `exp(NaN) = NaN`).
#[cfg(test)]
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    exp_with::<Plain>(x)
}

/// Below this `|x|`, `erf(x) / x` is a polynomial in `x^2`.
const ERF_SPLIT: f32 = 1.0;
/// Least-squares fit (relative weight, Chebyshev nodes) of `erf(x) / x` in `x^2` on [0, 1].
const ERF_SMALL: [f32; 7] = [
    std::f32::consts::FRAC_2_SQRT_PI,
    -0.376_126_3,
    0.112_836_12,
    -0.026_854_81,
    0.005_190_054_4,
    -8.024_362e-4,
    7.898_235e-5,
];
/// Fit of `erfc(x) e^(x^2)` as a polynomial in `t = 1 / (1 + x / 2)` on [1, 9.5].
const ERFC_LARGE: [f32; 9] = [
    -3.991_272_5e-6,
    0.282_195_48,
    0.281_042_75,
    0.252_610_65,
    0.159_461_35,
    0.101_938_74,
    0.029_903_593,
    -0.188_806_49,
    0.082_122_95,
];

/// `erfc(a)` for `a >= 1` (any `a >= 1` up to infinity; NaN propagates).
#[inline(always)]
fn erfc_large<M: MulAdd>(a: f32) -> f32 {
    let t = 1.0 / M::mul_add(a, 0.5, 1.0);
    exp_with::<M>(-(a * a)) * poly::<M, 9>(t, &ERFC_LARGE)
}

#[cfg(test)]
#[inline(always)]
fn erf_with<M: MulAdd>(x: f32) -> f32 {
    let a = x.abs();
    let small = x * poly::<M, 7>(x * x, &ERF_SMALL);
    // For |x| < 1 the large-argument branch still runs (on a clamped input) and is discarded.
    let ac = if a < ERF_SPLIT { ERF_SPLIT } else { a };
    let large = (1.0 - erfc_large::<M>(ac)).copysign(x);
    if a < ERF_SPLIT {
        small
    } else {
        large
    }
}

/// The error function for f32 (see the module doc for accuracy; `erf(±inf) = ±1`).
#[cfg(test)]
#[inline(always)]
pub(crate) fn erf(x: f32) -> f32 {
    erf_with::<Plain>(x)
}

#[inline(always)]
fn gelu_with<M: MulAdd>(x: f32) -> f32 {
    let z = x * std::f32::consts::FRAC_1_SQRT_2;
    let a = z.abs();
    // 1 + erf(z): from the small-argument polynomial near 0, else 2 - erfc(|z|) for z > 0 and
    // erfc(|z|) for z < 0 (no cancellation in the negative tail).
    let one_plus_small = 1.0 + z * poly::<M, 7>(z * z, &ERF_SMALL);
    let ac = if a < ERF_SPLIT { ERF_SPLIT } else { a };
    let c = erfc_large::<M>(ac);
    let one_plus_large = if z < 0.0 { c } else { 2.0 - c };
    let one_plus = if a < ERF_SPLIT {
        one_plus_small
    } else {
        one_plus_large
    };
    let g = 0.5 * x * one_plus;
    // 0 * inf: GELU(-inf) is 0.
    if x == f32::NEG_INFINITY {
        0.0
    } else {
        g
    }
}

/// GELU with the exact (erf) form: `x / 2 * (1 + erf(x / sqrt 2))`.
#[cfg(test)]
#[inline(always)]
pub(crate) fn gelu(x: f32) -> f32 {
    gelu_with::<Plain>(x)
}

/// Lanes of the manual reductions (a multiple of every SIMD width used).
const LANES: usize = 16;

/// Softmax of one row in place after `v = v * scale + mask`.
#[inline(always)]
fn softmax_row<M: MulAdd>(row: &mut [f32], scale: f32, mask: Option<&[f32]>) {
    match mask {
        Some(m) => row
            .iter_mut()
            .zip(m)
            .for_each(|(v, &b)| *v = M::mul_add(*v, scale, b)),
        None => row.iter_mut().for_each(|v| *v *= scale),
    }
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for c in &mut chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l = if v > *l { v } else { *l };
        }
    }
    let mut max = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    for &l in &lanes {
        max = if l > max { l } else { max };
    }
    let mut sums = [0.0f32; LANES];
    let mut chunks = row.chunks_exact_mut(LANES);
    for c in &mut chunks {
        for (s, v) in sums.iter_mut().zip(c.iter_mut()) {
            *v = exp_with::<M>(*v - max);
            *s += *v;
        }
    }
    let mut sum: f32 = 0.0;
    for v in chunks.into_remainder() {
        *v = exp_with::<M>(*v - max);
        sum += *v;
    }
    sum += sums.iter().sum::<f32>();
    let inv = 1.0 / sum;
    row.iter_mut().for_each(|v| *v *= inv);
}

#[inline(always)]
fn softmax_rows_with<M: MulAdd>(rows: &mut [f32], len: usize, scale: f32, mask: Option<&[f32]>) {
    for row in rows.chunks_exact_mut(len) {
        softmax_row::<M>(row, scale, mask);
    }
}

#[inline(always)]
fn bias_gelu_with<M: MulAdd>(rows: &mut [f32], bias: &[f32]) {
    for row in rows.chunks_exact_mut(bias.len()) {
        for (v, &b) in row.iter_mut().zip(bias) {
            *v = gelu_with::<M>(*v + b);
        }
    }
}

/// The kernels compiled for one instruction set.
macro_rules! kernels {
    ($module:ident, $muladd:ty, $($feature:literal),*) => {
        mod $module {
            use super::*;

            $(#[target_feature(enable = $feature)])*
            pub(super) unsafe fn softmax_rows(
                rows: &mut [f32],
                len: usize,
                scale: f32,
                mask: Option<&[f32]>,
            ) {
                softmax_rows_with::<$muladd>(rows, len, scale, mask)
            }

            $(#[target_feature(enable = $feature)])*
            pub(super) unsafe fn bias_gelu(rows: &mut [f32], bias: &[f32]) {
                bias_gelu_with::<$muladd>(rows, bias)
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
kernels!(avx512, Fused, "avx512f", "avx512vl", "avx2", "fma");
#[cfg(target_arch = "x86_64")]
kernels!(avx2, Fused, "avx2", "fma");
kernels!(baseline, Plain,);

/// Instruction sets the kernels are compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isa {
    Avx512,
    Avx2,
    Baseline,
}

/// The best instruction set this CPU supports (detected once).
fn isa() -> Isa {
    static ISA: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
    *ISA.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vl")
                && std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx2;
            }
        }
        Isa::Baseline
    })
}

/// Elements per parallel task: below this, splitting costs more than it saves.
const MIN_TASK_ELEMS: usize = 16 * 1024;

/// Rows of `len` per parallel task.
fn rows_per_task(len: usize) -> usize {
    MIN_TASK_ELEMS.div_ceil(len.max(1)).max(1)
}

/// Softmax of every row (`len` values) of `data` in place, after scaling by `scale` and, when
/// `mask` is given, adding `mask[(i / rows_per_mask) * len..][..len]` to row `i` (an additive
/// mask shared by `rows_per_mask` consecutive rows). Runs on the current rayon pool.
pub(crate) fn softmax_rows(
    data: &mut [f32],
    len: usize,
    scale: f32,
    mask: Option<(&[f32], usize)>,
) {
    if len == 0 {
        return;
    }
    let isa = isa();
    let run = |rows: &mut [f32], m: Option<&[f32]>| match isa {
        // SAFETY: `isa()` checked that the CPU has the features these were compiled for.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { avx512::softmax_rows(rows, len, scale, m) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2::softmax_rows(rows, len, scale, m) },
        // SAFETY: the baseline build needs no feature beyond the target's.
        _ => unsafe { baseline::softmax_rows(rows, len, scale, m) },
    };
    match mask {
        None => data
            .par_chunks_mut(len * rows_per_task(len))
            .for_each(|rows| run(rows, None)),
        Some((mask, rows_per_mask)) => {
            // One task per group of rows sharing a mask row, split further when large.
            let group = len * rows_per_mask.max(1);
            data.par_chunks_mut(group)
                .zip(mask.par_chunks(len))
                .for_each(|(rows, m)| {
                    for part in rows.chunks_mut(len * rows_per_task(len)) {
                        run(part, Some(m));
                    }
                });
        }
    }
}

/// `data[i] = gelu(data[i] + bias[i % bias.len()])` in place (rows of `bias.len()` values).
/// Runs on the current rayon pool.
pub(crate) fn bias_gelu(data: &mut [f32], bias: &[f32]) {
    if bias.is_empty() {
        return;
    }
    let isa = isa();
    data.par_chunks_mut(bias.len() * rows_per_task(bias.len()))
        .for_each(|rows| match isa {
            // SAFETY: `isa()` checked that the CPU has the features these were compiled for.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { avx512::bias_gelu(rows, bias) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { avx2::bias_gelu(rows, bias) },
            // SAFETY: the baseline build needs no feature beyond the target's.
            _ => unsafe { baseline::bias_gelu(rows, bias) },
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every f32 in `[lo, hi]` stepping by about `step` (relative), plus the bounds.
    fn grid(lo: f32, hi: f32, n: usize) -> Vec<f32> {
        (0..=n)
            .map(|i| lo + (hi - lo) * (i as f32 / n as f32))
            .chain([lo, hi])
            .collect()
    }

    fn erf64(x: f64) -> f64 {
        // erf via its Taylor series for |x| < 3 and the continued fraction of erfc beyond;
        // both converge far below f32 precision on their ranges.
        let a = x.abs();
        let v = if a < 3.0 {
            let mut term = a;
            let mut sum = a;
            let mut n = 0.0;
            while term.abs() > 1e-20 * sum.abs() {
                n += 1.0;
                term *= -a * a / n;
                sum += term / (2.0 * n + 1.0);
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            1.0 - erfc64_cf(a)
        };
        v.copysign(x)
    }

    /// erfc(a) for a >= 3 by its continued fraction (Lentz-free backward evaluation).
    fn erfc64_cf(a: f64) -> f64 {
        let mut f = 0.0;
        for k in (1..200).rev() {
            f = (k as f64 / 2.0) / (a + f);
        }
        (-a * a).exp() / std::f64::consts::PI.sqrt() / (a + f)
    }

    fn rel_err(got: f32, want: f64) -> f64 {
        (got as f64 - want).abs() / want.abs()
    }

    #[test]
    fn reference_erf_is_right() {
        // Known values (Abramowitz & Stegun table 7.1) check the test's own reference.
        assert!((erf64(0.5) - 0.520_499_877_813_047).abs() < 1e-15);
        assert!((erf64(1.0) - 0.842_700_792_949_715).abs() < 1e-15);
        assert!((erf64(2.0) - 0.995_322_265_018_953).abs() < 1e-15);
        assert!((erfc64_cf(3.0) - 2.209_049_699_858_544e-5).abs() < 1e-18);
        assert!((erfc64_cf(5.0) - 1.537_459_794_428_035e-12).abs() < 1e-24);
    }

    #[test]
    fn exp_is_accurate_over_the_normal_range() {
        let mut worst = 0.0f64;
        for x in grid(-87.3, 88.7, 2_000_000) {
            worst = worst.max(rel_err(exp(x), (x as f64).exp()));
        }
        assert!(worst < 3e-7, "max relative error {worst:e}");
        assert_eq!(exp(0.0), 1.0);
        assert!(rel_err(exp(1.0), std::f64::consts::E) < 2e-7);
    }

    #[test]
    fn exp_edges_and_specials() {
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(-1000.0), 0.0);
        assert_eq!(exp(f32::MIN), 0.0);
        assert_eq!(exp(-90.0), 0.0, "subnormal results flush to zero");
        assert_eq!(exp(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp(89.0), f32::INFINITY);
        assert_eq!(exp(f32::MAX), f32::INFINITY);
        assert!(exp(f32::NAN).is_nan());
        // The largest input with a finite result is close to f32::MAX.
        let top = exp(EXP_HI);
        assert!(top.is_finite() && top > 3.3e38, "{top}");
        assert!(rel_err(exp(EXP_LO), (EXP_LO as f64).exp()) < 3e-7);
    }

    #[test]
    fn erf_is_accurate() {
        let mut worst = 0.0f64;
        for x in grid(-10.0, 10.0, 2_000_000)
            .into_iter()
            .chain(grid(-1e-3, 1e-3, 10_000))
            .chain([1e-30, -1e-30, 1e-8, f32::MIN_POSITIVE])
        {
            worst = worst.max(rel_err(erf(x), erf64(x as f64)));
        }
        assert!(worst < 4e-7, "max relative error {worst:e}");
        assert_eq!(erf(0.0), 0.0);
    }

    #[test]
    fn erf_specials() {
        assert_eq!(erf(f32::INFINITY), 1.0);
        assert_eq!(erf(f32::NEG_INFINITY), -1.0);
        assert_eq!(erf(f32::MAX), 1.0);
        assert_eq!(erf(-1e30), -1.0);
        assert!(erf(f32::NAN).is_nan());
    }

    #[test]
    fn gelu_is_accurate_including_the_negative_tail() {
        let mut worst = 0.0f64;
        for x in grid(-13.0, 13.0, 2_000_000) {
            let xd = x as f64;
            let z = xd / std::f64::consts::SQRT_2;
            // 1 + erf(z) = erfc(-z), computed without cancellation for z < -3.
            let one_plus = if z < -3.0 {
                erfc64_cf(-z)
            } else {
                1.0 + erf64(z)
            };
            let want = 0.5 * xd * one_plus;
            if want.abs() < f32::MIN_POSITIVE as f64 {
                assert!(gelu(x).abs() < 2.0 * f32::MIN_POSITIVE, "gelu({x})");
                continue;
            }
            // In the negative tail GELU's condition number is about x^2 (the rounding of
            // x^2 / 2 inside exp), so f32 evaluation loses that factor there.
            let allowed = 2e-6 * (xd * xd / 4.0).max(1.0);
            worst = worst.max(rel_err(gelu(x), want) / allowed);
        }
        assert!(
            worst < 1.0,
            "max error {worst} x the allowed relative error"
        );
    }

    #[test]
    fn gelu_specials() {
        assert_eq!(gelu(0.0), 0.0);
        assert_eq!(gelu(f32::INFINITY), f32::INFINITY);
        assert_eq!(gelu(f32::NEG_INFINITY), 0.0);
        assert_eq!(gelu(-200.0), 0.0);
        assert_eq!(gelu(50.0), 50.0);
        assert!(gelu(f32::NAN).is_nan());
    }

    /// Every compiled variant this CPU can run, with its name.
    fn variants() -> Vec<(&'static str, Isa)> {
        let best = isa();
        [Isa::Avx512, Isa::Avx2, Isa::Baseline]
            .into_iter()
            .filter(|&v| match best {
                Isa::Avx512 => true,
                Isa::Avx2 => v != Isa::Avx512,
                Isa::Baseline => v == Isa::Baseline,
            })
            .map(|v| (["avx512", "avx2", "baseline"][v as usize], v))
            .collect()
    }

    fn softmax_variant(isa: Isa, rows: &mut [f32], len: usize, scale: f32, m: Option<&[f32]>) {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { avx512::softmax_rows(rows, len, scale, m) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { avx2::softmax_rows(rows, len, scale, m) },
            _ => unsafe { baseline::softmax_rows(rows, len, scale, m) },
        }
    }

    fn softmax64(row: &[f32], scale: f32, mask: &[f32]) -> Vec<f64> {
        let v: Vec<f64> = row
            .iter()
            .zip(mask)
            .map(|(&x, &m)| x as f64 * scale as f64 + m as f64)
            .collect();
        let max = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = v.iter().map(|x| (x - max).exp()).collect();
        let s: f64 = e.iter().sum();
        e.iter().map(|x| x / s).collect()
    }

    #[test]
    fn softmax_variants_match_f64_with_mask_and_odd_lengths() {
        for (name, v) in variants() {
            for len in [1usize, 5, 16, 33, 300] {
                let row: Vec<f32> = (0..len)
                    .map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.7)
                    .collect();
                // Mask the last third (HF's additive f32::MIN).
                let mask: Vec<f32> = (0..len)
                    .map(|i| {
                        if i > 0 && i >= len * 2 / 3 {
                            f32::MIN
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let want = softmax64(&row, 0.25, &mask);
                let mut got = row.clone();
                softmax_variant(v, &mut got, len, 0.25, Some(&mask));
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        (*g as f64 - w).abs() < 1e-6,
                        "{name} len {len} [{i}]: {g} vs {w}"
                    );
                }
                if len > 1 {
                    assert_eq!(got[len - 1], 0.0, "{name}: masked position gets 0");
                }
                let mut unmasked = row.clone();
                softmax_variant(v, &mut unmasked, len, 0.25, None);
                let want = softmax64(&row, 0.25, &vec![0.0; len]);
                for (g, w) in unmasked.iter().zip(&want) {
                    assert!((*g as f64 - w).abs() < 1e-6, "{name} len {len} unmasked");
                }
            }
        }
    }

    #[test]
    fn softmax_rows_applies_each_mask_row_to_its_group() {
        // 2 batches x 3 rows of 4; batch 0 masks column 3, batch 1 columns 2 and 3.
        let mut data: Vec<f32> = (0..24).map(|i| (i % 5) as f32).collect();
        let mask = [0.0, 0.0, 0.0, f32::MIN, 0.0, 0.0, f32::MIN, f32::MIN];
        let orig = data.clone();
        softmax_rows(&mut data, 4, 0.5, Some((&mask, 3)));
        for (r, row) in data.chunks(4).enumerate() {
            let m = &mask[(r / 3) * 4..][..4];
            let want = softmax64(&orig[r * 4..][..4], 0.5, m);
            for (g, w) in row.iter().zip(&want) {
                assert!((*g as f64 - w).abs() < 1e-6, "row {r}: {row:?} vs {want:?}");
            }
        }
        assert_eq!(data[4 * 3 + 2], 0.0);
        assert_ne!(data[2], 0.0);
    }

    #[test]
    fn bias_gelu_variants_agree_with_scalar() {
        let bias: Vec<f32> = (0..37).map(|i| i as f32 * 0.1 - 1.8).collect();
        let data: Vec<f32> = (0..37 * 5)
            .map(|i| ((i * 13 % 29) as f32 - 14.0) * 0.4)
            .collect();
        for (name, v) in variants() {
            let mut got = data.clone();
            match v {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => unsafe { avx512::bias_gelu(&mut got, &bias) },
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => unsafe { avx2::bias_gelu(&mut got, &bias) },
                _ => unsafe { baseline::bias_gelu(&mut got, &bias) },
            }
            for (i, (g, d)) in got.iter().zip(&data).enumerate() {
                let want = gelu(d + bias[i % bias.len()]);
                // Fused multiply-add rounds differently from the scalar reference.
                assert!(
                    (g - want).abs() <= 2e-6 * want.abs().max(1e-3),
                    "{name} [{i}]"
                );
            }
        }
        let mut all = data.clone();
        bias_gelu(&mut all, &bias);
        assert!((all[0] - gelu(data[0] + bias[0])).abs() < 1e-6);
    }
}
