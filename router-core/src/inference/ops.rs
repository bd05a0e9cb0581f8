//! Fused in-place CPU ops on candle tensors, built on [`super::fastmath`]: scaled, masked
//! softmax over attention scores and bias + GELU on the feed-forward activations.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, InplaceOp1, Layout, Tensor};

use super::fastmath;

/// `softmax(scores * scale + mask)` over the last dimension of `(batch, heads, q, k)` scores.
struct ScaledMaskedSoftmax<'a> {
    scale: f32,
    /// Additive `(batch, k)` mask, shared by the `heads * q` rows of each batch item.
    mask: Option<&'a [f32]>,
}

impl InplaceOp1 for ScaledMaskedSoftmax<'_> {
    fn name(&self) -> &'static str {
        "routelab-scaled-masked-softmax"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let (b, h, q, k) = layout.shape().dims4()?;
        let data = contiguous_f32(storage, layout, self.name())?;
        let mask = match self.mask {
            Some(m) if m.len() != b * k => {
                candle_core::bail!("mask of {} values for {b} x {k} scores", m.len())
            }
            Some(m) => Some((m, h * q)),
            None => None,
        };
        fastmath::softmax_rows(data, k, self.scale, mask);
        Ok(())
    }
}

/// `gelu(x + bias)` over rows of `bias.len()` values.
struct BiasGelu<'a> {
    bias: &'a [f32],
}

impl InplaceOp1 for BiasGelu<'_> {
    fn name(&self) -> &'static str {
        "routelab-bias-gelu"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let last = layout.shape().dims().last().copied().unwrap_or(0);
        if last != self.bias.len() {
            candle_core::bail!("bias of {} values for rows of {last}", self.bias.len())
        }
        fastmath::bias_gelu(contiguous_f32(storage, layout, self.name())?, self.bias);
        Ok(())
    }
}

/// The contiguous f32 values `layout` covers.
fn contiguous_f32<'s>(
    storage: &'s mut CpuStorage,
    layout: &Layout,
    op: &str,
) -> candle_core::Result<&'s mut [f32]> {
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{op} needs a contiguous tensor")
    };
    match storage {
        CpuStorage::F32(v) => Ok(&mut v[start..end]),
        other => candle_core::bail!("{op} needs f32, got {:?}", other.dtype()),
    }
}

/// Replaces `(batch, heads, q, k)` attention scores (a tensor no one else holds) by
/// `softmax(scores * scale + mask)` along `k`; `mask` is additive, `(batch, k)` row-major.
pub(crate) fn scaled_masked_softmax_(
    scores: &Tensor,
    scale: f32,
    mask: Option<&[f32]>,
) -> candle_core::Result<()> {
    scores.inplace_op1(&ScaledMaskedSoftmax { scale, mask })
}

/// Replaces `x` (a tensor no one else holds, last dimension `bias.len()`) by `gelu(x + bias)`
/// (exact erf GELU).
pub(crate) fn bias_gelu_(x: &Tensor, bias: &[f32]) -> candle_core::Result<()> {
    x.inplace_op1(&BiasGelu { bias })
}
