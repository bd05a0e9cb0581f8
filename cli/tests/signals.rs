//! `routelab signals compute` resumes after kill -9: the parts written before the kill are
//! kept, the rerun computes only the rest, and a replay afterwards reads every output.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, Float64Array, StringArray};
use std::sync::Arc;

mod common;

const N: usize = 240;

fn write_log(path: &Path) {
    let ids: Vec<String> = (0..N).map(|i| format!("r{i}")).collect();
    let prompts: Vec<String> = (0..N)
        .map(|i| {
            format!("question number {i}: how do I compute the integral of x to the power {i}?")
        })
        .collect();
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("request_id", Arc::new(StringArray::from(ids))),
        ("prompt", Arc::new(StringArray::from(prompts))),
        ("small|quality", Arc::new(Float64Array::from(vec![1.0; N]))),
        ("big|quality", Arc::new(Float64Array::from(vec![1.0; N]))),
    ];
    common::write_parquet(path, cols);
}

/// Completed parts: `<store>/<model>/<log sha256>/part-*.parquet`.
fn parts(store: &Path) -> usize {
    let subdirs = |d: &Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(d)
            .map(|r| r.filter_map(|e| Some(e.ok()?.path())).collect())
            .unwrap_or_default()
    };
    subdirs(store)
        .iter()
        .flat_map(|m| subdirs(m))
        .flat_map(|l| subdirs(&l))
        .filter(|f| {
            f.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("part-"))
        })
        .count()
}

fn compute(config: &Path, log: &Path, store: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_routelab"));
    c.args([
        "signals",
        "compute",
        "--no-progress",
        "--router-batch",
        "8",
        "--part-rows",
        "16",
        "--config",
    ])
    .arg(config)
    .arg("--log")
    .arg(log)
    .arg("--out")
    .arg(store);
    c
}

#[test]
fn compute_resumes_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.parquet");
    write_log(&log);
    let config = dir.path().join("c.yaml");
    std::fs::write(
        &config,
        format!(
            "providers: {{defaults: {{default_model: small}}, models: [{{name: small}}, {{name: big}}]}}
global: {{model_catalog: {{embeddings: {{semantic: {{bert_model_path: \"{}\"}}}}}}}}
routing:
  signals:
    embeddings: [{{name: math, threshold: 0.5, candidates: [integrals and derivatives]}}]
  decisions:
    - {{name: math, rules: {{type: embedding, name: math}}, modelRefs: [{{model: big}}]}}
",
            router_core::paths::default_model_dir().display()
        ),
    )
    .unwrap();
    let store = dir.path().join("signals");
    let mut child = compute(&config, &log, &store).spawn().unwrap();
    let start = Instant::now();
    while parts(&store) < 2 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "compute finished before it could be killed"
        );
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no part written"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGKILL: no destructor, no flush.
    child.kill().unwrap();
    child.wait().unwrap();
    let kept = parts(&store);
    let out = compute(&config, &log, &store).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    // "<n> stored before, <r> read, <c> computed": what was kept is not computed again.
    let line = stdout
        .lines()
        .find(|l| l.contains("stored before"))
        .unwrap();
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse().ok())
        .collect();
    let (stored, read, computed) = (
        nums[nums.len() - 3],
        nums[nums.len() - 2],
        nums[nums.len() - 1],
    );
    assert!(
        stored >= 16 * kept as u64 - 16 && stored > 0,
        "{line} ({kept} parts)"
    );
    assert_eq!(read, stored, "{line}");
    assert_eq!(stored + computed, N as u64, "{line}");
    // A third run reads everything.
    let out = compute(&config, &log, &store).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("{N} stored before, {N} read, 0 computed")),
        "{stdout}"
    );
}
