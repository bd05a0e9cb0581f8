//! `routelab train --task selection`: a learned model selector trained from a request log,
//! exported with its routing config, its held-out test split and `training_report.json`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use eval::calibrate::Row as CandidateRow;
use eval::selection_metrics::{self, CostWeightMetrics, GainRow, SelectorMetrics, ThresholdPoint};
use eval::signal_store::SignalStore;
use router_core::config::Calibration;
use router_core::export::selector::{
    SelectorEmbedding, SelectorManifest, SelectorMethod, SELECTOR_FORMAT, SELECTOR_TEST_LOG_FILE,
    SELECTOR_VALIDATION_LOG_FILE,
};
use router_core::export::TRAINING_REPORT_FILE;
use router_core::inference::{content_key, ModelRegistry};
use router_core::selection::{Candidates, Rule, Selector};
use serde::Serialize;
use train::selection::{fit, write_selector, EpochLoss, SelectionConfig, Table};

use super::selection_export::{write_routing_config, write_split_log};
use crate::cmd::selection_data::{
    embed_all, read_log, store_split_embeddings, Fractions, LogData, Split,
};
use crate::cmd::StoreArgs;

/// The flags of `routelab train --task selection` (beside `--base-model`, `--output`, `--seed`,
/// `--epochs`, `--batch-size`, `--learning-rate`, `--patience`, `--device`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SelectionFlags {
    /// Selection: `knn`, `mlp` or `mf`.
    #[arg(long)]
    method: Option<String>,
    /// Selection: the request log (Parquet file or folder) with every model's quality and cost.
    #[arg(long)]
    log: Option<PathBuf>,
    /// Selection, kNN: neighbours (default: chosen on the validation split).
    #[arg(long)]
    k: Option<usize>,
    /// Selection, MLP: hidden widths (comma-separated).
    #[arg(long, value_delimiter = ',')]
    hidden: Option<Vec<usize>>,
    /// Selection, MF: latent dimension.
    #[arg(long)]
    rank: Option<usize>,
    /// Selection: train,validation,test fractions of the request ids.
    #[arg(long, default_value = "0.7,0.15,0.15")]
    split: String,
    #[command(flatten)]
    store: StoreArgs,
}

/// The flags shared with classifier training, as given.
pub struct Shared {
    /// The embedding model.
    pub base_model: Option<PathBuf>,
    /// The export directory.
    pub output: Option<PathBuf>,
    /// Seed.
    pub seed: Option<u64>,
    /// Epochs.
    pub epochs: Option<usize>,
    /// Batch size.
    pub batch_size: Option<usize>,
    /// Learning rate.
    pub learning_rate: Option<f64>,
    /// Patience.
    pub patience: Option<usize>,
    /// Device.
    pub device: Option<String>,
}

/// `training_report.json` of a selector.
#[derive(Serialize)]
struct SelectionReport {
    task: &'static str,
    config: SelectionConfig,
    log: LogInfo,
    models: Vec<String>,
    weak_model: Option<String>,
    strong_model: Option<String>,
    embedding: SelectorEmbedding,
    split: SplitInfo,
    history: Vec<EpochLoss>,
    /// The default threshold (validation split, strong share 0.5).
    calibration: Option<Calibration>,
    test: Option<SelectorMetrics>,
    /// The test split routed at the default threshold (what `routelab eval` of `routing.yaml`
    /// on `test.parquet` reproduces).
    test_at_threshold: Option<ThresholdPoint>,
    /// More than two models: the test split's AIQ over a sweep of the cost weight.
    test_cost_weight: Option<CostWeightMetrics>,
    seconds: Timings,
}

#[derive(Serialize)]
struct LogInfo {
    path: String,
    sha256: String,
    rows: usize,
    left_out: usize,
    first_left_out: Option<(String, String)>,
}

#[derive(Serialize)]
struct SplitInfo {
    seed: u64,
    fractions: Fractions,
    train: usize,
    validation: usize,
    test: usize,
}

#[derive(Serialize)]
struct Timings {
    read: f64,
    embed: f64,
    fit: f64,
    total: f64,
}

fn config_of(flags: &SelectionFlags, shared: &Shared) -> anyhow::Result<SelectionConfig> {
    let method = flags
        .method
        .as_deref()
        .context("--task selection needs --method knn|mlp|mf")?;
    let method = SelectorMethod::parse(method)
        .with_context(|| format!("--method {method:?}: expected knn, mlp or mf"))?;
    let mut c = SelectionConfig::new(method);
    c.k = flags.k;
    if let Some(h) = &flags.hidden {
        c.hidden = h.clone();
    }
    macro_rules! set {
        ($($field:ident <- $v:expr),*) => { $(if let Some(v) = $v { c.$field = v; })* };
    }
    set!(rank <- flags.rank, seed <- shared.seed, epochs <- shared.epochs,
        batch_size <- shared.batch_size, learning_rate <- shared.learning_rate,
        patience <- shared.patience, device <- shared.device.clone());
    Ok(c)
}

