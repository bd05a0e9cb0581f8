//! The latency observations a replay's `multi_factor` and `latency_aware` decisions read:
//! the state `serve`'s tracker would be in after the log's requests. Per model, each row with
//! a logged `<model>|latency_ms` and `|output_tokens` above 0 is one TPOT observation
//! (latency over completion tokens, as the seed measures TPOT), in log order (the window keeps
//! the last 1,000). The log records no time to first token, so TTFT comes from the config's
//! `latency` profile, as does TPOT for a model the log has no latencies of.

use std::path::Path;

use router_core::config::RouterConfig;
use router_core::selection::stats::{LatencyMetric, ModelStats};

use crate::error::Result;
use crate::log_reader::{RequestLog, DEFAULT_BATCH_SIZE};

/// The observations of the models of `config` in the log at `path`.
pub fn log_stats(path: &Path, config: &RouterConfig) -> Result<ModelStats> {
    let mut log = RequestLog::open(path, DEFAULT_BATCH_SIZE)?;
    let columns = log.models();
    let models: Vec<(&str, Option<usize>)> = config
        .providers
        .models
        .iter()
        .map(|m| (m.name.as_str(), columns.iter().position(|c| c == &m.name)))
        .collect();
    let stats = ModelStats::new();
    while let Some(batch) = log.next_batch() {
        let batch = batch?;
        for r in 0..batch.len() {
            let row = batch.row(r);
            for (name, column) in &models {
                let Some(o) = column.and_then(|c| row.outcomes.get(c)) else {
                    continue;
                };
                if let (Some(ms), Some(tokens)) = (o.latency_ms, o.output_tokens) {
                    if tokens > 0 {
                        stats.record(name, LatencyMetric::Tpot, ms / tokens as f64);
                    }
                }
            }
        }
    }
    stats.seed(config);
    Ok(stats)
}
