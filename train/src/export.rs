//! Export of a trained classifier in the layout of [`router_core::export`]: merged HF weights,
//! config with labels, tokenizer, PEFT adapter and a training report, written atomically.

use std::path::Path;

use router_core::export::{
    peft_lora_tensor, AdapterConfig, BaseSource, BertNames, LayerPart, ModelConfig, Task,
    TensorPath, ADAPTER_CONFIG_FILE, ADAPTER_DIR, ADAPTER_WEIGHTS_FILE, BASE_SOURCE_FILE,
    CONFIG_FILE, HEAD_PREFIX, PEFT_PREFIX, TOKENIZER_FILE, TRAINING_REPORT_FILE, WEIGHTS_FILE,
};

use crate::bert::LayerNorm;
use crate::checkpoint::{fresh_tmp, swap_into_place};
use crate::error::{Result, TrainError};
use crate::lora::{LoraLinear, LoraSettings, TargetModule};
use crate::model::Classifier;
use crate::weights::TensorMap;

/// Merged weights with HF `BertFor…Classification` names.
pub fn merged_tensors(model: &Classifier) -> TensorMap {
    let mut m = TensorMap::default();
    let e = &model.bert.embeddings;
    let names = BertNames::task_model();
    m.insert_tensor(names.word_embeddings(), e.word.val());
    m.insert_tensor(names.position_embeddings(), e.position.val());
    m.insert_tensor(names.token_type_embeddings(), e.token_type.val());
    layer_norm(&mut m, &names.embeddings_norm(), &e.layer_norm);
    for (i, layer) in model.bert.layers.iter().enumerate() {
        for t in TargetModule::ALL {
            linear(&mut m, &names.layer_part(i, t.part()), layer.linear(t));
        }
        let norms = [
            (LayerPart::AttentionNorm, &layer.attention_norm),
            (LayerPart::OutputNorm, &layer.output_norm),
        ];
        for (part, norm) in norms {
            layer_norm(&mut m, &names.layer_part(i, part), norm);
        }
    }
    if let Some(pooler) = &model.pooler {
        linear(&mut m, &names.pooler(), pooler);
    }
    linear(&mut m, &TensorPath::root(HEAD_PREFIX), &model.classifier);
    m
}

fn linear(m: &mut TensorMap, path: &TensorPath, l: &LoraLinear) {
    m.insert_linear(path.weight(), l.merged_weight());
    m.insert_tensor(path.bias(), l.bias.val().detach());
}

fn layer_norm(m: &mut TensorMap, path: &TensorPath, ln: &LayerNorm) {
    m.insert_tensor(path.weight(), ln.weight.val());
    m.insert_tensor(path.bias(), ln.bias.val());
}

/// The adapter alone with PEFT names: `lora_A` `[r, in]`, `lora_B` `[out, r]`, and the fully
/// trained modules (`classifier`, `bert.pooler.dense`) under their plain names, as PEFT's
/// `get_peft_model_state_dict` saves `modules_to_save`.
pub fn adapter_tensors(model: &Classifier) -> TensorMap {
    let mut m = TensorMap::default();
    let names = BertNames::task_model();
    for (i, layer) in model.bert.layers.iter().enumerate() {
        for t in TargetModule::ALL {
            if let Some(l) = &layer.linear(t).lora {
                let module = names.layer_part(i, t.part());
                // burn A [in, r] -> PEFT lora_A [r, in]; burn B [r, out] -> PEFT lora_B [out, r].
                m.insert_linear(peft_lora_tensor(module.as_str(), 'A'), l.a.val().detach());
                m.insert_linear(peft_lora_tensor(module.as_str(), 'B'), l.b.val().detach());
            }
        }
    }
    // Fully trained modules keep their names under PEFT's prefix.
    let peft = |p: &TensorPath| TensorPath::root(PEFT_PREFIX).pp(p.as_str());
    let mut saved = vec![(peft(&TensorPath::root(HEAD_PREFIX)), &model.classifier)];
    if let Some(pooler) = &model.pooler {
        saved.insert(0, (peft(&names.pooler()), pooler));
    }
    for (path, l) in saved {
        m.insert_linear(path.weight(), l.weight.val().detach());
        m.insert_tensor(path.bias(), l.bias.val().detach());
    }
    m
}

