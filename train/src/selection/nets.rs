//! The MLP and matrix-factorisation selectors as burn modules, and their training loop.

use burn::module::{AutodiffModule, Module, Param, ParamId};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use router_core::export::selector::{
    mlp_layer, SelectorMethod, MF_CLASSIFIER, MF_MODEL_BIAS, MF_MODEL_EMBEDDING, MF_TEXT_PROJ,
};

use super::{EpochLoss, Fitted, SelectionConfig, Table};
use crate::device::select_device;
use crate::error::{Result, TrainError};
use crate::weights::TensorMap;

/// `mlp`: Linear → ReLU → … → Linear to one logit per model.
#[derive(Module, Debug)]
pub(super) struct Mlp {
    layers: Vec<Linear>,
}

/// `mf`: `logit_j = Σ_i w_i · V_ji · (P x)_i + b_j`.
#[derive(Module, Debug)]
pub(super) struct Mf {
    text_proj: Linear,
    model_embedding: Param<Tensor<2>>,
    classifier: Param<Tensor<1>>,
    model_bias: Param<Tensor<1>>,
}

/// What the training loop needs of a selector network.
pub(super) trait Net: AutodiffModule + Clone {
    /// Quality logits `[b, m]` of embeddings `[b, d]`.
    fn forward(&self, x: Tensor<2>) -> Tensor<2>;
    /// The tensors under their export names.
    fn tensors(&self) -> TensorMap;
}

impl Mlp {
    fn new(d: usize, hidden: &[usize], m: usize, device: &Device) -> Self {
        let widths: Vec<usize> = std::iter::once(d)
            .chain(hidden.iter().copied())
            .chain([m])
            .collect();
        Mlp {
            layers: widths
                .windows(2)
                .map(|w| LinearConfig::new(w[0], w[1]).init(device))
                .collect(),
        }
    }
}

impl Net for Mlp {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        self.layers.iter().enumerate().fold(x, |h, (i, l)| {
            let z = l.forward(h);
            if i < last {
                relu(z)
            } else {
                z
            }
        })
    }

    fn tensors(&self) -> TensorMap {
        let mut t = TensorMap::default();
        for (i, l) in self.layers.iter().enumerate() {
            let p = mlp_layer(i);
            t.insert_linear(p.weight(), l.weight.val());
            if let Some(b) = &l.bias {
                t.insert_tensor(p.bias(), b.val());
            }
        }
        t
    }
}

impl Mf {
    fn new(d: usize, rank: usize, m: usize, device: &Device) -> Self {
        let param2 = |shape: [usize; 2]| {
            Param::initialized(
                ParamId::new(),
                Tensor::<2>::random(
                    shape,
                    Distribution::Normal(0.0, 1.0 / (rank as f64).sqrt()),
                    device,
                )
                .require_grad(),
            )
        };
        let ones = Tensor::<1>::from_data(TensorData::new(vec![1f32; rank], [rank]), device);
        Mf {
            text_proj: LinearConfig::new(d, rank).with_bias(false).init(device),
            model_embedding: param2([m, rank]),
            classifier: Param::initialized(ParamId::new(), ones.require_grad()),
            model_bias: Param::initialized(
                ParamId::new(),
                Tensor::<1>::zeros([m], device).require_grad(),
            ),
        }
    }
}

impl Net for Mf {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let p = self.text_proj.forward(x);
        let scaled = self.model_embedding.val() * self.classifier.val().unsqueeze::<2>();
        p.matmul(scaled.transpose()) + self.model_bias.val().unsqueeze::<2>()
    }

    fn tensors(&self) -> TensorMap {
        let mut t = TensorMap::default();
        t.insert_linear(MF_TEXT_PROJ, self.text_proj.weight.val());
        t.insert_tensor(MF_MODEL_EMBEDDING, self.model_embedding.val());
        t.insert_tensor(MF_CLASSIFIER, self.classifier.val().unsqueeze::<2>());
        t.insert_tensor(MF_MODEL_BIAS, self.model_bias.val());
        t
    }
}

/// Binary cross-entropy of logits `z` against soft targets `y`, averaged:
/// `mean(max(z, 0) − y·z + log(1 + e^(−|z|)))`.
pub(super) fn bce_with_logits(z: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
    let softplus = z.clone().clamp_min(0.0) + z.clone().abs().neg().exp().log1p();
    (softplus - y * z).mean()
}

fn rows(t: &Table, idx: &[usize], device: &Device) -> (Tensor<2>, Tensor<2>) {
    let mut x = Vec::with_capacity(idx.len() * t.dim);
    let mut y = Vec::with_capacity(idx.len() * t.models);
    for &i in idx {
        x.extend_from_slice(t.row(i));
        y.extend_from_slice(t.target(i));
    }
    (
        Tensor::from_data(TensorData::new(x, [idx.len(), t.dim]), device),
        Tensor::from_data(TensorData::new(y, [idx.len(), t.models]), device),
    )
}

