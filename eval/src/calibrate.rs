//! Calibration of a learned selection (`routelab calibrate`): the `threshold` (two models) or
//! `cost_weight` that reaches a target strong-call share, cost per 1k requests or mean
//! quality on a log, from the selector's predictions and the log's logged outcomes.
//!
//! Both settings act monotonically: a higher threshold or cost weight never sends a request
//! to a more expensive model. A threshold is searched exactly over the distinct predicted gains
//! ([`crate::selection_metrics::threshold_curve`]); a cost weight by bisection.

use router_core::selection::{Candidates, Rule};
use serde::Serialize;

use crate::error::{EvalError, Result};
use crate::selection_metrics::{
    configurable, threshold_curve, threshold_for_share, GainRow, ThresholdPoint,
};

/// What to reach.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Target {
    /// Share of requests sent to the most expensive candidate.
    StrongShare(f64),
    /// Mean cost, USD per 1k requests: the best quality at or under it.
    CostPer1k(f64),
    /// Mean quality: the cheapest setting at or above it.
    Quality(f64),
}

impl std::str::FromStr for Target {
    type Err = EvalError;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| {
            EvalError::Invalid(format!(
                "--target `{s}`: {why} (expected strong_share=X, cost_per_1k=X or quality=X)"
            ))
        };
        let (k, v) = s.split_once('=').ok_or_else(|| bad("no `=`"))?;
        let v: f64 = v.trim().parse().map_err(|_| bad("not a number"))?;
        match k.trim() {
            "strong_share" if (0.0..=1.0).contains(&v) => Ok(Target::StrongShare(v)),
            "quality" if (0.0..=1.0).contains(&v) => Ok(Target::Quality(v)),
            "cost_per_1k" if v >= 0.0 => Ok(Target::CostPer1k(v)),
            "strong_share" | "quality" | "cost_per_1k" => Err(bad("value out of range")),
            _ => Err(bad("unknown target")),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::StrongShare(v) => write!(f, "strong_share={v}"),
            Target::CostPer1k(v) => write!(f, "cost_per_1k={v}"),
            Target::Quality(v) => write!(f, "quality={v}"),
        }
    }
}

/// One request the decision routed: its candidates' predicted quality, logged quality and
/// logged cost in USD, all in modelRefs order.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Predicted quality per candidate.
    pub predicted: Vec<f32>,
    /// Logged quality per candidate.
    pub quality: Vec<f64>,
    /// Logged cost per candidate, USD.
    pub cost: Vec<f64>,
}

/// A calibrated setting and what it achieves on the rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Calibrated {
    /// The rule to configure.
    #[serde(skip)]
    pub rule: Rule,
    /// Share sent to the most expensive candidate.
    pub strong_share: f64,
    /// Mean logged quality.
    pub quality: f64,
    /// USD per 1k requests.
    pub cost_per_1k: f64,
}

impl Calibrated {
    /// The achieved value of `target`'s measure.
    pub fn achieved(&self, target: Target) -> f64 {
        match target {
            Target::StrongShare(_) => self.strong_share,
            Target::CostPer1k(_) => self.cost_per_1k,
            Target::Quality(_) => self.quality,
        }
    }
}

/// The setting of `c`'s rule kind that meets `target` on `rows`.
pub fn calibrate(c: &Candidates, rows: &[Row], target: Target) -> Result<Calibrated> {
    if rows.is_empty() {
        return Err(EvalError::Invalid(
            "no request of the log reached the decision being calibrated".into(),
        ));
    }
    match c.rule() {
        Rule::Threshold(_) => by_threshold(c, rows, target),
        Rule::CostWeight(_) => by_cost_weight(c, rows, target),
    }
}

fn by_threshold(c: &Candidates, rows: &[Row], target: Target) -> Result<Calibrated> {
    let (weak, strong) = c.weak_strong();
    let gains: Vec<GainRow> = rows
        .iter()
        .map(|r| GainRow {
            gain: c.gain(&r.predicted),
            quality: [r.quality[weak], r.quality[strong]],
            cost: [r.cost[weak], r.cost[strong]],
        })
        .collect();
    let curve = threshold_curve(&gains);
    let found = match target {
        Target::StrongShare(s) => threshold_for_share(&curve, s),
        Target::CostPer1k(max) => best_of(
            &curve,
            |p| p.cost_per_1k <= max,
            |a, b| {
                a.quality
                    .total_cmp(&b.quality)
                    .then(b.cost_per_1k.total_cmp(&a.cost_per_1k))
            },
        ),
        Target::Quality(min) => best_of(
            &curve,
            |p| p.quality >= min,
            |a, b| {
                b.cost_per_1k
                    .total_cmp(&a.cost_per_1k)
                    .then(a.quality.total_cmp(&b.quality))
            },
        ),
    };
    let p = found.ok_or_else(|| unreachable_target(target, &curve))?;
    Ok(Calibrated {
        rule: Rule::Threshold(configurable(&curve, &p)),
        strong_share: p.strong_share,
        quality: p.quality,
        cost_per_1k: p.cost_per_1k,
    })
}

