//! `routelab serve`: an OpenAI-compatible HTTP server that routes each chat request with
//! router-core and proxies it to the chosen upstream model.
//!
//! Modules: [`chat`] parses bodies, [`cache`] holds the decisions' response caches, [`policy`] adapts router-core (routing, models, reasoning,
//! cache), [`rewrite`] edits the outgoing body, [`upstream`] proxies, [`handlers`] are the
//! endpoints, [`middleware`] limits concurrency and counts requests, [`metrics`] renders
//! Prometheus text, [`reload`] swaps configs in, [`request_log`] records served traffic, [`error`] is OpenAI's
//! error format.

pub mod cache;
pub mod chat;
pub mod error;
pub mod handlers;
pub mod live;
pub mod metrics;
pub mod middleware;
pub mod policy;
pub mod reload;
pub mod request_log;
pub mod rewrite;
pub mod state;
pub mod upstream;
pub mod usage;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use tokio::sync::{oneshot, Semaphore};

use self::state::{AppState, Settings};
use router_core::inference::{ModelRegistry, RecentOutputs};

/// Network and timing options of the server.
#[derive(Debug, Clone)]
pub struct Network {
    /// Address to listen on (port 0 picks a free port; the bound address is printed on stdout).
    pub bind: SocketAddr,
    /// Upstream connect timeout.
    pub connect_timeout: Duration,
    /// Upstream total timeout (headers and whole body, streams included).
    pub upstream_timeout: Duration,
    /// How often the config file is checked for changes (`None`: only SIGHUP reloads).
    pub poll_interval: Option<Duration>,
}

/// The axum application for a state.
pub fn app(state: Arc<AppState>) -> axum::Router {
    axum::Router::new()
        .route("/v1/chat/completions", post(handlers::chat_completions))
        .route("/v1/route", post(handlers::route_only))
        .route_layer(from_fn_with_state(
            state.clone(),
            middleware::limit_concurrency,
        ))
        .route("/v1/models", get(handlers::models))
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/metrics", get(handlers::metrics))
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(from_fn_with_state(
            state.clone(),
            middleware::count_requests,
        ))
        .with_state(state)
}

/// The state of a server with `settings` that reaches upstreams through `client`: no policy yet
/// (load one with [`reload::Reloader::reload`]), an empty model registry, and the request
/// recorder when `settings.request_log` asks for one.
pub fn build_state(settings: Settings, client: reqwest::Client) -> anyhow::Result<Arc<AppState>> {
    let metrics: Arc<metrics::Metrics> = Default::default();
    let recorder = match &settings.request_log {
        Some(s) => Some(Arc::new(request_log::Recorder::start(
            s.clone(),
            metrics.clone(),
        )?)),
        None => None,
    };
    Ok(Arc::new(AppState {
        policy: Default::default(),
        limiter: Arc::new(Semaphore::new(settings.max_concurrency)),
        settings,
        metrics,
        client,
        // The signals of one request that embed the same text run the model once.
        models: Arc::new(
            ModelRegistry::default().with_output_store(Arc::new(RecentOutputs::default())),
        ),
        recorder,
        stats: Default::default(),
    }))
}

/// Runs the server until SIGINT/SIGTERM, then finishes the requests in flight.
pub async fn serve(settings: Settings, network: Network) -> anyhow::Result<()> {
    let client = upstream::client(network.connect_timeout, network.upstream_timeout)?;
    let state = build_state(settings, client)?;
    let recorder = state.recorder.clone();
    let listener = tokio::net::TcpListener::bind(network.bind)
        .await
        .with_context(|| format!("cannot listen on {}", network.bind))?;
    let addr = listener.local_addr()?;
    println!("routelab serve listening on http://{addr}");
    tracing::info!(%addr, config = %state.settings.config.display(), "listening; loading the config");

    let reloader = reload::Reloader::new(state.clone());
    // Listen for SIGHUP at once: its default action would end the process.
    #[cfg(unix)]
    tokio::spawn(reloader.clone().watch_sighup());
    let (failed_tx, failed_rx) = oneshot::channel::<anyhow::Error>();
    {
        let reloader = reloader.clone();
        tokio::spawn(async move {
            match reloader.reload("start-up").await {
                Ok(()) => {
                    if let Some(interval) = network.poll_interval {
                        tokio::spawn(reloader.watch_file(interval));
                    }
                }
                Err(e) => {
                    let _ = failed_tx.send(e);
                }
            }
        });
    }

    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let startup_error = tokio::spawn(async move {
        tokio::select! {
            _ = shutdown_signal() => {
                tracing::info!("shutting down; finishing the requests in flight");
                let _ = stop_tx.send(());
                None
            }
            Ok(e) = failed_rx => {
                let _ = stop_tx.send(());
                Some(e)
            }
        }
    });
    axum::serve(listener, app(state))
        .with_graceful_shutdown(async {
            let _ = stop_rx.await;
        })
        .await
        .context("server error")?;
    if let Some(r) = recorder {
        r.close();
    }
    match startup_error.await {
        Ok(Some(e)) => Err(e.context("the config could not be loaded at start-up")),
        _ => Ok(()),
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
