//! routelab's server as a library: [`serve::app`] builds the OpenAI-compatible axum
//! application from its state ([`serve::build_state`]), so tests drive it in-process and the
//! `routelab serve` binary runs it on a socket.
#![warn(missing_docs)]

pub mod serve;