/// The point of `curve` that passes `ok` and is greatest under `better`.
fn best_of(
    curve: &[ThresholdPoint],
    ok: impl Fn(&ThresholdPoint) -> bool,
    better: impl Fn(&ThresholdPoint, &ThresholdPoint) -> std::cmp::Ordering,
) -> Option<ThresholdPoint> {
    curve
        .iter()
        .copied()
        .filter(|p| ok(p))
        .max_by(|a, b| better(a, b))
}

fn unreachable_target(target: Target, curve: &[ThresholdPoint]) -> EvalError {
    let cheapest = curve
        .iter()
        .map(|p| p.cost_per_1k)
        .fold(f64::INFINITY, f64::min);
    let best = curve
        .iter()
        .map(|p| p.quality)
        .fold(f64::NEG_INFINITY, f64::max);
    EvalError::Invalid(format!(
        "no setting reaches {target} on this log (cost per 1k from {cheapest:.4} USD, quality up to {best:.4})"
    ))
}

/// What `rule` does on `rows`.
pub fn measure(c: &Candidates, rows: &[Row], rule: Rule) -> Calibrated {
    let c = c.with_rule(rule);
    let top = (0..c.costs().len())
        .max_by(|&a, &b| c.costs()[a].total_cmp(&c.costs()[b]))
        .unwrap_or(0);
    let (mut strong, mut q, mut cost) = (0usize, 0.0, 0.0);
    for r in rows {
        let pick = c.choose(&r.predicted);
        strong += (pick == top) as usize;
        q += r.quality[pick];
        cost += r.cost[pick];
    }
    let n = rows.len() as f64;
    Calibrated {
        rule,
        strong_share: strong as f64 / n,
        quality: q / n,
        cost_per_1k: cost / n * 1000.0,
    }
}

/// The largest cost weight worth trying: past it, a quality gain of 1 never pays the smallest
/// cost difference between two candidates, so every request goes to its cheapest candidate.
pub fn max_cost_weight(c: &Candidates) -> f64 {
    let costs = c.costs();
    let min_gap = costs
        .iter()
        .flat_map(|a| costs.iter().map(move |b| (a - b).abs()))
        .filter(|g| *g > 0.0)
        .fold(f64::INFINITY, f64::min);
    if min_gap.is_finite() {
        2.0 / min_gap + 1.0
    } else {
        1.0
    }
}

/// What `points + 1` cost weights from 0 to [`max_cost_weight`] (0, then log-spaced from
/// `max / 10⁶`) do on `rows`: the cost-quality curve of a `cost_weight` router.
pub fn cost_weight_curve(c: &Candidates, rows: &[Row], points: usize) -> Vec<Calibrated> {
    let max = max_cost_weight(c);
    let lo = max * 1e-6;
    std::iter::once(0.0)
        .chain((0..points).map(|i| lo * (max / lo).powf(i as f64 / (points.max(2) - 1) as f64)))
        .map(|l| measure(c, rows, Rule::CostWeight(l)))
        .collect()
}

