//! The training loop: AdamW with warm-up + linear decay, gradient accumulation, global-norm
//! clipping, class weights, per-epoch validation, early stopping, checkpoints and resume.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use router_core::export::{ModelConfig, Task};
use serde::{Deserialize, Serialize};

use crate::bert::BertInit;
use crate::checkpoint::{self, CheckpointState};
use crate::config::TrainConfig;
use crate::data::{collect_labels, read_examples, sha256_file};
use crate::encode::{make_batch, Encoded, Encoder, IGNORE_INDEX};
use crate::error::{Result, TrainError};
use crate::evaluate::{evaluate, EvalReport};
use crate::model::{read_model_config, AnyTensor, Classifier, ClassifierInit, HeadKind};
use crate::schedule::linear_warmup_decay;

/// Picks the compute device by name (`flex`, or `cuda` / `rocm` when compiled with the feature).
pub fn select_device(name: &str) -> Result<Device> {
    match name {
        "flex" | "cpu" => Ok(Device::flex()),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
        #[cfg(feature = "rocm")]
        "rocm" => Ok(Device::rocm(0)),
        other => Err(TrainError::Config(format!(
            "device {other:?} is not available in this build (use flex, or build with --features cuda/rocm)"
        ))),
    }
}

/// Tokenised splits and everything derived from the data.
pub struct Prepared {
    /// The base model's config.
    pub base_config: ModelConfig,
    /// Label names in id order.
    pub labels: Vec<String>,
    /// Training examples.
    pub train: Vec<Encoded>,
    /// Validation examples.
    pub validation: Option<Vec<Encoded>>,
    /// Test examples.
    pub test: Option<Vec<Encoded>>,
    /// `(file, sha256)` of every data file used.
    pub data_hashes: Vec<(String, String)>,
}

/// Reads the base config, the data files and tokenises them.
pub fn prepare(cfg: &TrainConfig) -> Result<Prepared> {
    let task = cfg.task.task();
    let base_config = read_model_config(&cfg.base_model.join(router_core::export::CONFIG_FILE))?;
    let encoder = Encoder::new(
        &cfg.base_model.join(router_core::export::TOKENIZER_FILE),
        cfg.max_length,
    )?;
    let mut train = read_examples(&cfg.train_file, task)?;
    let labels = match &cfg.labels {
        Some(l) => l.clone(),
        None => collect_labels(&train),
    };
    if labels.len() < 2 {
        return Err(TrainError::Data {
            path: cfg.train_file.display().to_string(),
            message: format!("needs at least 2 labels, found {labels:?}"),
        });
    }
    // A seeded subsample keeps small budgets representative of every class.
    if let Some(n) = cfg.max_train_examples {
        let mut rng = StdRng::seed_from_u64(cfg.seed ^ 0x5eed);
        train.shuffle(&mut rng);
        train.truncate(n);
    }
    let mut data_hashes = vec![(
        cfg.train_file.display().to_string(),
        sha256_file(&cfg.train_file)?,
    )];
    let train = encoder.encode_all(&train, &labels, &cfg.train_file)?;
    let mut split = |file: &Option<PathBuf>| -> Result<Option<Vec<Encoded>>> {
        let Some(path) = file else { return Ok(None) };
        let mut ex = read_examples(path, task)?;
        if let Some(n) = cfg.max_eval_examples {
            ex.truncate(n);
        }
        data_hashes.push((path.display().to_string(), sha256_file(path)?));
        encoder.encode_all(&ex, &labels, path).map(Some)
    };
    let validation = split(&cfg.validation_file)?;
    let test = split(&cfg.test_file)?;
    Ok(Prepared {
        base_config,
        labels,
        train,
        validation,
        test,
        data_hashes,
    })
}

/// Builds the model a config describes (deterministic in the seed).
pub fn build_model(
    cfg: &TrainConfig,
    base_config: &ModelConfig,
    num_labels: usize,
    device: &Device,
) -> Result<Classifier> {
    let init = ClassifierInit {
        bert: BertInit {
            config: base_config,
            lora: Some(&cfg.lora),
            hidden_dropout: cfg.hidden_dropout,
            attention_dropout: cfg.attention_dropout,
        },
        head: HeadKind {
            task: cfg.task.task(),
            pooling: cfg.pooling,
        },
        num_labels,
        seed: cfg.seed,
    };
    Classifier::from_base(
        &cfg.base_model.join(router_core::export::WEIGHTS_FILE),
        &init,
        device,
    )
}

