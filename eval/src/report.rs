//! The evaluation report (`report.json`): every number of one replay, serialisable both ways
//! so that `routelab gate` can read it back.

use serde::{Deserialize, Serialize};

use crate::classify::Classification;
use crate::stats::Percentiles;

/// Report format version written into `report.json`.
pub const REPORT_FORMAT: &str = "routelab-eval-report/v1";

/// A hashed input file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputFile {
    /// Path as given.
    pub path: String,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
}

fn one_request() -> usize {
    1
}

/// How costs and latencies were derived where the log has no value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostSettings {
    /// Completion tokens assumed when `<model>|output_tokens` is null.
    pub default_output_tokens: u64,
    /// Characters per token used to estimate prompt tokens when `<model>|input_tokens` is null
    /// (tokens = ceil(chars of all messages / this)).
    pub chars_per_token: f64,
    /// Reasoning mode: completion tokens are multiplied by this ...
    pub reasoning_multiplier: f64,
    /// ... and this many tokens are added (applies to computed cost and profile latency only;
    /// a logged cost or latency is used as is).
    pub reasoning_extra_tokens: u64,
}

impl Default for CostSettings {
    fn default() -> Self {
        CostSettings {
            default_output_tokens: 256,
            chars_per_token: 4.0,
            reasoning_multiplier: 1.0,
            reasoning_extra_tokens: 0,
        }
    }
}

/// A model as the replay saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Model name (config `providers.models[].name`).
    pub name: String,
    /// Config price per 1M prompt tokens (`None` = no pricing).
    pub prompt_per_1m: Option<f64>,
    /// Config price per 1M completion tokens.
    pub completion_per_1m: Option<f64>,
    /// Whether the log has a quality column for it.
    pub scored: bool,
    /// Mean quality when every request goes to it (over scored rows).
    pub mean_quality: Option<f64>,
    /// Cost per 1k requests when every request goes to it.
    pub cost_per_1k: f64,
}

/// Quality and cost of one policy or baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyMetrics {
    /// Name (`policy`, `oracle`, `always-cheapest`, ...).
    pub name: String,
    /// Requests routed.
    pub requests: u64,
    /// Requests whose chosen model had a quality value.
    pub scored: u64,
    /// Requests whose chosen model had no quality (null cell or no column): never counted as 0.
    pub unscored: u64,
    /// Mean quality over scored requests.
    pub mean_quality: Option<f64>,
    /// Share of scored requests with quality ≥ 0.5.
    pub correct_rate: Option<f64>,
    /// Total cost in USD.
    pub total_cost: f64,
    /// Cost per 1,000 requests in USD.
    pub cost_per_1k: f64,
    /// Mean model latency in ms (logged, else config profile), over requests where known.
    pub mean_model_latency_ms: Option<f64>,
}

/// Savings of the policy relative to a baseline: `(cost_baseline − cost_policy) / cost_baseline`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Savings {
    /// vs always sending to the highest-quality model.
    pub vs_strongest: Option<f64>,
    /// vs always sending to the cheapest model (negative: the policy costs more).
    pub vs_cheapest: Option<f64>,
}

/// One row of a breakdown table (per category, per model, per decision).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakdownRow {
    /// The key (category / model / decision name; `(none)` for missing).
    pub key: String,
    /// Requests.
    pub requests: u64,
    /// Share of all requests.
    pub share: f64,
    /// Mean quality over scored requests.
    pub mean_quality: Option<f64>,
    /// Unscored requests.
    pub unscored: u64,
    /// Total cost in USD.
    pub total_cost: f64,
    /// Signal accuracy within the key (category table only: label = predicted domain).
    pub accuracy: Option<f64>,
}

/// Requests of one decision that replay could not route as the seed would.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotReplayable {
    /// The decision.
    pub decision: String,
    /// Its `algorithm.type`.
    pub algorithm: String,
    /// Requests it won (routed to its first modelRef).
    pub requests: u64,
}

/// A point of a threshold sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// The parameter value.
    pub value: f64,
    /// Cost per 1k requests.
    pub cost_per_1k: f64,
    /// Mean quality.
    pub mean_quality: Option<f64>,
    /// Share of calls to the strong model (two-model logs).
    pub strong_share: Option<f64>,
    /// PGR at this point (two-model logs).
    pub pgr: Option<f64>,
}

