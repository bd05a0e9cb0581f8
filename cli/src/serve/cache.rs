//! Response caches of the decisions that carry a `semantic_cache` / `response_cache` plugin.
//!
//! Each such decision gets its own [`SemanticCache`] (its threshold, TTL and size). Keys are
//! embeddings of the last user turn, computed with the config's
//! `global.model_catalog.embeddings.semantic.bert_model_path`, else the default all-MiniLM-L6-v2
//! directory (`$ROUTELAB_MODEL_DIR`, else `$ROUTELAB_CACHE/models/all-MiniLM-L6-v2`, else
//! `~/.cache/routelab/models/all-MiniLM-L6-v2`). Values are upstream response bodies. Caches
//! start empty on every (re)load.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use router_core::cache::SemanticCache;
use router_core::config::LoadedConfig;
use router_core::inference::{Embedder, ModelRegistry, ModelSource};
use router_core::plugins::PluginConfig;

/// Entries per decision cache when the plugin sets no `max_entries`.
const DEFAULT_CAPACITY: usize = 10_000;

/// The caches of one loaded config.
pub struct ResponseCaches {
    embedder: Arc<Embedder>,
    by_decision: HashMap<String, SemanticCache<Bytes>>,
}

impl ResponseCaches {
    /// Builds the caches of `loaded`; `None` when no decision has a cache plugin (then no
    /// embedding model is loaded).
    pub fn build(loaded: &LoadedConfig, models: &ModelRegistry) -> anyhow::Result<Option<Self>> {
        let mut by_decision = HashMap::new();
        for (r, name) in loaded.config.recipe_names().into_iter().enumerate() {
            let Some(recipe) = loaded.recipe(name) else {
                continue;
            };
            let decisions = recipe.config.routing.decisions.iter().zip(&recipe.plugins);
            for (decision, plugins) in decisions {
                for plugin in plugins {
                    if let PluginConfig::SemanticCache(c) = plugin {
                        let ttl = c.ttl_seconds.map_or(Duration::MAX, Duration::from_secs);
                        let capacity = c.max_entries.unwrap_or(DEFAULT_CAPACITY);
                        by_decision.insert(
                            cache_key(r, name, &decision.name),
                            SemanticCache::new(c.similarity_threshold, ttl, capacity),
                        );
                    }
                }
            }
        }
        if by_decision.is_empty() {
            return Ok(None);
        }
        let configured = &loaded
            .config
            .global
            .model_catalog
            .embeddings
            .semantic
            .bert_model_path;
        let source = match configured {
            Some(p) if !p.trim().is_empty() => ModelSource::parse(p, &loaded.base_dir),
            _ => ModelSource::Dir(router_core::paths::default_model_dir()),
        };
        let embedder = models.embedder(&source).with_context(|| {
            format!("cannot load the semantic cache's embedding model {source} (run scripts/fetch-model.sh or set global.model_catalog.embeddings.semantic.bert_model_path)")
        })?;
        Ok(Some(ResponseCaches {
            embedder,
            by_decision,
        }))
    }

    /// Whether `decision` (a [`cache_key`]) has a cache.
    pub fn has(&self, decision: &str) -> bool {
        self.by_decision.contains_key(decision)
    }

    /// The cache key of a prompt (CPU work: call off the async threads).
    pub fn embed(&self, text: &str) -> router_core::Result<Vec<f32>> {
        self.embedder.embed(text)
    }

    /// The cached response of `decision` for a prompt embedding, if a similar one is stored.
    pub fn lookup(&self, decision: &str, key: &[f32]) -> Option<Bytes> {
        self.by_decision
            .get(decision)?
            .lookup(key)
            .map(|hit| hit.value)
    }

    /// Stores a response of `decision`.
    pub fn store(&self, decision: &str, key: &[f32], response: Bytes) {
        if let Some(cache) = self.by_decision.get(decision) {
            cache.insert(key, response);
        }
    }
}

/// The cache of decision `decision` of recipe `recipe` (index `r`): the decision's name in the
/// default recipe, `recipe::decision` in the others (the seed's `RoutingNamespaceKey`).
pub fn cache_key(r: usize, recipe: &str, decision: &str) -> String {
    if r == 0 {
        decision.to_owned()
    } else {
        format!("{recipe}::{decision}")
    }
}
