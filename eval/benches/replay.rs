//! Replay throughput on synthetic request logs (generated here, never checked in).
//!
//! `cargo bench -p eval --bench replay` (sizes via `REPLAY_BENCH_ROWS=100000,1000000`).
//! For each size: write a 2-model log (RouteLLM MMLU model names, 0/1 quality, ~250-char
//! prompts), time a decode-only pass, then a full replay through router-core with the
//! rule-only config `eval/tests/fixtures/mmlu-keywords.yaml`, and print rows/s plus the
//! process's peak RSS (VmHWM) so far.

use std::path::{Path, PathBuf};
use std::time::Instant;

use eval::log_schema::{LogRow, ModelField, ModelOutcome};
use eval::log_writer::RequestLogWriter;
use eval::replay::{decode_only, replay, LogModels, Policy, ReplayOptions};
use eval::stats::SplitMix64;

const MODELS: [&str; 2] = ["mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"];
const WORDS: [&str; 16] = [
    "history",
    "integral",
    "market",
    "protein",
    "contract",
    "velocity",
    "poem",
    "election",
    "enzyme",
    "theorem",
    "river",
    "budget",
    "algorithm",
    "court",
    "planet",
    "melody",
];

fn generate(path: &Path, rows: u64) {
    let models: Vec<String> = MODELS.iter().map(|m| m.to_string()).collect();
    let mut w =
        RequestLogWriter::create(path, &models, &[ModelField::Quality], false).expect("create log");
    let mut rng = SplitMix64::new(7);
    for i in 0..rows {
        let mut prompt = format!("Question {i}: consider the following about");
        for _ in 0..(20 + rng.below(30)) {
            prompt.push(' ');
            prompt.push_str(WORDS[rng.below(WORDS.len())]);
        }
        prompt.push_str(". Which answer is correct?\nA. one\nB. two\nC. three\nD. four\nAnswer:");
        let weak = rng.unit() < 0.68;
        let strong = weak || rng.unit() < 0.6;
        w.push(LogRow {
            request_id: format!("syn-{i}"),
            prompt: Some(prompt),
            category: Some(WORDS[(i % 16) as usize].into()),
            outcomes: vec![
                ModelOutcome {
                    quality: Some(f64::from(u8::from(weak))),
                    ..Default::default()
                },
                ModelOutcome {
                    quality: Some(f64::from(u8::from(strong))),
                    ..Default::default()
                },
            ],
            ..Default::default()
        })
        .expect("push row");
    }
    w.finish().expect("finish log");
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let sizes: Vec<u64> = std::env::var("REPLAY_BENCH_ROWS")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let config =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mmlu-keywords.yaml");
    let dir = std::env::temp_dir().join(format!("routelab-replay-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    println!("| rows | log MiB | decode-only rows/s | replay rows/s | decode s | route s | replay wall s | peak RSS MiB |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for rows in sizes {
        let log = dir.join(format!("synthetic-{rows}.parquet"));
        generate(&log, rows);
        let mib = std::fs::metadata(&log)
            .map(|m| m.len() as f64 / 1048576.0)
            .unwrap_or(0.0);
        let (n, decode) = decode_only(&log, eval::log_reader::DEFAULT_BATCH_SIZE).expect("decode");
        let models = LogModels::of(&log).expect("log models");
        let policy = Policy::load(&config, &models, &log, false).expect("policy");
        let t = Instant::now();
        let data = replay(
            &log,
            &[&policy],
            &ReplayOptions::default(),
            &mut |_, _, _| Ok(()),
        )
        .expect("replay");
        let wall = t.elapsed().as_secs_f64();
        assert_eq!(data.len() as u64, n);
        println!(
            "| {rows} | {mib:.1} | {:.0} | {:.0} | {:.3} | {:.3} | {wall:.3} | {:.0} |",
            n as f64 / decode.as_secs_f64(),
            n as f64 / wall,
            data.decode_time.as_secs_f64(),
            data.route_time[0].as_secs_f64(),
            peak_rss_mib()
        );
        let _ = std::fs::remove_file(&log);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
