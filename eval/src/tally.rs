//! Streaming accumulators of a replay: everything a report needs from each request, kept in
//! memory that does not grow with the log (sums, counts, confusion cells, quantile sketches).

use std::collections::BTreeMap;

use crate::classify::{Classification, ConfusionCounter, NO_PREDICTION};
use crate::outcomes::{Interner, Outcome, NONE_ID};
use crate::quantiles::QuantileSketch;
use crate::report::{BreakdownRow, PolicyMetrics};
use crate::scoring::{oracle_choice, CORRECT_AT};
use crate::stats::Percentiles;

/// Running sums of a sequence of outcomes: what [`PolicyMetrics`] reports.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OutcomeSums {
    requests: u64,
    scored: u64,
    quality: f64,
    correct: u64,
    cost: f64,
    timed: u64,
    latency_ms: f64,
}

impl OutcomeSums {
    /// Counts one outcome (NaN quality: unscored; NaN latency: unknown).
    pub fn add(&mut self, o: Outcome) {
        self.requests += 1;
        self.cost += o.cost;
        if !o.quality.is_nan() {
            self.scored += 1;
            self.quality += o.quality;
            self.correct += u64::from(o.quality >= CORRECT_AT);
        }
        if !o.latency_ms.is_nan() {
            self.timed += 1;
            self.latency_ms += o.latency_ms;
        }
    }

    /// Adds the outcomes counted by `other`.
    pub fn merge(&mut self, other: &OutcomeSums) {
        self.requests += other.requests;
        self.scored += other.scored;
        self.quality += other.quality;
        self.correct += other.correct;
        self.cost += other.cost;
        self.timed += other.timed;
        self.latency_ms += other.latency_ms;
    }

    /// Outcomes counted.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// The metrics of the outcomes counted, under `name`.
    pub fn metrics(&self, name: &str) -> PolicyMetrics {
        let (n, scored) = (self.requests, self.scored);
        PolicyMetrics {
            name: name.into(),
            requests: n,
            scored,
            unscored: n - scored,
            mean_quality: (scored > 0).then(|| self.quality / scored as f64),
            correct_rate: (scored > 0).then(|| self.correct as f64 / scored as f64),
            total_cost: self.cost,
            cost_per_1k: if n > 0 {
                self.cost / n as f64 * 1000.0
            } else {
                0.0
            },
            mean_model_latency_ms: (self.timed > 0).then(|| self.latency_ms / self.timed as f64),
        }
    }
}

/// Sums of one row of a breakdown table.
#[derive(Debug, Clone, Copy, Default)]
struct GroupSums {
    requests: u64,
    scored: u64,
    quality: f64,
    cost: f64,
    /// Requests with a category label, and those whose domain signal found it.
    labelled: u64,
    hits: u64,
}

/// A breakdown table being filled: sums per key id (an interned string or a model index).
#[derive(Debug, Clone, Default)]
struct Groups(BTreeMap<u32, GroupSums>);

impl Groups {
    fn add(&mut self, key: u32, o: Outcome, hit: Option<bool>) {
        let g = self.0.entry(key).or_default();
        g.requests += 1;
        g.cost += o.cost;
        if !o.quality.is_nan() {
            g.scored += 1;
            g.quality += o.quality;
        }
        if let Some(hit) = hit {
            g.labelled += 1;
            g.hits += u64::from(hit);
        }
    }

    /// The table's rows sorted by key name (`name` of a key id; `None` shows as `(none)`),
    /// shares of `total` requests; the hit rate only `with_accuracy`.
    fn rows(
        &self,
        name: impl Fn(u32) -> Option<String>,
        total: u64,
        with_accuracy: bool,
    ) -> Vec<BreakdownRow> {
        let mut rows: Vec<BreakdownRow> = self
            .0
            .iter()
            .map(|(&id, g)| BreakdownRow {
                key: name(id).unwrap_or_else(|| NO_PREDICTION.to_string()),
                requests: g.requests,
                share: g.requests as f64 / total.max(1) as f64,
                mean_quality: (g.scored > 0).then(|| g.quality / g.scored as f64),
                unscored: g.requests - g.scored,
                total_cost: g.cost,
                accuracy: (with_accuracy && g.labelled > 0)
                    .then(|| g.hits as f64 / g.labelled as f64),
            })
            .collect();
        rows.sort_by(|a, b| a.key.cmp(&b.key));
        rows
    }
}

