//! The data of a selector run (`train --task selection`, `calibrate`): a request log's rows split by request id, and their embeddings
//! (computed through router-core's embedder, kept in the signal store so a log is embedded once
//! for training, calibration and replay alike).

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use eval::log_reader::{RequestLog, RowSpan, DEFAULT_BATCH_SIZE};
use eval::log_schema::LogRow;
use eval::signal_store::SignalStore;
use indicatif::{ProgressBar, ProgressStyle};
use router_core::inference::{
    text_key, Embedder, ModelRegistry, ModelSource, Output, OutputStore, Stored,
};
use router_core::request::RouteRequest;
use serde::Serialize;

pub use datasets::split::Split;

/// `a,b,c` fractions of train / validation / test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fractions {
    /// Train share.
    pub train: f64,
    /// Validation share.
    pub validation: f64,
    /// Test share.
    pub test: f64,
}

impl std::str::FromStr for Fractions {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("`{s}`: expected three numbers, e.g. 0.7,0.15,0.15"))?;
        let [train, validation, test] = parts[..] else {
            return Err(format!(
                "`{s}`: expected three fractions (train,validation,test)"
            ));
        };
        let sum = train + validation + test;
        if parts.iter().any(|p| *p <= 0.0) || (sum - 1.0).abs() > 1e-6 {
            return Err(format!("`{s}`: fractions must be positive and sum to 1"));
        }
        Ok(Fractions {
            train,
            validation,
            test,
        })
    }
}

impl Fractions {
    /// The split of `request_id` under `seed`: a stable hash of the id (the data sets' hash), so
    /// a request keeps its split across runs, machines and log orderings.
    pub fn of(&self, seed: u64, request_id: &str) -> Split {
        let h = datasets::hashing::stable_hash(seed, request_id.as_bytes());
        let u = (h >> 11) as f64 / (1u64 << 53) as f64;
        if u < self.train {
            Split::Train
        } else if u < self.train + self.validation {
            Split::Validation
        } else {
            Split::Test
        }
    }
}

/// The usable rows of a log.
pub struct LogData {
    /// Model names, in the log's order.
    pub models: Vec<String>,
    /// Rows with a quality and a cost for every model.
    pub rows: Vec<LogRow>,
    /// The request of each row, as the router sees it.
    pub requests: Vec<RouteRequest>,
    /// Rows left out, with the first one's id and why.
    pub left_out: Vec<(String, String)>,
    /// Each decoded batch's rows in their file, and the indices in `requests` of its usable
    /// rows (what the signal store is entered with before their model outputs are asked for).
    pub batches: Vec<(RowSpan, Range<usize>)>,
}

impl LogData {
    /// Runs `f` on consecutive chunks of at most `size` requests, each within one decoded
    /// batch, after entering that batch's rows in `store`.
    pub fn for_chunks(
        &self,
        store: Option<&SignalStore>,
        size: usize,
        mut f: impl FnMut(Range<usize>) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        for (span, range) in &self.batches {
            if let Some(s) = store {
                s.enter(span)?;
            }
            let mut start = range.start;
            while start < range.end {
                let end = (start + size.max(1)).min(range.end);
                f(start..end)?;
                start = end;
            }
        }
        Ok(())
    }
}

/// Why a row cannot train a selector, if it cannot.
fn unusable(row: &LogRow, models: &[String]) -> Option<String> {
    for (m, o) in models.iter().zip(&row.outcomes) {
        if o.quality.is_none() {
            return Some(format!("`{m}|quality` is null"));
        }
        if o.cost.is_none() {
            return Some(format!("`{m}|cost` is null"));
        }
    }
    None
}