/// The rows of `split` as a table, in log order.
fn table(data: &LogData, emb: &[Vec<f32>], splits: &[Split], which: Split) -> (Table, Vec<usize>) {
    let dim = emb.first().map_or(0, Vec::len);
    let mut t = Table::new(dim, data.models.len());
    let mut rows = Vec::new();
    for (i, row) in data
        .rows
        .iter()
        .enumerate()
        .filter(|(i, _)| splits[*i] == which)
    {
        let y: Vec<f32> = row
            .outcomes
            .iter()
            .map(|o| o.quality.unwrap_or(0.0) as f32)
            .collect();
        t.push(&emb[i], &y);
        rows.push(i);
    }
    (t, rows)
}

/// Each model's mean cost on `rows`, USD per 1k requests.
fn mean_cost_per_1k(data: &LogData, rows: &[usize]) -> Vec<f64> {
    (0..data.models.len())
        .map(|m| {
            let sum: f64 = rows
                .iter()
                .map(|&r| data.rows[r].outcomes[m].cost.unwrap_or(0.0))
                .sum();
            sum / rows.len().max(1) as f64 * 1000.0
        })
        .collect()
}

/// The gain rows of `rows` for a two-model selector.
fn gain_rows(
    data: &LogData,
    rows: &[usize],
    predicted: &[Vec<f32>],
    c: &Candidates,
) -> Vec<GainRow> {
    let (weak, strong) = c.weak_strong();
    rows.iter()
        .zip(predicted)
        .map(|(&r, p)| {
            let o = &data.rows[r].outcomes;
            GainRow {
                gain: c.gain(&c.of_candidates(p)),
                quality: [
                    o[weak].quality.unwrap_or(0.0),
                    o[strong].quality.unwrap_or(0.0),
                ],
                cost: [o[weak].cost.unwrap_or(0.0), o[strong].cost.unwrap_or(0.0)],
            }
        })
        .collect()
}

fn predict(sel: &Selector, t: &Table) -> anyhow::Result<Vec<Vec<f32>>> {
    let rows: Vec<&[f32]> = (0..t.len()).map(|i| t.row(i)).collect();
    Ok(sel.predict(&rows)?)
}

/// A log read, embedded and split.
struct Prepared {
    data: LogData,
    fractions: Fractions,
    train: (Table, Vec<usize>),
    validation: (Table, Vec<usize>),
    test: (Table, Vec<usize>),
    /// Each usable row's embedding (kept for the split logs' store entries).
    emb: Vec<Vec<f32>>,
    /// The signal store the embeddings went through, and the registry that used it.
    store: Option<(Arc<SignalStore>, ModelRegistry)>,
    read_s: f64,
    embed_s: f64,
}

/// Reads the log, embeds its requests (through the signal store) and splits them.
fn prepare(flags: &SelectionFlags, log: &Path, base: &Path, seed: u64) -> anyhow::Result<Prepared> {
    let started = Instant::now();
    let fractions: Fractions = flags
        .split
        .parse()
        .map_err(|e| anyhow::anyhow!("--split {e}"))?;
    let data = read_log(log)?;
    if data.rows.is_empty() {
        anyhow::bail!(
            "{}: no row has a quality and a cost for every model",
            log.display()
        );
    }
    let read_s = started.elapsed().as_secs_f64();
    let store = flags
        .store
        .dir()
        .map(|d| eval::signal_store::SignalStore::open(&d))
        .transpose()?;
    let registry = eval::evaluate::registry_with(store.clone());
    let t = Instant::now();
    let emb = embed_all(&registry, store.as_deref(), base, &data)?;
    let embed_s = t.elapsed().as_secs_f64();
    let splits: Vec<Split> = data
        .rows
        .iter()
        .map(|r| fractions.of(seed, &r.request_id))
        .collect();
    Ok(Prepared {
        train: table(&data, &emb, &splits, Split::Train),
        validation: table(&data, &emb, &splits, Split::Validation),
        test: table(&data, &emb, &splits, Split::Test),
        emb,
        store: store.map(|s| (s, registry)),
        data,
        fractions,
        read_s,
        embed_s,
    })
}

