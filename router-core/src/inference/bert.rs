//! A BERT encoder (HF `BertModel` weight names) for inference.

use candle_core::{DType, Module, Tensor, D};
use candle_nn::{Embedding, LayerNorm, Linear};

use super::encoder::Encoder;
use super::ops::{bias_gelu_, scaled_masked_softmax_};
use super::weights::Weights;
use crate::export::{BertNames, LayerPart, ModelConfig};
use crate::{Error, Result};

/// One encoder layer with the query/key/value projections fused into one matmul.
struct Layer {
    qkv: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    /// Feed-forward expansion without its bias, which [`bias_gelu_`] adds.
    intermediate: Linear,
    intermediate_bias: Vec<f32>,
    output: Linear,
    out_norm: LayerNorm,
}

/// BERT: embeddings + `num_hidden_layers` post-norm transformer layers (GELU-erf feed-forward).
pub struct BertEncoder {
    word: Embedding,
    position: Tensor,
    token_type0: Tensor,
    emb_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    head_dim: usize,
    hidden: usize,
}

impl BertEncoder {
    /// Loads the encoder tensors where `names` puts them (`[bert.]embeddings.*`,
    /// `[bert.]encoder.layer.N.*`).
    pub(crate) fn load(w: &Weights, config: &ModelConfig, names: &BertNames) -> Result<Self> {
        let h = config.hidden_size;
        let heads = config.num_attention_heads;
        let model_err = |message: String| Error::Model {
            path: w.file().display().to_string(),
            message,
        };
        if heads == 0 || (h / heads) * heads != h {
            return Err(model_err(format!(
                "hidden_size {h} is not a multiple of num_attention_heads {heads}"
            )));
        }
        if config.hidden_act != "gelu" {
            return Err(model_err(format!(
                "hidden_act {:?} is not supported (only gelu)",
                config.hidden_act
            )));
        }
        let eps = config.layer_norm_eps;
        let word = w.get(&names.word_embeddings(), &[config.vocab_size, h])?;
        let position = w.get(
            &names.position_embeddings(),
            &[config.max_position_embeddings, h],
        )?;
        let token_type = w.get(&names.token_type_embeddings(), &[config.type_vocab_size, h])?;
        let emb_norm = w.layer_norm(&names.embeddings_norm(), h, eps)?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let part = |p: LayerPart| names.layer_part(i, p);
            let mut qkv_w = Vec::with_capacity(3);
            let mut qkv_b = Vec::with_capacity(3);
            for p in [LayerPart::Query, LayerPart::Key, LayerPart::Value] {
                qkv_w.push(w.get(&part(p).weight(), &[h, h])?);
                qkv_b.push(w.get(&part(p).bias(), &[h])?);
            }
            let qkv_w = Tensor::cat(&qkv_w, 0)?;
            let qkv_b = Tensor::cat(&qkv_b, 0)?;
            let inter = config.intermediate_size;
            let intermediate = w.linear(&part(LayerPart::Intermediate), h, inter)?;
            let intermediate_bias = match intermediate.bias() {
                Some(b) => b.to_vec1::<f32>()?,
                None => vec![0.0; inter],
            };
            layers.push(Layer {
                qkv: Linear::new(qkv_w, Some(qkv_b)),
                attn_out: w.linear(&part(LayerPart::AttentionOutput), h, h)?,
                attn_norm: w.layer_norm(&part(LayerPart::AttentionNorm), h, eps)?,
                intermediate: Linear::new(intermediate.weight().clone(), None),
                intermediate_bias,
                output: w.linear(&part(LayerPart::Output), inter, h)?,
                out_norm: w.layer_norm(&part(LayerPart::OutputNorm), h, eps)?,
            });
        }
        Ok(BertEncoder {
            word: Embedding::new(word, h),
            position,
            token_type0: token_type.narrow(0, 0, 1)?,
            emb_norm,
            layers,
            heads,
            head_dim: h / heads,
            hidden: h,
        })
    }

    fn attention(
        &self,
        layer: &Layer,
        x: &Tensor,
        mask_bias: Option<&[f32]>,
    ) -> candle_core::Result<Tensor> {
        let (b, s, _) = x.dims3()?;
        let qkv = layer
            .qkv
            .forward(x)?
            .reshape((b, s, 3, self.heads, self.head_dim))?
            .permute((2, 0, 3, 1, 4))?
            .contiguous()?;
        let (q, k, v) = (qkv.get(0)?, qkv.get(1)?, qkv.get(2)?);
        let probs = q.matmul(&k.t()?)?;
        scaled_masked_softmax_(&probs, self.scale(), mask_bias)?;
        probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b, s, self.hidden))
    }
}

