//! `routelab eval` as a library call: replay one config over a log, score it against the
//! baselines, optionally sweep a parameter, and write `report.json`, `report.md`,
//! `report.html` and `decisions.parquet` into the output directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use router_core::config::{LoadedConfig, ModelMap};
use router_core::engine::Router;
use router_core::inference::ModelRegistry;

use crate::atomic::write_atomic;
use crate::decisions::{DecisionRow, DecisionsWriter};
use crate::error::{EvalError, Result};
use crate::replay::{for_each_outcome_row, replay, LogModels, Policy, ReplayData, ReplayOptions};
use crate::report::{
    BreakdownRow, InputFile, NotReplayable, Report, Sweep, SweepPoint, REPORT_FORMAT,
};
use crate::scoring::{self, CurveInputs, SampledRandom};
use crate::signal_store::SignalStore;
use crate::sweep::{set_param, SweepSpec};

/// The routelab version written into reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Settings of one evaluation.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// The routing config.
    pub config: PathBuf,
    /// The request log.
    pub log: PathBuf,
    /// Output directory (`reports/<run>/`).
    pub out_dir: PathBuf,
    /// Run name written into the report.
    pub run_name: String,
    /// Replay settings.
    pub replay: ReplayOptions,
    /// Count requests routed to models without quality columns as unscored instead of failing.
    pub allow_unscored: bool,
    /// Optional threshold sweep.
    pub sweep: Option<SweepSpec>,
    /// `--model REF=DIR` mappings applied to the config.
    pub model_maps: Vec<ModelMap>,
    /// The signal store folder model outputs are read from and added to (`None`: every model
    /// runs on every request).
    pub signal_store: Option<PathBuf>,
    /// The recipe of a multi-recipe config every request routes with (`None`: the default).
    pub recipe: Option<String>,
}

/// Throughput numbers of the main replay.
#[derive(Debug, Clone)]
pub struct ReplayStats {
    /// Rows replayed.
    pub rows: u64,
    /// Wall time of the replay (decode + route + bookkeeping + decisions.parquet).
    pub wall: Duration,
    /// Time decoding Parquet.
    pub decode: Duration,
    /// Time inside `Router::route_decision`.
    pub route: Duration,
}

/// Result of [`run_eval`].
#[derive(Debug, Clone)]
pub struct EvalOutput {
    /// The report (also written to disk).
    pub report: Report,
    /// Files written.
    pub files: Vec<PathBuf>,
    /// Replay throughput.
    pub stats: ReplayStats,
}

/// The identity of a log (a file or a folder of files, [`crate::log_reader::log_files`]): the
/// file's sha256, or for a folder the sha256 of one `<file name> <sha256>` line per file.
pub fn log_sha256(path: &Path) -> Result<String> {
    if !path.is_dir() {
        return sha256_file(path);
    }
    let mut lines = String::new();
    for file in crate::log_reader::log_files(path)? {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
        lines.push_str(&format!(
            "{} {}\n",
            name.unwrap_or_default(),
            sha256_file(&file)?
        ));
    }
    Ok(router_core::digest::sha256_hex(lines.as_bytes()))
}

/// SHA-256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let f = std::fs::File::open(path).map_err(|e| EvalError::io(path, e))?;
    router_core::digest::sha256_reader(f).map_err(|e| EvalError::io(path, e))
}

/// Current UTC time as (RFC 3339, compact `YYYYmmdd-HHMMSS`).
pub fn utc_now() -> (String, String) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    (
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z"),
        format!("{y:04}{m:02}{d:02}-{hh:02}{mm:02}{ss:02}"),
    )
}

/// Default run name: config file stem + UTC timestamp.
pub fn default_run_name(config: &Path) -> String {
    let stem = config
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    format!("{stem}-{}", utc_now().1)
}

/// Inputs of [`build_report`] besides the replay data.
pub struct ReportMeta<'a> {
    /// Run name.
    pub run_name: &'a str,
    /// Config file.
    pub config: InputFile,
    /// Log file.
    pub log: InputFile,
    /// Replay options used.
    pub options: &'a ReplayOptions,
    /// Sweep points.
    pub sweep: Option<Sweep>,
    /// `--model REF=DIR` mappings the config was loaded with.
    pub mapped_models: Vec<String>,
    /// What the run did with the signal store.
    pub signal_store: Option<crate::signal_store::StoreUse>,
    /// The recipe replayed (`--recipe`).
    pub recipe: Option<String>,
}