/// Metrics of one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number (1-based).
    pub epoch: usize,
    /// Optimizer steps done at its end.
    pub step: usize,
    /// Mean training loss over the epoch's micro-batches.
    pub train_loss: f64,
    /// Validation metrics, if a validation split was given.
    pub validation: Option<EvalReport>,
}

/// What a run produced.
pub struct TrainOutcome {
    /// The trained model (with adapters, not merged).
    pub model: Classifier,
    /// Data and labels.
    pub prepared: Prepared,
    /// Per-epoch records.
    pub epochs: Vec<EpochRecord>,
    /// Optimizer steps done.
    pub steps: usize,
    /// Loss of the last micro-batch.
    pub final_loss: f64,
    /// Training throughput: examples per second of forward/backward/optimizer time (this
    /// process only; validation and checkpoints excluded).
    pub samples_per_second: f64,
    /// Wall time of this process's run, seconds (validation and checkpoints included).
    pub wall_seconds: f64,
    /// Forward/backward/optimizer time of this process, seconds.
    pub train_seconds: f64,
    /// Whether it stopped early (patience or `stop_after_steps`).
    pub stopped_early: bool,
}

/// Options of one invocation that are not part of the recipe.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Continue from the last checkpoint in the checkpoint directory.
    pub resume: bool,
    /// Pause after this many optimizer steps (writing a checkpoint), to resume later.
    pub stop_after_steps: Option<usize>,
    /// Show a progress bar.
    pub progress: bool,
}

/// Class weights from the config (explicit or balanced), or `None` for uniform.
fn class_weights(cfg: &TrainConfig, prepared: &Prepared) -> Result<Option<Vec<f64>>> {
    let k = prepared.labels.len();
    if let Some(w) = &cfg.class_weights {
        if w.len() != k {
            return Err(TrainError::Config(format!(
                "class_weights has {} entries for {k} labels",
                w.len()
            )));
        }
        return Ok(Some(w.clone()));
    }
    if !cfg.balanced_class_weights {
        return Ok(None);
    }
    let mut counts = vec![0usize; k];
    for e in &prepared.train {
        for &l in &e.labels {
            if l != IGNORE_INDEX {
                counts[l as usize] += 1;
            }
        }
    }
    let n: usize = counts.iter().sum();
    Ok(Some(
        counts
            .iter()
            .map(|&c| {
                if c == 0 {
                    0.0
                } else {
                    n as f64 / (k * c) as f64
                }
            })
            .collect(),
    ))
}

/// Weighted cross-entropy over rows of `logits` `[n, k]`, skipping [`IGNORE_INDEX`] rows; the
/// mean is weighted like PyTorch's (`Σ w_y·nll / Σ w_y`).
pub fn cross_entropy(logits: Tensor<2>, labels: &[i64], weights: Option<&[f64]>) -> Tensor<1> {
    let [n, k] = logits.dims();
    let device = logits.device();
    let mut target = vec![0f32; n * k];
    let mut total = 0.0f64;
    for (i, &l) in labels.iter().enumerate() {
        if l == IGNORE_INDEX {
            continue;
        }
        let w = weights.map_or(1.0, |w| w[l as usize]);
        target[i * k + l as usize] = w as f32;
        total += w;
    }
    let target = Tensor::<2>::from_data(TensorData::new(target, [n, k]), &device);
    (log_softmax(logits, 1) * target)
        .sum()
        .neg()
        .div_scalar(total.max(1e-12))
}

fn micro_seed(seed: u64, micro_step: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(micro_step as u64 + 1)
}

/// Applies torch-style global L2-norm clipping to the trainable gradients.
fn clip_global_norm(model: &mut Classifier, grads: &mut GradientsParams, max_norm: f64) {
    let mut sq = 0.0f64;
    let ids: Vec<(burn::module::ParamId, usize)> = model
        .trainables_mut()
        .iter()
        .map(|(_, p)| (p.id(), p.dims().len()))
        .collect();
    for &(id, rank) in &ids {
        sq += match rank {
            1 => grads
                .get::<1>(id)
                .map_or(0.0, |g| g.square().sum().into_scalar::<f32>() as f64),
            _ => grads
                .get::<2>(id)
                .map_or(0.0, |g| g.square().sum().into_scalar::<f32>() as f64),
        };
    }
    let norm = sq.sqrt();
    let factor = max_norm / (norm + 1e-6);
    if factor >= 1.0 {
        return;
    }
    for (id, rank) in ids {
        match rank {
            1 => {
                if let Some(g) = grads.remove::<1>(id) {
                    grads.register(id, g.mul_scalar(factor));
                }
            }
            _ => {
                if let Some(g) = grads.remove::<2>(id) {
                    grads.register(id, g.mul_scalar(factor));
                }
            }
        }
    }
}