/// One policy's routing of one request, as [`PolicyTally::add`] counts it (strings interned).
#[derive(Debug, Clone, Copy)]
pub struct TalliedRoute {
    /// The request's category label ([`NONE_ID`]: none).
    pub category: u32,
    /// The request's expected decision ([`NONE_ID`]: none).
    pub expected_decision: u32,
    /// Chosen model (index into the replay's models).
    pub model: usize,
    /// Chosen decision ([`NONE_ID`]: the default route).
    pub decision: u32,
    /// The domain signal's top category ([`NONE_ID`]: no match, or no domain signal).
    pub predicted_category: u32,
    /// Time in the router, µs.
    pub router_us: f64,
    /// Outcome of the chosen model (reasoning applied).
    pub outcome: Outcome,
}

/// Everything a report says about one policy's run, accumulated request by request.
#[derive(Debug, Clone)]
pub struct PolicyTally {
    outcomes: OutcomeSums,
    calls: Vec<u64>,
    router_us: QuantileSketch,
    latency_ms: QuantileSketch,
    decisions: ConfusionCounter,
    /// Category label against the domain signal's top category (policies with that signal).
    signal: Option<ConfusionCounter>,
    by_category: Groups,
    by_model: Groups,
    by_decision: Groups,
}

impl PolicyTally {
    /// Nothing counted yet, over `models` models; `uses_domain`: the policy computes the
    /// domain signal, so its accuracy is scored.
    pub fn new(models: usize, uses_domain: bool) -> Self {
        PolicyTally {
            outcomes: OutcomeSums::default(),
            calls: vec![0; models],
            router_us: QuantileSketch::new(),
            latency_ms: QuantileSketch::new(),
            decisions: ConfusionCounter::new(),
            signal: uses_domain.then(ConfusionCounter::new),
            by_category: Groups::default(),
            by_model: Groups::default(),
            by_decision: Groups::default(),
        }
    }

    /// Counts one routed request (`strings` resolves its interned ids).
    pub fn add(&mut self, r: &TalliedRoute, strings: &Interner) {
        self.outcomes.add(r.outcome);
        self.calls[r.model] += 1;
        self.router_us.add(r.router_us);
        self.latency_ms.add(r.outcome.latency_ms);
        if let Some(truth) = strings.name(r.expected_decision) {
            self.decisions.add(truth, strings.name(r.decision));
        }
        let labelled = r.category != NONE_ID;
        if let (Some(c), Some(truth)) = (&mut self.signal, strings.name(r.category)) {
            c.add(truth, strings.name(r.predicted_category));
        }
        let hit = (labelled && self.signal.is_some()).then_some(r.category == r.predicted_category);
        self.by_category.add(r.category, r.outcome, hit);
        self.by_model.add(r.model as u32, r.outcome, None);
        self.by_decision.add(r.decision, r.outcome, None);
    }

    /// Requests counted.
    pub fn requests(&self) -> u64 {
        self.outcomes.requests()
    }

    /// The run's metrics, under `name`.
    pub fn metrics(&self, name: &str) -> PolicyMetrics {
        self.outcomes.metrics(name)
    }

    /// Calls per model, as shares of all requests.
    pub fn model_shares(&self) -> Vec<f64> {
        shares(&self.calls)
    }

    /// Time in the router per request, µs.
    pub fn router_overhead_us(&self) -> Percentiles {
        self.router_us.percentiles()
    }

    /// Latency of the chosen model where known, ms.
    pub fn model_latency_ms(&self) -> Percentiles {
        self.latency_ms.percentiles()
    }

    /// Requests whose chosen model's latency is unknown.
    pub fn unknown_latency(&self) -> u64 {
        self.requests() - self.latency_ms.count()
    }

