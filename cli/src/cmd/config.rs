//! `routelab config`: validate decision configs.

use std::path::PathBuf;

use router_core::config::LoadedConfig;

/// Subcommands of `routelab config`.
#[derive(clap::Subcommand)]
pub enum ConfigCommand {
    /// Validate config files: print `ok` and what routelab ignores, or every problem
    /// (`file:line: yaml.path: message`); exit non-zero if any file is invalid.
    Check {
        /// Config files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print only `ok` / the errors, not the ignored list.
        #[arg(long, short)]
        quiet: bool,
    },
}

/// Runs `routelab config`.
pub fn run(args: ConfigCommand) -> anyhow::Result<()> {
    let ConfigCommand::Check { files, quiet } = args;
    let mut failed = 0usize;
    for f in &files {
        match LoadedConfig::from_file(f) {
            Ok(loaded) => {
                println!("{}: ok", f.display());
                if !quiet {
                    print_recipes(&loaded.config);
                }
                if !quiet && !loaded.ignored.is_empty() {
                    println!("  ignored ({}):", loaded.ignored.len());
                    for i in &loaded.ignored {
                        println!("    {i}");
                    }
                }
            }
            Err(router_core::Error::Invalid(problems)) => {
                failed += 1;
                println!("{}: {} problem(s)", f.display(), problems.len());
                for p in problems {
                    println!("  {p}");
                }
            }
            Err(e) => {
                failed += 1;
                println!("{}: error", f.display());
                println!("  {e}");
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} config file(s) invalid", files.len());
    }
    Ok(())
}

/// The recipes of a multi-recipe config and the model names that select each.
fn print_recipes(config: &router_core::config::RouterConfig) {
    if !config.is_multi_recipe() {
        return;
    }
    println!("  recipes:");
    for name in config.recipe_names() {
        let decisions = config
            .recipe_view(name)
            .map_or(0, |v| v.routing.decisions.len());
        let mut selected_by: Vec<&str> = config
            .entrypoints
            .iter()
            .filter(|e| e.recipe.trim() == name)
            .flat_map(|e| e.model_names.iter().map(|n| n.trim()))
            .collect();
        if name == router_core::config::DEFAULT_RECIPE {
            selected_by.extend(config.auto_model_names());
        }
        let by = if selected_by.is_empty() {
            "no model name".to_owned()
        } else {
            selected_by.join(", ")
        };
        println!("    {name}: {decisions} decision(s), selected by {by}");
    }
}
