//! The signal store: a replay with it gives the same decisions and report numbers as one
//! without (up to timings and the store's own entry), a warm store runs no model, a changed
//! candidate list is applied to the stored outputs, a changed model file gets a store of its
//! own, and a part that is not one of ours fails with its path.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use eval::evaluate::{run_eval, EvalOptions};
use eval::replay::ReplayOptions;
use serde_json::Value;

/// The real MiniLM (the test suite fetches it).
fn minilm() -> PathBuf {
    let dir = router_core::paths::default_model_dir();
    assert!(
        dir.join("model.safetensors").exists(),
        "run scripts/fetch-model.sh"
    );
    dir
}

/// A config whose `math` decision is an embedding signal over `candidates`.
fn config(model: &Path, candidates: &str) -> String {
    format!(
        r#"
providers:
  defaults: {{default_model: small}}
  models:
    - {{name: small, pricing: {{prompt_per_1m: 1, completion_per_1m: 2}}}}
    - {{name: big, pricing: {{prompt_per_1m: 10, completion_per_1m: 20}}}}
global:
  model_catalog:
    embeddings: {{semantic: {{bert_model_path: "{}"}}}}
routing:
  signals:
    embeddings:
      - {{name: math_like, threshold: 0.45, candidates: [{candidates}]}}
  decisions:
    - {{name: math, rules: {{type: embedding, name: math_like}}, modelRefs: [{{model: big}}]}}
"#,
        model.display()
    )
}

fn options(dir: &Path, config: &Path, store: Option<&Path>, out: &str) -> EvalOptions {
    let log = dir.join("log.parquet");
    if !log.exists() {
        tiny_log(&log);
    }
    EvalOptions {
        config: config.to_path_buf(),
        log,
        out_dir: dir.join(out),
        run_name: "store".into(),
        replay: ReplayOptions {
            progress: false,
            ..Default::default()
        },
        allow_unscored: false,
        sweep: None,
        model_maps: Vec::new(),
        signal_store: store.map(Path::to_path_buf),
        recipe: None,
    }
}

fn eval(dir: &Path, config: &Path, store: Option<&Path>, out: &str) -> (Value, PathBuf) {
    let opts = options(dir, config, store, out);
    let out = run_eval(&opts).unwrap();
    let report = serde_json::to_value(&out.report).unwrap();
    (report, opts.out_dir.join("decisions.parquet"))
}

/// The report without what may differ between runs: timings, creation time, the store entry.
fn comparable(mut r: Value) -> Value {
    let o = r.as_object_mut().unwrap();
    for k in [
        "created_utc",
        "router_overhead_us",
        "signal_store",
        "run_name",
    ] {
        o.remove(k);
    }
    r
}

fn store_use(r: &Value) -> (u64, u64, u64) {
    let models = r["signal_store"]["models"].as_object().unwrap();
    assert_eq!(models.len(), 1);
    let m = models.values().next().unwrap();
    let n = |k: &str| m[k].as_u64().unwrap();
    (n("stored"), n("read"), n("computed"))
}

#[test]
fn replays_with_the_store_equal_replays_without() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("signals");
    let cfg = write(
        dir.path(),
        "c.yaml",
        &config(&minilm(), "integrals and derivatives, "),
    );
    let (plain, plain_rows) = eval(dir.path(), &cfg, None, "plain");
    assert!(plain.get("signal_store").is_none());
    let (cold, cold_rows) = eval(dir.path(), &cfg, Some(&store), "cold");
    // Four distinct prompts: four embeddings computed.
    assert_eq!(store_use(&cold), (0, 0, 4));
    let (warm, warm_rows) = eval(dir.path(), &cfg, Some(&store), "warm");
    assert_eq!(store_use(&warm), (4, 4, 0));
    assert_eq!(comparable(cold.clone()), comparable(plain.clone()));
    assert_eq!(comparable(warm), comparable(plain.clone()));
    // decisions.parquet carries the router timings: compare its decisions, not its bytes.
    assert_eq!(decisions(&cold_rows), decisions(&plain_rows));
    assert_eq!(decisions(&warm_rows), decisions(&plain_rows));
    // The policy routes something each way, so the equality says something.
    let d = decisions(&plain_rows);
    assert!(
        d.iter().any(|x| x.is_some()) && d.iter().any(|x| x.is_none()),
        "{d:?}"
    );

    // New candidates: the stored query embeddings are compared with them, no model runs.
    let cfg2 = write(
        dir.path(),
        "c2.yaml",
        &config(&minilm(), "the capital city of a country"),
    );
    let (plain2, rows2) = eval(dir.path(), &cfg2, None, "plain2");
    let (warm2, warm_rows2) = eval(dir.path(), &cfg2, Some(&store), "warm2");
    assert_eq!(store_use(&warm2), (4, 4, 0));
    assert_eq!(comparable(warm2), comparable(plain2));
    assert_eq!(decisions(&warm_rows2), decisions(&rows2));
    assert_ne!(decisions(&rows2), decisions(&plain_rows));

    // A changed model file is another model: nothing of the old one is read.
    let copy = dir.path().join("minilm-copy");
    std::fs::create_dir(&copy).unwrap();
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::copy(minilm().join(f), copy.join(f)).unwrap();
    }
    let mut conf: Value =
        serde_json::from_slice(&std::fs::read(copy.join("config.json")).unwrap()).unwrap();
    conf["routelab_note"] = Value::String("re-exported".into());
    std::fs::write(copy.join("config.json"), serde_json::to_vec(&conf).unwrap()).unwrap();
    let cfg3 = write(
        dir.path(),
        "c3.yaml",
        &config(&copy, "integrals and derivatives, "),
    );
    let (other, _) = eval(dir.path(), &cfg3, Some(&store), "other");
    assert_eq!(store_use(&other), (0, 0, 4));
    let folders = std::fs::read_dir(&store).unwrap().count();
    assert_eq!(folders, 2);
}