/// The manifest of a selector of `cfg.method` trained on `p`, its features from `base`.
fn manifest(cfg: &SelectionConfig, p: &Prepared, base: &Path) -> anyhow::Result<SelectorManifest> {
    Ok(SelectorManifest {
        format: SELECTOR_FORMAT.into(),
        method: cfg.method,
        models: p.data.models.clone(),
        mean_cost_per_1k: mean_cost_per_1k(&p.data, &p.train.1),
        embedding: SelectorEmbedding {
            name: base
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            content_key: content_key(base)?,
            dim: p.train.0.dim,
        },
        k: None,
        hidden: Vec::new(),
        rank: None,
    })
}

/// What the exported selector does: its default rule, and with two models the test metrics.
struct Evaluated {
    rule: Rule,
    calibration: Option<Calibration>,
    test: Option<SelectorMetrics>,
    at_threshold: Option<ThresholdPoint>,
    cost_weight: Option<CostWeightMetrics>,
    weak_strong: Option<(String, String)>,
}

/// Cost weights swept for the AIQ of a selector over more than two models.
const COST_WEIGHT_POINTS: usize = 40;

/// More than two models: the test split's AIQ over a sweep of `cost_weight`.
fn evaluate_cost_weight(selector: &Selector, p: &Prepared) -> anyhow::Result<Evaluated> {
    let names: Vec<&str> = p.data.models.iter().map(String::as_str).collect();
    let c = Candidates::new(selector.manifest(), &names, Rule::CostWeight(0.0))
        .map_err(anyhow::Error::msg)?;
    let (t, rows) = &p.test;
    let rows: Vec<CandidateRow> = rows
        .iter()
        .zip(predict(selector, t)?)
        .map(|(&r, pred)| {
            let o = &p.data.rows[r].outcomes;
            CandidateRow {
                predicted: c.of_candidates(&pred),
                quality: o.iter().map(|x| x.quality.unwrap_or(0.0)).collect(),
                cost: o.iter().map(|x| x.cost.unwrap_or(0.0)).collect(),
            }
        })
        .collect();
    let sweep = eval::calibrate::cost_weight_curve(&c, &rows, COST_WEIGHT_POINTS);
    Ok(Evaluated {
        rule: Rule::CostWeight(0.0),
        calibration: None,
        test: None,
        at_threshold: None,
        cost_weight: Some(selection_metrics::cost_weight_metrics(&rows, &sweep)),
        weak_strong: None,
    })
}

/// Two models: the threshold at strong share 0.5 on the validation split, and the test split's
/// metrics; more: `cost_weight` 0 and the test split's AIQ ([`evaluate_cost_weight`]).
fn evaluate(
    selector: &Selector,
    p: &Prepared,
    log: &Path,
    log_sha: &str,
) -> anyhow::Result<Evaluated> {
    let names: Vec<&str> = p.data.models.iter().map(String::as_str).collect();
    if names.len() != 2 {
        return evaluate_cost_weight(selector, p);
    }
    let c = Candidates::new(selector.manifest(), &names, Rule::Threshold(0.0))
        .map_err(anyhow::Error::msg)?;
    let gains = |(t, rows): &(Table, Vec<usize>)| -> anyhow::Result<Vec<GainRow>> {
        Ok(gain_rows(&p.data, rows, &predict(selector, t)?, &c))
    };
    let val_curve = selection_metrics::threshold_curve(&gains(&p.validation)?);
    let mut point = selection_metrics::threshold_for_share(&val_curve, 0.5)
        .context("the validation split gives no threshold")?;
    point.threshold = selection_metrics::configurable(&val_curve, &point);
    let test_gains = gains(&p.test)?;
    let (weak, strong) = c.weak_strong();
    Ok(Evaluated {
        rule: Rule::Threshold(point.threshold),
        calibration: Some(default_calibration(
            log,
            log_sha,
            p.validation.1.len(),
            &point,
        )),
        test: Some(selection_metrics::selector_metrics(&test_gains)),
        at_threshold: Some(selection_metrics::at_threshold(
            &test_gains,
            point.threshold,
        )),
        cost_weight: None,
        weak_strong: Some((p.data.models[weak].clone(), p.data.models[strong].clone())),
    })
}

