//! One upstream call as `multi_factor` and `latency_aware` see it: in flight from
//! [`LiveCall::begin`] until dropped, its time to first token when the upstream's headers
//! arrive, its time per output token (whole call over `completion_tokens`, as the seed
//! measures TPOT) when the answer's `usage` is known. Recorded into the process's
//! [`ModelStats`], which every loaded policy's router reads.

use std::sync::Arc;
use std::time::Instant;

use router_core::selection::stats::{LatencyMetric, ModelStats};
use serde_json::Value;

/// A call to one model, counted in flight while it lives.
pub struct LiveCall {
    stats: Arc<ModelStats>,
    model: String,
    started: Instant,
}

impl LiveCall {
    /// A call to `model` starts now.
    pub fn begin(stats: &Arc<ModelStats>, model: &str) -> Self {
        stats.begin(model);
        LiveCall {
            stats: Arc::clone(stats),
            model: model.to_owned(),
            started: Instant::now(),
        }
    }

    fn elapsed_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1e3
    }

    /// The upstream's headers arrived.
    pub fn first_byte(&self) {
        self.stats
            .record(&self.model, LatencyMetric::Ttft, self.elapsed_ms());
    }

    /// The answer ended with this OpenAI `usage` object (if any).
    pub fn finished(self, usage: Option<&Value>) {
        let tokens = usage
            .and_then(|u| u.get("completion_tokens"))
            .and_then(Value::as_u64)
            .filter(|t| *t > 0);
        if let Some(t) = tokens {
            self.stats.record(
                &self.model,
                LatencyMetric::Tpot,
                self.elapsed_ms() / t as f64,
            );
        }
    }

    /// The `usage` of a JSON answer body.
    pub fn finished_body(self, body: &[u8]) {
        let usage = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("usage").cloned());
        self.finished(usage.as_ref());
    }
}

impl Drop for LiveCall {
    fn drop(&mut self) {
        self.stats.end(&self.model);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_in_flight_until_it_ends_and_records_its_latencies() {
        let stats = Arc::new(ModelStats::new());
        let call = LiveCall::begin(&stats, "m");
        assert_eq!(stats.in_flight("m"), 1);
        call.first_byte();
        assert!(stats.percentile("m", LatencyMetric::Ttft, 50).is_some());
        call.finished_body(br#"{"usage": {"completion_tokens": 4}}"#);
        assert_eq!(stats.in_flight("m"), 0);
        assert!(stats.percentile("m", LatencyMetric::Tpot, 50).is_some());
        let failed = LiveCall::begin(&stats, "m");
        drop(failed);
        assert_eq!(stats.in_flight("m"), 0);
    }
}
