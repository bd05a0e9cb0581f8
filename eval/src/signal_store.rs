//! The signal store: model outputs kept on disk so that a replay runs each model once per
//! request, and sweeps, compares and gates then replay at rule speed.
//!
//! Layout: one folder per model identity ([`ModelId::name`]: kind, content hash of the model
//! files, max length) holding `model.json` (the identity) and, per log file (its sha256), the
//! parts of that file: `<sha256>/part-<first>-<end>-<unique>.parquet` holds the outputs computed
//! for rows `first..end` of the file, with columns `key` (sha256 of the input text, 32 bytes),
//! `scores` (class probabilities or the sentence embedding; list of f32) and `entities` (token
//! classifier entities as JSON).
//!
//! A replay enters each decoded batch's [`RowSpan`] before routing it ([`SignalStore::enter`]):
//! the parts overlapping those rows are read, outputs are looked up by text key among them, and
//! what the models compute is written as a new part of that span, every `flush_rows` outputs
//! and when the next span is entered. Memory holds one batch of outputs whatever the log's
//! size; a killed run keeps every completed part, and the next run computes only the rest. A
//! file's identity is its content, so a served-log folder that gains a file keeps the parts of
//! the others. Rules, thresholds and candidate lists are applied to the outputs at replay
//! (router-core's signal code, unchanged), so they are never part of the identity; a
//! re-export of a model changes its content hash and so its folder.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow::array::{
    Array, ArrayRef, AsArray, FixedSizeBinaryArray, Float32Builder, ListBuilder, StringArray,
};
use arrow::datatypes::{DataType, Field, Float32Type, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use router_core::inference::{Entity, ModelId, Output, OutputStore, TextKey};
use serde::{Deserialize, Serialize};

use crate::atomic::{write_atomic, AtomicParquet};
use crate::log_reader::RowSpan;
use crate::{EvalError, Result};

/// New outputs per part file.
pub const FLUSH_ROWS: usize = 4096;

/// What a run did with one model's outputs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelUse {
    /// `sequence`, `token` or `embedding`.
    pub kind: String,
    /// Content hash of the model's files.
    pub content: String,
    /// Tokens per input after truncation.
    pub max_length: usize,
    /// Where the model was loaded from.
    pub dir: String,
    /// Outputs in the parts the run read that were there when it started.
    pub stored: u64,
    /// Outputs read from the store.
    pub read: u64,
    /// Outputs computed by the model (and added to the store).
    pub computed: u64,
}

/// What a run did with the store (recorded in `report.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreUse {
    /// The store's folder.
    pub dir: String,
    /// Per model folder name.
    pub models: BTreeMap<String, ModelUse>,
}

/// One part file: the outputs computed for rows `first..end` of a log file.
#[derive(Debug, Clone)]
struct Part {
    first: u64,
    end: u64,
    path: PathBuf,
}

/// The rows entered last: a log file's sha256 and a row range of it.
#[derive(Debug, Clone)]
struct Entered {
    digest: String,
    first: u64,
    end: u64,
}

/// One model's outputs for the entered span, and what the run did with them.
#[derive(Default)]
struct Entries {
    /// Outputs of the entered span (read from its parts or computed).
    current: HashMap<TextKey, Output>,
    /// Computed outputs not yet written.
    pending: Vec<(TextKey, Output)>,
    /// Parts per log-file digest, sorted by first row (listed on first use).
    parts: HashMap<String, Vec<Part>>,
    /// Parts whose outputs are already counted in `usage.stored`, or written by this run.
    counted: HashSet<PathBuf>,
    usage: ModelUse,
}

#[derive(Default)]
struct State {
    models: HashMap<String, Entries>,
    /// sha256 of each log file entered so far.
    digests: HashMap<Arc<Path>, String>,
    entered: Option<Entered>,
}

/// A signal store folder, shared by the routers of one run.
pub struct SignalStore {
    dir: PathBuf,
    flush_rows: usize,
    state: Mutex<State>,
    /// The first error of a part written from [`OutputStore::put`] (reported by `finish`).
    failed: Mutex<Option<EvalError>>,
}

