//! Train a tiny random BERT for a few steps, export it, and load the export with router-core's
//! candle classifiers: logits agree with burn's within 1e-4.

mod common;

use burn::module::AutodiffModule;
use burn::tensor::Device;
use router_core::export::{
    AdapterConfig, ModelConfig, ADAPTER_CONFIG_FILE, ADAPTER_DIR, ADAPTER_WEIGHTS_FILE,
    BASE_SOURCE_FILE,
};
use router_core::inference::{InferenceOptions, ModelSource, SequenceClassifier, TokenClassifier};
use train::config::TaskName;
use train::data::{read_examples, Example};
use train::encode::{Encoded, Encoder};
use train::evaluate::predict_logits;
use train::model::Classifier;
use train::pipeline::{run, RunResult};
use train::trainer::RunOptions;
use train::weights::WeightFile;

fn encode(
    dir: &std::path::Path,
    file: &str,
    task: TaskName,
    labels: &[String],
) -> (Vec<Example>, Vec<Encoded>) {
    let path = dir.join(file);
    let ex = read_examples(&path, task.task()).unwrap();
    let enc = Encoder::new(&dir.join("base/tokenizer.json"), 32).unwrap();
    let e = enc.encode_all(&ex, labels, &path).unwrap();
    (ex, e)
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn sequence_classifier_trains_exports_and_matches_candle() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::tiny_setup(dir, TaskName::SequenceClassification);
    let mut cfg = common::tiny_config(dir, TaskName::SequenceClassification);
    cfg.epochs = 10;
    cfg.learning_rate = 1e-2;
    cfg.hidden_dropout = Some(0.0);
    cfg.attention_dropout = Some(0.0);
    // The base records its hub id, which the adapter names as its base model.
    std::fs::write(
        cfg.base_model.join(BASE_SOURCE_FILE),
        r#"{"hub_id": "acme/tiny-bert"}"#,
    )
    .unwrap();
    let RunResult::Exported(report) = run(&cfg, &RunOptions::default()).unwrap() else {
        panic!("run paused")
    };
    // Training reduced the loss.
    let first = report.epochs.first().unwrap().train_loss;
    let last = report.epochs.last().unwrap().train_loss;
    assert!(last < first * 0.5, "loss did not fall: {first} -> {last}");
    assert_eq!(report.labels, vec!["code", "math"]);
    assert_eq!(report.data.len(), 3);
    assert_eq!(report.data[0].sha256.len(), 64);

    let out = &cfg.output_dir;
    let config: ModelConfig =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config.architectures, vec!["BertForSequenceClassification"]);
    assert_eq!(config.labels().unwrap(), vec!["code", "math"]);
    // transformers' from_pretrained(out) would apply an adapter found beside the merged
    // weights a second time: the adapter must only be in its own directory.
    for name in [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE] {
        assert!(!out.join(name).exists(), "{name} beside model.safetensors");
    }
    let adapter_dir = out.join(ADAPTER_DIR);
    let adapter: AdapterConfig = serde_json::from_str(
        &std::fs::read_to_string(adapter_dir.join(ADAPTER_CONFIG_FILE)).unwrap(),
    )
    .unwrap();
    assert_eq!((adapter.r, adapter.scaling()), (4, 2.0));
    assert_eq!(adapter.base_model_name_or_path, "acme/tiny-bert");
    assert_eq!(
        adapter.target_modules,
        vec!["attention.self.query", "attention.self.value"]
    );
    let a = WeightFile::open(&adapter_dir.join(ADAPTER_WEIGHTS_FILE)).unwrap();
    // PEFT layouts: lora_A [r, in], lora_B [out, r], head under its plain name.
    a.get_exact(
        "base_model.model.bert.encoder.layer.1.attention.self.value.lora_A.weight",
        &[4, 32],
    )
    .unwrap();
    a.get_exact(
        "base_model.model.bert.encoder.layer.1.attention.self.value.lora_B.weight",
        &[32, 4],
    )
    .unwrap();
    a.get_exact("base_model.model.classifier.weight", &[2, 32])
        .unwrap();
    assert!(a
        .get_exact(
            "base_model.model.bert.encoder.layer.0.attention.self.key.lora_A.weight",
            &[4, 32]
        )
        .is_err());

    // burn: merged export loaded back == candle on the same export.
    let device = Device::flex();
    let (merged, labels) = Classifier::from_export(out, &device).unwrap();
    let (examples, encoded) = encode(dir, "test.jsonl", TaskName::SequenceClassification, &labels);
    let items: Vec<&Encoded> = encoded.iter().collect();
    let burn_logits = predict_logits(&merged, &items, &device);
    let candle =
        SequenceClassifier::load(&ModelSource::Dir(out.clone()), &InferenceOptions::default())
            .unwrap();
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let candle_logits = candle.logits_batch(&texts).unwrap();
    for (b, c) in burn_logits.iter().zip(&candle_logits) {
        assert!(max_diff(b, c) < 1e-4, "burn {b:?} vs candle {c:?}");
    }
    // Better than chance on held-out data (deterministic: fixed seeds throughout).
    let test = report.test.as_ref().unwrap();
    assert!(
        test.classification.accuracy > 0.6,
        "test accuracy {}",
        test.classification.accuracy
    );
}

