//! The encoder abstraction: token ids and attention mask in, last hidden states out.

use candle_core::Tensor;

/// A transformer encoder (BERT today; ModernBERT can implement the same trait).
pub trait Encoder: Send + Sync {
    /// Width of the hidden states [`Encoder::forward`] returns.
    fn hidden_size(&self) -> usize;

    /// Last hidden states `(batch, seq, hidden)` for `input_ids` `(batch, seq)` (u32) and
    /// `attention_mask` `(batch, seq)` (f32, 1 for real tokens, 0 for padding).
    fn forward(&self, input_ids: &Tensor, attention_mask: &Tensor) -> candle_core::Result<Tensor>;

    /// Last hidden state of the first token only, `(batch, hidden)`: what `[CLS]` pooling needs.
    /// Encoders may override it to skip work the other positions would need.
    fn forward_first(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
    ) -> candle_core::Result<Tensor> {
        self.forward(input_ids, attention_mask)?
            .narrow(1, 0, 1)?
            .squeeze(1)
    }
}
