//! `routelab eval`: replay a Parquet request log through a decision config and score it, or
//! import RouteLLM / RouterBench outcome files into a request log (`--import`).

use std::path::PathBuf;

use anyhow::Context;
use eval::evaluate::{default_run_name, run_eval, EvalOptions};
use eval::import::{import, Filter, ImportFormat};
use eval::replay::{decode_only, ReplayOptions};
use eval::report::CostSettings;
use eval::sweep::SweepSpec;

/// How costs and latencies are derived where the log has no value.
#[derive(clap::Args, Debug, Clone)]
pub struct CostArgs {
    /// Completion tokens assumed where `<model>|output_tokens` is null.
    #[arg(long, default_value_t = 256)]
    pub output_tokens: u64,
    /// Characters per token for estimating prompt tokens where `<model>|input_tokens` is null.
    #[arg(long, default_value_t = 4.0)]
    pub chars_per_token: f64,
    /// Reasoning mode: multiply completion tokens by this (computed cost/latency only).
    #[arg(long, default_value_t = 1.0)]
    pub reasoning_multiplier: f64,
    /// Reasoning mode: add this many completion tokens (computed cost/latency only).
    #[arg(long, default_value_t = 0)]
    pub reasoning_extra_tokens: u64,
    /// Rows decoded per Parquet record batch.
    #[arg(long, default_value_t = eval::log_reader::DEFAULT_BATCH_SIZE)]
    pub batch_size: usize,
    /// Requests routed together: model signals (domain, jailbreak, embedding) then run one
    /// batched forward pass per this many requests, which replays faster; the report's router
    /// overhead becomes each request's share of its batch's time. 1 routes one request at a
    /// time, exactly as `serve` does.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub router_batch: u64,
    /// Count requests routed to models without a quality column as unscored instead of failing.
    #[arg(long)]
    pub allow_unscored: bool,
    /// Hide the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

impl CostArgs {
    /// Replay options from the flags.
    pub fn replay_options(&self) -> ReplayOptions {
        ReplayOptions {
            batch_size: self.batch_size,
            cost: CostSettings {
                default_output_tokens: self.output_tokens,
                chars_per_token: self.chars_per_token,
                reasoning_multiplier: self.reasoning_multiplier,
                reasoning_extra_tokens: self.reasoning_extra_tokens,
            },
            progress: !self.no_progress,
            router_batch: self.router_batch as usize,
            store: None,
        }
    }
}

/// Arguments of `routelab eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Decision config (vLLM SR v0.3 YAML).
    #[arg(short, long)]
    pub config: Option<PathBuf>,
    /// Request log (Parquet, request-log/v1); with `--import`, the log to write.
    #[arg(
        short = 'l',
        long = "log",
        visible_alias = "log-file",
        value_name = "PARQUET"
    )]
    pub log_file: PathBuf,
    /// Import outcome files of this layout (`routellm`, `routerbench` or `mtbench`) into
    /// `--log` first.
    #[arg(long, value_name = "FORMAT")]
    pub import: Option<String>,
    /// Files or directories to import (with `--import`).
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub input: Vec<PathBuf>,
    /// With `--import`: drop the prompts this contaminated-prompts JSONL lists (RouteLLM's
    /// `contaminated_prompts.jsonl` format).
    #[arg(long, value_name = "JSONL")]
    pub drop_contaminated: Option<PathBuf>,
    /// Output directory (default `reports/<name>`).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// Run name (default: config file stem + UTC timestamp).
    #[arg(long)]
    pub name: Option<String>,
    /// Sweep a config value: `PARAM=start:end:steps`, e.g. `routing.decisions[math].priority=0:100:5`.
    #[arg(long)]
    pub sweep: Option<String>,
    /// Only decode the log and report rows/s (no routing), for benchmarking.
    #[arg(long)]
    pub decode_only: bool,
    /// Route every request with this recipe of a multi-recipe config (default: the top-level
    /// routing, the recipe `default`).
    #[arg(long, value_name = "NAME")]
    pub recipe: Option<String>,
    #[command(flatten)]
    pub cost: CostArgs,
    #[command(flatten)]
    pub models: super::ModelArgs,
    #[command(flatten)]
    pub store: super::StoreArgs,
}