    /// Chosen against expected decision, over requests that name one.
    pub fn decision_accuracy(&self) -> Option<Classification> {
        self.decisions.finish()
    }

    /// The domain signal against the category label (`None` without that signal or labels).
    pub fn signal_accuracy(&self) -> Option<Classification> {
        self.signal.as_ref().and_then(ConfusionCounter::finish)
    }

    /// Per-category (empty when no request has a category), per-model and per-decision
    /// tables; `models` names the model indices.
    pub fn breakdowns(&self, strings: &Interner, models: &[String]) -> [Vec<BreakdownRow>; 3] {
        let n = self.requests();
        let named = |id: u32| strings.name(id).map(str::to_string);
        let per_category = if self.by_category.0.keys().all(|&k| k == NONE_ID) {
            Vec::new()
        } else {
            self.by_category.rows(named, n, self.signal.is_some())
        };
        [
            per_category,
            self.by_model
                .rows(|m| models.get(m as usize).cloned(), n, false),
            self.by_decision.rows(named, n, false),
        ]
    }
}

/// `counts` as shares of their sum.
fn shares(counts: &[u64]) -> Vec<f64> {
    let n = counts.iter().sum::<u64>().max(1) as f64;
    counts.iter().map(|&c| c as f64 / n).collect()
}

/// What the baselines need from the outcome of every model on every request.
#[derive(Debug, Clone)]
pub struct TableTally {
    singles: Vec<OutcomeSums>,
    /// The oracle's picks on requests where some model is scored.
    oracle: OutcomeSums,
    oracle_calls: Vec<u64>,
    /// Per model, its outcomes on requests where no model is scored (the oracle's fallback
    /// model is only known at the end).
    unscored: Vec<OutcomeSums>,
}

impl TableTally {
    /// Nothing counted yet, over `models` models.
    pub fn new(models: usize) -> Self {
        TableTally {
            singles: vec![OutcomeSums::default(); models],
            oracle: OutcomeSums::default(),
            oracle_calls: vec![0; models],
            unscored: vec![OutcomeSums::default(); models],
        }
    }

    /// Counts one request: the outcome of every model, in model order.
    pub fn add(&mut self, row: &[Outcome]) {
        for (s, &o) in self.singles.iter_mut().zip(row) {
            s.add(o);
        }
        match oracle_choice(row) {
            Some(m) => {
                self.oracle.add(row[m]);
                self.oracle_calls[m] += 1;
            }
            None => {
                for (s, &o) in self.unscored.iter_mut().zip(row) {
                    s.add(o);
                }
            }
        }
    }

    /// Always-m metrics for every model (`names` in model order).
    pub fn singles(&self, names: &[String]) -> Vec<PolicyMetrics> {
        self.singles
            .iter()
            .zip(names)
            .map(|(s, n)| s.metrics(&format!("always:{n}")))
            .collect()
    }

