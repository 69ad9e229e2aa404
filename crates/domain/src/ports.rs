//! The ports: what the use cases need from the outside world, implemented by the adapters.

use async_trait::async_trait;
use secrecy::SecretString;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Error;
use crate::api_key::ApiKey;
use crate::audit::{AuditEvent, AuditQuery};
use crate::auth::LoginOutcome;
use crate::import::{ImportedUser, OnConflict, Placement};
use crate::lockout::{LockScope, LockState};
use crate::origin::Origin;
use crate::refresh::RefreshToken;
use crate::session::{Session, SessionState};
use crate::token::{AccessClaims, ClientClaims, TokenError};
use crate::user::{DisplayName, Email, PasswordHash, Role, User};

mod mail;
mod mfa;
mod oauth;

pub use mail::{AccountTokenRepository, MailComposer, MailTransport, Outbox};
#[cfg(any(test, feature = "mocks"))]
pub use mail::{MockAccountTokenRepository, MockMailComposer, MockMailTransport, MockOutbox};
pub use mfa::{Authenticator, MfaRepository};
#[cfg(any(test, feature = "mocks"))]
pub use mfa::{MockAuthenticator, MockMfaRepository};
pub use oauth::ClientRepository;
#[cfg(any(test, feature = "mocks"))]
pub use oauth::MockClientRepository;

/// Durable storage of user accounts.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync + 'static {
    /// Stores a new user, and its audit event in the same transaction.
    ///
    /// # Errors
    /// [`Error::EmailTaken`] when another user has the same normalised email;
    /// [`Error::Unavailable`] or [`Error::Internal`] when storage fails.
    async fn insert(&self, user: &User, audit: &AuditEvent) -> Result<(), Error>;

    /// Finds a user by id.
    ///
    /// # Errors
    /// Storage failures only; an unknown id is `Ok(None)`.
    async fn find_by_id(&self, id: Uuid) -> Result<Option<User>, Error>;

    /// Finds a user by id together with the state of one of its sessions, in one query (the
    /// bearer check). The state is `None` when the user has no session of that id (never had,
    /// another user's, or purged).
    ///
    /// # Errors
    /// Storage failures only; an unknown user is `Ok(None)`.
    async fn find_in_session(
        &self,
        id: Uuid,
        session_id: Uuid,
    ) -> Result<Option<(User, Option<SessionState>)>, Error>;

    /// Finds a user by email, compared case-insensitively.
    ///
    /// # Errors
    /// Storage failures only; an unknown email is `Ok(None)`.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, Error>;

    /// Lists users ordered by id, starting after `after`, at most `limit` of them.
    ///
    /// # Errors
    /// Storage failures only.
    async fn list(&self, after: Option<Uuid>, limit: u64) -> Result<Vec<User>, Error>;

    /// Replaces the password hash without ending sessions (a rehash with new parameters, or of
    /// an imported hash), only if it is still `old`: a rehash never overwrites a password
    /// changed meanwhile. `Ok(false)` when the user is gone or its hash is no longer `old`.
    /// The audit event, when given, is written in the same transaction, only if it replaced.
    ///
    /// # Errors
    /// Storage failures.
    async fn update_password_hash(
        &self,
        id: Uuid,
        old: &PasswordHash,
        new: &PasswordHash,
        audit: Option<AuditEvent>,
    ) -> Result<bool, Error>;

    /// Applies a change, bumping the session version when it asks, atomically refusing with
    /// [`Error::LastAdmin`] if afterwards no enabled admin would remain; the audit event is
    /// written in the same transaction. Returns the new user.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::LastAdmin`]; storage failures.
    async fn update(&self, id: Uuid, change: UserChange, audit: &AuditEvent)
    -> Result<User, Error>;

    /// Deletes a user, refusing with [`Error::LastAdmin`] if it is the last enabled admin; the
    /// audit event is written in the same transaction.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::LastAdmin`]; storage failures.
    async fn delete(&self, id: Uuid, audit: &AuditEvent) -> Result<(), Error>;

    /// Stores imported users in one transaction, in order: each is inserted or, when its email
    /// has an account, handled as `on_conflict` says; one whose email looks like another
    /// account's is refused, and an update never changes an enabled admin. Each account
    /// created or updated gets its event in the same transaction: `audit` (its actor, origin,
    /// time and details) about that account, as `user.created`, or as `user.updated` naming
    /// the fields the line changed. With `dry_run` the transaction is rolled back. Returns
    /// where each user went, in order.
    ///
    /// # Errors
    /// Storage failures; nothing of the batch is written then.
    async fn import(
        &self,
        users: &[ImportedUser],
        on_conflict: OnConflict,
        dry_run: bool,
        audit: &AuditEvent,
    ) -> Result<Vec<Placement>, Error>;
}