impl std::fmt::Debug for SignalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("key", DataType::FixedSizeBinary(32), false),
        Field::new(
            "scores",
            DataType::List(Arc::new(Field::new("item", DataType::Float32, true))),
            true,
        ),
        Field::new("entities", DataType::Utf8, true),
    ]))
}

impl SignalStore {
    /// The store in `dir` (created when missing).
    pub fn open(dir: &Path) -> Result<Arc<SignalStore>> {
        Self::with_flush_rows(dir, FLUSH_ROWS)
    }

    /// [`SignalStore::open`] writing a part every `flush_rows` new outputs.
    pub fn with_flush_rows(dir: &Path, flush_rows: usize) -> Result<Arc<SignalStore>> {
        std::fs::create_dir_all(dir).map_err(|e| EvalError::io(dir, e))?;
        Ok(Arc::new(SignalStore {
            dir: dir.to_path_buf(),
            flush_rows: flush_rows.max(1),
            state: Mutex::new(State::default()),
            failed: Mutex::new(None),
        }))
    }

    /// Makes `span` the rows whose outputs are looked up and stored next: writes what the
    /// previous span computed, then reads every part of `span`'s file that overlaps its rows.
    pub fn enter(&self, span: &RowSpan) -> Result<()> {
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        self.flush_all(state)?;
        if state.models.is_empty() {
            // No model signal (a rule-only config): nothing to read, no file to hash.
            state.entered = None;
            return Ok(());
        }
        let digest = match state.digests.get(&span.file) {
            Some(d) => d.clone(),
            None => {
                let d = crate::evaluate::sha256_file(&span.file)?;
                state.digests.insert(Arc::clone(&span.file), d.clone());
                d
            }
        };
        let entered = Entered {
            digest,
            first: span.first,
            end: span.first + span.rows,
        };
        for (name, e) in state.models.iter_mut() {
            e.current.clear();
            self.load_span(name, e, &entered)?;
        }
        state.entered = Some(entered);
        Ok(())
    }

    /// Writes what is pending and says what the run did.
    pub fn finish(&self) -> Result<StoreUse> {
        let mut state = lock(&self.state);
        self.flush_all(&mut state)?;
        if let Some(e) = lock(&self.failed).take() {
            return Err(e);
        }
        Ok(StoreUse {
            dir: self.dir.display().to_string(),
            models: state
                .models
                .iter()
                .map(|(n, e)| (n.clone(), e.usage.clone()))
                .collect(),
        })
    }

    fn model_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes every model's pending outputs as parts of the entered span.
    fn flush_all(&self, state: &mut State) -> Result<()> {
        let State {
            models, entered, ..
        } = state;
        for (name, e) in models.iter_mut() {
            if let Some(at) = entered.as_ref() {
                self.flush(name, e, at)?;
            }
        }
        Ok(())
    }

    /// Reads the parts of `name` overlapping `at` into `e.current`.
    fn load_span(&self, name: &str, e: &mut Entries, at: &Entered) -> Result<()> {
        if !e.parts.contains_key(&at.digest) {
            let listed = list_parts(&self.model_dir(name).join(&at.digest))?;
            e.parts.insert(at.digest.clone(), listed);
        }
        let parts = &e.parts[&at.digest];
        // Parts are sorted by first row; those starting at or after `at.end` cannot overlap.
        let upto = parts.partition_point(|p| p.first < at.end);
        for part in parts[..upto].iter().filter(|p| p.end > at.first) {
            let n = read_part(&part.path, &mut e.current)?;
            if e.counted.insert(part.path.clone()) {
                e.usage.stored += n;
            }
        }
        Ok(())
    }

