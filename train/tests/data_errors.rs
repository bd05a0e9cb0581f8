//! Bad input gives errors that name the file, row and field.

mod common;

use train::config::{TaskName, TrainConfig};
use train::trainer::prepare;

#[test]
fn unknown_label_names_file_and_row() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::tiny_setup(dir, TaskName::SequenceClassification);
    let mut cfg = common::tiny_config(dir, TaskName::SequenceClassification);
    let bad = dir.join("validation.jsonl");
    std::fs::write(
        &bad,
        "{\"text\": \"the rust\", \"label\": \"code\"}\n{\"text\": \"x\", \"label\": \"poetry\"}\n",
    )
    .unwrap();
    cfg.validation_file = Some(bad.clone());
    let err = prepare(&cfg).err().unwrap().to_string();
    assert!(
        err.contains("validation.jsonl") && err.contains("row 1") && err.contains("poetry"),
        "{err}"
    );
}

#[test]
fn tag_count_mismatch_and_missing_field_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::tiny_setup(dir, TaskName::TokenClassification);
    let cfg = common::tiny_config(dir, TaskName::TokenClassification);
    std::fs::write(
        &cfg.train_file,
        "{\"text\": \"alice is here\", \"tags\": [\"B-PER\", \"O\"]}\n",
    )
    .unwrap();
    let err = prepare(&cfg).err().unwrap().to_string();
    assert!(
        err.contains("train.jsonl") && err.contains("row 0") && err.contains("2 tags for 3"),
        "{err}"
    );
    std::fs::write(&cfg.train_file, "{\"text\": \"alice\"}\n").unwrap();
    let err = prepare(&cfg).err().unwrap().to_string();
    assert!(err.contains("line 1") && err.contains("`tags`"), "{err}");
}

#[test]
fn yaml_config_rejects_unknown_keys_and_bad_values() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("train.yaml");
    std::fs::write(&p, "base_model: m\ntrain_file: t.parquet\nlora:\n  rank: 4\n  alpha: 8\n  dropout: 0.0\n  use_rslora: true\n  target_modules: [query, value, intermediate]\n").unwrap();
    let cfg = TrainConfig::from_yaml_file(&p).unwrap();
    assert_eq!(cfg.lora.scaling(), 4.0);
    cfg.validate().unwrap();
    std::fs::write(&p, "base_model: m\ntrain_file: t\nlearning_rat: 1\n").unwrap();
    let err = TrainConfig::from_yaml_file(&p).err().unwrap().to_string();
    assert!(err.contains("learning_rat"), "{err}");
    let bad = TrainConfig {
        batch_size: 0,
        ..TrainConfig::default()
    };
    let err = bad.validate().err().unwrap().to_string();
    assert!(
        err.contains("batch_size") && err.contains("base_model"),
        "{err}"
    );
}

/// The checked-in training recipes name the fetched base model through the cache
/// (`$ROUTELAB_CACHE/models/...`), never one machine's absolute path, and load on any machine.
#[test]
fn checked_in_recipes_are_portable() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/training");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("base_model: $ROUTELAB_CACHE/models/all-MiniLM-L6-v2"),
            "{}",
            path.display()
        );
        let cfg = train::config::TrainConfig::from_yaml_file(&path).unwrap();
        assert_eq!(
            cfg.base_model,
            router_core::paths::cache_root().join("models/all-MiniLM-L6-v2"),
            "{}",
            path.display()
        );
        for p in [&cfg.train_file, &cfg.output_dir] {
            assert!(p.is_relative(), "{}: {}", path.display(), p.display());
        }
        n += 1;
    }
    assert!(n >= 4, "only {n} recipes in {}", dir.display());
}
