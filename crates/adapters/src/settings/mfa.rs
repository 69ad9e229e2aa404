//! `mfa.*`: the second factor's switch and policy, and the keys that seal TOTP secrets at rest
//! (32 bytes each, base64), with their rules.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

use super::{ConfigError, Profile, Settings};

/// `mfa.*`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MfaSettings {
    /// Whether accounts may enrol a TOTP second factor; by default, in development always, in
    /// production when `mfa.encryption_key` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Whether an admin without a second factor may only enrol one.
    pub require_for_admins: bool,
    /// The issuer authenticator apps show beside the account.
    pub issuer: String,
    /// The key that seals new TOTP secrets: 32 bytes, base64. Required in production for
    /// `mfa.enabled`; in development, one derived from the token-signing key when unset.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::redact::secret"
    )]
    pub encryption_key: Option<SecretString>,
    /// Earlier keys, that still open the secrets they sealed (rotation).
    #[serde(serialize_with = "redacted_list")]
    pub previous_encryption_keys: Vec<SecretString>,
}

impl Default for MfaSettings {
    fn default() -> Self {
        Self {
            enabled: None,
            require_for_admins: false,
            issuer: "Warden".into(),
            encryption_key: None,
            previous_encryption_keys: Vec::new(),
        }
    }
}

fn redacted_list<S: Serializer>(keys: &[SecretString], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(keys.iter().map(|_| "[redacted]"))
}

/// A sealing key from its base64 text (standard or URL-safe, padded or not).
fn decode_key(key: &str, text: &SecretString) -> Result<[u8; 32], ConfigError> {
    let text = text.expose_secret().trim();
    let bytes = STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
        .map_err(|_| ConfigError::setting(key, "is not base64"))?;
    bytes
        .try_into()
        .map_err(|_| ConfigError::setting(key, "must be 32 bytes (44 characters of base64)"))
}

/// The sealing keys, decoded.
#[derive(Clone, Default)]
pub struct SealingKeys {
    /// `mfa.encryption_key`, when set.
    pub current: Option<[u8; 32]>,
    /// `mfa.previous_encryption_keys`.
    pub previous: Vec<[u8; 32]>,
}

impl std::fmt::Debug for SealingKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKeys([redacted])")
    }
}

impl MfaSettings {
    /// The sealing key and the previous ones, decoded.
    ///
    /// # Errors
    /// A key that is not 32 bytes of base64.
    pub fn keys(&self) -> Result<SealingKeys, ConfigError> {
        let current = self
            .encryption_key
            .as_ref()
            .map(|k| decode_key("mfa.encryption_key", k))
            .transpose()?;
        let previous = self
            .previous_encryption_keys
            .iter()
            .map(|k| decode_key("mfa.previous_encryption_keys", k))
            .collect::<Result<_, _>>()?;
        Ok(SealingKeys { current, previous })
    }
}

impl Settings {
    /// Whether accounts may enrol a second factor (see [`MfaSettings::enabled`]).
    pub fn mfa_enabled(&self) -> bool {
        self.mfa
            .enabled
            .unwrap_or(self.profile == Profile::Development || self.mfa.encryption_key.is_some())
    }

    /// The rules of `mfa.*`: keys that decode, an issuer, admins required to enrol only where
    /// enrolment is on, and in production a key whenever enrolment is on.
    pub(super) fn validate_mfa(&self) -> Result<(), ConfigError> {
        let mfa = &self.mfa;
        mfa.keys()?;
        if mfa.issuer.trim().is_empty() {
            return Err(ConfigError::setting("mfa.issuer", "must not be empty"));
        }
        if mfa.require_for_admins && !self.mfa_enabled() {
            return Err(ConfigError::setting(
                "mfa.require_for_admins",
                "needs mfa.enabled = true",
            ));
        }
        if self.profile == Profile::Production && self.mfa_enabled() && mfa.encryption_key.is_none()
        {
            return Err(ConfigError::setting(
                "mfa.encryption_key",
                "is required in production for mfa.enabled (32 random bytes, base64)",
            ));
        }
        Ok(())
    }
}
