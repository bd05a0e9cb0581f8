//! Sequence classification (`BertForSequenceClassification`): one label distribution per text.

use std::path::Path;

use candle_core::{Module, Tensor};
use candle_nn::Linear;

use super::bert::softmax;
use super::loaded::{masked_mean, rows, Core, Loaded};
use super::options::InferenceOptions;
use super::source::ModelSource;
use crate::export::{Pooling, Task, TensorPath, HEAD_PREFIX};
use crate::{Error, Result};

/// A text classifier: encoder, pooling (per `routelab_pooling`) and a linear head.
pub struct SequenceClassifier {
    core: Core,
    pooling: Pooling,
    pooler: Option<Linear>,
    classifier: Linear,
    labels: Vec<String>,
}

impl SequenceClassifier {
    /// Loads a `BertForSequenceClassification` directory (`bert.*`, `bert.pooler.*` for cls
    /// pooling, `classifier.{weight,bias}`; labels from `id2label`).
    pub fn load(source: &ModelSource, options: &InferenceOptions) -> Result<Self> {
        let l = Loaded::open(source)?;
        if l.config.task() != Some(Task::SequenceClassification) {
            return Err(Error::Model {
                path: l.config_path(),
                message: format!(
                    "architectures {:?} do not include {}",
                    l.config.architectures,
                    Task::SequenceClassification.architecture()
                ),
            });
        }
        let h = l.config.hidden_size;
        let pooling = l.config.routelab_pooling.unwrap_or_default();
        let pooler = match pooling {
            Pooling::Cls => Some(l.weights.linear(&l.names.pooler(), h, h)?),
            Pooling::Mean => None,
        };
        let (classifier, labels) = load_head(&l, h)?;
        Ok(SequenceClassifier {
            core: l.core(options)?,
            pooling,
            pooler,
            classifier,
            labels,
        })
    }

    /// Label names, indexed like the probabilities.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The model directory.
    pub fn dir(&self) -> &Path {
        &self.core.dir
    }

    /// Maximum tokens per text; longer texts are truncated.
    pub fn max_length(&self) -> usize {
        self.core.text.max_length()
    }

    /// Raw logits per text (`labels().len()` each).
    pub fn logits_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.core.runtime.run(|| {
            let encodings = self.core.text.encode(texts, false)?;
            super::tokenize::run_sorted(&encodings, self.core.batch_size, |batch| {
                rows(&self.logits_tensor(batch)?)
            })
        })
    }

    /// Class probabilities (softmax of the logits) per text.
    pub fn classify_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.core.runtime.run(|| {
            let encodings = self.core.text.encode(texts, false)?;
            super::tokenize::run_sorted(&encodings, self.core.batch_size, |batch| {
                rows(&softmax(&self.logits_tensor(batch)?)?)
            })
        })
    }

    /// Class probabilities of one text.
    pub fn classify(&self, text: &str) -> Result<Vec<f32>> {
        Ok(self.classify_batch(&[text])?.remove(0))
    }

    fn logits_tensor(&self, batch: &[&tokenizers::Encoding]) -> Result<Tensor> {
        let pooled = match (self.pooling, &self.pooler) {
            (Pooling::Cls, Some(pooler)) => {
                let cls = self.core.first_hidden(batch)?;
                pooler.forward(&cls)?.tanh()?
            }
            _ => {
                let (hidden, mask) = self.core.hidden(batch)?;
                masked_mean(&hidden, &mask)?
            }
        };
        Ok(self.classifier.forward(&pooled)?)
    }
}

/// Loads `classifier.{weight,bias}` and checks the label map against the head's size.
pub(crate) fn load_head(l: &Loaded, hidden: usize) -> Result<(Linear, Vec<String>)> {
    let head = TensorPath::root(HEAD_PREFIX);
    let wname = head.weight();
    let weight = l.weights.get_any(&wname)?;
    let (k, d) = weight.dims2().map_err(|_| Error::Model {
        path: l.weights.file().display().to_string(),
        message: format!(
            "tensor `{wname}` has shape {:?}, expected [labels, {hidden}]",
            weight.dims()
        ),
    })?;
    if d != hidden || k == 0 {
        return Err(Error::Model {
            path: l.weights.file().display().to_string(),
            message: format!("tensor `{wname}` has shape [{k}, {d}], expected [labels, {hidden}]"),
        });
    }
    let bias = l.weights.get(&head.bias(), &[k])?;
    let mut labels = l.config.labels().map_err(|message| Error::Model {
        path: l.config_path(),
        message,
    })?;
    if labels.is_empty() {
        tracing::warn!(dir = %l.dir.display(), "config has no id2label; using LABEL_i names");
        labels = (0..k).map(|i| format!("LABEL_{i}")).collect();
    }
    if labels.len() != k {
        return Err(Error::Model {
            path: l.config_path(),
            message: format!(
                "id2label has {} labels but tensor `{wname}` has {k} rows",
                labels.len()
            ),
        });
    }
    Ok((Linear::new(weight, Some(bias)), labels))
}