    /// Writes `e`'s pending outputs as one new part of the rows `at`.
    fn flush(&self, name: &str, e: &mut Entries, at: &Entered) -> Result<()> {
        if e.pending.is_empty() {
            return Ok(());
        }
        // Unique across processes and runs: the time, the process and a counter.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let folder = self.model_dir(name).join(&at.digest);
        std::fs::create_dir_all(&folder).map_err(|err| EvalError::io(&folder, err))?;
        let file = format!(
            "part-{:012}-{:012}-{ms:013}-{}-{seq}.parquet",
            at.first,
            at.end,
            std::process::id()
        );
        let path = folder.join(file);
        let rows = std::mem::take(&mut e.pending);
        write_part(&path, &rows)?;
        e.counted.insert(path.clone());
        let parts = e.parts.entry(at.digest.clone()).or_default();
        let i = parts.partition_point(|p| p.first <= at.first);
        parts.insert(
            i,
            Part {
                first: at.first,
                end: at.end,
                path,
            },
        );
        Ok(())
    }

    /// Writes `model.json` and starts `model`'s entries.
    fn start(&self, name: &str, model: &ModelId) -> Result<Entries> {
        let dir = self.model_dir(name);
        std::fs::create_dir_all(&dir).map_err(|e| EvalError::io(&dir, e))?;
        let id = serde_json::to_vec_pretty(model).expect("a model id serialises");
        write_atomic(&dir.join("model.json"), &id)?;
        Ok(Entries {
            usage: ModelUse {
                kind: model.kind.to_string(),
                content: model.content.clone(),
                max_length: model.max_length,
                dir: model.dir.clone(),
                ..ModelUse::default()
            },
            ..Entries::default()
        })
    }
}

/// The parts in `folder` (none when it does not exist), sorted by first row. Hidden files (a
/// part still being written) are left out; a `part-*.parquet` name that is not one of ours
/// fails with its path.
fn list_parts(folder: &Path) -> Result<Vec<Part>> {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(EvalError::io(folder, e)),
    };
    let mut parts = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| EvalError::io(folder, e))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !(name.starts_with("part-") && name.ends_with(".parquet")) {
            continue;
        }
        let mut fields = name["part-".len()..].split('-');
        let mut row = || fields.next().and_then(|f| f.parse::<u64>().ok());
        let (Some(first), Some(end)) = (row(), row()) else {
            return Err(EvalError::Format {
                path: path.display().to_string(),
                message: "not a signal-store part name (part-<first>-<end>-….parquet)".into(),
            });
        };
        parts.push(Part { first, end, path });
    }
    parts.sort_by(|a, b| (a.first, &a.path).cmp(&(b.first, &b.path)));
    Ok(parts)
}

/// Writes `rows` as one part at `path` (a temporary name renamed once complete).
fn write_part(path: &Path, rows: &[(TextKey, Output)]) -> Result<()> {
    let keys = FixedSizeBinaryArray::try_from_iter(rows.iter().map(|(k, _)| k.to_vec()))
        .map_err(|err| EvalError::parquet(path, err))?;
    let mut scores = ListBuilder::new(Float32Builder::new());
    let mut entities: Vec<Option<String>> = Vec::with_capacity(rows.len());
    for (_, out) in rows {
        match out {
            Output::Scores(v) => {
                scores.append_value(v.iter().map(|x| Some(*x)));
                entities.push(None);
            }
            Output::Entities(v) => {
                scores.append_null();
                let json = serde_json::to_string(v).map_err(|err| EvalError::Format {
                    path: path.display().to_string(),
                    message: err.to_string(),
                })?;
                entities.push(Some(json));
            }
        }
    }
    let mut w = AtomicParquet::create(path, schema())?;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(keys),
        Arc::new(scores.finish()),
        Arc::new(StringArray::from(entities)),
    ];
    w.write(columns)?;
    w.finish()
}

