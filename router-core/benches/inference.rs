//! Inference speed of a MiniLM-L6 sequence classifier (all-MiniLM-L6-v2 encoder + the 3-label
//! reference head): latency at batch 1 for 16, 64 and 256 tokens, throughput at batch 32 × 64
//! tokens. Tokenization is included. Threads: `ROUTELAB_BENCH_THREADS` (default 2), used for
//! the model's rayon pool; run with `RAYON_NUM_THREADS` set to the same value.
//!
//! `cargo bench -p router-core --bench inference`; compare with
//! `scripts/reference/bench_torch.py` (same model, inputs and thread count).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use router_core::export::{Pooling, Task};
use router_core::inference::{InferenceOptions, ModelSource, SequenceClassifier};

/// A text of exactly `tokens` tokens with [CLS] and [SEP] ("hello" is one word piece).
fn text_of(tokens: usize) -> String {
    vec!["hello"; tokens - 2].join(" ")
}

fn bench(c: &mut Criterion) {
    let threads: usize = std::env::var("ROUTELAB_BENCH_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let dir = tempfile::tempdir().expect("temp dir");
    common::minilm_task_model(dir.path(), Task::SequenceClassification, Some(Pooling::Cls));
    let options = InferenceOptions {
        max_length: Some(512),
        batch_size: 32,
        threads: Some(threads),
    };
    let model = SequenceClassifier::load(&ModelSource::Dir(dir.path().into()), &options)
        .expect("load the assembled classifier");

    let mut latency = c.benchmark_group("minilm_seq_cls_batch1");
    latency
        .sample_size(30)
        .measurement_time(Duration::from_secs(8));
    for tokens in [16, 64, 256] {
        let text = text_of(tokens);
        latency.bench_with_input(BenchmarkId::from_parameter(tokens), &text, |b, t| {
            b.iter(|| model.classify_batch(&[t.as_str()]).expect("classify"))
        });
    }
    latency.finish();

    let mut throughput = c.benchmark_group("minilm_seq_cls_batch32");
    throughput
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(32));
    let text = text_of(64);
    let batch: Vec<&str> = vec![text.as_str(); 32];
    throughput.bench_function(BenchmarkId::from_parameter(64), |b| {
        b.iter(|| model.classify_batch(&batch).expect("classify"))
    });
    throughput.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
