//! The seed's maintained recipes' probes through `eval::probe`, with their model signals absent:
//! the probes the rule signals settle all pass, the ids of those probes are the ones checked by
//! hand below, and the static coverage equals what the seed's `collect_coverage`
//! (`tools/agent/scripts/recipe_conformance_coverage.py`) computes for these files.

use std::path::{Path, PathBuf};

use eval::probe::manifest::Manifest;
use eval::probe::{self, ProbeResult, ProbeRun, Subset};
use router_core::config::LoadedConfig;
use router_core::engine::{Recipes, Router};

fn recipe(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../configs/vllm-sr/recipes")
        .join(name)
}

fn run(name: &str, subset: Subset) -> ProbeRun {
    let dir = recipe(name);
    let loaded = LoadedConfig::from_file(dir.join("config.yaml")).unwrap();
    let raw = probe::coverage::config_yaml(&dir.join("config.yaml")).unwrap();
    let manifest = Manifest::load(&dir.join("probes.yaml")).unwrap();
    let recipes = Recipes::build(&loaded, |l| Router::with_signals(l, Vec::new())).unwrap();
    probe::run(&loaded, &raw, &recipes, &manifest, subset)
}

fn ids(run: &ProbeRun) -> Vec<&str> {
    run.results.iter().map(|r| r.id.as_str()).collect()
}

/// Each list was checked against the recipe by hand, e.g. knowledge `keep_7b:health`: its
/// `local_domain_override` keyword ("blood cells") makes `escalate_72b`'s NOT surely false;
/// agent `local_privacy_policy:credentials`: `secret_markers` ("API key", 0.72) puts the privacy
/// score at or above 0.35 whatever the pii and embedding inputs add, and the security score has
/// only keyword inputs, none of which match.
#[test]
fn rule_decided_probes_of_the_four_recipes_all_pass() {
    let expected: [(&str, &[&str]); 4] = [
        (
            "knowledge",
            &[
                "escalate_72b:business",
                "escalate_72b:computing",
                "escalate_72b:mathematics",
                "escalate_72b:psychology",
                "escalate_72b:ambiguous_keyword_override",
                "keep_7b:engineering",
                "keep_7b:health",
                "keep_7b:law",
                "keep_7b:physics",
            ],
        ),
        (
            "privacy",
            &[
                "local_security_containment:reveal_system_prompt",
                "local_security_containment:fenced_override_blob",
                "local_security_containment:debug_dump_tokens",
                "local_security_containment:cn_prompt_leak",
                "local_security_containment:security_over_privacy_with_tools",
            ],
        ),
        (
            "agent",
            &[
                "local_security_containment:prompt_injection",
                "local_security_containment:jailbreak_zh",
                "local_security_containment:security_over_specialist_domain",
                "local_privacy_policy:credentials",
                "local_privacy_policy:proprietary_code",
                "local_privacy_policy:pii_only_contact_record",
            ],
        ),
        // Every feedback decision reads reask / user_feedback / fact_check signals.
        ("feedback", &[]),
    ];
    for (name, want) in expected {
        let run = run(name, Subset::RuleDecided);
        assert_eq!(ids(&run), want, "{name}");
        for r in &run.results {
            assert!(r.passed, "{name} {}: {:?}", r.id, r.checks);
            assert!(r.rule_decided);
        }
        assert_eq!(run.passed(), !want.is_empty(), "{name}: {:?}", run.failures);
    }
}

#[test]
fn static_coverage_equals_the_seeds() {
    // (signals covered/configured, projections covered/configured), as the seed computes them.
    for (name, signals, projections) in [
        ("agent", (1, 58), (0, 10)),
        ("privacy", (7, 33), (2, 8)),
        ("feedback", (2, 20), (0, 4)),
        ("knowledge", (5, 18), (1, 2)),
    ] {
        let run = run(name, Subset::RuleDecided);
        let line = |what: &str| {
            let l = run.coverage.iter().find(|c| c.what == what).unwrap();
            (l.covered, l.configured)
        };
        assert_eq!(line("signals"), signals, "{name}");
        assert_eq!(line("projections"), projections, "{name}");
        // The files' minima are the seed's own figures: every line holds exactly.
        for c in &run.coverage {
            assert!(
                c.passed(),
                "{name} {}: {} < {}",
                c.what,
                c.percent,
                c.minimum
            );
        }
        assert!(
            run.coverage_problems.is_empty(),
            "{name}: {:?}",
            run.coverage_problems
        );
    }
    let k = run("knowledge", Subset::RuleDecided);
    let pct: Vec<f64> = k.coverage.iter().map(|c| c.percent).collect();
    assert_eq!(pct, vec![27.8, 50.0, 100.0, 100.0]);
}

#[test]
fn all_probes_without_models_report_the_model_dependent_ones_apart() {
    let run = run("knowledge", Subset::All);
    assert_eq!(run.overall.total, 15);
    assert_eq!((run.rule_decided.passed, run.rule_decided.total), (9, 9));
    assert_eq!(run.model_dependent.total, 6);
    // Without the kb signal (no embedding model given), the kb-label probes route to keep_7b:
    // they fail, and say why.
    let bio = run
        .results
        .iter()
        .find(|r| r.id == "escalate_72b:biology")
        .unwrap();
    assert!(!bio.passed && !bio.rule_decided);
    let decision = bio.checks.iter().find(|c| c.name == "decision").unwrap();
    assert_eq!(
        decision.detail,
        "expected \"escalate_72b\", routed to \"keep_7b\""
    );
    assert!(!run.passed());
    let xml = probe::junit::render(&run);
    assert!(
        xml.contains("<testsuite name=\"escalate_72b\" tests=\"10\""),
        "{xml}"
    );
    assert!(xml.contains("<testcase classname=\"escalate_72b\" name=\"biology\">"));
}