/// A change to a stored user; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct UserChange {
    /// New role.
    pub role: Option<Role>,
    /// Disable or enable.
    pub disabled: Option<bool>,
    /// New display name; `Some(None)` clears it.
    pub display_name: Option<Option<DisplayName>>,
    /// New password hash.
    pub password_hash: Option<PasswordHash>,
    /// Mark the address verified at this time.
    pub email_verified_at: Option<OffsetDateTime>,
    /// End every earlier session of the user.
    pub end_sessions: bool,
    /// The time of the change.
    pub at: Option<OffsetDateTime>,
}

/// Password hashing; slow by design, so implementations run off the async executor.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync + 'static {
    /// Hashes a password with a fresh salt.
    ///
    /// # Errors
    /// [`Error::Internal`] if the hasher fails.
    async fn hash(&self, password: SecretString) -> Result<PasswordHash, Error>;

    /// Checks a password against a hash; `Ok(false)` for a mismatch.
    ///
    /// # Errors
    /// [`Error::Internal`] if the hash cannot be parsed or the hasher fails.
    async fn verify(&self, password: SecretString, hash: PasswordHash) -> Result<bool, Error>;

    /// Whether the hash was made with other parameters than the current ones.
    fn needs_rehash(&self, hash: &PasswordHash) -> bool;
}

/// Signing and verification of access tokens.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenCodec: Send + Sync + 'static {
    /// Signs claims into a compact token.
    ///
    /// # Errors
    /// [`Error::Internal`] if signing fails.
    fn sign(&self, claims: &AccessClaims) -> Result<SecretString, Error>;

    /// Verifies a token's signature, type, issuer, audience and expiry, and returns its claims.
    ///
    /// # Errors
    /// The [`TokenError`] saying why it was refused.
    fn verify(&self, token: &str) -> Result<AccessClaims, TokenError>;

    /// Signs a client's own access token (its `aud` is the client's, else the configured one).
    ///
    /// # Errors
    /// [`Error::Internal`] if signing fails.
    fn sign_client(&self, claims: &ClientClaims) -> Result<SecretString, Error>;

    /// Verifies a client's own access token: algorithm, signature, type, issuer, expiry; its
    /// audience may be any.
    ///
    /// # Errors
    /// The [`TokenError`] that refused it.
    fn verify_client(&self, token: &str) -> Result<ClientClaims, TokenError>;

    /// The issuer (`iss`) it signs into, and requires of, every token.
    fn issuer(&self) -> String;

    /// The audience (`aud`) it signs into, and requires of, every token.
    fn audience(&self) -> String;
}

/// The current time; the only way the domain reads the clock.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync + 'static {
    /// Now, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// Randomness for identifiers and secrets.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Random: Send + Sync + 'static {
    /// A new unique identifier (time-ordered).
    fn new_id(&self) -> Uuid;

    /// A new secret of 256 random bits, URL-safe encoded.
    fn secret(&self) -> SecretString;
}

