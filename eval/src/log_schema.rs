//! The request-log format: one Parquet row per request.
//!
//! This module is the single definition of the log's column names; the dataset builders, the
//! importers and `routelab serve --request-log` write it and the replay reads it.
//!
//! `request-log/v1` holds the columns of the first table. `request-log/v2` (what `serve`
//! records) adds the columns of the second; a v1 file is a valid v2 file, and the reader
//! takes both (a folder of files is one log, see [`crate::log_reader`]).
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `request_id` | Utf8, required | unique id of the request |
//! | `prompt` | Utf8 | the last user turn (one of `prompt` / `messages` is required) |
//! | `messages` | Utf8 | the conversation as OpenAI JSON: an array of messages (string, null or content-part content, `tool_calls`, `tool` results), or `{"messages": [...], "tools": [...]}`; parsed by `router_core::request::parse_conversation_json`, as `serve` parses a body |
//! | `category` | Utf8, nullable | expected domain category (for signal accuracy) |
//! | `expected_decision` | Utf8, nullable | expected decision name (for decision accuracy) |
//! | `<model>\|quality` | Float64, nullable | quality of that model's answer in `[0, 1]`; null = unscored |
//! | `<model>\|input_tokens` | Int64, nullable | prompt tokens for that model |
//! | `<model>\|output_tokens` | Int64, nullable | completion tokens of that model's answer |
//! | `<model>\|cost` | Float64, nullable | logged cost in USD; null = tokens × config prices |
//! | `<model>\|latency_ms` | Float64, nullable | logged end-to-end latency; null = config latency profile |
//!
//! | v2 column | type | meaning |
//! |---|---|---|
//! | `timestamp` | Timestamp(ms, UTC) | when the request arrived |
//! | `served_decision` | Utf8, nullable | the decision serve chose (null: no decision matched) |
//! | `served_model` | Utf8, nullable | the model it was sent to (null: blocked, or answered from the cache) |
//! | `router_us` | Float64 | time in the router, µs |
//! | `upstream_status` | Int64, nullable | the upstream's HTTP status (null: no upstream call) |
//! | `prompt_sha256` | Utf8, nullable | sha256 of the conversation JSON, when prompts were hashed (then `messages` is null) |
//!
//! In a served log only the served model's `<model>|input_tokens`, `|output_tokens` (the
//! upstream's `usage`, when it reports one) and `|latency_ms` are set; every `|quality` is
//! null (unscored). Outcomes known later (judge scores, user feedback) are joined in by
//! `request_id`: write a copy of the files with the `<model>|quality` cells filled.
/// Parquet key-value metadata key naming the schema version.
pub const SCHEMA_METADATA_KEY: &str = "routelab.schema";
/// The version of logs with only the v1 columns (importers, dataset builders).
pub const SCHEMA_VERSION: &str = "request-log/v1";
/// The version of logs with the served columns (`routelab serve --request-log`).
pub const SERVED_SCHEMA_VERSION: &str = "request-log/v2";

/// Unique request id.
pub const REQUEST_ID: &str = "request_id";
/// Last user turn.
pub const PROMPT: &str = "prompt";
/// Whole conversation as OpenAI messages JSON.
pub const MESSAGES: &str = "messages";
/// Expected domain category.
pub const CATEGORY: &str = "category";
/// Expected decision name.
pub const EXPECTED_DECISION: &str = "expected_decision";
/// v2: arrival time (Timestamp ms, UTC).
pub const TIMESTAMP: &str = "timestamp";
/// v2: the decision serve chose.
pub const SERVED_DECISION: &str = "served_decision";
/// v2: the model serve sent the request to.
pub const SERVED_MODEL: &str = "served_model";
/// v2: router time in µs.
pub const ROUTER_US: &str = "router_us";
/// v2: the upstream's HTTP status.
pub const UPSTREAM_STATUS: &str = "upstream_status";
/// v2: sha256 of the conversation, when prompts were hashed instead of kept.
pub const PROMPT_SHA256: &str = "prompt_sha256";

