//! Loading the policy, and reloading it on SIGHUP or when the config file changes.
//!
//! A new policy replaces the old one atomically; requests in flight keep the `Arc` they took.
//! A config that fails to load is logged and counted, and the old policy keeps serving.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use super::policy::Policy;
use super::state::AppState;
use super::upstream::error_chain;

/// Serialises reloads and remembers the config bytes last seen by the file watcher.
pub struct Reloader {
    state: Arc<AppState>,
    last_seen: Mutex<Option<Vec<u8>>>,
}

impl Reloader {
    /// A reloader for the state's config file.
    pub fn new(state: Arc<AppState>) -> Arc<Self> {
        Arc::new(Reloader {
            state,
            last_seen: Mutex::new(None),
        })
    }

    /// Loads the config file and swaps the policy in; `Err` (with the reason) leaves the
    /// current policy in place.
    pub async fn reload(&self, reason: &str) -> anyhow::Result<()> {
        let mut last_seen = self.last_seen.lock().await;
        let path = self.state.settings.config.clone();
        *last_seen = tokio::fs::read(&path).await.ok();
        let upstream = self.state.settings.upstream_override.clone();
        let maps = self.state.settings.model_maps.clone();
        let registry = Arc::clone(&self.state.models);
        let stats = Arc::clone(&self.state.stats);
        let loaded = tokio::task::spawn_blocking(move || {
            Policy::load(&path, &maps, upstream.as_deref(), &registry, &stats)
        })
        .await;
        let result = match loaded {
            Ok(Ok(policy)) => {
                let models = policy.model_names().count();
                drop(self.state.policy.swap(Some(Arc::new(policy))));
                // The old policy's models go once no request in flight holds it (the next
                // reload prunes what those requests kept alive).
                let dropped = self.state.models.prune();
                tracing::info!(config = %self.state.settings.config.display(), models, dropped_models = dropped, reason, "config loaded");
                self.state.metrics.reload("ok");
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            Err(e) => Err(anyhow::anyhow!("config loading task failed: {e}")),
        };
        if let Err(e) = &result {
            self.state.metrics.reload("error");
            tracing::error!(
                config = %self.state.settings.config.display(),
                reason,
                error = %error_chain(e.as_ref()),
                "config rejected; the previous config keeps serving"
            );
        }
        result
    }

    /// Reloads whenever the file's contents differ from what was last loaded, checking every
    /// `interval`.
    pub async fn watch_file(self: Arc<Self>, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let current = tokio::fs::read(&self.state.settings.config).await.ok();
            let changed = *self.last_seen.lock().await != current;
            if changed && current.is_some() {
                let _ = self.reload("file changed").await;
            }
        }
    }

    /// Reloads on every SIGHUP.
    #[cfg(unix)]
    pub async fn watch_sighup(self: Arc<Self>) {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; reload on file change only");
                return;
            }
        };
        while hangups.recv().await.is_some() {
            let _ = self.reload("SIGHUP").await;
        }
    }
}
