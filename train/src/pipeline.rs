//! One training run end to end: train, evaluate the held-out split, write the report, export.

use burn::module::AutodiffModule;
use serde::Serialize;

use crate::config::TrainConfig;
use crate::error::Result;
use crate::evaluate::{evaluate, EvalReport};
use crate::export::{export, ExportInputs};
use crate::trainer::{train, EpochRecord, RunOptions};

/// The `training_report.json` of an export.
#[derive(Debug, Clone, Serialize)]
pub struct TrainingReport {
    /// The full configuration of the run (dropouts resolved to the values used).
    pub config: TrainConfig,
    /// `(file, sha256)` of every data file.
    pub data: Vec<DataFile>,
    /// Label names in id order.
    pub labels: Vec<String>,
    /// Training examples used.
    pub train_examples: usize,
    /// Per-epoch training loss and validation metrics.
    pub epochs: Vec<EpochRecord>,
    /// Metrics on the test split (or `None` without one).
    pub test: Option<EvalReport>,
    /// Optimizer steps.
    pub steps: usize,
    /// Loss of the last micro-batch.
    pub final_loss: f64,
    /// Training throughput of the last invocation.
    pub samples_per_second: f64,
    /// Wall time of the last invocation, seconds (validation and checkpoints included).
    pub wall_seconds: f64,
    /// Forward/backward/optimizer time of the last invocation, seconds.
    pub train_seconds: f64,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// The seed.
    pub seed: u64,
    /// Number of trainable parameters.
    pub trainable_parameters: usize,
}

/// A data file and its hash.
#[derive(Debug, Clone, Serialize)]
pub struct DataFile {
    /// Path as given.
    pub path: String,
    /// SHA-256, hex.
    pub sha256: String,
}

/// What [`run`] did.
pub enum RunResult {
    /// Trained and exported to `config.output_dir`.
    Exported(Box<TrainingReport>),
    /// Paused after `stop_after_steps` with a checkpoint; resume to finish.
    Paused {
        /// Optimizer steps done.
        steps: usize,
    },
}

/// Trains per `cfg` and exports to `cfg.output_dir`.
pub fn run(cfg: &TrainConfig, opts: &RunOptions) -> Result<RunResult> {
    let mut outcome = train(cfg, opts)?;
    let paused = opts.stop_after_steps.is_some_and(|s| outcome.steps >= s) && outcome.stopped_early;
    if paused {
        return Ok(RunResult::Paused {
            steps: outcome.steps,
        });
    }
    let trainable_parameters = outcome
        .model
        .trainables_mut()
        .iter()
        .map(|(_, p)| p.dims().iter().product::<usize>())
        .sum();
    let model = outcome.model.valid();
    let prepared = &outcome.prepared;
    let test = prepared
        .test
        .as_ref()
        .map(|t| evaluate(&model, t, &prepared.labels, cfg.batch_size.max(16)));
    // Record the dropouts the run used, also where they came from the base model's config.
    let (hidden, attention) = crate::trainer::dropouts(cfg, &prepared.base_config);
    let mut config = cfg.clone();
    config.base_model = router_core::paths::portable(&cfg.base_model);
    config.hidden_dropout = Some(hidden);
    config.attention_dropout = Some(attention);
    let report = TrainingReport {
        config,
        data: prepared
            .data_hashes
            .iter()
            .map(|(path, sha256)| DataFile {
                path: path.clone(),
                sha256: sha256.clone(),
            })
            .collect(),
        labels: prepared.labels.clone(),
        train_examples: prepared.train.len(),
        epochs: outcome.epochs.clone(),
        test,
        steps: outcome.steps,
        final_loss: outcome.final_loss,
        samples_per_second: outcome.samples_per_second,
        wall_seconds: outcome.wall_seconds,
        train_seconds: outcome.train_seconds,
        stopped_early: outcome.stopped_early,
        seed: cfg.seed,
        trainable_parameters,
    };
    let json = serde_json::to_value(&report)
        .map_err(|e| crate::TrainError::Config(format!("cannot serialise the report: {e}")))?;
    export(
        &model,
        &ExportInputs {
            base_model: &cfg.base_model,
            base_config: &prepared.base_config,
            labels: &prepared.labels,
            lora: &cfg.lora,
            report: &json,
        },
        &cfg.output_dir,
    )?;
    Ok(RunResult::Exported(Box::new(report)))
}
