//! A bounded in-memory [`OutputStore`]: the most recent model outputs. With it, the signals of
//! one request that give a model the same text run the model once (an embedding rule, a
//! complexity rule and a knowledge base all embed the request's text with the embedding
//! model), and a prompt seen a moment ago runs no model. Entries are keyed like every stored
//! output, by the model's identity (its content, hashed when the signal is built) and the
//! exact text, so a re-exported model never reads its predecessor's outputs.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use super::outputs::{ModelId, Output, OutputStore, TextKey};

/// The last `capacity` outputs computed, over every model (the oldest is dropped first).
#[derive(Debug)]
pub struct RecentOutputs {
    capacity: usize,
    inner: Mutex<Recent>,
}

#[derive(Debug, Default)]
struct Recent {
    /// Models seen, by the index entries carry.
    models: Vec<ModelId>,
    outputs: HashMap<(usize, TextKey), Output>,
    /// Keys in the order they were added.
    order: VecDeque<(usize, TextKey)>,
}

impl Recent {
    fn model_index(&mut self, model: &ModelId) -> usize {
        match self.models.iter().position(|m| m == model) {
            Some(i) => i,
            None => {
                self.models.push(model.clone());
                self.models.len() - 1
            }
        }
    }
}

impl Default for RecentOutputs {
    /// [`RecentOutputs::DEFAULT_CAPACITY`] outputs.
    fn default() -> Self {
        RecentOutputs::new(RecentOutputs::DEFAULT_CAPACITY)
    }
}

impl RecentOutputs {
    /// What `serve` and `probe` keep: 4,096 outputs (a MiniLM embedding is 1.5 KB, so about
    /// 6 MB at most).
    pub const DEFAULT_CAPACITY: usize = 4096;

    /// Keeps at most `capacity` outputs (0 keeps none).
    pub fn new(capacity: usize) -> Self {
        RecentOutputs {
            capacity,
            inner: Mutex::new(Recent::default()),
        }
    }

    /// Outputs held now.
    pub fn len(&self) -> usize {
        self.lock().outputs.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries; a panic elsewhere while holding the lock leaves them consistent (every
    /// update is one insert or remove), so a poisoned lock is used as is.
    fn lock(&self) -> std::sync::MutexGuard<'_, Recent> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl OutputStore for RecentOutputs {
    fn get(&self, model: &ModelId, key: &TextKey) -> Option<Output> {
        let inner = self.lock();
        let m = inner.models.iter().position(|x| x == model)?;
        inner.outputs.get(&(m, *key)).cloned()
    }

    fn put(&self, model: &ModelId, key: TextKey, output: Output) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.lock();
        let entry = (inner.model_index(model), key);
        if inner.outputs.insert(entry, output).is_none() {
            inner.order.push_back(entry);
        }
        while inner.outputs.len() > self.capacity {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            inner.outputs.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inference::text_key;

    fn model(content: &str) -> ModelId {
        ModelId {
            kind: "embedding",
            content: content.into(),
            max_length: 128,
            dir: "/m".into(),
        }
    }

    #[test]
    fn keeps_the_last_outputs_per_model_and_text() {
        let store = RecentOutputs::new(2);
        let (a, b) = (model("a"), model("b"));
        let out = |x: f32| Output::Scores(vec![x]);
        store.put(&a, text_key("one"), out(1.0));
        assert_eq!(store.get(&a, &text_key("one")), Some(out(1.0)));
        // Another model, or another text, is another entry.
        assert_eq!(store.get(&b, &text_key("one")), None);
        assert_eq!(store.get(&a, &text_key("two")), None);
        store.put(&b, text_key("one"), out(2.0));
        // Putting a held key again replaces it without taking a second place.
        store.put(&a, text_key("one"), out(3.0));
        assert_eq!(store.len(), 2);
        assert_eq!(store.get(&a, &text_key("one")), Some(out(3.0)));
        // A third entry drops the oldest.
        store.put(&a, text_key("two"), out(4.0));
        assert_eq!(store.len(), 2);
        assert_eq!(store.get(&a, &text_key("one")), None);
        assert_eq!(store.get(&b, &text_key("one")), Some(out(2.0)));
        assert_eq!(store.get(&a, &text_key("two")), Some(out(4.0)));
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let store = RecentOutputs::new(0);
        store.put(&model("a"), text_key("x"), Output::Scores(vec![1.0]));
        assert!(store.is_empty());
        assert_eq!(store.get(&model("a"), &text_key("x")), None);
    }
}
