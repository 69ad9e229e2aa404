//! The contract's checks of [`Settings`] that need no file and no network: each refusal names
//! its setting; the warnings are what is allowed but unwise.

use std::ops::RangeInclusive;
use std::time::Duration;

use secrecy::ExposeSecret;
use warden_domain::credential_policy::{
    ACCESS_TTL_SECONDS, HashCost, LifetimeError, check_hash_cost, check_token_lifetimes,
};
use warden_domain::password::PasswordPolicy;
use warden_domain::secret_strength::{SecretWeakness, secret_weakness};

use super::{ConfigError, JwtAlgorithm, Profile, Settings};
use crate::db::Timeouts;
use crate::redact::{Redacted, redact_url};

/// `database.acquire_timeout_ms`: from a tenth of a second to a minute.
pub(super) const ACQUIRE_TIMEOUT_MS: RangeInclusive<u64> = 100..=60_000;
/// `database.statement_timeout_ms`: from a tenth of a second to an hour.
pub(super) const STATEMENT_TIMEOUT_MS: RangeInclusive<u64> = 100..=3_600_000;

/// Refuses an HS256 secret too short in any profile, and a published or predictable one in
/// production (development only warns, through [`Settings::warnings`]).
fn refuse_weak_secret(secret: &str, production: bool) -> Result<(), ConfigError> {
    match secret_weakness(secret) {
        Some(why @ SecretWeakness::TooShort) => Err(ConfigError::setting("jwt.secret", why)),
        Some(why) if production => Err(ConfigError::setting("jwt.secret", why)),
        _ => Ok(()),
    }
}

