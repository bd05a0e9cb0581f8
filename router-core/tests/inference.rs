//! Inference on a tiny random BERT built in code: batching/padding invariance, truncation,
//! pooling, label maps, and the errors a broken model directory gives.

mod common;

use std::sync::Arc;

use common::{fixtures, tiny_config, tiny_model, tiny_weights, write_model};
use router_core::export::{Pooling, Task, CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE};
use router_core::inference::{
    aggregate_bio, content_key, cosine, Embedder, InferenceOptions, ModelRegistry, ModelSource,
    SequenceClassifier, TokenClassifier,
};
use router_core::Error;

const LONG: &str = "hello world , the cat sat on the mat and my name is alice , what is x ?";

fn opts() -> InferenceOptions {
    InferenceOptions::default()
}

fn seq_model(pooling: Option<Pooling>) -> (tempfile::TempDir, SequenceClassifier) {
    let tmp = tempfile::tempdir().unwrap();
    tiny_model(
        tmp.path(),
        Some(Task::SequenceClassification),
        &["a", "b", "c"],
        pooling,
    );
    let m = SequenceClassifier::load(&ModelSource::Dir(tmp.path().into()), &opts()).unwrap();
    (tmp, m)
}

fn assert_close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tol, "{a:?} vs {b:?}");
    }
}

fn model_err(r: router_core::Result<impl Sized>) -> (String, String) {
    match r {
        Err(Error::Model { path, message }) => (path, message),
        Err(e) => panic!("expected Error::Model, got {e}"),
        Ok(_) => panic!("expected an error"),
    }
}

#[test]
fn sequence_output_does_not_depend_on_batch_mates() {
    for pooling in [None, Some(Pooling::Mean)] {
        let (_tmp, m) = seq_model(pooling);
        let alone = m.logits_batch(&["the cat"]).unwrap();
        let batched = m.logits_batch(&[LONG, "the cat", "hello"]).unwrap();
        assert_eq!(batched.len(), 3);
        assert_close(&alone[0], &batched[1], 1e-5);
        // Long text alone equals long text in the batch too.
        assert_close(&m.logits_batch(&[LONG]).unwrap()[0], &batched[0], 1e-5);
        // Different inputs give different logits (the model is not constant).
        assert!((batched[0][0] - batched[1][0]).abs() > 1e-3);
    }
}

#[test]
fn probabilities_are_softmax_of_logits() {
    let (_tmp, m) = seq_model(None);
    assert_eq!(m.labels(), ["a", "b", "c"]);
    let logits = &m.logits_batch(&["my name is bob"]).unwrap()[0];
    let probs = m.classify("my name is bob").unwrap();
    let z: f32 = logits.iter().map(|l| l.exp()).sum();
    let expected: Vec<f32> = logits.iter().map(|l| l.exp() / z).collect();
    assert_close(&probs, &expected, 1e-6);
}

#[test]
fn cls_and_mean_pooling_differ() {
    let (_a, cls) = seq_model(Some(Pooling::Cls));
    let (_b, mean) = seq_model(Some(Pooling::Mean));
    let x = cls.logits_batch(&["the dog"]).unwrap();
    let y = mean.logits_batch(&["the dog"]).unwrap();
    assert!(x[0].iter().zip(&y[0]).any(|(a, b)| (a - b).abs() > 1e-3));
}

#[test]
fn small_batch_size_and_threads_give_same_results() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_model(
        tmp.path(),
        Some(Task::SequenceClassification),
        &["a", "b"],
        None,
    );
    let src = ModelSource::Dir(tmp.path().into());
    let texts = ["the cat", LONG, "hello world", "x", "my name is alice"];
    let base = SequenceClassifier::load(&src, &opts())
        .unwrap()
        .logits_batch(&texts)
        .unwrap();
    let o = InferenceOptions {
        batch_size: 2,
        threads: Some(1),
        ..opts()
    };
    let other = SequenceClassifier::load(&src, &o)
        .unwrap()
        .logits_batch(&texts)
        .unwrap();
    for (a, b) in base.iter().zip(&other) {
        assert_close(a, b, 1e-5);
    }
}

