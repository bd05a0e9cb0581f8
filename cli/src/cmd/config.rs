//! `routelab config` (being built; owned by the engineer of this subcommand).

/// Arguments of `routelab config`.
#[derive(clap::Subcommand)]
pub enum ConfigCommand {
    /// Placeholder until this subcommand lands.
    Pending,
}

/// Runs `routelab config`.
pub fn run(_args: ConfigCommand) -> anyhow::Result<()> {
    anyhow::bail!("`routelab config` is not built yet")
}
