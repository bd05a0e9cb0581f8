//! `multi_factor`: the modelRef with the best weighted quality, latency, cost and load,
//! after dropping those over an SLO (the seed's `pkg/selection/multi_factor.go`,
//! `MultiFactorSelector.Select`, with `buildMultiFactorSelectionConfig` for the settings).
//!
//! Each factor is min-max normalised over the kept candidates that have it (quality higher
//! is better; latency, cost and load lower), 0.5 when all values are equal, 0 for a
//! candidate without it; a factor no kept candidate has adds nothing.

use super::Choice;
use crate::config::{FactorWeights, MultiFactorSettings, Slo};

/// What the selector knows of one candidate.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FactorInputs {
    /// Model card `quality_score`, when above 0.
    pub quality: Option<f64>,
    /// `pricing.prompt_per_1m`, when above 0 (a free model has no cost data, as in the seed).
    pub cost: Option<f64>,
    /// Time-per-output-token percentile, ms.
    pub tpot_ms: Option<f64>,
    /// Time-to-first-token percentile, ms.
    pub ttft_ms: Option<f64>,
    /// Requests in flight.
    pub in_flight: u64,
}

impl FactorInputs {
    /// The latency factor: the TPOT percentile, else the TTFT one (as the seed mixes them).
    fn latency(&self) -> Option<f64> {
        self.tpot_ms.or(self.ttft_ms)
    }

    fn breaks(&self, slo: &Slo) -> bool {
        let over = |v: Option<f64>, max: f64| max > 0.0 && v.is_some_and(|v| v > max);
        over(self.tpot_ms, slo.max_tpot_ms)
            || over(self.ttft_ms, slo.max_ttft_ms)
            || over(self.cost, slo.max_cost_per_1m)
            || (slo.max_inflight > 0 && self.in_flight > slo.max_inflight)
    }
}

/// Reads one factor of a candidate.
type Factor = fn(&FactorInputs) -> Option<f64>;

/// What to do when every candidate breaks an SLO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnNoCandidates {
    /// The lowest prompt price (unknown or free counts as the highest).
    Cheapest,
    /// The first modelRef.
    First,
    /// An error in the seed's selector, which its request path turns into the first modelRef.
    Fail,
}

/// One decision's settings, normalised as the seed's `NewMultiFactorSelector` does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MultiFactorParams {
    /// Weights summing to 1.
    pub weights: FactorWeights,
    /// Ceilings (0: none).
    pub slo: Slo,
    /// The latency percentile read, 1..=100.
    pub percentile: u8,
    /// The no-candidate policy.
    pub on_no_candidates: OnNoCandidates,
}

impl MultiFactorParams {
    /// The settings of a decision's block (`None`: no block, the seed's defaults).
    pub fn of(block: Option<&MultiFactorSettings>) -> Self {
        let even = FactorWeights {
            quality: 0.25,
            latency: 0.25,
            cost: 0.25,
            load: 0.25,
        };
        let raw = block.and_then(|b| b.weights).unwrap_or(even);
        let clamp = |w: f64| if w > 0.0 { w } else { 0.0 };
        let w = [raw.quality, raw.latency, raw.cost, raw.load].map(clamp);
        let sum: f64 = w.iter().sum();
        let weights = if sum > 0.0 {
            FactorWeights {
                quality: w[0] / sum,
                latency: w[1] / sum,
                cost: w[2] / sum,
                load: w[3] / sum,
            }
        } else {
            even
        };
        let p = block.and_then(|b| b.latency_percentile).unwrap_or(0);
        let on_none = block.and_then(|b| b.on_no_candidates.as_deref());
        MultiFactorParams {
            weights,
            slo: block.and_then(|b| b.slo).unwrap_or_default(),
            percentile: if (1..=100).contains(&p) { p as u8 } else { 95 },
            on_no_candidates: match on_none.map(str::to_lowercase).as_deref() {
                Some("first") => OnNoCandidates::First,
                Some("fail") => OnNoCandidates::Fail,
                _ => OnNoCandidates::Cheapest,
            },
        }
    }