#[test]
fn long_inputs_are_truncated_to_max_length() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_model(
        tmp.path(),
        Some(Task::SequenceClassification),
        &["a", "b"],
        None,
    );
    let o = InferenceOptions {
        max_length: Some(8),
        ..opts()
    };
    let m = SequenceClassifier::load(&ModelSource::Dir(tmp.path().into()), &o).unwrap();
    assert_eq!(m.max_length(), 8);
    // [CLS] + 6 word pieces + [SEP] = 8 tokens: everything after "on" is cut.
    let cut = m
        .logits_batch(&["hello world the cat sat on the mat my name"])
        .unwrap();
    let prefix = m.logits_batch(&["hello world the cat sat on"]).unwrap();
    assert_close(&cut[0], &prefix[0], 1e-6);
    // Max length is capped by the position table (64 in the tiny config).
    let o = InferenceOptions {
        max_length: Some(1000),
        ..opts()
    };
    let m = SequenceClassifier::load(&ModelSource::Dir(tmp.path().into()), &o).unwrap();
    assert_eq!(m.max_length(), 64);
    let very_long = "the cat ".repeat(100);
    assert_eq!(m.classify_batch(&[&very_long]).unwrap()[0].len(), 2);
}

#[test]
fn embeddings_are_unit_length_and_batch_invariant() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_model(tmp.path(), None, &[], None);
    let e = Embedder::load(&ModelSource::Dir(tmp.path().into()), &opts()).unwrap();
    assert_eq!(e.dim(), 32);
    let v = e.embed_batch(&["the cat", LONG]).unwrap();
    for x in &v {
        let n: f32 = x.iter().map(|a| a * a).sum::<f32>().sqrt();
        assert!((n - 1.0).abs() < 1e-5, "norm {n}");
    }
    let alone = e.embed("the cat").unwrap();
    assert!(cosine(&alone, &v[0]) > 0.99999);
    assert!(cosine(&v[0], &v[1]) < 0.999);
}

#[test]
fn embedder_reads_prefixed_task_models_too() {
    let plain = tempfile::tempdir().unwrap();
    let task = tempfile::tempdir().unwrap();
    let config = tiny_config(None, &[], None);
    let tok = fixtures().join("tiny").join(TOKENIZER_FILE);
    write_model(
        plain.path(),
        &config,
        &tiny_weights(&config, "", 0, 3),
        &tok,
    );
    let tcfg = tiny_config(Some(Task::SequenceClassification), &["a", "b"], None);
    write_model(
        task.path(),
        &tcfg,
        &tiny_weights(&tcfg, "bert.", 2, 3),
        &tok,
    );
    let a = Embedder::load(&ModelSource::Dir(plain.path().into()), &opts()).unwrap();
    let b = Embedder::load(&ModelSource::Dir(task.path().into()), &opts()).unwrap();
    let (x, y) = (
        a.embed("hello world").unwrap(),
        b.embed("hello world").unwrap(),
    );
    assert_close(&x, &y, 1e-6);
}

#[test]
fn token_logits_do_not_depend_on_batch_mates() {
    let tmp = tempfile::tempdir().unwrap();
    let tags = ["O", "B-PER", "I-PER"];
    tiny_model(tmp.path(), Some(Task::TokenClassification), &tags, None);
    let m = TokenClassifier::load(&ModelSource::Dir(tmp.path().into()), &opts()).unwrap();
    assert_eq!(m.labels(), tags);
    let alone = m.logits_batch(&["my name is bob"]).unwrap();
    let batched = m.logits_batch(&[LONG, "my name is bob"]).unwrap();
    // [CLS] my name is bob [SEP]: 6 real tokens, no padding rows.
    assert_eq!(alone[0].len(), 6);
    assert_eq!(batched[1].len(), 6);
    for (a, b) in alone[0].iter().zip(&batched[1]) {
        assert_close(a, b, 1e-5);
    }
    // Entities cover only text characters and carry a probability score.
    let text = "my name is bob";
    for e in m.entities(text).unwrap() {
        assert!(e.end <= text.len() && e.start < e.end);
        assert_eq!(e.text, text[e.start..e.end]);
        assert!(e.score > 0.0 && e.score <= 1.0);
        assert!(e.label == "PER");
    }
}