/// What [`compute`] does.
pub struct ComputeOptions<'a> {
    /// The routing config (its model signals are computed).
    pub config: &'a Path,
    /// `--model` mappings.
    pub model_maps: &'a [router_core::config::ModelMap],
    /// The request log (a file or a folder).
    pub log: &'a Path,
    /// The store folder.
    pub store: &'a Path,
    /// Replay settings (batching, progress).
    pub replay: &'a crate::replay::ReplayOptions,
    /// New outputs per part file ([`FLUSH_ROWS`] by default).
    pub part_rows: usize,
}

/// Computes the model outputs of every request of a log into the store (those it lacks): a
/// replay whose routing is discarded. Returns the rows replayed and what was stored.
pub fn compute(opts: &ComputeOptions<'_>) -> Result<(u64, StoreUse)> {
    use crate::replay::{replay, LogModels, Policy};
    let store = SignalStore::with_flush_rows(opts.store, opts.part_rows)?;
    let registry = crate::evaluate::registry_with(Some(Arc::clone(&store)));
    let log_models = LogModels::of(opts.log)?;
    let policy = Policy::load(
        opts.config,
        opts.model_maps,
        &registry,
        &log_models,
        opts.log,
        true,
        None,
    )?;
    let replay_opts = opts.replay.clone().with_store(Some(Arc::clone(&store)));
    let data = replay(opts.log, &[&policy], &replay_opts, &mut |_, _, _| Ok(()))?;
    Ok((data.rows, store.finish()?))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reads one part into `out` and returns its row count; a part that is not one of ours fails
/// with its path.
fn read_part(path: &Path, out: &mut HashMap<TextKey, Output>) -> Result<u64> {
    let file = std::fs::File::open(path).map_err(|e| EvalError::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| EvalError::parquet(path, e))?;
    let bad = |message: String| EvalError::Format {
        path: path.display().to_string(),
        message,
    };
    let mut n = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| EvalError::parquet(path, e))?;
        let (Some(keys), Some(scores), Some(entities)) = (
            batch
                .column_by_name("key")
                .and_then(|c| c.as_fixed_size_binary_opt()),
            batch
                .column_by_name("scores")
                .and_then(|c| c.as_list_opt::<i32>()),
            batch
                .column_by_name("entities")
                .and_then(|c| c.as_string_opt::<i32>()),
        ) else {
            return Err(bad(
                "not a signal-store part (columns key, scores, entities)".into(),
            ));
        };
        for row in 0..batch.num_rows() {
            let key: TextKey = keys
                .value(row)
                .try_into()
                .map_err(|_| bad(format!("row {row}: key is not 32 bytes")))?;
            let output = if !scores.is_null(row) {
                Output::Scores(
                    scores
                        .value(row)
                        .as_primitive::<Float32Type>()
                        .values()
                        .to_vec(),
                )
            } else if !entities.is_null(row) {
                let v: Vec<Entity> = serde_json::from_str(entities.value(row))
                    .map_err(|e| bad(format!("row {row}: entities: {e}")))?;
                Output::Entities(v)
            } else {
                return Err(bad(format!("row {row}: neither scores nor entities")));
            };
            out.insert(key, output);
        }
        n += batch.num_rows() as u64;
    }
    Ok(n)
}

impl OutputStore for SignalStore {
    fn prepare(&self, model: &ModelId) -> router_core::Result<()> {
        let name = model.name();
        let mut state = lock(&self.state);
        if state.models.contains_key(&name) {
            return Ok(());
        }
        let config_err = |e: EvalError| router_core::Error::Config {
            location: format!("signal store {}", self.dir.display()),
            message: e.to_string(),
        };
        let mut entries = self.start(&name, model).map_err(config_err)?;
        if let Some(at) = state.entered.clone() {
            self.load_span(&name, &mut entries, &at)
                .map_err(config_err)?;
        }
        state.models.insert(name, entries);
        Ok(())
    }

    fn get(&self, model: &ModelId, key: &TextKey) -> Option<Output> {
        let mut state = lock(&self.state);
        let e = state.models.get_mut(&model.name())?;
        let found = e.current.get(key).cloned();
        if found.is_some() {
            e.usage.read += 1;
        }
        found
    }

