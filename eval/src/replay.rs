//! Replay: stream a request log through one or more routers — calling
//! [`router_core::engine::Router::route_decision`], the signal and decision step of the
//! server's [`router_core::engine::Router::route`] — and tally what the reports need
//! ([`crate::tally`]) in memory that does not grow with the log; a caller that wants each
//! request sees it in the per-row callback. Rows are read in place from the decoded Arrow
//! batches.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use router_core::config::{LoadedConfig, ModelMap};
use router_core::engine::{RouteDecision, RouteTarget, Router};
use router_core::inference::ModelRegistry;
use router_core::request::RouteRequest;
use router_core::signals::{SignalKind, SignalMatch};
use smallvec::SmallVec;

use crate::error::{EvalError, Result};
use crate::log_reader::{LogBatch, RequestLog};
use crate::log_schema::LogRowRef;
use crate::outcomes::{self, Interner, ModelCostModel, Outcome, NONE_ID};
use crate::report::CostSettings;
use crate::signal_store::SignalStore;
use crate::tally::{PolicyTally, TableTally, TalliedRoute};

/// A routing policy: a compiled config and the models it can choose.
pub struct Policy {
    /// Display name (config file stem by default).
    pub name: String,
    /// Where the config came from.
    pub origin: String,
    /// The compiled router.
    pub router: Router,
    /// The config's models matched to the log.
    pub models: Vec<ModelCostModel>,
    /// Whether some decision uses the domain signal (signal accuracy is computed then).
    pub uses_domain: bool,
}

/// What a policy needs to know about the log it will replay.
#[derive(Debug, Clone)]
pub struct LogModels {
    /// Models with `<model>|*` columns.
    pub models: Vec<String>,
    /// Models with a `<model>|quality` column.
    pub scored: Vec<String>,
}

impl LogModels {
    /// Reads the model columns of a log (opens the file's footer only).
    pub fn of(path: &Path) -> Result<LogModels> {
        let log = RequestLog::open(path, 1)?;
        let models = log.models();
        let scored = models
            .iter()
            .filter(|m| log.has_quality(m))
            .cloned()
            .collect();
        Ok(LogModels { models, scored })
    }
}

impl Policy {
    /// Compiles `loaded` for replaying `log` (at `log_path`, named in errors). A config model
    /// without a quality column is an error unless `allow_unscored`.
    /// Model-based signals load their models through `models`.
    pub fn new(
        name: &str,
        loaded: &LoadedConfig,
        models: &ModelRegistry,
        log: &LogModels,
        log_path: &Path,
        allow_unscored: bool,
    ) -> Result<Policy> {
        if loaded.config.is_multi_recipe() {
            tracing::warn!(config = %loaded.origin, "a multi-recipe config: the replay routes every request with its default recipe (the top-level routing; --recipe NAME picks another)");
        }
        let mut router = Router::new(loaded, models)?;
        if router.reads_stats() {
            let stats = crate::latency_log::log_stats(log_path, &loaded.config)?;
            router = router.with_stats(Arc::new(stats));
        }
        let models = ModelCostModel::from_config(&loaded.config, &log.models, |m| {
            log.scored.iter().any(|s| s == m)
        });
        let missing: Vec<String> = models
            .iter()
            .filter(|m| !m.has_quality)
            .map(|m| m.name.clone())
            .collect();
        if !missing.is_empty() {
            if !allow_unscored {
                return Err(EvalError::UnscoredModels {
                    path: log_path.display().to_string(),
                    models: missing,
                });
            }
            tracing::warn!(models = ?missing, "config models without a quality column: their requests count as unscored");
        }
        for m in &log.models {
            if !models.iter().any(|c| &c.name == m) {
                tracing::info!(model = %m, "log model is not in the config {}; it is ignored", loaded.origin);
            }
        }
        let uses_domain = router
            .used_signals()
            .iter()
            .any(|(k, _)| *k == SignalKind::Domain);
        Ok(Policy {
            name: name.into(),
            origin: loaded.origin.clone(),
            router,
            models,
            uses_domain,
        })
    }

