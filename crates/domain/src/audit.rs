//! The audit trail: a durable record of who did what to which account, from where, and how it
//! ended. A change and its event are written in one transaction (each repository method that
//! makes a change takes the event that records it), so no change happens without its event;
//! events that record no change (a failed login) go through [`crate::ports::AuditLog`].
//!
//! An event never holds a secret: no password, token, key, code or hash. Its details are a
//! small JSON object of names and ids (which fields changed, never their values).

use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::origin::Origin;
use crate::principal::{Credential, Principal};

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuditKind {
    /// A password grant issued tokens (and started a session).
    LoginSucceeded,
    /// A password grant was refused: wrong password, unknown user or disabled account.
    LoginFailed,
    /// A password grant was refused without a check: a lock held.
    LoginLocked,
    /// A rotated refresh token was presented again; its session was ended.
    RefreshReuseDetected,
    /// A session was ended: by its owner, an admin, or `/auth/revoke`.
    SessionEnded,
    /// Every session of the user was ended by the user.
    Logout,
    /// The user changed its password (every session ended).
    PasswordChanged,
    /// An imported or older hash was replaced by the configured argon2id at a login.
    PasswordUpgraded,
    /// An account was made (sign-up, or by an admin).
    UserCreated,
    /// An admin changed an account.
    UserUpdated,
    /// An admin deleted an account.
    UserDeleted,
    /// An admin cleared an account's lockouts.
    UserUnlocked,
    /// An API key was made.
    ApiKeyCreated,
    /// An API key was revoked.
    ApiKeyRevoked,
    /// A second factor (TOTP) was confirmed and is now required at login.
    MfaEnrolled,
    /// A second factor was removed: by its owner, or reset by an admin or the operator.
    MfaDisabled,
    /// A second-factor code was wrong, replayed, malformed, or came while a lock held.
    MfaFailed,
    /// A recovery code was used (and is spent).
    MfaRecoveryUsed,
    /// New recovery codes replaced the old ones.
    MfaRecoveryCodesReplaced,
    /// A verification link was sent to the account's address.
    EmailVerificationSent,
    /// The account's address was verified: by its link, or by the operator.
    EmailVerified,
    /// The account's owner asked to change its address (a link went to the new one).
    EmailChangeRequested,
    /// The account's address changed (its new address verified by its link).
    EmailChanged,
    /// A password reset link was made: asked for by address, or by an admin or the operator.
    PasswordResetRequested,
    /// A password was set by a reset link (every session ended).
    PasswordReset,
    /// An OAuth client was registered.
    ClientCreated,
    /// An OAuth client's registration changed.
    ClientUpdated,
    /// An OAuth client was removed.
    ClientDeleted,
}

impl AuditKind {
    /// Every kind, for parsing and documentation.
    pub const ALL: [Self; 28] = [
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::LoginLocked,
        Self::RefreshReuseDetected,
        Self::SessionEnded,
        Self::Logout,
        Self::PasswordChanged,
        Self::PasswordUpgraded,
        Self::UserCreated,
        Self::UserUpdated,
        Self::UserDeleted,
        Self::UserUnlocked,
        Self::ApiKeyCreated,
        Self::ApiKeyRevoked,
        Self::MfaEnrolled,
        Self::MfaDisabled,
        Self::MfaFailed,
        Self::MfaRecoveryUsed,
        Self::MfaRecoveryCodesReplaced,
        Self::EmailVerificationSent,
        Self::EmailVerified,
        Self::EmailChangeRequested,
        Self::EmailChanged,
        Self::PasswordResetRequested,
        Self::PasswordReset,
        Self::ClientCreated,
        Self::ClientUpdated,
        Self::ClientDeleted,
    ];

    /// Its name in storage and on the wire, for example `login.failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginSucceeded => "login.succeeded",
            Self::LoginFailed => "login.failed",
            Self::LoginLocked => "login.locked",
            Self::RefreshReuseDetected => "refresh.reuse_detected",
            Self::SessionEnded => "session.ended",
            Self::Logout => "logout",
            Self::PasswordChanged => "password.changed",
            Self::PasswordUpgraded => "password.upgraded",
            Self::UserCreated => "user.created",
            Self::UserUpdated => "user.updated",
            Self::UserDeleted => "user.deleted",
            Self::UserUnlocked => "user.unlocked",
            Self::ApiKeyCreated => "api_key.created",
            Self::ApiKeyRevoked => "api_key.revoked",
            Self::MfaEnrolled => "mfa.enrolled",
            Self::MfaDisabled => "mfa.disabled",
            Self::MfaFailed => "mfa.failed",
            Self::MfaRecoveryUsed => "mfa.recovery_used",
            Self::MfaRecoveryCodesReplaced => "mfa.recovery_codes_replaced",
            Self::EmailVerificationSent => "email.verification_sent",
            Self::EmailVerified => "email.verified",
            Self::EmailChangeRequested => "email.change_requested",
            Self::EmailChanged => "email.changed",
            Self::PasswordResetRequested => "password.reset_requested",
            Self::PasswordReset => "password.reset",
            Self::ClientCreated => "client.created",
            Self::ClientUpdated => "client.updated",
            Self::ClientDeleted => "client.deleted",
        }
    }

    /// The kind of this name, exactly as [`Self::as_str`] spells it.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// Who acted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorKind {
    /// A user with an access token (or the password of a login).
    User,
    /// A user's API key.
    ApiKey,
    /// The local operator, at the `warden` CLI.
    Operator,
    /// Nobody authenticated: a failed login, a sign-up, a revocation by token.
    Anonymous,
}

