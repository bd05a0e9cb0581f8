//! `routelab calibrate`: set a learned selection's `threshold` or `cost_weight` so that the
//! router reaches a target on a log, and write it into the config with its provenance.

use std::path::{Path, PathBuf};

use anyhow::Context;
use eval::calibrate::{calibrate, Calibrated, Row, Target};
use router_core::config::{Calibration, LoadedConfig};
use router_core::engine::Router;
use router_core::request::RouteRequest;
use router_core::selection::Rule;
use serde_norway::Value;

use super::selection_data::{read_log, LogData};
use eval::signal_store::SignalStore;

/// Arguments of `routelab calibrate`.
#[derive(clap::Args, Debug)]
pub struct CalibrateArgs {
    /// The routing config (a `routelab train --task selection` export's `routing.yaml`, or any
    /// config with a `knn`, `mlp` or `mf` decision).
    #[arg(long)]
    config: PathBuf,
    /// The log to calibrate on (never the test split you report on).
    #[arg(long)]
    log: PathBuf,
    /// `strong_share=X`, `cost_per_1k=X` (USD) or `quality=X`.
    #[arg(long)]
    target: Target,
    /// The decision to calibrate (default: the only one with a learned selection).
    #[arg(long)]
    decision: Option<String>,
    /// Write the calibrated config here (default: replace `--config`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Requests routed per batch.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    #[command(flatten)]
    models: super::ModelArgs,
    #[command(flatten)]
    store: super::StoreArgs,
}

/// The index of the decision to calibrate.
fn decision_index(router: &Router, name: Option<&str>) -> anyhow::Result<usize> {
    let decisions = &router.config().routing.decisions;
    let learned: Vec<usize> = (0..decisions.len())
        .filter(|&i| router.selection_candidates(i).is_some())
        .collect();
    match name {
        Some(n) => {
            let i = decisions
                .iter()
                .position(|d| d.name == n)
                .with_context(|| format!("--decision {n:?}: no such decision"))?;
            anyhow::ensure!(
                learned.contains(&i),
                "--decision {n:?} has no learned selection (algorithm knn, mlp or mf)"
            );
            Ok(i)
        }
        None => match learned[..] {
            [i] => Ok(i),
            [] => anyhow::bail!(
                "no decision of the config has a learned selection (algorithm knn, mlp or mf)"
            ),
            _ => anyhow::bail!(
                "{} decisions have a learned selection: name one with --decision",
                learned.len()
            ),
        },
    }
}

/// Routes every request of `data` and keeps, for those decision `d` won, its candidates'
/// predictions beside their logged outcomes.
fn rows_of(
    router: &Router,
    store: Option<&SignalStore>,
    d: usize,
    data: &LogData,
    batch: usize,
) -> anyhow::Result<Vec<Row>> {
    let refs = &router.config().routing.decisions[d].model_refs;
    let columns: Vec<usize> = refs
        .iter()
        .map(|r| {
            data.models
                .iter()
                .position(|m| *m == r.model)
                .with_context(|| {
                    format!(
                        "modelRef {:?} has no columns in the log (it has {:?})",
                        r.model, data.models
                    )
                })
        })
        .collect::<anyhow::Result<_>>()?;
    let mut out = Vec::new();
    data.for_chunks(store, batch, |chunk| {
        let requests: Vec<&RouteRequest> = data.requests[chunk.clone()].iter().collect();
        let rows = &data.rows[chunk];
        for (decided, row) in router.route_batch(&requests)?.into_iter().zip(rows) {
            let (Some(i), Some(sel)) = (decided.index, decided.selection) else {
                continue;
            };
            if i != d {
                continue;
            }
            let outcome = |c: usize| &row.outcomes[c];
            out.push(Row {
                predicted: sel.scores.iter().map(|s| s.unwrap_or(0.0)).collect(),
                quality: columns
                    .iter()
                    .map(|&c| outcome(c).quality.unwrap_or(0.0))
                    .collect(),
                cost: columns
                    .iter()
                    .map(|&c| outcome(c).cost.unwrap_or(0.0))
                    .collect(),
            });
        }
        Ok(())
    })?;
    Ok(out)
}

/// Sets `ml.<method>.{threshold|cost_weight, calibration}` in the YAML document `doc`.
fn set_rule(
    doc: &mut Value,
    method: &str,
    rule: Rule,
    calibration: &Calibration,
) -> anyhow::Result<()> {
    let block = ["global", "router", "model_selection", "ml", method]
        .iter()
        .try_fold(doc, |v, k| v.get_mut(*k))
        .with_context(|| {
            format!("the config has no global.router.model_selection.ml.{method} block")
        })?;
    let map = block
        .as_mapping_mut()
        .context("ml block is not a mapping")?;
    map.remove("threshold");
    map.remove("cost_weight");
    let (key, value) = match rule {
        Rule::Threshold(t) => ("threshold", t),
        Rule::CostWeight(l) => ("cost_weight", l),
    };
    map.insert(key.into(), value.into());
    map.insert("calibration".into(), serde_norway::to_value(calibration)?);
    Ok(())
}

