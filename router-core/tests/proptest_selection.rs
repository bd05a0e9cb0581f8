//! Property tests of the selection algorithms: whatever the candidates, settings and
//! observations, `router_dc`, `multi_factor` and `latency_aware` choose one of the candidates,
//! score each of them, report a confidence in [0, 1], and never panic; a latency percentile
//! lies within the window's observations.

use proptest::prelude::*;
use router_core::config::{FactorWeights, LatencyAwareSettings, MultiFactorSettings, Slo};
use router_core::selection::latency_aware::{Latencies, LatencyAwareParams};
use router_core::selection::multi_factor::{FactorInputs, MultiFactorParams};
use router_core::selection::router_dc::RouterDcParams;
use router_core::selection::stats::{LatencyMetric, ModelStats};
use router_core::selection::Choice;

fn ms() -> impl Strategy<Value = Option<f64>> {
    prop::option::of(0.001f64..10_000.0)
}

fn factor_inputs() -> impl Strategy<Value = FactorInputs> {
    (ms(), ms(), ms(), ms(), 0u64..100).prop_map(|(quality, cost, tpot_ms, ttft_ms, in_flight)| {
        FactorInputs {
            quality,
            cost,
            tpot_ms,
            ttft_ms,
            in_flight,
        }
    })
}

fn well_formed(c: &Choice, n: usize) {
    assert!(c.index < n, "{c:?}");
    assert_eq!(c.scores.len(), n, "{c:?}");
    assert!((0.0..=1.0).contains(&c.confidence), "{c:?}");
    assert!(c.scores.iter().flatten().all(|s| s.is_finite()), "{c:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn multi_factor_always_chooses_a_candidate(
        candidates in prop::collection::vec(factor_inputs(), 1..6),
        weights in prop::option::of((-1.0f64..2.0, -1.0f64..2.0, -1.0f64..2.0, -1.0f64..2.0)),
        slo in prop::option::of((0.0f64..100.0, 0.0f64..100.0, 0.0f64..5.0, 0u64..5)),
        percentile in prop::option::of(-5i64..120),
        policy in prop::option::of(prop::sample::select(vec!["cheapest", "first", "fail", "x"])),
    ) {
        let block = MultiFactorSettings {
            weights: weights.map(|(quality, latency, cost, load)| FactorWeights { quality, latency, cost, load }),
            slo: slo.map(|(max_tpot_ms, max_ttft_ms, max_cost_per_1m, max_inflight)| Slo { max_tpot_ms, max_ttft_ms, max_cost_per_1m, max_inflight }),
            latency_percentile: percentile,
            on_no_candidates: policy.map(str::to_owned),
        };
        let p = MultiFactorParams::of(Some(&block));
        let w = p.weights;
        prop_assert!((w.quality + w.latency + w.cost + w.load - 1.0).abs() < 1e-9);
        well_formed(&p.choose(&candidates), candidates.len());
    }

    #[test]
    fn latency_aware_always_chooses_a_candidate(
        candidates in prop::collection::vec((ms(), ms()), 1..6),
        tpot in 0i64..=100,
        ttft in 0i64..=100,
    ) {
        let p = LatencyAwareParams::of(&LatencyAwareSettings { tpot_percentile: tpot, ttft_percentile: ttft, description: None });
        let c: Vec<Latencies> = candidates.iter().map(|&(tpot_ms, ttft_ms)| Latencies { tpot_ms, ttft_ms }).collect();
        let choice = p.choose(&c);
        well_formed(&choice, c.len());
        // The winner is eligible with the lowest score, when any candidate is.
        if let Some(best) = choice.scores[choice.index] {
            prop_assert!(choice.scores.iter().flatten().all(|s| *s >= best));
        }
    }

    #[test]
    fn router_dc_always_chooses_a_candidate(
        query in prop::collection::vec(-1.0f32..1.0, 0..6),
        cards in prop::collection::vec(prop::option::of(prop::collection::vec(-1.0f32..1.0, 0..6)), 1..5),
        temperature in 0.01f64..2.0,
        min_similarity in 0.0f64..1.0,
    ) {
        let p = RouterDcParams { temperature, min_similarity, use_capabilities: true };
        let refs: Vec<Option<&[f32]>> = cards.iter().map(|c| c.as_deref()).collect();
        let choice = p.choose(&query, &refs);
        well_formed(&choice, cards.len());
        let sum: f32 = choice.scores.iter().flatten().sum();
        prop_assert!((sum - 1.0).abs() < 1e-4, "{choice:?}");
    }

    #[test]
    fn percentiles_lie_within_the_observations(
        values in prop::collection::vec(0.001f64..1e6, 3..50),
        p in 1u8..=100,
    ) {
        let stats = ModelStats::new();
        for v in &values {
            stats.record("m", LatencyMetric::Tpot, *v);
        }
        let got = stats.percentile("m", LatencyMetric::Tpot, p).unwrap();
        let (lo, hi) = values.iter().fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
        prop_assert!(got >= lo - 1e-9 && got <= hi + 1e-9, "{got} not in [{lo}, {hi}]");
    }
}
