//! Warden's domain: the model, the credential policies, the use cases and the ports they call.
//!
//! Nothing here knows HTTP, SQL, JWT libraries, hashing crates or configuration files; the
//! adapters crate implements the ports in [`ports`] and the API and CLI call the use cases in
//! [`auth`], [`account`], [`admin`] and [`api_key`], each with the [`principal::Principal`] it
//! acts for, and each deciding what that caller may do.

// Library code never panics on a value it did not expect: it returns an error (tests may).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod account;
pub mod admin;
pub mod api_key;
pub mod audit;
pub mod auth;
pub mod client;
pub mod clients;
pub mod credential_policy;
pub mod error;
pub mod foreign_hash;
pub mod import;
pub mod lockout;
pub mod mail;
pub mod mfa;
pub mod origin;
pub mod password;
pub mod ports;
pub mod principal;
pub mod rate_limit;
pub mod recovery;
pub mod refresh;
pub mod secret_strength;
pub mod session;
pub mod token;
pub mod user;

#[cfg(any(test, feature = "testing"))]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test support: a fake that cannot do what a test asked should fail that test"
)]
pub mod testing;

pub use error::Error;
