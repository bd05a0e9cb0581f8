//! One loaded model per directory, shared by every signal that names it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::embed::Embedder;
use super::options::InferenceOptions;
use super::sequence::SequenceClassifier;
use super::source::ModelSource;
use super::token::TokenClassifier;
use crate::Result;

type Cache<T> = Mutex<HashMap<PathBuf, Arc<T>>>;

/// A cache of loaded models keyed by their resolved (canonical) directory.
#[derive(Default)]
pub struct ModelRegistry {
    options: InferenceOptions,
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

    /// The options models are loaded with.
    pub fn options(&self) -> &InferenceOptions {
        &self.options
    }

    /// The sequence classifier at `source`, loaded on first use.
    pub fn sequence(&self, source: &ModelSource) -> Result<Arc<SequenceClassifier>> {
        get_or_load(&self.sequence, source, |s| {
            SequenceClassifier::load(s, &self.options)
        })
    }

    /// The token classifier at `source`, loaded on first use.
    pub fn token(&self, source: &ModelSource) -> Result<Arc<TokenClassifier>> {
        get_or_load(&self.token, source, |s| {
            TokenClassifier::load(s, &self.options)
        })
    }

    /// The embedder at `source`, loaded on first use.
    pub fn embedder(&self, source: &ModelSource) -> Result<Arc<Embedder>> {
        get_or_load(&self.embedder, source, |s| Embedder::load(s, &self.options))
    }
}

fn get_or_load<T>(
    cache: &Cache<T>,
    source: &ModelSource,
    load: impl FnOnce(&ModelSource) -> Result<T>,
) -> Result<Arc<T>> {
    let dir = source.resolve()?;
    let key = dir.canonicalize().unwrap_or(dir.clone());
    let mut map = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(m) = map.get(&key) {
        return Ok(Arc::clone(m));
    }
    let model = Arc::new(load(&ModelSource::Dir(key.clone()))?);
    map.insert(key, Arc::clone(&model));
    Ok(model)
}
