//! `latency_aware`: the modelRef with the lowest latency percentiles (the seed's
//! `pkg/selection/latency_aware.go`, `LatencyAwareSelector.Select`).
//!
//! A candidate is eligible when it has an observation of every configured metric; its score
//! is the mean over those metrics of `value / min value among the eligible` (1 is the
//! fastest; lower is better). Without eligible candidates, the first modelRef.

use super::Choice;
use crate::config::LatencyAwareSettings;

/// One candidate's percentiles, ms.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Latencies {
    /// The TPOT percentile, if observed.
    pub tpot_ms: Option<f64>,
    /// The TTFT percentile, if observed.
    pub ttft_ms: Option<f64>,
}

/// A decision's percentiles (0: not used; validation keeps the others in 1..=100).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencyAwareParams {
    /// TPOT percentile.
    pub tpot_percentile: u8,
    /// TTFT percentile.
    pub ttft_percentile: u8,
}

impl LatencyAwareParams {
    /// The settings of a decision's block.
    pub fn of(block: &LatencyAwareSettings) -> Self {
        let p = |v: i64| {
            u8::try_from(v)
                .ok()
                .filter(|v| (1..=100).contains(v))
                .unwrap_or(0)
        };
        LatencyAwareParams {
            tpot_percentile: p(block.tpot_percentile),
            ttft_percentile: p(block.ttft_percentile),
        }
    }

    /// Chooses among `candidates` (modelRefs order).
    pub fn choose(&self, candidates: &[Latencies]) -> Choice {
        let (tpot, ttft) = (self.tpot_percentile > 0, self.ttft_percentile > 0);
        if !tpot && !ttft {
            return first(candidates.len(), "no latency percentile configured");
        }
        let eligible =
            |c: &Latencies| (!tpot || c.tpot_ms.is_some()) && (!ttft || c.ttft_ms.is_some());
        let min = |f: fn(&Latencies) -> Option<f64>| {
            candidates
                .iter()
                .filter(|c| eligible(c))
                .filter_map(f)
                .fold(f64::INFINITY, f64::min)
        };
        let (min_tpot, min_ttft) = (min(|c| c.tpot_ms), min(|c| c.ttft_ms));
        let ratio = |v: Option<f64>, min: f64| v.unwrap_or(0.0) / if min > 0.0 { min } else { 1.0 };
        let scores: Vec<Option<f64>> = candidates
            .iter()
            .map(|c| {
                eligible(c).then(|| {
                    let parts = [
                        (tpot, ratio(c.tpot_ms, min_tpot)),
                        (ttft, ratio(c.ttft_ms, min_ttft)),
                    ];
                    let used: Vec<f64> = parts
                        .iter()
                        .filter(|(on, _)| *on)
                        .map(|(_, r)| *r)
                        .collect();
                    used.iter().sum::<f64>() / used.len() as f64
                })
            })
            .collect();
        let (mut best, mut best_score, mut second) = (None, f64::MAX, f64::MAX);
        for (i, s) in scores.iter().enumerate() {
            let Some(s) = *s else { continue };
            if s < best_score {
                second = best_score;
                best_score = s;
                best = Some(i);
            } else if s < second {
                second = s;
            }
        }
        let Some(best) = best else {
            return first(
                candidates.len(),
                "no latency observations; the first modelRef",
            );
        };
        let confidence = if second == f64::MAX || second <= 0.0 {
            1.0
        } else {
            (second - best_score).max(0.0) / second
        };
        Choice {
            index: best,
            scores: scores.iter().map(|s| s.map(|s| s as f32)).collect(),
            confidence: confidence as f32,
            reason: self.describe(),
        }
    }

    fn describe(&self) -> String {
        let parts: Vec<String> = [
            ("TPOT", self.tpot_percentile),
            ("TTFT", self.ttft_percentile),
        ]
        .into_iter()
        .filter(|(_, p)| *p > 0)
        .map(|(m, p)| format!("{m} p{p}"))
        .collect();
        format!("latency_aware: {}", parts.join(" + "))
    }
}

/// The seed's `defaultToFirst`: the first modelRef scored 1, confidence 0.
fn first(n: usize, reason: &str) -> Choice {
    let mut scores = vec![None; n];
    if let Some(s) = scores.first_mut() {
        *s = Some(1.0);
    }
    Choice {
        index: 0,
        scores,
        confidence: 0.0,
        reason: format!("latency_aware: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both() -> LatencyAwareParams {
        LatencyAwareParams::of(&LatencyAwareSettings {
            tpot_percentile: 90,
            ttft_percentile: 95,
            description: None,
        })
    }

    fn l(tpot: Option<f64>, ttft: Option<f64>) -> Latencies {
        Latencies {
            tpot_ms: tpot,
            ttft_ms: ttft,
        }
    }

    /// `normalizedLatencyScore`: a (20/10 + 300/300)/2 = 1.5, b (10/10 + 600/300)/2 = 1.5,
    /// c (40/10 + 300/300)/2 = 2.5; a ties b and, first, wins; confidence (1.5 − 1.5)/1.5 = 0.
    #[test]
    fn mean_of_ratios_to_the_fastest() {
        let c = both().choose(&[
            l(Some(20.0), Some(300.0)),
            l(Some(10.0), Some(600.0)),
            l(Some(40.0), Some(300.0)),
            l(Some(1.0), None),
        ]);
        assert_eq!(c.index, 0);
        assert_eq!(
            c.scores,
            vec![Some(1.5), Some(1.5), Some(2.5), None],
            "d lacks TTFT: not eligible"
        );
        assert_eq!(c.confidence, 0.0);
    }

    #[test]
    fn one_metric_confidence_and_defaults() {
        let tpot = LatencyAwareParams {
            tpot_percentile: 50,
            ttft_percentile: 0,
        };
        let c = tpot.choose(&[l(Some(30.0), None), l(Some(10.0), Some(1.0))]);
        // scores 3 and 1: confidence (3 − 1)/3
        assert_eq!((c.index, c.scores.clone()), (1, vec![Some(3.0), Some(1.0)]));
        assert!((c.confidence - 2.0 / 3.0).abs() < 1e-6);
        assert_eq!(c.reason, "latency_aware: TPOT p50");
        let none = tpot.choose(&[l(None, Some(1.0)), l(None, None)]);
        assert_eq!(
            (none.index, none.confidence, none.scores.clone()),
            (0, 0.0, vec![Some(1.0), None])
        );
        let lone = tpot.choose(&[l(None, None), l(Some(5.0), None)]);
        assert_eq!((lone.index, lone.confidence), (1, 1.0));
    }
}
