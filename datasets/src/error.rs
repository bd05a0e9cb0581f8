//! Errors of the dataset builders.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong while fetching sources or building a data set.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`reading`, `writing`, ...).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A pinned source wheel is not in the cache and could not be downloaded.
    #[error("source {package}=={version} is missing: {path} does not exist ({reason}); fetch it with `{command}`")]
    MissingSource {
        /// PyPI package name.
        package: String,
        /// Pinned version.
        version: String,
        /// Where the wheel was expected.
        path: PathBuf,
        /// Why it is missing (download disabled, pip failed, ...).
        reason: String,
        /// The command that downloads it.
        command: String,
    },
    /// A source file's sha256 differs from the pinned one.
    #[error("checksum mismatch for {path}: expected sha256 {expected}, got {actual}; delete the file and fetch {package} again")]
    Checksum {
        /// The file checked.
        path: PathBuf,
        /// Package it belongs to.
        package: String,
        /// Pinned sha256.
        expected: String,
        /// Computed sha256.
        actual: String,
    },
    /// A file inside a wheel could not be found or read.
    #[error("wheel {wheel}: {message}")]
    Wheel {
        /// The wheel file.
        wheel: PathBuf,
        /// What failed.
        message: String,
    },
    /// Source data did not have the expected shape.
    #[error("{file}, {location}: {message}")]
    BadInput {
        /// File (or file inside a wheel) concerned.
        file: String,
        /// Row / line / field.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// The tokenizer could not be loaded or failed.
    #[error("tokenizer {path}: {message}")]
    Tokenizer {
        /// tokenizer.json path.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// Arrow or Parquet failed.
    #[error("parquet {path}: {message}")]
    Parquet {
        /// File concerned.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// A manifest could not be parsed or does not match the files on disk.
    #[error("manifest {path}: {message}")]
    Manifest {
        /// manifest.json path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// Wraps an I/O error with the path and action.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// A bad-input error.
    pub fn bad_input(
        file: impl Into<String>,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::BadInput {
            file: file.into(),
            location: location.into(),
            message: message.into(),
        }
    }
}
