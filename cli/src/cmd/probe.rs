//! `routelab probe`: a probes file of the seed's schema v1 (`recipe-probes-v1.schema.json`) as a
//! conformance suite, routed through the same router as `serve`.

use std::path::PathBuf;

use anyhow::Context;
use eval::probe::manifest::Manifest;
use eval::probe::{self, Subset};
use router_core::config::LoadedConfig;
use router_core::engine::{Recipes, Router};
use router_core::inference::ModelRegistry;

/// Arguments of `routelab probe`.
#[derive(clap::Args)]
pub struct ProbeArgs {
    /// Decision config (YAML, vLLM Semantic Router v0.3 shape).
    #[arg(long)]
    pub config: PathBuf,
    /// Probes file (the seed's `probes.yaml`, schema v1).
    pub probes: PathBuf,
    /// Which probes run: `all`, or `rule-decided` (those the rule signals alone decide; the
    /// config's model signals are not loaded, and the file's acceptance applies to these).
    #[arg(long, value_enum, default_value = "all")]
    pub subset: SubsetArg,
    /// Also write the results as JUnit XML.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write the results as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub models: super::ModelArgs,
}

/// `--subset`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum SubsetArg {
    /// Every probe.
    All,
    /// Only rule-decided probes.
    RuleDecided,
}

/// Runs `routelab probe`: exits 0 when the file's acceptance holds, 1 when not, 2 on bad input.
pub fn run(args: ProbeArgs) -> anyhow::Result<()> {
    match probe_run(&args) {
        Ok(true) => Ok(()),
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2)
        }
    }
}

fn probe_run(args: &ProbeArgs) -> anyhow::Result<bool> {
    let manifest = Manifest::load(&args.probes)?;
    let mut loaded = LoadedConfig::from_file(&args.config)?;
    loaded.map_models(&args.models.all())?;
    let raw = probe::coverage::config_yaml(&args.config)?;
    let subset = match args.subset {
        SubsetArg::All => Subset::All,
        SubsetArg::RuleDecided => Subset::RuleDecided,
    };
    // A probe's model signals that embed the same text run the model once.
    let recent = std::sync::Arc::new(router_core::inference::RecentOutputs::default());
    let registry = ModelRegistry::default().with_output_store(recent);
    let recipes = Recipes::build(&loaded, |recipe| match subset {
        // The probes that run do not depend on the model signals: leave them out.
        Subset::RuleDecided => Router::with_signals(recipe, Vec::new()),
        Subset::All => Router::new(recipe, &registry),
    })
    .with_context(|| {
        format!(
            "cannot build a router from {} (configure its models under global.model_catalog, or run only the probes rule signals decide: --subset rule-decided)",
            args.config.display()
        )
    })?;
    let run = probe::run(&loaded, &raw, &recipes, &manifest, subset);
    print!("{}", probe::render(&run));
    if let Some(path) = &args.junit {
        eval::atomic::write_atomic(path, probe::junit::render(&run).as_bytes())?;
    }
    if let Some(path) = &args.json {
        eval::atomic::write_atomic(path, &serde_json::to_vec_pretty(&run)?)?;
    }
    Ok(run.passed())
}
