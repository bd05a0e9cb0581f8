//! A BERT encoder in burn with HF tensor names, so HF checkpoints load by a direct mapping.

use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig};
use burn::tensor::activation::{gelu, softmax};
use burn::tensor::{Device, Int, Tensor};
use rand::rngs::StdRng;
use router_core::export::{BertNames, LayerPart, ModelConfig, TensorPath};

use crate::error::{Result, TrainError};
use crate::lora::{LoraLinear, LoraSettings, ParamIds, TargetModule};
use crate::weights::WeightFile;

/// LayerNorm over the last dimension with HF's `weight`/`bias` names.
#[derive(Module, Debug)]
pub struct LayerNorm {
    /// Scale `gamma`.
    pub weight: Param<Tensor<1>>,
    /// Shift `beta`.
    pub bias: Param<Tensor<1>>,
    /// Epsilon.
    pub eps: f64,
}

impl LayerNorm {
    fn load(
        w: &WeightFile,
        path: &TensorPath,
        cfg: &ModelConfig,
        ids: &mut ParamIds,
        device: &Device,
    ) -> Result<Self> {
        let h = cfg.hidden_size;
        Ok(LayerNorm {
            weight: ids.param(w.tensor(&path.weight(), [h], device)?, false),
            bias: ids.param(w.tensor(&path.bias(), [h], device)?, false),
            eps: cfg.layer_norm_eps,
        })
    }

    /// Normalises `[b, s, h]` over `h`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let (var, mean) = x.clone().var_mean_bias(2);
        let x = (x - mean) / var.add_scalar(self.eps).sqrt();
        x * self.weight.val().unsqueeze::<3>() + self.bias.val().unsqueeze::<3>()
    }
}

/// Word + position + token-type embeddings, then LayerNorm and dropout.
#[derive(Module, Debug)]
pub struct Embeddings {
    /// `word_embeddings.weight`, `[vocab, h]`.
    pub word: Param<Tensor<2>>,
    /// `position_embeddings.weight`, `[max_pos, h]`.
    pub position: Param<Tensor<2>>,
    /// `token_type_embeddings.weight`, `[types, h]`.
    pub token_type: Param<Tensor<2>>,
    /// `LayerNorm`.
    pub layer_norm: LayerNorm,
    /// Hidden dropout.
    pub dropout: Dropout,
}

impl Embeddings {
    /// `ids` is `[b, s]` (token type 0 everywhere); returns `[b, s, h]`.
    pub fn forward(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let [b, s] = ids.dims();
        let word = self.word.val().select(0, ids.reshape([b * s]));
        let h = word.dims()[1];
        let word = word.reshape([b, s, h]);
        let pos = self.position.val().slice(0..s).unsqueeze::<3>();
        let tt = self.token_type.val().slice(0..1).unsqueeze::<3>();
        self.dropout
            .forward(self.layer_norm.forward(word + pos + tt))
    }
}

/// One transformer layer (post-LN, as in BERT).
#[derive(Module, Debug)]
pub struct Layer {
    /// `attention.self.query`.
    pub query: LoraLinear,
    /// `attention.self.key`.
    pub key: LoraLinear,
    /// `attention.self.value`.
    pub value: LoraLinear,
    /// `attention.output.dense`.
    pub attention_output: LoraLinear,
    /// `attention.output.LayerNorm`.
    pub attention_norm: LayerNorm,
    /// `intermediate.dense`.
    pub intermediate: LoraLinear,
    /// `output.dense`.
    pub output: LoraLinear,
    /// `output.LayerNorm`.
    pub output_norm: LayerNorm,
    /// Attention heads.
    pub num_heads: usize,
    /// Dropout on attention probabilities.
    pub attention_dropout: Dropout,
    /// Dropout on sub-layer outputs.
    pub dropout: Dropout,
}

impl Layer {
    /// The projection for `target`.
    pub fn linear(&self, target: TargetModule) -> &LoraLinear {
        match target {
            TargetModule::Query => &self.query,
            TargetModule::Key => &self.key,
            TargetModule::Value => &self.value,
            TargetModule::AttentionOutput => &self.attention_output,
            TargetModule::Intermediate => &self.intermediate,
            TargetModule::Output => &self.output,
        }
    }

    /// `x` is `[b, s, h]`, `mask_bias` is `[b, 1, 1, s]` (0 or a large negative number).
    pub fn forward(&self, x: Tensor<3>, mask_bias: Tensor<4>) -> Tensor<3> {
        let [b, s, h] = x.dims();
        let nh = self.num_heads;
        let hd = h / nh;
        let flat = x.clone().reshape([b * s, h]);
        let heads = |t: Tensor<2>| t.reshape([b, s, nh, hd]).swap_dims(1, 2);
        let q = heads(self.query.forward(flat.clone()));
        let k = heads(self.key.forward(flat.clone()));
        let v = heads(self.value.forward(flat));
        let scores = q.matmul(k.swap_dims(2, 3)).div_scalar((hd as f64).sqrt()) + mask_bias;
        let probs = self.attention_dropout.forward(softmax(scores, 3));
        let ctx = probs.matmul(v).swap_dims(1, 2).reshape([b * s, h]);
        let attn = self
            .dropout
            .forward(self.attention_output.forward(ctx))
            .reshape([b, s, h]);
        let x = self.attention_norm.forward(attn + x);
        let inter = gelu(self.intermediate.forward(x.clone().reshape([b * s, h])));
        let out = self
            .dropout
            .forward(self.output.forward(inter))
            .reshape([b, s, h]);
        self.output_norm.forward(out + x)
    }
}

