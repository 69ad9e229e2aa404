//! Printing the configuration without its secrets: the serializers that hide `jwt.secret`
//! and the passwords of `database.url` and `redis.url`, and the redacted TOML.

use secrecy::SecretString;
use serde::Serializer;

use super::{ConfigError, Settings};
use crate::redact::redact_url;

impl Settings {
    /// The effective configuration as TOML, secrets shown as `"[redacted]"`.
    ///
    /// # Errors
    /// If serialisation fails (it should not).
    pub fn to_redacted_toml(&self) -> Result<String, ConfigError> {
        toml::to_string(self).map_err(ConfigError::Print)
    }
}

#[allow(clippy::ref_option)] // The signature serde's `serialize_with` calls.
pub(super) fn secret<S: Serializer>(_: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("[redacted]")
}

pub(super) fn url_password<S: Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(url))
}

#[allow(clippy::ref_option)] // The signature serde's `serialize_with` calls.
pub(super) fn opt_url_password<S: Serializer>(
    url: &Option<String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(url.as_deref().unwrap_or_default()))
}
