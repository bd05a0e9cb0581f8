//! Replay throughput on synthetic request logs (generated here, never checked in).
//!
//! `cargo bench -p eval --bench replay` (sizes via `REPLAY_BENCH_ROWS=100000,1000000`).
//! For each size: write a 2-model log (RouteLLM MMLU model names, 0/1 quality, ~370-byte
//! prompts), time a decode-only pass (one thread: Parquet pages to checked Arrow batches), then a
//! full replay through router-core with the rule-only config
//! `eval/tests/fixtures/mmlu-keywords.yaml`, and print rows/s, the CPU time per row of each
//! (process user + system time, all threads), the time spent in the router per row, and the
//! process's peak RSS (VmHWM) so far. Replay CPU / decode CPU is the number of cores at which
//! the replay becomes limited by decoding (the decoder is one thread; routing runs on all the
//! others). With `REPLAY_BENCH_DIR=<dir>` the logs are kept in `<dir>` and reused by later runs
//! (for profiling the replay without the generation).
//! With `REPLAY_BENCH_PROMPTS=<request log>` the prompts are that log's prompts, cycled (e.g.
//! the 2,111 real MMLU questions of `datasets/samples/routing_log.parquet`), instead of the
//! generated keyword-dense ones.

use router_core::inference::ModelRegistry;
use std::path::{Path, PathBuf};
use std::time::Instant;

use eval::log_reader::RequestLog;
use eval::replay::{decode_only, replay, LogModels, Policy, ReplayOptions};
use eval::stats::SplitMix64;

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

/// The prompts of a request log (for `REPLAY_BENCH_PROMPTS`).
fn prompts_of(path: &Path) -> Vec<String> {
    let prompts: Vec<String> = RequestLog::open(path, 8192)
        .expect("open prompt log")
        .flat_map(|batch| batch.expect("decode prompt log"))
        .map(|row| row.text().to_string())
        .collect();
    assert!(!prompts.is_empty(), "{} has no prompts", path.display());
    prompts
}

/// Writes a `rows`-row log: prompts cycled from `prompts`, or generated when `None`.
fn generate(path: &Path, rows: u64, prompts: Option<&[String]>) {
    let prompt = |i: u64, rng: &mut SplitMix64| match prompts {
        // The row number makes every prompt unique, as in a real log (no dictionary
        // encoding of repeated prompts).
        Some(p) => format!("#{i} {}", p[i as usize % p.len()]),
        None => generated_prompt(i, rng),
    };
    eval::synthetic::write_log(path, rows, prompt, |i| WORDS[(i % 16) as usize].into())
        .expect("write log");
}

/// A keyword-dense synthetic prompt (~250 characters, a quarter of its words are keywords of
/// the bench config).
fn generated_prompt(i: u64, rng: &mut SplitMix64) -> String {
    let mut prompt = format!("Question {i}: consider the following about");
    for _ in 0..(20 + rng.below(30)) {
        prompt.push(' ');
        prompt.push_str(WORDS[rng.below(WORDS.len())]);
    }
    prompt.push_str(". Which answer is correct?\nA. one\nB. two\nC. three\nD. four\nAnswer:");
    prompt
}

/// User + system CPU time of the whole process (all threads, finished ones included).
fn cpu_seconds() -> f64 {
    // SAFETY: `getrusage` only writes the zero-initialised struct it is given.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut u), 0, "getrusage");
        u
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
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
    let prompt_log = std::env::var_os("REPLAY_BENCH_PROMPTS").map(PathBuf::from);
    let prompts = prompt_log.as_deref().map(prompts_of);
    let keep = std::env::var_os("REPLAY_BENCH_DIR").map(PathBuf::from);
    let dir = keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("routelab-replay-bench-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).expect("temp dir");
    println!("| rows | prompt bytes (mean) | log MiB | decode-only rows/s | decode CPU µs/row | replay rows/s | replay CPU µs/row | router µs/row | replay CPU / decode CPU | peak RSS MiB |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for rows in sizes {
        // Kept logs are named after their prompt source, so another source never reuses them.
        let kind = match &prompt_log {
            Some(p) => format!(
                "cycled-{}",
                p.file_stem().unwrap_or_default().to_string_lossy()
            ),
            None => "synthetic".into(),
        };
        let log = dir.join(format!("{kind}-{rows}.parquet"));
        if keep.is_none() || !log.exists() {
            generate(&log, rows, prompts.as_deref());
        }
        let mib = std::fs::metadata(&log)
            .map(|m| m.len() as f64 / 1048576.0)
            .unwrap_or(0.0);
        let cpu0 = cpu_seconds();
        let (n, decode) = decode_only(&log, eval::log_reader::DEFAULT_BATCH_SIZE).expect("decode");
        let decode_cpu = cpu_seconds() - cpu0;
        let models = LogModels::of(&log).expect("log models");
        let policy = Policy::load(
            &config,
            &[],
            &ModelRegistry::default(),
            &models,
            &log,
            false,
            None,
        )
        .expect("policy");
        let mut prompt_bytes = 0usize;
        let cpu0 = cpu_seconds();
        let t = Instant::now();
        let data = replay(
            &log,
            &[&policy],
            &ReplayOptions::default(),
            &mut |_, row, _| {
                prompt_bytes += row.text().len();
                Ok(())
            },
        )
        .expect("replay");
        let wall = t.elapsed().as_secs_f64();
        let replay_cpu = cpu_seconds() - cpu0;
        assert_eq!(data.len() as u64, n);
        let per_row_us = |s: f64| s * 1e6 / n.max(1) as f64;
        println!(
            "| {rows} | {:.0} | {mib:.1} | {:.0} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} | {:.0} |",
            prompt_bytes as f64 / n.max(1) as f64,
            n as f64 / decode.as_secs_f64(),
            per_row_us(decode_cpu),
            n as f64 / wall,
            per_row_us(replay_cpu),
            per_row_us(data.route_time[0].as_secs_f64()),
            replay_cpu / decode_cpu,
            peak_rss_mib()
        );
        if keep.is_none() {
            let _ = std::fs::remove_file(&log);
        }
    }
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
