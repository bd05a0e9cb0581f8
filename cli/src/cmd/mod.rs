//! One module per subcommand; each owns its clap arguments and its `run`.

pub mod compare;
pub mod config;
pub mod datasets;
pub mod eval;
pub mod gate;
pub mod mock_upstream;
pub mod probe;
pub mod route;
pub mod serve;
pub mod train;

use router_core::config::ModelMap;

/// `--model REF=DIR`, shared by every subcommand that loads a config.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ModelArgs {
    /// Map a model of the config to a local model directory (repeatable). REF is a signal
    /// family (`domain`, `jailbreak`, `pii`, `embedding`) or a model path the config names.
    #[arg(long = "model", value_name = "REF=DIR")]
    pub models: Vec<ModelMap>,
}
