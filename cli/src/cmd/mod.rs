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
