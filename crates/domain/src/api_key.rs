//! API keys: `wdn_` + a public lookup id + a secret, stored as a digest, shown once.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::Error;
use crate::audit::{AuditEvent, AuditKind};
use crate::auth::ensure_live;
use crate::ports::{ApiKeyRepository, Clock, KeyDigester, Random};
use crate::principal::{Credential, Principal};

/// Every key starts with this.
pub const KEY_PREFIX: &str = "wdn_";
/// Characters of the public lookup id after `wdn_`.
const LOOKUP_LEN: usize = 12;
/// `last_used_at` is written at most this often per key.
const TOUCH_INTERVAL: Duration = Duration::seconds(60);
/// The longest expiry a key may be given.
pub const MAX_EXPIRY_DAYS: u32 = 3650;
/// The longest name a key may have, in characters.
const MAX_NAME_CHARS: usize = 100;

/// A stored key (never its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    /// Identifier.
    pub id: Uuid,
    /// The owner.
    pub user_id: Uuid,
    /// A label chosen by the owner.
    pub name: String,
    /// `wdn_` and the public lookup id: shown in listings, used to find the key.
    pub prefix: String,
    /// The digest of the whole key.
    pub digest: String,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// When it stops working, if ever.
    pub expires_at: Option<OffsetDateTime>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
    /// Roughly when it was last used (to the minute).
    pub last_used_at: Option<OffsetDateTime>,
}

impl ApiKey {
    /// Neither revoked nor expired at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

/// The prefix (`wdn_` + lookup id) of a presented key, if it has the shape of one.
pub fn prefix_of(presented: &str) -> Option<&str> {
    let rest = presented.strip_prefix(KEY_PREFIX)?;
    let lookup = rest.get(..LOOKUP_LEN)?;
    let secret = rest.get(LOOKUP_LEN..)?;
    let ok = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (ok(lookup) && ok(secret) && secret.len() >= 22)
        .then(|| &presented[..KEY_PREFIX.len() + LOOKUP_LEN])
}

/// A freshly made key: the stored part and the secret to show once.
#[derive(Debug)]
pub struct NewApiKey {
    /// What is stored.
    pub key: ApiKey,
    /// The whole key, shown in the creation response only.
    pub secret: SecretString,
}

/// API-key use cases. A caller manages its own keys (the operator anyone's); an API key may list
/// and revoke its owner's keys but mint none, so that a leaked key cannot outlive its revocation.
#[derive(Clone)]
pub struct ApiKeyService {
    keys: Arc<dyn ApiKeyRepository>,
    digester: Arc<dyn KeyDigester>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
}

impl std::fmt::Debug for ApiKeyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyService").finish_non_exhaustive()
    }
}

impl ApiKeyService {
    /// Builds the service.
    pub fn new(
        keys: Arc<dyn ApiKeyRepository>,
        digester: Arc<dyn KeyDigester>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
    ) -> Self {
        Self {
            keys,
            digester,
            clock,
            random,
        }
    }

