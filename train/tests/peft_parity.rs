//! The training recipe is PyTorch + PEFT's, step for step: from the same initial adapter and head
//! (formula values, dropout off), four AdamW steps with warm-up, decay and global-norm clipping on
//! the real MiniLM give the same losses, gradient norms, learning rates and final logits as
//! `scripts/reference/train_peft.py --parity-fixture` (fixture `tests/fixtures/peft_parity.json`).
//!
//! Measured agreement: losses within 2e-6, gradient norms within 3e-6 relative, final logits within
//! 3e-6. The logits bound (8e-6) is tight enough to catch recipe slips: training without weight
//! decay moves them by 1.3e-5, and without clipping the step-3 loss is off by 8e-5.

mod common;

use burn::module::AutodiffModule;
use burn::optim::GradientsParams;
use burn::tensor::Device;
use train::data::{Example, Target};
use train::encode::{make_batch, Encoded, Encoder};
use train::lora::{LoraSettings, TargetModule};
use train::model::{read_model_config, Classifier};
use train::schedule::linear_warmup_decay;
use train::trainer::{adamw, batch_loss, optimizer_step};
use train::weights::{to_vec, transpose};

#[derive(serde::Deserialize)]
struct Recipe {
    rank: usize,
    alpha: f64,
    targets: Vec<String>,
    lr: f64,
    weight_decay: f64,
    warmup_ratio: f64,
    max_grad_norm: f64,
    batch_size: usize,
    max_length: usize,
}

#[derive(serde::Deserialize)]
struct Row {
    text: String,
    label: String,
}

#[derive(serde::Deserialize)]
struct Step {
    lr: f64,
    loss: f64,
    grad_norm: f64,
}

#[derive(serde::Deserialize)]
struct Fixture {
    recipe: Recipe,
    labels: Vec<String>,
    examples: Vec<Row>,
    steps: Vec<Step>,
    final_logits: Vec<Vec<f32>>,
}

/// Sets LoRA A (B stays zero) and the classifier weight to the fixture's formula values.
fn set_initial_values(model: &mut Classifier, targets: &[String], rank: usize, device: &Device) {
    for (name, mut p) in model.trainables_mut() {
        let dims = p.dims();
        if let Some(module) = name.strip_suffix(".lora_a") {
            let layer: f64 = module.split('.').nth(3).unwrap().parse().unwrap();
            let leaf = module.rsplit('.').next().unwrap();
            let t = targets.iter().position(|t| t == leaf).unwrap() as f64;
            let d_in = dims[0];
            let hf = common::formula(rank * d_in, 0.5 * layer + 0.25 * t, 0.05);
            p.set(transpose(&hf, rank, d_in), device);
        } else if name == "classifier.weight" {
            let (h, n) = (dims[0], dims[1]);
            p.set(transpose(&common::formula(n * h, 1.0, 0.02), n, h), device);
        }
    }
}

#[test]
fn four_steps_match_pytorch_peft() {
    let dir = common::minilm_dir();
    let fx: Fixture = common::json_fixture("peft_parity.json");
    let r = &fx.recipe;
    let targets: Vec<TargetModule> = r
        .targets
        .iter()
        .map(|t| serde_json::from_value(serde_json::Value::String(t.clone())).unwrap())
        .collect();
    let lora = LoraSettings {
        rank: r.rank,
        alpha: r.alpha,
        dropout: 0.0,
        use_rslora: false,
        target_modules: targets,
    };
    let cfg = read_model_config(&dir.join("config.json")).unwrap();
    let device = Device::flex().autodiff();
    let init = common::reference_init(&cfg, &lora, fx.labels.len());
    let mut model = Classifier::from_base(&dir.join("model.safetensors"), &init, &device).unwrap();
    set_initial_values(&mut model, &r.targets, r.rank, &device);

    let enc = Encoder::new(&dir.join("tokenizer.json"), r.max_length).unwrap();
    let examples: Vec<Example> = fx
        .examples
        .iter()
        .map(|e| Example {
            text: e.text.clone(),
            target: Target::Label(e.label.clone()),
        })
        .collect();
    let data: Vec<Encoded> = enc
        .encode_all(
            &examples,
            &fx.labels,
            std::path::Path::new("peft_parity.json"),
        )
        .unwrap();
    let batches: Vec<Vec<&Encoded>> = data
        .chunks(r.batch_size)
        .map(|c| c.iter().collect())
        .collect();
    assert_eq!(batches.len(), fx.steps.len());

    let total = fx.steps.len();
    let warmup = (r.warmup_ratio * total as f64).ceil() as usize;
    let mut optim = adamw(r.weight_decay);
    for (k, (items, want)) in batches.iter().zip(&fx.steps).enumerate() {
        let loss = batch_loss(&model, items, None, &device);
        let loss_value = loss.clone().into_scalar::<f32>() as f64;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let lr = linear_warmup_decay(r.lr, k, total, warmup);
        let (next, norm) = optimizer_step(model, &mut optim, grads, Some(r.max_grad_norm), lr);
        model = next;
        println!(
            "step {k}: lr {lr:e} loss {loss_value:.7} (PyTorch {:.7}) grad norm {norm:.6} (PyTorch {:.6})",
            want.loss, want.grad_norm
        );
        assert!(
            (lr - want.lr).abs() < 1e-12,
            "step {k}: lr {lr} vs {}",
            want.lr
        );
        assert!(
            (loss_value - want.loss).abs() < 2e-5,
            "step {k}: loss {loss_value} vs PyTorch {}",
            want.loss
        );
        assert!(
            (norm - want.grad_norm).abs() < 1e-4 * want.grad_norm,
            "step {k}: grad norm {norm} vs PyTorch {}",
            want.grad_norm
        );
    }

    let eval = model.valid();
    let eval_device = eval.classifier.weight.val().device();
    let batch = make_batch(&batches[0], false, &eval_device);
    let logits = to_vec(eval.forward(batch.ids, batch.mask));
    let mut max_err = 0f32;
    for (got, want) in logits.chunks(fx.labels.len()).zip(&fx.final_logits) {
        for (g, w) in got.iter().zip(want) {
            max_err = max_err.max((g - w).abs());
        }
    }
    println!("final logits max abs error vs PyTorch: {max_err:e}");
    assert!(max_err < 8e-6, "final logits max abs error {max_err}");
}
