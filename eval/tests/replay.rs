//! End-to-end replay through router-core on the hand-computed 4-request log
//! (see `common::tiny_log` for the table).

mod common;

use std::path::PathBuf;

use arrow::array::{Array, AsArray, Float64Array, ListArray};
use common::*;
use eval::evaluate::{run_eval, EvalOptions};
use eval::replay::ReplayOptions;
use eval::sweep::SweepSpec;
use eval::EvalError;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn options(dir: &std::path::Path, config: PathBuf, sweep: Option<SweepSpec>) -> EvalOptions {
    let log = dir.join("log.parquet");
    tiny_log(&log);
    EvalOptions {
        config,
        log,
        out_dir: dir.join("out"),
        run_name: "tiny".into(),
        replay: ReplayOptions {
            batch_size: 3,
            ..Default::default()
        },
        allow_unscored: false,
        sweep,
        model_maps: Vec::new(),
        signal_store: None,
        recipe: None,
    }
}

#[test]
fn hand_computed_policy_baselines_and_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "tiny.yaml", CONFIG);
    let out = run_eval(&options(dir.path(), cfg, None)).unwrap();
    let r = &out.report;
    assert_eq!(r.requests, 4);
    // Policy: r0, r1 -> big (q 1, 1), r2, r3 -> small (q 1, 0).
    assert_eq!(r.policy.mean_quality, Some(0.75));
    assert!(close(r.policy.total_cost, 0.044), "{}", r.policy.total_cost);
    assert!(close(r.policy.cost_per_1k, 11.0));
    // Latency profile: small 100 + 10*500 = 5100 ms, big 200 + 20*500 = 10200 ms.
    assert!(close(r.policy.mean_model_latency_ms.unwrap(), 7650.0));
    let cheap = &r.baselines[0];
    assert!(cheap.name.contains("small"));
    assert_eq!(cheap.mean_quality, Some(0.5));
    assert!(close(cheap.cost_per_1k, 2.0));
    let strong = &r.baselines[1];
    assert!(strong.name.contains("big"));
    assert_eq!(
        (strong.mean_quality, strong.unscored),
        (Some(1.0), 1),
        "null quality is unscored, not 0"
    );
    assert!(close(strong.cost_per_1k, 20.0));
    // Oracle: r0 big, r1 small (tie, cheaper), r2 small, r3 small (only scored) = q 0.75, cost 0.026.
    let oracle = r.baseline("oracle").unwrap();
    assert_eq!(oracle.mean_quality, Some(0.75));
    assert!(close(oracle.total_cost, 0.026));
    // Random at the policy's shares (1/2, 1/2): q = 0.5*0.5 + 0.5*1.0, cost = (0.008 + 0.08) / 2.
    let random = r.baseline("random (expected)").unwrap();
    assert!(close(random.mean_quality.unwrap(), 0.75));
    assert!(close(random.total_cost, 0.044));
    // Random at the policy's cost: p = (0.044 - 0.008) / (0.08 - 0.008) = 0.5 to big.
    let matched = r
        .baseline("random (cost-matched, 50.0% strongest)")
        .unwrap();
    assert!(close(matched.mean_quality.unwrap(), 0.75));
    assert!(close(matched.total_cost, 0.044));
    assert!(close(r.savings.vs_strongest.unwrap(), 0.45));
    assert!(close(r.savings.vs_cheapest.unwrap(), -4.5));
    // RouteLLM: PGR = (0.75 - 0.5) / (1 - 0.5) = 0.5 at 50% calls to big: on the random line.
    let c = &r.curves;
    assert!(
        close(c.pgr.unwrap(), 0.5) && close(c.apgr.unwrap(), 0.5) && close(c.cpt50.unwrap(), 0.5)
    );
    // AIQ over costs 2..20: the policy point (11, 0.75) is on the chord, so all equal 0.75.
    assert!(close(c.aiq.unwrap(), 0.75) && close(c.aiq_zero_router.unwrap(), 0.75));
    assert!(close(c.zero_router_quality_at_policy_cost.unwrap(), 0.75));
    // Decision accuracy: labels r0 math (ok), r1 math (ok), r3 math (predicted none).
    let d = r.decision_accuracy.as_ref().unwrap();
    assert_eq!((d.n, d.correct), (3, 2));
    assert!(close(d.macro_f1, 0.4));
    assert_eq!(d.labels, vec!["(none)", "math"]);
    assert_eq!(d.matrix, vec![vec![0, 0], vec![1, 2]]);
    assert!(
        r.signal_accuracy.is_none(),
        "no domain signal in the config"
    );
    // Breakdowns: per category and per model.
    let chat = &r.per_category[0];
    assert_eq!(
        (chat.key.as_str(), chat.requests, chat.mean_quality),
        ("chat", 2, Some(0.5))
    );
    assert!(close(chat.total_cost, 0.004));
    let big = r.per_model.iter().find(|m| m.key == "big").unwrap();
    assert_eq!((big.requests, big.share), (2, 0.5));
    assert!(r.router_overhead_us.p99 > 0.0);
    for f in [
        "report.json",
        "report.md",
        "report.html",
        "decisions.parquet",
    ] {
        assert!(dir.path().join("out").join(f).exists(), "{f}");
    }
    let back: eval::report::Report =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/report.json")).unwrap())
            .unwrap();
    assert_eq!(
        (back.policy.requests, back.policy.mean_quality),
        (4, Some(0.75))
    );
    assert!(close(back.policy.total_cost, r.policy.total_cost));
    assert_eq!(back.log.sha256.len(), 64);
    let html = std::fs::read_to_string(dir.path().join("out/report.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("<script") && !html.contains("http://cdn"));
}

#[test]
fn decisions_parquet_has_one_row_per_request() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "tiny.yaml", CONFIG);
    run_eval(&options(dir.path(), cfg, None)).unwrap();
    let f = std::fs::File::open(dir.path().join("out/decisions.parquet")).unwrap();
    let batches: Vec<_> = ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect();
    let b = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
    assert_eq!(b.num_rows(), 4);
    let ids = b.column_by_name("request_id").unwrap().as_string::<i32>();
    let models = b.column_by_name("model").unwrap().as_string::<i32>();
    let decisions = b.column_by_name("decision").unwrap().as_string::<i32>();
    assert_eq!(ids.value(0), "r0");
    assert_eq!((models.value(0), decisions.value(0)), ("big", "math"));
    assert_eq!(models.value(3), "small");
    assert!(decisions.is_null(3));
    let matched = b
        .column_by_name("matched_signals")
        .unwrap()
        .as_any()
        .downcast_ref::<ListArray>()
        .unwrap();
    let first = matched.value(0);
    assert_eq!(first.as_string::<i32>().value(0), "keyword:math_kw");
    let cost = b
        .column_by_name("cost")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    assert!(close(cost.value(0), 0.02) && close(cost.value(2), 0.002));
    let quality = b
        .column_by_name("quality")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    assert_eq!(quality.value(0), 1.0);
}

