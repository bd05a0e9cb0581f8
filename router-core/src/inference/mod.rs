//! Candle inference for BERT-family models: sequence classification (domain, jailbreak), token
//! classification (PII) and sentence embeddings.
//!
//! A model is a Hugging Face directory ([`crate::export`] names its files) found through a
//! [`ModelSource`]. Loading validates every tensor's name and shape and the label map against
//! the head; errors are [`crate::Error::Model`] naming the file and tensor. Inputs are
//! tokenized, truncated to `max_length` (truncations are counted and logged; token classification
//! instead tags long inputs in overlapping windows and merges them), sorted by length,
//! padded per batch and masked, so a text's output does not depend on its batch mates.
//! See [`InferenceOptions`] for threading.

mod bert;
mod embed;
mod encoder;
mod fastmath;
mod loaded;
mod ops;
mod options;
mod outputs;
mod recent;
mod registry;
mod sequence;
mod source;
mod token;
mod tokenize;
pub(crate) mod weights;

pub use bert::BertEncoder;
pub use embed::{cosine, Embedder};
pub use encoder::Encoder;
pub use options::{InferenceOptions, DEFAULT_BATCH_SIZE, DEFAULT_MAX_LENGTH};
pub use outputs::{text_key, Memo, ModelId, Output, OutputStore, Stored, TextKey};
pub use recent::RecentOutputs;
pub use registry::{content_key, ModelRegistry};
pub use sequence::SequenceClassifier;
pub use source::{ModelSource, HUB_SCHEME};
pub use token::{
    aggregate_bio, merge_windows, Entity, TokenClassifier, TokenTag, DEFAULT_WINDOW_OVERLAP,
};
