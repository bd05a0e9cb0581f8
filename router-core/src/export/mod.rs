//! The export format: the contract between `routelab train` (burn) and router-core (candle).
//!
//! An exported classifier is a Hugging Face model directory:
//!
//! ```text
//! <dir>/config.json                         BertConfig + architectures, id2label, label2id, routelab_pooling
//! <dir>/model.safetensors                   merged weights, HF names (bert.*, classifier.*)
//! <dir>/tokenizer.json                      the base model's tokenizer
//! <dir>/training_report.json                data hashes, hyper-parameters, metrics
//! <dir>/adapter/adapter_model.safetensors   the LoRA adapter alone, PEFT names
//! <dir>/adapter/adapter_config.json         PEFT LoraConfig
//! ```
//!
//! The adapter lives in its own directory: transformers' `from_pretrained(<dir>)` applies an
//! `adapter_config.json` it finds beside `model.safetensors` on top of weights that already have
//! the adapter merged in, so the merged model and the adapter are never side by side.
//! `from_pretrained(<dir>)` loads the merged model; `PeftModel.from_pretrained(base,
//! <dir>/adapter)` loads the base model plus the adapter.
//!
//! Everything that names a file, a tensor or a config key of this layout lives here, so that the
//! writer (train) and the reader (router-core's inference) cannot drift apart.

pub mod selector;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// File name of the model config.
pub const CONFIG_FILE: &str = "config.json";
/// File name of the merged weights.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// File name of the tokenizer.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// Subdirectory of an export that holds the PEFT adapter.
pub const ADAPTER_DIR: &str = "adapter";
/// A base model directory's record of where it came from (`{"hub_id": "org/name"}`), written
/// by `scripts/fetch-model.sh`; the export names that id as the adapter's base model.
pub const BASE_SOURCE_FILE: &str = "routelab_source.json";
/// File name of the PEFT adapter weights (in [`ADAPTER_DIR`]).
pub const ADAPTER_WEIGHTS_FILE: &str = "adapter_model.safetensors";
/// File name of the PEFT adapter config (in [`ADAPTER_DIR`]).
pub const ADAPTER_CONFIG_FILE: &str = "adapter_config.json";
/// File name of the training report.
pub const TRAINING_REPORT_FILE: &str = "training_report.json";

/// Prefix of encoder tensors in a task model (`bert.encoder.layer.0...`).
pub const ENCODER_PREFIX: &str = "bert";
/// Prefix of the task head's tensors (`classifier.weight`, `classifier.bias`).
pub const HEAD_PREFIX: &str = "classifier";
/// Prefix PEFT puts before module names in `adapter_model.safetensors`.
pub const PEFT_PREFIX: &str = "base_model.model";

/// What an exported model does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Task {
    /// One label per text (domain, jailbreak): `BertForSequenceClassification`.
    SequenceClassification,
    /// One BIO tag per token (PII): `BertForTokenClassification`.
    TokenClassification,
}

impl Task {
    /// The HF `architectures` entry for this task.
    pub fn architecture(self) -> &'static str {
        match self {
            Task::SequenceClassification => "BertForSequenceClassification",
            Task::TokenClassification => "BertForTokenClassification",
        }
    }

    /// The PEFT `task_type` for this task.
    pub fn peft_task_type(self) -> &'static str {
        match self {
            Task::SequenceClassification => "SEQ_CLS",
            Task::TokenClassification => "TOKEN_CLS",
        }
    }

    /// Recognises a task from an HF `architectures` entry.
    pub fn from_architecture(arch: &str) -> Option<Self> {
        match arch {
            "BertForSequenceClassification" => Some(Task::SequenceClassification),
            "BertForTokenClassification" => Some(Task::TokenClassification),
            _ => None,
        }
    }
}

/// How a sequence classifier turns token states into one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// HF's BertPooler: dense + tanh over the `[CLS]` state (`bert.pooler.*` tensors).
    #[default]
    Cls,
    /// Attention-masked mean of the last hidden states (no pooler tensors).
    Mean,
}

/// `config.json` of an exported model: the HF BertConfig fields routelab reads plus label maps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// `["BertForSequenceClassification"]` or `["BertForTokenClassification"]`; absent for a base encoder.
    #[serde(default)]
    pub architectures: Vec<String>,
    /// Always `bert` for now.
    #[serde(default = "default_model_type")]
    pub model_type: String,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Hidden size.
    pub hidden_size: usize,
    /// Number of encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer.
    pub num_attention_heads: usize,
    /// Feed-forward inner size.
    pub intermediate_size: usize,
    /// Activation of the feed-forward block (`gelu`).
    #[serde(default = "default_hidden_act")]
    pub hidden_act: String,
    /// Maximum positions.
    pub max_position_embeddings: usize,
    /// Token type vocabulary size.
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    /// LayerNorm epsilon.
    #[serde(default = "default_ln_eps")]
    pub layer_norm_eps: f64,
    /// Padding token id.
    #[serde(default)]
    pub pad_token_id: usize,
    /// Label id (as a decimal string, HF style) to label name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub id2label: BTreeMap<String, String>,
    /// Label name to id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub label2id: BTreeMap<String, usize>,
    /// routelab's pooling for sequence classification (HF tools ignore it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routelab_pooling: Option<Pooling>,
    /// Every other key of the file, kept so a round trip loses nothing.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

