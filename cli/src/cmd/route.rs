//! `routelab route`: route one prompt through a decision config and show why.

use std::path::PathBuf;

use anyhow::Context;
use router_core::config::LoadedConfig;
use router_core::engine::Router;
use router_core::request::{ChatMessage, RouteRequest};

/// Arguments of `routelab route`.
#[derive(clap::Args)]
pub struct RouteArgs {
    /// Decision config (YAML, vLLM Semantic Router v0.3 shape).
    #[arg(long)]
    pub config: PathBuf,
    /// The user prompt to route.
    #[arg(long)]
    pub prompt: String,
    /// Optional system message sent before the prompt (counts toward context length).
    #[arg(long)]
    pub system: Option<String>,
    /// Print the outcome as JSON (decision, model, reasoning, plugins, signals, trace).
    #[arg(long)]
    pub json: bool,
}

/// Runs `routelab route`.
pub fn run(args: RouteArgs) -> anyhow::Result<()> {
    let loaded = LoadedConfig::from_file(&args.config)?;
    if !loaded.ignored.is_empty() {
        tracing::info!(
            "{}: {} part(s) of the config are ignored (see `routelab config check`)",
            args.config.display(),
            loaded.ignored.len()
        );
    }
    let router = Router::new(&loaded)
        .with_context(|| format!("cannot build a router from {}", args.config.display()))?;
    let mut messages = Vec::new();
    if let Some(s) = args.system {
        messages.push(ChatMessage {
            role: "system".into(),
            content: s,
        });
    }
    messages.push(ChatMessage {
        role: "user".into(),
        content: args.prompt,
    });
    let outcome = router.route_with_trace(&RouteRequest { messages })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        print!("{outcome}");
    }
    Ok(())
}
