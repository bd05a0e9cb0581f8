//! The burn BERT reproduces HF transformers on all-MiniLM-L6-v2 (fixture from
//! scripts/reference/minilm_fixture.py).

mod common;

use burn::tensor::{Device, Int, Tensor, TensorData};
use router_core::export::{Pooling, Task};
use train::bert::BertInit;
use train::encode::Encoder;
use train::model::{mean_pool, read_model_config, Classifier, ClassifierInit, HeadKind};
use train::weights::to_vec;

#[derive(serde::Deserialize)]
struct Fixture {
    sentences: Vec<String>,
    input_ids: Vec<Vec<i64>>,
    attention_mask: Vec<Vec<f32>>,
    mean_pooled: Vec<Vec<f32>>,
    pooler_output: Vec<Vec<f32>>,
}

#[test]
fn minilm_matches_transformers() {
    let dir = common::minilm_dir();
    let fx: Fixture = common::json_fixture("minilm_reference.json");

    // Tokenisation agrees with HF's.
    let enc = Encoder::new(&dir.join("tokenizer.json"), 128).unwrap();
    for (s, ids) in fx.sentences.iter().zip(&fx.input_ids) {
        let pieces = enc.pieces(s).unwrap();
        let n = pieces.len() + 2;
        let expected: Vec<u32> = ids[1..n - 1].iter().map(|&i| i as u32).collect();
        assert_eq!(pieces, expected, "{s}");
    }

    let cfg = read_model_config(&dir.join("config.json")).unwrap();
    let device = Device::flex();
    let init = ClassifierInit {
        bert: BertInit {
            config: &cfg,
            lora: None,
            hidden_dropout: 0.1,
            attention_dropout: 0.1,
        },
        head: HeadKind {
            task: Task::SequenceClassification,
            pooling: Pooling::Cls,
        },
        num_labels: 2,
        seed: 0,
    };
    let model = Classifier::from_base(&dir.join("model.safetensors"), &init, &device).unwrap();
    let (b, s) = (fx.input_ids.len(), fx.input_ids[0].len());
    let ids: Vec<i64> = fx.input_ids.concat();
    let mask: Vec<f32> = fx.attention_mask.concat();
    let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [b, s]), &device);
    let mask = Tensor::<2>::from_data(TensorData::new(mask, [b, s]), &device);
    let hidden = model.bert.forward(ids, mask.clone());
    let mean = to_vec(mean_pool(hidden.clone(), mask));
    let mut max_err = 0f32;
    for (got, want) in mean.chunks(384).zip(&fx.mean_pooled) {
        for (g, w) in got.iter().zip(want) {
            max_err = max_err.max((g - w).abs());
        }
    }
    assert!(max_err < 1e-4, "mean-pooled max abs error {max_err}");

    let h = 384;
    let cls = hidden.slice([0..b, 0..1]).reshape([b, h]);
    let pooled = to_vec(model.pooler.as_ref().unwrap().forward(cls).tanh());
    let mut max_err = 0f32;
    for (got, want) in pooled.chunks(h).zip(&fx.pooler_output) {
        for (g, w) in got.iter().zip(want) {
            max_err = max_err.max((g - w).abs());
        }
    }
    assert!(max_err < 1e-4, "pooler max abs error {max_err}");
}