/// The `decision` column of a decisions.parquet file.
fn decisions(path: &Path) -> Vec<Option<String>> {
    use arrow::array::AsArray;
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut out = Vec::new();
    for b in reader {
        let b = b.unwrap();
        let col = b.column_by_name("decision").unwrap().as_string::<i32>();
        out.extend(col.iter().map(|v| v.map(String::from)));
    }
    out
}

#[test]
fn a_foreign_part_fails_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("signals");
    let cfg = write(dir.path(), "c.yaml", &config(&minilm(), "integrals"));
    eval(dir.path(), &cfg, Some(&store), "first");
    let only_dir = |d: &Path| {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.is_dir())
            .unwrap()
    };
    // <store>/<model>/<sha256 of the log file>/part-….parquet
    let log_dir = only_dir(&only_dir(&store));
    let log_sha = eval::evaluate::sha256_file(&dir.path().join("log.parquet")).unwrap();
    assert_eq!(log_dir.file_name().unwrap().to_str().unwrap(), log_sha);
    let bad = log_dir.join("part-000000000000-000000000004-x.parquet");
    std::fs::write(&bad, b"not parquet").unwrap();
    let opts = options(dir.path(), &cfg, Some(&store), "second");
    let err = run_eval(&opts).unwrap_err().to_string();
    assert!(
        err.contains("part-000000000000-000000000004-x.parquet"),
        "{err}"
    );
    std::fs::remove_file(&bad).unwrap();
    let misnamed = log_dir.join("part-7.parquet");
    std::fs::write(&misnamed, b"").unwrap();
    let err = run_eval(&opts).unwrap_err().to_string();
    assert!(
        err.contains("part-7.parquet") && err.contains("not a signal-store part name"),
        "{err}"
    );
}

/// A served-log folder: `a.parquet` (the tiny log) and, when `with_b`, `b.parquet` (one prompt
/// of `a` and one new).
fn served_folder(dir: &Path, with_b: bool) -> PathBuf {
    let folder = dir.join("served");
    std::fs::create_dir_all(&folder).unwrap();
    tiny_log(&folder.join("a.parquet"));
    if with_b {
        write_parquet(
            &folder.join("b.parquet"),
            vec![
                ("request_id", strs(&[Some("b0"), Some("b1")])),
                (
                    "prompt",
                    strs(&[Some("hello there"), Some("solve the differential equation")]),
                ),
                ("small|quality", f64s(&[Some(1.0), Some(0.0)])),
                ("big|quality", f64s(&[Some(1.0), Some(1.0)])),
            ],
        );
    }
    folder
}

/// Parts of every model and log file of `store`.
fn part_files(store: &Path) -> usize {
    walk(store)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .count()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn parts_follow_the_batches_and_a_folder_that_gains_a_file_keeps_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("signals");
    let cfg = write(dir.path(), "c.yaml", &config(&minilm(), "integrals"));
    let run = |out: &str, batch_size: usize| {
        let mut opts = options(dir.path(), &cfg, Some(&store), out);
        opts.log = served_folder(dir.path(), out != "cold");
        opts.replay.batch_size = batch_size;
        let report = serde_json::to_value(&run_eval(&opts).unwrap().report).unwrap();
        store_use(&report)
    };
    // Batches of two rows: two spans of a.parquet, one part each.
    assert_eq!(run("cold", 2), (0, 0, 4));
    assert_eq!(part_files(&store), 2);
    // b.parquet joins the folder; batches of three rows now. a's spans [0,3) and [3,4) read
    // both of its parts (each counted once); b is another file, so its two prompts are
    // computed, "hello there" included: outputs are kept per file.
    assert_eq!(run("grown", 3), (4, 4, 2));
    assert_eq!(part_files(&store), 3);
    assert_eq!(run("warm", 8), (6, 6, 0));
}
