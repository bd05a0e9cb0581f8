//! `manifest.json`: inputs and outputs (with sha256) and row counts of every data set built
//! into a directory. Builders update only their own entry; `verify` re-checks the files.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::hashing::sha256_hex;
use crate::parquet_io::write_bytes_atomic;

/// File name of the manifest inside an output directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Format tag of the manifest.
pub const MANIFEST_FORMAT: &str = "routelab-datasets-manifest/v1";

/// The whole manifest of one output directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// One entry per data set (`domain`, `jailbreak`, `pii`, `routing-log`).
    pub datasets: BTreeMap<String, DatasetEntry>,
}

/// What one builder produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetEntry {
    /// `full` or `sample`.
    pub mode: String,
    /// Every input read, with its checksum.
    pub inputs: Vec<InputRecord>,
    /// Every file written, with its checksum and row count.
    pub outputs: Vec<OutputRecord>,
    /// Row counts: split (or `all`) -> label/category -> rows.
    pub counts: Counts,
    /// Parameters that shaped the output (seed, thresholds, prices, ...).
    pub params: BTreeMap<String, serde_json::Value>,
    /// Human-readable notes (what was dropped and why, assumptions).
    pub notes: Vec<String>,
}

/// One input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputRecord {
    /// `package==version:path/in/wheel`, or a path relative to the repository's parent.
    pub name: String,
    /// sha256 of the file's bytes.
    pub sha256: String,
}

/// One output file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRecord {
    /// File name relative to the output directory.
    pub file: String,
    /// sha256 of the file.
    pub sha256: String,
    /// Rows in the file.
    pub rows: usize,
}

impl InputRecord {
    /// A record for `bytes` read from `name`.
    pub fn new(name: impl Into<String>, bytes: &[u8]) -> Self {
        InputRecord {
            name: name.into(),
            sha256: sha256_hex(bytes),
        }
    }
}

impl Manifest {
    /// An empty manifest.
    pub fn empty() -> Self {
        Manifest {
            format: MANIFEST_FORMAT.to_string(),
            datasets: BTreeMap::new(),
        }
    }

    /// Reads `dir/manifest.json`; an absent file gives an empty manifest.
    pub fn load_or_empty(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        if !path.exists() {
            return Ok(Manifest::empty());
        }
        Self::load(dir)
    }

    /// Reads `dir/manifest.json`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io("reading", &path, e))?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| Error::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(Error::Manifest {
                path,
                message: format!("format {:?}, expected {MANIFEST_FORMAT:?}", manifest.format),
            });
        }
        Ok(manifest)
    }

    /// Writes `dir/manifest.json` atomically (pretty JSON, sorted keys, trailing newline).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST_FILE);
        let mut text = serde_json::to_string_pretty(self).map_err(|e| Error::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        text.push('\n');
        write_bytes_atomic(&path, text.as_bytes())
    }

    /// Replaces the entry of `name` in `dir/manifest.json`, keeping the others.
    pub fn update(dir: &Path, name: &str, entry: DatasetEntry) -> Result<()> {
        let mut manifest = Manifest::load_or_empty(dir)?;
        manifest.datasets.insert(name.to_string(), entry);
        manifest.save(dir)
    }
}

/// Row counts: split (or `all`) -> label -> rows.
pub type Counts = BTreeMap<String, BTreeMap<String, usize>>;

/// Adds one to `counts[split][label]`.
pub fn bump(counts: &mut Counts, split: &str, label: &str) {
    *counts
        .entry(split.to_string())
        .or_default()
        .entry(label.to_string())
        .or_default() += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_keeps_other_entries_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let entry = |mode: &str| DatasetEntry {
            mode: mode.to_string(),
            inputs: vec![InputRecord::new("x", b"abc")],
            outputs: vec![],
            counts: BTreeMap::new(),
            params: BTreeMap::new(),
            notes: vec![],
        };
        Manifest::update(dir.path(), "a", entry("full")).unwrap();
        Manifest::update(dir.path(), "b", entry("sample")).unwrap();
        Manifest::update(dir.path(), "a", entry("sample")).unwrap();
        let m = Manifest::load(dir.path()).unwrap();
        assert_eq!(m.datasets.len(), 2);
        assert_eq!(m.datasets["a"].mode, "sample");
        assert_eq!(
            m.datasets["b"].inputs[0].sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
