//! Multi-recipe configs (`entrypoints`, `recipes`) as the seed loads and routes them:
//! `pkg/config/canonical_recipes.go` (`validateCanonicalRecipes`,
//! `normalizeCanonicalEntrypoints`), `recipes.go` (`RecipeForRoutingModel`, `ConfigForRecipe`).

use std::path::Path;

use router_core::config::{LoadedConfig, RecipeChoice, Strategy, DEFAULT_RECIPE};
use router_core::engine::{Recipes, Router};
use router_core::request::RouteRequest;

fn example() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/recipes-example/config.yaml");
    std::fs::read_to_string(path).unwrap()
}

fn load(yaml: &str) -> Result<LoadedConfig, String> {
    LoadedConfig::from_yaml_str(yaml, "c.yaml", Path::new(".")).map_err(|e| e.to_string())
}

#[test]
fn the_requested_model_selects_the_recipe() {
    let loaded = load(&example()).unwrap();
    let c = &loaded.config;
    assert_eq!(c.recipe_names(), [DEFAULT_RECIPE, "balanced", "private"]);
    assert_eq!(
        c.recipe_for_model(" acme/private "),
        RecipeChoice::Recipe("private")
    );
    assert_eq!(
        c.recipe_for_model("acme/general"),
        RecipeChoice::Recipe("balanced")
    );
    // Case-sensitive; `auto_model_names: []` leaves no auto alias; a model passes through.
    for m in ["ACME/private", "auto", "large-model"] {
        assert_eq!(c.recipe_for_model(m), RecipeChoice::Passthrough, "{m}");
    }
    let recipes = Recipes::build(&loaded, |l| Router::with_signals(l, Vec::new())).unwrap();
    assert!(recipes.is_multi());
    let route = |model: &str, prompt: &str| {
        let r = recipes.for_model(model).unwrap();
        let out = recipes
            .router(r)
            .route(&RouteRequest::from_prompt(prompt))
            .unwrap();
        (recipes.names()[r].clone(), out.decision, out.model)
    };
    let balanced = route("acme/balanced", "please prove it");
    assert_eq!(
        balanced,
        (
            "balanced".into(),
            Some("hard_or_long".into()),
            "large-model".into()
        )
    );
    // The same local name `sensitive` means other keywords in each recipe.
    assert_eq!(
        route("acme/general", "my password").1.as_deref(),
        Some("sensitive_reminder")
    );
    assert_eq!(
        route("acme/general", "my salary").1.as_deref(),
        Some("everything_else")
    );
    assert_eq!(
        route("acme/private", "my salary").1.as_deref(),
        Some("sensitive_local")
    );
    // No decision of the private recipe matches: the shared default model, no other recipe.
    assert_eq!(
        route("acme/private", "please prove it"),
        ("private".into(), None, "small-model".into())
    );
    // Each recipe routes only with its own decisions and plugins.
    let private = recipes.router(2).config();
    assert_eq!(private.routing.decisions.len(), 1);
    assert_eq!(private.routing.strategy, Some(Strategy::Priority));
    assert_eq!(
        recipes.router(1).loaded().plugins[1].len(),
        1,
        "balanced's system_prompt"
    );
}

#[test]
fn a_recipe_without_a_strategy_inherits_the_top_level_one() {
    let yaml = example().replace("      strategy: priority\n", "").replace(
        "routing:\n  # The shared",
        "routing:\n  strategy: confidence\n  # The shared",
    );
    let loaded = load(&yaml).unwrap();
    let view = loaded.config.recipe_view("private").unwrap();
    assert_eq!(view.routing.strategy, Some(Strategy::Confidence));
    assert_eq!(view.routing.model_cards.len(), 3, "the catalog is shared");
}

/// Each mutation of the example and the error it must give (the seed's messages, reworded).
#[test]
fn recipes_and_entrypoints_are_checked() {
    let cases: [(&str, &str, &str); 8] = [
        ("  - name: private\n", "  - name: balanced\n", "recipes[1].name: duplicate recipe name \"balanced\""),
        ("    recipe: private\n", "    recipe: missing\n", "entrypoints[1].recipe: unknown recipe \"missing\""),
        ("  - model_names: [acme/private]\n", "  - model_names: []\n", "entrypoints[1].model_names: no model names"),
        ("  - model_names: [acme/private]\n", "  - model_names: [acme/general]\n", "model name \"acme/general\" is already mapped by entrypoints[0]"),
        ("  - model_names: [acme/private]\n", "  - model_names: [large-model]\n", "model name \"large-model\" is already a configured model"),
        ("    auto_model_names: []\n", "    auto_model_names: [acme/private]\n", "is already an auto-model alias"),
        // A recipe's decisions name only its own signals.
        ("              - {type: keyword, name: sensitive}\n          modelRefs:\n            - {model: private-model",
         "              - {type: keyword, name: hard_request}\n          modelRefs:\n            - {model: private-model",
         "recipes[1].routing.decisions[0].rules.conditions[0]"),
        ("            - {model: private-model, use_reasoning: false}\n        # No",
         "            - {model: gpt-x, use_reasoning: false}\n        # No",
         "recipes[1].routing.decisions[0].modelRefs[0].model"),
    ];
    let text = example();
    for (from, to, message) in cases {
        assert!(text.contains(from), "{from}");
        let err = load(&text.replacen(from, to, 1)).expect_err(message);
        assert!(err.contains(message), "{message}\n{err}");
    }
    let with_cards = text.replace(
        "      strategy: priority\n      signals:\n        keywords:\n          # The same",
        "      strategy: priority\n      modelCards: [{name: small-model}]\n      signals:\n        keywords:\n          # The same",
    );
    let err = load(&with_cards).unwrap_err();
    assert!(
        err.contains("recipes[1].routing.modelCards: the model catalog is shared"),
        "{err}"
    );
    let named_default = text
        .replace("  - name: private\n", "  - name: default\n")
        .replace("recipe: private", "recipe: default");
    assert!(
        load(&named_default).is_ok(),
        "a recipe may be the default when the top level has no profile"
    );
    let both = named_default.replace(
        "routing:\n  # The shared",
        "routing:\n  strategy: priority\n  # The shared",
    );
    let err = load(&both).unwrap_err();
    assert!(
        err.contains("conflicts with the top-level routing profile"),
        "{err}"
    );
}
