//! Atomic file output: write to a temporary file in the target's directory, then rename.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{EvalError, Result};

/// The temporary path used while `path` is being written (same directory, so rename is atomic).
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.tmp{}", std::process::id()))
}

/// Writes `bytes` to `path` atomically (temp file + rename), creating parent directories.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| {
        w.write_all(bytes).map_err(|e| EvalError::io(path, e))
    })
}

/// Opens a temp file beside `path`, lets `fill` write it, then renames it over `path`.
/// On error the temp file is removed and `path` is left untouched.
pub fn write_atomic_with<F>(path: &Path, fill: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<()>,
{
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| EvalError::io(dir, e))?;
    }
    let tmp = temp_path(path);
    let file = File::create(&tmp).map_err(|e| EvalError::io(&tmp, e))?;
    let mut w = BufWriter::new(file);
    let result = fill(&mut w).and_then(|()| {
        let file = w
            .into_inner()
            .map_err(|e| EvalError::io(&tmp, e.into_error()))?;
        file.sync_all().map_err(|e| EvalError::io(&tmp, e))
    });
    match result {
        Ok(()) => std::fs::rename(&tmp, path).map_err(|e| EvalError::io(path, e)),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// A temp file beside `path` that a streaming writer fills; [`AtomicFile::commit`] renames it.
/// Dropping it without committing removes the temp file.
pub struct AtomicFile {
    target: PathBuf,
    tmp: PathBuf,
    committed: bool,
}

impl AtomicFile {
    /// Creates the temp file for `target` and returns it with an open handle.
    pub fn create(target: &Path) -> Result<(Self, File)> {
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| EvalError::io(dir, e))?;
        }
        let tmp = temp_path(target);
        let file = File::create(&tmp).map_err(|e| EvalError::io(&tmp, e))?;
        Ok((
            AtomicFile {
                target: target.to_path_buf(),
                tmp,
                committed: false,
            },
            file,
        ))
    }

    /// Renames the temp file over the target.
    pub fn commit(mut self) -> Result<()> {
        std::fs::rename(&self.tmp, &self.target).map_err(|e| EvalError::io(&self.target, e))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// A Parquet file written batch by batch (zstd) under a temporary name and renamed into place
/// by [`AtomicParquet::finish`]; dropped unfinished, it leaves nothing behind. The writer of
/// eval's Parquet files (request logs, served logs, decisions); the dataset builders write
/// theirs with pinned properties for byte-identical rebuilds (`datasets::parquet_io`).
pub struct AtomicParquet {
    path: String,
    schema: arrow::datatypes::SchemaRef,
    writer: parquet::arrow::ArrowWriter<File>,
    file: AtomicFile,
}

impl AtomicParquet {
    /// Starts `path` with `schema`.
    pub fn create(path: &Path, schema: arrow::datatypes::SchemaRef) -> Result<Self> {
        use parquet::basic::{Compression, ZstdLevel};
        let (atomic, file) = AtomicFile::create(path)?;
        let props = parquet::file::properties::WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        let writer =
            parquet::arrow::ArrowWriter::try_new(file, std::sync::Arc::clone(&schema), Some(props))
                .map_err(|e| EvalError::parquet(path, e))?;
        Ok(AtomicParquet {
            path: path.display().to_string(),
            schema,
            writer,
            file: atomic,
        })
    }

    /// The target path, for messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Writes one record batch of `columns` (in schema order).
    pub fn write(&mut self, columns: Vec<arrow::array::ArrayRef>) -> Result<()> {
        let batch =
            arrow::array::RecordBatch::try_new(std::sync::Arc::clone(&self.schema), columns)
                .map_err(|e| EvalError::parquet(&self.path, e))?;
        self.writer
            .write(&batch)
            .map_err(|e| EvalError::parquet(&self.path, e))
    }

    /// Closes the file and renames it into place.
    pub fn finish(self) -> Result<()> {
        self.writer
            .close()
            .map_err(|e| EvalError::parquet(&self.path, e))?;
        self.file.commit()
    }
}

/// How a row type becomes the columns of one record batch.
pub trait Columns {
    /// One row.
    type Row;
    /// The columns of `rows`, in schema order.
    fn columns(&self, rows: &[Self::Row]) -> Vec<arrow::array::ArrayRef>;
}

/// An [`AtomicParquet`] fed row by row: rows are buffered and written a record batch of
/// `batch_rows` at a time. The writer of request logs, served logs and decisions.
pub struct BufferedParquet<C: Columns> {
    columns: C,
    rows: Vec<C::Row>,
    batch_rows: usize,
    written: usize,
    out: AtomicParquet,
}

impl<C: Columns> BufferedParquet<C> {
    /// Starts `path` with `schema`; `columns` turns rows into its columns.
    pub fn create(
        path: &Path,
        schema: arrow::datatypes::SchemaRef,
        columns: C,
        batch_rows: usize,
    ) -> Result<Self> {
        Ok(BufferedParquet {
            columns,
            rows: Vec::with_capacity(batch_rows),
            batch_rows: batch_rows.max(1),
            written: 0,
            out: AtomicParquet::create(path, schema)?,
        })
    }

    /// The target path, for messages.
    pub fn path(&self) -> &str {
        self.out.path()
    }

    /// How rows become columns.
    pub fn columns(&self) -> &C {
        &self.columns
    }

    /// Rows pushed so far.
    pub fn len(&self) -> usize {
        self.written + self.rows.len()
    }

    /// Whether no row was pushed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a row (writing a batch when one is full).
    pub fn push(&mut self, row: C::Row) -> Result<()> {
        self.rows.push(row);
        if self.rows.len() >= self.batch_rows {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        self.out.write(self.columns.columns(&self.rows))?;
        self.written += self.rows.len();
        self.rows.clear();
        Ok(())
    }

    /// Writes the remaining rows, closes the file and renames it into place.
    pub fn finish(mut self) -> Result<()> {
        self.flush()?;
        self.out.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_target_untouched_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.json");
        write_atomic(&target, b"old").unwrap();
        let err = write_atomic_with(&target, |w| {
            w.write_all(b"partial").unwrap();
            Err(EvalError::Invalid("boom".into()))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