/// Separator between a model name and its per-model field (RouterBench style).
pub const MODEL_FIELD_SEPARATOR: char = '|';

/// A per-model field of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModelField {
    /// Answer quality in `[0, 1]` (Float64).
    Quality,
    /// Prompt tokens (Int64).
    InputTokens,
    /// Completion tokens (Int64).
    OutputTokens,
    /// Logged cost in USD (Float64).
    Cost,
    /// Logged latency in milliseconds (Float64).
    LatencyMs,
}

impl ModelField {
    /// Every per-model field.
    pub const ALL: [ModelField; 5] = [
        ModelField::Quality,
        ModelField::InputTokens,
        ModelField::OutputTokens,
        ModelField::Cost,
        ModelField::LatencyMs,
    ];

    /// The suffix after the separator.
    pub fn suffix(self) -> &'static str {
        match self {
            ModelField::Quality => "quality",
            ModelField::InputTokens => "input_tokens",
            ModelField::OutputTokens => "output_tokens",
            ModelField::Cost => "cost",
            ModelField::LatencyMs => "latency_ms",
        }
    }

    /// Whether the column holds integers (Int64) rather than floats (Float64).
    pub fn is_integer(self) -> bool {
        matches!(self, ModelField::InputTokens | ModelField::OutputTokens)
    }

    /// Parses a suffix.
    pub fn from_suffix(s: &str) -> Option<Self> {
        ModelField::ALL.into_iter().find(|f| f.suffix() == s)
    }
}

/// The column name of `field` for `model` (`gpt-4|quality`).
pub fn model_column(model: &str, field: ModelField) -> String {
    format!("{model}{MODEL_FIELD_SEPARATOR}{}", field.suffix())
}

/// The nullable column of `field` for `model` (Int64 token counts, Float64 otherwise).
pub fn model_field(model: &str, field: ModelField) -> arrow::datatypes::Field {
    use arrow::datatypes::DataType;
    let t = if field.is_integer() {
        DataType::Int64
    } else {
        DataType::Float64
    };
    arrow::datatypes::Field::new(model_column(model, field), t, true)
}

/// Splits a per-model column name into model and field; `None` for other columns.
pub fn parse_model_column(column: &str) -> Option<(&str, ModelField)> {
    let (model, suffix) = column.rsplit_once(MODEL_FIELD_SEPARATOR)?;
    if model.is_empty() {
        return None;
    }
    Some((model, ModelField::from_suffix(suffix)?))
}

/// One model's logged outcome for one request (the `<model>|*` cells of a row).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelOutcome {
    /// Answer quality in `[0, 1]`; `None` = unscored.
    pub quality: Option<f64>,
    /// Prompt tokens.
    pub input_tokens: Option<i64>,
    /// Completion tokens.
    pub output_tokens: Option<i64>,
    /// Logged cost in USD.
    pub cost: Option<f64>,
    /// Logged end-to-end latency in milliseconds.
    pub latency_ms: Option<f64>,
}

/// One row of a request log, as read or to be written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogRow {
    /// Unique request id.
    pub request_id: String,
    /// Last user turn.
    pub prompt: Option<String>,
    /// Conversation as OpenAI messages JSON.
    pub messages: Option<String>,
    /// Expected domain category.
    pub category: Option<String>,
    /// Expected decision name.
    pub expected_decision: Option<String>,
    /// Outcomes, one per model of the log (same order as the log's model list).
    pub outcomes: Vec<ModelOutcome>,
}

impl LogRow {
    /// The row borrowed as a [`LogRowRef`] (what the replay and the cost model read).
    pub fn view(&self) -> LogRowRef<'_> {
        LogRowRef {
            request_id: &self.request_id,
            prompt: self.prompt.as_deref(),
            messages: self.messages.as_deref(),
            category: self.category.as_deref(),
            expected_decision: self.expected_decision.as_deref(),
            outcomes: &self.outcomes,
        }
    }

    /// The user text: `prompt`, else the raw `messages` JSON.
    pub fn text(&self) -> &str {
        self.view().text()
    }
}

