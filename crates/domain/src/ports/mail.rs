//! The ports of the account flows by mail: their single-use tokens, the outbox, the templates
//! and the transport.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Error;
use crate::audit::AuditEvent;
use crate::mail::{Mail, Message, Queued, SendError};
use crate::recovery::AccountToken;
use crate::user::PasswordHash;

/// Durable storage of the account flows' tokens (digests only): at most one per account and
/// purpose, so that a new one makes the older one invalid. Each redemption deletes the token
/// it redeems in the transaction of its change, so that of any number of concurrent
/// redemptions of one token exactly one succeeds.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AccountTokenRepository: Send + Sync + 'static {
    /// In one transaction: stores `token`, replacing the account's token of the same purpose,
    /// queues `messages` in the outbox and writes the audit event. With `not_after`, only if
    /// the replaced token (if any) was issued at or before it: `Ok(false)`, with nothing
    /// changed, when a newer one exists (the per-account throttle; of two concurrent calls at
    /// most one issues).
    ///
    /// # Errors
    /// [`Error::NotFound`] when the user is gone; storage failures.
    async fn issue(
        &self,
        token: &AccountToken,
        messages: &[Message],
        not_after: Option<OffsetDateTime>,
        audit: &AuditEvent,
    ) -> Result<bool, Error>;

    /// The token of this digest, expired or not, whatever its purpose.
    ///
    /// # Errors
    /// Storage failures only.
    async fn find(&self, digest: &str) -> Result<Option<AccountToken>, Error>;

    /// A password reset, in one transaction, only if `token` is still stored and the user is
    /// enabled and still has the token's address: deletes it (and any address change asked
    /// for under the old password), replaces the user's password hash, ends every session
    /// (bumps the session version), revokes every API key, clears the user's lockouts and
    /// writes the audit event. `Ok(false)`, with nothing
    /// changed, when the token is gone (used, or replaced).
    ///
    /// # Errors
    /// Storage failures.
    async fn redeem_reset(
        &self,
        token: &AccountToken,
        hash: &PasswordHash,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, Error>;

    /// An address verified, in one transaction, only if `token` is still stored and names the
    /// user's address as it is now: deletes it, marks the address verified at `at` and writes
    /// the audit event. `Ok(false)`, with nothing changed, otherwise.
    ///
    /// # Errors
    /// Storage failures.
    async fn redeem_verification(
        &self,
        token: &AccountToken,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, Error>;

    /// An address change, in one transaction, only if `token` is still stored and the user is
    /// enabled and still of the token's session version: deletes it, makes the token's address the user's (verified at `at`), deletes
    /// the user's password reset token (it went to the old address) and writes the audit
    /// event. `Ok(false)`, with nothing changed, otherwise.
    ///
    /// # Errors
    /// [`Error::EmailTaken`] when another account has the address, or one that looks like it,
    /// by now (nothing changed); storage failures.
    async fn redeem_email_change(
        &self,
        token: &AccountToken,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, Error>;

    /// Deletes the tokens expired at `now`; how many went.
    ///
    /// # Errors
    /// Storage failures.
    async fn purge(&self, now: OffsetDateTime) -> Result<u64, Error>;
}

/// The outbox, as the worker sees it.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// Claims up to `limit` messages due at `now` (neither sent nor dead), oldest first, by
    /// moving their next attempt to `lease_until`, so that no other worker takes them meanwhile.
    ///
    /// # Errors
    /// Storage failures.
    async fn claim(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u64,
    ) -> Result<Vec<Queued>, Error>;

    /// Marks a message sent, and forgets its body.
    ///
    /// # Errors
    /// Storage failures.
    async fn sent(&self, id: Uuid, at: OffsetDateTime) -> Result<(), Error>;

    /// Records a failed attempt: the count of attempts, the next one, and the error.
    ///
    /// # Errors
    /// Storage failures.
    async fn failed(
        &self,
        id: Uuid,
        attempts: u32,
        next_attempt_at: OffsetDateTime,
        error: &str,
    ) -> Result<(), Error>;

    /// Marks a message dead (given up), and forgets its body.
    ///
    /// # Errors
    /// Storage failures.
    async fn dead(&self, id: Uuid, at: OffsetDateTime, error: &str) -> Result<(), Error>;

    /// Deletes the messages sent or dead before `before`; how many went.
    ///
    /// # Errors
    /// Storage failures.
    async fn purge(&self, before: OffsetDateTime) -> Result<u64, Error>;
}

/// Renders a message from its kind's templates.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait MailComposer: Send + Sync + 'static {
    /// The message, with a plain-text and an HTML part.
    ///
    /// # Errors
    /// [`Error::Internal`] when a template fails to render.
    fn compose(&self, mail: &Mail) -> Result<Message, Error>;
}

/// Sends one message (SMTP, or files in development).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MailTransport: Send + Sync + 'static {
    /// Sends the message, within the transport's timeouts.
    ///
    /// # Errors
    /// A [`SendError`] saying what failed (connection, TLS, authentication, the server's
    /// answer, a timeout).
    async fn send(&self, message: &Message) -> Result<(), SendError>;
}
