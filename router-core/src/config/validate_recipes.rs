//! Validation of `recipes` and `entrypoints` (the seed's `validateCanonicalRecipes` and
//! `normalizeCanonicalEntrypoints`, `pkg/config/canonical_recipes.go`). Each recipe's profile is
//! checked as a config of its own by [`Validator::validate_recipe`].

use std::collections::{HashMap, HashSet};

use super::schema::RouterConfig;
use super::validate::Validator;
use super::DEFAULT_RECIPE;

impl Validator<'_> {
    /// Recipe names and what each entrypoint maps.
    pub(super) fn recipes(&mut self, c: &RouterConfig) {
        let mut names: HashSet<&str> = HashSet::new();
        for (i, r) in c.recipes.iter().enumerate() {
            let at = format!("recipes[{i}].name");
            if r.name.trim().is_empty() {
                self.error(&at, "recipe name is empty");
            } else if r.name.trim() != r.name {
                self.error(
                    &at,
                    &format!("recipe name {:?} has surrounding whitespace", r.name),
                );
            } else if !names.insert(r.name.as_str()) {
                self.error(&at, &format!("duplicate recipe name {:?}", r.name));
            } else if r.name == DEFAULT_RECIPE && c.routing.has_profile() {
                self.error(&at, "a recipe named \"default\" conflicts with the top-level routing profile: keep the default profile in routing or move it entirely into recipes");
            }
            if !r.routing.model_cards.is_empty() {
                let at = format!("recipes[{i}].routing.modelCards");
                self.error(
                    &at,
                    "the model catalog is shared: declare modelCards under the top-level routing",
                );
            }
        }
        self.entrypoints(c, &names);
    }

    fn entrypoints(&mut self, c: &RouterConfig, recipes: &HashSet<&str>) {
        let auto = c.auto_model_names();
        let cards = &c.routing.model_cards;
        let meaning = |n: &str| -> Option<&'static str> {
            if cards.iter().any(|m| m.name == n) || c.model(n).is_some() {
                Some("a configured model")
            } else if cards.iter().any(|m| m.loras.iter().any(|l| l.name == n)) {
                Some("a configured LoRA adapter")
            } else if auto.contains(&n) {
                Some("an auto-model alias")
            } else {
                None
            }
        };
        let mut mapped: HashMap<&str, usize> = HashMap::new();
        for (i, e) in c.entrypoints.iter().enumerate() {
            let recipe = e.recipe.trim();
            if recipe.is_empty() {
                self.error(&format!("entrypoints[{i}].recipe"), "recipe is empty");
            } else if recipe != DEFAULT_RECIPE && !recipes.contains(recipe) {
                let message = format!("unknown recipe {recipe:?} (not in recipes)");
                self.error(&format!("entrypoints[{i}].recipe"), &message);
            }
            let names: Vec<&str> = e
                .model_names
                .iter()
                .map(|n| n.trim())
                .filter(|n| !n.is_empty())
                .collect();
            let at = format!("entrypoints[{i}].model_names");
            if names.is_empty() {
                self.error(&at, "no model names");
            }
            for n in names {
                if let Some(&first) = mapped.get(n) {
                    if first != i {
                        let message =
                            format!("model name {n:?} is already mapped by entrypoints[{first}]");
                        self.error(&at, &message);
                    }
                    continue;
                }
                mapped.insert(n, i);
                if let Some(m) = meaning(n) {
                    let message = format!("model name {n:?} is already {m}; entrypoint names must be new virtual names");
                    self.error(&at, &message);
                }
            }
        }
    }
}