#[test]
fn sweep_traces_the_cost_quality_curve() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "tiny.yaml", CONFIG);
    // long_ctx min_tokens 0: every request is "long" -> big; 100000: only keyword matches -> big.
    let spec: SweepSpec = "routing.signals.context[long_ctx].min_tokens=0:100000:2"
        .parse()
        .unwrap();
    let out = run_eval(&options(dir.path(), cfg, Some(spec))).unwrap();
    let sw = out.report.sweep.as_ref().unwrap();
    assert_eq!(sw.points.len(), 2);
    let (p0, p1) = (&sw.points[0], &sw.points[1]);
    assert!(
        close(p0.cost_per_1k, 20.0) && p0.mean_quality == Some(1.0) && p0.strong_share == Some(1.0)
    );
    assert!(close(p1.cost_per_1k, 11.0) && p1.mean_quality == Some(0.75));
    assert!(close(p1.pgr.unwrap(), 0.5));
    // Curve (0,0) (0.5,0.5) (1,1) with the measured (1,1): APGR 0.5.
    assert!(close(out.report.curves.apgr.unwrap(), 0.5));
}

#[test]
fn config_model_without_outcome_column_is_an_error_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = CONFIG.replace(
        "  models:\n",
        "  models:\n    - name: ghost\n      pricing: {prompt_per_1m: 1, completion_per_1m: 1}\n",
    );
    let cfg = cfg.replace(
        "        - model: big\n    - name: long",
        "        - model: ghost\n    - name: long",
    );
    let cfg = write(dir.path(), "ghost.yaml", &cfg);
    let mut opts = options(dir.path(), cfg, None);
    let err = run_eval(&opts).unwrap_err();
    assert!(
        matches!(&err, EvalError::UnscoredModels { models, .. } if models == &vec!["ghost".to_string()]),
        "{err}"
    );
    assert!(err.to_string().contains("--allow-unscored"));
    opts.allow_unscored = true;
    let r = run_eval(&opts).unwrap().report;
    // r0, r1 go to ghost (unscored); r2 = 1, r3 = 0 on small.
    assert_eq!(
        (r.policy.unscored, r.policy.scored, r.policy.mean_quality),
        (2, 2, Some(0.5))
    );
}

/// `--model` mappings are recorded in the report (JSON and markdown); none, none recorded.
#[test]
fn mapped_models_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "tiny.yaml", CONFIG);
    let mut opts = options(dir.path(), cfg, None);
    let models = tempfile::tempdir().unwrap();
    let map = format!("embedding={}", models.path().display());
    opts.model_maps = vec![map.parse().unwrap()];
    let out = run_eval(&opts).unwrap();
    assert_eq!(out.report.mapped_models, vec![map.clone()]);
    let md = std::fs::read_to_string(opts.out_dir.join("report.md")).unwrap();
    assert!(
        md.contains("models mapped with `--model`") && md.contains(&map),
        "{md}"
    );
    opts.model_maps.clear();
    let out = run_eval(&opts).unwrap();
    let json = serde_json::to_value(&out.report).unwrap();
    assert!(json.get("mapped_models").is_none());
}

