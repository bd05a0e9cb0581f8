//! Training options, read from YAML (`--config train.yaml`) and/or set from CLI flags.

use std::path::{Path, PathBuf};

use router_core::export::{Pooling, Task};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::lora::LoraSettings;

/// What to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TaskName {
    /// One label per text.
    #[default]
    #[serde(alias = "sequence", alias = "seq_cls")]
    SequenceClassification,
    /// One BIO tag per token.
    #[serde(alias = "token", alias = "token_cls")]
    TokenClassification,
}

impl TaskName {
    /// The export-format task.
    pub fn task(self) -> Task {
        match self {
            TaskName::SequenceClassification => Task::SequenceClassification,
            TaskName::TokenClassification => Task::TokenClassification,
        }
    }
}

/// Every option of a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Sequence or token classification.
    pub task: TaskName,
    /// Base model directory (`config.json`, `model.safetensors`, `tokenizer.json`).
    pub base_model: PathBuf,
    /// Training data (`.parquet` or `.jsonl`).
    pub train_file: PathBuf,
    /// Validation data, evaluated after each epoch (early stopping watches it).
    pub validation_file: Option<PathBuf>,
    /// Held-out test data, evaluated once at the end.
    pub test_file: Option<PathBuf>,
    /// Label names in id order; collected from the training data when absent.
    pub labels: Option<Vec<String>>,
    /// Pooling of the sequence classifier.
    pub pooling: Pooling,
    /// Maximum tokens per text including `[CLS]` and `[SEP]`.
    pub max_length: usize,
    /// Examples per micro-batch.
    pub batch_size: usize,
    /// Micro-batches per optimizer step.
    pub grad_accum_steps: usize,
    /// Peak learning rate.
    pub learning_rate: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f64,
    /// Fraction of the steps spent warming the learning rate up linearly (then linear decay to 0).
    pub warmup_ratio: f64,
    /// Clip the global gradient L2 norm to this value.
    pub max_grad_norm: Option<f64>,
    /// Per-class loss weights in label order (sequence classification).
    pub class_weights: Option<Vec<f64>>,
    /// Weight classes by `n / (k · count)` from the training data.
    pub balanced_class_weights: bool,
    /// Passes over the training data.
    pub epochs: usize,
    /// Stop after this many optimizer steps (also sizes the schedule).
    pub max_steps: Option<usize>,
    /// Seed of initialisation, data order and dropout.
    pub seed: u64,
    /// LoRA settings.
    pub lora: LoraSettings,
    /// Hidden dropout during training (HF `hidden_dropout_prob`; also the classifier's dropout
    /// unless the base config sets `classifier_dropout`); the base model's value when absent.
    pub hidden_dropout: Option<f64>,
    /// Attention-probability dropout during training (HF `attention_probs_dropout_prob`); the
    /// base model's value when absent.
    pub attention_dropout: Option<f64>,
    /// Stop when validation macro-F1 (entity F1 for tokens) did not improve for this many epochs.
    pub early_stopping_patience: Option<usize>,
    /// Write a checkpoint every this many optimizer steps (and always at epoch end).
    pub checkpoint_every: Option<usize>,
    /// Checkpoint directory; `<output_dir>.ckpt` when absent.
    pub checkpoint_dir: Option<PathBuf>,
    /// Export directory.
    pub output_dir: PathBuf,
    /// Use only the first N training examples (after a seeded shuffle).
    pub max_train_examples: Option<usize>,
    /// Use only the first N validation / test examples.
    pub max_eval_examples: Option<usize>,
    /// Compute device: `flex` (CPU), `cuda`, `rocm` (with the matching cargo feature).
    pub device: String,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            task: TaskName::SequenceClassification,
            base_model: PathBuf::new(),
            train_file: PathBuf::new(),
            validation_file: None,
            test_file: None,
            labels: None,
            pooling: Pooling::Cls,
            max_length: 128,
            batch_size: 16,
            grad_accum_steps: 1,
            learning_rate: 5e-4,
            weight_decay: 0.01,
            warmup_ratio: 0.06,
            max_grad_norm: Some(1.0),
            class_weights: None,
            balanced_class_weights: false,
            epochs: 3,
            max_steps: None,
            seed: 42,
            lora: LoraSettings::default(),
            hidden_dropout: None,
            attention_dropout: None,
            early_stopping_patience: None,
            checkpoint_every: None,
            checkpoint_dir: None,
            output_dir: PathBuf::from("model-out"),
            max_train_examples: None,
            max_eval_examples: None,
            device: "flex".into(),
        }
    }
}

