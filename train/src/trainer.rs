//! The training loop: AdamW with warm-up + linear decay, gradient accumulation, global-norm
//! clipping, class weights, per-epoch validation, early stopping, checkpoints and resume.

use std::path::PathBuf;
use std::time::Instant;

use burn::module::AutodiffModule;
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
use crate::device::select_device;
use crate::encode::{make_batch, Encoded, Encoder, IGNORE_INDEX};
use crate::error::{Result, TrainError};
use crate::evaluate::{evaluate, EvalReport};
use crate::model::{
    config_f64, read_model_config, AnyTensor, Classifier, ClassifierInit, HeadKind,
};
use crate::schedule::linear_warmup_decay;

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

/// The training dropouts `(hidden, attention)`: the config's, else the base model's
/// `hidden_dropout_prob` / `attention_probs_dropout_prob` (as HF uses them), else 0.1.
pub fn dropouts(cfg: &TrainConfig, base_config: &ModelConfig) -> (f64, f64) {
    let pick =
        |own: Option<f64>, key: &str| own.or_else(|| config_f64(base_config, key)).unwrap_or(0.1);
    (
        pick(cfg.hidden_dropout, "hidden_dropout_prob"),
        pick(cfg.attention_dropout, "attention_probs_dropout_prob"),
    )
}