    /// Chooses among `candidates` (modelRefs order).
    pub fn choose(&self, candidates: &[FactorInputs]) -> Choice {
        let kept: Vec<usize> = (0..candidates.len())
            .filter(|&i| !candidates[i].breaks(&self.slo))
            .collect();
        if kept.is_empty() {
            return self.no_candidates(candidates);
        }
        let scores = self.scores(candidates, &kept);
        let (mut best, mut best_score, mut second) =
            (kept[0], f64::NEG_INFINITY, f64::NEG_INFINITY);
        for &i in &kept {
            let s = scores[i].expect("kept candidates are scored");
            if s > best_score {
                second = best_score;
                best_score = s;
                best = i;
            } else if s > second {
                second = s;
            }
        }
        let confidence = if second > f64::NEG_INFINITY && best_score > 0.0 {
            ((best_score - second).max(0.0) / best_score + 0.5).min(1.0)
        } else if kept.len() == 1 {
            1.0
        } else {
            0.5
        };
        let w = self.weights;
        Choice {
            index: best,
            scores: scores.iter().map(|s| s.map(|s| s as f32)).collect(),
            confidence: confidence as f32,
            reason: format!(
                "multi_factor: weights q={:.2} l={:.2} c={:.2} L={:.2}, latency p{}, kept {}, dropped {}",
                w.quality, w.latency, w.cost, w.load, self.percentile, kept.len(), candidates.len() - kept.len()
            ),
        }
    }

    /// Each kept candidate's weighted score (`None` for dropped ones).
    fn scores(&self, c: &[FactorInputs], kept: &[usize]) -> Vec<Option<f64>> {
        let w = self.weights;
        let factors: [(f64, bool, Factor); 4] = [
            (w.quality, false, |f| f.quality),
            (w.latency, true, |f| f.latency()),
            (w.cost, true, |f| f.cost),
            (w.load, true, |f| Some(f.in_flight as f64)),
        ];
        let mut scores = vec![None; c.len()];
        for &i in kept {
            scores[i] = Some(0.0);
        }
        for (weight, inverted, value) in factors {
            let present: Vec<f64> = kept.iter().filter_map(|&i| value(&c[i])).collect();
            if weight <= 0.0 || present.is_empty() {
                continue;
            }
            let min = present.iter().copied().fold(f64::INFINITY, f64::min);
            let max = present.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            for &i in kept {
                let norm = match value(&c[i]) {
                    None => 0.0,
                    Some(_) if max - min <= 0.0 => 0.5,
                    Some(v) if inverted => 1.0 - (v - min) / (max - min),
                    Some(v) => (v - min) / (max - min),
                };
                *scores[i].as_mut().expect("kept") += weight * norm;
            }
        }
        scores
    }

