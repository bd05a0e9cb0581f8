//! Test helpers: a tiny random BERT written in code, and model directories assembled from the
//! real all-MiniLM-L6-v2 plus the reference heads of `fixtures/reference/`.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use router_core::export::{ModelConfig, Pooling, Task, CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE};

/// A match of rule `name` of `kind` with confidence `c` (no evidence).
pub fn matched(
    kind: router_core::signals::SignalKind,
    name: &str,
    c: f32,
) -> router_core::signals::SignalMatch {
    router_core::signals::SignalMatch {
        kind,
        name: name.into(),
        confidence: c,
        evidence: String::new(),
    }
}

/// Directory of checked-in fixtures.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The real all-MiniLM-L6-v2 directory; panics (failing the test) when it is absent.
pub fn minilm_dir() -> PathBuf {
    let dir = router_core::paths::default_model_dir();
    assert!(
        dir.join(WEIGHTS_FILE).is_file() && dir.join(TOKENIZER_FILE).is_file(),
        "all-MiniLM-L6-v2 not found at {} (set ROUTELAB_MODEL_DIR or run scripts/fetch-model.sh)",
        dir.display()
    );
    dir
}

/// A deterministic pseudo-random stream in `[-scale, scale)`.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, scale: f32) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
    }
    fn tensor(&mut self, shape: &[usize], scale: f32) -> Tensor {
        let n = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| self.next(scale)).collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }
}

/// Config of the tiny BERT: hidden 32, 2 layers, 4 heads, vocab of the tiny tokenizer.
pub fn tiny_config(task: Option<Task>, labels: &[&str], pooling: Option<Pooling>) -> ModelConfig {
    let mut c = ModelConfig {
        architectures: task
            .map(|t| vec![t.architecture().to_string()])
            .unwrap_or_default(),
        model_type: "bert".into(),
        vocab_size: 41,
        hidden_size: 32,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        intermediate_size: 64,
        hidden_act: "gelu".into(),
        max_position_embeddings: 64,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        pad_token_id: 0,
        id2label: BTreeMap::new(),
        label2id: BTreeMap::new(),
        routelab_pooling: pooling,
        extra: BTreeMap::new(),
    };
    c.set_labels(&labels.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    c
}

/// Random weights for `config` under `prefix` (`"bert."` or `""`), with a pooler and, when
/// `head_rows > 0`, a `classifier` of that many rows.
pub fn tiny_weights(
    config: &ModelConfig,
    prefix: &str,
    head_rows: usize,
    seed: u64,
) -> HashMap<String, Tensor> {
    let mut r = Lcg(seed);
    let h = config.hidden_size;
    let mut t = HashMap::new();
    let mut put = |name: String, shape: &[usize], scale: f32, r: &mut Lcg| {
        t.insert(name, r.tensor(shape, scale));
    };
    let e = format!("{prefix}embeddings");
    put(
        format!("{e}.word_embeddings.weight"),
        &[config.vocab_size, h],
        1.0,
        &mut r,
    );
    put(
        format!("{e}.position_embeddings.weight"),
        &[config.max_position_embeddings, h],
        0.5,
        &mut r,
    );
    put(
        format!("{e}.token_type_embeddings.weight"),
        &[config.type_vocab_size, h],
        0.5,
        &mut r,
    );
    let mut lns = vec![format!("{e}.LayerNorm")];
    for i in 0..config.num_hidden_layers {
        let l = format!("{prefix}encoder.layer.{i}");
        for p in ["query", "key", "value"] {
            put(
                format!("{l}.attention.self.{p}.weight"),
                &[h, h],
                0.3,
                &mut r,
            );
            put(format!("{l}.attention.self.{p}.bias"), &[h], 0.1, &mut r);
        }
        put(
            format!("{l}.attention.output.dense.weight"),
            &[h, h],
            0.3,
            &mut r,
        );
        put(
            format!("{l}.attention.output.dense.bias"),
            &[h],
            0.1,
            &mut r,
        );
        put(
            format!("{l}.intermediate.dense.weight"),
            &[config.intermediate_size, h],
            0.3,
            &mut r,
        );
        put(
            format!("{l}.intermediate.dense.bias"),
            &[config.intermediate_size],
            0.1,
            &mut r,
        );
        put(
            format!("{l}.output.dense.weight"),
            &[h, config.intermediate_size],
            0.3,
            &mut r,
        );
        put(format!("{l}.output.dense.bias"), &[h], 0.1, &mut r);
        lns.push(format!("{l}.attention.output.LayerNorm"));
        lns.push(format!("{l}.output.LayerNorm"));
    }
    for ln in &lns {
        put(format!("{ln}.weight"), &[h], 0.1, &mut r);
        put(format!("{ln}.bias"), &[h], 0.1, &mut r);
    }
    put(format!("{prefix}pooler.dense.weight"), &[h, h], 0.3, &mut r);
    put(format!("{prefix}pooler.dense.bias"), &[h], 0.1, &mut r);
    if head_rows > 0 {
        put("classifier.weight".into(), &[head_rows, h], 1.0, &mut r);
        put("classifier.bias".into(), &[head_rows], 0.1, &mut r);
    }
    // LayerNorm scales around 1.
    for ln in &lns {
        let name = format!("{ln}.weight");
        let w = (&t[&name] + 1.0).unwrap();
        t.insert(name, w);
    }
    t
}

/// Writes `config`, `weights` and a tokenizer into `dir`.
pub fn write_model(
    dir: &Path,
    config: &ModelConfig,
    weights: &HashMap<String, Tensor>,
    tokenizer: &Path,
) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join(CONFIG_FILE),
        serde_json::to_string_pretty(config).unwrap(),
    )
    .unwrap();
    candle_core::safetensors::save(weights, dir.join(WEIGHTS_FILE)).unwrap();
    std::fs::copy(tokenizer, dir.join(TOKENIZER_FILE)).unwrap();
}

