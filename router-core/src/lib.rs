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

pub mod bio;
pub mod cache;
pub mod config;
pub mod engine;
pub mod error;
pub mod export;
pub mod inference;
pub mod paths;
pub mod plugins;
pub mod request;
pub mod signals;

pub use error::{Error, Result};
