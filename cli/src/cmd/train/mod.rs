//! `routelab train`: LoRA fine-tuning of a BERT classifier with burn, exported in HF layout, or
//! (`--task selection`) a learned model selector trained from a request log.

mod selection;
mod selection_export;

use std::path::PathBuf;

use anyhow::Context;
use train::config::{TaskName, TrainConfig};
use train::lora::TargetModule;
use train::pipeline::{run as run_training, RunResult};
use train::trainer::RunOptions;

/// Arguments of `routelab train` (boxed: the flag set is large).
#[derive(clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    flags: Box<TrainFlags>,
}

/// The flags of `routelab train`. Flags override the values of `--config`.
#[derive(clap::Args)]
struct TrainFlags {
    /// YAML file with the training options (see `train::config::TrainConfig`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// `sequence_classification`, `token_classification` or `selection` (a model selector
    /// trained from a request log: `--method`, `--log`; `--base-model` is the embedding model).
    #[arg(long)]
    task: Option<String>,
    /// Base model directory (config.json, model.safetensors, tokenizer.json).
    #[arg(long)]
    base_model: Option<PathBuf>,
    /// Training data (.parquet or .jsonl).
    #[arg(long)]
    train_file: Option<PathBuf>,
    /// Validation data, evaluated each epoch.
    #[arg(long)]
    validation_file: Option<PathBuf>,
    /// Held-out test data, evaluated at the end.
    #[arg(long)]
    test_file: Option<PathBuf>,
    /// Export directory.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Label names in id order (comma-separated); collected from the data when absent.
    #[arg(long, value_delimiter = ',')]
    labels: Option<Vec<String>>,
    /// `cls` (pooler) or `mean` pooling for sequence classification.
    #[arg(long)]
    pooling: Option<String>,
    /// Maximum tokens per text.
    #[arg(long)]
    max_length: Option<usize>,
    /// Examples per micro-batch.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Micro-batches per optimizer step.
    #[arg(long)]
    grad_accum_steps: Option<usize>,
    /// Peak learning rate.
    #[arg(long)]
    learning_rate: Option<f64>,
    /// Passes over the training data.
    #[arg(long)]
    epochs: Option<usize>,
    /// Stop after this many optimizer steps.
    #[arg(long)]
    max_steps: Option<usize>,
    /// Random seed.
    #[arg(long)]
    seed: Option<u64>,
    /// LoRA rank.
    #[arg(long)]
    lora_rank: Option<usize>,
    /// LoRA alpha.
    #[arg(long)]
    lora_alpha: Option<f64>,
    /// LoRA dropout.
    #[arg(long)]
    lora_dropout: Option<f64>,
    /// Scale adapters by alpha/sqrt(r) (rsLoRA).
    #[arg(long)]
    rslora: bool,
    /// Adapted projections (comma-separated: query,key,value,attention_output,intermediate,output).
    #[arg(long, value_delimiter = ',')]
    target_modules: Option<Vec<String>>,
    /// Weight classes by inverse frequency.
    #[arg(long)]
    balanced_class_weights: bool,
    /// Early-stopping patience in epochs.
    #[arg(long)]
    patience: Option<usize>,
    /// Checkpoint every N optimizer steps.
    #[arg(long)]
    checkpoint_every: Option<usize>,
    /// Use only N training examples (seeded subsample).
    #[arg(long)]
    max_train_examples: Option<usize>,
    /// Use only the first N validation/test examples.
    #[arg(long)]
    max_eval_examples: Option<usize>,
    /// Compute device: flex (CPU), cuda[:N] or rocm[:N] (builds with --features cuda / rocm).
    #[arg(long)]
    device: Option<String>,
    /// Continue from the last checkpoint.
    #[arg(long)]
    resume: bool,
    /// Pause after N optimizer steps (with a checkpoint); continue later with --resume.
    #[arg(long)]
    stop_after_steps: Option<usize>,
    /// Print the training report as JSON on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    selection: selection::SelectionFlags,
}

/// Parses a flag value into a string-named enum of the config.
fn parse_name<T: serde::de::DeserializeOwned>(flag: &str, value: &str) -> anyhow::Result<T> {
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .with_context(|| format!("--{flag}: invalid value {value:?}"))
}