    /// Makes a key for `owner`: the caller itself by bearer token, or anyone for the operator.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for an API key, or for another owner than the caller, before
    /// anything else; [`Error::Invalid`] for an empty or long name or an expiry outside 1 to
    /// 3650 days; storage failures.
    pub async fn create(
        &self,
        caller: &Principal,
        owner: Uuid,
        name: &str,
        expires_in_days: Option<u32>,
    ) -> Result<NewApiKey, Error> {
        if caller.credential() == Credential::ApiKey {
            return Err(Error::Forbidden);
        }
        caller.may_manage_keys_of(owner)?;
        let mut reasons = Vec::new();
        let name = name.trim();
        if name.is_empty()
            || name.chars().count() > MAX_NAME_CHARS
            || name.chars().any(char::is_control)
        {
            reasons.push(format!(
                "name must be 1 to {MAX_NAME_CHARS} printable characters"
            ));
        }
        if expires_in_days.is_some_and(|d| !(1..=MAX_EXPIRY_DAYS).contains(&d)) {
            reasons.push(format!(
                "expires_in_days must be between 1 and {MAX_EXPIRY_DAYS}"
            ));
        }
        if !reasons.is_empty() {
            return Err(Error::Invalid(reasons));
        }
        let now = self.clock.now();
        // The lookup id and the secret come from two independent 256-bit draws.
        let lookup: String = self
            .random
            .secret()
            .expose_secret()
            .chars()
            .take(LOOKUP_LEN)
            .collect();
        let secret = format!(
            "{KEY_PREFIX}{lookup}{}",
            self.random.secret().expose_secret()
        );
        let key = ApiKey {
            id: self.random.new_id(),
            user_id: owner,
            name: name.to_owned(),
            prefix: format!("{KEY_PREFIX}{lookup}"),
            digest: self.digester.digest(&secret),
            created_at: now,
            expires_at: expires_in_days.map(|d| now + Duration::days(i64::from(d))),
            revoked_at: None,
            last_used_at: None,
        };
        let audit = AuditEvent::new(self.random.new_id(), now, AuditKind::ApiKeyCreated)
            .by(caller)
            .about(owner)
            .detail("key_id", key.id.to_string());
        self.keys.insert(&key, &audit).await?;
        Ok(NewApiKey {
            key,
            secret: SecretString::from(secret),
        })
    }

    /// The live keys of `owner`: the caller itself, or anyone for the operator.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for another owner than the caller; storage failures.
    pub async fn list(&self, caller: &Principal, owner: Uuid) -> Result<Vec<ApiKey>, Error> {
        caller.may_manage_keys_of(owner)?;
        let now = self.clock.now();
        Ok(self
            .keys
            .list_for_user(owner)
            .await?
            .into_iter()
            .filter(|k| k.is_live(now))
            .collect())
    }

    /// Revokes one of the caller's keys, or any key for the operator; to anyone else another
    /// user's key is [`Error::NotFound`], as if it did not exist.
    ///
    /// # Errors
    /// [`Error::NotFound`]; storage failures.
    pub async fn revoke(&self, caller: &Principal, id: Uuid) -> Result<(), Error> {
        let key = self.keys.find_by_id(id).await?.ok_or(Error::NotFound)?;
        if caller.may_manage_keys_of(key.user_id).is_err() || key.revoked_at.is_some() {
            return Err(Error::NotFound);
        }
        let now = self.clock.now();
        let audit = AuditEvent::new(self.random.new_id(), now, AuditKind::ApiKeyRevoked)
            .by(caller)
            .about(key.user_id)
            .detail("key_id", id.to_string());
        self.keys.revoke(id, now, &audit).await
    }

    /// Authenticates a presented key as its owner, with the owner's current role.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] for an unknown, revoked or expired key or a disabled owner;
    /// storage failures.
    pub async fn authenticate(&self, presented: &str) -> Result<Principal, Error> {
        let prefix = prefix_of(presented).ok_or(Error::InvalidToken)?;
        let (key, owner) = self
            .keys
            .find_by_prefix(prefix)
            .await?
            .ok_or(Error::InvalidToken)?;
        let now = self.clock.now();
        if !self.digester.matches(presented, &key.digest) || !key.is_live(now) {
            return Err(Error::InvalidToken);
        }
        let user = ensure_live(owner, None)?;
        if key.last_used_at.is_none_or(|t| now - t >= TOUCH_INTERVAL) {
            // A failed touch must not fail the request it records.
            if let Err(e) = self.keys.touch(key.id, now).await {
                tracing::warn!(key_id = %key.id, error = %e, "could not record API key use");
            }
        }
        Ok(Principal::api_key(user))
    }
}

#[cfg(test)]
#[path = "api_key_tests.rs"]
mod tests;
