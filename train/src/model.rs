//! A BERT encoder with a task head: sequence classification (CLS pooler or mean pooling) or
//! token classification.

use std::path::Path;

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig};
use burn::tensor::{Device, Int, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use router_core::export::{BertNames, ModelConfig, Pooling, Task, TensorPath, HEAD_PREFIX};

use crate::bert::{Bert, BertInit};
use crate::error::{Result, TrainError};
use crate::lora::{tensor_from, LoraLinear, ParamIds, TargetModule};
use crate::weights::WeightFile;

/// Which head a model has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadKind {
    /// Sequence or token classification.
    pub task: Task,
    /// Pooling, for sequence classification.
    pub pooling: Pooling,
}

impl HeadKind {
    /// Whether the head runs HF's pooler (sequence classification with CLS pooling).
    pub fn uses_pooler(self) -> bool {
        self.task == Task::SequenceClassification && self.pooling == Pooling::Cls
    }
}

/// Encoder + optional pooler + linear classifier.
#[derive(Module, Debug)]
pub struct Classifier {
    /// The encoder.
    pub bert: Bert,
    /// `bert.pooler.dense` (trainable), present for CLS pooling.
    pub pooler: Option<LoraLinear>,
    /// `classifier` (trainable), `[h, num_labels]`.
    pub classifier: LoraLinear,
    /// Dropout before the classifier.
    pub dropout: Dropout,
    /// The head kind.
    #[module(skip)]
    pub kind: HeadKind,
}

/// Everything needed to build a [`Classifier`] from a base checkpoint.
#[derive(Debug, Clone)]
pub struct ClassifierInit<'a> {
    /// Encoder options.
    pub bert: BertInit<'a>,
    /// Head kind.
    pub head: HeadKind,
    /// Number of labels.
    pub num_labels: usize,
    /// Seed for adapter and head initialisation.
    pub seed: u64,
}

impl Classifier {
    /// Loads the base encoder from `weights`, attaches adapters and a freshly initialised head
    /// (HF init: normal(0, `initializer_range`, default 0.02) weights, zero bias). The pooler is
    /// taken from the checkpoint and trained. The head's dropout is the base config's
    /// `classifier_dropout` when set, else the hidden dropout (as in HF).
    pub fn from_base(weights: &Path, init: &ClassifierInit<'_>, device: &Device) -> Result<Self> {
        let w = WeightFile::open(weights)?;
        let mut rng = StdRng::seed_from_u64(init.seed);
        let mut ids = ParamIds::default();
        let bert = Bert::load(&w, &init.bert, &mut rng, &mut ids, device)?;
        let h = init.bert.config.hidden_size;
        let kind = init.head;
        let pooler = if kind.uses_pooler() {
            let weight = w.linear_weight(&BertNames::new("").pooler().weight(), h, h, device)?;
            let bias = w.tensor(&BertNames::new("").pooler().bias(), [h], device)?;
            Some(LoraLinear::new(weight, bias, true, &mut ids))
        } else {
            None
        };
        if init.num_labels == 0 {
            return Err(TrainError::Config(
                "a classifier needs at least one label".into(),
            ));
        }
        let n = init.num_labels;
        let std = config_f64(init.bert.config, "initializer_range").unwrap_or(0.02) as f32;
        let cw: Vec<f32> = (0..h * n).map(|_| normal(&mut rng) * std).collect();
        let classifier = LoraLinear::new(
            tensor_from(cw, [h, n], device),
            Tensor::zeros([n], device),
            true,
            &mut ids,
        );
        Ok(Classifier {
            bert,
            pooler,
            classifier,
            dropout: DropoutConfig::new(
                config_f64(init.bert.config, "classifier_dropout")
                    .unwrap_or(init.bert.hidden_dropout),
            )
            .init(),
            kind,
        })
    }

