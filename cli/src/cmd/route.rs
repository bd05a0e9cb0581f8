//! `routelab route`: route one prompt or conversation through a decision config and show why.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::Context;
use router_core::config::LoadedConfig;
use router_core::engine::{Recipes, Router};
use router_core::inference::ModelRegistry;
use router_core::request::{parse_conversation_json, ChatMessage, RouteRequest};

/// Arguments of `routelab route`.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["prompt", "prompt_file", "messages"])))]
pub struct RouteArgs {
    /// Decision config (YAML, vLLM Semantic Router v0.3 shape).
    #[arg(long)]
    pub config: PathBuf,
    /// The user prompt to route.
    #[arg(long)]
    pub prompt: Option<String>,
    /// Read the user prompt from a file (for prompts too long for a command line).
    #[arg(long, value_name = "FILE")]
    pub prompt_file: Option<PathBuf>,
    /// Read the conversation from a file (`-`: standard input), as OpenAI JSON: a `messages`
    /// array, or an object with `messages` and `tools` (a chat-completions body works as it is).
    #[arg(long, value_name = "FILE|-", conflicts_with = "system")]
    pub messages: Option<PathBuf>,
    /// Optional system message sent before the prompt (counts toward context length).
    #[arg(long)]
    pub system: Option<String>,
    /// Print the outcome as JSON (decision, model, reasoning, plugins, signals, trace).
    #[arg(long)]
    pub json: bool,
    /// A `metadata` entry of the request (repeatable; with `--messages`, added to the file's).
    #[arg(long, value_name = "KEY=VALUE", value_parser = metadata_entry)]
    pub metadata: Vec<(String, String)>,
    /// The model the request asks for: an entrypoint of a multi-recipe config routes with its
    /// recipe, an auto alias with the default one.
    #[arg(long, value_name = "NAME")]
    pub requested_model: Option<String>,
    #[command(flatten)]
    pub models: super::ModelArgs,
}

/// Runs `routelab route`.
pub fn run(args: RouteArgs) -> anyhow::Result<()> {
    let mut loaded = LoadedConfig::from_file(&args.config)?;
    loaded.map_models(&args.models.all())?;
    if !loaded.ignored.is_empty() {
        tracing::info!(
            "{}: {} part(s) of the config are ignored (see `routelab config check`)",
            args.config.display(),
            loaded.ignored.len()
        );
    }
    let registry = ModelRegistry::default();
    let recipes = Recipes::build(&loaded, |l| Router::new(l, &registry))
        .with_context(|| format!("cannot build a router from {}", args.config.display()))?;
    let recipe = match args.requested_model.as_deref() {
        None => 0,
        Some(m) => recipes.for_model(m).with_context(|| {
            format!(
                "--requested-model {m:?} is neither an auto alias nor an entrypoint of {}",
                args.config.display()
            )
        })?,
    };
    if recipes.is_multi() {
        tracing::info!(recipe = %recipes.names()[recipe], "routing with recipe");
    }
    let mut request = request(&args)?;
    request.metadata.extend(args.metadata.iter().cloned());
    router_core::request::check_metadata(&request.metadata).context("--metadata")?;
    let outcome = recipes.router(recipe).route_with_trace(&request)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        print!("{outcome}");
    }
    Ok(())
}

/// The request of `--messages`, `--prompt-file` or `--prompt` (with `--system` before it).
fn request(args: &RouteArgs) -> anyhow::Result<RouteRequest> {
    if let Some(path) = &args.messages {
        let (name, text) = if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read the conversation from standard input")?;
            ("standard input".to_string(), text)
        } else {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            (path.display().to_string(), text)
        };
        return parse_conversation_json(&text)
            .with_context(|| format!("{name}: not an OpenAI conversation"));
    }
    let prompt = match (&args.prompt, &args.prompt_file) {
        (Some(p), _) => p.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the prompt from {}", path.display()))?,
        (None, None) => anyhow::bail!("one of --prompt, --prompt-file or --messages is required"),
    };
    let mut request = RouteRequest::from_prompt(prompt);
    if let Some(s) = &args.system {
        request
            .messages
            .insert(0, ChatMessage::new("system", s.clone()));
    }
    Ok(request)
}

/// `KEY=VALUE` of `--metadata`.
fn metadata_entry(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))
}
