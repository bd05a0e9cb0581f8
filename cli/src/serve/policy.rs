//! The serving policy: router-core's compiled [`Router`] plus, per configured model, where and
//! how to send its requests. One `Policy` is built per (re)load and shared through an `Arc`.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use router_core::config::{merge_json, LoadedConfig, ModelMap, ModelSpec};
use router_core::engine::{Recipes, RouteOutcome, Router};
use router_core::inference::ModelRegistry;
use router_core::request::RouteRequest;
use router_core::selection::stats::ModelStats;
use serde_json::{Map, Value};

use super::cache::ResponseCaches;
use super::upstream::Backend;

/// Where requests for one configured model go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelTarget {
    /// The model's name in the config (what clients and decisions use).
    pub name: String,
    /// The id sent upstream as `model` (`provider_model_id`, else the name).
    pub upstream_model: String,
    /// Its backends, in config order (the next one is tried when one cannot be reached).
    pub backends: Vec<Backend>,
}

impl ModelTarget {
    /// Builds the target of a model spec; `env` looks up `api_key_env` variables. With an
    /// `upstream` base URL every model is sent there instead of to its `backend_refs`.
    fn from_spec(
        spec: &ModelSpec,
        upstream: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        if let Some(base) = upstream {
            return Ok(ModelTarget {
                name: spec.name.clone(),
                upstream_model: spec.upstream_id().to_owned(),
                backends: vec![Backend {
                    url: format!("{}/chat/completions", base.trim_end_matches('/')),
                    api_key: None,
                    extra_headers: Vec::new(),
                }],
            });
        }
        let mut backends = Vec::with_capacity(spec.backend_refs.len());
        for (i, b) in spec.backend_refs.iter().enumerate() {
            let url = b.chat_url().with_context(|| {
                format!(
                    "providers.models[{}].backend_refs[{i}]: needs `endpoint` or `base_url`",
                    spec.name
                )
            })?;
            let api_key = match (&b.api_key, &b.api_key_env) {
                (Some(key), _) => Some(key.clone()),
                (None, Some(var)) => {
                    let key = env(var);
                    if key.is_none() {
                        tracing::warn!(model = %spec.name, var = %var,
                            "api_key_env is not set; the client's Authorization header is forwarded");
                    }
                    key
                }
                (None, None) => None,
            };
            backends.push(Backend {
                url,
                api_key,
                extra_headers: Vec::new(),
            });
        }
        if backends.is_empty() {
            tracing::warn!(model = %spec.name, "model has no backend_refs; requests for it answer 502");
        }
        Ok(ModelTarget {
            name: spec.name.clone(),
            upstream_model: spec.upstream_id().to_owned(),
            backends,
        })
    }
}

/// A loaded config ready to serve.
pub struct Policy {
    /// One router per recipe (the default first).
    recipes: Recipes,
    models: Vec<ModelTarget>,
    /// The model names, shared with request-log records.
    model_list: Arc<[String]>,
    uses_models: bool,
    caches: Option<ResponseCaches>,
}

impl Policy {
    /// Loads, validates and compiles a config file (model-based signals load their models).
    /// `upstream`, when set, is the one OpenAI-compatible base URL every model is sent to.
    /// Models are loaded through `models` (shared with the other policies built from it); its
    /// selections read `stats` (seeded with the config's latency profiles).
    pub fn load(
        path: &Path,
        model_maps: &[ModelMap],
        upstream: Option<&str>,
        models: &ModelRegistry,
        stats: &Arc<ModelStats>,
    ) -> anyhow::Result<Policy> {
        let mut loaded = LoadedConfig::from_file(path)?;
        loaded.map_models(model_maps)?;
        stats.seed(&loaded.config);
        let recipes = Recipes::build(&loaded, |l| Router::new(l, models))?.with_stats(stats);
        let caches = ResponseCaches::build(&loaded, models)?;
        Self::from_recipes(recipes, caches, upstream, &|var| std::env::var(var).ok())
    }