/// PEFT `target_modules` names for the settings, for a model of `num_layers` layers.
///
/// PEFT takes a listed name to match every module whose path ends with `.name`. A target is
/// written as its path inside a layer (`attention.self.query`) unless another module's path ends
/// with that too (the FFN's `output.dense` is a suffix of `attention.output.dense`); such a target
/// is written as its full path in each layer instead.
fn peft_target_names(lora: &LoraSettings, num_layers: usize) -> Vec<String> {
    let in_layer = |p: LayerPart| p.under(&TensorPath::root("")).as_str().to_string();
    let mut names = Vec::new();
    for t in &lora.target_modules {
        let part = t.part();
        let name = in_layer(part);
        let suffix = format!(".{name}");
        if LayerPart::ALL
            .iter()
            .any(|&o| in_layer(o).ends_with(&suffix))
        {
            let full = |i| {
                BertNames::task_model()
                    .layer_part(i, part)
                    .as_str()
                    .to_string()
            };
            names.extend((0..num_layers).map(full));
        } else {
            names.push(name);
        }
    }
    names
}

/// What [`export`] needs besides the model.
pub struct ExportInputs<'a> {
    /// The base model directory (its `config.json` and `tokenizer.json` are reused).
    pub base_model: &'a Path,
    /// The base model's config.
    pub base_config: &'a ModelConfig,
    /// Label names in id order.
    pub labels: &'a [String],
    /// LoRA settings of the run.
    pub lora: &'a LoraSettings,
    /// The training report (written as `training_report.json`).
    pub report: &'a serde_json::Value,
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| TrainError::io(path, e))
}

fn json(v: &impl serde::Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(v)
        .map_err(|e| TrainError::Config(format!("cannot serialise JSON: {e}")))
}

/// The adapter's `base_model_name_or_path`: the hub id the base directory's
/// [`BASE_SOURCE_FILE`] records, else the directory as a portable path.
fn base_model_name(base: &Path) -> Result<String> {
    let path = base.join(BASE_SOURCE_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str::<BaseSource>(&text)
            .map(|s| s.hub_id)
            .map_err(|e| TrainError::Config(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(router_core::paths::portable(base).display().to_string())
        }
        Err(e) => Err(TrainError::io(&path, e)),
    }
}

/// Writes the export directory `out` (built in `<out>.tmp`, then renamed into place).
pub fn export(model: &Classifier, inputs: &ExportInputs<'_>, out: &Path) -> Result<()> {
    let tmp = fresh_tmp(out)?;

    let task = model.kind.task;
    let mut config = inputs.base_config.clone();
    config.architectures = vec![task.architecture().to_string()];
    config.set_labels(inputs.labels);
    config.routelab_pooling = match task {
        Task::SequenceClassification => Some(model.kind.pooling),
        Task::TokenClassification => None,
    };
    write(&tmp.join(CONFIG_FILE), &json(&config)?)?;
    write(&tmp.join(WEIGHTS_FILE), &merged_tensors(model).to_bytes()?)?;
    let tok_src = inputs.base_model.join(TOKENIZER_FILE);
    std::fs::copy(&tok_src, tmp.join(TOKENIZER_FILE)).map_err(|e| TrainError::io(&tok_src, e))?;
    let adapter_dir = tmp.join(ADAPTER_DIR);
    std::fs::create_dir_all(&adapter_dir).map_err(|e| TrainError::io(&adapter_dir, e))?;
    write(
        &adapter_dir.join(ADAPTER_WEIGHTS_FILE),
        &adapter_tensors(model).to_bytes()?,
    )?;
    let mut modules_to_save = vec![HEAD_PREFIX.to_string()];
    if model.pooler.is_some() {
        modules_to_save.push("pooler".to_string());
    }
    let adapter = AdapterConfig {
        peft_type: "LORA".into(),
        task_type: task.peft_task_type().into(),
        base_model_name_or_path: base_model_name(inputs.base_model)?,
        r: inputs.lora.rank,
        lora_alpha: inputs.lora.alpha,
        lora_dropout: inputs.lora.dropout,
        target_modules: peft_target_names(inputs.lora, inputs.base_config.num_hidden_layers),
        use_rslora: inputs.lora.use_rslora,
        modules_to_save,
        bias: "none".into(),
        inference_mode: false,
    };
    write(&adapter_dir.join(ADAPTER_CONFIG_FILE), &json(&adapter)?)?;
    write(&tmp.join(TRAINING_REPORT_FILE), &json(inputs.report)?)?;
    swap_into_place(&tmp, out)
}
