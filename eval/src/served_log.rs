//! Writer of served request logs (`request-log/v2`): what `routelab serve --request-log`
//! records, one file at a time (the server rotates files; each appears atomically when it is
//! finished, so a crash loses at most the open file's rows and never leaves a corrupt file).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::atomic::{BufferedParquet, Columns};
use crate::error::{EvalError, Result};
use crate::log_schema::{self, ModelField};

/// Rows buffered before a record batch is written.
const FLUSH_ROWS: usize = 1024;

/// The per-model fields a served log has: quality (always null: unscored), the upstream's
/// token counts and the measured latency.
const SERVED_FIELDS: [ModelField; 4] = [
    ModelField::Quality,
    ModelField::InputTokens,
    ModelField::OutputTokens,
    ModelField::LatencyMs,
];

/// One request as served.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServedRecord {
    /// Unique request id.
    pub request_id: String,
    /// Arrival time, ms since the Unix epoch.
    pub timestamp_ms: i64,
    /// The conversation as OpenAI JSON (`None` when prompts are not kept).
    pub messages: Option<String>,
    /// sha256 of the conversation JSON, when prompts are hashed.
    pub prompt_sha256: Option<String>,
    /// The decision chosen (`None`: no decision matched).
    pub decision: Option<String>,
    /// The model the request was sent to (`None`: blocked or answered from the cache).
    pub model: Option<String>,
    /// Router time, µs.
    pub router_us: f64,
    /// The upstream's HTTP status.
    pub upstream_status: Option<i64>,
    /// Prompt tokens the upstream reported.
    pub input_tokens: Option<i64>,
    /// Completion tokens the upstream reported.
    pub output_tokens: Option<i64>,
    /// Upstream latency, ms (to the whole body, or to the headers for streams).
    pub latency_ms: Option<f64>,
}

/// Whether the conversation is kept, hashed or left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptColumns {
    /// A `messages` column with the conversation (replayable).
    Full,
    /// A `prompt_sha256` column only (not replayable).
    Hashed,
}

/// Streams [`ServedRecord`]s into one Parquet file of a served log.
pub struct ServedLogWriter {
    out: BufferedParquet<ServedColumns>,
}

/// The columns of a served log with these models and prompt columns.
struct ServedColumns {
    models: Vec<String>,
    prompts: PromptColumns,
}

fn schema(models: &[String], prompts: PromptColumns) -> SchemaRef {
    let utf8 = |name: &str, nullable| Field::new(name, DataType::Utf8, nullable);
    let mut cols = vec![utf8(log_schema::REQUEST_ID, false)];
    cols.push(match prompts {
        PromptColumns::Full => utf8(log_schema::MESSAGES, true),
        PromptColumns::Hashed => utf8(log_schema::PROMPT_SHA256, true),
    });
    cols.extend([
        Field::new(
            log_schema::TIMESTAMP,
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        utf8(log_schema::SERVED_DECISION, true),
        utf8(log_schema::SERVED_MODEL, true),
        Field::new(log_schema::ROUTER_US, DataType::Float64, false),
        Field::new(log_schema::UPSTREAM_STATUS, DataType::Int64, true),
    ]);
    for m in models {
        cols.extend(SERVED_FIELDS.map(|f| log_schema::model_field(m, f)));
    }
    let metadata = HashMap::from([(
        log_schema::SCHEMA_METADATA_KEY.to_string(),
        log_schema::SERVED_SCHEMA_VERSION.to_string(),
    )]);
    Arc::new(Schema::new_with_metadata(cols, metadata))
}

impl ServedLogWriter {
    /// Starts a file at `path` (written under a hidden temporary name until [`Self::finish`])
    /// with per-model columns for `models`.
    pub fn create(path: &Path, models: &[String], prompts: PromptColumns) -> Result<Self> {
        let columns = ServedColumns {
            models: models.to_vec(),
            prompts,
        };
        let schema = schema(models, prompts);
        Ok(ServedLogWriter {
            out: BufferedParquet::create(path, schema, columns, FLUSH_ROWS)?,
        })
    }

    /// The models this file has columns for.
    pub fn models(&self) -> &[String] {
        &self.out.columns().models
    }

    /// Rows pushed so far.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// Whether no row was pushed.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// Appends a record; a served model without columns in this file is an error (the server
    /// starts a new file when its config's models change).
    pub fn push(&mut self, record: ServedRecord) -> Result<()> {
        if let Some(m) = &record.model {
            if !self.models().contains(m) {
                return Err(EvalError::Invalid(format!(
                    "{}: request {} was served by {m}, which this file has no columns for",
                    self.out.path(),
                    record.request_id
                )));
            }
        }
        self.out.push(record)
    }

    /// Writes the remaining rows, closes the file and renames it into place.
    pub fn finish(self) -> Result<()> {
        self.out.finish()
    }
}

impl Columns for ServedColumns {
    type Row = ServedRecord;

    fn columns(&self, rows: &[ServedRecord]) -> Vec<ArrayRef> {
        let strings = |get: &dyn Fn(&ServedRecord) -> Option<&str>| -> ArrayRef {
            let mut b = StringBuilder::new();
            rows.iter().for_each(|r| b.append_option(get(r)));
            Arc::new(b.finish())
        };
        let ints = |get: &dyn Fn(&ServedRecord) -> Option<i64>| -> ArrayRef {
            let mut b = Int64Builder::new();
            rows.iter().for_each(|r| b.append_option(get(r)));
            Arc::new(b.finish())
        };
        let floats = |get: &dyn Fn(&ServedRecord) -> Option<f64>| -> ArrayRef {
            let mut b = Float64Builder::new();
            rows.iter().for_each(|r| b.append_option(get(r)));
            Arc::new(b.finish())
        };
        let mut times = TimestampMillisecondBuilder::new().with_timezone("UTC");
        rows.iter().for_each(|r| times.append_value(r.timestamp_ms));
        let mut arrays = vec![
            strings(&|r| Some(r.request_id.as_str())),
            match self.prompts {
                PromptColumns::Full => strings(&|r| r.messages.as_deref()),
                PromptColumns::Hashed => strings(&|r| r.prompt_sha256.as_deref()),
            },
            Arc::new(times.finish()) as ArrayRef,
            strings(&|r| r.decision.as_deref()),
            strings(&|r| r.model.as_deref()),
            floats(&|r| Some(r.router_us)),
            ints(&|r| r.upstream_status),
        ];
        for m in &self.models {
            let served = |r: &ServedRecord| r.model.as_deref() == Some(m.as_str());
            arrays.push(floats(&|_| None));
            arrays.push(ints(&|r| r.input_tokens.filter(|_| served(r))));
            arrays.push(ints(&|r| r.output_tokens.filter(|_| served(r))));
            arrays.push(floats(&|r| r.latency_ms.filter(|_| served(r))));
        }
        arrays
    }
}