    fn from_recipes(
        recipes: Recipes,
        caches: Option<ResponseCaches>,
        upstream: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Policy> {
        let models = recipes
            .default_router()
            .config()
            .providers
            .models
            .iter()
            .map(|spec| ModelTarget::from_spec(spec, upstream, env))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let uses_models = recipes.runs_models();
        let model_list = models.iter().map(|m| m.name.clone()).collect();
        Ok(Policy {
            recipes,
            models,
            model_list,
            uses_models,
            caches,
        })
    }

    /// Names of the configured models, in config order.
    pub fn model_names(&self) -> impl Iterator<Item = &str> {
        self.models.iter().map(|m| m.name.as_str())
    }

    /// The configured model names as one shared list (the request log's columns).
    pub fn model_list(&self) -> Arc<[String]> {
        Arc::clone(&self.model_list)
    }

    /// The target of a configured model.
    pub fn model(&self, name: &str) -> Option<&ModelTarget> {
        self.models.iter().find(|m| m.name == name)
    }

    /// Whether routing runs model inference (domain, jailbreak, PII, embedding signals): such
    /// routing is CPU work that must leave the async threads.
    pub fn uses_models(&self) -> bool {
        self.uses_models
    }

    /// The key of the response cache of `decision` in recipe `recipe`.
    pub fn cache_key(&self, recipe: usize, decision: &str) -> String {
        super::cache::cache_key(recipe, &self.recipes.names()[recipe], decision)
    }

    /// The response caches, when some decision has a cache plugin.
    pub fn caches(&self) -> Option<&ResponseCaches> {
        self.caches.as_ref()
    }

    /// Routes a request with recipe `recipe` (0: the default); `trace` adds the per-decision
    /// evaluation.
    pub fn route(
        &self,
        recipe: usize,
        request: &RouteRequest,
        trace: bool,
    ) -> router_core::Result<RouteOutcome> {
        let router = self.recipes.router(recipe);
        if trace {
            router.route_with_trace(request)
        } else {
            router.route(request)
        }
    }

    /// The model names of the config's entrypoints (what `/v1/models` lists beside the auto
    /// names and the models).
    pub fn entrypoint_names(&self) -> impl Iterator<Item = &str> {
        self.recipes.entrypoint_names()
    }

    /// The recipe a requested model name selects: an auto alias of the config (absent:
    /// the seed's) the default, an entrypoint its recipe ([`Recipes::for_model`], as
    /// `routelab route` and `routelab probe` resolve it).
    pub fn recipe_for(&self, model: &str) -> Option<usize> {
        self.recipes.for_model(model)
    }

    /// The name of recipe `i`, when the config has several (`None` for a single profile).
    pub fn recipe_name(&self, i: usize) -> Option<&str> {
        self.recipes
            .is_multi()
            .then(|| self.recipes.names()[i].as_str())
    }

    /// Sets the reasoning parameter of `model`'s reasoning family in `body`.
    pub fn apply_reasoning(
        &self,
        model: &str,
        body: &mut Map<String, Value>,
        use_reasoning: bool,
        effort: Option<&str>,
    ) {
        let patch = self
            .recipes
            .default_router()
            .reasoning_patch(model, use_reasoning, effort);
        if patch.as_object().is_some_and(Map::is_empty) {
            return;
        }
        let mut whole = Value::Object(std::mem::take(body));
        merge_json(&mut whole, &patch);
        if let Value::Object(map) = whole {
            *body = map;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CONFIG: &str = r#"
providers:
  defaults:
    default_model: small
    reasoning_families:
      qwen3: {type: chat_template_kwargs, parameter: enable_thinking}
      gpt: {type: reasoning_effort, parameter: reasoning.effort}
  models:
    - name: small
      reasoning_family: qwen3
      provider_model_id: qwen3-8b-instruct
      backend_refs:
        - {endpoint: "127.0.0.1:9001"}
        - {base_url: "https://api.example.com/v1/", api_key_env: TEST_KEY_VAR}
    - name: big
      reasoning_family: gpt
      backend_refs:
        - {endpoint: "10.0.0.2:443", protocol: https, chat_path: /chat, api_key: literal}
routing:
  signals:
    keywords:
      - {name: hard, operator: OR, keywords: [prove]}
  decisions:
    - name: hard_route
      priority: 10
      rules: {operator: OR, conditions: [{type: keyword, name: hard}]}
      modelRefs: [{model: big, use_reasoning: true, reasoning_effort: high}]
"#;

    fn policy() -> Policy {
        let loaded =
            LoadedConfig::from_yaml_str(CONFIG, "test.yaml", Path::new(".")).expect("valid config");
        let recipes = Recipes::build(&loaded, |l| Router::new(l, &ModelRegistry::default()));
        Policy::from_recipes(recipes.expect("router"), None, None, &|var| {
            (var == "TEST_KEY_VAR").then(|| "from-env".into())
        })
        .expect("policy")
    }

    #[test]
    fn builds_backends_from_endpoint_and_base_url() {
        let p = policy();
        assert_eq!(p.model_names().collect::<Vec<_>>(), ["small", "big"]);
        let small = p.model("small").unwrap();
        assert_eq!(small.upstream_model, "qwen3-8b-instruct");
        assert_eq!(
            small.backends[0].url,
            "http://127.0.0.1:9001/v1/chat/completions"
        );
        assert_eq!(small.backends[0].api_key, None);
        assert_eq!(
            small.backends[1].url,
            "https://api.example.com/v1/chat/completions"
        );
        assert_eq!(small.backends[1].api_key.as_deref(), Some("from-env"));
        let big = p.model("big").unwrap();
        assert_eq!(big.upstream_model, "big");
        assert_eq!(big.backends[0].url, "https://10.0.0.2:443/chat");
        assert_eq!(big.backends[0].api_key.as_deref(), Some("literal"));
        assert!(p.model("absent").is_none());
        assert!(!p.uses_models());
    }

    #[test]
    fn upstream_override_sends_every_model_to_one_base_url() {
        let loaded =
            LoadedConfig::from_yaml_str(CONFIG, "test.yaml", Path::new(".")).expect("valid config");
        let recipes = Recipes::build(&loaded, |l| Router::new(l, &ModelRegistry::default()));
        let p = Policy::from_recipes(
            recipes.unwrap(),
            None,
            Some("http://127.0.0.1:9100/v1/"),
            &|_| Some("unused".into()),
        )
        .expect("policy");
        for name in ["small", "big"] {
            let target = p.model(name).unwrap();
            assert_eq!(
                target.backends,
                vec![Backend {
                    url: "http://127.0.0.1:9100/v1/chat/completions".into(),
                    api_key: None,
                    extra_headers: Vec::new(),
                }]
            );
        }
        assert_eq!(
            p.model("small").unwrap().upstream_model,
            "qwen3-8b-instruct"
        );
    }

    #[test]
    fn routes_and_patches_reasoning() {
        let p = policy();
        let out = p
            .route(0, &RouteRequest::from_prompt("please prove this"), false)
            .unwrap();
        assert_eq!(out.decision.as_deref(), Some("hard_route"));
        assert_eq!(out.model, "big");
        let mut body = json!({"model": "auto", "reasoning": {"summary": "auto"}})
            .as_object()
            .unwrap()
            .clone();
        p.apply_reasoning(
            "big",
            &mut body,
            out.use_reasoning,
            out.reasoning_effort.as_deref(),
        );
        assert_eq!(
            body["reasoning"],
            json!({"summary": "auto", "effort": "high"})
        );
        let mut body = Map::new();
        p.apply_reasoning("small", &mut body, false, None);
        assert_eq!(
            Value::Object(body),
            json!({"chat_template_kwargs": {"enable_thinking": false}})
        );
    }
}