/// Mean loss of `net` over `t`, in batches of `batch` rows.
fn loss_on<N: Net>(net: &N, t: &Table, batch: usize, device: &Device) -> f64 {
    let idx: Vec<usize> = (0..t.len()).collect();
    let mut total = 0.0;
    for chunk in idx.chunks(batch.max(1)) {
        let (x, y) = rows(t, chunk, device);
        let l = bce_with_logits(net.forward(x), y).into_scalar::<f32>() as f64;
        total += l * chunk.len() as f64;
    }
    total / t.len() as f64
}

/// Trains `net` and returns the epoch with the lowest validation loss.
fn train_loop<N: Net>(
    mut net: N,
    cfg: &SelectionConfig,
    train: &Table,
    validation: &Table,
    device: &Device,
) -> Result<(N, Vec<EpochLoss>)> {
    let mut optim = AdamWConfig::new()
        .with_weight_decay(cfg.weight_decay as f32)
        .init();
    let mut history = Vec::new();
    let mut best = (f64::INFINITY, net.clone(), 0usize);
    let mut order: Vec<usize> = (0..train.len()).collect();
    for epoch in 1..=cfg.epochs.max(1) {
        order.shuffle(&mut StdRng::seed_from_u64(cfg.seed ^ epoch as u64));
        let mut sum = 0.0;
        for chunk in order.chunks(cfg.batch_size.max(1)) {
            let (x, y) = rows(train, chunk, device);
            let loss = bce_with_logits(net.forward(x), y);
            let value = loss.clone().into_scalar::<f32>() as f64;
            if !value.is_finite() {
                return Err(TrainError::Config(format!(
                    "selection loss became {value} in epoch {epoch}: lower the learning rate"
                )));
            }
            sum += value * chunk.len() as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = optim.step(cfg.learning_rate, net, grads);
        }
        let validation_loss = loss_on(
            &net.clone().valid(),
            validation,
            1024,
            &device.clone().inner(),
        );
        history.push(EpochLoss {
            epoch,
            train_loss: sum / train.len() as f64,
            validation_loss,
        });
        if validation_loss < best.0 {
            best = (validation_loss, net.clone(), epoch);
        } else if epoch - best.2 >= cfg.patience.max(1) {
            break;
        }
    }
    Ok((best.1, history))
}

/// Fits an `mlp` or `mf` selector.
pub(super) fn fit(cfg: &SelectionConfig, train: &Table, validation: &Table) -> Result<Fitted> {
    Ok(fit_keep(cfg, train, validation)?.0)
}

/// The trained network of a fit, as the export's reader would run it.
pub(super) enum Trained {
    Mlp(Mlp),
    Mf(Box<Mf>),
}

/// [`fit`], also returning the trained network (on the inner, non-autodiff device).
pub(super) fn fit_keep(
    cfg: &SelectionConfig,
    train: &Table,
    validation: &Table,
) -> Result<(Fitted, Trained)> {
    let device = select_device(&cfg.device)?.autodiff();
    device.seed(cfg.seed);
    let (d, m) = (train.dim, train.models);
    let mut fitted = Fitted {
        tensors: TensorMap::default(),
        k: None,
        hidden: Vec::new(),
        rank: None,
        history: Vec::new(),
    };
    let trained = match cfg.method {
        SelectorMethod::Mlp => {
            let net = Mlp::new(d, &cfg.hidden, m, &device);
            let (net, history) = train_loop(net, cfg, train, validation, &device)?;
            (fitted.hidden, fitted.history) = (cfg.hidden.clone(), history);
            Trained::Mlp(net.valid())
        }
        SelectorMethod::Mf => {
            let net = Mf::new(d, cfg.rank, m, &device);
            let (net, history) = train_loop(net, cfg, train, validation, &device)?;
            (fitted.rank, fitted.history) = (Some(cfg.rank), history);
            Trained::Mf(Box::new(net.valid()))
        }
        SelectorMethod::Knn => {
            return Err(TrainError::Config("kNN has no network to train".into()))
        }
    };
    fitted.tensors = match &trained {
        Trained::Mlp(n) => n.tensors(),
        Trained::Mf(n) => n.tensors(),
    };
    Ok((fitted, trained))
}

/// Quality predictions `[n][m]` of a trained network on `t` (sigmoid of its logits), computed
/// by burn: what the export must reproduce.
#[cfg(test)]
pub(super) fn predict(trained: &Trained, t: &Table) -> Vec<Vec<f32>> {
    let device = Device::flex();
    let idx: Vec<usize> = (0..t.len()).collect();
    let (x, _) = rows(t, &idx, &device);
    let z = match trained {
        Trained::Mlp(n) => n.forward(x),
        Trained::Mf(n) => n.forward(x),
    };
    let p = burn::tensor::activation::sigmoid(z);
    crate::weights::to_vec(p)
        .chunks(t.models)
        .map(<[f32]>::to_vec)
        .collect()
}