    /// Loads the config file, maps its models (`--model`), picks `recipe` of a multi-recipe
    /// config (the default without one) and compiles it (name = file stem).
    pub fn load(
        config: &Path,
        model_maps: &[ModelMap],
        models: &ModelRegistry,
        log: &LogModels,
        log_path: &Path,
        allow_unscored: bool,
        recipe: Option<&str>,
    ) -> Result<Policy> {
        let mut loaded = LoadedConfig::from_file(config)?;
        loaded.map_models(model_maps)?;
        let loaded = select_recipe(loaded, recipe)?;
        let name = config
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "policy".into());
        Policy::new(&name, &loaded, models, log, log_path, allow_unscored)
    }
}

/// Recipe `recipe` of `loaded` (`--recipe`), or `loaded` itself without one.
pub fn select_recipe(loaded: LoadedConfig, recipe: Option<&str>) -> Result<LoadedConfig> {
    let Some(name) = recipe else {
        return Ok(loaded);
    };
    loaded.recipe(name).ok_or_else(|| {
        EvalError::Invalid(format!(
            "{}: no recipe {name:?} (recipes: {})",
            loaded.origin,
            loaded.config.recipe_names().join(", ")
        ))
    })
}

/// Replay settings.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Rows decoded per batch.
    pub batch_size: usize,
    /// Cost/latency derivation.
    pub cost: CostSettings,
    /// Show an indicatif progress bar.
    pub progress: bool,
    /// Requests routed per [`Router::route_batch`] call. 1 (the default) calls
    /// [`Router::route_decision`] per request, as the server does; more lets model signals
    /// (domain, jailbreak, embedding) run one batched forward pass over that many requests of
    /// similar length (sorted within each decoded batch), and each request's router time is
    /// then its share of the batch's time.
    pub router_batch: usize,
    /// The signal store the policies' registry reads model outputs from and writes them to:
    /// the replay enters each batch's rows in it before routing them.
    pub store: Option<Arc<SignalStore>>,
}

impl ReplayOptions {
    /// These options with `store` as the signal store.
    pub fn with_store(mut self, store: Option<Arc<SignalStore>>) -> Self {
        self.store = store;
        self
    }
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            batch_size: crate::log_reader::DEFAULT_BATCH_SIZE,
            cost: CostSettings::default(),
            progress: false,
            router_batch: 1,
            store: None,
        }
    }
}

/// One policy's routing of one request, as given to the per-row callback.
pub struct Routed<'a> {
    /// The router's decision (winning decision, confidence, signal matches).
    pub decision: &'a RouteDecision,
    /// What the decision routes to (decision name, model, reasoning, blocking).
    pub target: RouteTarget<'a>,
    /// Index of the chosen model in [`ReplayData::models`].
    pub model: usize,
    /// Outcome of the chosen model (reasoning applied).
    pub chosen: Outcome,
    /// Time in the router (`Router::route_decision`, or this request's share of a
    /// `Router::route_batch` call), µs.
    pub router_us: f64,
}

/// Everything a replay tallied.
#[derive(Debug, Clone)]
pub struct ReplayData {
    /// The log.
    pub log_path: PathBuf,
    /// Union of the policies' models (first definition wins); index space of choices.
    pub models: Vec<ModelCostModel>,
    /// Requests replayed.
    pub rows: u64,
    /// What the baselines need from every model's outcome on every request (no reasoning).
    pub table: TableTally,
    /// Interned decisions and categories.
    pub strings: Interner,
    /// One tally per policy.
    pub runs: Vec<PolicyTally>,
    /// Requests a block plugin answered, per policy (their chosen model's outcome still counts).
    pub blocked: Vec<u64>,
    /// Time spent decoding the log.
    pub decode_time: Duration,
    /// Time spent inside `Router::route_decision` (or `Router::route_batch`), per policy.
    pub route_time: Vec<Duration>,
    /// Wall time of the replay.
    pub wall_time: Duration,
    /// [`ReplayOptions::router_batch`] of the replay.
    pub router_batch: usize,
}

impl ReplayData {
    /// Requests replayed.
    pub fn len(&self) -> usize {
        self.rows as usize
    }

    /// Whether no request was replayed.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Model names in index order.
    pub fn model_names(&self) -> Vec<String> {
        self.models.iter().map(|m| m.name.clone()).collect()
    }
}