/// Durable storage of API keys.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ApiKeyRepository: Send + Sync + 'static {
    /// Stores a new key, and its audit event in the same transaction.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] when the owner is gone (deleted since it authenticated);
    /// storage failures.
    async fn insert(&self, key: &ApiKey, audit: &AuditEvent) -> Result<(), Error>;

    /// Finds a key by its public prefix (an indexed lookup), with its owner, in one query.
    ///
    /// # Errors
    /// Storage failures only.
    async fn find_by_prefix(&self, prefix: &str) -> Result<Option<(ApiKey, User)>, Error>;

    /// Finds a key by id.
    ///
    /// # Errors
    /// Storage failures only.
    async fn find_by_id(&self, id: Uuid) -> Result<Option<ApiKey>, Error>;

    /// Every key of a user, live or not, oldest first.
    ///
    /// # Errors
    /// Storage failures only.
    async fn list_for_user(&self, user_id: Uuid) -> Result<Vec<ApiKey>, Error>;

    /// Marks a key revoked, with its audit event in the same transaction.
    ///
    /// # Errors
    /// [`Error::NotFound`]; storage failures.
    async fn revoke(&self, id: Uuid, at: OffsetDateTime, audit: &AuditEvent) -> Result<(), Error>;

    /// Records a use of the key.
    ///
    /// # Errors
    /// Storage failures.
    async fn touch(&self, id: Uuid, at: OffsetDateTime) -> Result<(), Error>;
}

/// Digests of high-entropy secrets (API keys), compared in constant time.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait KeyDigester: Send + Sync + 'static {
    /// The digest to store.
    fn digest(&self, secret: &str) -> String;

    /// Whether `secret` has this digest, compared in constant time.
    fn matches(&self, secret: &str, digest: &str) -> bool;
}

/// Derives a refresh token's successor secret from its parent with a server-side key, so
/// that a replay within the grace can be answered with the same successor.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait SecretDeriver: Send + Sync + 'static {
    /// The successor of `parent`: as unpredictable as the key, the same every time.
    fn derive(&self, parent: &str) -> SecretString;
}