#[test]
fn label_map_must_match_classifier_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny_config(Some(Task::SequenceClassification), &["a", "b"], None);
    let weights = tiny_weights(&config, "bert.", 3, 1);
    write_model(
        tmp.path(),
        &config,
        &weights,
        &fixtures().join("tiny").join(TOKENIZER_FILE),
    );
    let (path, message) = model_err(SequenceClassifier::load(
        &ModelSource::Dir(tmp.path().into()),
        &opts(),
    ));
    assert!(path.ends_with(CONFIG_FILE), "{path}");
    assert!(
        message.contains("2 labels") && message.contains("`classifier.weight` has 3 rows"),
        "{message}"
    );
}

#[test]
fn missing_tensor_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny_config(Some(Task::SequenceClassification), &["a", "b"], None);
    let mut weights = tiny_weights(&config, "bert.", 2, 1);
    weights.remove("bert.encoder.layer.1.attention.self.key.weight");
    write_model(
        tmp.path(),
        &config,
        &weights,
        &fixtures().join("tiny").join(TOKENIZER_FILE),
    );
    let (path, message) = model_err(SequenceClassifier::load(
        &ModelSource::Dir(tmp.path().into()),
        &opts(),
    ));
    assert!(path.ends_with(WEIGHTS_FILE), "{path}");
    assert_eq!(
        message,
        "missing tensor `bert.encoder.layer.1.attention.self.key.weight`"
    );
}

#[test]
fn wrong_shape_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny_config(Some(Task::SequenceClassification), &["a", "b"], None);
    let mut weights = tiny_weights(&config, "bert.", 2, 1);
    let bad =
        candle_core::Tensor::zeros((32, 16), candle_core::DType::F32, &candle_core::Device::Cpu)
            .unwrap();
    weights.insert("bert.encoder.layer.0.output.dense.weight".into(), bad);
    write_model(
        tmp.path(),
        &config,
        &weights,
        &fixtures().join("tiny").join(TOKENIZER_FILE),
    );
    let (_, message) = model_err(SequenceClassifier::load(
        &ModelSource::Dir(tmp.path().into()),
        &opts(),
    ));
    assert_eq!(
        message,
        "tensor `bert.encoder.layer.0.output.dense.weight` has shape [32, 16], expected [32, 64]"
    );
}

#[test]
fn corrupt_weights_and_config_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_model(
        tmp.path(),
        Some(Task::SequenceClassification),
        &["a", "b"],
        None,
    );
    let src = ModelSource::Dir(tmp.path().into());
    let good = std::fs::read(tmp.path().join(WEIGHTS_FILE)).unwrap();
    std::fs::write(tmp.path().join(WEIGHTS_FILE), &good[..good.len() / 2]).unwrap();
    let (path, message) = model_err(SequenceClassifier::load(&src, &opts()));
    assert!(
        path.ends_with(WEIGHTS_FILE) && message.starts_with("not a valid safetensors file"),
        "{path}: {message}"
    );
    std::fs::write(tmp.path().join(WEIGHTS_FILE), &good).unwrap();
    std::fs::write(tmp.path().join(CONFIG_FILE), "{\"hidden_size\": 32}").unwrap();
    let (path, message) = model_err(SequenceClassifier::load(&src, &opts()));
    assert!(
        path.ends_with(CONFIG_FILE) && message.contains("vocab_size"),
        "{path}: {message}"
    );
}