impl TrainConfig {
    /// Reads a YAML file (unknown keys are errors). Paths may start with `$ROUTELAB_CACHE/` or
    /// `~/` ([`router_core::paths::expand`]); relative ones are relative to the working directory.
    pub fn from_yaml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        let mut config: Self = serde_norway::from_str(&text)
            .map_err(|e| TrainError::Config(format!("{}: {e}", path.display())))?;
        config.expand_paths();
        Ok(config)
    }

    /// Resolves the `$ROUTELAB_CACHE/` and `~/` prefixes of every path option.
    fn expand_paths(&mut self) {
        use router_core::paths::expand;
        for p in [
            &mut self.base_model,
            &mut self.train_file,
            &mut self.output_dir,
        ] {
            *p = expand(p);
        }
        for p in [
            &mut self.validation_file,
            &mut self.test_file,
            &mut self.checkpoint_dir,
        ]
        .into_iter()
        .flatten()
        {
            *p = expand(p);
        }
    }

    /// The checkpoint directory.
    pub fn checkpoint_path(&self) -> PathBuf {
        self.checkpoint_dir.clone().unwrap_or_else(|| {
            let mut p = self.output_dir.clone().into_os_string();
            p.push(".ckpt");
            PathBuf::from(p)
        })
    }

    /// Checks value ranges and required paths.
    pub fn validate(&self) -> Result<()> {
        let mut problems = Vec::new();
        if self.base_model.as_os_str().is_empty() {
            problems.push("base_model is required".to_string());
        }
        if self.train_file.as_os_str().is_empty() {
            problems.push("train_file is required".to_string());
        }
        if self.batch_size == 0 {
            problems.push("batch_size must be at least 1".into());
        }
        if self.grad_accum_steps == 0 {
            problems.push("grad_accum_steps must be at least 1".into());
        }
        if self.max_length < 3 {
            problems.push("max_length must be at least 3".into());
        }
        if self.lora.rank == 0 {
            problems.push("lora.rank must be at least 1".into());
        }
        if self.lora.target_modules.is_empty() {
            problems.push("lora.target_modules must name at least one module".into());
        }
        for (name, p) in [
            ("lora.dropout", Some(self.lora.dropout)),
            ("hidden_dropout", self.hidden_dropout),
            ("attention_dropout", self.attention_dropout),
        ] {
            let Some(p) = p else { continue };
            if !(0.0..1.0).contains(&p) {
                problems.push(format!("{name} must be in [0, 1), got {p}"));
            }
        }
        if !(0.0..=1.0).contains(&self.warmup_ratio) {
            problems.push(format!(
                "warmup_ratio must be in [0, 1], got {}",
                self.warmup_ratio
            ));
        }
        if self.learning_rate <= 0.0 || !self.learning_rate.is_finite() {
            problems.push(format!(
                "learning_rate must be positive, got {}",
                self.learning_rate
            ));
        }
        if self.epochs == 0 && self.max_steps.is_none() {
            problems.push("epochs must be at least 1 (or set max_steps)".into());
        }
        if self.class_weights.is_some() && self.balanced_class_weights {
            problems.push("class_weights and balanced_class_weights are exclusive".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(TrainError::Config(problems.join("; ")))
        }
    }
}