/// Runs `routelab eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    if let Some(fmt) = &args.import {
        let format: ImportFormat = fmt.parse()?;
        anyhow::ensure!(
            !args.input.is_empty(),
            "--import needs --input files or directories"
        );
        let filter = Filter {
            contaminated: match &args.drop_contaminated {
                Some(p) => eval::import::contaminated::read(p)?,
                None => Default::default(),
            },
        };
        let s = import(format, &args.input, &args.log_file, &filter)?;
        eprintln!(
            "imported {} rows, models {:?} ({} null quality cells, {} contaminated rows dropped) into {}",
            s.rows,
            s.models,
            s.null_quality,
            s.contaminated,
            args.log_file.display()
        );
        for n in &s.not_imported {
            eprintln!("not imported: {n}");
        }
        if args.config.is_none() {
            return Ok(());
        }
    }
    if args.decode_only {
        let (rows, t) = decode_only(&args.log_file, args.cost.batch_size)?;
        println!(
            "decoded {rows} rows in {:.3} s ({:.0} rows/s)",
            t.as_secs_f64(),
            rows as f64 / t.as_secs_f64().max(1e-9)
        );
        return Ok(());
    }
    let config = args
        .config
        .context("--config is required (unless only importing or --decode-only)")?;
    let run_name = args.name.unwrap_or_else(|| default_run_name(&config));
    let out_dir = args
        .out
        .unwrap_or_else(|| PathBuf::from("reports").join(&run_name));
    let sweep = args
        .sweep
        .as_deref()
        .map(str::parse::<SweepSpec>)
        .transpose()?;
    let opts = EvalOptions {
        config,
        log: args.log_file,
        out_dir,
        run_name,
        replay: args.cost.replay_options(),
        allow_unscored: args.cost.allow_unscored,
        sweep,
        model_maps: args.models.all(),
        signal_store: args.store.dir(),
        recipe: args.recipe,
    };
    let out = run_eval(&opts)?;
    let r = &out.report;
    let s = &out.stats;
    println!(
        "{} requests: mean quality {}, cost/1k {:.4} USD, router p99 {:.1} us",
        r.requests,
        r.policy
            .mean_quality
            .map(|q| format!("{q:.4}"))
            .unwrap_or_else(|| "n/a".into()),
        r.policy.cost_per_1k,
        r.router_overhead_us.p99
    );
    if let Some(saved) = r.savings.vs_strongest {
        let direction = if saved >= 0.0 { "cheaper" } else { "dearer" };
        println!(
            "cost: {:.1}% {direction} than always-strongest",
            saved.abs() * 100.0
        );
    }
    for (what, c) in [
        ("domain signal", &r.signal_accuracy),
        ("decision", &r.decision_accuracy),
    ] {
        if let Some(c) = c {
            println!(
                "{what} accuracy {:.1}% ({} of {} labelled requests), macro-F1 {:.3}",
                c.accuracy * 100.0,
                c.correct,
                c.n,
                c.macro_f1
            );
        }
    }
    println!(
        "replay: {:.0} rows/s (wall {:.3} s, decode {:.3} s, route {:.3} s)",
        s.rows as f64 / s.wall.as_secs_f64().max(1e-9),
        s.wall.as_secs_f64(),
        s.decode.as_secs_f64(),
        s.route.as_secs_f64()
    );
    print_store_use(r.signal_store.as_ref());
    for f in &out.files {
        println!("wrote {}", f.display());
    }
    Ok(())
}

/// Prints, per model, how many outputs the run read from the signal store and computed.
pub fn print_store_use(store: Option<&eval::signal_store::StoreUse>) {
    let Some(store) = store else { return };
    for (name, m) in &store.models {
        println!(
            "signal store {}/{name}: {} model outputs read, {} computed",
            store.dir, m.read, m.computed
        );
    }
}
