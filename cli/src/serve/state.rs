//! Shared server state: the current policy (swapped atomically on reload), settings, metrics.

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use tokio::sync::Semaphore;

use super::error::ApiError;
use super::metrics::Metrics;
use router_core::inference::ModelRegistry;

use super::policy::Policy;
use super::request_log::{Recorder, RecorderSettings};

/// How a request stopped by a block plugin is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BlockMode {
    /// As the plugin says: a 2xx status gives a `chat.completion` carrying the block message,
    /// any other status an error with that status (`block` defaults to 403, `fast_response`
    /// to 200).
    Plugin,
    /// Always a `chat.completion` whose assistant message is the block message
    /// (`finish_reason: content_filter`).
    Completion,
    /// Always an error in OpenAI's format (`code: content_blocked`), with the plugin's status
    /// when it is 4xx, else 403.
    Error,
}

/// Settings fixed at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The decision config file (reloaded on SIGHUP and on change).
    pub config: PathBuf,
    /// `--model REF=DIR` mappings, applied at every load.
    pub model_maps: Vec<router_core::config::ModelMap>,
    /// Model names that ask for routing (`auto`).
    pub auto_names: Vec<String>,
    /// Whether a configured model's name bypasses routing and goes to that model.
    pub passthrough: bool,
    /// How blocked requests are answered.
    pub block_mode: BlockMode,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Most requests served at once; more are answered 429.
    pub max_concurrency: usize,
    /// One OpenAI-compatible base URL (`http://host:port/v1`) that replaces every model's
    /// `backend_refs` (a dry run against a single local server), or `None`.
    pub upstream_override: Option<String>,
    /// Record served traffic (`--request-log`), or `None`.
    pub request_log: Option<RecorderSettings>,
}

/// Everything the handlers share.
pub struct AppState {
    /// The policy serving now; `None` until the first load finishes. Each request takes its own
    /// `Arc`, so a reload never disturbs requests in flight.
    pub policy: ArcSwapOption<Policy>,
    /// Start-up settings.
    pub settings: Settings,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// The upstream HTTP client (connection pool shared by all models).
    pub client: reqwest::Client,
    /// Permits for in-flight requests.
    pub limiter: Arc<Semaphore>,
    /// The models of the loaded policies, keyed by content; pruned after each reload.
    pub models: Arc<ModelRegistry>,
    /// Where served traffic is recorded (`--request-log`), when it is.
    pub recorder: Option<Arc<Recorder>>,
    /// Live latencies and in-flight counts per model, read by every loaded policy's
    /// `multi_factor` and `latency_aware` decisions (kept across reloads).
    pub stats: Arc<router_core::selection::stats::ModelStats>,
}

impl AppState {
    /// The policy serving now, or 503 while none is loaded.
    pub fn current_policy(&self) -> Result<Arc<Policy>, ApiError> {
        self.policy.load_full().ok_or_else(ApiError::not_ready)
    }

    /// Requests being served now.
    pub fn in_flight(&self) -> usize {
        self.settings
            .max_concurrency
            .saturating_sub(self.limiter.available_permits())
    }
}
