//! Cost-quality metrics of a learned selector on a held-out split, from its predictions and
//! the split's logged quality and cost (what `training_report.json` records).
//!
//! With two models the selector is a threshold router (`Rule::Threshold`): every distinct
//! predicted gain is a threshold, and routing the requests whose gain is at least that
//! threshold to the strong model gives one point of the PGR curve. Tied gains move together,
//! as they do in the router, so no point splits a tie. APGR, CPT(50%) and CPT(80%) follow
//! RouteLLM ([`crate::curves`]); AIQ is RouterBench's over the same points in (cost per 1k,
//! quality). Random is the zero router (the segment between the two models: APGR 0.5); the
//! oracle sends each request to the cheapest model with the best logged quality.

use serde::{Deserialize, Serialize};

use crate::curves::{self, CostQuality, PgrPoint};

/// One request of the split: the strong model's predicted quality gain, and each model's
/// logged quality and cost (USD), `[weak, strong]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GainRow {
    /// Predicted quality of the strong model minus the weak one's.
    pub gain: f64,
    /// Logged quality `[weak, strong]`.
    pub quality: [f64; 2],
    /// Logged cost in USD `[weak, strong]`.
    pub cost: [f64; 2],
}

/// One threshold of the curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ThresholdPoint {
    /// Route to the strong model when the gain is ≥ this.
    pub threshold: f64,
    /// Share of requests sent to the strong model.
    pub strong_share: f64,
    /// Mean logged quality.
    pub quality: f64,
    /// USD per 1k requests.
    pub cost_per_1k: f64,
}

/// A router's metrics beside the random and oracle baselines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectorMetrics {
    /// Requests of the split.
    pub requests: usize,
    /// Average performance gap recovered.
    pub apgr: f64,
    /// Smallest strong share reaching 50% PGR.
    pub cpt50: Option<f64>,
    /// Smallest strong share reaching 80% PGR.
    pub cpt80: Option<f64>,
    /// RouterBench AIQ.
    pub aiq: Option<f64>,
    /// The random router's APGR (0.5).
    pub random_apgr: f64,
    /// The random router's AIQ (the zero router's).
    pub random_aiq: Option<f64>,
    /// The oracle's APGR.
    pub oracle_apgr: Option<f64>,
    /// The oracle's AIQ.
    pub oracle_aiq: Option<f64>,
    /// Mean quality of always-weak, always-strong and the oracle.
    pub quality_weak: f64,
    /// See `quality_weak`.
    pub quality_strong: f64,
    /// See `quality_weak`.
    pub quality_oracle: f64,
}

/// A `cost_weight` selector over any number of models: RouterBench's AIQ of its cost-quality
/// curve (a sweep of the cost weight) beside the zero router (the models alone) and the oracle
/// (each request's best logged quality, the cheapest such model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostWeightMetrics {
    /// Requests of the split.
    pub requests: usize,
    /// Cost weights swept.
    pub points: usize,
    /// AIQ of the sweep (with the single models).
    pub aiq: Option<f64>,
    /// AIQ of the single models alone (the zero router).
    pub random_aiq: Option<f64>,
    /// AIQ of the single models and the oracle.
    pub oracle_aiq: Option<f64>,
    /// Mean quality at cost weight 0 (the best predicted model of each request).
    pub quality_at_zero: f64,
    /// Mean quality of the oracle.
    pub quality_oracle: f64,
}

