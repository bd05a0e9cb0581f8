//! The error type of router-core.

/// Everything that can go wrong while loading a config, a model or routing a request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The config is not valid YAML or has a wrong type; `location` names file, YAML path and line.
    #[error("{location}: {message}")]
    Config {
        /// `file:line: yaml.path` of the offending node.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// The config failed validation; every problem is listed.
    #[error("{} problem(s) in the config:\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<String>),
    /// A model directory or weight file is missing, corrupt or mismatched.
    #[error("model {path}: {message}")]
    Model {
        /// The model directory or file.
        path: String,
        /// What is wrong (names the tensor where relevant).
        message: String,
    },
    /// An error from candle while running a model.
    #[error("inference: {0}")]
    Candle(#[from] candle_core::Error),
    /// An error from the tokenizer.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
}

/// `Result` with router-core's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