/// The domain signal's top category (highest confidence domain match), if any.
pub fn top_domain(signals: &[SignalMatch]) -> Option<&str> {
    signals
        .iter()
        .filter(|m| m.kind == SignalKind::Domain)
        .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
        .map(|m| m.name.as_str())
}

/// Rows per rayon task: small enough to spread a batch over the cores, large enough that
/// task overhead stays negligible next to routing.
const PAR_MIN_ROWS: usize = 64;

/// One policy's routing of one row, computed on a worker thread.
struct PolicyResult {
    decision: RouteDecision,
    model: usize,
    chosen: Outcome,
    router_us: f64,
}

/// Everything computed for one row off the main thread (inline up to 4 models and 2
/// policies, so a row costs no allocation of its own).
struct RowResult {
    /// Outcome of every union model (no reasoning): the row of the outcome table.
    table: SmallVec<[Outcome; 4]>,
    policies: SmallVec<[PolicyResult; 2]>,
}

/// What the per-row routing needs (shared read-only by the worker threads).
struct RowContext<'a> {
    path: &'a str,
    policies: &'a [&'a Policy],
    models: &'a [ModelCostModel],
    specs: &'a [Vec<Option<&'a ModelCostModel>>],
    cost: &'a CostSettings,
    router_batch: usize,
    store: Option<&'a SignalStore>,
}

