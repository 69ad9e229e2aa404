//! Configuration: defaults, then a TOML file, then `WARDEN_*` variables, checked at load so
//! that a deployment that would be insecure or broken never starts.
//!
//! One job per file: `schema` (the sections and their defaults), `load` (figment: file and
//! environment), `validate` (the contract's refusals and warnings), `edge` (the HTTP edge's
//! settings: server timeouts and cap, CORS, docs), `rate` (the `"10/minute"` parser), `mfa` (the second factor's keys and rules), `mail` (the transport and the
//! links' rules), `oauth` (the clients' settings) and
//! `redact` (printing without secrets).

mod edge;
mod keys;
mod load;
mod mail;
mod mfa;
mod oauth;
mod rate;
mod redact;
mod schema;
mod validate;

pub use crate::redact::redact_url;

/// A commented `warden.toml` with every setting at its default (`warden config example`).
pub const EXAMPLE: &str = include_str!("example.toml");
pub use load::{CONFIG_PATH_VAR, DEFAULT_CONFIG_FILE};
pub use mail::{MailSettings, MailTransportKind};
pub use mfa::{MfaSettings, SealingKeys};
pub use oauth::OAuthSettings;
pub use rate::{Rate, RateError, RatePeriod};
pub use schema::{
    ApiKeySettings, Argon2Settings, AuthSettings, CorsSettings, DatabaseSettings, DocsSettings,
    JwtAlgorithm, JwtSettings, LockoutSettings, LogFormat, LogSettings, MetricsSettings,
    PasswordSettings, Profile, RateLimitSettings, RedisSettings, RefreshSettings, ServerSettings,
    Settings,
};

/// A configuration that cannot be used. The message names the setting and says why in one
/// line (the binaries print only it); an error underneath (argon2's, the password or hashing
/// policy's, Redis's, the TOML printer's) is also its `source()`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A setting a rule refuses, or a file or value that cannot be read; the message is all
    /// there is. Loading errors are described here without figment's error: its text quotes
    /// the values, and a value under the wrong key may be a secret.
    #[error("{0}")]
    Invalid(String),
    /// `password.*` contradicts itself.
    #[error("{0}")]
    PasswordPolicy(#[from] warden_domain::password::PolicyError),
    /// argon2 refuses `argon2.*`.
    #[error("argon2: invalid parameters ({0})")]
    Argon2Params(#[source] argon2::Error),
    /// `argon2.*` is below the credential policy's floor.
    #[error("argon2.memory_kib / argon2.iterations: {0}")]
    HashCost(#[from] warden_domain::credential_policy::CostBelowFloor),
    /// `jwt.access_ttl_seconds` and `jwt.refresh_ttl_seconds` break the credential policy.
    #[error("{}", validate::describe_lifetimes(*.0))]
    TokenLifetimes(#[from] warden_domain::credential_policy::LifetimeError),
    /// `redis.url` is not a Redis URL; shown without its password.
    #[error("redis.url: '{shown}' is not a Redis URL (redis://HOST:PORT/DB or rediss://…)")]
    RedisUrl {
        /// The URL with its secrets replaced.
        shown: String,
        /// Redis's reason, scrubbed of the URL's secrets.
        #[source]
        source: crate::redact::Redacted<redis::RedisError>,
    },
    /// The effective configuration cannot be printed (it should always can).
    #[error("cannot print configuration: {0}")]
    Print(#[source] toml::ser::Error),
}

impl ConfigError {
    /// A refusal of `key`, for the reason `why`.
    pub(crate) fn setting(key: &str, why: impl std::fmt::Display) -> Self {
        Self::Invalid(format!("{key}: {why}"))
    }
}

#[cfg(test)]
mod tests;
