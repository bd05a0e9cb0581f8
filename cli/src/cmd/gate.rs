//! `routelab gate`: CI regression gate. Exit 0 when every threshold passes, 1 when any fails,
//! 2 on bad input (unreadable report, baseline or thresholds).

use std::path::PathBuf;

use eval::atomic::write_atomic;
use eval::gate::{evaluate, junit_xml, load_report, markdown_summary, Thresholds};

/// Arguments of `routelab gate`.
#[derive(clap::Args, Debug)]
pub struct GateArgs {
    /// The new `report.json`.
    #[arg(long)]
    pub report: PathBuf,
    /// The baseline `report.json` (needed by relative thresholds).
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Thresholds YAML (see configs/gate.yaml).
    #[arg(long)]
    pub thresholds: PathBuf,
    /// Write JUnit XML here (one testcase per check).
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Write a markdown summary here (e.g. `$GITHUB_STEP_SUMMARY`).
    #[arg(long)]
    pub summary: Option<PathBuf>,
}

fn gate(args: &GateArgs) -> anyhow::Result<bool> {
    let report = load_report(&args.report)?;
    let baseline = args.baseline.as_deref().map(load_report).transpose()?;
    let thresholds = Thresholds::load(&args.thresholds)?;
    let result = evaluate(&report, baseline.as_ref(), &thresholds)?;
    if let Some(p) = &args.junit {
        write_atomic(p, junit_xml(&result, "routelab gate").as_bytes())?;
    }
    let summary = markdown_summary(
        &result,
        &report,
        &args.report.display().to_string(),
        args.baseline
            .as_ref()
            .map(|b| b.display().to_string())
            .as_deref(),
    );
    if let Some(p) = &args.summary {
        write_atomic(p, summary.as_bytes())?;
    }
    for c in &result.checks {
        println!(
            "{} {}: {}",
            if c.passed { "PASS" } else { "FAIL" },
            c.name,
            c.message
        );
    }
    Ok(result.passed())
}

/// Runs `routelab gate` (exits the process with 1 on failed checks, 2 on bad input).
pub fn run(args: GateArgs) -> anyhow::Result<()> {
    match gate(&args) {
        Ok(true) => Ok(()),
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2)
        }
    }
}
