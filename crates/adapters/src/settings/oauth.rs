//! `oauth.*` and the issuer: Warden as an OAuth authorization server for registered clients.

use serde::{Deserialize, Serialize};

use super::{ConfigError, Settings};

/// The longest `oauth.default_client`.
const MAX_CLIENT_ID: usize = 64;

/// `oauth.*`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OAuthSettings {
    /// The `client_id` of the built-in first-party client (public, with the password and
    /// refresh grants) that a token request without `client_id` uses.
    pub default_client: String,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        Self {
            default_client: "warden".into(),
        }
    }
}

impl Settings {
    /// The issuer (`iss`): `jwt.issuer`, else `server.public_url` (without a trailing `/`),
    /// else `warden`.
    pub fn issuer(&self) -> String {
        match (&self.jwt.issuer, &self.server.public_url) {
            (Some(issuer), _) => issuer.clone(),
            (None, Some(url)) => url.trim_end_matches('/').to_owned(),
            (None, None) => "warden".to_owned(),
        }
    }

    /// `jwt.issuer`, when set: not empty, and a URL (https in production) when it names one,
    /// since discovery and OpenID Connect take the issuer for the server's base URL.
    fn validate_issuer(&self) -> Result<(), ConfigError> {
        let Some(issuer) = &self.jwt.issuer else {
            return Ok(());
        };
        if issuer.trim().is_empty() {
            return Err(ConfigError::setting("jwt.issuer", "must not be empty"));
        }
        if issuer.starts_with("http://") || issuer.starts_with("https://") {
            super::mail::check_url("jwt.issuer", issuer)?;
            if self.profile == super::Profile::Production && !issuer.starts_with("https://") {
                return Err(ConfigError::setting(
                    "jwt.issuer",
                    "must be an https:// URL in production",
                ));
            }
        }
        Ok(())
    }

    /// The rules of `oauth.*`: a default client id of 1 to 64 unreserved characters (RFC 3986),
    /// which no registered client (a UUID) can take.
    pub(super) fn validate_oauth(&self) -> Result<(), ConfigError> {
        self.validate_issuer()?;
        let id = &self.oauth.default_client;
        let unreserved = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b);
        if id.is_empty() || id.len() > MAX_CLIENT_ID || !id.bytes().all(unreserved) {
            return Err(ConfigError::setting(
                "oauth.default_client",
                format!("must be 1 to {MAX_CLIENT_ID} letters, digits, '-', '.', '_' or '~'"),
            ));
        }
        if uuid::Uuid::parse_str(id).is_ok() {
            return Err(ConfigError::setting(
                "oauth.default_client",
                "must not be a UUID: registered clients have those",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "oauth_tests.rs"]
mod tests;
