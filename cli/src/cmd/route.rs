//! `routelab route` (being built; owned by the engineer of this subcommand).

/// Arguments of `routelab route`.
#[derive(clap::Args)]
pub struct RouteArgs {}

/// Runs `routelab route`.
pub fn run(_args: RouteArgs) -> anyhow::Result<()> {
    anyhow::bail!("`routelab route` is not built yet")
}