/// The encoder: embeddings and layers (no pooler; heads own theirs).
#[derive(Module, Debug)]
pub struct Bert {
    /// `embeddings.*`.
    pub embeddings: Embeddings,
    /// `encoder.layer.N.*`.
    pub layers: Vec<Layer>,
}

/// Options for building the encoder from a checkpoint.
#[derive(Debug, Clone)]
pub struct BertInit<'a> {
    /// The base model's config.
    pub config: &'a ModelConfig,
    /// The adapter settings; `None` builds a plain frozen encoder.
    pub lora: Option<&'a LoraSettings>,
    /// Hidden dropout probability (HF `hidden_dropout_prob`), used in training only.
    pub hidden_dropout: f64,
    /// Attention dropout probability, used in training only.
    pub attention_dropout: f64,
}

impl Bert {
    /// Loads the encoder from `weights` (HF names, with or without `bert.`), attaching adapters.
    pub fn load(
        w: &WeightFile,
        init: &BertInit<'_>,
        rng: &mut StdRng,
        ids: &mut ParamIds,
        device: &Device,
    ) -> Result<Self> {
        let cfg = init.config;
        let h = cfg.hidden_size;
        if cfg.num_attention_heads == 0 || !h.is_multiple_of(cfg.num_attention_heads) {
            return Err(TrainError::Config(format!(
                "hidden_size {h} is not a multiple of num_attention_heads {}",
                cfg.num_attention_heads
            )));
        }
        // Names relative to the encoder's prefix (the weight file strips `bert.`).
        let names = BertNames::new("");
        let embeddings = Embeddings {
            word: ids.param(
                w.tensor(&names.word_embeddings(), [cfg.vocab_size, h], device)?,
                false,
            ),
            position: ids.param(
                w.tensor(
                    &names.position_embeddings(),
                    [cfg.max_position_embeddings, h],
                    device,
                )?,
                false,
            ),
            token_type: ids.param(
                w.tensor(
                    &names.token_type_embeddings(),
                    [cfg.type_vocab_size, h],
                    device,
                )?,
                false,
            ),
            layer_norm: LayerNorm::load(w, &names.embeddings_norm(), cfg, ids, device)?,
            dropout: DropoutConfig::new(init.hidden_dropout).init(),
        };
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let mut lin = |target: TargetModule, d_in: usize, d_out: usize| -> Result<LoraLinear> {
                let path = names.layer_part(i, target.part());
                let weight = w.linear_weight(&path.weight(), d_in, d_out, device)?;
                let bias = w.tensor(&path.bias(), [d_out], device)?;
                let layer = LoraLinear::new(weight, bias, false, ids);
                Ok(match init.lora {
                    Some(l) if l.targets(target) => layer.with_lora(l, rng, ids),
                    _ => layer,
                })
            };
            let inter = cfg.intermediate_size;
            let query = lin(TargetModule::Query, h, h)?;
            let key = lin(TargetModule::Key, h, h)?;
            let value = lin(TargetModule::Value, h, h)?;
            let attention_output = lin(TargetModule::AttentionOutput, h, h)?;
            let intermediate = lin(TargetModule::Intermediate, h, inter)?;
            let output = lin(TargetModule::Output, inter, h)?;
            layers.push(Layer {
                query,
                key,
                value,
                attention_output,
                attention_norm: LayerNorm::load(
                    w,
                    &names.layer_part(i, LayerPart::AttentionNorm),
                    cfg,
                    ids,
                    device,
                )?,
                intermediate,
                output,
                output_norm: LayerNorm::load(
                    w,
                    &names.layer_part(i, LayerPart::OutputNorm),
                    cfg,
                    ids,
                    device,
                )?,
                num_heads: cfg.num_attention_heads,
                attention_dropout: DropoutConfig::new(init.attention_dropout).init(),
                dropout: DropoutConfig::new(init.hidden_dropout).init(),
            });
        }
        Ok(Bert { embeddings, layers })
    }

    /// Last hidden states `[b, s, h]` for token ids `[b, s]` and an attention mask `[b, s]` (1/0).
    pub fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<3> {
        let [b, s] = mask.dims();
        let mask_bias = (mask.neg().add_scalar(1.0))
            .mul_scalar(-1.0e9)
            .reshape([b, 1, 1, s]);
        let mut x = self.embeddings.forward(ids);
        for layer in &self.layers {
            x = layer.forward(x, mask_bias.clone());
        }
        x
    }
}