/// Bisection over `λ` in `[0, max_cost_weight]`: share, quality and cost are all
/// non-increasing in `λ`.
fn by_cost_weight(c: &Candidates, rows: &[Row], target: Target) -> Result<Calibrated> {
    let at = |l: f64| measure(c, rows, Rule::CostWeight(l));
    let max = max_cost_weight(c);
    let (start, end) = (at(0.0), at(max));
    match target {
        Target::CostPer1k(v) if end.cost_per_1k > v => {
            return Err(EvalError::Invalid(format!(
                "no cost weight reaches {target} (the cheapest choices cost {:.4} USD per 1k)",
                end.cost_per_1k
            )))
        }
        Target::Quality(v) if start.quality < v => {
            return Err(EvalError::Invalid(format!(
                "no cost weight reaches {target} (cost weight 0 gives {:.4})",
                start.quality
            )))
        }
        _ => {}
    }
    // `high(m)`: λ must still grow (share or cost above the target, quality still reached).
    let high = |m: &Calibrated| match target {
        Target::StrongShare(s) => m.strong_share > s,
        Target::CostPer1k(v) => m.cost_per_1k > v,
        Target::Quality(v) => m.quality >= v,
    };
    if !high(&start) {
        return Ok(start);
    }
    let (mut lo, mut hi) = (0.0f64, max);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if high(&at(mid)) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let (a, b) = (at(lo), at(hi));
    // Share: the closer side; cost: the first λ within budget; quality: the last λ reaching it.
    Ok(match target {
        Target::StrongShare(s) if (a.strong_share - s).abs() <= (b.strong_share - s).abs() => a,
        Target::StrongShare(_) | Target::CostPer1k(_) => b,
        Target::Quality(_) => a,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use router_core::export::selector::{
        SelectorEmbedding, SelectorManifest, SelectorMethod, SELECTOR_FORMAT,
    };

    /// `models` with their mean costs, all candidates of a decision under `rule`.
    fn candidates_of(models: &[(&str, f64)], rule: Rule) -> Candidates {
        let m = SelectorManifest {
            format: SELECTOR_FORMAT.into(),
            method: SelectorMethod::Knn,
            models: models.iter().map(|(n, _)| n.to_string()).collect(),
            mean_cost_per_1k: models.iter().map(|(_, c)| *c).collect(),
            embedding: SelectorEmbedding {
                name: "e".into(),
                content_key: "k".into(),
                dim: 2,
            },
            k: Some(1),
            hidden: vec![],
            rank: None,
        };
        let names: Vec<&str> = models.iter().map(|(n, _)| *n).collect();
        Candidates::new(&m, &names, rule).unwrap()
    }

    fn candidates(rule: Rule) -> Candidates {
        candidates_of(&[("weak", 1.0), ("strong", 10.0)], rule)
    }

    /// 20 requests with distinct predicted gains; the strong model is right on the odd ones.
    fn rows() -> Vec<Row> {
        (0..20)
            .map(|i| Row {
                predicted: vec![0.5, 0.5 + (i as f32) / 40.0],
                quality: vec![0.0, (i % 2) as f64],
                cost: vec![0.001, 0.01],
            })
            .collect()
    }

    #[test]
    fn a_threshold_hits_the_share_within_one_request() {
        let c = candidates(Rule::Threshold(0.0));
        for target in [0.0, 0.13, 0.3, 0.5, 0.77, 1.0] {
            let got = calibrate(&c, &rows(), Target::StrongShare(target)).unwrap();
            assert!(
                (got.strong_share - target).abs() * 20.0 <= 0.5 + 1e-9,
                "{target}: {got:?}"
            );
            // Replaying the calibrated rule gives the same share.
            let replayed = measure(&c, &rows(), got.rule);
            assert_eq!(replayed.strong_share, got.strong_share, "{target}");
        }
    }

    #[test]
    fn cost_and_quality_targets() {
        let c = candidates(Rule::Threshold(0.0));
        // Cost per 1k with k strong calls: (k·10 + (20−k)·1)/20.
        // The best quality within budget is 0.25 (rows 11, 13, .., 19 to strong); of the
        // shares that reach it, the cheapest (0.45: rows 11..19) is chosen.
        let got = calibrate(&c, &rows(), Target::CostPer1k(5.6)).unwrap();
        assert_eq!((got.strong_share, got.quality), (0.45, 0.25), "{got:?}");
        assert!(got.cost_per_1k <= 5.6);
        let got = calibrate(&c, &rows(), Target::Quality(0.25)).unwrap();
        assert!(
            got.quality >= 0.25 && got.strong_share <= 0.5 + 1e-9,
            "{got:?}"
        );
        assert!(calibrate(&c, &rows(), Target::CostPer1k(0.5)).is_err());
        assert!(calibrate(&c, &rows(), Target::Quality(0.9)).is_err());
    }

    #[test]
    fn a_cost_weight_by_bisection() {
        let c = candidates(Rule::CostWeight(0.0));
        let got = calibrate(&c, &rows(), Target::StrongShare(0.25)).unwrap();
        assert!(
            (got.strong_share - 0.25).abs() * 20.0 <= 1.0 + 1e-9,
            "{got:?}"
        );
        let Rule::CostWeight(l) = got.rule else {
            panic!("{got:?}")
        };
        assert!(l > 0.0);
        let got = calibrate(&c, &rows(), Target::CostPer1k(3.0)).unwrap();
        assert!(got.cost_per_1k <= 3.0, "{got:?}");
    }

    #[test]
    fn a_cost_weight_sweep_over_three_models() {
        let c = candidates_of(&[("s", 1.0), ("m", 2.0), ("l", 4.0)], Rule::CostWeight(0.0));
        // Each request has one right model, predicted exactly: s, m, l, l.
        let right = [0usize, 1, 2, 2];
        let rows: Vec<Row> = right
            .iter()
            .map(|&r| Row {
                predicted: (0..3).map(|j| (j == r) as u8 as f32).collect(),
                quality: (0..3).map(|j| (j == r) as u8 as f64).collect(),
                cost: vec![0.001, 0.002, 0.004],
            })
            .collect();
        let sweep = cost_weight_curve(&c, &rows, 20);
        assert_eq!(sweep.len(), 21);
        // λ = 0: every request to its right model, as the oracle does.
        assert_eq!((sweep[0].quality, sweep[0].strong_share), (1.0, 0.5));
        // The largest λ sends everything to the cheapest model.
        assert_eq!(sweep[20].cost_per_1k, 1.0);
        let got = crate::selection_metrics::cost_weight_metrics(&rows, &sweep);
        assert_eq!(got.quality_oracle, 1.0);
        // The sweep's cheaper mixes lie above the oracle's single point and the models' hull.
        assert!(got.aiq.unwrap() >= got.oracle_aiq.unwrap(), "{got:?}");
        assert!(got.oracle_aiq.unwrap() > got.random_aiq.unwrap(), "{got:?}");
    }

    #[test]
    fn targets_parse() {
        assert_eq!(
            "strong_share=0.3".parse::<Target>().unwrap(),
            Target::StrongShare(0.3)
        );
        assert!("share=0.3".parse::<Target>().is_err());
        assert!("quality=2".parse::<Target>().is_err());
    }
}
