//! Writes a synthetic request log of ROWS rows and a signal store holding a domain
//! classifier's outputs for all of it (random class probabilities, no model run), so that
//! replays from the store can be measured at any size (`scripts/bench-store-memory.sh`).
//!
//! `cargo run --release -p eval --example synthetic_store -- ROWS OUT_DIR CLASSIFIER_DIR`
//! writes `OUT_DIR/log-ROWS.parquet` and fills `OUT_DIR/signals`.

use std::path::PathBuf;

use eval::signal_store::SignalStore;
use router_core::inference::ModelSource;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [rows, out, classifier] = args.as_slice() else {
        return Err("usage: synthetic_store ROWS OUT_DIR CLASSIFIER_DIR".into());
    };
    let rows: u64 = rows.parse()?;
    let out = PathBuf::from(out);
    let classifier = PathBuf::from(classifier);
    std::fs::create_dir_all(&out)?;
    let log = out.join(format!("log-{rows}.parquet"));
    let words = [
        "history", "integral", "market", "protein", "contract", "velocity",
    ];
    eval::synthetic::write_log(
        &log,
        rows,
        |i, rng| {
            let a = words[rng.below(words.len())];
            let b = words[rng.below(words.len())];
            format!("Question {i}: what does the {a} of the {b} tell us? Answer briefly.")
        },
        |i| words[(i % 6) as usize].into(),
    )?;
    let labels: serde_json::Value =
        serde_json::from_slice(&std::fs::read(classifier.join("config.json"))?)?;
    let classes = labels["id2label"]
        .as_object()
        .ok_or("the classifier's config.json has no id2label")?
        .len();
    let store = SignalStore::open(&out.join("signals"))?;
    let registry = eval::evaluate::registry_with(Some(store.clone()));
    let memo = registry
        .memo("sequence", &ModelSource::Dir(classifier))?
        .expect("a registry with a store gives a memo");
    let n = eval::synthetic::write_classifier_store(&store, memo.model(), &log, classes)?;
    println!("{} rows, {n} outputs of {classes} classes", rows);
    Ok(())
}
