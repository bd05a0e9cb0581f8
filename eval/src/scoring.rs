//! Scores of replayed policies: quality/cost metrics, baselines (always-cheapest,
//! always-strongest, oracle, random), curve metrics and breakdown tables.

use crate::curves::{self, CostQuality, PgrPoint};
use crate::outcomes::Outcome;
use crate::report::{CurveMetrics, ModelInfo, PolicyMetrics, Savings, SweepPoint};
use crate::stats::SplitMix64;
use crate::tally::OutcomeSums;

/// Quality at or above which an answer counts as correct (McNemar, `correct_rate`).
pub const CORRECT_AT: f64 = 0.5;

/// Seed of the sampled random baseline.
pub const RANDOM_SEED: u64 = 0x5EED;

/// Quality / cost / latency summary of a sequence of outcomes.
pub fn policy_metrics(name: &str, outcomes: impl Iterator<Item = Outcome>) -> PolicyMetrics {
    let mut sums = OutcomeSums::default();
    outcomes.for_each(|o| sums.add(o));
    sums.metrics(name)
}

/// Index of the cheapest scored model (ties: higher quality) and of the strongest scored model
/// (highest mean quality; ties: cheaper). `scored[m]` says whether model m has quality values.
/// In a log with no quality at all (a served log), the cheapest and the most expensive model.
pub fn cheapest_and_strongest(
    singles: &[PolicyMetrics],
    scored: &[bool],
) -> Option<(usize, usize)> {
    let cand: Vec<usize> = (0..singles.len())
        .filter(|&m| scored[m] && singles[m].mean_quality.is_some())
        .collect();
    if cand.is_empty() {
        let by_cost =
            |a: &usize, b: &usize| singles[*a].total_cost.total_cmp(&singles[*b].total_cost);
        let all = 0..singles.len();
        return Some((all.clone().min_by(by_cost)?, all.max_by(by_cost)?));
    }
    let q = |m: usize| singles[m].mean_quality.unwrap_or(f64::NEG_INFINITY);
    let cheapest = cand.iter().copied().min_by(|&a, &b| {
        singles[a]
            .total_cost
            .total_cmp(&singles[b].total_cost)
            .then(q(b).total_cmp(&q(a)))
    })?;
    let strongest = cand.iter().copied().max_by(|&a, &b| {
        q(a).total_cmp(&q(b))
            .then(singles[b].total_cost.total_cmp(&singles[a].total_cost))
    })?;
    Some((cheapest, strongest))
}

/// Oracle choice per request: among models with a quality value, the best quality, cheapest
/// among ties; `None` when no model is scored on that request.
pub fn oracle_choice(row: &[Outcome]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (m, o) in row.iter().enumerate() {
        if o.quality.is_nan() {
            continue;
        }
        best = match best {
            None => Some(m),
            Some(b) => {
                let ob = row[b];
                if o.quality > ob.quality || (o.quality == ob.quality && o.cost < ob.cost) {
                    Some(m)
                } else {
                    Some(b)
                }
            }
        };
    }
    best
}

/// Random router with the policy's call shares, in expectation: quality = Σ p_m·q_m over
/// scored models (renormalised over their share), cost = Σ p_m·cost_m.
pub fn random_expected(singles: &[PolicyMetrics], shares: &[f64], n: u64) -> PolicyMetrics {
    let mut cost = 0.0;
    let (mut qw, mut w, mut cw) = (0.0, 0.0, 0.0);
    let mut lat = (0.0, 0.0);
    for (m, s) in singles.iter().enumerate() {
        let p = shares[m];
        cost += p * s.total_cost;
        if let (Some(q), Some(c)) = (s.mean_quality, s.correct_rate) {
            qw += p * q;
            cw += p * c;
            w += p;
        }
        if let Some(l) = s.mean_model_latency_ms {
            lat.0 += p * l;
            lat.1 += p;
        }
    }
    let scored = (w * n as f64).round() as u64;
    PolicyMetrics {
        name: "random (expected)".into(),
        requests: n,
        scored,
        unscored: n - scored.min(n),
        mean_quality: (w > 0.0).then(|| qw / w),
        correct_rate: (w > 0.0).then(|| cw / w),
        total_cost: cost,
        cost_per_1k: if n > 0 { cost / n as f64 * 1000.0 } else { 0.0 },
        mean_model_latency_ms: (lat.1 > 0.0).then(|| lat.0 / lat.1),
    }
}

