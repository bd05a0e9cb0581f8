//! The real all-MiniLM-L6-v2 against the independent numpy reference
//! (`scripts/reference/bert_reference.py`, outputs in `fixtures/reference/expected.json`).
//! All sentences run as one padded batch (in chunks of 3), the reference runs each alone.

mod common;

use common::{expected, minilm_dir, minilm_task_model};
use router_core::export::{Pooling, Task};
use router_core::inference::{
    cosine, Embedder, InferenceOptions, ModelSource, SequenceClassifier, TokenClassifier,
    DEFAULT_WINDOW_OVERLAP,
};
use serde_json::Value;

fn options() -> InferenceOptions {
    InferenceOptions {
        max_length: Some(expected()["max_length"].as_u64().unwrap() as usize),
        batch_size: 3,
        threads: None,
    }
}

fn sentences(exp: &Value) -> Vec<&Value> {
    exp["sentences"].as_array().unwrap().iter().collect()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn embeddings_match_reference() {
    let exp = expected();
    let s = sentences(&exp);
    assert!(
        s.iter().any(|x| x["truncated"].as_bool().unwrap()),
        "fixture lacks a truncated input"
    );
    let texts: Vec<&str> = s.iter().map(|x| x["text"].as_str().unwrap()).collect();
    let e = Embedder::load(&ModelSource::Dir(minilm_dir()), &options()).unwrap();
    assert_eq!(e.dim(), 384);
    let got = e.embed_batch(&texts).unwrap();
    for (g, x) in got.iter().zip(&s) {
        let want = floats(&x["embedding"]);
        let c = cosine(g, &want);
        assert!(c > 0.9999, "{:?}: cosine {c}", x["text"]);
        assert!(max_abs_diff(g, &want) < 1e-4, "{:?}", x["text"]);
    }
}

#[test]
fn sequence_logits_match_reference_for_both_poolings() {
    let exp = expected();
    let s = sentences(&exp);
    let texts: Vec<&str> = s.iter().map(|x| x["text"].as_str().unwrap()).collect();
    for (pooling, key) in [
        (Pooling::Cls, "seq_logits_cls"),
        (Pooling::Mean, "seq_logits_mean"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        minilm_task_model(dir.path(), Task::SequenceClassification, Some(pooling));
        let m = SequenceClassifier::load(&ModelSource::Dir(dir.path().into()), &options()).unwrap();
        assert_eq!(m.labels(), ["math", "law", "other"]);
        let got = m.logits_batch(&texts).unwrap();
        for (g, x) in got.iter().zip(&s) {
            let d = max_abs_diff(g, &floats(&x[key]));
            assert!(d < 1e-4, "{pooling:?} {:?}: max diff {d}", x["text"]);
        }
    }
}

#[test]
fn token_logits_and_entities_match_reference() {
    let exp = expected();
    let s = sentences(&exp);
    let texts: Vec<&str> = s.iter().map(|x| x["text"].as_str().unwrap()).collect();
    let dir = tempfile::tempdir().unwrap();
    minilm_task_model(dir.path(), Task::TokenClassification, None);
    let m = TokenClassifier::load(&ModelSource::Dir(dir.path().into()), &options()).unwrap();
    let logits = m.logits_batch(&texts).unwrap();
    let entities = m.entities_batch(&texts).unwrap();
    let tags = m.tags_batch(&texts).unwrap();
    let max_length = options().max_length.unwrap();
    // Windows of `room` text tokens advance by `step` (the default overlap): the first `step`
    // tokens of a long text are tagged by the first window alone, as in the truncating
    // reference; later ones may come from the next window.
    let room = max_length - 2;
    let step = room - DEFAULT_WINDOW_OVERLAP.min(room / 2);
    for (((g, ents), x), t) in logits.iter().zip(&entities).zip(&s).zip(&tags) {
        let (ents, want_all): (Vec<_>, Vec<_>) =
            if x["tokens"].as_u64().unwrap() as usize == max_length {
                let cut = t[step - 1].end as u64;
                let beyond = ents.iter().filter(|e| e.start as u64 > cut).count();
                assert!(
                    beyond > 0,
                    "{:?}: entities past the first window",
                    x["text"]
                );
                (
                    ents.iter().filter(|e| e.end as u64 <= cut).collect(),
                    x["entities"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|w| w["end"].as_u64().unwrap() <= cut)
                        .collect(),
                )
            } else {
                (
                    ents.iter().collect(),
                    x["entities"].as_array().unwrap().iter().collect(),
                )
            };
        let want = x["tok_logits"].as_array().unwrap();
        assert_eq!(g.len(), want.len(), "{:?}: token count", x["text"]);
        assert_eq!(g.len() as u64, x["tokens"].as_u64().unwrap());
        for (row, w) in g.iter().zip(want) {
            assert!(max_abs_diff(row, &floats(w)) < 1e-4, "{:?}", x["text"]);
        }
        // Tags are argmaxes: only comparable where the reference is not near a tie.
        assert!(x["tok_min_margin"].as_f64().unwrap() > 1e-3);
        let truncated = x["tokens"].as_u64().unwrap() as usize == max_length;
        assert!(!truncated || !want_all.is_empty(), "nothing compared");
        assert_eq!(ents.len(), want_all.len(), "{:?}: {ents:?}", x["text"]);
        for (e, w) in ents.iter().zip(want_all) {
            assert_eq!(e.label, w["label"].as_str().unwrap());
            assert_eq!(e.start as u64, w["start"].as_u64().unwrap());
            assert_eq!(e.end as u64, w["end"].as_u64().unwrap());
            assert_eq!(e.text, w["text"].as_str().unwrap());
            assert!((e.score as f64 - w["score"].as_f64().unwrap()).abs() < 1e-4);
        }
    }
    // The sentences the head was fitted on come out right.
    let email = &entities[1];
    assert_eq!(email.len(), 1);
    assert_eq!(
        (email[0].label.as_str(), email[0].text.as_str()),
        ("EMAIL", "john.smith@example.com")
    );
    let person = &entities[3];
    assert_eq!(
        (person[0].label.as_str(), person[0].text.as_str()),
        ("PER", "Alice Johnson")
    );
}