/// [`CostWeightMetrics`] of `rows` (candidates' logged quality and cost, USD) and a
/// `cost_weight` sweep over them ([`crate::calibrate::cost_weight_curve`]).
pub fn cost_weight_metrics(
    rows: &[crate::calibrate::Row],
    sweep: &[crate::calibrate::Calibrated],
) -> CostWeightMetrics {
    let n = rows.len().max(1) as f64;
    let m = rows.first().map_or(0, |r| r.quality.len());
    let models: Vec<CostQuality> = (0..m)
        .map(|j| CostQuality {
            cost: rows.iter().map(|r| r.cost[j]).sum::<f64>() / n * 1000.0,
            quality: rows.iter().map(|r| r.quality[j]).sum::<f64>() / n,
        })
        .collect();
    let best = |r: &crate::calibrate::Row| {
        (0..m)
            .max_by(|&a, &b| {
                r.quality[a]
                    .total_cmp(&r.quality[b])
                    .then(r.cost[b].total_cmp(&r.cost[a]))
            })
            .unwrap_or(0)
    };
    let oracle = CostQuality {
        cost: rows.iter().map(|r| r.cost[best(r)]).sum::<f64>() / n * 1000.0,
        quality: rows.iter().map(|r| r.quality[best(r)]).sum::<f64>() / n,
    };
    let mut policy: Vec<CostQuality> = sweep
        .iter()
        .map(|p| CostQuality {
            cost: p.cost_per_1k,
            quality: p.quality,
        })
        .collect();
    policy.extend(models.iter().copied());
    let mut with_oracle = models.clone();
    with_oracle.push(oracle);
    CostWeightMetrics {
        requests: rows.len(),
        points: sweep.len(),
        aiq: curves::aiq(&policy),
        random_aiq: curves::aiq(&models),
        oracle_aiq: curves::aiq(&with_oracle),
        quality_at_zero: sweep.first().map_or(0.0, |p| p.quality),
        quality_oracle: oracle.quality,
    }
}

/// The curve: one point per distinct gain (highest threshold first) plus "never strong".
pub fn threshold_curve(rows: &[GainRow]) -> Vec<ThresholdPoint> {
    let n = rows.len().max(1) as f64;
    let mut order: Vec<&GainRow> = rows.iter().collect();
    order.sort_by(|a, b| b.gain.total_cmp(&a.gain));
    let (mut q, mut c) = (0.0, 0.0);
    for r in rows {
        q += r.quality[0];
        c += r.cost[0];
    }
    let point = |t: f64, k: usize, q: f64, c: f64| ThresholdPoint {
        threshold: t,
        strong_share: k as f64 / n,
        quality: q / n,
        cost_per_1k: c / n * 1000.0,
    };
    let mut out = vec![point(f64::INFINITY, 0, q, c)];
    let mut i = 0;
    while i < order.len() {
        let t = order[i].gain;
        while i < order.len() && order[i].gain == t {
            q += order[i].quality[1] - order[i].quality[0];
            c += order[i].cost[1] - order[i].cost[0];
            i += 1;
        }
        out.push(point(t, i, q, c));
    }
    out
}

/// Metrics of the threshold router over `rows`.
pub fn selector_metrics(rows: &[GainRow]) -> SelectorMetrics {
    let n = rows.len().max(1) as f64;
    let mean = |f: &dyn Fn(&GainRow) -> f64| rows.iter().map(f).sum::<f64>() / n;
    let (qw, qs) = (mean(&|r| r.quality[0]), mean(&|r| r.quality[1]));
    let (cw, cs) = (mean(&|r| r.cost[0]) * 1000.0, mean(&|r| r.cost[1]) * 1000.0);
    // Oracle: the strong model only where it is strictly better.
    let strong = |r: &GainRow| r.quality[1] > r.quality[0];
    let oracle_q = mean(&|r| r.quality[strong(r) as usize]);
    let oracle_c = mean(&|r| r.cost[strong(r) as usize]) * 1000.0;
    let oracle_share = mean(&|r| strong(r) as u8 as f64);
    let curve = threshold_curve(rows);
    let pgr_points: Vec<PgrPoint> = curve
        .iter()
        .filter_map(|p| {
            Some(PgrPoint {
                strong_share: p.strong_share,
                pgr: curves::pgr(p.quality, qw, qs)?,
            })
        })
        .collect();
    let models = [
        CostQuality {
            cost: cw,
            quality: qw,
        },
        CostQuality {
            cost: cs,
            quality: qs,
        },
    ];
    let mut policy: Vec<CostQuality> = curve
        .iter()
        .map(|p| CostQuality {
            cost: p.cost_per_1k,
            quality: p.quality,
        })
        .collect();
    policy.extend(models);
    let oracle = CostQuality {
        cost: oracle_c,
        quality: oracle_q,
    };
    SelectorMetrics {
        requests: rows.len(),
        apgr: curves::apgr(&pgr_points),
        cpt50: curves::cpt(&pgr_points, 0.5),
        cpt80: curves::cpt(&pgr_points, 0.8),
        aiq: curves::aiq(&policy),
        random_apgr: curves::apgr(&[]),
        random_aiq: curves::aiq(&models),
        oracle_apgr: curves::pgr(oracle_q, qw, qs).map(|g| {
            curves::apgr(&[PgrPoint {
                strong_share: oracle_share,
                pgr: g,
            }])
        }),
        oracle_aiq: curves::aiq(&[models[0], models[1], oracle]),
        quality_weak: qw,
        quality_strong: qs,
        quality_oracle: oracle_q,
    }
}

