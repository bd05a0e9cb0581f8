//! Parquet output with fixed writer settings, written atomically (temp file + rename).

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};

use crate::error::{Error, Result};

/// Rows per row group (fixed so that the bytes depend only on the data).
pub const ROW_GROUP_ROWS: usize = 4096;
/// ZSTD level of every column.
pub const ZSTD_LEVEL: i32 = 9;
/// `created_by` written into every file (no library version, so bytes stay stable).
pub const CREATED_BY: &str = "routelab-datasets";

fn parquet_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Writes `batch` to `path` through `path.tmp` and a rename, with the fixed writer settings
/// and the given extra key-value metadata.
pub fn write_parquet_atomic(
    path: &Path,
    batch: &RecordBatch,
    key_value: &[(&str, &str)],
) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
    }
    let tmp = temp_path(path);
    let level = ZstdLevel::try_new(ZSTD_LEVEL).map_err(|e| parquet_err(path, e))?;
    let kv: Vec<KeyValue> = key_value
        .iter()
        .map(|(k, v)| KeyValue::new(k.to_string(), v.to_string()))
        .collect();
    let props = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_created_by(CREATED_BY.to_string())
        .set_key_value_metadata((!kv.is_empty()).then_some(kv))
        .build();
    let result = (|| {
        let file = File::create(&tmp).map_err(|e| Error::io("creating", &tmp, e))?;
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))
            .map_err(|e| parquet_err(path, e))?;
        writer.write(batch).map_err(|e| parquet_err(path, e))?;
        writer.close().map_err(|e| parquet_err(path, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io("renaming into", path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes bytes to `path` through a temp file in the same directory and a rename.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
    }
    let tmp = temp_path(path);
    std::fs::write(&tmp, bytes).map_err(|e| Error::io("writing", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("renaming into", path, e)
    })
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

/// Reads a whole Parquet file into one batch (used by `verify` and the tests).
pub fn read_parquet(path: &Path) -> Result<RecordBatch> {
    let file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_err(path, e))?;
    let schema = builder.schema().clone();
    let reader = builder.build().map_err(|e| parquet_err(path, e))?;
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| parquet_err(path, e))?;
    arrow::compute::concat_batches(&schema, &batches).map_err(|e| parquet_err(path, e))
}

/// The file's key-value metadata entry `key`, if any.
pub fn read_key_value(path: &Path, key: &str) -> Result<Option<String>> {
    let file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_err(path, e))?;
    Ok(builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kvs| kvs.iter().find(|kv| kv.key == key))
        .and_then(|kv| kv.value.clone()))
}