impl BertEncoder {
    /// Attention score scale, `1 / sqrt(head_dim)`.
    fn scale(&self) -> f32 {
        1.0 / (self.head_dim as f32).sqrt()
    }

    /// Embeddings and the additive attention mask (`None` when the batch has no padding).
    fn embed(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
    ) -> candle_core::Result<(Tensor, Option<Vec<f32>>)> {
        let (b, s) = input_ids.dims2()?;
        let max_pos = self.position.dim(0)?;
        if s > max_pos {
            candle_core::bail!("sequence of {s} tokens exceeds max_position_embeddings {max_pos}");
        }
        let pos = self
            .position
            .narrow(0, 0, s)?
            .broadcast_add(&self.token_type0)?;
        let x = self.word.forward(input_ids)?.broadcast_add(&pos)?;
        let x = self.emb_norm.forward(&x)?;
        // Additive `(batch, seq)` mask: 0 for real tokens, f32::MIN for padding (as HF does).
        let m = attention_mask
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        if m.len() != b * s {
            candle_core::bail!("attention mask of {} values for {b} x {s} ids", m.len());
        }
        let mask_bias = m.contains(&0.0).then(|| {
            m.iter()
                .map(|&v| if v == 0.0 { f32::MIN } else { 0.0 })
                .collect()
        });
        Ok((x, mask_bias))
    }

    /// Feed-forward half of a layer, after attention output `a` and residual `x`.
    fn finish_layer(&self, layer: &Layer, a: &Tensor, x: &Tensor) -> candle_core::Result<Tensor> {
        let a = layer
            .attn_norm
            .forward(&(layer.attn_out.forward(a)? + x)?)?;
        let f = layer.intermediate.forward(&a)?;
        bias_gelu_(&f, &layer.intermediate_bias)?;
        layer.out_norm.forward(&(layer.output.forward(&f)? + &a)?)
    }

    /// The last layer computed for the first token only: keys and values still see every
    /// token, but the query, output projection and feed-forward run on one row.
    fn first_token_layer(
        &self,
        layer: &Layer,
        x: &Tensor,
        mask_bias: Option<&[f32]>,
    ) -> candle_core::Result<Tensor> {
        let (b, s, h) = x.dims3()?;
        let (w, bias) = (layer.qkv.weight(), layer.qkv.bias());
        let q_proj = Linear::new(
            w.narrow(0, 0, h)?,
            bias.map(|t| t.narrow(0, 0, h)).transpose()?,
        );
        let kv_proj = Linear::new(
            w.narrow(0, h, 2 * h)?,
            bias.map(|t| t.narrow(0, h, 2 * h)).transpose()?,
        );
        let first = x.narrow(1, 0, 1)?.contiguous()?;
        let q = q_proj
            .forward(&first)?
            .reshape((b, 1, self.heads, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()?;
        let kv = kv_proj
            .forward(x)?
            .reshape((b, s, 2, self.heads, self.head_dim))?
            .permute((2, 0, 3, 1, 4))?
            .contiguous()?;
        let (k, v) = (kv.get(0)?, kv.get(1)?);
        let probs = q.matmul(&k.t()?)?;
        scaled_masked_softmax_(&probs, self.scale(), mask_bias)?;
        let a = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b, 1, h))?;
        self.finish_layer(layer, &a, &first)?.squeeze(1)
    }
}

impl Encoder for BertEncoder {
    fn hidden_size(&self) -> usize {
        self.hidden
    }

    fn forward(&self, input_ids: &Tensor, attention_mask: &Tensor) -> candle_core::Result<Tensor> {
        let (mut x, mask_bias) = self.embed(input_ids, attention_mask)?;
        for layer in &self.layers {
            let a = self.attention(layer, &x, mask_bias.as_deref())?;
            x = self.finish_layer(layer, &a, &x)?;
        }
        Ok(x)
    }

    fn forward_first(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
    ) -> candle_core::Result<Tensor> {
        let (mut x, mask_bias) = self.embed(input_ids, attention_mask)?;
        let Some((last, rest)) = self.layers.split_last() else {
            return x.narrow(1, 0, 1)?.squeeze(1);
        };
        for layer in rest {
            let a = self.attention(layer, &x, mask_bias.as_deref())?;
            x = self.finish_layer(layer, &a, &x)?;
        }
        self.first_token_layer(last, &x, mask_bias.as_deref())
    }
}

/// Softmax over the last dimension (exposed for heads).
pub(crate) fn softmax(logits: &Tensor) -> candle_core::Result<Tensor> {
    candle_nn::ops::softmax(logits, D::Minus1)
}
