//! Warden's HTTP API: poem-openapi endpoints, security schemes, the mapping of domain errors
//! to HTTP, and the edge middleware. It knows the domain alone: the
//! `warden-server` package wires the adapters to it and runs the `warden-api` binary.

// Library code never panics on a value it did not expect: it returns an error (tests may).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
// Operations are async because poem-openapi calls them so, even those that do not await.
#![allow(clippy::unused_async)]
// Error responses carry their problem document by value, as poem-openapi's ApiResponse needs.
#![allow(clippy::result_large_err)]

pub mod allow;
pub mod app;
pub mod body;
pub mod client_auth;
pub mod client_ip;
pub mod config;
pub mod connection;
pub mod cors;
pub mod document;
pub mod dto;
pub mod failure;
pub mod metrics;
pub mod middleware;
pub mod pages;
pub mod problem;
pub mod rate_limit;
pub mod redact;
pub mod request_id;
pub mod routes;
pub mod security;
pub mod serve;
pub mod state;
pub mod strict_json;

pub use app::{endpoint, openapi_json, run, run_metrics};
pub use config::ApiConfig;
pub use state::{AppState, UseCases};
