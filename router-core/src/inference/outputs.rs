//! Model outputs kept for later: a replay's signal store. A model-based signal asks its
//! [`Memo`] (when the registry that built it has an [`OutputStore`]) for each input text's
//! output before running the model, runs it on the texts the store lacks, and hands those
//! outputs to the store. The signal's rules (thresholds, categories, candidates) apply to the
//! outputs afterwards, so they are never part of what is stored: changing them never needs the
//! model again, and nothing stale can be read, since an entry is keyed by the model's identity
//! (its content and settings) and the exact text it was given.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::token::Entity;
use crate::Result;

/// sha256 of a model input text.
pub type TextKey = [u8; 32];

/// The key of `text`.
pub fn text_key(text: &str) -> TextKey {
    Sha256::digest(text.as_bytes()).into()
}

/// One model output for one text.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Class probabilities (sequence classifiers) or a sentence embedding.
    Scores(Vec<f32>),
    /// Entities (token classifiers).
    Entities(Vec<Entity>),
}

/// Where model outputs are kept. `model` is a [`Memo::model`] fingerprint.
pub trait OutputStore: Send + Sync {
    /// Called once per model a signal is built on, before any [`OutputStore::get`]: a store
    /// that reads from disk loads (and checks) what it has of `model` here.
    fn prepare(&self, model: &ModelId) -> Result<()> {
        let _ = model;
        Ok(())
    }
    /// The output `model` gave for the text of `key`, if stored.
    fn get(&self, model: &ModelId, key: &TextKey) -> Option<Output>;
    /// Keeps an output the model just computed.
    fn put(&self, model: &ModelId, key: TextKey, output: Output);
}

/// A model's identity for stored outputs: what it is (`sequence`, `token`, `embedding`), the
/// content key of its files and the settings that change its outputs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ModelId {
    /// `sequence`, `token` or `embedding`.
    pub kind: &'static str,
    /// [`super::content_key`] of the model directory.
    pub content: String,
    /// Tokens per input after truncation.
    pub max_length: usize,
    /// Where the model was loaded from (for people; not part of the identity's meaning, but
    /// equal content from two places is stored twice, which is harmless).
    pub dir: String,
}

impl ModelId {
    /// A short stable name: `<kind>-<first 16 hex of sha256(kind, content, max_length)>`.
    pub fn name(&self) -> String {
        let h = crate::digest::sha256_hex(
            format!("{}\n{}\n{}", self.kind, self.content, self.max_length).as_bytes(),
        );
        format!("{}-{}", self.kind, &h[..16])
    }
}

/// A signal's handle on the store for its model.
#[derive(Clone)]
pub struct Memo {
    store: Arc<dyn OutputStore>,
    model: ModelId,
}

impl Memo {
    /// The handle of `model`'s outputs in `store`.
    pub fn new(store: Arc<dyn OutputStore>, model: ModelId) -> Self {
        Memo { store, model }
    }

    /// The model this handle stores outputs of.
    pub fn model(&self) -> &ModelId {
        &self.model
    }

    /// Outputs for `texts`: stored ones read, the others computed (in one call) and stored.
    fn run<T>(
        &self,
        texts: &[&str],
        compute: impl FnOnce(&[&str]) -> Result<Vec<T>>,
        wrap: impl Fn(&T) -> Output,
        unwrap: impl Fn(Output) -> Option<T>,
    ) -> Result<Vec<T>> {
        let keys: Vec<TextKey> = texts.iter().map(|t| text_key(t)).collect();
        let mut out: Vec<Option<T>> = keys
            .iter()
            .map(|k| self.store.get(&self.model, k).and_then(&unwrap))
            .collect();
        let missing: Vec<usize> = (0..texts.len()).filter(|&i| out[i].is_none()).collect();
        if !missing.is_empty() {
            let todo: Vec<&str> = missing.iter().map(|&i| texts[i]).collect();
            for (i, value) in missing.into_iter().zip(compute(&todo)?) {
                self.store.put(&self.model, keys[i], wrap(&value));
                out[i] = Some(value);
            }
        }
        Ok(out
            .into_iter()
            .map(|o| o.expect("every text has an output"))
            .collect())
    }
}