/// Random router at the policy's cost (RouteLLM's random line): sends a share
/// `p = (cost_policy − cost_cheapest) / (cost_strongest − cost_cheapest)` (clamped to `[0, 1]`)
/// of the calls to the strongest model and the rest to the cheapest, so in expectation it costs
/// what the policy costs; quality and latency are the same mix of the two models'.
pub fn random_cost_matched(
    cheapest: &PolicyMetrics,
    strongest: &PolicyMetrics,
    policy_cost: f64,
    n: u64,
) -> PolicyMetrics {
    let span = strongest.total_cost - cheapest.total_cost;
    let p = if span > 0.0 {
        ((policy_cost - cheapest.total_cost) / span).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mix = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => Some((1.0 - p) * a + p * b),
        _ => None,
    };
    let cost = (1.0 - p) * cheapest.total_cost + p * strongest.total_cost;
    let scored = ((1.0 - p) * cheapest.scored as f64 + p * strongest.scored as f64).round() as u64;
    PolicyMetrics {
        name: format!("random (cost-matched, {:.1}% strongest)", p * 100.0),
        requests: n,
        scored: scored.min(n),
        unscored: n - scored.min(n),
        mean_quality: mix(cheapest.mean_quality, strongest.mean_quality),
        correct_rate: mix(cheapest.correct_rate, strongest.correct_rate),
        total_cost: cost,
        cost_per_1k: if n > 0 { cost / n as f64 * 1000.0 } else { 0.0 },
        mean_model_latency_ms: mix(
            cheapest.mean_model_latency_ms,
            strongest.mean_model_latency_ms,
        ),
    }
}

/// Random router with the policy's call shares, sampled per request with a fixed seed: fed the
/// outcome of every model on each request, in log order.
#[derive(Debug, Clone)]
pub struct SampledRandom {
    rng: SplitMix64,
    seed: u64,
    /// Cumulative shares.
    cdf: Vec<f64>,
    sums: OutcomeSums,
}

impl SampledRandom {
    /// A router sending each request to model m with probability `shares[m]`.
    pub fn new(shares: &[f64], seed: u64) -> Self {
        let cdf = shares
            .iter()
            .scan(0.0, |acc, p| {
                *acc += p;
                Some(*acc)
            })
            .collect();
        SampledRandom {
            rng: SplitMix64::new(seed),
            seed,
            cdf,
            sums: OutcomeSums::default(),
        }
    }

    /// Routes the next request, given every model's outcome on it.
    pub fn add(&mut self, row: &[Outcome]) {
        let u = self.rng.unit();
        let m = self
            .cdf
            .iter()
            .position(|&c| u < c)
            .unwrap_or(self.cdf.len().saturating_sub(1));
        self.sums.add(row[m]);
    }

    /// Its metrics.
    pub fn metrics(&self) -> PolicyMetrics {
        self.sums
            .metrics(&format!("random (sampled, seed {})", self.seed))
    }
}

/// `(baseline − policy) / baseline`, `None` for a zero baseline.
pub fn savings(
    policy: &PolicyMetrics,
    cheapest: &PolicyMetrics,
    strongest: &PolicyMetrics,
) -> Savings {
    let rel = |b: f64| (b > 0.0).then(|| (b - policy.total_cost) / b);
    Savings {
        vs_strongest: rel(strongest.total_cost),
        vs_cheapest: rel(cheapest.total_cost),
    }
}

/// Model info rows for the report.
pub fn model_infos(
    models: &[crate::outcomes::ModelCostModel],
    singles: &[PolicyMetrics],
) -> Vec<ModelInfo> {
    models
        .iter()
        .zip(singles)
        .map(|(m, s)| ModelInfo {
            name: m.name.clone(),
            prompt_per_1m: m.pricing.as_ref().map(|p| p.prompt_per_1m),
            completion_per_1m: m.pricing.as_ref().map(|p| p.completion_per_1m),
            scored: m.has_quality,
            mean_quality: s.mean_quality,
            cost_per_1k: s.cost_per_1k,
        })
        .collect()
}

/// Inputs of [`curve_metrics`].
pub struct CurveInputs<'a> {
    /// Always-m metrics.
    pub singles: &'a [PolicyMetrics],
    /// Which models have quality values.
    pub scored: &'a [bool],
    /// Model names.
    pub names: &'a [String],
    /// The policy's single run.
    pub policy: &'a PolicyMetrics,
    /// The policy's call shares per model.
    pub policy_shares: &'a [f64],
    /// The oracle.
    pub oracle: &'a PolicyMetrics,
    /// The oracle's call shares per model.
    pub oracle_shares: &'a [f64],
    /// Sweep points, if a sweep ran.
    pub sweep: Option<&'a [SweepPoint]>,
}