/// The loss of one micro-batch (forward on an autodiff device).
pub fn batch_loss(
    model: &Classifier,
    items: &[&Encoded],
    weights: Option<&[f64]>,
    device: &Device,
) -> Tensor<1> {
    let token_level = model.kind.task == Task::TokenClassification;
    let batch = make_batch(items, token_level, device);
    let logits = model.forward(batch.ids, batch.mask);
    let [b, s, k] = logits.dims();
    cross_entropy(logits.reshape([b * s, k]), &batch.labels, weights)
}

/// Trains per `cfg`; with `opts.resume`, continues from the last checkpoint.
pub fn train(cfg: &TrainConfig, opts: &RunOptions) -> Result<TrainOutcome> {
    cfg.validate()?;
    let prepared = prepare(cfg)?;
    let device = select_device(&cfg.device)?.autodiff();
    let mut model = build_model(cfg, &prepared.base_config, prepared.labels.len(), &device)?;
    let weights = class_weights(cfg, &prepared)?;
    let mut optim: ModuleOptimizer = AdamWConfig::new()
        .with_weight_decay(cfg.weight_decay as f32)
        .with_epsilon(1e-8)
        .init();

    let n = prepared.train.len();
    let batches_per_epoch = n.div_ceil(cfg.batch_size);
    let steps_per_epoch = batches_per_epoch.div_ceil(cfg.grad_accum_steps);
    let epoch_steps = cfg.epochs * steps_per_epoch;
    let total_steps = match cfg.max_steps {
        Some(m) if cfg.epochs == 0 || m < epoch_steps => m,
        _ => epoch_steps,
    };
    let epochs = total_steps.div_ceil(steps_per_epoch.max(1));
    let warmup = (cfg.warmup_ratio * total_steps as f64).ceil() as usize;
    let ckpt_dir = cfg.checkpoint_path();

    let mut state = CheckpointState::default();
    checkpoint::stamp(&mut state, cfg);
    if opts.resume {
        match checkpoint::load(&ckpt_dir, cfg, &mut model, optim, &device)? {
            Some((s, o)) => {
                tracing::info!(
                    step = s.step,
                    epoch = s.epoch,
                    "resuming from {}",
                    ckpt_dir.display()
                );
                state = s;
                optim = o;
            }
            None => {
                return Err(TrainError::Checkpoint {
                    path: ckpt_dir.display().to_string(),
                    message: "no checkpoint to resume from".into(),
                })
            }
        }
    }

    let bar = if opts.progress {
        let bar = ProgressBar::new(total_steps as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30} {pos}/{len} steps {elapsed_precise} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_position(state.step as u64);
        bar
    } else {
        ProgressBar::hidden()
    };

    let start = Instant::now();
    let mut train_seconds = 0.0f64;
    let mut samples = 0usize;
    let mut last_loss = state.last_loss;
    let mut stopped_early = false;
    let mut accum = GradientsAccumulator::<Classifier>::new();
    'epochs: for epoch in state.epoch..epochs {
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut StdRng::seed_from_u64(
            cfg.seed.wrapping_add(epoch as u64 * 7919),
        ));
        let chunks: Vec<&[usize]> = order.chunks(cfg.batch_size).collect();
        for bi in state.batch..chunks.len() {
            let step_start = Instant::now();
            let items: Vec<&Encoded> = chunks[bi].iter().map(|&i| &prepared.train[i]).collect();
            device.seed(micro_seed(cfg.seed, epoch * batches_per_epoch + bi));
            let loss = batch_loss(&model, &items, weights.as_deref(), &device);
            let loss_value = loss.clone().into_scalar::<f32>() as f64;
            if !loss_value.is_finite() {
                return Err(TrainError::Config(format!(
                    "loss became {loss_value} at step {}: lower the learning rate",
                    state.step
                )));
            }
            let loss = loss.div_scalar(cfg.grad_accum_steps as f64);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            accum.accumulate(&model, grads);
            state.loss_sum += loss_value;
            state.loss_count += 1;
            last_loss = loss_value;
            samples += items.len();
            let end_of_group =
                (bi + 1).is_multiple_of(cfg.grad_accum_steps) || bi + 1 == chunks.len();
            if !end_of_group {
                train_seconds += step_start.elapsed().as_secs_f64();
                continue;
            }
            let mut grads = accum.grads();
            if let Some(max) = cfg.max_grad_norm {
                clip_global_norm(&mut model, &mut grads, max);
            }
            let lr = linear_warmup_decay(cfg.learning_rate, state.step, total_steps, warmup);
            model = optim.step(lr, model, grads);
            train_seconds += step_start.elapsed().as_secs_f64();
            state.step += 1;
            state.batch = bi + 1;
            state.epoch = epoch;
            state.last_loss = last_loss;
            let rate = samples as f64 / train_seconds.max(1e-9);
            bar.set_position(state.step as u64);
            bar.set_message(format!(
                "epoch {} loss {last_loss:.4} {rate:.1} samples/s",
                epoch + 1
            ));
            let done = state.step >= total_steps;
            let pause = opts.stop_after_steps.is_some_and(|s| state.step >= s);
            if cfg
                .checkpoint_every
                .is_some_and(|e| state.step.is_multiple_of(e))
                || (pause && !done)
            {
                checkpoint::save(&ckpt_dir, &state, &mut model, &optim)?;
            }
            if pause && !done {
                stopped_early = true;
                break 'epochs;
            }
            if done {
                break;
            }
        }
        // End of epoch: validate, track early stopping, checkpoint.
        let train_loss = state.loss_sum / state.loss_count.max(1) as f64;
        let validation = match &prepared.validation {
            Some(v) => Some(evaluate(
                &model.valid(),
                v,
                &prepared.labels,
                cfg.batch_size.max(16),
            )),
            None => None,
        };
        let score = validation.as_ref().map(EvalReport::score);
        state.history.push(EpochRecord {
            epoch: epoch + 1,
            step: state.step,
            train_loss,
            validation,
        });
        tracing::info!(
            epoch = epoch + 1,
            step = state.step,
            train_loss,
            ?score,
            "epoch done"
        );
        state.epoch = epoch + 1;
        state.batch = 0;
        state.loss_sum = 0.0;
        state.loss_count = 0;
        let mut patience_hit = false;
        if let Some(score) = score {
            if state.best_score.is_none_or(|b| score > b) {
                state.best_score = Some(score);
                state.epochs_without_improvement = 0;
            } else {
                state.epochs_without_improvement += 1;
                patience_hit = cfg
                    .early_stopping_patience
                    .is_some_and(|p| state.epochs_without_improvement >= p);
            }
        }
        checkpoint::save(&ckpt_dir, &state, &mut model, &optim)?;
        if patience_hit {
            tracing::info!(
                epoch = epoch + 1,
                "early stopping: no validation improvement"
            );
            stopped_early = true;
            break;
        }
        if state.step >= total_steps {
            break;
        }
    }
    bar.finish_and_clear();
    let wall_seconds = start.elapsed().as_secs_f64();
    Ok(TrainOutcome {
        model,
        epochs: state.history.clone(),
        steps: state.step,
        final_loss: last_loss,
        samples_per_second: samples as f64 / train_seconds.max(1e-9),
        wall_seconds,
        train_seconds,
        stopped_early,
        prepared,
    })
}

/// Trainable tensors on the host: `(name, dims, values)`.
pub type NamedValues = Vec<(String, Vec<usize>, Vec<f32>)>;

/// Reads every trainable parameter to the host, by name (for checkpoints and tests).
pub fn trainable_values(model: &mut Classifier) -> NamedValues {
    model
        .trainables_mut()
        .into_iter()
        .map(|(name, p)| {
            let dims = p.dims();
            let values = match p.value() {
                AnyTensor::Rank1(t) => crate::weights::to_vec(t),
                AnyTensor::Rank2(t) => crate::weights::to_vec(t),
            };
            (name, dims, values)
        })
        .collect()
}

/// Whether `dir` holds a checkpoint.
pub fn has_checkpoint(dir: &Path) -> bool {
    dir.join(checkpoint::STATE_FILE).exists()
}