/// One row of a request log, borrowed: from a decoded batch (no copy per row, see
/// [`crate::log_reader::LogBatch`]) or from a [`LogRow`]. Fields as in [`LogRow`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogRowRef<'a> {
    /// Unique request id.
    pub request_id: &'a str,
    /// Last user turn.
    pub prompt: Option<&'a str>,
    /// Conversation as OpenAI messages JSON.
    pub messages: Option<&'a str>,
    /// Expected domain category.
    pub category: Option<&'a str>,
    /// Expected decision name.
    pub expected_decision: Option<&'a str>,
    /// Outcomes, one per model of the log (same order as the log's model list).
    pub outcomes: &'a [ModelOutcome],
}

impl<'a> LogRowRef<'a> {
    /// The row as an owned [`LogRow`].
    pub fn to_row(&self) -> LogRow {
        LogRow {
            request_id: self.request_id.to_string(),
            prompt: self.prompt.map(str::to_string),
            messages: self.messages.map(str::to_string),
            category: self.category.map(str::to_string),
            expected_decision: self.expected_decision.map(str::to_string),
            outcomes: self.outcomes.to_vec(),
        }
    }

    /// The request the router sees: `messages` when present, else `prompt` as one user turn.
    /// `row` and `path` only name the place in the error.
    pub fn route_request(
        &self,
        path: &str,
        row: u64,
    ) -> crate::error::Result<router_core::request::RouteRequest> {
        let mut request = router_core::request::RouteRequest::default();
        self.fill_route_request(&mut request, path, row)?;
        Ok(request)
    }

    /// Like [`LogRowRef::route_request`], but overwrites `request`, reusing its allocations
    /// for a plain prompt (a replay keeps one such buffer per worker).
    pub fn fill_route_request(
        &self,
        request: &mut router_core::request::RouteRequest,
        path: &str,
        row: u64,
    ) -> crate::error::Result<()> {
        use router_core::request::ChatMessage;
        if let Some(json) = self.messages {
            *request = router_core::request::parse_conversation_json(json).map_err(|e| {
                crate::error::EvalError::BadValue {
                    path: path.to_string(),
                    row,
                    column: MESSAGES.into(),
                    message: format!("not an OpenAI conversation: {e}"),
                }
            })?;
            return Ok(());
        }
        let Some(prompt) = self.prompt else {
            return Err(crate::error::EvalError::BadValue {
                path: path.to_string(),
                row,
                column: PROMPT.into(),
                message: "both `prompt` and `messages` are null".into(),
            });
        };
        request.tools.clear();
        request.messages.truncate(1);
        match request.messages.first_mut() {
            Some(m) => {
                if m.role != "user" {
                    m.role.clear();
                    m.role.push_str("user");
                }
                m.content.clear();
                m.content.push_str(prompt);
                m.images = 0;
                m.other_parts = 0;
                m.tool_calls.clear();
                m.tool_call_id = None;
            }
            None => request.messages.push(ChatMessage::new("user", prompt)),
        }
        Ok(())
    }

    /// The user text: `prompt`, else the raw `messages` JSON.
    pub fn text(&self) -> &'a str {
        self.prompt.or(self.messages).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_columns_round_trip_through_names_with_slashes() {
        let col = model_column(
            "mistralai/Mixtral-8x7B-Instruct-v0.1",
            ModelField::InputTokens,
        );
        assert_eq!(col, "mistralai/Mixtral-8x7B-Instruct-v0.1|input_tokens");
        assert_eq!(
            parse_model_column(&col),
            Some((
                "mistralai/Mixtral-8x7B-Instruct-v0.1",
                ModelField::InputTokens
            ))
        );
        assert_eq!(parse_model_column("prompt"), None);
        assert_eq!(parse_model_column("|quality"), None);
        assert_eq!(parse_model_column("m|unknown"), None);
    }
}