#[test]
fn task_must_match_the_loader() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_model(
        tmp.path(),
        Some(Task::SequenceClassification),
        &["a", "b"],
        None,
    );
    let (path, message) = model_err(TokenClassifier::load(
        &ModelSource::Dir(tmp.path().into()),
        &opts(),
    ));
    assert!(path.ends_with(CONFIG_FILE));
    assert!(message.contains("BertForTokenClassification"), "{message}");
}

#[test]
fn registry_shares_one_model_per_content() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_model(
        tmp.path(),
        Some(Task::SequenceClassification),
        &["a", "b"],
        None,
    );
    let reg = ModelRegistry::new(opts());
    let a = reg.sequence(&ModelSource::Dir(tmp.path().into())).unwrap();
    let b = reg
        .sequence(&ModelSource::Dir(tmp.path().join(".")))
        .unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    let e1 = reg.embedder(&ModelSource::Dir(tmp.path().into())).unwrap();
    let e2 = reg.embedder(&ModelSource::Dir(tmp.path().into())).unwrap();
    assert!(Arc::ptr_eq(&e1, &e2));

    // Keyed by content: a copy of the same files elsewhere is the same model...
    let copy = tempfile::tempdir().unwrap();
    for name in [CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE] {
        std::fs::copy(tmp.path().join(name), copy.path().join(name)).unwrap();
    }
    let c = reg.sequence(&ModelSource::Dir(copy.path().into())).unwrap();
    assert!(Arc::ptr_eq(&a, &c));
    assert_eq!(
        content_key(tmp.path()).unwrap(),
        content_key(copy.path()).unwrap()
    );
    // ... and different weights written into the same directory are a new one.
    let before = content_key(tmp.path()).unwrap();
    let mut bytes = std::fs::read(tmp.path().join(WEIGHTS_FILE)).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(tmp.path().join(WEIGHTS_FILE), &bytes).unwrap();
    assert_ne!(content_key(tmp.path()).unwrap(), before);
    let d = reg.sequence(&ModelSource::Dir(tmp.path().into())).unwrap();
    assert!(!Arc::ptr_eq(&a, &d));

    // Pruning drops exactly the models nobody else holds.
    assert_eq!(reg.len(), 3);
    drop((a, b, c, e1, e2));
    assert_eq!(reg.prune(), 2);
    assert_eq!(reg.len(), 1);
    drop(d);
    assert_eq!(reg.prune(), 1);
    assert!(reg.is_empty());
}

/// The only test touching HF_HOME / HF_HUB_OFFLINE (process-wide), so no other test races it.
#[test]
fn hub_ids_resolve_from_the_cache_and_offline_mode_never_downloads() {
    let home = tempfile::tempdir().unwrap();
    let repo = home.path().join("hub/models--acme--tiny-bert");
    let snap = repo.join("snapshots/0123abcd");
    tiny_model(&snap, Some(Task::SequenceClassification), &["a", "b"], None);
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), "0123abcd").unwrap();
    std::env::set_var("HF_HOME", home.path());
    std::env::set_var("HF_HUB_OFFLINE", "1");
    let src = ModelSource::parse("acme/tiny-bert", std::path::Path::new("/nonexistent"));
    assert_eq!(src, ModelSource::Hub("acme/tiny-bert".into()));
    assert_eq!(src.resolve().unwrap(), snap);
    let m = SequenceClassifier::load(&src, &opts()).unwrap();
    assert_eq!(m.labels(), ["a", "b"]);
    // An uncached `org/name` is a (missing) directory, never a download.
    let absent = ModelSource::parse("acme/absent", home.path());
    assert_eq!(absent, ModelSource::Dir(home.path().join("acme/absent")));
    let (_, message) = model_err(absent.resolve());
    assert!(message.contains("hf://org/name"), "{message}");
    let (path, message) = model_err(ModelSource::parse("hf://acme/absent", home.path()).resolve());
    assert_eq!(path, "hf://acme/absent");
    assert!(message.contains("HF_HUB_OFFLINE=1"), "{message}");
}