    /// Loads an exported model directory (merged weights, no adapters) for evaluation.
    pub fn from_export(dir: &Path, device: &Device) -> Result<(Self, Vec<String>)> {
        let config = read_model_config(&dir.join(router_core::export::CONFIG_FILE))?;
        let bad = |message: String| TrainError::Weights {
            path: dir.display().to_string(),
            message,
        };
        let task = config.task().ok_or_else(|| {
            bad(format!(
                "config.json architectures {:?} name no known task",
                config.architectures
            ))
        })?;
        let labels = config.labels().map_err(bad)?;
        let w = WeightFile::open(&dir.join(router_core::export::WEIGHTS_FILE))?;
        let mut ids = ParamIds::default();
        let mut rng = StdRng::seed_from_u64(0);
        let init = BertInit {
            config: &config,
            lora: None,
            hidden_dropout: 0.0,
            attention_dropout: 0.0,
        };
        let bert = Bert::load(&w, &init, &mut rng, &mut ids, device)?;
        let kind = HeadKind {
            task,
            pooling: config.routelab_pooling.unwrap_or_default(),
        };
        let h = config.hidden_size;
        let pooler = if kind.uses_pooler() {
            let weight = w.linear_weight(&BertNames::new("").pooler().weight(), h, h, device)?;
            let bias = w.tensor(&BertNames::new("").pooler().bias(), [h], device)?;
            Some(LoraLinear::new(weight, bias, false, &mut ids))
        } else {
            None
        };
        let n = labels.len();
        let head = router_core::export::HEAD_PREFIX;
        let cw = w.get_exact(&format!("{head}.weight"), &[n, h])?;
        let cb = w.get_exact(&format!("{head}.bias"), &[n])?;
        let classifier = LoraLinear::new(
            tensor_from(crate::weights::transpose(&cw, n, h), [h, n], device),
            tensor_from(cb, [n], device),
            false,
            &mut ids,
        );
        let model = Classifier {
            bert,
            pooler,
            classifier,
            dropout: DropoutConfig::new(0.0).init(),
            kind,
        };
        Ok((model, labels))
    }

    /// Logits: `[b, num_labels]` (flattened as `[b, 1, L]`) for sequence classification, or
    /// `[b, s, num_labels]` for token classification.
    pub fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<3> {
        let hidden = self.bert.forward(ids, mask.clone());
        let [b, s, h] = hidden.dims();
        match self.kind.task {
            Task::TokenClassification => {
                let x = self.dropout.forward(hidden).reshape([b * s, h]);
                let logits = self.classifier.forward(x);
                let l = logits.dims()[1];
                logits.reshape([b, s, l])
            }
            Task::SequenceClassification => {
                let pooled = self.pool(hidden, mask);
                let logits = self.classifier.forward(self.dropout.forward(pooled));
                let l = logits.dims()[1];
                logits.reshape([b, 1, l])
            }
        }
    }

    fn pool(&self, hidden: Tensor<3>, mask: Tensor<2>) -> Tensor<2> {
        let [b, _, h] = hidden.dims();
        match &self.pooler {
            Some(pooler) => {
                let cls = hidden.slice([0..b, 0..1]).reshape([b, h]);
                pooler.forward(cls).tanh()
            }
            _ => mean_pool(hidden, mask),
        }
    }
}

/// Attention-masked mean of `[b, s, h]` states.
pub fn mean_pool(hidden: Tensor<3>, mask: Tensor<2>) -> Tensor<2> {
    let [b, s, h] = hidden.dims();
    let m = mask.reshape([b, s, 1]);
    let sum = (hidden * m.clone()).sum_dim(1).reshape([b, h]);
    let count = m.sum_dim(1).reshape([b, 1]).clamp_min(1e-9);
    sum / count
}

/// A standard normal sample (Box–Muller), so initialisation depends only on the seed.
fn normal(rng: &mut StdRng) -> f32 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random::<f64>();
    ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
}

/// A number from the extra (non-schema) keys of a model config, e.g. `hidden_dropout_prob`;
/// `None` when absent or `null`.
pub fn config_f64(config: &ModelConfig, key: &str) -> Option<f64> {
    config.extra.get(key).and_then(serde_json::Value::as_f64)
}