impl RowContext<'_> {
    /// Routes `row` (row `row_index` of the log) through every policy and costs each choice;
    /// `request` is the worker's reusable request buffer.
    fn route_row(
        &self,
        request: &mut RouteRequest,
        row: LogRowRef<'_>,
        row_index: u64,
    ) -> Result<RowResult> {
        row.fill_route_request(request, self.path, row_index)?;
        let est_tokens = outcomes::estimate_prompt_tokens(&row, self.cost);
        let mut policies = SmallVec::with_capacity(self.policies.len());
        for (p, policy) in self.policies.iter().enumerate() {
            let t = Instant::now();
            let decision = policy.router.route_decision(request)?;
            let router_us = t.elapsed().as_secs_f64() * 1e6;
            policies.push(self.cost_choice(p, &row, row_index, est_tokens, decision, router_us)?);
        }
        Ok(RowResult {
            table: self.table_row(&row, est_tokens),
            policies,
        })
    }

    /// Routes a chunk of rows (`(index in the decoded batch, row)`; the batch starts at log row
    /// `first`) with one [`Router::route_batch`] call per policy; each request's router time is
    /// an even share of the call's time. A row whose request cannot be built fails alone; a
    /// failing call fails the chunk's first routed row.
    fn route_chunk(
        &self,
        chunk: &[(usize, LogRowRef<'_>)],
        first: u64,
    ) -> Vec<(usize, Result<RowResult>)> {
        let requests: Vec<Result<RouteRequest>> = chunk
            .iter()
            .map(|&(i, row)| row.route_request(self.path, first + i as u64))
            .collect();
        let ok: Vec<&RouteRequest> = requests.iter().filter_map(|r| r.as_ref().ok()).collect();
        let mut per_policy = Vec::with_capacity(self.policies.len());
        for policy in self.policies {
            let t = Instant::now();
            match policy.router.route_batch(&ok) {
                Ok(decisions) => {
                    let share = t.elapsed().as_secs_f64() * 1e6 / ok.len().max(1) as f64;
                    per_policy.push(decisions.into_iter().map(move |d| (d, share)));
                }
                Err(e) => {
                    let failed = requests.iter().position(|r| r.is_ok()).unwrap_or(0);
                    let failed_row = first + chunk[failed].0 as u64;
                    let mut error = Some(EvalError::from(e));
                    return chunk
                        .iter()
                        .zip(requests)
                        .enumerate()
                        .map(|(k, (&(i, _), request))| {
                            let row = first + i as u64;
                            let err = match request {
                                Err(own) => own,
                                Ok(_) if k == failed => error.take().expect("one failing row"),
                                Ok(_) => EvalError::Invalid(format!(
                                    "{}: row {row}: routed in the batch that failed at row {failed_row}",
                                    self.path
                                )),
                            };
                            (i, Err(err))
                        })
                        .collect();
                }
            }
        }
        chunk
            .iter()
            .zip(requests)
            .map(|(&(i, row), request)| {
                let row_index = first + i as u64;
                let result = request.and_then(|_| {
                    let est_tokens = outcomes::estimate_prompt_tokens(&row, self.cost);
                    let policies = per_policy
                        .iter_mut()
                        .enumerate()
                        .map(|(p, decisions)| {
                            let (decision, router_us) =
                                decisions.next().expect("one decision per built request");
                            self.cost_choice(p, &row, row_index, est_tokens, decision, router_us)
                        })
                        .collect::<Result<_>>()?;
                    Ok(RowResult {
                        table: self.table_row(&row, est_tokens),
                        policies,
                    })
                });
                (i, result)
            })
            .collect()
    }

    /// Finds the model policy `p` chose on row `row_index` and costs it (reasoning applied).
    fn cost_choice(
        &self,
        p: usize,
        row: &LogRowRef<'_>,
        row_index: u64,
        est_tokens: u64,
        decision: RouteDecision,
        router_us: f64,
    ) -> Result<PolicyResult> {
        let target = self.policies[p].router.target(&decision);
        let model = self
            .models
            .iter()
            .position(|m| m.name == target.model)
            .ok_or_else(|| {
                EvalError::Invalid(format!(
                    "{}: row {row_index}: router chose model `{}` which is not in the config's providers.models",
                    self.path, target.model
                ))
            })?;
        let spec = self.specs[p][model].unwrap_or(&self.models[model]);
        let chosen = outcomes::outcome(spec, row, est_tokens, target.use_reasoning, self.cost);
        Ok(PolicyResult {
            decision,
            model,
            chosen,
            router_us,
        })
    }

    /// The outcome of every union model on `row`, without reasoning (a row of the table).
    fn table_row(&self, row: &LogRowRef<'_>, est_tokens: u64) -> SmallVec<[Outcome; 4]> {
        outcome_row(self.models, row, est_tokens, self.cost)
    }

    /// Routes the rows of a batch in parallel (results in row order).
    fn route_batch(&self, batch: &LogBatch) -> Vec<Result<RowResult>> {
        let first = batch.first_row();
        if self.router_batch > 1 {
            // Requests of similar length share a call, so batched inference pads little.
            let mut order: Vec<(usize, LogRowRef<'_>)> =
                (0..batch.len()).map(|i| (i, batch.row(i))).collect();
            order.sort_by_key(|(_, row)| row.text().len());
            let routed: Vec<(usize, Result<RowResult>)> = order
                .par_chunks(self.router_batch)
                .flat_map_iter(|chunk| self.route_chunk(chunk, first))
                .collect();
            let mut in_order: Vec<Option<Result<RowResult>>> =
                std::iter::repeat_with(|| None).take(batch.len()).collect();
            for (i, result) in routed {
                in_order[i] = Some(result);
            }
            return in_order
                .into_iter()
                .map(|r| r.expect("every row is in one chunk"))
                .collect();
        }
        (0..batch.len())
            .into_par_iter()
            .with_min_len(PAR_MIN_ROWS)
            .map_init(RouteRequest::default, |request, i| {
                self.route_row(request, batch.row(i), first + i as u64)
            })
            .collect()
    }
}

/// A decoded batch with its rows' routing, waiting to be merged.
struct RoutedBatch {
    batch: LogBatch,
    results: Vec<Result<RowResult>>,
}

/// Appends a routed batch to `data` row by row, calling `on_row` for each. The first failing
/// row (in row order) fails the replay.
fn merge_batch(
    data: &mut ReplayData,
    policies: &[&Policy],
    batch: RoutedBatch,
    on_row: &mut OnRow<'_>,
) -> Result<()> {
    let RoutedBatch { batch, mut results } = batch;
    if let Some(bad) = results.iter().position(|r| r.is_err()) {
        return Err(results.swap_remove(bad).err().expect("checked"));
    }
    let mut routed: Vec<Routed<'_>> = Vec::with_capacity(policies.len());
    for (i, result) in results.iter().enumerate() {
        let row = batch.row(i);
        let r = result.as_ref().expect("checked");
        data.rows += 1;
        data.table.add(&r.table);
        let category = data.strings.id(row.category);
        let expected_decision = data.strings.id(row.expected_decision);
        routed.clear();
        for (p, pr) in r.policies.iter().enumerate() {
            let target = policies[p].router.target(&pr.decision);
            let predicted_category = if policies[p].uses_domain {
                data.strings.id(top_domain(&pr.decision.signals))
            } else {
                NONE_ID
            };
            let tallied = TalliedRoute {
                category,
                expected_decision,
                model: pr.model,
                decision: data.strings.id(target.decision),
                predicted_category,
                router_us: pr.router_us,
                outcome: pr.chosen,
            };
            data.runs[p].add(&tallied, &data.strings);
            data.route_time[p] += Duration::from_secs_f64(pr.router_us * 1e-6);
            data.blocked[p] += u64::from(target.blocked);
            routed.push(Routed {
                decision: &pr.decision,
                target,
                model: pr.model,
                chosen: pr.chosen,
                router_us: pr.router_us,
            });
        }
        on_row(batch.first_row() + i as u64, row, &routed)?;
    }
    drop(routed);
    // Freeing the signal matches is spread over the pool instead of this thread.
    results
        .into_par_iter()
        .with_min_len(PAR_MIN_ROWS)
        .for_each(drop);
    Ok(())
}

/// Per-row callback of [`replay`]: row index, the row, each policy's routing.
pub type OnRow<'f> = dyn FnMut(u64, LogRowRef<'_>, &[Routed<'_>]) -> Result<()> + 'f;

/// Replays `log_path` through every policy; `on_row(row_index, row, routed)` sees each request
/// with each policy's routing (in policy order) and may fail the replay.
pub fn replay(
    log_path: &Path,
    policies: &[&Policy],
    opts: &ReplayOptions,
    on_row: &mut OnRow<'_>,
) -> Result<ReplayData> {
    let start = Instant::now();
    let log = RequestLog::open(log_path, opts.batch_size)?;
    let path_str = log_path.display().to_string();
    let (models, specs) = union_models(policies);
    let mut data = ReplayData::empty(log_path, &models, policies, opts);
    let bar = replay_bar(opts.progress, log.num_rows());
    let ctx = RowContext {
        path: &path_str,
        policies,
        models: &models,
        specs: &specs,
        cost: &opts.cost,
        router_batch: opts.router_batch.max(1),
        store: opts.store.as_deref(),
    };
    pipeline(log, &ctx, &mut data, on_row, &bar)?;
    bar.finish_and_clear();
    data.wall_time = start.elapsed();
    Ok(data)
}

/// Every model any policy names (first policy first), and per policy its own spec of each of
/// them (for its prices), by union index.
type UnionModels<'p> = (Vec<ModelCostModel>, Vec<Vec<Option<&'p ModelCostModel>>>);

fn union_models<'p>(policies: &[&'p Policy]) -> UnionModels<'p> {
    let mut models: Vec<ModelCostModel> = Vec::new();
    for p in policies {
        for m in &p.models {
            if !models.iter().any(|x| x.name == m.name) {
                models.push(m.clone());
            }
        }
    }
    let specs = policies
        .iter()
        .map(|p| {
            models
                .iter()
                .map(|u| p.models.iter().find(|m| m.name == u.name))
                .collect()
        })
        .collect();
    (models, specs)
}

