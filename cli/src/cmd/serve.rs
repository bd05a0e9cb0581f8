//! `routelab serve`: the router as an OpenAI-compatible HTTP server in front of the models.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use routelab::serve::request_log::{PromptMode, RecorderSettings};
use routelab::serve::state::{BlockMode, Settings};
use routelab::serve::Network;

/// Arguments of `routelab serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Decision config (vLLM Semantic Router v0.3 YAML). Reloaded on SIGHUP and when it changes.
    #[arg(long, short)]
    pub config: PathBuf,
    #[command(flatten)]
    pub models: super::ModelArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on (0 picks a free one; the bound address is printed on stdout).
    #[arg(long, default_value_t = 8801)]
    pub port: u16,
    /// Model names that ask the router to choose (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "auto")]
    pub auto_models: Vec<String>,
    /// Send requests that name a configured model straight to it, without routing
    /// (`--passthrough-models false` routes them like `auto`).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub passthrough_models: bool,
    /// How a request stopped by a block plugin is answered.
    #[arg(long, value_enum, default_value_t = BlockMode::Plugin)]
    pub block_response: BlockMode,
    /// Largest accepted request body in bytes (larger: 413).
    #[arg(long, default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Most chat/route requests served at once (more: 429).
    #[arg(long, default_value_t = 512)]
    pub max_concurrency: usize,
    /// Upstream connect timeout in milliseconds (exceeded: 502).
    #[arg(long, default_value_t = 5_000)]
    pub connect_timeout_ms: u64,
    /// Upstream total timeout in milliseconds, whole streamed answer included (exceeded: 504).
    #[arg(long, default_value_t = 600_000)]
    pub upstream_timeout_ms: u64,
    /// How often the config file is checked for changes, in milliseconds (0: SIGHUP only).
    #[arg(long, default_value_t = 1_000)]
    pub reload_poll_ms: u64,
    /// Send every model to this OpenAI-compatible base URL (e.g. `http://127.0.0.1:9100/v1`)
    /// instead of its configured `backend_refs`: a dry run of a config against one local
    /// server such as `routelab mock-upstream`.
    #[arg(long, value_name = "BASE_URL", value_parser = parse_base_url)]
    pub upstream: Option<String>,
    /// Record the traffic served into this folder as a request log (`request-log/v2` Parquet
    /// files that `routelab eval -l DIR` replays).
    #[arg(long, value_name = "DIR")]
    pub request_log: Option<PathBuf>,
    /// What the request log keeps of each conversation: `full` (replayable), `hash` (its
    /// sha256 only) or `none`.
    #[arg(long, value_enum, default_value_t = PromptMode::Full)]
    pub request_log_prompts: PromptMode,
    /// Rows per request-log file (then the next file starts).
    #[arg(long, default_value_t = 10_000)]
    pub request_log_rows: usize,
    /// Seconds a request-log file stays open at most (what a crash can lose).
    #[arg(long, default_value_t = 60)]
    pub request_log_seconds: u64,
    /// Worker threads of the async runtime (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Runs `routelab serve` until SIGINT/SIGTERM.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    if args.max_concurrency == 0 {
        anyhow::bail!("--max-concurrency must be at least 1");
    }
    if args.auto_models.iter().any(|m| m.is_empty()) {
        anyhow::bail!("--auto-models must not contain an empty name");
    }
    let settings = Settings {
        config: args.config,
        model_maps: args.models.all(),
        auto_names: args.auto_models,
        passthrough: args.passthrough_models,
        block_mode: args.block_response,
        max_body_bytes: args.max_body_bytes,
        max_concurrency: args.max_concurrency,
        upstream_override: args.upstream,
        request_log: args.request_log.map(|dir| RecorderSettings {
            dir,
            max_rows: args.request_log_rows.max(1),
            max_age: Duration::from_secs(args.request_log_seconds.max(1)),
            prompts: args.request_log_prompts,
        }),
    };
    let network = Network {
        bind: SocketAddr::new(args.host, args.port),
        connect_timeout: Duration::from_millis(args.connect_timeout_ms),
        upstream_timeout: Duration::from_millis(args.upstream_timeout_ms),
        poll_interval: (args.reload_poll_ms > 0)
            .then(|| Duration::from_millis(args.reload_poll_ms)),
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(n) = args.threads {
        runtime.worker_threads(n.max(1));
    }
    runtime
        .build()?
        .block_on(routelab::serve::serve(settings, network))
}

/// Accepts an `http://` or `https://` base URL with a host.
fn parse_base_url(text: &str) -> Result<String, String> {
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))
        .ok_or_else(|| format!("{text:?} is not an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("{text:?} has no host"));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::parse_base_url;

    #[test]
    fn base_url_needs_a_scheme_and_a_host() {
        assert_eq!(
            parse_base_url("http://127.0.0.1:9100/v1").as_deref(),
            Ok("http://127.0.0.1:9100/v1")
        );
        assert!(parse_base_url("https://api.example.com").is_ok());
        assert!(parse_base_url("127.0.0.1:9100").is_err());
        assert!(parse_base_url("http:///v1").is_err());
        assert!(parse_base_url("ftp://host").is_err());
    }
}