#[test]
fn cls_pooling_needs_the_pooler_and_threads_must_be_positive() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny_config(
        Some(Task::SequenceClassification),
        &["a", "b"],
        Some(Pooling::Cls),
    );
    let mut weights = tiny_weights(&config, "bert.", 2, 1);
    weights.remove("bert.pooler.dense.weight");
    write_model(
        tmp.path(),
        &config,
        &weights,
        &fixtures().join("tiny").join(TOKENIZER_FILE),
    );
    let src = ModelSource::Dir(tmp.path().into());
    let (_, message) = model_err(SequenceClassifier::load(&src, &opts()));
    assert_eq!(message, "missing tensor `bert.pooler.dense.weight`");
    // Mean pooling does not read the pooler.
    let mut config = config;
    config.routelab_pooling = Some(Pooling::Mean);
    std::fs::write(
        tmp.path().join(CONFIG_FILE),
        serde_json::to_string(&config).unwrap(),
    )
    .unwrap();
    assert!(SequenceClassifier::load(&src, &opts()).is_ok());
    let zero = InferenceOptions {
        threads: Some(0),
        ..opts()
    };
    let (_, message) = model_err(SequenceClassifier::load(&src, &zero));
    assert_eq!(message, "threads must be at least 1");
}

#[test]
fn long_inputs_are_tagged_in_overlapping_windows() {
    let tmp = tempfile::tempdir().unwrap();
    let tags = ["O", "B-PER", "I-PER"];
    tiny_model(tmp.path(), Some(Task::TokenClassification), &tags, None);
    let o = InferenceOptions {
        max_length: Some(8),
        ..opts()
    };
    let m = TokenClassifier::load(&ModelSource::Dir(tmp.path().into()), &o).unwrap();
    // 12 one-piece words; windows of 6 text tokens sharing 3: words 0-5, 3-8, 6-11.
    let text = "hello world the cat sat on the mat my name is bob";
    let words: Vec<(usize, usize)> = text
        .split(' ')
        .scan(0, |at, w| {
            let span = (*at, *at + w.len());
            *at += w.len() + 1;
            Some(span)
        })
        .collect();
    let got = m.tags_batch(&[text]).unwrap().remove(0);
    let spans: Vec<_> = got.iter().map(|t| (t.start, t.end)).collect();
    assert_eq!(
        spans, words,
        "one tag per word, exact offsets, no duplicates"
    );
    // The first two words are only in window 1, the last two only in window 3: their tags
    // equal those of the window's text tagged on its own (offsets shifted).
    let first = m
        .tags_batch(&["hello world the cat sat on"])
        .unwrap()
        .remove(0);
    let last = m.tags_batch(&["the mat my name is bob"]).unwrap().remove(0);
    let shift = text.find("the mat").unwrap();
    for (g, w) in got[..2].iter().zip(&first[..2]) {
        assert_eq!((&g.tag, g.start, g.end), (&w.tag, w.start, w.end));
        assert!((g.prob - w.prob).abs() < 1e-5);
    }
    for (g, w) in got[10..].iter().zip(&last[4..]) {
        assert_eq!(
            (&g.tag, g.start, g.end),
            (&w.tag, w.start + shift, w.end + shift)
        );
        assert!((g.prob - w.prob).abs() < 1e-5);
    }
    // Entities come from the merged tags, with exact character spans.
    let entities = m.entities(text).unwrap();
    assert_eq!(entities, aggregate_bio(text, &got));
    for e in &entities {
        assert_eq!(e.text, text[e.start..e.end]);
    }
    // Logits stay per first window; the overlap must leave each window room to advance.
    assert_eq!(m.logits_batch(&[text]).unwrap()[0].len(), 8);
    let m = m.with_window_overlap(5).unwrap();
    assert_eq!(m.tags_batch(&[text]).unwrap()[0].len(), 12);
    let err = m
        .with_window_overlap(6)
        .err()
        .expect("overlap 6 of 6 is rejected");
    assert!(err.to_string().contains("window overlap 6"), "{err}");
}
