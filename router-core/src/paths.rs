//! Where routelab keeps what it downloads and builds: the one cache-root lookup.
//!
//! The cache root is `$ROUTELAB_CACHE`, else `~/.cache/routelab` (`.cache/routelab` in the
//! working directory when there is no home). `scripts/fetch-model.sh` unpacks the base encoder
//! into `<root>/models/all-MiniLM-L6-v2`; datasets, wheels and signal stores live beside it.
//! Paths in routelab's own files (training recipes, configs) may start with `$ROUTELAB_CACHE/`
//! or `~/`, which [`expand`] resolves the same way on every machine.

use std::path::{Path, PathBuf};

/// The directory name of the default base encoder under `<root>/models`.
pub const DEFAULT_MODEL_NAME: &str = "all-MiniLM-L6-v2";

/// The prefix [`expand`] replaces with [`cache_root`].
pub const CACHE_VAR: &str = "$ROUTELAB_CACHE";

fn non_empty_var(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn home_dir() -> Option<PathBuf> {
    non_empty_var("HOME")
}

/// `$ROUTELAB_CACHE`, else `~/.cache/routelab` (or `.cache/routelab` without a home).
pub fn cache_root() -> PathBuf {
    if let Some(dir) = non_empty_var("ROUTELAB_CACHE") {
        return dir;
    }
    match home_dir() {
        Some(home) => home.join(".cache").join("routelab"),
        None => PathBuf::from(".cache").join("routelab"),
    }
}

/// The default base encoder: `$ROUTELAB_MODEL_DIR`, else `<cache root>/models/all-MiniLM-L6-v2`.
pub fn default_model_dir() -> PathBuf {
    non_empty_var("ROUTELAB_MODEL_DIR")
        .unwrap_or_else(|| cache_root().join("models").join(DEFAULT_MODEL_NAME))
}

/// Resolves a leading `$ROUTELAB_CACHE` (to [`cache_root`]) or `~` (to the home directory);
/// any other path is returned as it is.
pub fn expand(path: &Path) -> PathBuf {
    let mut parts = path.components();
    let Some(first) = parts.next() else {
        return path.to_path_buf();
    };
    let base = match first.as_os_str().to_str() {
        Some(CACHE_VAR) => cache_root(),
        Some("~") => match home_dir() {
            Some(home) => home,
            None => return path.to_path_buf(),
        },
        _ => return path.to_path_buf(),
    };
    base.join(parts.as_path())
}

/// The inverse of [`expand`] for records meant to be read on other machines: a path under the
/// cache root is written `$ROUTELAB_CACHE/...`, one under the home directory `~/...`.
pub fn portable(path: &Path) -> PathBuf {
    if let Ok(rest) = path.strip_prefix(cache_root()) {
        return Path::new(CACHE_VAR).join(rest);
    }
    match home_dir().and_then(|home| path.strip_prefix(home).ok().map(Path::to_path_buf)) {
        Some(rest) => Path::new("~").join(rest),
        None => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_only_a_leading_cache_or_home_component() {
        let root = cache_root();
        assert_eq!(
            expand(Path::new("$ROUTELAB_CACHE/models/m")),
            root.join("models/m")
        );
        assert_eq!(expand(Path::new("$ROUTELAB_CACHE")), root);
        // Not a whole component, or not leading: unchanged.
        for p in [
            "$ROUTELAB_CACHEX/m",
            "a/$ROUTELAB_CACHE/m",
            "~user/m",
            "rel/~",
            "",
        ] {
            assert_eq!(expand(Path::new(p)), PathBuf::from(p), "{p}");
        }
        if let Some(home) = home_dir() {
            assert_eq!(expand(Path::new("~/x/y")), home.join("x/y"));
        }
    }

    #[test]
    fn portable_paths_expand_back() {
        let under_cache = cache_root().join("models").join(DEFAULT_MODEL_NAME);
        let written = portable(&under_cache);
        assert_eq!(
            written,
            Path::new("$ROUTELAB_CACHE/models/all-MiniLM-L6-v2")
        );
        assert_eq!(expand(&written), under_cache);
        for p in ["datasets/samples/x.parquet", "/opt/models/m"] {
            assert_eq!(portable(Path::new(p)), PathBuf::from(p));
        }
    }
}