    /// The oracle (per request the best scored model, cheapest among ties; `fallback` where no
    /// model is scored) and its call shares per model.
    pub fn oracle(&self, fallback: usize) -> (PolicyMetrics, Vec<f64>) {
        let mut sums = self.oracle;
        sums.merge(&self.unscored[fallback]);
        let mut calls = self.oracle_calls.clone();
        calls[fallback] += self.unscored[fallback].requests();
        (sums.metrics("oracle"), shares(&calls))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(quality: f64, cost: f64, latency_ms: f64) -> Outcome {
        Outcome {
            quality,
            cost,
            latency_ms,
        }
    }

    #[test]
    fn outcome_sums_by_hand() {
        let mut s = OutcomeSums::default();
        for x in [
            o(1.0, 2.0, 100.0),
            o(f64::NAN, 4.0, f64::NAN),
            o(0.25, 0.0, 300.0),
        ] {
            s.add(x);
        }
        let m = s.metrics("p");
        assert_eq!((m.requests, m.scored, m.unscored), (3, 2, 1));
        assert_eq!(m.mean_quality, Some(0.625));
        assert_eq!(m.correct_rate, Some(0.5));
        assert_eq!((m.total_cost, m.cost_per_1k), (6.0, 2000.0));
        assert_eq!(m.mean_model_latency_ms, Some(200.0));
        let mut twice = s;
        twice.merge(&s);
        assert_eq!(twice.metrics("p").requests, 6);
        assert_eq!(twice.metrics("p").mean_quality, Some(0.625));
        let empty = OutcomeSums::default().metrics("e");
        assert_eq!((empty.mean_quality, empty.cost_per_1k), (None, 0.0));
    }

    #[test]
    fn the_oracle_falls_back_where_nothing_is_scored() {
        let mut t = TableTally::new(2);
        t.add(&[o(0.0, 1.0, 10.0), o(1.0, 5.0, 20.0)]);
        t.add(&[o(1.0, 1.0, 10.0), o(1.0, 5.0, 20.0)]);
        t.add(&[o(f64::NAN, 1.0, 10.0), o(f64::NAN, 5.0, 20.0)]);
        // Picks: b (better), a (tie, cheaper), then the fallback.
        let (m, shares) = t.oracle(0);
        assert_eq!((m.requests, m.scored, m.mean_quality), (3, 2, Some(1.0)));
        assert_eq!(m.total_cost, 7.0);
        assert_eq!(shares, vec![2.0 / 3.0, 1.0 / 3.0]);
        let (m, shares) = t.oracle(1);
        assert_eq!(m.total_cost, 11.0);
        assert_eq!(shares, vec![1.0 / 3.0, 2.0 / 3.0]);
        let singles = t.singles(&["a".into(), "b".into()]);
        assert_eq!(singles[1].name, "always:b");
        assert_eq!(
            (singles[0].mean_quality, singles[1].total_cost),
            (Some(0.5), 15.0)
        );
    }

    #[test]
    fn breakdowns_confusions_and_latency_by_hand() {
        let mut strings = Interner::new();
        let (math, law) = (strings.id(Some("math")), strings.id(Some("law")));
        let route = |category, model, predicted, quality, latency_ms| TalliedRoute {
            category,
            expected_decision: category,
            model,
            decision: predicted,
            predicted_category: predicted,
            router_us: 5.0,
            outcome: o(quality, 0.5, latency_ms),
        };
        let mut t = PolicyTally::new(2, true);
        for r in [
            route(math, 0, math, 1.0, 100.0),
            route(math, 1, law, 0.0, f64::NAN),
            route(law, 1, law, f64::NAN, 300.0),
            route(NONE_ID, 0, NONE_ID, 1.0, 200.0),
        ] {
            t.add(&r, &strings);
        }
        assert_eq!(t.model_shares(), vec![0.5, 0.5]);
        assert_eq!(t.unknown_latency(), 1);
        assert_eq!(t.model_latency_ms().p50, 200.0);
        assert_eq!(t.router_overhead_us().max, 5.0);
        let signal = t.signal_accuracy().unwrap();
        assert_eq!((signal.n, signal.correct), (3, 2));
        assert_eq!(t.decision_accuracy().unwrap().n, 3);
        let [cat, model, decision] = t.breakdowns(&strings, &["a".into(), "b".into()]);
        let keys = |rows: &[BreakdownRow]| rows.iter().map(|r| r.key.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&cat), ["(none)", "law", "math"]);
        assert_eq!((cat[2].requests, cat[2].share), (2, 0.5));
        assert_eq!(
            (cat[2].mean_quality, cat[2].accuracy),
            (Some(0.5), Some(0.5))
        );
        assert_eq!((cat[1].unscored, cat[1].mean_quality), (1, None));
        assert_eq!(cat[0].accuracy, None);
        assert_eq!(keys(&model), ["a", "b"]);
        assert_eq!((model[1].total_cost, model[1].accuracy), (1.0, None));
        assert_eq!(keys(&decision), ["(none)", "law", "math"]);
        // No category anywhere: no category table.
        let mut t = PolicyTally::new(1, false);
        t.add(&route(NONE_ID, 0, NONE_ID, 1.0, 1.0), &strings);
        assert!(t.breakdowns(&strings, &["a".into()])[0].is_empty());
        assert!(t.signal_accuracy().is_none());
    }
}
