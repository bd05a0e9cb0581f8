//! The error type of the train crate.

/// Everything that can go wrong while loading data or weights, training or exporting.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A weight file is missing a tensor, has a wrong shape or dtype, or is corrupt.
    #[error("weights {path}: {message}")]
    Weights {
        /// The weight file.
        path: String,
        /// What is wrong (names the tensor).
        message: String,
    },
    /// A data file is malformed (names file, row and field).
    #[error("data {path}: {message}")]
    Data {
        /// The data file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The training configuration is invalid.
    #[error("config: {0}")]
    Config(String),
    /// The tokenizer could not be loaded or failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The compute device could not be started.
    #[error("device {device}: {message}")]
    Device {
        /// The device name as given (`cuda:0`).
        device: String,
        /// What failed.
        message: String,
    },
    /// A checkpoint could not be written or read back.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The checkpoint directory.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl TrainError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

/// `Result` with [`TrainError`].
pub type Result<T> = std::result::Result<T, TrainError>;
