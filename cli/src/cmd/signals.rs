//! `routelab signals`: the signal store of a request log.

use std::path::PathBuf;

use eval::signal_store::{compute, ComputeOptions};

use super::eval::CostArgs;

/// Subcommands of `routelab signals`.
#[derive(clap::Subcommand)]
pub enum SignalsCommand {
    /// Run the config's model-based signals on every request of a log that the store lacks
    /// (kept in parts of `--part-rows` outputs, so a killed run resumes where it stopped).
    Compute {
        /// Decision config whose model signals are computed.
        #[arg(long, short)]
        config: PathBuf,
        /// Request log (a Parquet file, or a folder of them).
        #[arg(long, short)]
        log: PathBuf,
        /// Store folder (default `$ROUTELAB_CACHE/signals`).
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// New outputs per part file: what a killed run can lose at most.
        #[arg(long, default_value_t = eval::signal_store::FLUSH_ROWS)]
        part_rows: usize,
        #[command(flatten)]
        cost: CostArgs,
        #[command(flatten)]
        models: super::ModelArgs,
    },
}

/// Runs `routelab signals`.
pub fn run(cmd: SignalsCommand) -> anyhow::Result<()> {
    let SignalsCommand::Compute {
        config,
        log,
        out,
        part_rows,
        cost,
        models,
    } = cmd;
    let store = out.unwrap_or_else(|| router_core::paths::cache_root().join("signals"));
    let start = std::time::Instant::now();
    let (rows, used) = compute(&ComputeOptions {
        config: &config,
        model_maps: &models.all(),
        log: &log,
        store: &store,
        replay: &cost.replay_options(),
        part_rows,
    })?;
    println!(
        "{rows} requests in {:.1} s; store {}",
        start.elapsed().as_secs_f64(),
        used.dir
    );
    for (name, m) in &used.models {
        println!(
            "  {name} ({} {}): {} stored before, {} read, {} computed",
            m.kind, m.dir, m.stored, m.read, m.computed
        );
    }
    if used.models.is_empty() {
        println!("  the config uses no model-based signal: nothing to store");
    }
    Ok(())
}