fn default_model_type() -> String {
    "bert".into()
}
fn default_hidden_act() -> String {
    "gelu".into()
}
fn default_type_vocab() -> usize {
    2
}
fn default_ln_eps() -> f64 {
    1e-12
}

impl ModelConfig {
    /// The task this config's `architectures` declares, if any.
    pub fn task(&self) -> Option<Task> {
        self.architectures
            .iter()
            .find_map(|a| Task::from_architecture(a))
    }

    /// Labels ordered by id; errors if ids are not exactly `0..n` or the two maps disagree.
    pub fn labels(&self) -> Result<Vec<String>, String> {
        let n = self.id2label.len();
        let mut labels = vec![String::new(); n];
        for (id, name) in &self.id2label {
            let i: usize = id
                .parse()
                .map_err(|_| format!("id2label key {id:?} is not an integer"))?;
            if i >= n {
                return Err(format!("id2label has {n} entries but an id {i}"));
            }
            labels[i] = name.clone();
        }
        if !self.label2id.is_empty() {
            for (name, &id) in &self.label2id {
                if labels.get(id) != Some(name) {
                    return Err(format!(
                        "label2id maps {name:?} to {id}, but id2label[{id}] is {:?}",
                        labels.get(id)
                    ));
                }
            }
            if self.label2id.len() != n {
                return Err(format!(
                    "id2label has {n} labels but label2id has {}",
                    self.label2id.len()
                ));
            }
        }
        Ok(labels)
    }

    /// Sets `id2label` and `label2id` from labels ordered by id.
    pub fn set_labels(&mut self, labels: &[String]) {
        self.id2label = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (i.to_string(), l.clone()))
            .collect();
        self.label2id = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.clone(), i))
            .collect();
    }
}

/// `adapter_config.json`: the PEFT LoraConfig fields routelab writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdapterConfig {
    /// Always `LORA`.
    pub peft_type: String,
    /// `SEQ_CLS` or `TOKEN_CLS`.
    pub task_type: String,
    /// Where the base model came from: its Hugging Face id when the base directory's
    /// [`BASE_SOURCE_FILE`] names one, else its path (`$ROUTELAB_CACHE/...` for the cache).
    pub base_model_name_or_path: String,
    /// LoRA rank.
    pub r: usize,
    /// LoRA alpha.
    pub lora_alpha: f64,
    /// LoRA dropout.
    pub lora_dropout: f64,
    /// Module names the adapter wraps (`query`, `key`, `value`, `attention.output.dense`, ...).
    pub target_modules: Vec<String>,
    /// Scale by `alpha / sqrt(r)` instead of `alpha / r`.
    pub use_rslora: bool,
    /// Modules trained in full and saved with the adapter (`classifier`, `pooler`).
    pub modules_to_save: Vec<String>,
    /// Always `none`.
    pub bias: String,
    /// False: the adapter is for training/merging.
    pub inference_mode: bool,
}

impl AdapterConfig {
    /// The LoRA scaling factor applied to `B·A`.
    pub fn scaling(&self) -> f64 {
        if self.use_rslora {
            self.lora_alpha / (self.r as f64).sqrt()
        } else {
            self.lora_alpha / self.r as f64
        }
    }
}

/// What a base model directory's [`BASE_SOURCE_FILE`] holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseSource {
    /// The Hugging Face model id these files are a copy of.
    pub hub_id: String,
}

/// Name of a LoRA matrix in `adapter_model.safetensors`, PEFT style:
/// `base_model.model.<module>.lora_A.weight` (`which` is `A` or `B`).
pub fn peft_lora_tensor(module: &str, which: char) -> String {
    TensorPath::root(PEFT_PREFIX)
        .pp(module)
        .pp(format!("lora_{which}"))
        .weight()
}

/// A dotted tensor-name prefix, extended one part at a time as candle's `VarBuilder::pp`
/// extends one (`root.pp("encoder").pp("layer").pp(3)`). Every tensor name of the export
/// layout is built through it and [`BertNames`], by the writer and the readers alike.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TensorPath(String);

impl TensorPath {
    /// A prefix (`""` for the top level).
    pub fn root(prefix: &str) -> Self {
        TensorPath(prefix.to_string())
    }

    /// This prefix with one more part.
    pub fn pp(&self, part: impl std::fmt::Display) -> Self {
        if self.0.is_empty() {
            TensorPath(part.to_string())
        } else {
            TensorPath(format!("{}.{part}", self.0))
        }
    }

    /// The tensor `<prefix>.<leaf>`.
    pub fn leaf(&self, leaf: &str) -> String {
        self.pp(leaf).0
    }

