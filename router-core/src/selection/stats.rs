//! What `latency_aware` and `multi_factor` read of the models at routing time: latency
//! observations and requests in flight, per model. `serve` records live ones; a replay fills
//! them from the log (or the config's latency profiles) before it routes.
//!
//! A window follows the seed's `pkg/latency/cache.go`: the last 1,000 observations and an
//! exponential moving average (weight 0.3 on the newest); a percentile is the average while
//! fewer than 3 observations exist, else linearly interpolated over the sorted window
//! (`computePercentile`). Values here are milliseconds (the seed keeps seconds; the
//! algorithms compare ratios and normalised values, and SLOs are in ms).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::config::RouterConfig;

/// Observations kept per model and metric.
pub const WINDOW: usize = 1000;

/// Weight of the newest observation in the moving average.
const EMA_WEIGHT: f64 = 0.3;

/// A latency metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyMetric {
    /// Time to first token.
    Ttft,
    /// Time per output token (end-to-end time over completion tokens, as the seed measures it).
    Tpot,
}

/// One model's observations of one metric.
#[derive(Debug, Clone, Default)]
struct Window {
    values: VecDeque<f64>,
    average: f64,
    last: f64,
}

impl Window {
    fn record(&mut self, ms: f64) {
        self.average = if self.values.is_empty() {
            ms
        } else {
            EMA_WEIGHT * ms + (1.0 - EMA_WEIGHT) * self.average
        };
        self.last = ms;
        if self.values.len() == WINDOW {
            self.values.pop_front();
        }
        self.values.push_back(ms);
    }

    fn percentile(&self, p: u8) -> Option<f64> {
        let n = self.values.len();
        if n == 0 || !(1..=100).contains(&p) {
            return None;
        }
        if n < 3 {
            return Some(if self.average > 0.0 {
                self.average
            } else {
                self.last
            });
        }
        let mut sorted: Vec<f64> = self.values.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let idx = f64::from(p) / 100.0 * (n - 1) as f64;
        let lo = idx.floor() as usize;
        if lo + 1 >= n {
            return Some(sorted[n - 1]);
        }
        let frac = idx - lo as f64;
        Some(sorted[lo] * (1.0 - frac) + sorted[lo + 1] * frac)
    }
}

#[derive(Debug, Clone, Default)]
struct Entry {
    ttft: Window,
    tpot: Window,
    in_flight: u64,
}

/// Latency windows and in-flight counts per model; shared by the routers of one process.
#[derive(Debug, Default)]
pub struct ModelStats {
    models: Mutex<HashMap<String, Entry>>,
}

impl ModelStats {
    /// Empty: no observations, nothing in flight.
    pub fn new() -> Self {
        Self::default()
    }

    /// One observation per model of `config` that declares a `latency` profile (routelab's
    /// `providers.models[].latency`): what a router reads until it has live observations.
    pub fn from_profiles(config: &RouterConfig) -> Self {
        let stats = Self::new();
        stats.seed(config);
        stats
    }

    /// Records each `latency` profile of `config` for the metrics of a model that has no
    /// observation yet.
    pub fn seed(&self, config: &RouterConfig) {
        for m in &config.providers.models {
            let Some(l) = m.latency else { continue };
            for (metric, ms) in [
                (LatencyMetric::Ttft, l.ttft_ms),
                (LatencyMetric::Tpot, l.tpot_ms),
            ] {
                if self.percentile(&m.name, metric, 50).is_none() {
                    self.record(&m.name, metric, ms);
                }
            }
        }
    }

    fn with<T>(&self, model: &str, f: impl FnOnce(&mut Entry) -> T) -> T {
        let mut models = self.models.lock().unwrap_or_else(|e| e.into_inner());
        f(models.entry(model.trim().to_owned()).or_default())
    }