impl Output {
    fn into_scores(self) -> Option<Vec<f32>> {
        match self {
            Output::Scores(v) => Some(v),
            Output::Entities(_) => None,
        }
    }

    fn into_entities(self) -> Option<Vec<Entity>> {
        match self {
            Output::Entities(v) => Some(v),
            Output::Scores(_) => None,
        }
    }
}

/// A model with the store its outputs go through (none: it always runs). Signals hold their
/// model this way; everything but the output calls reaches the model itself (`Deref`).
pub struct Stored<T> {
    model: Arc<T>,
    memo: Option<Memo>,
}

impl<T> Stored<T> {
    /// `model`, its outputs read from and kept in `memo` when given.
    pub fn new(model: Arc<T>, memo: Option<Memo>) -> Self {
        Stored { model, memo }
    }

    /// Score vectors of `texts` through the store.
    fn scores(
        &self,
        texts: &[&str],
        compute: impl FnOnce(&[&str]) -> Result<Vec<Vec<f32>>>,
    ) -> Result<Vec<Vec<f32>>> {
        match &self.memo {
            None => compute(texts),
            Some(m) => m.run(
                texts,
                compute,
                |v| Output::Scores(v.clone()),
                Output::into_scores,
            ),
        }
    }
}

impl<T> From<Arc<T>> for Stored<T> {
    fn from(model: Arc<T>) -> Self {
        Stored::new(model, None)
    }
}

impl<T> std::ops::Deref for Stored<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.model
    }
}

impl Stored<super::SequenceClassifier> {
    /// [`super::SequenceClassifier::classify_batch`], through the store.
    pub fn classify_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.scores(texts, |t| self.model.classify_batch(t))
    }
}

impl Stored<super::Embedder> {
    /// [`super::Embedder::embed_batch`], through the store.
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.scores(texts, |t| self.model.embed_batch(t))
    }
}

impl Stored<super::TokenClassifier> {
    /// [`super::TokenClassifier::entities_batch`], through the store.
    pub fn entities_batch(&self, texts: &[&str]) -> Result<Vec<Vec<Entity>>> {
        match &self.memo {
            None => self.model.entities_batch(texts),
            Some(m) => m.run(
                texts,
                |t| self.model.entities_batch(t),
                |v| Output::Entities(v.clone()),
                Output::into_entities,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;

    #[derive(Default)]
    struct MapStore(Mutex<HashMap<(ModelId, TextKey), Output>>);

    impl OutputStore for MapStore {
        fn get(&self, model: &ModelId, key: &TextKey) -> Option<Output> {
            self.0.lock().unwrap().get(&(model.clone(), *key)).cloned()
        }
        fn put(&self, model: &ModelId, key: TextKey, output: Output) {
            self.0.lock().unwrap().insert((model.clone(), key), output);
        }
    }

    fn id(content: &str) -> ModelId {
        ModelId {
            kind: "sequence",
            content: content.into(),
            max_length: 128,
            dir: "m".into(),
        }
    }

    #[test]
    fn only_missing_texts_are_computed_and_models_do_not_share_entries() {
        let store: Arc<dyn OutputStore> = Arc::new(MapStore::default());
        let memo = Memo::new(Arc::clone(&store), id("a"));
        let calls = Mutex::new(Vec::new());
        let compute = |t: &[&str]| {
            calls.lock().unwrap().push(t.len());
            Ok(t.iter().map(|s| vec![s.len() as f32]).collect())
        };
        let wrap = |v: &Vec<f32>| Output::Scores(v.clone());
        let first = memo
            .run(&["ab", "c"], compute, wrap, Output::into_scores)
            .unwrap();
        let second = memo
            .run(&["c", "ab", "xyz"], compute, wrap, Output::into_scores)
            .unwrap();
        assert_eq!(first, vec![vec![2.0], vec![1.0]]);
        assert_eq!(second, vec![vec![1.0], vec![2.0], vec![3.0]]);
        // The second call ran the model on "xyz" alone.
        assert_eq!(*calls.lock().unwrap(), vec![2, 1]);
        let other = Memo::new(store, id("b"));
        other
            .run(&["c"], compute, wrap, Output::into_scores)
            .unwrap();
        assert_eq!(*calls.lock().unwrap(), vec![2, 1, 1]);
        assert_ne!(id("a").name(), id("b").name());
    }
}
