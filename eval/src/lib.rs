#![warn(missing_docs)]
//! eval: replay Parquet request logs through router-core and score routing policies.
//!
//! * [`log_schema`], [`log_reader`], [`log_writer`], [`import`]: the request-log format, a
//!   streaming reader, a writer and importers from RouteLLM / RouterBench layouts.
//! * [`outcomes`], [`tally`], [`scoring`], [`classify`], [`curves`], [`stats`],
//!   [`bootstrap`], [`quantiles`]: metrics and statistics, accumulated request by request.
//! * [`report`], [`gate`], [`sweep`]: report data, the CI gate, threshold sweeps.

pub mod atomic;
pub mod bootstrap;
pub mod calibrate;
pub mod classify;
pub mod compare;
pub mod curves;
pub mod decisions;
pub mod error;
pub mod evaluate;
pub mod gate;
pub mod import;
pub mod latency_log;
pub mod log_reader;
pub mod log_schema;
pub mod log_writer;
pub mod outcomes;
pub mod probe;
pub mod quantiles;
pub mod replay;
pub mod report;
pub mod report_html;
pub mod report_md;
pub mod scoring;
pub mod selection_metrics;
pub mod served_log;
pub mod signal_store;
pub mod stats;
pub mod sweep;
pub mod synthetic;
pub mod tally;

pub use error::{EvalError, Result};
