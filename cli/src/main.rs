//! `routelab`: train routing signal models, replay request logs through a routing policy,
//! compare and gate policies in CI, and serve the router over an OpenAI-compatible API.

mod cmd;

use clap::{Parser, Subcommand};

/// Semantic routing lab for LLM requests.
#[derive(Parser)]
#[command(name = "routelab", version, about, long_about = None)]
struct Cli {
    /// Log filter (e.g. `info`, `routelab=debug`); overrides RUST_LOG.
    #[arg(long, global = true, value_name = "FILTER")]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Route one prompt through a decision config and print the decision and its trace.
    Route(cmd::route::RouteArgs),
    /// Work with decision configs (validate them).
    #[command(subcommand)]
    Config(cmd::config::ConfigCommand),
    /// Build the signal training sets and replayable request logs from their sources.
    #[command(subcommand)]
    Datasets(cmd::datasets::DatasetsCommand),
    /// Fine-tune a LoRA adapter on a BERT encoder and export it (safetensors, HF layout), or
    /// train a model selector from a request log (`--task selection`).
    Train(cmd::train::TrainArgs),
    /// Replay a Parquet request log through a decision config and score it.
    Eval(cmd::eval::EvalArgs),
    /// Set a learned selection's threshold or cost weight for a target share, cost or quality
    /// on a log, and write it into the config with its provenance.
    Calibrate(cmd::calibrate::CalibrateArgs),
    /// Compute the model-based signals of a request log once, into the signal store.
    #[command(subcommand)]
    Signals(cmd::signals::SignalsCommand),
    /// Offline A/B of two decision configs on the same request log, with paired statistics.
    Compare(cmd::compare::CompareArgs),
    /// CI regression gate: check a report against thresholds; exit 1 on regression.
    Gate(cmd::gate::GateArgs),
    /// Run a probes file of vLLM Semantic Router's schema v1 through the router as a
    /// conformance suite; exit 1 when its acceptance fails, 2 on bad input.
    Probe(cmd::probe::ProbeArgs),
    /// Serve the router over an OpenAI-compatible HTTP API, proxying to upstream models.
    Serve(cmd::serve::ServeArgs),
    /// A stand-in OpenAI-compatible model server that says what it was sent (for
    /// `serve --upstream` dry runs and load tests).
    MockUpstream(cmd::mock_upstream::MockUpstreamArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing(cli.log_level.as_deref());
    match cli.command {
        Command::Route(args) => cmd::route::run(args),
        Command::Config(args) => cmd::config::run(args),
        Command::Datasets(args) => cmd::datasets::run(args),
        Command::Train(args) => cmd::train::run(args),
        Command::Eval(args) => cmd::eval::run(args),
        Command::Calibrate(args) => cmd::calibrate::run(args),
        Command::Compare(args) => cmd::compare::run(args),
        Command::Signals(args) => cmd::signals::run(args),
        Command::Gate(args) => cmd::gate::run(args),
        Command::Probe(args) => cmd::probe::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::MockUpstream(args) => cmd::mock_upstream::run(args),
    }
}

/// Logs go to stderr so that stdout stays machine-readable (`--json`); colour codes only when
/// stderr is a terminal (a log file or a CI log gets plain text).
fn init_tracing(filter: Option<&str>) {
    use std::io::IsTerminal as _;
    let filter = match filter {
        Some(f) => tracing_subscriber::EnvFilter::new(f),
        None => tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
