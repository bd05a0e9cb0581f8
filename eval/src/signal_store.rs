//! The signal store: model outputs kept on disk so that a replay runs each model once per
//! distinct input text, and sweeps, compares and gates then replay at rule speed.
//!
//! Layout: one folder per model identity ([`ModelId::name`]: kind, content hash of the model
//! files, max length) holding `model.json` (the identity) and `part-*.parquet` files with columns
//! `key` (sha256 of the input text, 32 bytes), `scores` (class probabilities or the sentence
//! embedding; list of f32) and `entities` (token classifier entities as JSON). A part is written
//! to a temporary name and renamed once complete, every [`FLUSH_ROWS`] new outputs and at
//! [`SignalStore::finish`]: a killed run keeps every completed part, and the next run computes
//! only the rest. Rules, thresholds and candidate lists are applied to the outputs at replay
//! (router-core's signal code, unchanged), so they are never part of the identity; a re-export
//! of a model changes its content hash and so its folder.

use std::collections::{BTreeMap, HashMap};
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
    /// Outputs found in the store when the run started.
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

#[derive(Default)]
struct Entries {
    outputs: HashMap<TextKey, Output>,
    pending: Vec<(TextKey, Output)>,
    usage: ModelUse,
}

/// A signal store folder, shared by the routers of one run.
pub struct SignalStore {
    dir: PathBuf,
    flush_rows: usize,
    models: Mutex<HashMap<String, Entries>>,
    /// The first error of a part written from [`OutputStore::put`] (reported by `finish`).
    failed: Mutex<Option<EvalError>>,
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
            models: Mutex::new(HashMap::new()),
            failed: Mutex::new(None),
        }))
    }

    /// Writes what is pending and says what the run did.
    pub fn finish(&self) -> Result<StoreUse> {
        let mut models = lock(&self.models);
        for (name, e) in models.iter_mut() {
            self.flush(name, e)?;
        }
        if let Some(e) = lock(&self.failed).take() {
            return Err(e);
        }
        Ok(StoreUse {
            dir: self.dir.display().to_string(),
            models: models
                .iter()
                .map(|(n, e)| (n.clone(), e.usage.clone()))
                .collect(),
        })
    }

    fn model_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes `e`'s pending outputs as one new part.
    fn flush(&self, name: &str, e: &mut Entries) -> Result<()> {
        if e.pending.is_empty() {
            return Ok(());
        }
        // Unique across processes and runs: the time, the process and a counter.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let file = format!("part-{ms:013}-{}-{seq}.parquet", std::process::id());
        let path = self.model_dir(name).join(file);
        let rows = std::mem::take(&mut e.pending);
        let keys = FixedSizeBinaryArray::try_from_iter(rows.iter().map(|(k, _)| k.to_vec()))
            .map_err(|err| EvalError::parquet(&path, err))?;
        let mut scores = ListBuilder::new(Float32Builder::new());
        let mut entities: Vec<Option<String>> = Vec::with_capacity(rows.len());
        for (_, out) in &rows {
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
        let mut w = AtomicParquet::create(&path, schema())?;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(keys),
            Arc::new(scores.finish()),
            Arc::new(StringArray::from(entities)),
        ];
        w.write(columns)?;
        w.finish()
    }

    /// Loads every part of model `name`.
    fn load(&self, name: &str, model: &ModelId) -> Result<Entries> {
        let dir = self.model_dir(name);
        let manifest = dir.join("model.json");
        std::fs::create_dir_all(&dir).map_err(|e| EvalError::io(&dir, e))?;
        let id = serde_json::to_vec_pretty(model).expect("a model id serialises");
        write_atomic(&manifest, &id)?;
        let mut parts: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| EvalError::io(&dir, e))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("part-") && n.ends_with(".parquet"))
            })
            .collect();
        parts.sort();
        let mut e = Entries::default();
        for part in parts {
            read_part(&part, &mut e.outputs)?;
        }
        e.usage = ModelUse {
            kind: model.kind.to_string(),
            content: model.content.clone(),
            max_length: model.max_length,
            dir: model.dir.clone(),
            stored: e.outputs.len() as u64,
            ..ModelUse::default()
        };
        Ok(e)
    }
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
    )?;
    let data = replay(opts.log, &[&policy], opts.replay, &mut |_, _, _| Ok(()))?;
    Ok((data.runs[0].len() as u64, store.finish()?))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reads one part into `out`; a part that is not one of ours fails with its path.
fn read_part(path: &Path, out: &mut HashMap<TextKey, Output>) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|e| EvalError::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| EvalError::parquet(path, e))?;
    let bad = |message: String| EvalError::Format {
        path: path.display().to_string(),
        message,
    };
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
    }
    Ok(())
}

impl OutputStore for SignalStore {
    fn prepare(&self, model: &ModelId) -> router_core::Result<()> {
        let name = model.name();
        let mut models = lock(&self.models);
        if models.contains_key(&name) {
            return Ok(());
        }
        let entries = self
            .load(&name, model)
            .map_err(|e| router_core::Error::Config {
                location: format!("signal store {}", self.dir.display()),
                message: e.to_string(),
            })?;
        models.insert(name, entries);
        Ok(())
    }

    fn get(&self, model: &ModelId, key: &TextKey) -> Option<Output> {
        let mut models = lock(&self.models);
        let e = models.get_mut(&model.name())?;
        let found = e.outputs.get(key).cloned();
        if found.is_some() {
            e.usage.read += 1;
        }
        found
    }

    fn put(&self, model: &ModelId, key: TextKey, output: Output) {
        let name = model.name();
        let mut models = lock(&self.models);
        let Some(e) = models.get_mut(&name) else {
            return;
        };
        e.usage.computed += 1;
        e.outputs.insert(key, output.clone());
        e.pending.push((key, output));
        if e.pending.len() >= self.flush_rows {
            if let Err(err) = self.flush(&name, e) {
                lock(&self.failed).get_or_insert(err);
            }
        }
    }
}
