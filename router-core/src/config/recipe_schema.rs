//! Multi-recipe configs: `entrypoints` map requested model names to `recipes`, each with its
//! own signals, projections, decisions and strategy; providers, model cards and `global` are
//! shared (the seed's `pkg/config/canonical_recipes.go` and `recipes.go`).
//!
//! The top-level `routing` profile is the recipe named [`DEFAULT_RECIPE`]. A request whose
//! `model` is an auto alias goes to it, an entrypoint's name to that entrypoint's recipe, any
//! other name to no recipe at all (the seed passes it through to that model).

use serde::{Deserialize, Serialize};

use super::schema::{RouterConfig, Routing};

/// The recipe of the top-level `routing` profile.
pub const DEFAULT_RECIPE: &str = "default";

/// The seed's auto aliases when `global.router.auto_model_names` is absent (the last one is
/// `global.router.auto_model_name`'s default, `DefaultAutoModelName` in `config/helper.go`).
pub const DEFAULT_AUTO_NAMES: [&str; 3] = ["vllm-sr/auto", "auto", "MoM"];

/// `entrypoints[]`: requested model names that select a recipe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Entrypoint {
    /// The virtual model names (matched exactly, after trimming the request's).
    #[serde(default)]
    pub model_names: Vec<String>,
    /// The recipe they select.
    #[serde(default)]
    pub recipe: String,
}

/// `recipes[]`: a named routing profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    /// Unique name.
    #[serde(default)]
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its signals, projections, decisions and strategy (no `modelCards`: they are shared).
    #[serde(default)]
    pub routing: Routing,
}

/// Which recipe a requested model name selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipeChoice<'a> {
    /// Route with this recipe.
    Recipe(&'a str),
    /// No recipe: the name is neither an auto alias nor an entrypoint.
    Passthrough,
}

impl Routing {
    /// Whether this profile routes anything of its own (the seed's
    /// `canonicalRoutingHasProfile`: a strategy, a decision, a projection or a signal rule).
    pub fn has_profile(&self) -> bool {
        let p = &self.projections;
        self.strategy.is_some()
            || !self.decisions.is_empty()
            || !(p.partitions.is_empty() && p.scores.is_empty() && p.mappings.is_empty())
            || crate::signals::SignalKind::ALL
                .iter()
                .any(|k| !k.is_derived() && !self.signal_names(*k).is_empty())
    }
}

impl RouterConfig {
    /// Whether the config declares entrypoints or recipes.
    pub fn is_multi_recipe(&self) -> bool {
        !self.entrypoints.is_empty() || !self.recipes.is_empty()
    }

    /// The model names that route with the default recipe: `global.router.auto_model_names`
    /// when present (even empty), else [`DEFAULT_AUTO_NAMES`].
    pub fn auto_model_names(&self) -> Vec<&str> {
        match &self.global.router.auto_model_names {
            Some(names) => names
                .iter()
                .map(|n| n.trim())
                .filter(|n| !n.is_empty())
                .collect(),
            None => DEFAULT_AUTO_NAMES.to_vec(),
        }
    }

    /// The recipe a requested model name selects (the seed's `RecipeForRoutingModel`).
    pub fn recipe_for_model(&self, model: &str) -> RecipeChoice<'_> {
        let m = model.trim();
        if self.auto_model_names().contains(&m) {
            return RecipeChoice::Recipe(DEFAULT_RECIPE);
        }
        self.entrypoint_recipe(m)
            .map_or(RecipeChoice::Passthrough, RecipeChoice::Recipe)
    }

    /// The recipe of the entrypoint that names `model` (trimmed, matched exactly).
    pub fn entrypoint_recipe(&self, model: &str) -> Option<&str> {
        let m = model.trim();
        self.entrypoints
            .iter()
            .find(|e| e.model_names.iter().any(|n| n.trim() == m))
            .map(|e| e.recipe.trim())
    }

    /// Every recipe's name, the default first.
    pub fn recipe_names(&self) -> Vec<&str> {
        let named = self.recipes.iter().map(|r| r.name.as_str());
        std::iter::once(DEFAULT_RECIPE)
            .chain(named.filter(|n| *n != DEFAULT_RECIPE))
            .collect()
    }

    /// Where recipe `name`'s profile is: `Some(None)` the top-level `routing` (the default,
    /// unless the top level has no profile of its own and a recipe is named `default`),
    /// `Some(Some(i))` `recipes[i]`; `None` when there is no such recipe.
    pub fn profile_index(&self, name: &str) -> Option<Option<usize>> {
        let named = self.recipes.iter().position(|r| r.name == name);
        if name == DEFAULT_RECIPE && (self.routing.has_profile() || named.is_none()) {
            return Some(None);
        }
        named.map(Some)
    }

    fn profile(&self, name: &str) -> Option<&Routing> {
        Some(match self.profile_index(name)? {
            None => &self.routing,
            Some(i) => &self.recipes[i].routing,
        })
    }

    /// The config as recipe `name` routes: its profile in place of the top-level one (the
    /// strategy inherited when it sets none), the shared parts as they are, no recipes.
    pub fn recipe_view(&self, name: &str) -> Option<RouterConfig> {
        self.profile(name).map(|p| self.view_of(p))
    }

    /// The config with `profile` in place of the top-level one (see [`Self::recipe_view`]).
    pub fn view_of(&self, profile: &Routing) -> RouterConfig {
        RouterConfig {
            entrypoints: Vec::new(),
            recipes: Vec::new(),
            routing: Routing {
                strategy: profile.strategy.or(self.routing.strategy),
                model_cards: self.routing.model_cards.clone(),
                ..profile.clone()
            },
            ..self.clone()
        }
    }
}
