//! Learning-rate schedule: linear warm-up from 0 to the peak, then linear decay to 0 (HF's
//! `get_linear_schedule_with_warmup`).

/// The learning rate for optimizer step `step` (0-based) of `total` steps.
pub fn linear_warmup_decay(peak: f64, step: usize, total: usize, warmup: usize) -> f64 {
    if step < warmup {
        return peak * step as f64 / warmup.max(1) as f64;
    }
    let remaining = total.saturating_sub(step) as f64;
    let span = total.saturating_sub(warmup).max(1) as f64;
    peak * (remaining / span).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::linear_warmup_decay;

    #[test]
    fn warms_up_then_decays_to_zero() {
        let lr = |s| linear_warmup_decay(1.0, s, 10, 2);
        assert_eq!(lr(0), 0.0);
        assert_eq!(lr(1), 0.5);
        assert_eq!(lr(2), 1.0);
        assert_eq!(lr(6), 0.5);
        assert_eq!(lr(10), 0.0);
    }

    #[test]
    fn no_warmup_starts_at_peak() {
        assert_eq!(linear_warmup_decay(2.0, 0, 4, 0), 2.0);
        assert_eq!(linear_warmup_decay(2.0, 3, 4, 0), 0.5);
    }
}