impl ReplayData {
    /// Nothing replayed yet: one tally per policy.
    fn empty(
        log_path: &Path,
        models: &[ModelCostModel],
        policies: &[&Policy],
        opts: &ReplayOptions,
    ) -> Self {
        ReplayData {
            log_path: log_path.to_path_buf(),
            models: models.to_vec(),
            rows: 0,
            table: TableTally::new(models.len()),
            strings: Interner::new(),
            runs: policies
                .iter()
                .map(|p| PolicyTally::new(models.len(), p.uses_domain))
                .collect(),
            blocked: vec![0; policies.len()],
            decode_time: Duration::ZERO,
            route_time: vec![Duration::ZERO; policies.len()],
            wall_time: Duration::ZERO,
            router_batch: opts.router_batch.max(1),
        }
    }
}

/// The replay's row counter (hidden unless `show`).
fn replay_bar(show: bool, rows: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(rows);
    b.set_style(
        ProgressStyle::with_template(
            "{spinner} replay [{bar:40}] {pos}/{len} rows ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    b
}

/// Decodes, routes and merges every batch of `log` into `data`.
///
/// Decoding runs one batch ahead on its own thread; the bounded channel keeps at most one decoded
/// batch waiting, so memory stays at a few batches whatever the file size. While the pool routes
/// batch k+1, this thread merges batch k (in row order, so ids, columns and the callback see
/// exactly what a sequential replay would).
fn pipeline(
    mut log: RequestLog,
    ctx: &RowContext<'_>,
    data: &mut ReplayData,
    on_row: &mut OnRow<'_>,
    bar: &ProgressBar,
) -> Result<()> {
    let policies = ctx.policies;
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(Result<LogBatch>, Duration)>(1);
        scope.spawn(move || loop {
            let t = Instant::now();
            let Some(batch) = log.next_batch() else { break };
            let failed = batch.is_err();
            if tx.send((batch, t.elapsed())).is_err() || failed {
                break;
            }
        });
        let mut pending: Option<RoutedBatch> = None;
        let mut decoded: u64 = 0;
        for (batch, decode) in rx {
            data.decode_time += decode;
            let batch = match batch {
                Ok(b) => b,
                Err(e) => {
                    // Rows before the undecodable batch are merged first, as in row order.
                    if let Some(prev) = pending.take() {
                        merge_batch(data, policies, prev, on_row)?;
                    }
                    return Err(e);
                }
            };
            decoded += batch.len() as u64;
            if let Some(store) = ctx.store {
                store.enter(batch.span())?;
            }
            let mut routed_next = None;
            let merged = rayon::in_place_scope(|s| {
                s.spawn(|_| routed_next = Some(ctx.route_batch(&batch)));
                match pending.take() {
                    Some(prev) => merge_batch(data, policies, prev, on_row),
                    None => Ok(()),
                }
            });
            merged?;
            bar.set_position(batch.first_row());
            pending = Some(RoutedBatch {
                batch,
                results: routed_next.expect("the routing task ran"),
            });
        }
        if let Some(last) = pending.take() {
            merge_batch(data, policies, last, on_row)?;
        }
        bar.set_position(decoded);
        Ok(())
    })
}