/// Scores run `p` of `data` (policy `policy`) into a report. The sampled random baseline
/// decodes the log once more (its draws need the policy's final call shares).
pub fn build_report(
    data: &ReplayData,
    p: usize,
    policy: &Policy,
    meta: ReportMeta<'_>,
) -> Result<Report> {
    let run = &data.runs[p];
    let names = data.model_names();
    let scored: Vec<bool> = data.models.iter().map(|m| m.has_quality).collect();
    let singles = data.table.singles(&names);
    let mut metrics = run.metrics(&policy.name);
    metrics.name = "policy".into();
    let shares = run.model_shares();
    let (cheap, strong) = scoring::cheapest_and_strongest(&singles, &scored).ok_or_else(|| {
        EvalError::Invalid(format!(
            "{}: the config has no model to score",
            data.log_path.display()
        ))
    })?;
    let (oracle, oracle_shares) = data.table.oracle(cheap);
    let mut cheapest = singles[cheap].clone();
    cheapest.name = format!("always-cheapest ({})", names[cheap]);
    let mut strongest = singles[strong].clone();
    strongest.name = format!("always-strongest ({})", names[strong]);
    let savings = scoring::savings(&metrics, &cheapest, &strongest);
    let random_exp = scoring::random_expected(&singles, &shares, run.requests());
    let mut sampled = SampledRandom::new(&shares, scoring::RANDOM_SEED);
    for_each_outcome_row(&data.log_path, &data.models, meta.options, &mut |row| {
        sampled.add(row)
    })?;
    let random_cost =
        scoring::random_cost_matched(&cheapest, &strongest, metrics.total_cost, run.requests());
    let curves = scoring::curve_metrics(&CurveInputs {
        singles: &singles,
        scored: &scored,
        names: &names,
        policy: &metrics,
        policy_shares: &shares,
        oracle: &oracle,
        oracle_shares: &oracle_shares,
        sweep: meta.sweep.as_ref().map(|s| s.points.as_slice()),
    });
    let [per_category, per_model, per_decision] = run.breakdowns(&data.strings, &names);
    let not_replayable = not_replayable(&policy.router, &per_decision);
    Ok(Report {
        format: REPORT_FORMAT.into(),
        routelab_version: VERSION.into(),
        run_name: meta.run_name.into(),
        created_utc: utc_now().0,
        config: meta.config,
        mapped_models: meta.mapped_models,
        signal_store: meta.signal_store,
        recipe: meta.recipe,
        log: meta.log,
        cost_settings: meta.options.cost.clone(),
        requests: run.requests(),
        models: scoring::model_infos(&data.models, &singles),
        policy: metrics,
        savings,
        baselines: vec![
            cheapest,
            strongest,
            oracle,
            random_exp,
            sampled.metrics(),
            random_cost,
        ],
        router_overhead_us: run.router_overhead_us(),
        router_batch: data.router_batch,
        model_latency_ms: run.model_latency_ms(),
        unknown_latency: run.unknown_latency(),
        blocked: data.blocked[p],
        not_replayable,
        decision_accuracy: run.decision_accuracy(),
        signal_accuracy: run.signal_accuracy(),
        per_category,
        per_model,
        per_decision,
        sweep: meta.sweep,
        curves,
    })
}

/// The decisions of `router` that routelab does not run, with the requests each won.
fn not_replayable(router: &Router, per_decision: &[BreakdownRow]) -> Vec<NotReplayable> {
    let decisions = &router.config().routing.decisions;
    (0..decisions.len())
        .filter_map(|i| {
            let algorithm = router.not_replayable(i)?;
            let name = &decisions[i].name;
            let requests = per_decision
                .iter()
                .find(|r| &r.key == name)
                .map_or(0, |r| r.requests);
            Some(NotReplayable {
                decision: name.clone(),
                algorithm: algorithm.to_owned(),
                requests,
            })
        })
        .collect()
}

/// A registry whose signals keep their models' outputs in `store`, when given.
pub fn registry_with(store: Option<std::sync::Arc<SignalStore>>) -> ModelRegistry {
    match store {
        Some(s) => ModelRegistry::default().with_output_store(s),
        None => ModelRegistry::default(),
    }
}

