//! `compare` on the hand-computed log: A = keyword policy, B = everything to `small`.

mod common;

use common::*;
use eval::compare::{run_compare, CompareOptions};
use eval::replay::ReplayOptions;

#[test]
fn paired_differences_and_mcnemar_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.yaml", CONFIG);
    let b = write(dir.path(), "b.yaml", CONFIG_ALL_SMALL);
    let log = dir.path().join("log.parquet");
    tiny_log(&log);
    let r = run_compare(&CompareOptions {
        config_a: a,
        config_b: b,
        log,
        out_dir: dir.path().join("cmp"),
        replay: ReplayOptions::default(),
        allow_unscored: false,
        resamples: 1000,
        seed: 3,
        max_examples: 10,
        model_maps: Vec::new(),
        signal_store: None,
    })
    .unwrap();
    // Quality B - A per request: r0 0-1 = -1, r1 0, r2 0, r3 0 -> mean -0.25.
    assert_eq!(r.paired_scored, 4);
    let q = r.quality_diff.as_ref().unwrap();
    assert!((q.mean + 0.25).abs() < 1e-12);
    assert!(q.lo <= -0.25 && q.hi >= -0.25 && q.lo >= -1.0 && q.hi <= 0.0);
    // Cost B - A: r0, r1 0.002 - 0.02 = -0.018; r2, r3 0 -> mean -0.009.
    assert!((r.cost_diff.as_ref().unwrap().mean + 0.009).abs() < 1e-12);
    // McNemar: A-only correct 1 (r0), B-only 0 -> exact p = min(1, 2 * 0.5) = 1.
    assert_eq!(
        (
            r.mcnemar.only_a,
            r.mcnemar.only_b,
            r.mcnemar.both_correct,
            r.mcnemar.both_wrong
        ),
        (1, 0, 2, 1)
    );
    assert_eq!(r.mcnemar.p_value, 1.0);
    assert_eq!(r.model_changes, 2);
    assert_eq!(r.flipped.len(), 1);
    let f = &r.flipped[0];
    assert_eq!(
        (
            f.request_id.as_str(),
            f.direction.as_str(),
            f.model_a.as_str(),
            f.model_b.as_str()
        ),
        ("r0", "regressed", "big", "small")
    );
    assert_eq!(f.prompt_excerpt, "compute the integral of x");
    let math = r
        .per_category
        .iter()
        .find(|c| c.category == "math")
        .unwrap();
    assert_eq!(
        (math.quality_a, math.quality_b, math.only_a_correct),
        (Some(1.0), Some(0.5), 1)
    );
    let md = std::fs::read_to_string(dir.path().join("cmp/compare.md")).unwrap();
    assert!(md.contains("| r0 | math | regressed |"), "{md}");
    assert!(dir.path().join("cmp/compare.json").exists());
}
