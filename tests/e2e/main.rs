//! End-to-end tests: a real server on a random port, a fresh SQLite file each, real HTTP.

mod admin;
mod api_keys;
mod audit;
mod auth;
mod authorization;
mod body_limit;
mod clients;
mod contract;
mod edge;
mod fuzz;
mod helpers;
mod hygiene;
mod import;
mod inbox;
mod limits;
mod lockout;
mod lookalikes;
mod mail;
mod mail_races;
mod mfa;
mod races;
mod session_endpoints;
mod sessions;
mod slow_clients;
mod tokens;
mod wire;