/// Runs the sweep of `opts`: one replay per value (with `replay_opts`, its signal store
/// included), each a point of the cost-quality curve. Every point loads its models through
/// `models`, so a model is loaded once for the whole sweep.
pub fn run_sweep(
    spec: &SweepSpec,
    opts: &EvalOptions,
    replay_opts: &ReplayOptions,
    models: &ModelRegistry,
    log_models: &LogModels,
    base: &ReplayData,
) -> Result<Sweep> {
    let (config, log) = (opts.config.as_path(), opts.log.as_path());
    let text = std::fs::read_to_string(config).map_err(|e| EvalError::io(config, e))?;
    let base_dir = config
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let names = base.model_names();
    let scored: Vec<bool> = base.models.iter().map(|m| m.has_quality).collect();
    let singles = base.table.singles(&names);
    let two = scored.iter().filter(|s| **s).count() == 2;
    let ends = scoring::cheapest_and_strongest(&singles, &scored);
    let mut replay_opts = replay_opts.clone();
    replay_opts.progress = false;
    let mut points = Vec::new();
    for value in spec.values() {
        let yaml = set_param(&text, &spec.param, value)?;
        let origin = format!("{} ({}={value})", config.display(), spec.param);
        let mut loaded = LoadedConfig::from_yaml_str(&yaml, &origin, &base_dir)?;
        loaded.map_models(&opts.model_maps)?;
        let loaded = crate::replay::select_recipe(loaded, opts.recipe.as_deref())?;
        let policy = Policy::new(
            &origin,
            &loaded,
            models,
            log_models,
            log,
            opts.allow_unscored,
        )?;
        let data = replay(log, &[&policy], &replay_opts, &mut |_, _, _| Ok(()))?;
        let run = &data.runs[0];
        let m = run.metrics("sweep");
        let (strong_share, pgr) = match ends {
            Some((weak, strong)) if two && weak != strong => {
                let idx = data.models.iter().position(|x| x.name == names[strong]);
                let share = idx.map(|i| run.model_shares()[i]);
                let g = m.mean_quality.and_then(|q| {
                    crate::curves::pgr(
                        q,
                        singles[weak].mean_quality?,
                        singles[strong].mean_quality?,
                    )
                });
                (share, g)
            }
            _ => (None, None),
        };
        tracing::info!(param = %spec.param, value, cost_per_1k = m.cost_per_1k, quality = ?m.mean_quality, "sweep point");
        points.push(SweepPoint {
            value,
            cost_per_1k: m.cost_per_1k,
            mean_quality: m.mean_quality,
            strong_share,
            pgr,
        });
    }
    Ok(Sweep {
        param: spec.param.clone(),
        points,
    })
}

/// Runs a whole evaluation and writes its files into `opts.out_dir`.
pub fn run_eval(opts: &EvalOptions) -> Result<EvalOutput> {
    let log_models = LogModels::of(&opts.log)?;
    let store = opts
        .signal_store
        .as_deref()
        .map(SignalStore::open)
        .transpose()?;
    let registry = registry_with(store.clone());
    let policy = Policy::load(
        &opts.config,
        &opts.model_maps,
        &registry,
        &log_models,
        &opts.log,
        opts.allow_unscored,
        opts.recipe.as_deref(),
    )?;
    let decisions_path = opts.out_dir.join("decisions.parquet");
    let mut writer = DecisionsWriter::create(&decisions_path)?;
    let replay_opts = opts.replay.clone().with_store(store.clone());
    let data = replay(
        &opts.log,
        &[&policy],
        &replay_opts,
        &mut |_, row, routed| {
            let r = &routed[0];
            writer.push(DecisionRow {
                request_id: row.request_id.to_string(),
                decision: r.target.decision.map(str::to_string),
                model: r.target.model.to_string(),
                use_reasoning: r.target.use_reasoning,
                confidence: r.decision.confidence,
                matched_signals: r
                    .decision
                    .signals
                    .iter()
                    .map(|s| format!("{}:{}", s.kind, s.name))
                    .collect(),
                quality: (!r.chosen.quality.is_nan()).then_some(r.chosen.quality),
                cost: r.chosen.cost,
                latency_ms: (!r.chosen.latency_ms.is_nan()).then_some(r.chosen.latency_ms),
                router_us: r.router_us,
            })
        },
    )?;
    writer.finish()?;
    let stats = ReplayStats {
        rows: data.len() as u64,
        wall: data.wall_time,
        decode: data.decode_time,
        route: data.route_time[0],
    };
    let sweep = match &opts.sweep {
        Some(spec) => Some(run_sweep(
            spec,
            opts,
            &replay_opts,
            &registry,
            &log_models,
            &data,
        )?),
        None => None,
    };
    let signal_store = store.as_deref().map(SignalStore::finish).transpose()?;
    let report = build_report(
        &data,
        0,
        &policy,
        ReportMeta {
            run_name: &opts.run_name,
            config: InputFile {
                path: opts.config.display().to_string(),
                sha256: sha256_file(&opts.config)?,
            },
            log: InputFile {
                path: opts.log.display().to_string(),
                sha256: log_sha256(&opts.log)?,
            },
            options: &opts.replay,
            sweep,
            mapped_models: opts
                .model_maps
                .iter()
                .map(|m| format!("{}={}", m.reference, m.dir.display()))
                .collect(),
            signal_store,
            recipe: opts.recipe.clone(),
        },
    )?;
    let json_path = opts.out_dir.join("report.json");
    let md_path = opts.out_dir.join("report.md");
    let html_path = opts.out_dir.join("report.html");
    let json = serde_json::to_string_pretty(&report).map_err(|e| EvalError::Format {
        path: json_path.display().to_string(),
        message: e.to_string(),
    })?;
    write_atomic(&json_path, json.as_bytes())?;
    write_atomic(&md_path, crate::report_md::render(&report).as_bytes())?;
    write_atomic(&html_path, crate::report_html::render(&report).as_bytes())?;
    Ok(EvalOutput {
        report,
        files: vec![json_path, md_path, html_path, decisions_path],
        stats,
    })
}
