//! Prometheus metrics, kept in memory and rendered in the text exposition format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0,
];

/// A latency histogram with fixed buckets.
#[derive(Default)]
struct Histogram {
    /// Per bucket (non-cumulative) counts; the last slot is `+Inf`.
    counts: [AtomicU64; BUCKETS.len() + 1],
    /// Sum of observations in microseconds.
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        self.counts[slot].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0u64;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += self.counts[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.counts[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
}

/// A counter family keyed by its label values.
struct Family {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    values: Mutex<BTreeMap<Vec<String>, u64>>,
}

impl Family {
    const fn new(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Self {
        Family {
            name,
            help,
            labels,
            values: Mutex::new(BTreeMap::new()),
        }
    }

    fn inc(&self, label_values: &[&str]) {
        self.add(label_values, 1);
    }

    fn add(&self, label_values: &[&str], n: u64) {
        let key: Vec<String> = label_values.iter().map(|s| (*s).to_owned()).collect();
        let mut map = self.values.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry(key).or_insert(0) += n;
    }

    fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} counter", self.name);
        let map = self.values.lock().unwrap_or_else(|p| p.into_inner());
        for (values, count) in map.iter() {
            let labels: Vec<String> = self
                .labels
                .iter()
                .zip(values)
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .collect();
            let _ = writeln!(out, "{}{{{}}} {count}", self.name, labels.join(","));
        }
    }
}

/// Escapes a label value per the exposition format (backslash, quote, newline).
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// All metrics of the server.
pub struct Metrics {
    requests: Family,
    decisions: Family,
    models: Family,
    upstream_errors: Family,
    cache: Family,
    reloads: Family,
    request_log: Family,
    router_latency: Histogram,
    upstream_latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Family::new(
                "routelab_http_requests_total",
                "HTTP requests answered, by endpoint and status code.",
                &["endpoint", "status"],
            ),
            decisions: Family::new(
                "routelab_decisions_total",
                "Routing decisions taken (`passthrough` for named models, `default` when no decision matched).",
                &["decision"],
            ),
            models: Family::new(
                "routelab_model_requests_total",
                "Requests sent to (or answered for) each model.",
                &["model"],
            ),
            upstream_errors: Family::new(
                "routelab_upstream_errors_total",
                "Upstream failures by model and kind (connect, timeout, status, body).",
                &["model", "kind"],
            ),
            cache: Family::new(
                "routelab_cache_lookups_total",
                "Semantic cache lookups by result (hit, miss).",
                &["result"],
            ),
            reloads: Family::new(
                "routelab_config_reloads_total",
                "Config reloads by result (ok, error).",
                &["result"],
            ),
            request_log: Family::new(
                "routelab_request_log_rows_total",
                "Rows of --request-log by result (written: in a finished file; dropped: queue full or write failure).",
                &["result"],
            ),
            router_latency: Histogram::default(),
            upstream_latency: Histogram::default(),
        }
    }
}

impl Metrics {
    /// Counts one answered request.
    pub fn request(&self, endpoint: &str, status: u16) {
        self.requests.inc(&[endpoint, &status.to_string()]);
    }

    /// Counts one routing decision.
    pub fn decision(&self, decision: &str) {
        self.decisions.inc(&[decision]);
    }

    /// Counts one request for a model.
    pub fn model(&self, model: &str) {
        self.models.inc(&[model]);
    }

    /// Counts one upstream failure.
    pub fn upstream_error(&self, model: &str, kind: &str) {
        self.upstream_errors.inc(&[model, kind]);
    }

    /// Counts one cache lookup (`hit` or `miss`).
    pub fn cache(&self, result: &str) {
        self.cache.inc(&[result]);
    }

    /// Counts one config reload (`ok` or `error`).
    pub fn reload(&self, result: &str) {
        self.reloads.inc(&[result]);
    }

    /// Counts `n` request-log rows written to a finished file.
    pub fn request_log_rows(&self, n: usize) {
        self.request_log.add(&["written"], n as u64);
    }

    /// Counts one request-log row dropped.
    pub fn request_log_dropped(&self) {
        self.request_log.inc(&["dropped"]);
    }

    /// Records how long routing (signals + decision) took.
    pub fn router_latency(&self, d: Duration) {
        self.router_latency.observe(d);
    }

    /// Records how long the upstream took to answer with its headers.
    pub fn upstream_latency(&self, d: Duration) {
        self.upstream_latency.observe(d);
    }

    /// The metrics in Prometheus text format; `in_flight` is the current number of requests.
    pub fn render(&self, in_flight: usize) -> String {
        let mut out = String::new();
        self.requests.render(&mut out);
        self.decisions.render(&mut out);
        self.models.render(&mut out);
        self.upstream_errors.render(&mut out);
        self.cache.render(&mut out);
        self.reloads.render(&mut out);
        self.request_log.render(&mut out);
        self.router_latency.render(
            &mut out,
            "routelab_router_latency_seconds",
            "Time spent computing signals and evaluating decisions.",
        );
        self.upstream_latency.render(
            &mut out,
            "routelab_upstream_latency_seconds",
            "Time from sending a request upstream to receiving its response headers.",
        );
        let _ = writeln!(
            out,
            "# HELP routelab_in_flight_requests Requests being served now.\n# TYPE routelab_in_flight_requests gauge\nroutelab_in_flight_requests {in_flight}"
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.request("chat", 200);
        m.request("chat", 200);
        m.request("chat", 404);
        m.decision("math \"hard\"");
        m.router_latency(Duration::from_micros(200)); // bucket 0.00025
        m.router_latency(Duration::from_millis(3)); // bucket 0.005
        m.router_latency(Duration::from_secs(100)); // +Inf
        let text = m.render(2);
        assert!(text.contains("routelab_http_requests_total{endpoint=\"chat\",status=\"200\"} 2\n"));
        assert!(text.contains("routelab_http_requests_total{endpoint=\"chat\",status=\"404\"} 1\n"));
        assert!(text.contains("routelab_decisions_total{decision=\"math \\\"hard\\\"\"} 1\n"));
        assert!(text.contains("routelab_router_latency_seconds_bucket{le=\"0.0001\"} 0\n"));
        assert!(text.contains("routelab_router_latency_seconds_bucket{le=\"0.00025\"} 1\n"));
        assert!(text.contains("routelab_router_latency_seconds_bucket{le=\"0.005\"} 2\n"));
        assert!(text.contains("routelab_router_latency_seconds_bucket{le=\"30\"} 2\n"));
        assert!(text.contains("routelab_router_latency_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("routelab_router_latency_seconds_count 3\n"));
        assert!(text.contains("routelab_router_latency_seconds_sum 100.0032\n"));
        assert!(text.contains("routelab_in_flight_requests 2\n"));
    }
}