impl TrainFlags {
    fn into_config(self) -> anyhow::Result<(TrainConfig, RunOptions, bool)> {
        let mut c = match &self.config {
            Some(p) => TrainConfig::from_yaml_file(p)?,
            None => TrainConfig::default(),
        };
        if let Some(t) = &self.task {
            c.task = parse_name::<TaskName>("task", t)?;
        }
        macro_rules! set {
            ($($field:ident <- $arg:expr),* $(,)?) => { $(if let Some(v) = $arg { c.$field = v; })* };
        }
        set!(base_model <- self.base_model, train_file <- self.train_file,
            output_dir <- self.output, max_length <- self.max_length, batch_size <- self.batch_size,
            grad_accum_steps <- self.grad_accum_steps, learning_rate <- self.learning_rate,
            epochs <- self.epochs, seed <- self.seed, device <- self.device);
        if self.validation_file.is_some() {
            c.validation_file = self.validation_file;
        }
        if self.test_file.is_some() {
            c.test_file = self.test_file;
        }
        if self.labels.is_some() {
            c.labels = self.labels;
        }
        if let Some(p) = &self.pooling {
            c.pooling = parse_name("pooling", p)?;
        }
        if self.max_steps.is_some() {
            c.max_steps = self.max_steps;
        }
        if let Some(r) = self.lora_rank {
            c.lora.rank = r;
        }
        if let Some(a) = self.lora_alpha {
            c.lora.alpha = a;
        }
        if let Some(d) = self.lora_dropout {
            c.lora.dropout = d;
        }
        if self.rslora {
            c.lora.use_rslora = true;
        }
        if let Some(t) = &self.target_modules {
            c.lora.target_modules = t
                .iter()
                .map(|m| parse_name::<TargetModule>("target-modules", m))
                .collect::<anyhow::Result<_>>()?;
        }
        if self.balanced_class_weights {
            c.balanced_class_weights = true;
        }
        if self.patience.is_some() {
            c.early_stopping_patience = self.patience;
        }
        if self.checkpoint_every.is_some() {
            c.checkpoint_every = self.checkpoint_every;
        }
        if self.max_train_examples.is_some() {
            c.max_train_examples = self.max_train_examples;
        }
        if self.max_eval_examples.is_some() {
            c.max_eval_examples = self.max_eval_examples;
        }
        let opts = RunOptions {
            resume: self.resume,
            stop_after_steps: self.stop_after_steps,
            progress: true,
        };
        Ok((c, opts, self.json))
    }
}

/// Runs `routelab train`.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let f = *args.flags;
    if f.task.as_deref() == Some("selection") {
        let shared = selection::Shared {
            base_model: f.base_model,
            output: f.output,
            seed: f.seed,
            epochs: f.epochs,
            batch_size: f.batch_size,
            learning_rate: f.learning_rate,
            patience: f.patience,
            device: f.device,
        };
        return selection::run(&f.selection, &shared);
    }
    let (config, opts, json) = f.into_config()?;
    match run_training(&config, &opts)? {
        RunResult::Paused { steps } => {
            eprintln!(
                "paused after {steps} steps; checkpoint in {} (continue with --resume)",
                config.checkpoint_path().display()
            );
        }
        RunResult::Exported(report) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("exported {}", config.output_dir.display());
                println!(
                    "steps {}  final loss {:.4}  {:.1} samples/s  {:.0} s",
                    report.steps, report.final_loss, report.samples_per_second, report.wall_seconds
                );
                if let Some(v) = report.epochs.last().and_then(|e| e.validation.as_ref()) {
                    println!(
                        "validation accuracy {:.4}  macro-F1 {:.4}",
                        v.classification.accuracy, v.classification.macro_f1
                    );
                }
                if let Some(t) = &report.test {
                    print!(
                        "test accuracy {:.4}  macro-F1 {:.4}",
                        t.classification.accuracy, t.classification.macro_f1
                    );
                    match &t.entity {
                        Some(e) => println!("  entity F1 {:.4}", e.f1),
                        None => println!(),
                    }
                }
            }
        }
    }
    Ok(())
}