    /// `<prefix>.weight`.
    pub fn weight(&self) -> String {
        self.leaf("weight")
    }

    /// `<prefix>.bias`.
    pub fn bias(&self) -> String {
        self.leaf("bias")
    }

    /// The prefix as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A linear or LayerNorm module of one encoder layer, in HF BERT layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerPart {
    /// `attention.self.query`.
    Query,
    /// `attention.self.key`.
    Key,
    /// `attention.self.value`.
    Value,
    /// `attention.output.dense`.
    AttentionOutput,
    /// `attention.output.LayerNorm`.
    AttentionNorm,
    /// `intermediate.dense`.
    Intermediate,
    /// `output.dense`.
    Output,
    /// `output.LayerNorm`.
    OutputNorm,
}

impl LayerPart {
    /// Every part, in layer order.
    pub const ALL: [LayerPart; 8] = [
        LayerPart::Query,
        LayerPart::Key,
        LayerPart::Value,
        LayerPart::AttentionOutput,
        LayerPart::AttentionNorm,
        LayerPart::Intermediate,
        LayerPart::Output,
        LayerPart::OutputNorm,
    ];

    /// The module under `layer` (a [`BertNames::layer`] path).
    pub fn under(self, layer: &TensorPath) -> TensorPath {
        let attention = || layer.pp("attention");
        match self {
            LayerPart::Query => attention().pp("self").pp("query"),
            LayerPart::Key => attention().pp("self").pp("key"),
            LayerPart::Value => attention().pp("self").pp("value"),
            LayerPart::AttentionOutput => attention().pp("output").pp("dense"),
            LayerPart::AttentionNorm => attention().pp("output").pp("LayerNorm"),
            LayerPart::Intermediate => layer.pp("intermediate").pp("dense"),
            LayerPart::Output => layer.pp("output").pp("dense"),
            LayerPart::OutputNorm => layer.pp("output").pp("LayerNorm"),
        }
    }
}

/// Where the parts of a BERT encoder live under a prefix: `""` in a base model
/// (`embeddings.*`), [`ENCODER_PREFIX`] in a task model (`bert.embeddings.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BertNames {
    root: TensorPath,
}

impl BertNames {
    /// The encoder under `prefix`.
    pub fn new(prefix: &str) -> Self {
        BertNames {
            root: TensorPath::root(prefix),
        }
    }

    /// The encoder of a task model (`bert.`).
    pub fn task_model() -> Self {
        Self::new(ENCODER_PREFIX)
    }

    fn embeddings(&self) -> TensorPath {
        self.root.pp("embeddings")
    }

    /// `embeddings.word_embeddings.weight`.
    pub fn word_embeddings(&self) -> String {
        self.embeddings().pp("word_embeddings").weight()
    }

    /// `embeddings.position_embeddings.weight`.
    pub fn position_embeddings(&self) -> String {
        self.embeddings().pp("position_embeddings").weight()
    }

    /// `embeddings.token_type_embeddings.weight`.
    pub fn token_type_embeddings(&self) -> String {
        self.embeddings().pp("token_type_embeddings").weight()
    }

    /// `embeddings.LayerNorm`.
    pub fn embeddings_norm(&self) -> TensorPath {
        self.embeddings().pp("LayerNorm")
    }

    /// `encoder.layer.<i>`.
    pub fn layer(&self, i: usize) -> TensorPath {
        self.root.pp("encoder").pp("layer").pp(i)
    }

    /// `part` of layer `i`.
    pub fn layer_part(&self, i: usize, part: LayerPart) -> TensorPath {
        part.under(&self.layer(i))
    }

    /// `pooler.dense`.
    pub fn pooler(&self) -> TensorPath {
        self.root.pp("pooler").pp("dense")
    }
}

#[cfg(test)]
mod names_tests {
    use super::*;

    /// The names are Hugging Face's `BertModel` / `BertFor*Classification` state-dict keys.
    #[test]
    fn names_are_hugging_face_bert_keys() {
        let base = BertNames::new("");
        assert_eq!(base.word_embeddings(), "embeddings.word_embeddings.weight");
        assert_eq!(base.embeddings_norm().bias(), "embeddings.LayerNorm.bias");
        let task = BertNames::task_model();
        assert_eq!(
            task.layer_part(3, LayerPart::Query).weight(),
            "bert.encoder.layer.3.attention.self.query.weight"
        );
        assert_eq!(
            task.layer_part(0, LayerPart::AttentionNorm).weight(),
            "bert.encoder.layer.0.attention.output.LayerNorm.weight"
        );
        assert_eq!(
            task.layer_part(5, LayerPart::OutputNorm).bias(),
            "bert.encoder.layer.5.output.LayerNorm.bias"
        );
        assert_eq!(task.pooler().weight(), "bert.pooler.dense.weight");
        assert_eq!(TensorPath::root(HEAD_PREFIX).bias(), "classifier.bias");
    }
}
