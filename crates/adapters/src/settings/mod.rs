//! Configuration: defaults, then a TOML file, then `WARDEN_*` variables, checked at load so
//! that a deployment that would be insecure or broken never starts.
//!
//! One job per file: `schema` (the sections and their defaults), `load` (figment: file and
//! environment), `validate` (the contract's refusals and warnings), `edge` (the HTTP edge's
//! settings: server timeouts and cap, CORS, docs), `rate` (the `"10/minute"` parser) and
//! `redact` (printing without secrets).

mod edge;
mod load;
mod rate;
mod redact;
mod schema;
mod validate;

pub use crate::redact::redact_url;
pub use load::{CONFIG_PATH_VAR, DEFAULT_CONFIG_FILE};
pub use rate::{Rate, RatePeriod};
pub use schema::{
    ApiKeySettings, Argon2Settings, AuthSettings, CorsSettings, DatabaseSettings, DocsSettings,
    JwtAlgorithm, JwtSettings, LockoutSettings, PasswordSettings, Profile, RateLimitSettings,
    RedisSettings, RefreshSettings, ServerSettings, Settings,
};

/// A configuration that cannot be used; the message names the setting.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

#[cfg(test)]
mod tests;
