//! Where a model comes from: a local directory or a Hugging Face repo id.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::export::{CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE};
use crate::{Error, Result};

/// Prefix that marks a Hugging Face repo id in a config.
pub const HUB_SCHEME: &str = "hf://";

/// Files a model directory must hold.
const REQUIRED_FILES: [&str; 3] = [CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE];

/// A model location.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ModelSource {
    /// A directory holding `config.json`, `model.safetensors`, `tokenizer.json`.
    Dir(PathBuf),
    /// A Hugging Face model repo id (`org/name`), looked up in the HF cache
    /// (`$HF_HOME/hub`, default `~/.cache/huggingface/hub`) and downloaded when missing
    /// unless `HF_HUB_OFFLINE=1`.
    Hub(String),
}

impl ModelSource {
    /// Interprets a config string: `hf://org/name` is a hub repo id; an existing directory, or
    /// anything path-like (absolute, `./`, `../`, `~/`, not exactly one `/`), is a directory
    /// (relative ones resolved against `base_dir`); `org/name` that is not a directory is a hub
    /// repo id only if the HF cache holds it, else a (missing) directory, so a typo never
    /// reaches the network.
    pub fn parse(spec: &str, base_dir: &Path) -> Self {
        if let Some(repo) = spec.strip_prefix(HUB_SCHEME) {
            return ModelSource::Hub(repo.to_string());
        }
        let expanded = expand_home(spec);
        let path = if expanded.is_absolute() {
            expanded
        } else {
            base_dir.join(&expanded)
        };
        let path_like = spec.starts_with('/')
            || spec.starts_with("./")
            || spec.starts_with("../")
            || spec.starts_with("~/")
            || spec.matches('/').count() != 1;
        if path.is_dir() || path_like || cached_snapshot(spec).is_none() {
            ModelSource::Dir(path)
        } else {
            ModelSource::Hub(spec.to_string())
        }
    }

    /// The directory holding the model files, downloading them if needed and allowed.
    pub fn resolve(&self) -> Result<PathBuf> {
        match self {
            ModelSource::Dir(dir) => {
                check_dir(dir)?;
                Ok(dir.clone())
            }
            ModelSource::Hub(repo) => resolve_hub(repo),
        }
    }
}

impl fmt::Display for ModelSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelSource::Dir(p) => write!(f, "{}", p.display()),
            ModelSource::Hub(r) => write!(f, "{HUB_SCHEME}{r}"),
        }
    }
}

fn expand_home(spec: &str) -> PathBuf {
    match (spec.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(spec),
    }
}

fn check_dir(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        return Err(Error::Model {
            path: dir.display().to_string(),
            message: format!(
                "model directory does not exist (a Hugging Face repo id is written {HUB_SCHEME}org/name)"
            ),
        });
    }
    for file in REQUIRED_FILES {
        if !dir.join(file).is_file() {
            return Err(Error::Model {
                path: dir.join(file).display().to_string(),
                message: format!("missing {file} in the model directory"),
            });
        }
    }
    Ok(())
}

fn offline() -> bool {
    matches!(
        std::env::var("HF_HUB_OFFLINE").as_deref(),
        Ok("1") | Ok("true") | Ok("TRUE") | Ok("yes")
    )
}

/// The cached snapshot files of `repo`, if the HF cache holds all of them.
fn cached_snapshot(repo: &str) -> Option<Vec<PathBuf>> {
    let cached = hf_hub::Cache::from_env().model(repo.to_string());
    REQUIRED_FILES.iter().map(|f| cached.get(f)).collect()
}

fn resolve_hub(repo: &str) -> Result<PathBuf> {
    if let Some(paths) = cached_snapshot(repo) {
        return snapshot_dir(repo, &paths);
    }
    let cache = hf_hub::Cache::from_env();
    if offline() {
        return Err(Error::Model {
            path: format!("hf://{repo}"),
            message: format!(
                "not in the Hugging Face cache at {} and HF_HUB_OFFLINE=1 forbids downloading",
                cache.path().display()
            ),
        });
    }
    tracing::info!(repo, "downloading model from the Hugging Face hub");
    let hub_err = |e: hf_hub::api::sync::ApiError| Error::Model {
        path: format!("hf://{repo}"),
        message: format!("download failed: {e}"),
    };
    let api = hf_hub::api::sync::ApiBuilder::from_env()
        .with_progress(true)
        .build()
        .map_err(hub_err)?;
    let remote = api.model(repo.to_string());
    let paths = REQUIRED_FILES
        .iter()
        .map(|f| remote.get(f).map_err(hub_err))
        .collect::<Result<Vec<_>>>()?;
    snapshot_dir(repo, &paths)
}

/// All files of one snapshot live in the same directory; return it.
fn snapshot_dir(repo: &str, paths: &[PathBuf]) -> Result<PathBuf> {
    let dir = paths[0].parent().map(Path::to_path_buf);
    match dir {
        Some(d) if paths.iter().all(|p| p.parent() == Some(d.as_path())) => Ok(d),
        _ => Err(Error::Model {
            path: format!("hf://{repo}"),
            message: "cached files are spread over several snapshots; re-download the model".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_tells_paths_from_repo_ids() {
        let base = Path::new("/cfg");
        assert_eq!(
            ModelSource::parse("hf://org/x", base),
            ModelSource::Hub("org/x".into())
        );
        // Not a directory and not in the HF cache: a directory (never the network).
        assert_eq!(
            ModelSource::parse("models/not-cached-anywhere", base),
            ModelSource::Dir(PathBuf::from("/cfg/models/not-cached-anywhere"))
        );
        assert_eq!(
            ModelSource::parse("./models/x", base),
            ModelSource::Dir(PathBuf::from("/cfg/./models/x"))
        );
        assert_eq!(
            ModelSource::parse("a/b/c", base),
            ModelSource::Dir(PathBuf::from("/cfg/a/b/c"))
        );
        assert_eq!(
            ModelSource::parse("/abs/m", base),
            ModelSource::Dir(PathBuf::from("/abs/m"))
        );
        assert_eq!(
            ModelSource::parse("mini", base),
            ModelSource::Dir(PathBuf::from("/cfg/mini"))
        );
    }

    #[test]
    fn existing_relative_dir_wins_over_repo_id() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("org/name")).unwrap();
        assert_eq!(
            ModelSource::parse("org/name", tmp.path()),
            ModelSource::Dir(tmp.path().join("org/name"))
        );
    }

    #[test]
    fn missing_file_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(CONFIG_FILE), "{}").unwrap();
        let err = ModelSource::Dir(tmp.path().into()).resolve().unwrap_err();
        assert!(err.to_string().contains(WEIGHTS_FILE), "{err}");
    }
}