    fn put(&self, model: &ModelId, key: TextKey, output: Output) {
        let name = model.name();
        let mut guard = lock(&self.state);
        let State {
            models, entered, ..
        } = &mut *guard;
        let Some(e) = models.get_mut(&name) else {
            return;
        };
        let Some(at) = entered.as_ref() else {
            lock(&self.failed).get_or_insert(EvalError::Format {
                path: self.dir.display().to_string(),
                message: "a model output was computed outside any span of log rows \
                          (SignalStore::enter was not called)"
                    .into(),
            });
            return;
        };
        e.usage.computed += 1;
        e.current.insert(key, output.clone());
        e.pending.push((key, output));
        if e.pending.len() >= self.flush_rows {
            if let Err(err) = self.flush(&name, e, at) {
                lock(&self.failed).get_or_insert(err);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> ModelId {
        ModelId {
            kind: "sequence",
            content: "c".into(),
            max_length: 8,
            dir: "m".into(),
        }
    }

    fn span(file: &Path, first: u64, rows: u64) -> RowSpan {
        RowSpan {
            file: Arc::from(file),
            first,
            rows,
        }
    }

    /// Memory holds the entered span's outputs only: an output of another span is read from
    /// its part when that span is entered again, not kept.
    #[test]
    fn only_the_entered_span_is_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log.parquet");
        std::fs::write(&log, b"rows").unwrap();
        let store = SignalStore::open(&dir.path().join("s")).unwrap();
        let m = model();
        store.prepare(&m).unwrap();
        let (a, b) = ([1u8; 32], [2u8; 32]);
        store.enter(&span(&log, 0, 10)).unwrap();
        store.put(&m, a, Output::Scores(vec![0.5]));
        assert_eq!(store.get(&m, &a), Some(Output::Scores(vec![0.5])));
        store.enter(&span(&log, 10, 10)).unwrap();
        assert_eq!(store.get(&m, &a), None);
        store.put(&m, b, Output::Scores(vec![0.25]));
        // Rows 5..15 overlap both parts.
        store.enter(&span(&log, 5, 10)).unwrap();
        assert_eq!(store.get(&m, &a), Some(Output::Scores(vec![0.5])));
        assert_eq!(store.get(&m, &b), Some(Output::Scores(vec![0.25])));
        store.enter(&span(&log, 20, 5)).unwrap();
        assert_eq!(store.get(&m, &b), None);
        let used = store.finish().unwrap();
        let u = &used.models[&m.name()];
        // Both parts were written by this run: nothing was stored before it.
        assert_eq!((u.stored, u.read, u.computed), (0, 3, 2));

        // A new run over another file with equal content finds the same parts.
        let copy = dir.path().join("copy.parquet");
        std::fs::copy(&log, &copy).unwrap();
        let again = SignalStore::open(&dir.path().join("s")).unwrap();
        again.prepare(&m).unwrap();
        again.enter(&span(&copy, 0, 20)).unwrap();
        assert_eq!(again.get(&m, &b), Some(Output::Scores(vec![0.25])));
        let u = again.finish().unwrap().models[&m.name()].clone();
        assert_eq!((u.stored, u.read, u.computed), (2, 1, 0));
    }

    /// A rule-only config prepares no model: entering a span reads and hashes nothing (the
    /// file need not even exist).
    #[test]
    fn without_models_a_span_costs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = SignalStore::open(dir.path()).unwrap();
        store
            .enter(&span(&dir.path().join("missing.parquet"), 0, 8))
            .unwrap();
        assert!(store.finish().unwrap().models.is_empty());
    }

    #[test]
    fn an_output_outside_any_span_fails_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let store = SignalStore::open(dir.path()).unwrap();
        let m = model();
        store.prepare(&m).unwrap();
        store.put(&m, [0; 32], Output::Scores(vec![1.0]));
        let err = store.finish().unwrap_err().to_string();
        assert!(err.contains("SignalStore::enter"), "{err}");
    }
}