/// Decodes the log again without routing and calls `f` with the outcome of every model of
/// `models` on each request (no reasoning), in log order: for baselines that can only be
/// computed once the replay's totals are known (the sampled random router).
pub fn for_each_outcome_row(
    log_path: &Path,
    models: &[ModelCostModel],
    opts: &ReplayOptions,
    f: &mut dyn FnMut(&[Outcome]),
) -> Result<()> {
    let mut log = RequestLog::open(log_path, opts.batch_size)?;
    while let Some(batch) = log.next_batch() {
        let batch = batch?;
        for i in 0..batch.len() {
            let row = batch.row(i);
            let est_tokens = outcomes::estimate_prompt_tokens(&row, &opts.cost);
            f(&outcome_row(models, &row, est_tokens, &opts.cost));
        }
    }
    Ok(())
}

/// The outcome of every model of `models` on `row` (prompt of `est_tokens`), without
/// reasoning.
fn outcome_row(
    models: &[ModelCostModel],
    row: &LogRowRef<'_>,
    est_tokens: u64,
    cost: &CostSettings,
) -> SmallVec<[Outcome; 4]> {
    models
        .iter()
        .map(|m| outcomes::outcome(m, row, est_tokens, false, cost))
        .collect()
}

/// Decodes the whole log without routing (for timing: replay speed vs decode speed). Returns
/// the row count and the time spent.
pub fn decode_only(log_path: &Path, batch_size: usize) -> Result<(u64, Duration)> {
    let start = Instant::now();
    let mut log = RequestLog::open(log_path, batch_size)?;
    let mut n = 0u64;
    while let Some(batch) = log.next_batch() {
        n += batch?.len() as u64;
    }
    Ok((n, start.elapsed()))
}
