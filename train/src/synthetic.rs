//! A small random BERT and WordPiece tokenizer built in code, laid out like an HF base model
//! directory (`config.json`, `model.safetensors`, `tokenizer.json`); used by tests, benches and
//! smoke runs that must not depend on a downloaded model.

use std::collections::BTreeMap;
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use router_core::export::{
    BertNames, LayerPart, ModelConfig, TensorPath, CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE,
};

use crate::error::{Result, TrainError};
use crate::weights::TensorMap;

/// Special tokens, ids 0..5.
pub const SPECIAL_TOKENS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// A BERT config of the given size (`gelu`, LayerNorm eps 1e-12).
pub fn tiny_config(
    vocab: usize,
    hidden: usize,
    layers: usize,
    heads: usize,
    intermediate: usize,
) -> ModelConfig {
    ModelConfig {
        architectures: vec!["BertModel".into()],
        model_type: "bert".into(),
        vocab_size: vocab,
        hidden_size: hidden,
        num_hidden_layers: layers,
        num_attention_heads: heads,
        intermediate_size: intermediate,
        hidden_act: "gelu".into(),
        max_position_embeddings: 64,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        pad_token_id: 0,
        id2label: BTreeMap::new(),
        label2id: BTreeMap::new(),
        routelab_pooling: None,
        extra: BTreeMap::new(),
    }
}

/// Random weights for `cfg` with HF `BertModel` names (uniform ±0.35 matrices, LayerNorm 1/0).
pub fn random_weights(cfg: &ModelConfig, seed: u64) -> TensorMap {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut m = TensorMap::default();
    let h = cfg.hidden_size;
    let mut rand =
        |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random_range(-0.35f32..0.35)).collect() };
    let mut matrix = |m: &mut TensorMap, name: String, rows: usize, cols: usize| {
        m.insert(name, vec![rows, cols], rand(rows * cols));
    };
    let names = BertNames::new("");
    matrix(&mut m, names.word_embeddings(), cfg.vocab_size, h);
    matrix(
        &mut m,
        names.position_embeddings(),
        cfg.max_position_embeddings,
        h,
    );
    matrix(
        &mut m,
        names.token_type_embeddings(),
        cfg.type_vocab_size,
        h,
    );
    let ln = |m: &mut TensorMap, path: &TensorPath| {
        m.insert(path.weight(), vec![h], vec![1.0; h]);
        m.insert(path.bias(), vec![h], vec![0.0; h]);
    };
    ln(&mut m, &names.embeddings_norm());
    let mut linears = Vec::new();
    for i in 0..cfg.num_hidden_layers {
        let inter = cfg.intermediate_size;
        for (part, out, inp) in [
            (LayerPart::Query, h, h),
            (LayerPart::Key, h, h),
            (LayerPart::Value, h, h),
            (LayerPart::AttentionOutput, h, h),
            (LayerPart::Intermediate, inter, h),
            (LayerPart::Output, h, inter),
        ] {
            linears.push((names.layer_part(i, part), out, inp));
        }
        ln(&mut m, &names.layer_part(i, LayerPart::AttentionNorm));
        ln(&mut m, &names.layer_part(i, LayerPart::OutputNorm));
    }
    linears.push((names.pooler(), h, h));
    for (path, out, inp) in linears {
        matrix(&mut m, path.weight(), out, inp);
        m.insert(path.bias(), vec![out], vec![0.01; out]);
    }
    m
}

/// `tokenizer.json` of a lower-casing WordPiece tokenizer over `words` (after the specials),
/// with BERT normaliser, pre-tokeniser and `[CLS] … [SEP]` post-processor.
pub fn tokenizer_json(words: &[&str]) -> serde_json::Value {
    let vocab: serde_json::Map<String, serde_json::Value> = SPECIAL_TOKENS
        .iter()
        .chain(words)
        .enumerate()
        .map(|(i, w)| (w.to_string(), serde_json::json!(i)))
        .collect();
    let added: Vec<serde_json::Value> = SPECIAL_TOKENS
        .iter()
        .enumerate()
        .map(|(i, t)| {
            serde_json::json!({"id": i, "content": t, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
            "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100, "vocab": vocab}
    })
}

/// Writes a random base model directory for `words` (vocab = specials + words).
pub fn write_base_model(
    dir: &Path,
    words: &[&str],
    hidden: usize,
    layers: usize,
    seed: u64,
) -> Result<ModelConfig> {
    std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
    let cfg = tiny_config(
        SPECIAL_TOKENS.len() + words.len(),
        hidden,
        layers,
        4,
        hidden * 2,
    );
    let write = |name: &str, bytes: Vec<u8>| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).map_err(|e| TrainError::io(&p, e))
    };
    let json = |v: serde_json::Result<Vec<u8>>| v.map_err(|e| TrainError::Config(e.to_string()));
    write(CONFIG_FILE, json(serde_json::to_vec_pretty(&cfg))?)?;
    write(WEIGHTS_FILE, random_weights(&cfg, seed).to_bytes()?)?;
    write(
        TOKENIZER_FILE,
        json(serde_json::to_vec_pretty(&tokenizer_json(words)))?,
    )?;
    Ok(cfg)
}