/// Reads every row of the log at `path`.
pub fn read_log(path: &Path) -> anyhow::Result<LogData> {
    let mut log = RequestLog::open(path, 4096)?;
    let models = log.models();
    if models.len() < 2 {
        anyhow::bail!(
            "{}: a selector chooses among models; the log has {} ({models:?})",
            path.display(),
            models.len()
        );
    }
    let shown = path.display().to_string();
    let mut data = LogData {
        models,
        rows: Vec::new(),
        requests: Vec::new(),
        left_out: Vec::new(),
        batches: Vec::new(),
    };
    while let Some(batch) = log.next_batch() {
        let batch = batch?;
        let start = data.requests.len();
        for r in 0..batch.len() {
            let view = batch.row(r);
            let row = view.to_row();
            if let Some(why) = unusable(&row, &data.models) {
                data.left_out.push((row.request_id, why));
                continue;
            }
            data.requests
                .push(view.route_request(&shown, batch.first_row() + r as u64)?);
            data.rows.push(row);
        }
        data.batches
            .push((batch.span().clone(), start..data.requests.len()));
    }
    Ok(data)
}

/// Unit-length embeddings of the requests' user text by the model at `model_dir` (what the
/// router embeds), read from and kept in `store` (the output store of `registry`) when given.
pub fn embed_all(
    registry: &ModelRegistry,
    store: Option<&SignalStore>,
    model_dir: &Path,
    data: &LogData,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let requests = &data.requests;
    let src = ModelSource::Dir(model_dir.to_path_buf());
    let embedder: Stored<Embedder> = Stored::new(
        registry
            .embedder(&src)
            .with_context(|| format!("loading the embedding model {}", model_dir.display()))?,
        registry.memo("embedding", &src)?,
    );
    let bar = ProgressBar::new(requests.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} embedding [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let mut out = Vec::with_capacity(requests.len());
    data.for_chunks(store, 256, |chunk| {
        let refs: Vec<&str> = requests[chunk.clone()]
            .iter()
            .map(RouteRequest::user_text)
            .collect();
        out.extend(embedder.embed_batch(&refs)?);
        bar.inc(chunk.len() as u64);
        Ok(())
    })?;
    bar.finish_and_clear();
    Ok(out)
}

/// Keeps the embeddings of the rows `rows` of `data` (`emb`, by row of `data`) in `store` as
/// outputs for the log at `path`, which `write_split_log` wrote from these
/// rows in this order: replaying or calibrating on a split then reads them instead of
/// embedding its requests again.
pub fn store_split_embeddings(
    registry: &ModelRegistry,
    store: &SignalStore,
    model_dir: &Path,
    split: (&Path, &[usize]),
    data: &LogData,
    emb: &[Vec<f32>],
) -> anyhow::Result<()> {
    let (path, rows) = split;
    let src = ModelSource::Dir(model_dir.to_path_buf());
    let Some(memo) = registry.memo("embedding", &src)? else {
        return Ok(());
    };
    let file: Arc<Path> = Arc::from(path);
    for (i, chunk) in rows.chunks(DEFAULT_BATCH_SIZE).enumerate() {
        store.enter(&RowSpan {
            file: Arc::clone(&file),
            first: (i * DEFAULT_BATCH_SIZE) as u64,
            rows: chunk.len() as u64,
        })?;
        for &r in chunk {
            let key = text_key(data.requests[r].user_text());
            store.put(memo.model(), key, Output::Scores(emb[r].clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_parse_and_split_stably() {
        let f: Fractions = "0.7,0.15,0.15".parse().unwrap();
        assert!("0.7,0.3".parse::<Fractions>().is_err());
        assert!("0.7,0.2,0.2".parse::<Fractions>().is_err());
        let ids: Vec<String> = (0..10_000).map(|i| format!("req-{i}")).collect();
        let test = ids.iter().filter(|i| f.of(7, i) == Split::Test).count();
        // 15% ± 1% of 10k.
        assert!((1400..1600).contains(&test), "{test}");
        assert!(ids.iter().all(|i| f.of(7, i) == f.of(7, i)));
        let other_seed = ids.iter().filter(|i| f.of(7, i) != f.of(8, i)).count();
        assert!(other_seed > 3000, "{other_seed}");
    }
}