impl Settings {
    /// Every refusal of the contract that can be decided without touching files or the network.
    ///
    /// # Errors
    /// The first problem found, naming the setting.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_signing_key()?;
        self.validate_except_signing_key()
    }

    /// The signing key: present in production, and strong enough. Only what signs or
    /// verifies tokens needs it (the server, `warden config check`); the admin commands do not.
    ///
    /// # Errors
    /// A [`ConfigError`] naming `jwt.secret` or `jwt.private_key_file`.
    pub fn validate_signing_key(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, why: String| Err(ConfigError::setting(key, why));
        let production = self.profile == Profile::Production;
        match self.jwt.algorithm {
            JwtAlgorithm::HS256 => match &self.jwt.secret {
                Some(secret) => refuse_weak_secret(secret.expose_secret(), production)?,
                None if production => {
                    return fail(
                        "jwt.secret",
                        "is required in production under HS256 (make one with `warden keys generate`)".into(),
                    );
                }
                None => {}
            },
            JwtAlgorithm::EdDSA => {
                if production && self.jwt.private_key_file.is_none() {
                    return fail(
                        "jwt.private_key_file",
                        "is required in production under EdDSA (make one with `warden keys generate --algorithm eddsa`)".into(),
                    );
                }
            }
            JwtAlgorithm::RS256 => {
                if self.jwt.private_key_file.is_none() {
                    return fail(
                        "jwt.private_key_file",
                        "is required under RS256 (make one with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072`)".into(),
                    );
                }
            }
        }
        Ok(())
    }

    /// Every check but [`Self::validate_signing_key`].
    ///
    /// # Errors
    /// A [`ConfigError`] naming the setting at fault.
    pub fn validate_except_signing_key(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, why: String| Err(ConfigError::setting(key, why));
        let production = self.profile == Profile::Production;
        if self.jwt.audience.trim().is_empty() {
            return fail("jwt.audience", "must not be empty".into());
        }
        check_token_lifetimes(self.jwt.access_ttl_seconds, self.jwt.refresh_ttl_seconds)?;
        PasswordPolicy::new(
            self.password.min_length,
            self.password.max_length,
            self.password.min_strength,
        )?;
        self.validate_argon2(production)?;
        for (key, value) in [
            ("lockout.max_failures", self.lockout.max_failures),
            ("lockout.base_seconds", self.lockout.base_seconds),
            (
                "lockout.account_max_failures",
                self.lockout.account_max_failures,
            ),
        ] {
            if value == 0 {
                return fail(key, "must be at least 1".into());
            }
        }
        if !(1..=36_500).contains(&self.audit.retention_days) {
            return fail("audit.retention_days", "must be between 1 and 36500".into());
        }
        self.validate_mfa()?;
        self.validate_mail()?;
        self.validate_oauth()?;
        let url = &self.database.url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return fail(
                "database.url",
                format!("'{}' is neither sqlite:// nor postgres://", redact_url(url)),
            );
        }
        if self.database.max_connections == 0 {
            return fail("database.max_connections", "must be at least 1".into());
        }
        self.validate_database_timeouts()?;
        if let Some(url) = &self.redis.url
            && let Err(e) = redis::IntoConnectionInfo::into_connection_info(url.as_str())
        {
            return Err(ConfigError::RedisUrl {
                shown: redact_url(url),
                source: Redacted::new(e, url),
            });
        }
        Ok(())
    }

    fn validate_argon2(&self, production: bool) -> Result<(), ConfigError> {
        let a = &self.argon2;
        argon2::Params::new(a.memory_kib, a.iterations, a.parallelism, None)
            .map_err(ConfigError::Argon2Params)?;
        let cost = HashCost {
            memory_kib: a.memory_kib,
            iterations: a.iterations,
            parallelism: a.parallelism,
        };
        Ok(check_hash_cost(cost, production)?)
    }

    /// Settings that are allowed but unwise, one line each naming the setting; the server
    /// logs them at start.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.jwt.algorithm == JwtAlgorithm::HS256
            && let Some(secret) = &self.jwt.secret
            && let Some(why) = secret_weakness(secret.expose_secret())
        {
            out.push(format!(
                "jwt.secret: {why} (refused in production, allowed in {})",
                profile_name(self.profile)
            ));
        }
        for net in &self.server.trusted_proxies {
            if net.prefix_len() == 0 {
                out.push(format!(
                    "server.trusted_proxies: {net} trusts every address, so any client can choose the IP that rate limits and the lockout count"
                ));
            }
        }
        out
    }

    /// The database waits of `database.acquire_timeout_ms` and `database.statement_timeout_ms`.
    pub fn database_timeouts(&self) -> Timeouts {
        Timeouts {
            acquire: Duration::from_millis(self.database.acquire_timeout_ms),
            statement: Duration::from_millis(self.database.statement_timeout_ms),
        }
    }

    pub(super) fn validate_database_timeouts(&self) -> Result<(), ConfigError> {
        for (key, value, range) in [
            (
                "database.acquire_timeout_ms",
                self.database.acquire_timeout_ms,
                ACQUIRE_TIMEOUT_MS,
            ),
            (
                "database.statement_timeout_ms",
                self.database.statement_timeout_ms,
                STATEMENT_TIMEOUT_MS,
            ),
        ] {
            if !range.contains(&value) {
                return Err(ConfigError::Invalid(format!(
                    "{key}: must be between {} and {} milliseconds",
                    range.start(),
                    range.end()
                )));
            }
        }
        Ok(())
    }
}

/// The message of a lifetime the credential policy refuses, naming the setting.
pub(super) fn describe_lifetimes(e: LifetimeError) -> String {
    match e {
        LifetimeError::AccessOutOfRange => format!(
            "jwt.access_ttl_seconds: must be between {} and {}",
            ACCESS_TTL_SECONDS.start(),
            ACCESS_TTL_SECONDS.end()
        ),
        LifetimeError::RefreshShorterThanAccess => {
            "jwt.refresh_ttl_seconds: must be at least jwt.access_ttl_seconds".to_owned()
        }
    }
}

fn profile_name(profile: Profile) -> &'static str {
    match profile {
        Profile::Development => "development",
        Profile::Production => "production",
    }
}
