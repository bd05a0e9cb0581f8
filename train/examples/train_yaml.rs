//! Runs one training from a YAML config, like `routelab train --config <file>`, without the
//! CLI's other dependencies (handy for `--release` runs of the train crate alone).
//!
//! `cargo run --release -p train --example train_yaml -- train.yaml [--resume]`

use train::pipeline::{run, RunResult};
use train::trainer::RunOptions;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: train_yaml <config.yaml> [--resume]")?;
    let resume = args.any(|a| a == "--resume");
    let cfg = train::config::TrainConfig::from_yaml_file(std::path::Path::new(&path))?;
    let opts = RunOptions {
        resume,
        progress: true,
        ..RunOptions::default()
    };
    match run(&cfg, &opts)? {
        RunResult::Exported(r) => println!("{}", serde_json::to_string_pretty(&r)?),
        RunResult::Paused { steps } => println!("paused after {steps} steps"),
    }
    Ok(())
}
