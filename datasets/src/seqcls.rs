//! Sequence-classification files: columns `text`, `label`, `group`, `source` (all Utf8).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use crate::error::{Error, Result};
use crate::manifest::{bump, Counts, OutputRecord};
use crate::parquet_io::write_parquet_atomic;
use crate::sources::sha256_file;
use crate::split::Split;

/// Column with the input text.
pub const TEXT: &str = "text";
/// Column with the class label.
pub const LABEL: &str = "label";
/// Column with the template / source group id (no group spans two splits where grouped).
pub const GROUP: &str = "group";
/// Column naming where the row came from.
pub const SOURCE: &str = "source";

/// One labelled text (field order = sort order of the written files).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TextRow {
    /// Class label.
    pub label: String,
    /// Group id.
    pub group: String,
    /// Input text.
    pub text: String,
    /// Source id.
    pub source: String,
}

/// The Arrow schema of a sequence-classification file.
pub fn schema() -> Schema {
    Schema::new(vec![
        Field::new(TEXT, DataType::Utf8, false),
        Field::new(LABEL, DataType::Utf8, false),
        Field::new(GROUP, DataType::Utf8, false),
        Field::new(SOURCE, DataType::Utf8, false),
    ])
}

/// Builds a batch from rows (in the given order).
pub fn to_batch(rows: &[TextRow]) -> Result<RecordBatch> {
    let col = |f: fn(&TextRow) -> &str| {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f))) as arrow::array::ArrayRef
    };
    RecordBatch::try_new(
        Arc::new(schema()),
        vec![
            col(|r| &r.text),
            col(|r| &r.label),
            col(|r| &r.group),
            col(|r| &r.source),
        ],
    )
    .map_err(|e| Error::Parquet {
        path: "<in memory>".into(),
        message: e.to_string(),
    })
}

/// Writes `<prefix>_<split>.parquet` for every split (rows sorted by label, group, text) and
/// returns the output records and `split -> label -> rows` counts.
pub fn write_splits(
    dir: &Path,
    prefix: &str,
    mut splits: BTreeMap<Split, Vec<TextRow>>,
) -> Result<(Vec<OutputRecord>, Counts)> {
    let mut outputs = Vec::new();
    let mut counts = BTreeMap::new();
    for split in Split::ALL {
        let rows = splits.entry(split).or_default();
        rows.sort();
        let file = format!("{prefix}_{}.parquet", split.name());
        let path = dir.join(&file);
        write_parquet_atomic(&path, &to_batch(rows)?, &[])?;
        for r in rows.iter() {
            bump(&mut counts, split.name(), &r.label);
        }
        outputs.push(OutputRecord {
            file,
            sha256: sha256_file(&path)?,
            rows: rows.len(),
        });
    }
    Ok((outputs, counts))
}
