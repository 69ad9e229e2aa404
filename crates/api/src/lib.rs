//! Warden's HTTP API: poem-openapi endpoints, security schemes, the mapping of domain errors
//! to HTTP, and the edge middleware. The `warden-api` binary only loads, builds and runs.

// Operations are async because poem-openapi calls them so, even those that do not await.
#![allow(clippy::unused_async)]
// Error responses carry their problem document by value, as poem-openapi's ApiResponse needs.
#![allow(clippy::result_large_err)]

pub mod app;
pub mod client_ip;
pub mod cors;
pub mod dto;
pub mod middleware;
pub mod problem;
pub mod rate_limit;
pub mod redact;
pub mod routes;
pub mod security;
pub mod state;

pub use app::{Application, endpoint, openapi_json};