/// Runs `routelab train --task selection`.
pub fn run(flags: &SelectionFlags, shared: &Shared) -> anyhow::Result<()> {
    let started = Instant::now();
    let cfg = config_of(flags, shared)?;
    let log = flags
        .log
        .clone()
        .context("--task selection needs --log LOG")?;
    let out = shared
        .output
        .clone()
        .context("--task selection needs --output DIR")?;
    let base = shared
        .base_model
        .clone()
        .unwrap_or_else(router_core::paths::default_model_dir);
    let p = prepare(flags, &log, &base, cfg.seed)?;
    let t = Instant::now();
    let fitted = fit(&cfg, &p.train.0, &p.validation.0)?;
    let fit_s = t.elapsed().as_secs_f64();
    let tmp = train::checkpoint::fresh_tmp(&out)?;
    write_selector(&tmp, &fitted, manifest(&cfg, &p, &base)?)?;
    // Everything below reads the selector as the router does.
    let selector = Selector::load(&tmp, None)?;
    let log_sha = eval::evaluate::log_sha256(&log)?;
    let ev = evaluate(&selector, &p, &log, &log_sha)?;
    let ws = ev.weak_strong.as_ref();
    write_routing_config(
        &tmp,
        &cfg,
        &p.data.models,
        ws,
        &base,
        ev.rule,
        ev.calibration.as_ref(),
    )?;
    write_splits(&tmp, &p, &base)?;
    let report = SelectionReport {
        task: "selection",
        log: LogInfo {
            path: router_core::paths::portable(&log).display().to_string(),
            sha256: log_sha,
            rows: p.data.rows.len(),
            left_out: p.data.left_out.len(),
            first_left_out: p.data.left_out.first().cloned(),
        },
        models: p.data.models.clone(),
        weak_model: ws.map(|w| w.0.clone()),
        strong_model: ws.map(|w| w.1.clone()),
        embedding: selector.manifest().embedding.clone(),
        split: SplitInfo {
            seed: cfg.seed,
            fractions: p.fractions,
            train: p.train.1.len(),
            validation: p.validation.1.len(),
            test: p.test.1.len(),
        },
        config: cfg,
        history: fitted.history,
        calibration: ev.calibration,
        test: ev.test,
        test_at_threshold: ev.at_threshold,
        test_cost_weight: ev.cost_weight,
        seconds: Timings {
            read: p.read_s,
            embed: p.embed_s,
            fit: fit_s,
            total: started.elapsed().as_secs_f64(),
        },
    };
    std::fs::write(
        tmp.join(TRAINING_REPORT_FILE),
        serde_json::to_vec_pretty(&report)?,
    )?;
    train::checkpoint::swap_into_place(&tmp, &out)?;
    print_summary(&report, &out);
    Ok(())
}

/// Writes the test and validation splits as request logs, their embeddings kept in the
/// signal store for them.
fn write_splits(dir: &Path, p: &Prepared, base: &Path) -> anyhow::Result<()> {
    for (file, rows) in [
        (SELECTOR_TEST_LOG_FILE, &p.test.1),
        (SELECTOR_VALIDATION_LOG_FILE, &p.validation.1),
    ] {
        let path = dir.join(file);
        write_split_log(&path, &p.data, rows)?;
        if let Some((store, registry)) = &p.store {
            store_split_embeddings(registry, store, base, (&path, rows), &p.data, &p.emb)?;
        }
    }
    if let Some((store, _)) = &p.store {
        store.finish()?;
    }
    Ok(())
}

fn default_calibration(log: &Path, sha: &str, n: usize, p: &ThresholdPoint) -> Calibration {
    Calibration {
        log: format!(
            "{} (validation split)",
            router_core::paths::portable(log).display()
        ),
        log_sha256: sha.to_string(),
        requests: n as u64,
        target: "strong_share=0.5".into(),
        achieved: p.strong_share,
        set: format!("threshold={}", p.threshold),
    }
}

fn print_summary(r: &SelectionReport, out: &Path) {
    println!("exported {}", out.display());
    println!(
        "{} selector on {} requests (train {}, validation {}, test {}; {} left out); embed {:.0} s, fit {:.1} s",
        r.config.method, r.log.rows, r.split.train, r.split.validation, r.split.test, r.log.left_out,
        r.seconds.embed, r.seconds.fit
    );
    if let Some(t) = &r.test {
        let pct = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{:.1}%", v * 100.0));
        let f = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.4}"));
        println!(
            "test: APGR {:.4} (random {:.2}, oracle {})  CPT(50%) {}  CPT(80%) {}  AIQ {} (random {}, oracle {})",
            t.apgr, t.random_apgr, f(t.oracle_apgr), pct(t.cpt50), pct(t.cpt80), f(t.aiq), f(t.random_aiq), f(t.oracle_aiq)
        );
    }
    if let Some(t) = &r.test_cost_weight {
        let f = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.4}"));
        println!(
            "test ({} models, {} cost weights): AIQ {} (zero router {}, oracle {}); quality at cost weight 0: {:.4} (oracle {:.4})",
            r.models.len(), t.points, f(t.aiq), f(t.random_aiq), f(t.oracle_aiq), t.quality_at_zero, t.quality_oracle
        );
    }
    if let Some(c) = &r.calibration {
        println!(
            "routing.yaml: {} ({} on the validation split: {:.3})",
            c.set, c.target, c.achieved
        );
    }
}