/// A `latency_aware` decision reads the log's latencies (TPOT = latency over completion
/// tokens: small 1000/500 = 2 ms, big 500/500 = 1 ms, against profiles of 10 and 20 ms), and a
/// looper decision routes to its first modelRef and is counted as not replayable.
#[test]
fn latency_aware_reads_the_log_and_loopers_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let config = CONFIG
        .replace(
            "      modelRefs:\n        - model: big\n    - name: long",
            "      modelRefs: [{model: small}, {model: big}]\n      algorithm: {type: remom, remom: {breadth_schedule: [2]}}\n    - name: long",
        )
        .replace(
            "          - type: context\n            name: long_ctx\n      modelRefs:\n        - model: big",
            "          - type: context\n            name: long_ctx\n      modelRefs:\n        - model: big\n    - name: fast\n      rules: {operator: AND}\n      modelRefs: [{model: small}, {model: big}]\n      algorithm: {type: latency_aware, latency_aware: {tpot_percentile: 50}}",
        );
    let cfg = write(dir.path(), "lat.yaml", &config);
    let mut opts = options(dir.path(), cfg, None);
    let n = |v: f64| f64s(&[Some(v); 3]);
    let tokens = i64s(&[Some(500); 3]);
    write_parquet(
        &opts.log,
        vec![
            ("request_id", strs(&[Some("a"), Some("b"), Some("c")])),
            (
                "prompt",
                strs(&[
                    Some("compute the integral"),
                    Some("hello"),
                    Some("hi there"),
                ]),
            ),
            ("small|quality", n(0.5)),
            ("small|output_tokens", tokens.clone()),
            ("small|latency_ms", n(1000.0)),
            ("big|quality", n(1.0)),
            ("big|output_tokens", tokens),
            ("big|latency_ms", n(500.0)),
        ],
    );
    opts.out_dir = dir.path().join("lat-out");
    let r = run_eval(&opts).unwrap().report;
    let calls = |model: &str| {
        r.per_model
            .iter()
            .find(|m| m.key == model)
            .map(|m| m.requests)
    };
    assert_eq!(
        (calls("small"), calls("big")),
        (Some(1), Some(2)),
        "{:?}",
        r.per_model
    );
    assert_eq!(r.not_replayable.len(), 1, "{:?}", r.not_replayable);
    let n = &r.not_replayable[0];
    assert_eq!(
        (n.decision.as_str(), n.algorithm.as_str(), n.requests),
        ("math", "remom", 1)
    );
    let md = std::fs::read_to_string(opts.out_dir.join("report.md")).unwrap();
    assert!(
        md.contains("## Not replayable") && md.contains("| math | remom | 1 |"),
        "{md}"
    );
}

/// `--recipe`: every request routes with that recipe of a multi-recipe config; an unknown
/// recipe is an error naming the recipes there are.
#[test]
fn a_recipe_of_a_multi_recipe_config_replays() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../configs/recipes-example/config.yaml");
    let mut opts = options(dir.path(), cfg, None);
    let q = |v: f64| f64s(&[Some(v); 2]);
    write_parquet(
        &opts.log,
        vec![
            ("request_id", strs(&[Some("a"), Some("b")])),
            (
                "prompt",
                strs(&[Some("my ssn is 123"), Some("please prove it")]),
            ),
            ("small-model|quality", q(0.5)),
            ("large-model|quality", q(1.0)),
            ("private-model|quality", q(0.8)),
        ],
    );
    opts.recipe = Some("private".into());
    let r = run_eval(&opts).unwrap().report;
    let calls = |model: &str| {
        r.per_model
            .iter()
            .find(|m| m.key == model)
            .map(|m| m.requests)
    };
    // ssn → sensitive_local (private-model); `prove` is balanced's keyword: the default model.
    assert_eq!(
        (
            calls("private-model"),
            calls("small-model"),
            calls("large-model")
        ),
        (Some(1), Some(1), None)
    );
    assert_eq!(r.recipe.as_deref(), Some("private"));
    opts.recipe = Some("balanced".into());
    opts.out_dir = dir.path().join("balanced");
    let r = run_eval(&opts).unwrap().report;
    assert_eq!(
        r.per_model
            .iter()
            .find(|m| m.key == "large-model")
            .map(|m| m.requests),
        Some(1)
    );
    opts.recipe = Some("vault".into());
    let err = run_eval(&opts).unwrap_err().to_string();
    assert!(
        err.contains("no recipe \"vault\" (recipes: default, balanced, private)"),
        "{err}"
    );
}