/// A tiny random model directory in `dir`.
pub fn tiny_model(dir: &Path, task: Option<Task>, labels: &[&str], pooling: Option<Pooling>) {
    let config = tiny_config(task, labels, pooling);
    let prefix = if task.is_some() { "bert." } else { "" };
    let weights = tiny_weights(&config, prefix, labels.len(), 7);
    write_model(
        dir,
        &config,
        &weights,
        &fixtures().join("tiny").join(TOKENIZER_FILE),
    );
}

/// Reference fixture file `expected.json`, parsed.
pub fn expected() -> serde_json::Value {
    let path = fixtures().join("reference/expected.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// A task model built from the real MiniLM (encoder renamed to `bert.*`) and a reference head
/// (`seq_head.safetensors` or `tok_head.safetensors`), written into `dir`.
pub fn minilm_task_model(dir: &Path, task: Task, pooling: Option<Pooling>) {
    let base = minilm_dir();
    let mut config: ModelConfig =
        serde_json::from_str(&std::fs::read_to_string(base.join(CONFIG_FILE)).unwrap()).unwrap();
    let exp = expected();
    let (head, labels_key) = match task {
        Task::SequenceClassification => ("seq_head.safetensors", "seq_labels"),
        Task::TokenClassification => ("tok_head.safetensors", "tok_labels"),
    };
    let labels: Vec<String> = serde_json::from_value(exp[labels_key].clone()).unwrap();
    config.architectures = vec![task.architecture().to_string()];
    config.set_labels(&labels);
    config.routelab_pooling = pooling;
    let mut weights: HashMap<String, Tensor> =
        candle_core::safetensors::load(base.join(WEIGHTS_FILE), &Device::Cpu)
            .unwrap()
            .into_iter()
            .map(|(k, v)| (format!("bert.{k}"), v))
            .collect();
    weights.extend(
        candle_core::safetensors::load(fixtures().join("reference").join(head), &Device::Cpu)
            .unwrap(),
    );
    write_model(dir, &config, &weights, &base.join(TOKENIZER_FILE));
}
