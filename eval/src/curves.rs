//! Cost-quality curve metrics: RouteLLM's PGR / APGR / CPT for two models and RouterBench's
//! AIQ for any number of models.
//!
//! * RouteLLM (Ong et al., 2024, "RouteLLM: Learning to Route LLMs with Preference Data", §5):
//!   performance gap recovered `PGR = (q − q_weak) / (q_strong − q_weak)`; APGR is the area
//!   under the PGR curve as the share of calls routed to the strong model goes from 0 to 1;
//!   CPT(x%) is the smallest share of calls to the strong model that reaches x% PGR.
//! * RouterBench (Hu et al., 2024, "RouterBench: A Benchmark for Multi-LLM Routing System",
//!   §4): the non-decreasing convex hull R̃ of a router's (cost, quality) points, and
//!   `AIQ = (1 / (c_max − c_min)) ∫_{c_min}^{c_max} R̃(c) dc`.

use serde::{Deserialize, Serialize};

/// Performance gap recovered; `None` when the strong and weak models score the same.
pub fn pgr(q: f64, q_weak: f64, q_strong: f64) -> Option<f64> {
    let gap = q_strong - q_weak;
    (gap.abs() > f64::EPSILON).then(|| (q - q_weak) / gap)
}

/// One point of a PGR curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PgrPoint {
    /// Share of calls routed to the strong model, in `[0, 1]`.
    pub strong_share: f64,
    /// PGR at that share.
    pub pgr: f64,
}

/// The PGR curve used by [`apgr`] and [`cpt`]: the points sorted by share, the best PGR kept
/// where shares tie, anchored at (0, 0) (all calls to the weak model) and (1, 1) (all to the
/// strong model) unless a measured point already sits at that share.
pub fn pgr_curve(points: &[PgrPoint]) -> Vec<PgrPoint> {
    let mut pts: Vec<PgrPoint> = points
        .iter()
        .copied()
        .filter(|p| p.strong_share.is_finite() && p.pgr.is_finite())
        .collect();
    if !pts.iter().any(|p| p.strong_share <= 0.0) {
        pts.push(PgrPoint {
            strong_share: 0.0,
            pgr: 0.0,
        });
    }
    if !pts.iter().any(|p| p.strong_share >= 1.0) {
        pts.push(PgrPoint {
            strong_share: 1.0,
            pgr: 1.0,
        });
    }
    pts.sort_by(|a, b| a.strong_share.total_cmp(&b.strong_share));
    let mut out: Vec<PgrPoint> = Vec::with_capacity(pts.len());
    for p in pts {
        match out.last_mut() {
            Some(last) if last.strong_share == p.strong_share => last.pgr = last.pgr.max(p.pgr),
            _ => out.push(p),
        }
    }
    out
}

/// Average performance gap recovered: the trapezoid-rule area under [`pgr_curve`] over
/// shares in `[0, 1]`. A random router (PGR = share) scores 0.5.
pub fn apgr(points: &[PgrPoint]) -> f64 {
    pgr_curve(points)
        .windows(2)
        .map(|w| (w[1].strong_share - w[0].strong_share) * (w[0].pgr + w[1].pgr) / 2.0)
        .sum()
}

/// Call-performance threshold: the smallest share of calls to the strong model at which the
/// piecewise-linear [`pgr_curve`] reaches `target` PGR (e.g. 0.5 for CPT(50%)); `None` if
/// it never does.
pub fn cpt(points: &[PgrPoint], target: f64) -> Option<f64> {
    let curve = pgr_curve(points);
    if let Some(first) = curve.first() {
        if first.pgr >= target {
            return Some(first.strong_share);
        }
    }
    for w in curve.windows(2) {
        let (a, b) = (w[0], w[1]);
        if b.pgr >= target {
            let t = (target - a.pgr) / (b.pgr - a.pgr);
            return Some(a.strong_share + t * (b.strong_share - a.strong_share));
        }
    }
    None
}

/// One policy's total cost and mean quality.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CostQuality {
    /// Cost (any consistent unit, e.g. USD per 1k requests).
    pub cost: f64,
    /// Mean quality.
    pub quality: f64,
}

/// Vertices of the non-decreasing convex hull R̃: the upper convex hull of the points from the
/// cheapest point up to the highest-quality one (R̃ stays flat at that quality afterwards).
pub fn non_decreasing_hull(points: &[CostQuality]) -> Vec<CostQuality> {
    let mut pts: Vec<CostQuality> = points
        .iter()
        .copied()
        .filter(|p| p.cost.is_finite() && p.quality.is_finite())
        .collect();
    pts.sort_by(|a, b| {
        a.cost
            .total_cmp(&b.cost)
            .then(b.quality.total_cmp(&a.quality))
    });
    pts.dedup_by(|b, a| a.cost == b.cost);
    let mut hull: Vec<CostQuality> = Vec::with_capacity(pts.len());
    for p in pts {
        while hull.len() >= 2 {
            let (o, a) = (hull[hull.len() - 2], hull[hull.len() - 1]);
            let cross = (a.cost - o.cost) * (p.quality - o.quality)
                - (a.quality - o.quality) * (p.cost - o.cost);
            if cross >= 0.0 {
                hull.pop();
            } else {
                break;
            }
        }
        hull.push(p);
    }
    let best = hull
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.quality.total_cmp(&b.1.quality).then(b.0.cmp(&a.0)))
        .map(|(i, _)| i);
    if let Some(i) = best {
        hull.truncate(i + 1);
    }
    hull
}