/// The YAML paths of a config that name files relative to the config's directory.
const PATH_FIELDS: [&[&str]; 5] = [
    &["global", "model_catalog", "system", "domain_classifier"],
    &["global", "model_catalog", "system", "prompt_guard"],
    &["global", "model_catalog", "system", "pii_classifier"],
    &[
        "global",
        "model_catalog",
        "embeddings",
        "semantic",
        "bert_model_path",
    ],
    &["global", "router", "model_selection", "ml"],
];

/// Makes the relative paths of `doc` that exist under `from` absolute, so the config can be
/// written into another directory.
fn absolute_paths(doc: &mut Value, from: &Path) {
    let absolute = |v: &mut Value| {
        if let Some(p) = v.as_str().filter(|p| Path::new(p).is_relative()) {
            let full = from.join(p);
            if full.exists() {
                if let Ok(full) = std::path::absolute(&full) {
                    *v = Value::String(full.display().to_string());
                }
            }
        }
    };
    for field in PATH_FIELDS {
        let Some(v) = field.iter().try_fold(&mut *doc, |v, k| v.get_mut(*k)) else {
            continue;
        };
        if let Some(methods) = v.as_mapping_mut().filter(|_| field.last() == Some(&"ml")) {
            for (_, block) in methods.iter_mut() {
                if let Some(p) = block.get_mut("pretrained_path") {
                    absolute(p);
                }
            }
        } else {
            absolute(v);
        }
    }
}

/// Leading `#` lines of `text` (kept above the rewritten document).
fn header(text: &str) -> String {
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn write_config(path: &Path, original: &str, doc: &Value) -> anyhow::Result<()> {
    let text = header(original) + &serde_norway::to_string(doc)?;
    eval::atomic::write_atomic(path, text.as_bytes())?;
    Ok(())
}

/// Runs `routelab calibrate`.
pub fn run(args: CalibrateArgs) -> anyhow::Result<()> {
    let mut loaded = LoadedConfig::from_file(&args.config)?;
    loaded.map_models(&args.models.all())?;
    let store = args
        .store
        .dir()
        .map(|d| eval::signal_store::SignalStore::open(&d))
        .transpose()?;
    let registry = eval::evaluate::registry_with(store.clone());
    let router = Router::new(&loaded, &registry)?;
    let d = decision_index(&router, args.decision.as_deref())?;
    let candidates = router
        .selection_candidates(d)
        .expect("checked by decision_index");
    let method = router.config().routing.decisions[d]
        .algorithm_type()
        .to_string();
    let data = read_log(&args.log)?;
    let rows = rows_of(&router, store.as_deref(), d, &data, args.batch)?;
    if let Some(s) = &store {
        s.finish()?;
    }
    let got: Calibrated = calibrate(candidates, &rows, args.target)?;
    let set = match got.rule {
        Rule::Threshold(t) => format!("threshold={t}"),
        Rule::CostWeight(l) => format!("cost_weight={l}"),
    };
    let calibration = Calibration {
        log: router_core::paths::portable(&args.log)
            .display()
            .to_string(),
        log_sha256: eval::evaluate::log_sha256(&args.log)?,
        requests: rows.len() as u64,
        target: args.target.to_string(),
        achieved: got.achieved(args.target),
        set: set.clone(),
    };
    let original = std::fs::read_to_string(&args.config)
        .with_context(|| format!("reading {}", args.config.display()))?;
    let mut doc: Value = serde_norway::from_str(&original)?;
    set_rule(&mut doc, &method, got.rule, &calibration)?;
    let out = args.out.as_ref().unwrap_or(&args.config);
    let dir_of = |p: &Path| std::path::absolute(p.parent().unwrap_or(Path::new("."))).ok();
    if dir_of(out) != dir_of(&args.config) {
        absolute_paths(&mut doc, &loaded.base_dir);
    }
    write_config(out, &original, &doc)?;
    println!(
        "{set}: on {} requests of {} the decision sends {:.1}% to the strongest model, mean quality {:.4}, {:.4} USD per 1k requests",
        rows.len(),
        args.log.display(),
        got.strong_share * 100.0,
        got.quality,
        got.cost_per_1k
    );
    println!(
        "wrote {} (comments below the file's first lines are not kept)",
        out.display()
    );
    Ok(())
}
