//! The error type of the eval crate.

/// Everything that can go wrong while reading logs, replaying, scoring and writing reports.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A file could not be read or written.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: String,
        /// The cause (shown in the message, so not chained as a `source`).
        cause: std::io::Error,
    },
    /// A Parquet or Arrow error while decoding or encoding a file.
    #[error("{path}: {message}")]
    Parquet {
        /// The file.
        path: String,
        /// What the parquet/arrow reader said.
        message: String,
    },
    /// A required column is absent.
    #[error("{path}: missing column `{column}` ({hint})")]
    MissingColumn {
        /// The file.
        path: String,
        /// The column.
        column: String,
        /// Why it is needed.
        hint: String,
    },
    /// A column has the wrong type.
    #[error("{path}: column `{column}` has type {found}, expected {expected}")]
    ColumnType {
        /// The file.
        path: String,
        /// The column.
        column: String,
        /// The expected type.
        expected: String,
        /// The type found.
        found: String,
    },
    /// A value in a row is invalid (null request id, quality outside [0, 1], bad CSV cell, ...).
    #[error("{path}: row {row}, column `{column}`: {message}")]
    BadValue {
        /// The file.
        path: String,
        /// The 0-based data row.
        row: u64,
        /// The column.
        column: String,
        /// What is wrong.
        message: String,
    },
    /// A model of the routing config has no outcome column in the log.
    #[error("{path}: model(s) {models:?} of the config have no `<model>|quality` column; pass --allow-unscored to count their requests as unscored")]
    UnscoredModels {
        /// The log file.
        path: String,
        /// The models without a quality column.
        models: Vec<String>,
    },
    /// Invalid user input (a sweep spec, thresholds, an argument).
    #[error("{0}")]
    Invalid(String),
    /// An error from router-core (config loading or routing).
    #[error(transparent)]
    Router(#[from] router_core::Error),
    /// JSON or YAML (de)serialisation failed.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl EvalError {
    /// An I/O error on `path`.
    pub fn io(path: impl AsRef<std::path::Path>, cause: std::io::Error) -> Self {
        EvalError::Io {
            path: path.as_ref().display().to_string(),
            cause,
        }
    }

    /// A parquet/arrow error on `path`.
    pub fn parquet(path: impl AsRef<std::path::Path>, e: impl std::fmt::Display) -> Self {
        EvalError::Parquet {
            path: path.as_ref().display().to_string(),
            message: e.to_string(),
        }
    }
}

/// `Result` with [`EvalError`].
pub type Result<T> = std::result::Result<T, EvalError>;