    fn read<T>(&self, model: &str, f: impl FnOnce(&Entry) -> T) -> Option<T> {
        let models = self.models.lock().unwrap_or_else(|e| e.into_inner());
        models.get(model.trim()).map(f)
    }

    /// Records one observation in ms; a value that is not finite and above 0 is dropped, as
    /// the seed drops values ≤ 0.
    pub fn record(&self, model: &str, metric: LatencyMetric, ms: f64) {
        if model.trim().is_empty() || !(ms.is_finite() && ms > 0.0) {
            return;
        }
        self.with(model, |e| match metric {
            LatencyMetric::Ttft => e.ttft.record(ms),
            LatencyMetric::Tpot => e.tpot.record(ms),
        })
    }

    /// The `p`-th percentile (1..=100) of a model's observations, ms; `None` without any.
    pub fn percentile(&self, model: &str, metric: LatencyMetric, p: u8) -> Option<f64> {
        self.read(model, |e| match metric {
            LatencyMetric::Ttft => e.ttft.percentile(p),
            LatencyMetric::Tpot => e.tpot.percentile(p),
        })
        .flatten()
    }

    /// A request to `model` starts.
    pub fn begin(&self, model: &str) {
        self.with(model, |e| e.in_flight += 1)
    }

    /// A request to `model` ends.
    pub fn end(&self, model: &str) {
        self.with(model, |e| e.in_flight = e.in_flight.saturating_sub(1))
    }

    /// Requests to `model` in flight.
    pub fn in_flight(&self, model: &str) -> u64 {
        self.read(model, |e| e.in_flight).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pkg/latency/cache.go`: the moving average below 3 observations, then numpy's linear
    /// percentile over the window.
    #[test]
    fn percentiles_as_the_seed_computes_them() {
        let s = ModelStats::new();
        assert_eq!(s.percentile("a", LatencyMetric::Tpot, 90), None);
        s.record("a", LatencyMetric::Tpot, 10.0);
        assert_eq!(s.percentile("a", LatencyMetric::Tpot, 90), Some(10.0));
        s.record("a", LatencyMetric::Tpot, 20.0);
        // 0.3·20 + 0.7·10
        assert_eq!(s.percentile("a", LatencyMetric::Tpot, 90), Some(13.0));
        s.record("a", LatencyMetric::Tpot, 40.0);
        s.record("a", LatencyMetric::Tpot, 30.0);
        // sorted 10 20 30 40; p90: idx 2.7 → 30·0.3 + 40·0.7 = 37
        let p90 = s.percentile("a", LatencyMetric::Tpot, 90).unwrap();
        assert!((p90 - 37.0).abs() < 1e-9, "{p90}");
        assert_eq!(s.percentile("a", LatencyMetric::Tpot, 100), Some(40.0));
        assert_eq!(s.percentile("a", LatencyMetric::Tpot, 0), None);
        assert_eq!(s.percentile("a", LatencyMetric::Ttft, 50), None);
        s.record("a", LatencyMetric::Ttft, 0.0);
        s.record("a", LatencyMetric::Ttft, f64::NAN);
        assert_eq!(s.percentile("a", LatencyMetric::Ttft, 50), None);
    }

    #[test]
    fn the_window_keeps_the_last_thousand() {
        let s = ModelStats::new();
        for i in 1..=WINDOW + 500 {
            s.record("m", LatencyMetric::Ttft, i as f64);
        }
        assert_eq!(
            s.percentile("m", LatencyMetric::Ttft, 1).map(f64::round),
            Some(511.0)
        );
        assert_eq!(s.percentile("m", LatencyMetric::Ttft, 100), Some(1500.0));
    }

    #[test]
    fn in_flight_counts_never_go_below_zero() {
        let s = ModelStats::new();
        s.begin("m");
        s.begin("m");
        s.end("m");
        assert_eq!(s.in_flight("m"), 1);
        s.end("m");
        s.end("m");
        assert_eq!((s.in_flight("m"), s.in_flight("other")), (0, 0));
    }
}
