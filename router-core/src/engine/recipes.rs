//! A multi-recipe config compiled: one [`Router`] per recipe, and the requested model names
//! that select each (`entrypoints`; the seed's `RecipeForRoutingModel` and one classifier per
//! recipe, `classification/recipe_classifiers.go`). Only the selected recipe's signals run.

use std::sync::Arc;

use super::Router;
use crate::config::{LoadedConfig, RecipeChoice, RouterConfig};
use crate::selection::stats::ModelStats;
use crate::{Error, Result};

/// The routers of every recipe of a config, the default first.
pub struct Recipes {
    names: Vec<String>,
    routers: Vec<Router>,
    /// The whole config (entrypoints and auto aliases).
    config: RouterConfig,
}

impl Recipes {
    /// Compiles each recipe of `loaded` with `compile` (e.g. `|l| Router::new(l, &models)`).
    pub fn build(
        loaded: &LoadedConfig,
        mut compile: impl FnMut(&LoadedConfig) -> Result<Router>,
    ) -> Result<Self> {
        let names: Vec<String> = loaded
            .config
            .recipe_names()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let mut routers = Vec::with_capacity(names.len());
        for name in &names {
            let recipe = loaded.recipe(name).ok_or_else(|| Error::Config {
                location: loaded.origin.clone(),
                message: format!("recipe {name:?} has no routing profile"),
            })?;
            routers.push(compile(&recipe)?);
        }
        let config = RouterConfig {
            routing: Default::default(),
            ..loaded.config.clone()
        };
        Ok(Recipes {
            names,
            routers,
            config,
        })
    }

    /// Every router reading `stats` (see [`Router::with_stats`]).
    pub fn with_stats(self, stats: &Arc<ModelStats>) -> Self {
        let routers = self
            .routers
            .into_iter()
            .map(|r| r.with_stats(Arc::clone(stats)))
            .collect();
        Recipes { routers, ..self }
    }

    /// The recipe names, the default first.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The router of recipe `i` (0: the default).
    pub fn router(&self, i: usize) -> &Router {
        &self.routers[i]
    }

    /// The default recipe's router.
    pub fn default_router(&self) -> &Router {
        &self.routers[0]
    }

    /// The index of recipe `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The recipe a requested model name selects: an auto alias the default, an entrypoint
    /// its recipe; `None` for any other name (the seed passes it through).
    pub fn for_model(&self, model: &str) -> Option<usize> {
        match self.config.recipe_for_model(model) {
            RecipeChoice::Recipe(name) => self.index(name),
            RecipeChoice::Passthrough => None,
        }
    }

    /// Every entrypoint's model names, in config order.
    pub fn entrypoint_names(&self) -> impl Iterator<Item = &str> {
        let names = self.config.entrypoints.iter().flat_map(|e| &e.model_names);
        names.map(|n| n.trim())
    }

    /// Whether the config has recipes or entrypoints beside its top-level profile.
    pub fn is_multi(&self) -> bool {
        self.names.len() > 1 || !self.config.entrypoints.is_empty()
    }

    /// Whether some recipe's routing runs a model.
    pub fn runs_models(&self) -> bool {
        self.routers.iter().any(Router::runs_models)
    }
}
