//! One module per subcommand; each owns its clap arguments and its `run`.

pub mod calibrate;
pub mod compare;
pub mod config;
pub mod datasets;
pub mod eval;
pub mod gate;
pub mod mock_upstream;
pub mod probe;
pub mod route;
pub mod selection_data;
pub mod serve;
pub mod signals;
pub mod train;

use router_core::config::ModelMap;

/// `--signals DIR` / `--no-signal-store`, shared by the subcommands that replay logs.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct StoreArgs {
    /// Signal store folder: model outputs are read from it and the missing ones added
    /// (default `$ROUTELAB_CACHE/signals`, else `~/.cache/routelab/signals`).
    #[arg(long, value_name = "DIR")]
    pub signals: Option<std::path::PathBuf>,
    /// Run every model on every request, reading and keeping nothing.
    #[arg(long, conflicts_with = "signals")]
    pub no_signal_store: bool,
}

impl StoreArgs {
    /// The store folder to use, if any.
    pub fn dir(&self) -> Option<std::path::PathBuf> {
        if self.no_signal_store {
            return None;
        }
        Some(
            self.signals
                .clone()
                .unwrap_or_else(|| router_core::paths::cache_root().join("signals")),
        )
    }
}

/// `--model REF=DIR`, shared by every subcommand that loads a config.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ModelArgs {
    /// Map a model of the config to a local model directory (repeatable). REF is a signal
    /// family (`domain`, `jailbreak`, `pii`, `embedding`, `fact_check`, `feedback`) or a model
    /// path the config names; `FAMILY=none` runs without that family's signals (they never
    /// match).
    #[arg(long = "model", value_name = "REF=DIR")]
    pub models: Vec<ModelMap>,
    /// Point a knowledge base of the config (or one of the seed's defaults, `mmlu_kb`,
    /// `privacy_kb`) at another labels file (repeatable).
    #[arg(long = "kb", value_name = "NAME=FILE", value_parser = ModelMap::parse_kb)]
    pub kbs: Vec<ModelMap>,
}

impl ModelArgs {
    /// The `--model` maps, then the `--kb` ones.
    pub fn all(&self) -> Vec<ModelMap> {
        self.models.iter().chain(&self.kbs).cloned().collect()
    }
}
