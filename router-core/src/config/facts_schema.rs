//! `routing.signals.events` and `routing.signals.metadata`: rules over the request's text as
//! event reports and over the body's `metadata` object (the seed's `config/signal_config.go`
//! `EventRule` and `config/metadata_signal.go` `MetadataRule`).

use serde::{Deserialize, Serialize};

/// `routing.signals.events[]`: an event report in the request text. A rule matches when any
/// of its configured criteria does (see [`crate::signals::event`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventRule {
    /// Rule name (`type: event` leaves).
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Event type terms (whole words, any case).
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Severities among `critical`, `high`, `medium`, `low`.
    #[serde(default)]
    pub severities: Vec<String>,
    /// Action codes (whole words, any case).
    #[serde(default)]
    pub action_codes: Vec<String>,
    /// Also look for an urgency word (urgent, immediate, asap, deadline, now, ...).
    #[serde(default)]
    pub temporal: bool,
}

/// The severities an event rule can name.
pub const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];

/// `routing.signals.metadata[]`: a predicate on one key of the request's `metadata`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetadataRule {
    /// Rule name (`type: metadata` leaves).
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The metadata key (exact).
    #[serde(default)]
    pub key: String,
    /// Exactly one of `equals`, `in`, `exists`.
    #[serde(default)]
    pub predicate: MetadataPredicate,
}

/// `metadata[].predicate`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetadataPredicate {
    /// The value equals this (byte for byte).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    /// The value is one of these (empty: not set).
    #[serde(rename = "in", default, skip_serializing_if = "Vec::is_empty")]
    pub one_of: Vec<String>,
    /// The key is present (`true`) or absent (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
}

impl MetadataPredicate {
    /// How many comparators are set (valid: exactly one).
    pub fn comparators(&self) -> usize {
        usize::from(self.equals.is_some())
            + usize::from(!self.one_of.is_empty())
            + usize::from(self.exists.is_some())
    }

    /// Whether `value` (the key's, `None` when absent) satisfies the predicate.
    pub fn holds(&self, value: Option<&str>) -> bool {
        if let Some(want) = self.exists {
            return want == value.is_some();
        }
        match (value, &self.equals) {
            (Some(v), Some(e)) => v == e,
            (Some(v), None) => self.one_of.iter().any(|o| o == v),
            (None, _) => false,
        }
    }
}