/// A finite threshold that routes as `p` of `curve` does: `p`'s own, or for "never strong"
/// (`+inf`) a value just above the highest gain.
pub fn configurable(curve: &[ThresholdPoint], p: &ThresholdPoint) -> f64 {
    if p.threshold.is_finite() {
        p.threshold
    } else {
        curve.get(1).map_or(1.0, |q| q.threshold) + 1e-6
    }
}

/// What routing the requests whose gain is ≥ `threshold` to the strong model gives.
pub fn at_threshold(rows: &[GainRow], threshold: f64) -> ThresholdPoint {
    let n = rows.len().max(1) as f64;
    let (mut k, mut q, mut c) = (0usize, 0.0, 0.0);
    for r in rows {
        let s = (r.gain >= threshold) as usize;
        k += s;
        q += r.quality[s];
        c += r.cost[s];
    }
    ThresholdPoint {
        threshold,
        strong_share: k as f64 / n,
        quality: q / n,
        cost_per_1k: c / n * 1000.0,
    }
}

/// The point whose strong share is closest to `share` (the higher threshold on a tie). Its
/// threshold is `+inf` for "never strong"; [`configurable`] gives a finite one.
pub fn threshold_for_share(curve: &[ThresholdPoint], share: f64) -> Option<ThresholdPoint> {
    curve.iter().copied().min_by(|a, b| {
        (a.strong_share - share)
            .abs()
            .total_cmp(&(b.strong_share - share).abs())
            .then(b.threshold.total_cmp(&a.threshold))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(gain: f64, qw: f64, qs: f64) -> GainRow {
        GainRow {
            gain,
            quality: [qw, qs],
            cost: [0.001, 0.01],
        }
    }

    #[test]
    fn a_perfect_ranking_and_a_tie() {
        // Strong helps on the two rows with the highest gains; the last two tie.
        let rows = [
            row(0.9, 0.0, 1.0),
            row(0.5, 0.0, 1.0),
            row(0.1, 1.0, 1.0),
            row(0.1, 1.0, 1.0),
        ];
        let curve = threshold_curve(&rows);
        let shares: Vec<f64> = curve.iter().map(|p| p.strong_share).collect();
        assert_eq!(shares, vec![0.0, 0.25, 0.5, 1.0]);
        let q: Vec<f64> = curve.iter().map(|p| p.quality).collect();
        assert_eq!(q, vec![0.5, 0.75, 1.0, 1.0]);
        assert!((curve[1].cost_per_1k - 3.25).abs() < 1e-12);
        let m = selector_metrics(&rows);
        // q_weak 0.5, q_strong 1.0: PGR 0, 0.5, 1, 1 at shares 0, .25, .5, 1.
        // Area: .25·.25 + .25·.75 + .5·1 = 0.75.
        assert!((m.apgr - 0.75).abs() < 1e-12, "{}", m.apgr);
        assert_eq!(m.cpt50, Some(0.25));
        assert!((m.cpt80.unwrap() - 0.4).abs() < 1e-12);
        assert_eq!(m.random_apgr, 0.5);
        // The oracle sends only the first two to strong (share 0.5, PGR 1): 0.5·0.5 + 0.5 = 0.75.
        assert!((m.oracle_apgr.unwrap() - 0.75).abs() < 1e-12);
        assert_eq!(m.quality_oracle, 1.0);
        for p in &curve[1..] {
            let d = at_threshold(&rows, p.threshold);
            assert_eq!((d.strong_share, d.quality), (p.strong_share, p.quality));
            assert!((d.cost_per_1k - p.cost_per_1k).abs() < 1e-12);
        }
        let t = threshold_for_share(&curve, 0.3).unwrap();
        assert_eq!((t.threshold, t.strong_share), (0.9, 0.25));
    }
}
