//! The ports of the second factor: its storage, and the one-time-password algorithm with the
//! sealing of its secrets.

use async_trait::async_trait;
use secrecy::SecretString;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Error;
use crate::audit::AuditEvent;
use crate::mfa::{MfaChallenge, Provisioning, SealedSecret, TotpFactor};

/// Durable storage of second factors, recovery codes (digests only) and the logins waiting for
/// a second factor (digests of their `mfa_token` only).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MfaRepository: Send + Sync + 'static {
    /// The user's TOTP factor, pending or active.
    ///
    /// # Errors
    /// Storage failures only.
    async fn factor(&self, user_id: Uuid) -> Result<Option<TotpFactor>, Error>;

    /// Stores a pending factor for the user, replacing a pending one; `Ok(false)`, with nothing
    /// changed, when the user has an active factor.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] when the user is gone; storage failures.
    async fn put_pending(
        &self,
        user_id: Uuid,
        secret: &SealedSecret,
        at: OffsetDateTime,
    ) -> Result<bool, Error>;

    /// In one transaction, only if the factor is still pending with this very secret (the one
    /// the confirming code was checked against): makes it active with `step` as its last
    /// accepted step, marks the user's second factor on, stores the recovery codes' digests
    /// (replacing any) and writes the audit event. `Ok(false)`, with nothing changed, when it
    /// is not (confirmed meanwhile, replaced by another enrolment, or removed).
    ///
    /// # Errors
    /// Storage failures.
    async fn confirm(
        &self,
        user_id: Uuid,
        secret: &SealedSecret,
        step: i64,
        recovery_digests: &[String],
        audit: &AuditEvent,
    ) -> Result<bool, Error>;

    /// Records `step` as the factor's last accepted step, only if it is later than the stored
    /// one: `Ok(false)` when it is not (the code was used already, perhaps a moment ago by a
    /// concurrent request). Exactly one of any number of concurrent calls with the same step
    /// returns `Ok(true)`.
    ///
    /// # Errors
    /// Storage failures.
    async fn accept_step(&self, user_id: Uuid, step: i64) -> Result<bool, Error>;

    /// Spends the unspent recovery code of this digest, with the audit event in the same
    /// transaction; `Ok(false)`, with nothing changed, when the user has no such unspent code.
    /// Exactly one of any number of concurrent calls returns `Ok(true)`.
    ///
    /// # Errors
    /// Storage failures.
    async fn spend_recovery_code(
        &self,
        user_id: Uuid,
        digest: &str,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, Error>;

    /// Replaces every recovery code of the user by these digests, with the audit event, in one
    /// transaction, only if the user's factor is active; `Ok(false)` otherwise.
    ///
    /// # Errors
    /// Storage failures.
    async fn replace_recovery_codes(
        &self,
        user_id: Uuid,
        digests: &[String],
        audit: &AuditEvent,
    ) -> Result<bool, Error>;

    /// Removes the user's factor (pending or active) and recovery codes, and marks its second
    /// factor off, in one transaction; the audit event is written only if an active factor
    /// went. Returns whether an active factor went.
    ///
    /// # Errors
    /// Storage failures.
    async fn remove(&self, user_id: Uuid, audit: &AuditEvent) -> Result<bool, Error>;

    /// Stores a login that waits for its second factor.
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`] when the user is gone; storage failures.
    async fn open_challenge(&self, challenge: &MfaChallenge) -> Result<(), Error>;

    /// Takes (deletes and returns) the challenge of this digest, if it has not expired at
    /// `now`. Exactly one of any number of concurrent calls gets it.
    ///
    /// # Errors
    /// Storage failures.
    async fn take_challenge(
        &self,
        digest: &str,
        now: OffsetDateTime,
    ) -> Result<Option<MfaChallenge>, Error>;

    /// Deletes the challenges expired at `now`; how many went.
    ///
    /// # Errors
    /// Storage failures.
    async fn purge(&self, now: OffsetDateTime) -> Result<u64, Error>;
}

/// TOTP (RFC 6238: HMAC-SHA1, six digits, 30-second steps) over secrets that only this port
/// sees in clear: it makes them, seals them (an AEAD bound to their user) for storage, and
/// checks codes against them.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Authenticator: Send + Sync + 'static {
    /// A new secret for `user_id`, sealed for storage, and what an authenticator app needs to
    /// add it under the label `account`.
    ///
    /// # Errors
    /// [`Error::Internal`] when sealing fails.
    fn new_factor(
        &self,
        user_id: Uuid,
        account: &str,
    ) -> Result<(SealedSecret, Provisioning), Error>;

    /// The first of `steps` (time steps since the epoch) whose code is `code`, compared in
    /// constant time; `None` when none is.
    ///
    /// # Errors
    /// [`Error::Internal`] when the secret cannot be opened (a key that is gone, or storage
    /// that was tampered with).
    fn matching_step(
        &self,
        user_id: Uuid,
        secret: &SealedSecret,
        code: &str,
        steps: &[i64],
    ) -> Result<Option<i64>, Error>;

    /// A new recovery code: 80 random bits, as four groups of four characters.
    ///
    /// # Errors
    /// [`Error::Internal`] when no randomness can be had.
    fn recovery_code(&self) -> Result<SecretString, Error>;
}