fn manifest_error(yaml: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probes.yaml");
    std::fs::write(&path, yaml).unwrap();
    Manifest::load(&path).unwrap_err().to_string()
}

const HEAD: &str = "schema_version: v1
name: t
routing_assets: {yaml: c.yaml, dsl: c.dsl}
coverage:
  min_signal_assertion_percent: 0
  min_projection_assertion_percent: 0
  min_algorithm_assertion_percent: 0
  min_plugin_assertion_percent: 0
  required_request_shapes: []
  min_tag_counts: {}
  min_tag_pass_rate: {}
";

#[test]
fn malformed_probes_files_are_refused_with_their_reason() {
    let e = manifest_error(&format!(
        "{HEAD}decisions:\n  - id: a\n    expected_decision: a\n    varients: []\n"
    ));
    assert!(
        e.contains("probes.yaml") && e.contains("unknown field `varients`"),
        "{e}"
    );
    let e = manifest_error(&format!(
        "{HEAD}decisions:\n  - id: a\n    expected_decision: a\n    variants:\n      - {{id: v, query: hi, messages: [{{role: user, content: hi}}]}}\n"
    ));
    assert!(e.contains("exactly one of query and messages"), "{e}");
    let e = manifest_error(&format!(
        "{HEAD}decisions:\n  - id: a\n    expected_decision: a\n    variants: &v\n      - {{id: v, query: hi}}\n  - id: b\n    expected_decision: b\n    variants: *v\n"
    ));
    assert!(e.contains("line 15: an anchor (&)"), "{e}");
    // Text that merely contains `&` or `*` is fine.
    let ok = format!(
        "{HEAD}decisions:\n  - id: a\n    expected_decision: a\n    variants:\n      - id: v\n        query: What is 5 * 3 & why?\n      - id: w\n        query: |\n          *bold* & !loud\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probes.yaml");
    std::fs::write(&path, ok).unwrap();
    assert_eq!(Manifest::load(&path).unwrap().probes().len(), 2);
}

/// The knowledge recipe with all-MiniLM-L6-v2 mapped as its embedding model: the kb rules read
/// the seed's default `mmlu_kb` (built in), and every probe passes, the six model-dependent
/// ones included (measured 2026-12-02; thresholds were calibrated for the seed's mmBERT, so
/// this is MiniLM's result, not a guarantee).
#[test]
fn the_knowledge_recipe_passes_with_minilm_mapped() {
    let dir = recipe("knowledge");
    let mut loaded = LoadedConfig::from_file(dir.join("config.yaml")).unwrap();
    let minilm = router_core::paths::default_model_dir();
    let map: router_core::config::ModelMap =
        format!("embedding={}", minilm.display()).parse().unwrap();
    loaded.map_models(&[map]).unwrap();
    let raw = probe::coverage::config_yaml(&dir.join("config.yaml")).unwrap();
    let manifest = Manifest::load(&dir.join("probes.yaml")).unwrap();
    let registry = router_core::inference::ModelRegistry::default();
    let recipes = Recipes::build(&loaded, |l| Router::new(l, &registry)).unwrap();
    let run = probe::run(&loaded, &raw, &recipes, &manifest, Subset::All);
    let failed: Vec<&str> = run
        .results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.id.as_str())
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(
        (run.model_dependent.passed, run.model_dependent.total),
        (6, 6)
    );
    assert!(run.passed());
}

/// The multi-recipe example: each probe goes to the recipe its `model` selects and passes;
/// a probe expecting another recipe than it routes with fails the `recipe` check.
#[test]
fn probes_route_with_the_recipe_their_model_selects() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/recipes-example");
    let loaded = LoadedConfig::from_file(dir.join("config.yaml")).unwrap();
    let raw = probe::coverage::config_yaml(&dir.join("config.yaml")).unwrap();
    let recipes = Recipes::build(&loaded, |l| Router::with_signals(l, Vec::new())).unwrap();
    let manifest = Manifest::load(&dir.join("probes.yaml")).unwrap();
    let run = probe::run(&loaded, &raw, &recipes, &manifest, Subset::All);
    assert_eq!(
        (run.results.len(), run.passed()),
        (6, true),
        "{}",
        probe::render(&run)
    );
    let text = std::fs::read_to_string(dir.join("probes.yaml"))
        .unwrap()
        .replace("    model: acme/private\n", "    model: acme/general\n");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("probes.yaml"), text).unwrap();
    let manifest = Manifest::load(&tmp.path().join("probes.yaml")).unwrap();
    let run = probe::run(&loaded, &raw, &recipes, &manifest, Subset::All);
    let failed: Vec<&ProbeResult> = run.results.iter().filter(|r| !r.passed).collect();
    assert_eq!(failed.len(), 2, "{}", probe::render(&run));
    let recipe_check = failed[0]
        .checks
        .iter()
        .find(|c| c.name == "recipe")
        .unwrap();
    assert!(!recipe_check.passed, "{recipe_check:?}");
}
