//! Loaded models keyed by their content, shared by every signal and router that names them.
//!
//! A [`ModelRegistry`] is passed to [`crate::engine::Router::new`]; nothing reaches for a
//! process-wide cache. Entries are keyed by [`content_key`] (sha256 of the model's config,
//! weights and tokenizer), so two configs naming the same files share one copy, and a model
//! re-exported into the same directory is loaded afresh. [`ModelRegistry::prune`] drops the
//! models no router holds any more (serve calls it after each reload).

use std::collections::HashMap;
use std::io::Read as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::embed::Embedder;
use super::options::{InferenceOptions, DEFAULT_MAX_LENGTH};
use super::outputs::{Memo, ModelId, OutputStore};
use super::sequence::SequenceClassifier;
use super::source::ModelSource;
use super::token::TokenClassifier;
use crate::export::{CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE};
use crate::{Error, Result};

type Cache<T> = Mutex<HashMap<String, Arc<T>>>;

/// A cache of loaded models keyed by [`content_key`].
#[derive(Default)]
pub struct ModelRegistry {
    options: InferenceOptions,
    /// Where the signals built from this registry keep their models' outputs (replays).
    outputs: Option<Arc<dyn OutputStore>>,
    sequence: Cache<SequenceClassifier>,
    token: Cache<TokenClassifier>,
    embedder: Cache<Embedder>,
}

impl ModelRegistry {
    /// An empty registry loading every model with `options`.
    pub fn new(options: InferenceOptions) -> Self {
        ModelRegistry {
            options,
            ..Default::default()
        }
    }

    /// This registry, with the signals built from it keeping their models' outputs in `store`
    /// (a replay's signal store, or [`super::RecentOutputs`] in `serve` and `probe`).
    pub fn with_output_store(mut self, store: Arc<dyn OutputStore>) -> Self {
        self.outputs = Some(store);
        self
    }

    /// The store handle for the model at `source` of `kind` (`sequence`, `token`, `embedding`),
    /// when this registry has a store: the model is identified by its content, hashed now.
    pub fn memo(&self, kind: &'static str, source: &ModelSource) -> Result<Option<Memo>> {
        let Some(store) = &self.outputs else {
            return Ok(None);
        };
        let dir = source.resolve()?;
        let id = ModelId {
            kind,
            content: content_key(&dir)?,
            max_length: self.options.max_length.unwrap_or(DEFAULT_MAX_LENGTH),
            dir: dir.display().to_string(),
        };
        store.prepare(&id)?;
        Ok(Some(Memo::new(Arc::clone(store), id)))
    }

    /// The options models are loaded with.
    pub fn options(&self) -> &InferenceOptions {
        &self.options
    }

    /// The sequence classifier at `source`, loaded unless a model of the same content is.
    pub fn sequence(&self, source: &ModelSource) -> Result<Arc<SequenceClassifier>> {
        get_or_load(&self.sequence, source, |s| {
            SequenceClassifier::load(s, &self.options)
        })
    }

    /// The token classifier at `source`, loaded unless a model of the same content is.
    pub fn token(&self, source: &ModelSource) -> Result<Arc<TokenClassifier>> {
        get_or_load(&self.token, source, |s| {
            TokenClassifier::load(s, &self.options)
        })
    }

    /// The embedder at `source`, loaded unless a model of the same content is.
    pub fn embedder(&self, source: &ModelSource) -> Result<Arc<Embedder>> {
        get_or_load(&self.embedder, source, |s| Embedder::load(s, &self.options))
    }

    /// Drops every model that only this registry still holds; returns how many.
    pub fn prune(&self) -> usize {
        prune(&self.sequence) + prune(&self.token) + prune(&self.embedder)
    }

    /// Models currently held (all kinds).
    pub fn len(&self) -> usize {
        lock(&self.sequence).len() + lock(&self.token).len() + lock(&self.embedder).len()
    }

    /// Whether no model is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn lock<T>(cache: &Cache<T>) -> std::sync::MutexGuard<'_, HashMap<String, Arc<T>>> {
    cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn prune<T>(cache: &Cache<T>) -> usize {
    let mut map = lock(cache);
    let before = map.len();
    map.retain(|_, model| Arc::strong_count(model) > 1);
    before - map.len()
}

fn get_or_load<T>(
    cache: &Cache<T>,
    source: &ModelSource,
    load: impl FnOnce(&ModelSource) -> Result<T>,
) -> Result<Arc<T>> {
    let dir = source.resolve()?;
    let key = content_key(&dir)?;
    let mut map = lock(cache);
    if let Some(m) = map.get(&key) {
        return Ok(Arc::clone(m));
    }
    let model = Arc::new(load(&ModelSource::Dir(dir))?);
    map.insert(key, Arc::clone(&model));
    Ok(model)
}

/// The identity of a model directory's content: sha256 (hex) over its config, weights and
/// tokenizer files, each preceded by its name and length. A re-export into the same directory
/// changes it; a copy of the same files elsewhere does not.
pub fn content_key(dir: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    for name in [CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE] {
        let path = dir.join(name);
        let io = |e: std::io::Error| Error::Model {
            path: path.display().to_string(),
            message: format!("cannot read: {e}"),
        };
        let mut file = std::fs::File::open(&path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        hasher.update(name.as_bytes());
        hasher.update(len.to_le_bytes());
        loop {
            let n = file.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
    }
    Ok(crate::digest::hex(&hasher.finalize()))
}
