//! Gate checks and golden files for JUnit XML and the markdown summary.
//! Regenerate the golden files with `UPDATE_GOLDEN=1 cargo test -p eval --test gate`.

use std::path::Path;

use eval::classify::ConfusionCounter;
use eval::gate::{evaluate, junit_xml, markdown_summary, Thresholds};
use eval::report::*;
use eval::scoring::policy_metrics;
use eval::stats::Percentiles;

fn report(quality: f64, cost_per_1k: f64, p99: f64, correct: u64) -> Report {
    let mut policy = policy_metrics("policy", std::iter::empty());
    policy.requests = 1000;
    policy.scored = 1000;
    policy.mean_quality = Some(quality);
    policy.cost_per_1k = cost_per_1k;
    policy.total_cost = cost_per_1k;
    let mut dec = ConfusionCounter::new();
    for i in 0..10 {
        dec.add("math", Some(if i < correct { "math" } else { "other" }));
    }
    Report {
        format: REPORT_FORMAT.into(),
        routelab_version: "0.1.0".into(),
        run_name: "fixture".into(),
        created_utc: "2026-01-01T00:00:00Z".into(),
        mapped_models: Vec::new(),
        signal_store: None,
        recipe: None,
        config: InputFile {
            path: "c.yaml".into(),
            sha256: "ab".repeat(32),
        },
        log: InputFile {
            path: "l.parquet".into(),
            sha256: "cd".repeat(32),
        },
        cost_settings: CostSettings::default(),
        requests: 1000,
        models: vec![],
        policy,
        savings: Savings {
            vs_strongest: None,
            vs_cheapest: None,
        },
        baselines: vec![],
        router_overhead_us: Percentiles {
            p50: 10.0,
            p95: 20.0,
            p99,
            mean: 12.0,
            max: p99,
        },
        router_batch: 1,
        model_latency_ms: Percentiles::default(),
        unknown_latency: 0,
        blocked: 0,
        not_replayable: Vec::new(),
        decision_accuracy: dec.finish(),
        signal_accuracy: None,
        per_category: vec![],
        per_model: vec![],
        per_decision: vec![],
        sweep: None,
        curves: CurveMetrics {
            weak_model: None,
            strong_model: None,
            apgr: None,
            apgr_random: None,
            apgr_oracle: None,
            cpt50: None,
            cpt80: None,
            pgr: None,
            aiq: None,
            aiq_zero_router: None,
            aiq_oracle: None,
            zero_router_quality_at_policy_cost: None,
        },
    }
}

fn thresholds() -> Thresholds {
    serde_norway::from_str(
        "min_quality: 0.7\nmax_cost_per_1k: 5.0\nmax_quality_drop: 0.01\nmax_cost_increase_pct: 10\nmax_router_p99_us: 500\nmin_decision_accuracy: 0.8\nmin_signal_accuracy: 0.5\n",
    )
    .unwrap()
}

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(actual, expected, "golden file {name} differs");
}

#[test]
fn checks_pass_and_fail_by_hand() {
    let base = report(0.80, 4.0, 300.0, 9);
    // quality drop 0.03 > 0.01, cost +12.5% > 10%, p99 600 > 500, accuracy 0.7 < 0.8,
    // no signal accuracy -> fail; min_quality 0.77 >= 0.7 and cost 4.5 <= 5 pass.
    let new = report(0.77, 4.5, 600.0, 7);
    let r = evaluate(&new, Some(&base), &thresholds()).unwrap();
    let passed: Vec<(&str, bool)> = r
        .checks
        .iter()
        .map(|c| (c.name.as_str(), c.passed))
        .collect();
    assert_eq!(
        passed,
        vec![
            ("min_quality", true),
            ("max_cost_per_1k", true),
            ("max_quality_drop", false),
            ("max_cost_increase_pct", false),
            ("max_router_p99_us", false),
            ("min_decision_accuracy", false),
            ("min_signal_accuracy", false),
        ]
    );
    assert!((r.checks[2].actual.unwrap() - 0.03).abs() < 1e-12);
    assert!((r.checks[3].actual.unwrap() - 12.5).abs() < 1e-9);
    assert_eq!(r.failures(), 5);
    golden("gate_fail.junit.xml", &junit_xml(&r, "routelab gate"));
    golden(
        "gate_fail.summary.md",
        &markdown_summary(&r, &new, "new/report.json", Some("base/report.json")),
    );
    let same = evaluate(
        &base,
        Some(&base),
        &Thresholds {
            min_signal_accuracy: None,
            ..thresholds()
        },
    )
    .unwrap();
    assert!(same.passed());
    golden("gate_pass.junit.xml", &junit_xml(&same, "routelab gate"));
}

#[test]
fn bad_threshold_input_is_an_error() {
    let base = report(0.8, 4.0, 300.0, 9);
    assert!(evaluate(&base, None, &thresholds())
        .unwrap_err()
        .to_string()
        .contains("--baseline"));
    assert!(evaluate(&base, None, &Thresholds::default()).is_err());
    assert!(
        serde_norway::from_str::<Thresholds>("min_qualty: 0.5\n").is_err(),
        "typos are rejected"
    );
}

#[test]
fn router_overhead_of_a_batched_replay_is_not_gated_as_latency() {
    let base = report(0.80, 4.0, 300.0, 9);
    // 100 µs would pass the 500 µs limit, but it is a share of batch time: the check fails.
    let mut batched = report(0.80, 4.0, 100.0, 9);
    batched.router_batch = 8;
    let r = evaluate(&batched, Some(&base), &thresholds()).unwrap();
    let c = r
        .checks
        .iter()
        .find(|c| c.name == "max_router_p99_us")
        .unwrap();
    assert!(!c.passed && c.actual.is_none());
    assert!(c.message.contains("--router-batch 8"), "{}", c.message);
    let per_request = evaluate(&report(0.80, 4.0, 100.0, 9), Some(&base), &thresholds()).unwrap();
    assert!(per_request
        .checks
        .iter()
        .any(|c| c.name == "max_router_p99_us" && c.passed));
}