/// Builds the model a config describes (deterministic in the seed).
pub fn build_model(
    cfg: &TrainConfig,
    base_config: &ModelConfig,
    num_labels: usize,
    device: &Device,
) -> Result<Classifier> {
    let (hidden_dropout, attention_dropout) = dropouts(cfg, base_config);
    let init = ClassifierInit {
        bert: BertInit {
            config: base_config,
            lora: Some(&cfg.lora),
            hidden_dropout,
            attention_dropout,
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

/// The global L2 norm of the trainable gradients (before clipping), as `clip_grad_norm_`
/// returns it.
pub fn global_grad_norm(model: &mut Classifier, grads: &GradientsParams) -> f64 {
    let mut sq = 0.0f64;
    for (_, p) in model.trainables_mut() {
        let id = p.id();
        sq += match p.dims().len() {
            1 => grads
                .get::<1>(id)
                .map_or(0.0, |g| g.square().sum().into_scalar::<f32>() as f64),
            _ => grads
                .get::<2>(id)
                .map_or(0.0, |g| g.square().sum().into_scalar::<f32>() as f64),
        };
    }
    sq.sqrt()
}

/// Applies torch-style global L2-norm clipping (`clip_grad_norm_`: scale by
/// `max_norm / (norm + 1e-6)` when that is below 1) to the trainable gradients; returns the norm
/// before clipping.
pub fn clip_global_norm(model: &mut Classifier, grads: &mut GradientsParams, max_norm: f64) -> f64 {
    let norm = global_grad_norm(model, grads);
    let factor = max_norm / (norm + 1e-6);
    if factor >= 1.0 {
        return norm;
    }
    let ids: Vec<(burn::module::ParamId, usize)> = model
        .trainables_mut()
        .iter()
        .map(|(_, p)| (p.id(), p.dims().len()))
        .collect();
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
    norm
}

/// The AdamW optimizer of the recipe: torch defaults (betas 0.9 / 0.999, eps 1e-8, decoupled
/// weight decay `p ← p·(1 − lr·wd)` on every trainable tensor, bias correction).
pub fn adamw(weight_decay: f64) -> ModuleOptimizer {
    AdamWConfig::new()
        .with_beta_1(0.9)
        .with_beta_2(0.999)
        .with_weight_decay(weight_decay as f32)
        .with_epsilon(1e-8)
        .init()
}

/// One optimizer step on accumulated gradients: optional global-norm clipping, then AdamW at
/// `lr`. Returns the updated model and the gradient norm before clipping.
pub fn optimizer_step(
    mut model: Classifier,
    optim: &mut ModuleOptimizer,
    mut grads: GradientsParams,
    max_grad_norm: Option<f64>,
    lr: f64,
) -> (Classifier, f64) {
    let norm = match max_grad_norm {
        Some(max) => clip_global_norm(&mut model, &mut grads, max),
        None => global_grad_norm(&mut model, &grads),
    };
    (optim.step(lr, model, grads), norm)
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

/// Steps and epochs of a run over `n` training examples.
struct Schedule {
    batches_per_epoch: usize,
    /// Optimizer steps in all (`max_steps` caps the epochs' steps).
    total_steps: usize,
    /// Epochs those steps span.
    epochs: usize,
    /// Steps of linear warm-up.
    warmup: usize,
}

impl Schedule {
    fn of(cfg: &TrainConfig, n: usize) -> Schedule {
        let batches_per_epoch = n.div_ceil(cfg.batch_size);
        let steps_per_epoch = batches_per_epoch.div_ceil(cfg.grad_accum_steps);
        let epoch_steps = cfg.epochs * steps_per_epoch;
        let total_steps = match cfg.max_steps {
            Some(m) if cfg.epochs == 0 || m < epoch_steps => m,
            _ => epoch_steps,
        };
        Schedule {
            batches_per_epoch,
            total_steps,
            epochs: total_steps.div_ceil(steps_per_epoch.max(1)),
            warmup: (cfg.warmup_ratio * total_steps as f64).ceil() as usize,
        }
    }
}

/// A step counter bar (hidden unless `show`), starting at `done`.
fn progress_bar(show: bool, total_steps: usize, done: usize) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total_steps as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} steps {elapsed_precise} eta {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_position(done as u64);
    bar
}

/// The end of epoch `epoch`: validates, records the epoch, resets the epoch counters and tracks
/// early stopping; returns whether patience ran out.
fn end_epoch(
    cfg: &TrainConfig,
    prepared: &Prepared,
    model: &Classifier,
    state: &mut CheckpointState,
    epoch: usize,
) -> bool {
    let train_loss = state.loss_sum / state.loss_count.max(1) as f64;
    let validation = prepared
        .validation
        .as_ref()
        .map(|v| evaluate(&model.valid(), v, &prepared.labels, cfg.batch_size.max(16)));
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
    let Some(score) = score else { return false };
    if state.best_score.is_none_or(|b| score > b) {
        state.best_score = Some(score);
        state.epochs_without_improvement = 0;
        return false;
    }
    state.epochs_without_improvement += 1;
    cfg.early_stopping_patience
        .is_some_and(|p| state.epochs_without_improvement >= p)
}

/// Trains per `cfg`; with `opts.resume`, continues from the last checkpoint.
pub fn train(cfg: &TrainConfig, opts: &RunOptions) -> Result<TrainOutcome> {
    cfg.validate()?;
    let prepared = prepare(cfg)?;
    let device = select_device(&cfg.device)?.autodiff();
    let mut model = build_model(cfg, &prepared.base_config, prepared.labels.len(), &device)?;
    let weights = class_weights(cfg, &prepared)?;
    let schedule = Schedule::of(cfg, prepared.train.len());
    let ckpt_dir = cfg.checkpoint_path();
    let (mut state, mut optim) = initial_state(cfg, opts, &ckpt_dir, &mut model, &device)?;
    let bar = progress_bar(opts.progress, schedule.total_steps, state.step);
    let run = Loop {
        cfg,
        opts,
        prepared: &prepared,
        schedule: &schedule,
        weights: weights.as_deref(),
        device: &device,
        ckpt_dir: &ckpt_dir,
        bar: &bar,
    };

    let start = Instant::now();
    let mut tally = Tally {
        samples: 0,
        train_seconds: 0.0,
        last_loss: state.last_loss,
    };
    let mut stopped_early = false;
    for epoch in state.epoch..schedule.epochs {
        let paused;
        (model, paused) = run.epoch(epoch, model, &mut optim, &mut state, &mut tally)?;
        if paused {
            stopped_early = true;
            break;
        }
        let patience_hit = end_epoch(cfg, &prepared, &model, &mut state, epoch);
        checkpoint::save(&ckpt_dir, &state, &mut model, &optim)?;
        if patience_hit {
            tracing::info!(
                epoch = epoch + 1,
                "early stopping: no validation improvement"
            );
            stopped_early = true;
            break;
        }
        if state.step >= schedule.total_steps {
            break;
        }
    }
    bar.finish_and_clear();
    Ok(TrainOutcome {
        model,
        epochs: state.history.clone(),
        steps: state.step,
        final_loss: tally.last_loss,
        samples_per_second: tally.samples as f64 / tally.train_seconds.max(1e-9),
        wall_seconds: start.elapsed().as_secs_f64(),
        train_seconds: tally.train_seconds,
        stopped_early,
        prepared,
    })
}

/// A fresh checkpoint state and optimizer, or (with `opts.resume`) the last checkpoint's, whose
/// weights are loaded into `model`.
fn initial_state(
    cfg: &TrainConfig,
    opts: &RunOptions,
    ckpt_dir: &std::path::Path,
    model: &mut Classifier,
    device: &Device,
) -> Result<(CheckpointState, ModuleOptimizer)> {
    let optim = adamw(cfg.weight_decay);
    if !opts.resume {
        let mut state = CheckpointState::default();
        checkpoint::stamp(&mut state, cfg);
        return Ok((state, optim));
    }
    let Some((state, optim)) = checkpoint::load(ckpt_dir, cfg, model, optim, device)? else {
        return Err(TrainError::Checkpoint {
            path: ckpt_dir.display().to_string(),
            message: "no checkpoint to resume from".into(),
        });
    };
    tracing::info!(
        step = state.step,
        epoch = state.epoch,
        "resuming from {}",
        ckpt_dir.display()
    );
    Ok((state, optim))
}

/// What this process measured of the run (not checkpointed: a resumed run measures anew).
struct Tally {
    samples: usize,
    train_seconds: f64,
    last_loss: f64,
}

/// The fixed parts of a training loop.
struct Loop<'a> {
    cfg: &'a TrainConfig,
    opts: &'a RunOptions,
    prepared: &'a Prepared,
    schedule: &'a Schedule,
    weights: Option<&'a [f64]>,
    device: &'a Device,
    ckpt_dir: &'a std::path::Path,
    bar: &'a ProgressBar,
}

impl Loop<'_> {
    /// Runs epoch `epoch` from `state.batch` on; returns the model and whether the run paused
    /// (`opts.stop_after_steps`, after a checkpoint).
    fn epoch(
        &self,
        epoch: usize,
        mut model: Classifier,
        optim: &mut ModuleOptimizer,
        state: &mut CheckpointState,
        tally: &mut Tally,
    ) -> Result<(Classifier, bool)> {
        let cfg = self.cfg;
        let mut order: Vec<usize> = (0..self.prepared.train.len()).collect();
        order.shuffle(&mut StdRng::seed_from_u64(
            cfg.seed.wrapping_add(epoch as u64 * 7919),
        ));
        let chunks: Vec<&[usize]> = order.chunks(cfg.batch_size).collect();
        // Accumulation groups end with the epoch, so the accumulator never spans two.
        let mut accum = GradientsAccumulator::<Classifier>::new();
        for bi in state.batch..chunks.len() {
            let step_start = Instant::now();
            let micro = epoch * self.schedule.batches_per_epoch + bi;
            let (loss_value, grads) = self.micro_batch(&model, chunks[bi], micro, state.step)?;
            accum.accumulate(&model, grads);
            state.loss_sum += loss_value;
            state.loss_count += 1;
            tally.last_loss = loss_value;
            tally.samples += chunks[bi].len();
            let end_of_group =
                (bi + 1).is_multiple_of(cfg.grad_accum_steps) || bi + 1 == chunks.len();
            if !end_of_group {
                tally.train_seconds += step_start.elapsed().as_secs_f64();
                continue;
            }
            let s = self.schedule;
            let lr = linear_warmup_decay(cfg.learning_rate, state.step, s.total_steps, s.warmup);
            model = optimizer_step(model, optim, accum.grads(), cfg.max_grad_norm, lr).0;
            tally.train_seconds += step_start.elapsed().as_secs_f64();
            state.step += 1;
            state.batch = bi + 1;
            state.epoch = epoch;
            state.last_loss = tally.last_loss;
            self.show(epoch, state, tally);
            let done = state.step >= s.total_steps;
            let pause = !done && self.opts.stop_after_steps.is_some_and(|n| state.step >= n);
            let every = cfg.checkpoint_every;
            if pause || every.is_some_and(|e| state.step.is_multiple_of(e)) {
                checkpoint::save(self.ckpt_dir, state, &mut model, optim)?;
            }
            if pause {
                return Ok((model, true));
            }
            if done {
                break;
            }
        }
        Ok((model, false))
    }

    /// Forward and backward of one micro-batch (the examples at `indices`): its loss and its
    /// gradients, scaled for accumulation; `step` names the step in the error of a loss that is
    /// not finite.
    fn micro_batch(
        &self,
        model: &Classifier,
        indices: &[usize],
        micro: usize,
        step: usize,
    ) -> Result<(f64, GradientsParams)> {
        let items: Vec<&Encoded> = indices.iter().map(|&i| &self.prepared.train[i]).collect();
        self.device.seed(micro_seed(self.cfg.seed, micro));
        let loss = batch_loss(model, &items, self.weights, self.device);
        let loss_value = loss.clone().into_scalar::<f32>() as f64;
        if !loss_value.is_finite() {
            return Err(TrainError::Config(format!(
                "loss became {loss_value} at step {step}: lower the learning rate"
            )));
        }
        let loss = loss.div_scalar(self.cfg.grad_accum_steps as f64);
        Ok((
            loss_value,
            GradientsParams::from_grads(loss.backward(), model),
        ))
    }

    /// Moves the progress bar to the state's step.
    fn show(&self, epoch: usize, state: &CheckpointState, tally: &Tally) {
        let rate = tally.samples as f64 / tally.train_seconds.max(1e-9);
        self.bar.set_position(state.step as u64);
        self.bar.set_message(format!(
            "epoch {} loss {:.4} {rate:.1} samples/s",
            epoch + 1,
            tally.last_loss
        ));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn base(extra: &str) -> ModelConfig {
        serde_json::from_str(&format!(
            r#"{{"vocab_size": 10, "hidden_size": 4, "num_hidden_layers": 1,
                "num_attention_heads": 1, "intermediate_size": 8,
                "max_position_embeddings": 16{extra}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn dropouts_follow_the_base_config_unless_set() {
        let mut cfg = TrainConfig::default();
        let b = base(r#", "hidden_dropout_prob": 0.2, "attention_probs_dropout_prob": 0.05"#);
        assert_eq!(dropouts(&cfg, &b), (0.2, 0.05));
        assert_eq!(dropouts(&cfg, &base("")), (0.1, 0.1));
        cfg.hidden_dropout = Some(0.0);
        cfg.attention_dropout = Some(0.3);
        assert_eq!(dropouts(&cfg, &b), (0.0, 0.3));
    }

    #[test]
    fn cross_entropy_is_the_weighted_mean() {
        let device = Device::flex();
        // Rows: logits (0, ln 3) -> p(label 1) = 3/4; (0, 0) -> p = 1/2; ignored row.
        let logits = Tensor::<2>::from_data(
            TensorData::new(vec![0.0f32, 3f32.ln(), 0.0, 0.0, 5.0, -5.0], [3, 2]),
            &device,
        );
        let labels = [1, 0, IGNORE_INDEX];
        let mean = cross_entropy(logits.clone(), &labels, None).into_scalar::<f32>() as f64;
        let want = -((0.75f64).ln() + (0.5f64).ln()) / 2.0;
        assert!((mean - want).abs() < 1e-6, "{mean} vs {want}");
        let w = [3.0, 1.0];
        let weighted = cross_entropy(logits, &labels, Some(&w)).into_scalar::<f32>() as f64;
        let want = -(1.0 * (0.75f64).ln() + 3.0 * (0.5f64).ln()) / 4.0;
        assert!((weighted - want).abs() < 1e-6, "{weighted} vs {want}");
    }
}
