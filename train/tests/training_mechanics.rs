//! Gradients reach only LoRA factors and the head; runs are reproducible; a paused and resumed
//! run ends with the same parameters as an uninterrupted one.

mod common;

use burn::module::ParamId;
use burn::optim::GradientsParams;
use burn::tensor::Device;
use std::collections::BTreeSet;
use train::config::TaskName;
use train::encode::Encoded;
use train::lora::TargetModule;
use train::pipeline::{run, RunResult};
use train::trainer::{batch_loss, build_model, prepare, trainable_values, NamedValues, RunOptions};

#[test]
fn only_lora_factors_pooler_and_head_get_gradients() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::tiny_setup(dir, TaskName::SequenceClassification);
    let mut cfg = common::tiny_config(dir, TaskName::SequenceClassification);
    cfg.lora.target_modules = vec![TargetModule::Query, TargetModule::Intermediate];
    let prepared = prepare(&cfg).unwrap();
    let device = Device::flex().autodiff();
    let mut model = build_model(&cfg, &prepared.base_config, 2, &device).unwrap();
    let items: Vec<&Encoded> = prepared.train.iter().take(4).collect();
    let loss = batch_loss(&model, &items, None, &device);
    let grads = GradientsParams::from_grads(loss.backward(), &model);

    let trainable: Vec<(String, ParamId, usize)> = model
        .trainables_mut()
        .into_iter()
        .map(|(n, p)| (n, p.id(), p.dims().len()))
        .collect();
    // 2 layers x 2 targets x (A, B) + pooler (w, b) + classifier (w, b).
    assert_eq!(trainable.len(), 12);
    assert!(trainable
        .iter()
        .any(|(n, _, _)| n == "bert.encoder.layer.1.intermediate.dense.lora_b"));
    assert_eq!(
        grads.len(),
        trainable.len(),
        "gradients exist only for trainable params"
    );
    for (name, id, rank) in &trainable {
        let has = match rank {
            1 => grads.get::<1>(*id).is_some(),
            _ => grads.get::<2>(*id).is_some(),
        };
        assert!(has, "{name} has no gradient");
    }
    let frozen: BTreeSet<ParamId> = [
        model.bert.layers[0].query.weight.id,
        model.bert.layers[0].key.weight.id,
        model.bert.embeddings.word.id,
    ]
    .into();
    for id in frozen {
        assert!(grads.get::<2>(id).is_none());
    }
    assert!(grads.get::<1>(model.bert.layers[0].query.bias.id).is_none());
}

fn values(cfg: &train::config::TrainConfig) -> (NamedValues, f64) {
    let outcome = train::trainer::train(cfg, &RunOptions::default()).unwrap();
    let loss = outcome.final_loss;
    let mut model = outcome.model;
    (trainable_values(&mut model), loss)
}

#[test]
fn same_seed_same_result_and_resume_matches_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::tiny_setup(dir, TaskName::SequenceClassification);
    let mut cfg = common::tiny_config(dir, TaskName::SequenceClassification);
    cfg.epochs = 2;
    cfg.grad_accum_steps = 2;
    cfg.checkpoint_every = Some(1);
    cfg.lora.dropout = 0.2;

    cfg.output_dir = dir.join("a");
    let (a, loss_a) = values(&cfg);
    cfg.output_dir = dir.join("b");
    let (b, loss_b) = values(&cfg);
    assert_eq!(loss_a, loss_b, "same seed, same final loss");
    assert_eq!(a, b);

    // Pause mid-epoch after 2 of 6 steps, then resume.
    cfg.output_dir = dir.join("c");
    let paused = run(
        &cfg,
        &RunOptions {
            stop_after_steps: Some(2),
            ..RunOptions::default()
        },
    )
    .unwrap();
    assert!(matches!(paused, RunResult::Paused { steps: 2 }));
    assert!(!cfg.output_dir.exists(), "a paused run exports nothing");
    let resumed = train::trainer::train(
        &cfg,
        &RunOptions {
            resume: true,
            ..RunOptions::default()
        },
    )
    .unwrap();
    assert_eq!(resumed.steps, 6);
    assert_eq!(resumed.epochs.len(), 2);
    assert_eq!(resumed.final_loss, loss_a);
    let mut model = resumed.model;
    assert_eq!(trainable_values(&mut model), a);

    // A different seed gives different parameters.
    cfg.seed = 12;
    cfg.output_dir = dir.join("d");
    let (d, _) = values(&cfg);
    assert_ne!(d, a);
}

#[test]
fn resume_refuses_a_different_recipe() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::tiny_setup(dir, TaskName::SequenceClassification);
    let mut cfg = common::tiny_config(dir, TaskName::SequenceClassification);
    cfg.epochs = 1;
    run(
        &cfg,
        &RunOptions {
            stop_after_steps: Some(1),
            ..RunOptions::default()
        },
    )
    .unwrap();
    cfg.learning_rate = 0.5;
    let err = train::trainer::train(
        &cfg,
        &RunOptions {
            resume: true,
            ..RunOptions::default()
        },
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("different recipe"), "{err}");
}
