//! `--request-log DIR`: the traffic serve routed, recorded as a served request log
//! (`request-log/v2`, [`eval::served_log`]) that `routelab eval -l DIR` replays.
//!
//! Handlers hand a [`ServedRecord`] to [`Recorder::record`], which never blocks: a bounded
//! channel feeds one writer thread, and a record that finds the channel full is dropped and
//! counted (`routelab_request_log_dropped_total`). The thread writes
//! `requests-<unix ms>-<seq>.parquet` files, each under a hidden temporary name until it is
//! finished and renamed; it starts a new file after `max_rows` rows, after `max_age`, and when
//! the served config's model list changes. A crash loses at most the open file's rows.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use eval::served_log::{PromptColumns, ServedLogWriter, ServedRecord};
use router_core::request::RouteRequest;

use super::metrics::Metrics;

/// What a served log keeps of each conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PromptMode {
    /// The conversation as OpenAI JSON (replayable).
    Full,
    /// Only its sha256 (counts and joins, not replayable).
    Hash,
    /// Nothing of it (not replayable).
    None,
}

/// Where and how the traffic is recorded.
#[derive(Debug, Clone)]
pub struct RecorderSettings {
    /// The log folder.
    pub dir: PathBuf,
    /// Rows per file.
    pub max_rows: usize,
    /// Longest time a file stays open.
    pub max_age: Duration,
    /// What is kept of each conversation.
    pub prompts: PromptMode,
}

/// Records queued for the writer thread at most.
const QUEUE: usize = 8192;

/// One record and the model list of the config that served it.
type Job = (ServedRecord, Arc<[String]>);

/// The handle handlers record through; [`Recorder::close`] finishes the open file.
pub struct Recorder {
    prompts: PromptMode,
    tx: Mutex<Option<SyncSender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    metrics: Arc<Metrics>,
}

impl Recorder {
    /// Creates the folder and starts the writer thread.
    pub fn start(settings: RecorderSettings, metrics: Arc<Metrics>) -> anyhow::Result<Recorder> {
        std::fs::create_dir_all(&settings.dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create the request-log folder {}: {e}",
                settings.dir.display()
            )
        })?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(QUEUE);
        let prompts = settings.prompts;
        let m = metrics.clone();
        let thread = std::thread::Builder::new()
            .name("request-log".into())
            .spawn(move || write_loop(&settings, &rx, &m))?;
        Ok(Recorder {
            prompts,
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            metrics,
        })
    }

    /// The conversation fields of a record under the prompt mode: (`messages`, `prompt_sha256`).
    pub fn conversation(&self, request: &RouteRequest) -> (Option<String>, Option<String>) {
        if self.prompts == PromptMode::None {
            return (None, None);
        }
        let json = request.to_openai_json().to_string();
        match self.prompts {
            PromptMode::Full => (Some(json), None),
            _ => (None, Some(router_core::digest::sha256_hex(json.as_bytes()))),
        }
    }

    /// Queues a record for the writer; drops (and counts) it when the queue is full.
    pub fn record(&self, record: ServedRecord, models: Arc<[String]>) {
        let guard = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        let Some(tx) = guard.as_ref() else { return };
        match tx.try_send((record, models)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.metrics.request_log_dropped();
            }
        }
    }

    /// Stops accepting records, writes what is queued and finishes the open file.
    pub fn close(&self) {
        drop(self.tx.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The open file, when one is.
struct Open {
    writer: ServedLogWriter,
    opened: Instant,
}

fn write_loop(settings: &RecorderSettings, rx: &Receiver<Job>, metrics: &Metrics) {
    let mut open: Option<Open> = None;
    let mut seq = 0u64;
    let columns = match settings.prompts {
        PromptMode::Full => PromptColumns::Full,
        _ => PromptColumns::Hashed,
    };
    loop {
        let job = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(job) => Some(job),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let expired = open
            .as_ref()
            .is_some_and(|o| o.opened.elapsed() >= settings.max_age);
        let other_models = match (&open, &job) {
            (Some(o), Some((_, models))) => o.writer.models() != &models[..],
            _ => false,
        };
        if expired || other_models {
            finish(open.take(), metrics);
        }
        let Some((record, models)) = job else {
            continue;
        };
        if open.is_none() {
            seq += 1;
            let path = settings
                .dir
                .join(format!("requests-{}-{seq:06}.parquet", unix_ms()));
            match ServedLogWriter::create(&path, &models, columns) {
                Ok(writer) => {
                    open = Some(Open {
                        writer,
                        opened: Instant::now(),
                    })
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot start a request-log file; record dropped");
                    metrics.request_log_dropped();
                    continue;
                }
            }
        }
        let o = open.as_mut().expect("opened above");
        if let Err(e) = o.writer.push(record) {
            tracing::error!(error = %e, "request-log write failed; record dropped");
            metrics.request_log_dropped();
        }
        if o.writer.len() >= settings.max_rows {
            finish(open.take(), metrics);
        }
    }
    finish(open, metrics);
}

fn finish(open: Option<Open>, metrics: &Metrics) {
    let Some(o) = open else { return };
    let rows = o.writer.len();
    match o.writer.finish() {
        Ok(()) => {
            metrics.request_log_rows(rows);
            tracing::debug!(rows, "request-log file finished");
        }
        Err(e) => {
            tracing::error!(error = %e, rows, "request-log file could not be finished; its rows are lost");
            for _ in 0..rows {
                metrics.request_log_dropped();
            }
        }
    }
}