/// Reads a base model's `config.json`.
pub fn read_model_config(path: &Path) -> Result<ModelConfig> {
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| TrainError::Weights {
        path: path.display().to_string(),
        message: format!("bad config.json: {e}"),
    })
}

/// A trainable tensor of any rank used by the model.
#[derive(Debug, Clone)]
pub enum AnyTensor {
    /// A bias.
    Rank1(Tensor<1>),
    /// A weight or LoRA factor (burn layout).
    Rank2(Tensor<2>),
}

/// A mutable handle on a trainable parameter.
pub enum ParamMut<'a> {
    /// A bias.
    Rank1(&'a mut burn::module::Param<Tensor<1>>),
    /// A weight or LoRA factor.
    Rank2(&'a mut burn::module::Param<Tensor<2>>),
}

impl ParamMut<'_> {
    /// The parameter id.
    pub fn id(&self) -> burn::module::ParamId {
        match self {
            ParamMut::Rank1(p) => p.id,
            ParamMut::Rank2(p) => p.id,
        }
    }

    /// The current value.
    pub fn value(&self) -> AnyTensor {
        match self {
            ParamMut::Rank1(p) => AnyTensor::Rank1(p.val()),
            ParamMut::Rank2(p) => AnyTensor::Rank2(p.val()),
        }
    }

    /// The dims.
    pub fn dims(&self) -> Vec<usize> {
        match self {
            ParamMut::Rank1(p) => p.val().dims().to_vec(),
            ParamMut::Rank2(p) => p.val().dims().to_vec(),
        }
    }

    /// Replaces the value from host data (same id, trainable).
    pub fn set(&mut self, values: Vec<f32>, device: &Device) {
        match self {
            ParamMut::Rank1(p) => {
                let [n] = p.val().dims();
                **p = burn::module::Param::initialized(p.id, tensor_from(values, [n], device))
                    .set_require_grad(true);
            }
            ParamMut::Rank2(p) => {
                let dims = p.val().dims();
                **p = burn::module::Param::initialized(p.id, tensor_from(values, dims, device))
                    .set_require_grad(true);
            }
        }
    }
}

impl Classifier {
    /// Every trainable parameter with a stable name (LoRA factors as `<module>.lora_a` / `.lora_b`
    /// in burn layout, pooler, classifier).
    pub fn trainables_mut(&mut self) -> Vec<(String, ParamMut<'_>)> {
        let mut out = Vec::new();
        for (i, layer) in self.bert.layers.iter_mut().enumerate() {
            let linears: [(TargetModule, &mut LoraLinear); 6] = [
                (TargetModule::Query, &mut layer.query),
                (TargetModule::Key, &mut layer.key),
                (TargetModule::Value, &mut layer.value),
                (TargetModule::AttentionOutput, &mut layer.attention_output),
                (TargetModule::Intermediate, &mut layer.intermediate),
                (TargetModule::Output, &mut layer.output),
            ];
            for (target, lin) in linears {
                if let Some(l) = lin.lora.as_mut() {
                    let p = BertNames::task_model().layer_part(i, target.part());
                    out.push((p.leaf("lora_a"), ParamMut::Rank2(&mut l.a)));
                    out.push((p.leaf("lora_b"), ParamMut::Rank2(&mut l.b)));
                }
            }
        }
        if let Some(p) = self.pooler.as_mut() {
            let path = BertNames::task_model().pooler();
            out.push((path.weight(), ParamMut::Rank2(&mut p.weight)));
            out.push((path.bias(), ParamMut::Rank1(&mut p.bias)));
        }
        let head = TensorPath::root(HEAD_PREFIX);
        out.push((head.weight(), ParamMut::Rank2(&mut self.classifier.weight)));
        out.push((head.bias(), ParamMut::Rank1(&mut self.classifier.bias)));
        out
    }
}
