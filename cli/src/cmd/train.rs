//! `routelab train` (being built; owned by the engineer of this subcommand).

/// Arguments of `routelab train`.
#[derive(clap::Args)]
pub struct TrainArgs {}

/// Runs `routelab train`.
pub fn run(_args: TrainArgs) -> anyhow::Result<()> {
    anyhow::bail!("`routelab train` is not built yet")
}
