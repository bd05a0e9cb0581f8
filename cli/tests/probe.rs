//! `routelab probe` as a user runs it: exit 0 when the file's acceptance holds, 1 when it does
//! not, 2 on bad input; JUnit and JSON written when asked.

use std::path::{Path, PathBuf};
use std::process::Command;

fn recipe(name: &str, file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../configs/vllm-sr/recipes")
        .join(name)
        .join(file)
}

fn probe(config: &Path, probes: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_routelab"))
        .arg("probe")
        .arg("--config")
        .arg(config)
        .arg(probes)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn exit_codes_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("probes.xml");
    let json = dir.path().join("probes.json");
    let config = recipe("knowledge", "config.yaml");
    let probes = recipe("knowledge", "probes.yaml");
    let (code, stdout, _) = probe(
        &config,
        &probes,
        &[
            "--subset",
            "rule-decided",
            "--junit",
            junit.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("9 of 15 in the file ran; passed 9/9 (100%)"),
        "{stdout}"
    );
    assert!(stdout.contains("acceptance: passed"));
    assert!(std::fs::read_to_string(&junit)
        .unwrap()
        .contains("<testsuites name=\"knowledge\" tests=\"9\" failures=\"0\">"));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["rule_decided"]["passed"], 9);

    // A probe expecting another decision fails the acceptance: exit 1, with the failure shown.
    let text = std::fs::read_to_string(&probes).unwrap();
    let wrong = dir.path().join("wrong.yaml");
    std::fs::write(
        &wrong,
        text.replacen(
            "expected_decision: keep_7b",
            "expected_decision: escalate_72b",
            1,
        ),
    )
    .unwrap();
    let (code, stdout, _) = probe(&config, &wrong, &["--subset", "rule-decided"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("FAIL keep_7b:health"), "{stdout}");
    assert!(stdout.contains("acceptance: FAILED"));

    // Bad input: exit 2 with the file named.
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "schema_version: v1\nname: [\n").unwrap();
    let (code, _, stderr) = probe(&config, &broken, &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("broken.yaml"), "{stderr}");
    // Knowledge's kb rules embed with a model the recipe does not name: a clear error with the
    // mapping hint (eval's probes tests run it with MiniLM mapped).
    let (code, _, stderr) = probe(&config, &probes, &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--model embedding=DIR"), "{stderr}");
    // Privacy's projections read jailbreak, pii and embedding signals: a clear error, not a
    // run on half the signals.
    let privacy = recipe("privacy", "config.yaml");
    let (code, _, stderr) = probe(&privacy, &recipe("privacy", "probes.yaml"), &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--subset rule-decided"), "{stderr}");
}

/// `--model REF=DIR` reaches the router: a config whose embedding signal names no model fails
/// with the hint, and routes once the family is mapped to the real MiniLM.
#[test]
fn model_maps_reach_the_router() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.yaml");
    std::fs::write(
        &config,
        "providers: {defaults: {default_model: m}, models: [{name: m}, {name: n}]}
routing:
  signals:
    embeddings: [{name: billing, threshold: 0.5, candidates: [I was charged twice for my invoice]}]
  decisions:
    - {name: billing, rules: {type: embedding, name: billing}, modelRefs: [{model: n}]}
",
    )
    .unwrap();
    let route = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_routelab"))
            .args(["route", "--json", "--config"])
            .arg(&config)
            .args(["--prompt", "My invoice shows a double charge"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = route(&[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--model embedding=DIR"), "{stderr}");
    let minilm = router_core::paths::default_model_dir();
    let out = route(&["--model", &format!("embedding={}", minilm.display())]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["decision"], "billing");
}
