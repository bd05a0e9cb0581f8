//! Synthetic request logs and signal stores of any size, for benchmarks (`cargo bench -p eval
//! --bench replay`, `scripts/bench-store-memory.sh`): two models with RouteLLM MMLU's names and
//! seeded 0/1 qualities, and a store holding a sequence classifier's outputs for every request
//! of a log without running the model.

use std::path::Path;

use router_core::inference::{text_key, ModelId, Output, OutputStore};

use crate::log_reader::{RequestLog, DEFAULT_BATCH_SIZE};
use crate::log_schema::{LogRow, ModelField, ModelOutcome};
use crate::log_writer::RequestLogWriter;
use crate::signal_store::SignalStore;
use crate::stats::SplitMix64;
use crate::Result;

/// The two models of a synthetic log (weak first).
pub const MODELS: [&str; 2] = ["mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"];

/// Writes a `rows`-row log at `path`: row `i`'s prompt is `prompt(i, rng)` and its category
/// `category(i)`; the weak model is right with probability 0.68, the strong one whenever the
/// weak one is and with probability 0.6 otherwise (draws after the prompt's, seed 7).
pub fn write_log(
    path: &Path,
    rows: u64,
    mut prompt: impl FnMut(u64, &mut SplitMix64) -> String,
    category: impl Fn(u64) -> String,
) -> Result<()> {
    let models: Vec<String> = MODELS.iter().map(|m| m.to_string()).collect();
    let mut w = RequestLogWriter::create(path, &models, &[ModelField::Quality], false)?;
    let mut rng = SplitMix64::new(7);
    for i in 0..rows {
        let prompt = prompt(i, &mut rng);
        let weak = rng.unit() < 0.68;
        let strong = weak || rng.unit() < 0.6;
        let quality = |ok: bool| ModelOutcome {
            quality: Some(f64::from(u8::from(ok))),
            ..Default::default()
        };
        w.push(LogRow {
            request_id: format!("syn-{i}"),
            prompt: Some(prompt),
            category: Some(category(i)),
            outcomes: vec![quality(weak), quality(strong)],
            ..Default::default()
        })?;
    }
    w.finish()
}

/// Fills `store` with random class probabilities (`classes` of them, seeded) of `model` for
/// the text each request of the log at `log` gives a domain signal, as a replay would have
/// computed them: the log's own batches are the store's spans. Returns the outputs written.
pub fn write_classifier_store(
    store: &SignalStore,
    model: &ModelId,
    log: &Path,
    classes: usize,
) -> Result<u64> {
    store.prepare(model)?;
    let mut rng = SplitMix64::new(11);
    let shown = log.display().to_string();
    let mut reader = RequestLog::open(log, DEFAULT_BATCH_SIZE)?;
    let mut n = 0u64;
    while let Some(batch) = reader.next_batch() {
        let batch = batch?;
        store.enter(batch.span())?;
        for r in 0..batch.len() {
            let request = batch
                .row(r)
                .route_request(&shown, batch.first_row() + r as u64)?;
            let text = router_core::signals::text_window::semantic(request.user_text());
            let mut p: Vec<f32> = (0..classes).map(|_| rng.unit() as f32 + 1e-3).collect();
            let sum: f32 = p.iter().sum();
            p.iter_mut().for_each(|x| *x /= sum);
            store.put(model, text_key(&text), Output::Scores(p));
            n += 1;
        }
    }
    store.finish()?;
    Ok(n)
}