#[test]
fn lora_merge_equals_unmerged_forward() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::tiny_setup(dir, TaskName::SequenceClassification);
    let mut cfg = common::tiny_config(dir, TaskName::SequenceClassification);
    cfg.lora.target_modules = train::lora::TargetModule::ALL.to_vec();
    cfg.lora.use_rslora = true;
    cfg.epochs = 1;
    let outcome = train::trainer::train(&cfg, &RunOptions::default()).unwrap();
    let unmerged = outcome.model.valid();
    // The adapters moved away from B = 0, so merging matters.
    let b = unmerged.bert.layers[0]
        .intermediate
        .lora
        .as_ref()
        .unwrap()
        .b
        .val();
    assert!(train::weights::to_vec(b).iter().any(|v| v.abs() > 1e-4));
    let rs = unmerged.bert.layers[0].query.lora.as_ref().unwrap().scaling;
    assert!(
        (rs - 8.0 / 2.0).abs() < 1e-12,
        "rsLoRA scaling alpha/sqrt(r) = 4, got {rs}"
    );

    let out = dir.join("merged");
    let report = serde_json::json!({});
    train::export::export(
        &unmerged,
        &train::export::ExportInputs {
            base_model: &cfg.base_model,
            base_config: &outcome.prepared.base_config,
            labels: &outcome.prepared.labels,
            lora: &cfg.lora,
            report: &report,
        },
        &out,
    )
    .unwrap();
    let device = Device::flex();
    let (merged, _) = Classifier::from_export(&out, &device).unwrap();
    let items: Vec<&Encoded> = outcome.prepared.test.as_ref().unwrap().iter().collect();
    let a = predict_logits(&unmerged, &items, &device);
    let m = predict_logits(&merged, &items, &device);
    for (x, y) in a.iter().zip(&m) {
        assert!(max_diff(x, y) < 1e-5, "unmerged {x:?} vs merged {y:?}");
    }
}

#[test]
fn token_classifier_trains_exports_and_matches_candle() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::tiny_setup(dir, TaskName::TokenClassification);
    let mut cfg = common::tiny_config(dir, TaskName::TokenClassification);
    cfg.epochs = 4;
    let RunResult::Exported(report) = run(&cfg, &RunOptions::default()).unwrap() else {
        panic!("run paused")
    };
    assert_eq!(report.labels, vec!["O", "B-LOC", "B-PER", "I-PER"]);
    let first = report.epochs.first().unwrap().train_loss;
    let last = report.epochs.last().unwrap().train_loss;
    assert!(last < first, "loss did not fall: {first} -> {last}");
    assert!(report.test.as_ref().unwrap().entity.is_some());

    let out = &cfg.output_dir;
    let device = Device::flex();
    let (merged, labels) = Classifier::from_export(out, &device).unwrap();
    let (examples, encoded) = encode(dir, "test.jsonl", TaskName::TokenClassification, &labels);
    let items: Vec<&Encoded> = encoded.iter().collect();
    let burn_logits = predict_logits(&merged, &items, &device);
    let candle =
        TokenClassifier::load(&ModelSource::Dir(out.clone()), &InferenceOptions::default())
            .unwrap();
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let candle_logits = candle.logits_batch(&texts).unwrap();
    let k = labels.len();
    for ((b, c), e) in burn_logits.iter().zip(&candle_logits).zip(&encoded) {
        assert_eq!(
            c.len(),
            e.ids.len(),
            "candle returns one row per real token"
        );
        let flat: Vec<f32> = c.concat();
        assert!(max_diff(&b[..e.ids.len() * k], &flat) < 1e-4);
    }
}