/// R̃(c): the best quality reachable at cost `c` on the hull (`None` below the cheapest point).
pub fn hull_quality_at(hull: &[CostQuality], c: f64) -> Option<f64> {
    let first = hull.first()?;
    if c < first.cost {
        return None;
    }
    for w in hull.windows(2) {
        if c <= w[1].cost {
            let t = (c - w[0].cost) / (w[1].cost - w[0].cost);
            return Some(w[0].quality + t * (w[1].quality - w[0].quality));
        }
    }
    hull.last().map(|p| p.quality)
}

/// RouterBench's AIQ of a point set, integrated over the set's own cost range
/// `[c_min, c_max]`; `None` for fewer than two distinct costs.
pub fn aiq(points: &[CostQuality]) -> Option<f64> {
    let hull = non_decreasing_hull(points);
    let c_min = points.iter().map(|p| p.cost).fold(f64::INFINITY, f64::min);
    let c_max = points
        .iter()
        .map(|p| p.cost)
        .fold(f64::NEG_INFINITY, f64::max);
    if c_max.is_nan() || c_min.is_nan() || c_max <= c_min {
        return None;
    }
    let mut area: f64 = hull
        .windows(2)
        .map(|w| (w[1].cost - w[0].cost) * (w[0].quality + w[1].quality) / 2.0)
        .sum();
    let last = hull.last()?;
    area += (c_max - last.cost) * last.quality;
    Some(area / (c_max - c_min))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: f64, g: f64) -> PgrPoint {
        PgrPoint {
            strong_share: s,
            pgr: g,
        }
    }

    fn cq(cost: f64, quality: f64) -> CostQuality {
        CostQuality { cost, quality }
    }

    #[test]
    fn pgr_formula() {
        assert!((pgr(0.7, 0.6, 0.8).unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(pgr(0.5, 0.5, 0.5), None);
    }

    #[test]
    fn apgr_of_random_router_is_half() {
        assert!((apgr(&[p(0.5, 0.5)]) - 0.5).abs() < 1e-12);
        assert!((apgr(&[]) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn apgr_by_hand() {
        // Curve (0,0) (0.2,0.6) (0.5,0.9) (1,1):
        // 0.2*0.3 + 0.3*0.75 + 0.5*0.95 = 0.06 + 0.225 + 0.475 = 0.76.
        let a = apgr(&[p(0.5, 0.9), p(0.2, 0.6), p(0.2, 0.4)]);
        assert!((a - 0.76).abs() < 1e-12, "{a}");
    }

    #[test]
    fn cpt_by_hand() {
        let pts = [p(0.2, 0.6), p(0.5, 0.9)];
        // 50%: on (0,0)-(0.2,0.6): 0.2 * 0.5/0.6 = 0.16667.
        assert!((cpt(&pts, 0.5).unwrap() - 0.2 * 0.5 / 0.6).abs() < 1e-12);
        // 80%: on (0.2,0.6)-(0.5,0.9): 0.2 + 0.3 * (0.2/0.3) = 0.4.
        assert!((cpt(&pts, 0.8).unwrap() - 0.4).abs() < 1e-12);
        assert_eq!(cpt(&pts, 1.5), None);
    }

    #[test]
    fn aiq_by_hand() {
        // Straight line from (0,0) to (1,1): 0.5.
        assert!((aiq(&[cq(0.0, 0.0), cq(1.0, 1.0)]).unwrap() - 0.5).abs() < 1e-12);
        // (0,0) (0.5,1) (1,0.5): hull rises to (0.5,1) then stays flat: 0.25 + 0.5 = 0.75.
        assert!((aiq(&[cq(0.0, 0.0), cq(0.5, 1.0), cq(1.0, 0.5)]).unwrap() - 0.75).abs() < 1e-12);
        // A dominated interior point (0.5, 0.2) is below the chord and does not count.
        assert!((aiq(&[cq(0.0, 0.0), cq(0.5, 0.2), cq(1.0, 1.0)]).unwrap() - 0.5).abs() < 1e-12);
        // Costs 2..6, points (2,0.4) (4,0.8) (6,0.9): (2*0.6 + 2*0.85) / 4 = 0.725.
        assert!((aiq(&[cq(2.0, 0.4), cq(6.0, 0.9), cq(4.0, 0.8)]).unwrap() - 0.725).abs() < 1e-12);
        assert_eq!(aiq(&[cq(1.0, 0.5)]), None);
    }

    #[test]
    fn hull_quality_interpolates() {
        let hull = non_decreasing_hull(&[cq(0.0, 0.2), cq(2.0, 0.6)]);
        assert!((hull_quality_at(&hull, 1.0).unwrap() - 0.4).abs() < 1e-12);
        assert_eq!(hull_quality_at(&hull, 3.0), Some(0.6));
        assert_eq!(hull_quality_at(&hull, -1.0), None);
    }
}