/// A threshold sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    /// The swept parameter (a config path).
    pub param: String,
    /// The points, in sweep order.
    pub points: Vec<SweepPoint>,
}

/// Curve metrics of the policy beside the baselines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveMetrics {
    /// Weak model (cheapest) for RouteLLM metrics.
    pub weak_model: Option<String>,
    /// Strong model (highest quality).
    pub strong_model: Option<String>,
    /// APGR of the policy (sweep points, or the single run's point).
    pub apgr: Option<f64>,
    /// APGR of a random router (0.5 by construction).
    pub apgr_random: Option<f64>,
    /// APGR of the oracle point.
    pub apgr_oracle: Option<f64>,
    /// CPT(50%) of the policy: share of calls to the strong model needed for 50% PGR.
    pub cpt50: Option<f64>,
    /// CPT(80%).
    pub cpt80: Option<f64>,
    /// PGR of the single run.
    pub pgr: Option<f64>,
    /// AIQ of the policy (its points plus the single-model points).
    pub aiq: Option<f64>,
    /// AIQ of the zero router (hull of the single-model points).
    pub aiq_zero_router: Option<f64>,
    /// AIQ of the oracle (its point plus the single-model points).
    pub aiq_oracle: Option<f64>,
    /// Zero-router quality at the policy's cost.
    pub zero_router_quality_at_policy_cost: Option<f64>,
}

/// The complete report of one `routelab eval` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`REPORT_FORMAT`].
    pub format: String,
    /// routelab version that wrote it.
    pub routelab_version: String,
    /// Run name.
    pub run_name: String,
    /// Creation time, UTC, RFC 3339.
    pub created_utc: String,
    /// The routing config.
    pub config: InputFile,
    /// `--model REF=DIR` mappings the config was loaded with (models other than the ones it
    /// names: thresholds calibrated for those may not transfer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mapped_models: Vec<String>,
    /// The signal store the run read model outputs from and added to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_store: Option<crate::signal_store::StoreUse>,
    /// The recipe of a multi-recipe config the run replayed (`--recipe`; absent: the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipe: Option<String>,
    /// The request log.
    pub log: InputFile,
    /// Cost and latency derivation settings.
    pub cost_settings: CostSettings,
    /// Requests replayed.
    pub requests: u64,
    /// Models.
    pub models: Vec<ModelInfo>,
    /// The policy under evaluation.
    pub policy: PolicyMetrics,
    /// Savings of the policy.
    pub savings: Savings,
    /// Baselines: always-cheapest, always-strongest, oracle, random (expected), random (sampled),
    /// random (cost-matched).
    pub baselines: Vec<PolicyMetrics>,
    /// Router overhead per request (µs), measured around `Router::route_decision`.
    pub router_overhead_us: Percentiles,
    /// Requests routed per `Router::route_batch` call (1: one `Router::route` per request, as
    /// served). Above 1, each request's overhead is an even share of its batch's time.
    #[serde(default = "one_request")]
    pub router_batch: usize,
    /// Model latency of the policy's choices (ms).
    pub model_latency_ms: Percentiles,
    /// Requests where no latency was known (no log value, no profile).
    pub unknown_latency: u64,
    /// Requests a block plugin answered (block plugins are not simulated: the chosen model's
    /// outcome still counts).
    pub blocked: u64,
    /// Decisions whose algorithm routelab does not run (looper types and the seed's other
    /// model-calling selectors): their requests went to the decision's first modelRef.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_replayable: Vec<NotReplayable>,
    /// Decision vs `expected_decision`.
    pub decision_accuracy: Option<Classification>,
    /// Domain signal's top category vs `category`.
    pub signal_accuracy: Option<Classification>,
    /// Per category.
    pub per_category: Vec<BreakdownRow>,
    /// Per chosen model.
    pub per_model: Vec<BreakdownRow>,
    /// Per decision.
    pub per_decision: Vec<BreakdownRow>,
    /// Threshold sweep, when requested.
    pub sweep: Option<Sweep>,
    /// Curve metrics.
    pub curves: CurveMetrics,
}

impl Report {
    /// A baseline by name.
    pub fn baseline(&self, name: &str) -> Option<&PolicyMetrics> {
        self.baselines.iter().find(|b| b.name == name)
    }
}
