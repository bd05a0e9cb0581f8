//! Per-request, per-model outcomes as the replay sees them: quality, cost and latency of every
//! model, derived from the log where it has values and from the config's prices and latency
//! profiles where it does not.

use rustc_hash::FxHashMap;

use router_core::config::{LatencyProfile, Pricing, RouterConfig};

use crate::log_schema::{LogRowRef, ModelOutcome};
use crate::report::CostSettings;

/// Sentinel id for "no value" in an [`Interner`].
pub const NONE_ID: u32 = u32::MAX;

/// Interns strings (decisions, categories) so per-request columns stay small.
#[derive(Debug, Clone, Default)]
pub struct Interner {
    names: Vec<String>,
    /// Looked up several times per replayed request: a fast hash.
    index: FxHashMap<String, u32>,
}

impl Interner {
    /// An empty interner.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `s`, adding it if new; [`NONE_ID`] for `None`.
    pub fn id(&mut self, s: Option<&str>) -> u32 {
        let Some(s) = s else { return NONE_ID };
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.to_string());
        self.index.insert(s.to_string(), i);
        i
    }

    /// The string of `id` (`None` for [`NONE_ID`]).
    pub fn name(&self, id: u32) -> Option<&str> {
        self.names.get(id as usize).map(String::as_str)
    }
}

/// What the replay knows about one model of the config.
#[derive(Debug, Clone)]
pub struct ModelCostModel {
    /// Model name.
    pub name: String,
    /// Index of the model among the log's models (`None` = no column at all).
    pub log_index: Option<usize>,
    /// Whether the log has its quality column.
    pub has_quality: bool,
    /// Config pricing.
    pub pricing: Option<Pricing>,
    /// Config latency profile.
    pub latency: Option<LatencyProfile>,
}

impl ModelCostModel {
    /// The models of `config` matched to the log's models (`log_models`) and quality columns.
    pub fn from_config(
        config: &RouterConfig,
        log_models: &[String],
        has_quality: impl Fn(&str) -> bool,
    ) -> Vec<Self> {
        config
            .providers
            .models
            .iter()
            .map(|m| ModelCostModel {
                name: m.name.clone(),
                log_index: log_models.iter().position(|l| *l == m.name),
                has_quality: has_quality(&m.name),
                pricing: m.pricing.clone(),
                latency: m.latency,
            })
            .collect()
    }
}

/// Prompt tokens estimated from text length: ceil(chars / chars_per_token).
pub fn estimate_prompt_tokens(row: &LogRowRef<'_>, settings: &CostSettings) -> u64 {
    let chars = row.text().chars().count() as f64;
    (chars / settings.chars_per_token.max(1e-9)).ceil() as u64
}

/// Quality, cost (USD) and latency (ms, NaN when unknown) of one model on one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// Quality; NaN = unscored.
    pub quality: f64,
    /// Cost in USD (0 when neither a logged cost nor a price exists).
    pub cost: f64,
    /// Latency in ms; NaN = unknown.
    pub latency_ms: f64,
}

/// Derives the outcome of `model` on `row`. Cost: the logged `<model>|cost`, else tokens ×
/// config prices, where tokens are the logged counts or, when null, the prompt estimate and
/// `default_output_tokens`. Latency: the logged `<model>|latency_ms`, else the profile's
/// `ttft_ms + tpot_ms × output_tokens`. With `reasoning`, computed output tokens become
/// `tokens × reasoning_multiplier + reasoning_extra_tokens`.
pub fn outcome(
    model: &ModelCostModel,
    row: &LogRowRef<'_>,
    est_prompt_tokens: u64,
    reasoning: bool,
    settings: &CostSettings,
) -> Outcome {
    let logged: Option<&ModelOutcome> = model.log_index.and_then(|i| row.outcomes.get(i));
    let quality = logged.and_then(|o| o.quality).unwrap_or(f64::NAN);
    let input = logged
        .and_then(|o| o.input_tokens)
        .map(|t| t.max(0) as u64)
        .unwrap_or(est_prompt_tokens);
    let mut output = logged
        .and_then(|o| o.output_tokens)
        .map(|t| t.max(0) as u64)
        .unwrap_or(settings.default_output_tokens);
    if reasoning {
        output = (output as f64 * settings.reasoning_multiplier).round() as u64
            + settings.reasoning_extra_tokens;
    }
    let cost = logged
        .and_then(|o| o.cost)
        .or_else(|| model.pricing.as_ref().map(|p| p.cost(input, output)))
        .unwrap_or(0.0);
    let latency_ms = logged
        .and_then(|o| o.latency_ms)
        .or_else(|| model.latency.map(|l| l.estimate_ms(output)))
        .unwrap_or(f64::NAN);
    Outcome {
        quality,
        cost,
        latency_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(log_index: Option<usize>) -> ModelCostModel {
        ModelCostModel {
            name: "m".into(),
            log_index,
            has_quality: true,
            pricing: Some(Pricing {
                currency: "USD".into(),
                prompt_per_1m: 2.0,
                completion_per_1m: 10.0,
            }),
            latency: Some(LatencyProfile {
                ttft_ms: 100.0,
                tpot_ms: 5.0,
            }),
        }
    }

    fn row(o: ModelOutcome) -> crate::log_schema::LogRow {
        crate::log_schema::LogRow {
            request_id: "r".into(),
            prompt: Some("x".repeat(41)),
            outcomes: vec![o],
            ..Default::default()
        }
    }

    #[test]
    fn cost_and_latency_by_hand() {
        let s = CostSettings {
            default_output_tokens: 100,
            chars_per_token: 4.0,
            reasoning_multiplier: 3.0,
            reasoning_extra_tokens: 50,
        };
        let r = row(ModelOutcome {
            quality: Some(1.0),
            ..Default::default()
        });
        // 41 chars / 4 -> 11 prompt tokens; 100 completion tokens.
        let r = r.view();
        let est = estimate_prompt_tokens(&r, &s);
        assert_eq!(est, 11);
        let o = outcome(&model(Some(0)), &r, est, false, &s);
        assert!((o.cost - (11.0 * 2.0 + 100.0 * 10.0) / 1e6).abs() < 1e-15);
        assert_eq!((o.quality, o.latency_ms), (1.0, 600.0));
        // Reasoning: 100 * 3 + 50 = 350 completion tokens.
        let o = outcome(&model(Some(0)), &r, est, true, &s);
        assert!((o.cost - (11.0 * 2.0 + 350.0 * 10.0) / 1e6).abs() < 1e-15);
        assert_eq!(o.latency_ms, 100.0 + 5.0 * 350.0);
        // Logged values win over prices and profiles; no column = unscored.
        let logged = row(ModelOutcome {
            quality: None,
            input_tokens: Some(1),
            output_tokens: Some(2),
            cost: Some(0.5),
            latency_ms: Some(42.0),
        });
        let o = outcome(&model(Some(0)), &logged.view(), 0, true, &s);
        assert_eq!((o.cost, o.latency_ms), (0.5, 42.0));
        assert!(o.quality.is_nan());
        assert!(outcome(&model(None), &r, est, false, &s).quality.is_nan());
    }
}
