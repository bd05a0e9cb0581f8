//! `routing.projections`: signals derived from the other signals' results, in the seed's shape
//! (`pkg/config/projection_config.go`): partitions that keep one winner among competing domain or
//! embedding matches, weighted-sum scores over signal results, and mappings that turn a score
//! into named bands that decisions reference as `type: projection` leaves.
//!
//! Method and value-source names stay strings here so that validation can name the offending
//! value as the seed does; the engine compiles them to enums.

use serde::{Deserialize, Serialize};

/// `routing.projections`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Projections {
    /// Exclusive groups of domain or embedding signals.
    #[serde(default)]
    pub partitions: Vec<ProjectionPartition>,
    /// Weighted sums over signal results.
    #[serde(default)]
    pub scores: Vec<ProjectionScore>,
    /// Bands of a score, each a projection signal.
    #[serde(default)]
    pub mappings: Vec<ProjectionMapping>,
}

impl Projections {
    /// Every mapping output, in declaration order: the names `type: projection` leaves use.
    pub fn outputs(&self) -> impl Iterator<Item = &ProjectionOutput> {
        self.mappings.iter().flat_map(|m| &m.outputs)
    }
}

/// `routing.projections.partitions[]`: at most one member stays matched.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectionPartition {
    /// Partition name (for traces).
    pub name: String,
    /// `exclusive` (the winner keeps its confidence) or `softmax_exclusive` (the winner's
    /// confidence becomes its softmax share).
    #[serde(default)]
    pub semantics: String,
    /// Softmax temperature (`softmax_exclusive`, > 0).
    #[serde(default)]
    pub temperature: f64,
    /// Domain or embedding signal names, all of one kind.
    #[serde(default)]
    pub members: Vec<String>,
    /// The member that matches when no member did.
    #[serde(default)]
    pub default: String,
}

/// `routing.projections.scores[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectionScore {
    /// Score name (mappings' `source`, projection inputs' `name`).
    pub name: String,
    /// `weighted_sum`, the one method.
    #[serde(default)]
    pub method: String,
    /// The terms of the sum, in order.
    #[serde(default)]
    pub inputs: Vec<ProjectionInput>,
}

/// One term of a score: `weight · value`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectionInput {
    /// A signal kind (`keyword`, `embedding`, ...), `kb_metric` or `projection`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The signal rule, score or mapping output.
    #[serde(default)]
    pub name: String,
    /// The knowledge base (`kb_metric`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kb: Option<String>,
    /// The knowledge-base metric (`kb_metric`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// The term's weight (may be negative).
    #[serde(default)]
    pub weight: f64,
    /// `""` / `binary`: `match` or `miss`; `confidence`: the match confidence (0 unmatched);
    /// `raw`: the signal's measured value; `score`: a score (projection and kb_metric inputs).
    #[serde(default)]
    pub value_source: String,
    /// Binary value when matched (0 means 1).
    #[serde(default, rename = "match")]
    pub match_value: f64,
    /// Binary value when not matched.
    #[serde(default)]
    pub miss: f64,
}

impl ProjectionInput {
    /// The key of the measured value this input reads, if it reads one (the seed's
    /// `projectionInputValue`): `kb_metric:<kb>:<metric>` in lower case for a `kb_metric`
    /// input, `<type>:<name>` (the type in lower case) with `value_source: raw`.
    pub fn measured_key(&self) -> Option<String> {
        let kind = self.kind.trim().to_lowercase();
        match kind.as_str() {
            "kb_metric" => Some(
                format!(
                    "kb_metric:{}:{}",
                    self.kb.as_deref().unwrap_or(""),
                    self.metric.as_deref().unwrap_or("")
                )
                .to_lowercase(),
            ),
            "projection" => None,
            _ if self.value_source.trim().eq_ignore_ascii_case("raw") => {
                Some(format!("{}:{}", self.kind.to_lowercase(), self.name))
            }
            _ => None,
        }
    }
}

/// `routing.projections.mappings[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectionMapping {
    /// Mapping name (for traces).
    pub name: String,
    /// The score it reads.
    #[serde(default)]
    pub source: String,
    /// `threshold_bands` (default: the first output whose bounds hold) or `multi_emit` (all).
    #[serde(default)]
    pub method: String,
    /// How an output's confidence follows from the score's distance to its bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<ProjectionCalibration>,
    /// The bands.
    #[serde(default)]
    pub outputs: Vec<ProjectionOutput>,
}

/// `calibration`: `sigmoid_distance` with its slope.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectionCalibration {
    /// `sigmoid_distance` (the one method).
    #[serde(default)]
    pub method: String,
    /// Slope of the sigmoid; 12 when not above 0.
    #[serde(default)]
    pub slope: f64,
}

/// One band of a mapping: a projection signal that matches when every set bound holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectionOutput {
    /// The projection signal's name.
    pub name: String,
    /// score < lt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lt: Option<f64>,
    /// score <= lte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lte: Option<f64>,
    /// score > gt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gt: Option<f64>,
    /// score >= gte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gte: Option<f64>,
}

impl ProjectionOutput {
    /// The bounds that are set, each with whether `score` satisfies it.
    fn bounds(&self, score: f64) -> impl Iterator<Item = (f64, bool)> {
        [
            self.lt.map(|b| (b, score < b)),
            self.lte.map(|b| (b, score <= b)),
            self.gt.map(|b| (b, score > b)),
            self.gte.map(|b| (b, score >= b)),
        ]
        .into_iter()
        .flatten()
    }

    /// Whether every set bound holds for `score`.
    pub fn holds(&self, score: f64) -> bool {
        self.bounds(score).all(|(_, ok)| ok)
    }

    /// Whether every score in `[lo, hi]` satisfies the bounds (`Some(true)`), none does
    /// (`Some(false)`, exact for a band that is not empty), or some do (`None`).
    pub fn holds_on(&self, lo: f64, hi: f64) -> Option<bool> {
        if self.holds(lo) && self.holds(hi) {
            return Some(true);
        }
        let excluded = [
            self.lt.is_some_and(|b| lo >= b),
            self.lte.is_some_and(|b| lo > b),
            self.gt.is_some_and(|b| hi <= b),
            self.gte.is_some_and(|b| hi < b),
        ];
        excluded.contains(&true).then_some(false)
    }

    /// The smallest and largest distance to the nearest bound over scores in `[lo, hi]`.
    pub fn distance_range(&self, lo: f64, hi: f64) -> (f64, f64) {
        let bounds: Vec<f64> = [self.lt, self.lte, self.gt, self.gte]
            .into_iter()
            .flatten()
            .collect();
        let d = |s: f64| self.distance(s).unwrap_or(0.0);
        let inside = bounds.iter().any(|b| (lo..=hi).contains(b));
        let min = if inside { 0.0 } else { d(lo).min(d(hi)) };
        // The distance to the nearest bound peaks at the ends or halfway between two bounds.
        let mut max = d(lo).max(d(hi));
        for a in &bounds {
            for b in &bounds {
                let mid = (a + b) / 2.0;
                if a < b && (lo..=hi).contains(&mid) {
                    max = max.max(d(mid));
                }
            }
        }
        (min, max)
    }

    /// The smallest distance from `score` to a set bound (`None` without bounds).
    pub fn distance(&self, score: f64) -> Option<f64> {
        self.bounds(score)
            .map(|(b, _)| (score - b).abs())
            .reduce(f64::min)
    }
}