fn point(m: &PolicyMetrics) -> Option<CostQuality> {
    m.mean_quality.map(|q| CostQuality {
        cost: m.cost_per_1k,
        quality: q,
    })
}

/// RouteLLM (two scored models) and RouterBench metrics of the policy beside the zero router,
/// random and oracle. Costs are in USD per 1k requests.
pub fn curve_metrics(i: &CurveInputs<'_>) -> CurveMetrics {
    let model_points: Vec<CostQuality> = (0..i.singles.len())
        .filter(|&m| i.scored[m])
        .filter_map(|m| point(&i.singles[m]))
        .collect();
    let mut policy_points: Vec<CostQuality> = match i.sweep {
        Some(s) => s
            .iter()
            .filter_map(|p| {
                p.mean_quality.map(|q| CostQuality {
                    cost: p.cost_per_1k,
                    quality: q,
                })
            })
            .collect(),
        None => point(i.policy).into_iter().collect(),
    };
    policy_points.extend(model_points.iter().copied());
    let mut oracle_points = model_points.clone();
    oracle_points.extend(point(i.oracle));
    let hull = curves::non_decreasing_hull(&model_points);
    let mut out = CurveMetrics {
        weak_model: None,
        strong_model: None,
        apgr: None,
        apgr_random: None,
        apgr_oracle: None,
        cpt50: None,
        cpt80: None,
        pgr: None,
        aiq: curves::aiq(&policy_points),
        aiq_zero_router: curves::aiq(&model_points),
        aiq_oracle: curves::aiq(&oracle_points),
        zero_router_quality_at_policy_cost: curves::hull_quality_at(&hull, i.policy.cost_per_1k),
    };
    let scored_models: Vec<usize> = (0..i.singles.len()).filter(|&m| i.scored[m]).collect();
    if scored_models.len() == 2 {
        if let Some((weak, strong)) = cheapest_and_strongest(i.singles, i.scored) {
            if weak != strong {
                let (qw, qs) = (
                    i.singles[weak].mean_quality.unwrap_or(0.0),
                    i.singles[strong].mean_quality.unwrap_or(0.0),
                );
                let pgr_of = |q: Option<f64>| q.and_then(|q| curves::pgr(q, qw, qs));
                out.weak_model = Some(i.names[weak].clone());
                out.strong_model = Some(i.names[strong].clone());
                out.pgr = pgr_of(i.policy.mean_quality);
                let pts: Vec<PgrPoint> = match i.sweep {
                    Some(s) => s
                        .iter()
                        .filter_map(|p| {
                            Some(PgrPoint {
                                strong_share: p.strong_share?,
                                pgr: p.pgr?,
                            })
                        })
                        .collect(),
                    None => out
                        .pgr
                        .map(|g| PgrPoint {
                            strong_share: i.policy_shares[strong],
                            pgr: g,
                        })
                        .into_iter()
                        .collect(),
                };
                if out.pgr.is_some() || !pts.is_empty() {
                    out.apgr = Some(curves::apgr(&pts));
                    out.cpt50 = curves::cpt(&pts, 0.5);
                    out.cpt80 = curves::cpt(&pts, 0.8);
                }
                out.apgr_random = Some(curves::apgr(&[]));
                out.apgr_oracle = pgr_of(i.oracle.mean_quality).map(|g| {
                    curves::apgr(&[PgrPoint {
                        strong_share: i.oracle_shares[strong],
                        pgr: g,
                    }])
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tally::TableTally;

    /// Always-m metrics of a table of rows.
    fn singles_of(rows: &[&[Outcome]], names: &[String]) -> Vec<PolicyMetrics> {
        let mut t = TableTally::new(names.len());
        rows.iter().for_each(|r| t.add(r));
        t.singles(names)
    }

    fn o(quality: f64, cost: f64) -> Outcome {
        Outcome {
            quality,
            cost,
            latency_ms: f64::NAN,
        }
    }

    #[test]
    fn oracle_prefers_quality_then_cost_and_skips_unscored() {
        assert_eq!(oracle_choice(&[o(0.0, 1.0), o(1.0, 5.0)]), Some(1));
        assert_eq!(oracle_choice(&[o(1.0, 1.0), o(1.0, 5.0)]), Some(0));
        assert_eq!(
            oracle_choice(&[o(1.0, 9.0), o(f64::NAN, 5.0), o(1.0, 2.0)]),
            Some(2)
        );
        assert_eq!(oracle_choice(&[o(f64::NAN, 1.0)]), None);
    }

    #[test]
    fn ends_by_quality_or_by_cost_in_an_unscored_log() {
        let names = ["a".into(), "b".into(), "c".into()];
        let singles = singles_of(&[&[o(0.2, 2.0), o(0.9, 5.0), o(0.5, 1.0)]], &names);
        assert_eq!(cheapest_and_strongest(&singles, &[true; 3]), Some((2, 1)));
        // Only a and b scored: c is out.
        assert_eq!(
            cheapest_and_strongest(&singles, &[true, true, false]),
            Some((0, 1))
        );
        // No quality at all (a served log): cheapest and most expensive.
        let row = [o(f64::NAN, 2.0), o(f64::NAN, 5.0), o(f64::NAN, 1.0)];
        let singles = singles_of(&[&row], &names);
        assert_eq!(cheapest_and_strongest(&singles, &[true; 3]), Some((2, 1)));
        assert_eq!(cheapest_and_strongest(&[], &[]), None);
    }

    #[test]
    fn random_baselines_match_shares() {
        let row = [o(0.0, 1.0), o(1.0, 3.0)];
        let singles = singles_of(&[&row[..]; 1000], &["a".into(), "b".into()]);
        // 25% to b: expected quality 0.25, cost 0.75 * 1000 + 0.25 * 3000 = 1500.
        let e = random_expected(&singles, &[0.75, 0.25], 1000);
        assert!((e.mean_quality.unwrap() - 0.25).abs() < 1e-12);
        assert!((e.total_cost - 1500.0).abs() < 1e-9);
        let sampled = |seed| {
            let mut r = SampledRandom::new(&[0.75, 0.25], seed);
            (0..1000).for_each(|_| r.add(&row));
            r.metrics()
        };
        let s = sampled(9);
        assert!(
            (s.mean_quality.unwrap() - 0.25).abs() < 0.05,
            "{:?}",
            s.mean_quality
        );
        assert_eq!(
            (s.requests, s.name.as_str()),
            (1000, "random (sampled, seed 9)")
        );
        assert_eq!(s, sampled(9));
        assert_ne!(s, sampled(10));
        let m = policy_metrics("p", [o(1.0, 2.0), o(f64::NAN, 4.0)].into_iter());
        assert_eq!((m.scored, m.unscored, m.mean_quality), (1, 1, Some(1.0)));
        assert!((m.cost_per_1k - 3000.0).abs() < 1e-9);
    }

    #[test]
    fn cost_matched_random_by_hand() {
        // cheapest: quality 0.4, cost 10; strongest: quality 0.9, cost 50 (100 requests each).
        let m = |q: f64, cost: f64| PolicyMetrics {
            name: String::new(),
            requests: 100,
            scored: 100,
            unscored: 0,
            mean_quality: Some(q),
            correct_rate: Some(q),
            total_cost: cost,
            cost_per_1k: cost * 10.0,
            mean_model_latency_ms: Some(q * 1000.0),
        };
        let (cheap, strong) = (m(0.4, 10.0), m(0.9, 50.0));
        // Policy costs 20: p = (20 - 10) / (50 - 10) = 0.25 -> quality 0.75*0.4 + 0.25*0.9 = 0.525.
        let r = random_cost_matched(&cheap, &strong, 20.0, 100);
        assert!((r.mean_quality.unwrap() - 0.525).abs() < 1e-12);
        assert!((r.total_cost - 20.0).abs() < 1e-12);
        assert!((r.cost_per_1k - 200.0).abs() < 1e-9);
        assert!((r.mean_model_latency_ms.unwrap() - 525.0).abs() < 1e-9);
        assert_eq!(r.name, "random (cost-matched, 25.0% strongest)");
        // Outside the two models' range the mix is clamped to one model.
        let above = random_cost_matched(&cheap, &strong, 80.0, 100);
        assert_eq!((above.mean_quality, above.total_cost), (Some(0.9), 50.0));
        let below = random_cost_matched(&cheap, &strong, 1.0, 100);
        assert_eq!((below.mean_quality, below.total_cost), (Some(0.4), 10.0));
    }
}