    /// Every candidate broke an SLO (`applyNoCandidatePolicy`).
    fn no_candidates(&self, c: &[FactorInputs]) -> Choice {
        let (index, policy) = match self.on_no_candidates {
            OnNoCandidates::Fail => (0, "fail (the seed routes to the first modelRef)"),
            OnNoCandidates::First => (0, "first"),
            OnNoCandidates::Cheapest => {
                let price = |i: usize| c[i].cost.unwrap_or(f64::INFINITY);
                let cheapest = (1..c.len()).fold(0, |b, i| if price(i) < price(b) { i } else { b });
                (cheapest, "cheapest")
            }
        };
        Choice {
            index,
            scores: vec![None; c.len()],
            confidence: 0.0,
            reason: format!("multi_factor: every candidate is over an SLO; {policy}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(quality: f64, cost: f64, tpot: f64, in_flight: u64) -> FactorInputs {
        FactorInputs {
            quality: Some(quality),
            cost: Some(cost),
            tpot_ms: Some(tpot),
            ttft_ms: None,
            in_flight,
        }
    }

    /// Worked from `MultiFactorSelector.Select` with the default weights (0.25 each):
    /// a: quality 0.9 (norm 1), cost 2 (norm 0), tpot 50 (norm 0.5), load 0 (norm 1) → 0.625;
    /// b: quality 0.5 (0), cost 1 (1), tpot 10 (1), load 2 (0) → 0.5;
    /// c: quality 0.7 (0.5), cost 1.5 (0.5), tpot 90 (0), load 1 (0.5) → 0.375.
    #[test]
    fn weighted_normalised_factors_by_hand() {
        let p = MultiFactorParams::of(None);
        let c = p.choose(&[
            inputs(0.9, 2.0, 50.0, 0),
            inputs(0.5, 1.0, 10.0, 2),
            inputs(0.7, 1.5, 90.0, 1),
        ]);
        assert_eq!(c.index, 0);
        let s: Vec<f32> = c.scores.iter().map(|s| s.unwrap()).collect();
        for (got, want) in s.iter().zip([0.625, 0.5, 0.375]) {
            assert!((got - want).abs() < 1e-6, "{s:?}");
        }
        // confidence: (0.625 − 0.5) / 0.625 + 0.5 = 0.7
        assert!((c.confidence - 0.7).abs() < 1e-6, "{}", c.confidence);
    }

    /// An SLO drops a candidate; missing data never does; a missing factor scores 0.
    #[test]
    fn slo_filter_and_missing_factors() {
        let block = MultiFactorSettings {
            weights: Some(FactorWeights {
                quality: 1.0,
                cost: 1.0,
                ..Default::default()
            }),
            slo: Some(Slo {
                max_tpot_ms: 40.0,
                ..Default::default()
            }),
            ..Default::default()
        };
        let p = MultiFactorParams::of(Some(&block));
        assert_eq!(
            (p.weights.quality, p.weights.latency, p.weights.load),
            (0.5, 0.0, 0.0)
        );
        let no_quality = FactorInputs {
            quality: None,
            ..inputs(0.0, 1.0, 10.0, 0)
        };
        let c = p.choose(&[
            inputs(0.9, 3.0, 50.0, 0),
            no_quality,
            inputs(0.6, 2.0, 20.0, 0),
        ]);
        // kept b, c: quality only c has (0.5·0.5 = 0.25, b 0); cost b 1 → 0.5, c 2 → 0.
        assert_eq!(c.scores, vec![None, Some(0.5), Some(0.25)]);
        assert_eq!(c.index, 1);
    }

    #[test]
    fn no_candidate_policies() {
        let slo = Slo {
            max_cost_per_1m: 0.5,
            ..Default::default()
        };
        let all_over = [
            inputs(0.9, 3.0, 1.0, 0),
            inputs(0.9, 1.0, 1.0, 0),
            inputs(0.9, 1.0, 1.0, 0),
        ];
        let with = |policy: &str| {
            let block = MultiFactorSettings {
                slo: Some(slo),
                on_no_candidates: Some(policy.into()),
                ..Default::default()
            };
            MultiFactorParams::of(Some(&block)).choose(&all_over)
        };
        assert_eq!(with("cheapest").index, 1, "ties keep the earliest");
        assert_eq!(with("FIRST").index, 0);
        assert_eq!((with("fail").index, with("fail").confidence), (0, 0.0));
    }

    #[test]
    fn weights_and_percentile_normalised_as_the_seed() {
        let block = MultiFactorSettings {
            weights: Some(FactorWeights {
                quality: -1.0,
                ..Default::default()
            }),
            latency_percentile: Some(150),
            ..Default::default()
        };
        let p = MultiFactorParams::of(Some(&block));
        assert_eq!(
            (p.weights.quality, p.weights.load, p.percentile),
            (0.25, 0.25, 95)
        );
        // A lone candidate: every factor at 0.5, confidence 1.
        let c = p.choose(&[inputs(0.5, 1.0, 1.0, 0)]);
        assert_eq!((c.index, c.confidence, c.scores[0]), (0, 1.0, Some(0.5)));
    }
}
