//! `routelab compare`: offline A/B of two decision configs on the same request log.

use std::path::PathBuf;

use eval::compare::{run_compare, CompareOptions};
use eval::evaluate::utc_now;

use super::eval::CostArgs;

/// Arguments of `routelab compare`.
#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Config A (baseline).
    pub a: PathBuf,
    /// Config B (candidate).
    pub b: PathBuf,
    /// Request log (Parquet, request-log/v1).
    #[arg(
        short = 'l',
        long = "log",
        visible_alias = "log-file",
        value_name = "PARQUET"
    )]
    pub log_file: PathBuf,
    /// Output directory (default `reports/compare-<A>-vs-<B>-<timestamp>`).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// Bootstrap resamples.
    #[arg(long, default_value_t = 2000)]
    pub resamples: usize,
    /// Bootstrap seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Flipped requests listed per direction.
    #[arg(long, default_value_t = 20)]
    pub examples: usize,
    #[command(flatten)]
    pub cost: CostArgs,
    #[command(flatten)]
    pub models: super::ModelArgs,
    #[command(flatten)]
    pub store: super::StoreArgs,
}

fn stem(p: &std::path::Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Runs `routelab compare`.
pub fn run(args: CompareArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.resamples >= 1, "--resamples must be at least 1");
    let out_dir = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("reports").join(format!(
            "compare-{}-vs-{}-{}",
            stem(&args.a),
            stem(&args.b),
            utc_now().1
        ))
    });
    let opts = CompareOptions {
        config_a: args.a,
        config_b: args.b,
        log: args.log_file,
        out_dir: out_dir.clone(),
        replay: args.cost.replay_options(),
        allow_unscored: args.cost.allow_unscored,
        resamples: args.resamples,
        seed: args.seed,
        max_examples: args.examples,
        model_maps: args.models.all(),
        signal_store: args.store.dir(),
    };
    let r = run_compare(&opts)?;
    let fmt_ci = |c: &Option<eval::bootstrap::BootstrapCi>, k: f64| match c {
        Some(c) => format!("{:+.4} [{:+.4}, {:+.4}]", c.mean * k, c.lo * k, c.hi * k),
        None => "n/a".into(),
    };
    println!("quality B-A: {}", fmt_ci(&r.quality_diff, 1.0));
    println!(
        "cost B-A per 1k requests (USD): {}",
        fmt_ci(&r.cost_diff, 1000.0)
    );
    println!(
        "McNemar ({}): A-only {}, B-only {}, p = {:.4}",
        r.mcnemar.method, r.mcnemar.only_a, r.mcnemar.only_b, r.mcnemar.p_value
    );
    super::eval::print_store_use(r.signal_store.as_ref());
    println!("wrote {}/compare.json and compare.md", out_dir.display());
    Ok(())
}
