//! Inference settings and the thread pool forward passes run on.

use std::sync::Arc;

use crate::{Error, Result};

/// Default upper bound on tokens per input (BERT's position table size).
pub const DEFAULT_MAX_LENGTH: usize = 512;
/// Default number of texts per forward pass.
pub const DEFAULT_BATCH_SIZE: usize = 32;

/// How a model is run.
///
/// Threads: candle's CPU kernels (gemm matmuls, softmax, layer norm) and the tokenizer run on
/// rayon. With `threads: Some(n)` the model owns a rayon pool of `n` threads and every
/// forward pass runs inside it; with `None` the global rayon pool is used (sized by
/// `RAYON_NUM_THREADS`, else one thread per core). Independently, candle splits each matmul
/// into `RAYON_NUM_THREADS` (else physical-core count) chunks; set that variable to the same
/// `n` for the tightest control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferenceOptions {
    /// Tokens per input after truncation (special tokens included); capped by the model's
    /// `max_position_embeddings`. `None`: [`DEFAULT_MAX_LENGTH`].
    pub max_length: Option<usize>,
    /// Texts per forward pass when a call passes more.
    pub batch_size: usize,
    /// Size of the model's own rayon pool; `None` uses the global pool.
    pub threads: Option<usize>,
}

impl Default for InferenceOptions {
    fn default() -> Self {
        InferenceOptions {
            max_length: None,
            batch_size: DEFAULT_BATCH_SIZE,
            threads: None,
        }
    }
}

/// Runs closures on the configured thread pool.
#[derive(Clone)]
pub(crate) struct Runtime {
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl Runtime {
    /// Builds the pool `options.threads` asks for.
    pub(crate) fn new(options: &InferenceOptions) -> Result<Self> {
        let pool = match options.threads {
            None => None,
            Some(0) => {
                return Err(Error::Model {
                    path: "<options>".into(),
                    message: "threads must be at least 1".into(),
                })
            }
            Some(n) => Some(Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .thread_name(|i| format!("routelab-infer-{i}"))
                    .build()
                    .map_err(|e| Error::Model {
                        path: "<options>".into(),
                        message: format!("cannot start {n} inference threads: {e}"),
                    })?,
            )),
        };
        Ok(Runtime { pool })
    }

    /// Runs `f` on the pool (or directly when there is none).
    pub(crate) fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }
}
