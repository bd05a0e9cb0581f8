//! A linear layer with an optional LoRA adapter: `y = x·W + b + scaling · dropout(x)·A·B`.
//!
//! Weights are stored burn-style (`W` is `[in, out]`, `A` is `[in, r]`, `B` is `[r, out]`); the
//! export transposes them to HF / PEFT layout (`[out, in]`, `lora_A` `[r, in]`, `lora_B` `[out, r]`).

use burn::module::{Module, Param, ParamId};
use burn::nn::{Dropout, DropoutConfig};
use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::Rng;
use router_core::export::LayerPart;
use serde::{Deserialize, Serialize};

/// LoRA hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoraSettings {
    /// Rank `r` of the update.
    pub rank: usize,
    /// Scaling numerator `alpha`.
    pub alpha: f64,
    /// Dropout on the adapter's input during training.
    pub dropout: f64,
    /// Use `alpha / sqrt(r)` (rsLoRA) instead of `alpha / r`.
    pub use_rslora: bool,
    /// Which projections get an adapter.
    pub target_modules: Vec<TargetModule>,
}

impl Default for LoraSettings {
    fn default() -> Self {
        LoraSettings {
            rank: 8,
            alpha: 16.0,
            dropout: 0.1,
            use_rslora: false,
            target_modules: vec![TargetModule::Query, TargetModule::Value],
        }
    }
}

impl LoraSettings {
    /// The factor applied to `A·B`.
    pub fn scaling(&self) -> f64 {
        if self.use_rslora {
            self.alpha / (self.rank as f64).sqrt()
        } else {
            self.alpha / self.rank as f64
        }
    }

    /// Whether `module` gets an adapter.
    pub fn targets(&self, module: TargetModule) -> bool {
        self.target_modules.contains(&module)
    }
}

/// A projection of a BERT layer that can carry an adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetModule {
    /// `attention.self.query`.
    Query,
    /// `attention.self.key`.
    Key,
    /// `attention.self.value`.
    Value,
    /// `attention.output.dense`.
    AttentionOutput,
    /// `intermediate.dense`.
    Intermediate,
    /// `output.dense` (the FFN down projection).
    Output,
}

impl TargetModule {
    /// Every target, in layer order.
    pub const ALL: [TargetModule; 6] = [
        TargetModule::Query,
        TargetModule::Key,
        TargetModule::Value,
        TargetModule::AttentionOutput,
        TargetModule::Intermediate,
        TargetModule::Output,
    ];

    /// The layer module of the export contract this target is.
    pub fn part(self) -> LayerPart {
        match self {
            TargetModule::Query => LayerPart::Query,
            TargetModule::Key => LayerPart::Key,
            TargetModule::Value => LayerPart::Value,
            TargetModule::AttentionOutput => LayerPart::AttentionOutput,
            TargetModule::Intermediate => LayerPart::Intermediate,
            TargetModule::Output => LayerPart::Output,
        }
    }
}

/// Hands out deterministic parameter ids, so that optimizer state saved in a checkpoint finds
/// its parameters again in a freshly built model.
#[derive(Debug, Default)]
pub struct ParamIds {
    next: u64,
}

impl ParamIds {
    /// The next id.
    pub fn next_id(&mut self) -> ParamId {
        self.next += 1;
        ParamId::from(self.next)
    }

    /// A parameter with the next id, trainable or frozen.
    pub fn param<const D: usize>(&mut self, t: Tensor<D>, trainable: bool) -> Param<Tensor<D>> {
        Param::initialized(self.next_id(), t).set_require_grad(trainable)
    }
}

/// The low-rank factors of one adapter.
#[derive(Module, Debug)]
pub struct LoraPair {
    /// `A`, `[in, r]`.
    pub a: Param<Tensor<2>>,
    /// `B`, `[r, out]`.
    pub b: Param<Tensor<2>>,
    /// `alpha / r` or `alpha / sqrt(r)`.
    pub scaling: f64,
    /// Dropout on the adapter input.
    pub dropout: Dropout,
}

/// A linear layer whose base weight is frozen and which may carry a LoRA adapter.
#[derive(Module, Debug)]
pub struct LoraLinear {
    /// Base weight, `[in, out]`.
    pub weight: Param<Tensor<2>>,
    /// Base bias, `[out]`.
    pub bias: Param<Tensor<1>>,
    /// The adapter, if this projection is targeted.
    pub lora: Option<LoraPair>,
}

/// A tensor from row-major `f32` values.
pub fn tensor_from<const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &Device,
) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

impl LoraLinear {
    /// A layer from base weights (`[in, out]`, `[out]`), frozen unless `trainable`.
    pub fn new(weight: Tensor<2>, bias: Tensor<1>, trainable: bool, ids: &mut ParamIds) -> Self {
        LoraLinear {
            weight: ids.param(weight, trainable),
            bias: ids.param(bias, trainable),
            lora: None,
        }
    }

    /// Attaches an adapter: `A` uniform in `±1/sqrt(in)` (PEFT's kaiming init), `B` zero.
    pub fn with_lora(
        mut self,
        settings: &LoraSettings,
        rng: &mut StdRng,
        ids: &mut ParamIds,
    ) -> Self {
        let [d_in, d_out] = self.weight.val().dims();
        let device = self.weight.val().device();
        let bound = 1.0 / (d_in as f32).sqrt();
        let a: Vec<f32> = (0..d_in * settings.rank)
            .map(|_| rng.random_range(-bound..bound))
            .collect();
        let a = tensor_from(a, [d_in, settings.rank], &device);
        let b = Tensor::<2>::zeros([settings.rank, d_out], &device);
        self.lora = Some(LoraPair {
            a: ids.param(a, true),
            b: ids.param(b, true),
            scaling: settings.scaling(),
            dropout: DropoutConfig::new(settings.dropout).init(),
        });
        self
    }

    /// `x` is `[n, in]`; returns `[n, out]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let base = x.clone().matmul(self.weight.val()) + self.bias.val().unsqueeze::<2>();
        match &self.lora {
            None => base,
            Some(l) => {
                let delta = l
                    .dropout
                    .forward(x)
                    .matmul(l.a.val())
                    .matmul(l.b.val())
                    .mul_scalar(l.scaling);
                base + delta
            }
        }
    }

    /// The merged weight `W + scaling·A·B`, `[in, out]`, detached.
    pub fn merged_weight(&self) -> Tensor<2> {
        let w = self.weight.val().detach();
        match &self.lora {
            None => w,
            Some(l) => {
                w + l
                    .a
                    .val()
                    .detach()
                    .matmul(l.b.val().detach())
                    .mul_scalar(l.scaling)
            }
        }
    }
}
