//! Warden's domain: the model, the credential policies, the use cases and the ports they call.
//!
//! Nothing here knows HTTP, SQL, JWT libraries, hashing crates or configuration files; the
//! adapters crate implements the ports in [`ports`] and the API and CLI call the use cases in
//! [`auth`] and [`admin`].

pub mod admin;
pub mod api_key;
pub mod auth;
pub mod credential_policy;
pub mod error;
pub mod lockout;
pub mod password;
pub mod ports;
pub mod rate_limit;
pub mod refresh;
pub mod secret_strength;
pub mod token;
pub mod user;

pub use error::Error;
