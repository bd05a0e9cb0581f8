//! Checkpoints: trainable tensors (safetensors), AdamW state (burnpack), and the loop state
//! (step, epoch, position in the epoch's seeded order, early-stopping state, history), written
//! to a temporary directory and renamed into place.

use std::path::{Path, PathBuf};

use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::error::{Result, TrainError};
use crate::model::Classifier;
use crate::trainer::{trainable_values, EpochRecord};
use crate::weights::{TensorMap, WeightFile};

/// Loop state file.
pub const STATE_FILE: &str = "state.json";
/// Trainable tensors file.
pub const TENSORS_FILE: &str = "trainable.safetensors";
/// Optimizer state file.
pub const OPTIMIZER_FILE: &str = "optimizer.bpk";

/// Where the loop is.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Optimizer steps done.
    pub step: usize,
    /// Current epoch (0-based).
    pub epoch: usize,
    /// Next micro-batch index within the epoch's order.
    pub batch: usize,
    /// Sum of micro-batch losses in the current epoch.
    pub loss_sum: f64,
    /// Micro-batches in the current epoch.
    pub loss_count: usize,
    /// Loss of the last micro-batch.
    pub last_loss: f64,
    /// Best validation score.
    pub best_score: Option<f64>,
    /// Epochs since the best validation score.
    pub epochs_without_improvement: usize,
    /// Finished epochs.
    pub history: Vec<EpochRecord>,
    /// The recipe this run follows (resume refuses a different one).
    pub recipe: serde_json::Value,
}

/// The fields that must match for a resumed run to continue the same run.
fn recipe(cfg: &TrainConfig) -> serde_json::Value {
    serde_json::json!({
        "task": cfg.task, "train_file": cfg.train_file, "labels": cfg.labels,
        "max_length": cfg.max_length, "batch_size": cfg.batch_size,
        "grad_accum_steps": cfg.grad_accum_steps, "learning_rate": cfg.learning_rate,
        "epochs": cfg.epochs, "max_steps": cfg.max_steps, "seed": cfg.seed, "lora": cfg.lora,
        "max_train_examples": cfg.max_train_examples, "pooling": cfg.pooling,
    })
}

fn ckpt_err(dir: &Path, message: String) -> TrainError {
    TrainError::Checkpoint {
        path: dir.display().to_string(),
        message,
    }
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut s = dir.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// An empty `<dir>.tmp` (its parent created) to build `dir` in before [`swap_into_place`].
pub fn fresh_tmp(dir: &Path) -> Result<PathBuf> {
    let tmp = sibling(dir, ".tmp");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
    Ok(tmp)
}

/// Replaces `dir` with the fully written `tmp` directory.
pub fn swap_into_place(tmp: &Path, dir: &Path) -> Result<()> {
    let old = sibling(dir, ".old");
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| TrainError::io(&old, e))?;
    }
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(|e| TrainError::io(dir, e))?;
    }
    std::fs::rename(tmp, dir).map_err(|e| TrainError::io(dir, e))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| TrainError::io(&old, e))?;
    }
    Ok(())
}

/// Writes a checkpoint of `model` and `optim` at `state`.
pub fn save(
    dir: &Path,
    state: &CheckpointState,
    model: &mut Classifier,
    optim: &ModuleOptimizer,
) -> Result<()> {
    let tmp = fresh_tmp(dir)?;
    let mut map = TensorMap::default();
    for (name, dims, values) in trainable_values(model) {
        map.insert(name, dims, values);
    }
    let tensors = tmp.join(TENSORS_FILE);
    std::fs::write(&tensors, map.to_bytes()?).map_err(|e| TrainError::io(&tensors, e))?;
    optim
        .save(tmp.join(OPTIMIZER_FILE))
        .map_err(|e| ckpt_err(dir, format!("cannot save optimizer state: {e}")))?;
    let json = serde_json::to_string_pretty(state).map_err(|e| ckpt_err(dir, e.to_string()))?;
    let state_path = tmp.join(STATE_FILE);
    std::fs::write(&state_path, json).map_err(|e| TrainError::io(&state_path, e))?;
    swap_into_place(&tmp, dir)
}

/// Saves with the recipe of `cfg` recorded.
pub fn stamp(state: &mut CheckpointState, cfg: &TrainConfig) {
    state.recipe = recipe(cfg);
}

/// Loads the checkpoint in `dir` (or its `.old` sibling after an interrupted swap) into `model`
/// and the optimizer; `None` when there is none.
pub fn load(
    dir: &Path,
    cfg: &TrainConfig,
    model: &mut Classifier,
    optim: ModuleOptimizer,
    device: &Device,
) -> Result<Option<(CheckpointState, ModuleOptimizer)>> {
    let dir = if dir.join(STATE_FILE).exists() {
        dir.to_path_buf()
    } else if sibling(dir, ".old").join(STATE_FILE).exists() {
        sibling(dir, ".old")
    } else {
        return Ok(None);
    };
    let state_path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&state_path).map_err(|e| TrainError::io(&state_path, e))?;
    let state: CheckpointState = serde_json::from_str(&text)
        .map_err(|e| ckpt_err(&dir, format!("bad {STATE_FILE}: {e}")))?;
    if state.recipe != recipe(cfg) {
        return Err(ckpt_err(
            &dir,
            format!(
                "was written for a different recipe: {} (now {})",
                state.recipe,
                recipe(cfg)
            ),
        ));
    }
    let weights = WeightFile::open(&dir.join(TENSORS_FILE))?;
    for (name, mut param) in model.trainables_mut() {
        let values = weights.get(&name, &param.dims())?;
        param.set(values, device);
    }
    let optim = optim
        .load(dir.join(OPTIMIZER_FILE))
        .map_err(|e| ckpt_err(&dir, format!("cannot load optimizer state: {e}")))?;
    Ok(Some((state, optim)))
}