impl ActorKind {
    /// Its name in storage and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::ApiKey => "api_key",
            Self::Operator => "operator",
            Self::Anonymous => "anonymous",
        }
    }

    /// The kind of this name.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::User, Self::ApiKey, Self::Operator, Self::Anonymous]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

/// How it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It happened.
    Success,
    /// It was refused.
    Failure,
}

impl Outcome {
    /// Its name in storage and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }

    /// The outcome of this name.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Success, Self::Failure]
            .into_iter()
            .find(|o| o.as_str() == name)
    }
}

/// One recorded event.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEvent {
    /// Time-ordered id; the cursor of the trail's pages.
    pub id: Uuid,
    /// When.
    pub at: OffsetDateTime,
    /// What.
    pub kind: AuditKind,
    /// Who acted, by which kind of credential.
    pub actor_kind: ActorKind,
    /// The acting user (for a user or an API key); `None` for the operator and anonymous.
    pub actor_id: Option<Uuid>,
    /// The account it was about, if any.
    pub subject: Option<Uuid>,
    /// The client's IP, when it came over HTTP.
    pub ip: Option<String>,
    /// The client's user agent, when it sent one.
    pub user_agent: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// A small JSON object of names and ids, never a secret.
    pub details: Map<String, Value>,
}

impl AuditEvent {
    /// A successful event of `kind` at `at`, by nobody in particular, about nothing yet.
    pub fn new(id: Uuid, at: OffsetDateTime, kind: AuditKind) -> Self {
        Self {
            id,
            at,
            kind,
            actor_kind: ActorKind::Anonymous,
            actor_id: None,
            subject: None,
            ip: None,
            user_agent: None,
            outcome: Outcome::Success,
            details: Map::new(),
        }
    }

    /// Done by `caller`, from where it called.
    #[must_use]
    pub fn by(mut self, caller: &Principal) -> Self {
        self.actor_kind = match caller.credential() {
            Credential::Bearer => ActorKind::User,
            Credential::ApiKey => ActorKind::ApiKey,
            Credential::Operator => ActorKind::Operator,
        };
        self.actor_id = caller.user().map(|u| u.id);
        match caller.origin() {
            Some(origin) => self.from(origin),
            None => self,
        }
    }

    /// Done by the user `id` in person (a login, with its password).
    #[must_use]
    pub fn by_user(mut self, id: Uuid) -> Self {
        self.actor_kind = ActorKind::User;
        self.actor_id = Some(id);
        self
    }

    /// Coming from `origin`.
    #[must_use]
    pub fn from(mut self, origin: &Origin) -> Self {
        self.ip = Some(origin.ip.to_string());
        self.user_agent.clone_from(&origin.user_agent);
        self
    }

    /// About the account `id`.
    #[must_use]
    pub fn about(mut self, id: Uuid) -> Self {
        self.subject = Some(id);
        self
    }

    /// Refused.
    #[must_use]
    pub fn failed(mut self) -> Self {
        self.outcome = Outcome::Failure;
        self
    }

    /// With a detail: a name or an id, never a secret.
    #[must_use]
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

/// The most events one page of the trail holds.
pub const MAX_PAGE: u64 = 200;

/// Which events to read: newest first, all filters together.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Events whose actor or subject is this user.
    pub user: Option<Uuid>,
    /// Events of this kind.
    pub kind: Option<AuditKind>,
    /// At or after this time.
    pub since: Option<OffsetDateTime>,
    /// Before this time.
    pub until: Option<OffsetDateTime>,
    /// Older than this event (the cursor: the last id of the previous page).
    pub before: Option<Uuid>,
    /// At most this many, 1 to [`MAX_PAGE`].
    pub limit: u64,
}

impl crate::auth::AuthService {
    /// Housekeeping: deletes the audit events older than the retention (`audit.retention_days`).
    /// Returns how many went.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn purge_audit_events(&self) -> Result<u64, crate::Error> {
        let before = self.ports.clock.now() - self.policy.audit_retention;
        self.ports.audit.purge(before).await
    }
}

#[cfg(test)]
#[path = "audit_tests.rs"]
mod tests;