/// Durable storage of refresh tokens (digests only).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RefreshTokenRepository: Send + Sync + 'static {
    /// Stores the first token of a family: a new session, started by a login from `origin`,
    /// with the login's audit event in the same transaction.
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`] when the owner is gone (deleted since its login was
    /// checked); storage failures.
    async fn insert(
        &self,
        token: &RefreshToken,
        origin: &Origin,
        audit: &AuditEvent,
    ) -> Result<(), Error>;

    /// Finds a token by the digest of its secret (an indexed lookup).
    ///
    /// # Errors
    /// Storage failures only.
    async fn find_by_digest(&self, digest: &str) -> Result<Option<RefreshToken>, Error>;

    /// The token that replaced `parent_id`, if any.
    ///
    /// # Errors
    /// Storage failures only.
    async fn find_child(&self, parent_id: Uuid) -> Result<Option<RefreshToken>, Error>;

    /// In one atomic step: marks `parent_id` rotated at `at` and stores `child`, only if the
    /// parent is neither rotated nor revoked. `Ok(false)` when another rotation got there
    /// first (exactly one of any number of concurrent calls returns `Ok(true)`).
    ///
    /// # Errors
    /// [`Error::InvalidRefreshToken`] when the owner (and so the parent) is gone; storage
    /// failures.
    async fn rotate(
        &self,
        parent_id: Uuid,
        at: OffsetDateTime,
        child: &RefreshToken,
    ) -> Result<bool, Error>;

    /// The user's live sessions at `now` (families neither revoked nor expired, of the user's
    /// current session version), oldest first.
    ///
    /// # Errors
    /// Storage failures.
    async fn sessions(&self, user_id: Uuid, now: OffsetDateTime) -> Result<Vec<Session>, Error>;

    /// Ends one live session of the user (revokes its family) at `now`, with the audit event
    /// in the same transaction; `Ok(false)`, with nothing changed and nothing recorded, when
    /// the user has no such live session.
    ///
    /// # Errors
    /// Storage failures.
    async fn end_session(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, Error>;

    /// Ends every live session of the user but `keep` (when given) at `now`, with the audit
    /// event (when any ended) in the same transaction; returns how many ended.
    ///
    /// # Errors
    /// Storage failures.
    async fn end_sessions_except(
        &self,
        user_id: Uuid,
        keep: Option<Uuid>,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<u64, Error>;

    /// Marks every token of the family (of `user_id`) revoked, with the audit event in the
    /// same transaction; `Ok(false)`, with nothing changed and nothing recorded, when the
    /// family was revoked already (or went with its user).
    ///
    /// # Errors
    /// Storage failures.
    async fn revoke_family(
        &self,
        user_id: Uuid,
        family_id: Uuid,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, Error>;

    /// Deletes the tokens that can never be used again: expired by `now`, revoked, or issued
    /// under a session version their user has since left. Returns how many went.
    ///
    /// # Errors
    /// Storage failures.
    async fn purge(&self, now: OffsetDateTime) -> Result<u64, Error>;
}

/// Failure counts for the lockout rules, per subject (a user's id, or the stand-in id of an
/// unknown or malformed username) and scope.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LockoutRepository: Send + Sync + 'static {
    /// The state of one scope of a subject (default when none is stored).
    ///
    /// # Errors
    /// Storage failures.
    async fn get(&self, subject: Uuid, scope: &LockScope) -> Result<LockState, Error>;

    /// Counts one attempt in one scope of a subject in a single atomic step, and returns the
    /// state that step produced: [`LockState::counted`] at `now` of the stored state (default
    /// when none is stored). Concurrent calls never return the same count.
    ///
    /// # Errors
    /// Storage failures.
    async fn reserve(
        &self,
        subject: Uuid,
        scope: &LockScope,
        now: OffsetDateTime,
    ) -> Result<LockState, Error>;

    /// Stores the state of one scope of a subject (a lock).
    ///
    /// # Errors
    /// Storage failures.
    async fn put(&self, subject: Uuid, scope: &LockScope, state: LockState) -> Result<(), Error>;

    /// Forgets these scopes of a subject in one step (a success from an IP forgets that IP's
    /// count and the account's).
    ///
    /// # Errors
    /// Storage failures.
    async fn clear(&self, subject: Uuid, scopes: &[LockScope]) -> Result<(), Error>;

    /// Forgets every scope of a subject (an unlock), with the audit event in the same
    /// transaction.
    ///
    /// # Errors
    /// Storage failures.
    async fn clear_all(&self, subject: Uuid, audit: &AuditEvent) -> Result<(), Error>;

    /// Deletes the counts of subjects that are no user (unknown or malformed usernames, deleted
    /// users) unless they hold a lock in force at `now`, so that random usernames cannot grow
    /// storage without bound. Returns how many went.
    ///
    /// # Errors
    /// Storage failures.
    async fn purge(&self, now: OffsetDateTime) -> Result<u64, Error>;
}

/// The audit trail's own reads and writes: events that record no change (a failed login),
/// the administrator's queries, and retention. Events of a change are written by the
/// repository that makes it, in its transaction.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync + 'static {
    /// Records an event on its own.
    ///
    /// # Errors
    /// Storage failures.
    async fn record(&self, event: &AuditEvent) -> Result<(), Error>;

    /// The events the query selects, newest first.
    ///
    /// # Errors
    /// Storage failures.
    async fn list(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, Error>;

    /// Deletes the events older than `before`; returns how many went.
    ///
    /// # Errors
    /// Storage failures.
    async fn purge(&self, before: OffsetDateTime) -> Result<u64, Error>;
}

/// Whether what the service depends on answers now: what `/health/ready` reports.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Readiness: Send + Sync + 'static {
    /// Whether storage answers.
    async fn storage_ready(&self) -> bool;

    /// `None` when no shared store (Redis) is configured; otherwise whether it answers.
    async fn shared_store_ready(&self) -> Option<bool>;
}

impl std::fmt::Debug for dyn Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Readiness")
    }
}

/// What the use cases report for an operator's metrics: only the kind of an outcome, never a
/// credential, an email, an address or an id.
pub trait Observer: Send + Sync + 'static {
    /// A password grant ended with `outcome`.
    fn login(&self, outcome: LoginOutcome);

    /// An attempt set a lock in `scope`: the IP's lock out of one account, or the account's.
    fn lock_set(&self, scope: &LockScope);
}
