//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The real MiniLM directory; panics with a hint when it is absent.
pub fn minilm_dir() -> PathBuf {
    let dir = router_core::paths::default_model_dir();
    assert!(
        dir.join("model.safetensors").exists(),
        "MiniLM not found at {} (set ROUTELAB_MODEL_DIR or run scripts/fetch-model.sh)",
        dir.display()
    );
    dir
}

/// `scale · sin(0.731·k + offset)` for k in 0..n: the reference fixtures' initial values, in
/// Hugging Face layout (`scripts/reference/train_peft.py` writes the same).
pub fn formula(n: usize, offset: f64, scale: f64) -> Vec<f32> {
    (0..n)
        .map(|k| (scale * (0.731 * k as f64 + offset).sin()) as f32)
        .collect()
}

/// The reference tests' classifier: CLS-pooled sequence classification on `config` with
/// `lora`, dropout off, seed 0.
pub fn reference_init<'a>(
    config: &'a router_core::export::ModelConfig,
    lora: &'a train::lora::LoraSettings,
    num_labels: usize,
) -> train::model::ClassifierInit<'a> {
    use router_core::export::{Pooling, Task};
    train::model::ClassifierInit {
        bert: train::bert::BertInit {
            config,
            lora: Some(lora),
            hidden_dropout: 0.0,
            attention_dropout: 0.0,
        },
        head: train::model::HeadKind {
            task: Task::SequenceClassification,
            pooling: Pooling::Cls,
        },
        num_labels,
        seed: 0,
    }
}

/// The fixtures directory.
fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Reads and parses the JSON fixture `name` from the fixtures directory.
pub fn json_fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = fixtures().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use train::config::{TaskName, TrainConfig};

/// Words of the synthetic vocabulary.
pub const FILLER: [&str; 10] = [
    "the", "a", "how", "do", "i", "what", "is", "please", "explain", "my",
];
/// Words that mark the `math` class.
pub const MATH: [&str; 6] = [
    "integral",
    "derivative",
    "equation",
    "matrix",
    "algebra",
    "prime",
];
/// Words that mark the `code` class.
pub const CODE: [&str; 6] = ["python", "compile", "function", "rust", "bug", "loop"];
/// Person and location names for the token task.
pub const NAMES: [&str; 3] = ["alice", "bob", "carol"];
/// Locations for the token task.
pub const PLACES: [&str; 2] = ["paris", "berlin"];

/// The whole synthetic vocabulary.
pub fn vocab() -> Vec<&'static str> {
    FILLER
        .iter()
        .chain(&MATH)
        .chain(&CODE)
        .chain(&NAMES)
        .chain(&PLACES)
        .copied()
        .collect()
}

/// Writes a tiny random base model into `dir`.
pub fn tiny_model(dir: &Path) {
    train::synthetic::write_base_model(dir, &vocab(), 32, 2, 7).unwrap();
}

/// `n` sequence-classification rows as JSONL.
pub fn seq_jsonl(path: &Path, n: usize, seed: u64) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut lines = Vec::new();
    let mut texts = Vec::new();
    for i in 0..n {
        let (label, words) = if i % 2 == 0 {
            ("math", &MATH)
        } else {
            ("code", &CODE)
        };
        let mut w: Vec<&str> = (0..rng.random_range(3..7))
            .map(|_| FILLER[rng.random_range(0..10)])
            .collect();
        let at = rng.random_range(0..=w.len());
        w.insert(at, words[rng.random_range(0..6)]);
        let text = w.join(" ");
        lines.push(serde_json::json!({"text": text, "label": label}).to_string());
        texts.push(text);
    }
    std::fs::write(path, lines.join("\n")).unwrap();
    texts
}

/// `n` token-classification rows (BIO per word-piece) as JSONL.
pub fn token_jsonl(path: &Path, n: usize, seed: u64) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut lines = Vec::new();
    let mut texts = Vec::new();
    for _ in 0..n {
        let mut words = Vec::new();
        let mut tags = Vec::new();
        for _ in 0..rng.random_range(4..9) {
            match rng.random_range(0..6) {
                0 => {
                    words.push(NAMES[rng.random_range(0..3)]);
                    tags.push("B-PER");
                    if rng.random_bool(0.5) {
                        words.push(NAMES[rng.random_range(0..3)]);
                        tags.push("I-PER");
                    }
                }
                1 => {
                    words.push(PLACES[rng.random_range(0..2)]);
                    tags.push("B-LOC");
                }
                _ => {
                    words.push(FILLER[rng.random_range(0..10)]);
                    tags.push("O");
                }
            }
        }
        let text = words.join(" ");
        lines.push(serde_json::json!({"text": text, "tags": tags}).to_string());
        texts.push(text);
    }
    std::fs::write(path, lines.join("\n")).unwrap();
    texts
}

/// A small, fast recipe over files in `dir`.
pub fn tiny_config(dir: &Path, task: TaskName) -> TrainConfig {
    let mut cfg = TrainConfig {
        task,
        base_model: dir.join("base"),
        train_file: dir.join("train.jsonl"),
        validation_file: Some(dir.join("validation.jsonl")),
        test_file: Some(dir.join("test.jsonl")),
        max_length: 32,
        batch_size: 8,
        learning_rate: 1e-2,
        epochs: 3,
        seed: 11,
        output_dir: dir.join("out"),
        ..TrainConfig::default()
    };
    cfg.lora.rank = 4;
    cfg.lora.alpha = 8.0;
    cfg
}

/// Writes base model and splits for `task` under `dir`; returns the test texts.
pub fn tiny_setup(dir: &Path, task: TaskName) -> Vec<String> {
    tiny_model(&dir.join("base"));
    let gen = match task {
        TaskName::SequenceClassification => seq_jsonl,
        TaskName::TokenClassification => token_jsonl,
    };
    gen(&dir.join("train.jsonl"), 48, 1);
    gen(&dir.join("validation.jsonl"), 16, 2);
    gen(&dir.join("test.jsonl"), 16, 3)
}
