#![warn(missing_docs)]
//! router-core: the routing brain shared by `routelab eval` (offline replay) and `routelab serve`.
//!
//! A [`config::RouterConfig`] (vLLM Semantic Router v0.3 shape) is compiled into an
//! [`engine::Router`]. For each [`request::RouteRequest`] the router computes only the
//! signals some decision uses, evaluates the priority-ordered AND/OR/NOT decision rules and
//! returns a [`engine::RouteOutcome`]: the chosen decision, model, reasoning mode, plugins and
//! a trace of why.
//!
//! Model-based signals (domain, jailbreak, PII, embedding similarity) run BERT-family encoders
//! with candle ([`inference`]). The directory layout those models are exported in by
//! `routelab train` is defined once, in [`export`].
//!
//! ```
//! use std::path::Path;
//!
//! use router_core::config::LoadedConfig;
//! use router_core::engine::Router;
//! use router_core::inference::ModelRegistry;
//! use router_core::request::parse_conversation_json;
//!
//! let yaml = r#"
//! providers:
//!   defaults: {default_model: small}
//!   models: [{name: small}, {name: big}]
//! routing:
//!   signals:
//!     keywords:
//!       - {name: math, operator: OR, keywords: [integral, prove]}
//!   decisions:
//!     - name: math_route
//!       priority: 10
//!       rules: {operator: OR, conditions: [{type: keyword, name: math}]}
//!       modelRefs: [{model: big, use_reasoning: true}]
//!     - name: fallback
//!       rules: {operator: AND}
//!       modelRefs: [{model: small}]
//! "#;
//! let loaded = LoadedConfig::from_yaml_str(yaml, "example.yaml", Path::new("."))?;
//! // Model-based signals would load their models through this registry.
//! let router = Router::new(&loaded, &ModelRegistry::default())?;
//!
//! // The same parser serve uses for request bodies and replay for a log's `messages`.
//! let request = parse_conversation_json(
//!     r#"[{"role": "user", "content": [{"type": "text", "text": "Prove that the integral converges"}]}]"#,
//! )?;
//! let outcome = router.route(&request)?;
//! assert_eq!(outcome.decision.as_deref(), Some("math_route"));
//! assert_eq!(outcome.model, "big");
//! assert!(outcome.use_reasoning);
//!
//! let outcome = router.route(&router_core::request::RouteRequest::from_prompt("hello"))?;
//! assert_eq!(outcome.decision.as_deref(), Some("fallback"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod bio;
pub mod cache;
pub mod config;
pub mod digest;
pub mod engine;
pub mod error;
pub mod export;
pub mod inference;
pub mod metrics;
pub mod paths;
pub mod plugins;
pub mod request;
pub mod selection;
pub mod signals;

pub use error::{Error, Result};
