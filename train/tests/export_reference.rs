//! routelab's export loads right in the Hugging Face tools a user reaches for first. A LoRA
//! classifier on the real MiniLM (formula-valued A, B and head, so the adapter moves the logits)
//! is exported with `train::export::export`; `scripts/reference/export_fixture.py` loaded that
//! same export with `AutoModelForSequenceClassification.from_pretrained(EXPORT)` and, separately,
//! the base plus `PeftModel.from_pretrained(base, EXPORT/adapter)`, and recorded both logits in
//! `tests/fixtures/export_reference.json`. router-core's candle classifier on the export must
//! match both within 1e-4 (measured 2026-12-01: 9.2e-6 against transformers 5.24, 5.6e-6 against
//! PEFT 0.21.2; the adapter applied twice is 0.3 away).
//!
//! Regenerate the fixture (after `./scripts/reference/setup-pyref.sh`):
//!
//! ```text
//! ROUTELAB_KEEP_EXPORT=/tmp/routelab-export cargo test -p train --test export_reference
//! ~/.cache/routelab/pyref/bin/python scripts/reference/export_fixture.py /tmp/routelab-export \
//!     --base ~/.cache/routelab/models/all-MiniLM-L6-v2 > train/tests/fixtures/export_reference.json
//! ```

mod common;

use std::path::Path;

use burn::tensor::Device;
use router_core::export::{
    AdapterConfig, BaseSource, ADAPTER_CONFIG_FILE, ADAPTER_DIR, ADAPTER_WEIGHTS_FILE,
    BASE_SOURCE_FILE, WEIGHTS_FILE,
};
use router_core::inference::{InferenceOptions, ModelSource, SequenceClassifier};
use train::export::{export, ExportInputs};
use train::lora::{LoraSettings, TargetModule};
use train::model::{read_model_config, Classifier};
use train::weights::transpose;

/// The fixture: the texts, label names, and the logits each Hugging Face route gave.
#[derive(serde::Deserialize)]
struct Fixture {
    texts: Vec<String>,
    labels: Vec<String>,
    /// `AutoModelForSequenceClassification.from_pretrained(EXPORT)`.
    transformers_logits: Vec<Vec<f32>>,
    /// The base with `PeftModel.from_pretrained(base, EXPORT/adapter)`.
    peft_logits: Vec<Vec<f32>>,
    /// The adapter applied on top of the merged export: what a layout with the adapter beside the
    /// merged weights made `from_pretrained` do.
    double_applied_logits: Vec<Vec<f32>>,
    /// What PEFT warned about while loading the adapter (e.g. adapter keys it expected but the
    /// file lacks, when `target_modules` names more modules than were trained).
    peft_warnings: Vec<String>,
}

/// The export's classes.
const LABELS: [&str; 3] = ["billing", "code", "math"];
const RANK: usize = 4;
const TARGETS: [TargetModule; 3] = [
    TargetModule::Query,
    TargetModule::Value,
    TargetModule::Output,
];

fn lora() -> LoraSettings {
    LoraSettings {
        rank: RANK,
        alpha: 8.0,
        dropout: 0.0,
        use_rslora: false,
        target_modules: TARGETS.to_vec(),
    }
}

/// Formula values for every LoRA factor and the head, so merged and adapter routes both matter.
fn set_formula_values(model: &mut Classifier, device: &Device) {
    for (k, (name, mut p)) in model.trainables_mut().into_iter().enumerate() {
        let dims = p.dims();
        if dims.len() != 2 {
            continue;
        }
        let (rows, cols) = (dims[0], dims[1]);
        // burn stores [in, out]; the formula fills the Hugging Face [out, in] layout.
        let scale = if name.starts_with("classifier") {
            2.0
        } else {
            0.1
        };
        let hf = common::formula(rows * cols, 0.37 * k as f64, scale);
        p.set(transpose(&hf, cols, rows), device);
    }
}

fn max_diff(got: &[Vec<f32>], want: &[Vec<f32>]) -> f32 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .flat_map(|(g, w)| {
            assert_eq!(g.len(), w.len());
            g.iter().zip(w).map(|(a, b)| (a - b).abs())
        })
        .fold(0.0, f32::max)
}

/// Exports the formula-valued model into `out`.
fn export_formula_model(base: &Path, labels: &[String], out: &Path) {
    let cfg = read_model_config(&base.join("config.json")).unwrap();
    let device = Device::flex();
    let lora = lora();
    let init = common::reference_init(&cfg, &lora, labels.len());
    let mut model = Classifier::from_base(&base.join(WEIGHTS_FILE), &init, &device).unwrap();
    set_formula_values(&mut model, &device);
    let report = serde_json::json!({});
    let inputs = ExportInputs {
        base_model: base,
        base_config: &cfg,
        labels,
        lora: &lora,
        report: &report,
    };
    export(&model, &inputs, out).unwrap();
}

#[test]
fn export_loads_right_in_transformers_and_peft() {
    let base = common::minilm_dir();
    let labels: Vec<String> = LABELS.map(String::from).to_vec();
    let tmp = tempfile::tempdir().unwrap();
    let out = match std::env::var_os("ROUTELAB_KEEP_EXPORT") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => tmp.path().join("export"),
    };
    export_formula_model(&base, &labels, &out);
    let fx: Fixture = common::json_fixture("export_reference.json");
    assert_eq!(fx.labels, labels);

    // The layout both routes rely on: transformers' from_pretrained(out) would apply an adapter
    // found beside the merged weights a second time.
    for name in [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE] {
        assert!(!out.join(name).exists(), "{name} beside {WEIGHTS_FILE}");
        assert!(out.join(ADAPTER_DIR).join(name).exists(), "{name} missing");
    }
    let adapter: AdapterConfig = serde_json::from_str(
        &std::fs::read_to_string(out.join(ADAPTER_DIR).join(ADAPTER_CONFIG_FILE)).unwrap(),
    )
    .unwrap();
    let source: BaseSource =
        serde_json::from_str(&std::fs::read_to_string(base.join(BASE_SOURCE_FILE)).unwrap())
            .unwrap();
    assert_eq!(adapter.base_model_name_or_path, source.hub_id);
    // The FFN's `output.dense` is named per layer: as a bare suffix PEFT would also wrap
    // `attention.output.dense`, which the adapter file has no factors for.
    let mut want = vec![
        "attention.self.query".to_string(),
        "attention.self.value".into(),
    ];
    want.extend((0..6).map(|i| format!("bert.encoder.layer.{i}.output.dense")));
    assert_eq!(adapter.target_modules, want);

    let candle =
        SequenceClassifier::load(&ModelSource::Dir(out.clone()), &InferenceOptions::default())
            .unwrap();
    let texts: Vec<&str> = fx.texts.iter().map(String::as_str).collect();
    let logits = candle.logits_batch(&texts).unwrap();
    assert!(
        fx.peft_warnings.is_empty(),
        "PEFT warned: {:?}",
        fx.peft_warnings
    );
    let vs_transformers = max_diff(&logits, &fx.transformers_logits);
    let vs_peft = max_diff(&logits, &fx.peft_logits);
    println!("max abs logit error: vs transformers {vs_transformers:e}, vs PEFT {vs_peft:e}");
    assert!(vs_transformers < 1e-4, "vs transformers {vs_transformers}");
    assert!(vs_peft < 1e-4, "vs PEFT {vs_peft}");
    // The fixture tells the two layouts apart: applying the adapter twice moves the logits.
    let vs_double = max_diff(&logits, &fx.double_applied_logits);
    assert!(
        vs_double > 1e-2,
        "adapter applied twice is within {vs_double}"
    );
}
