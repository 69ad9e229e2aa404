//! Accounts people can recover by mail: verifying an address, resetting a forgotten password,
//! changing the address.
//!
//! - Every link carries a token of 256 random bits, stored only as a digest, bound to one
//!   purpose and one account, and spent by its one use (the redemption deletes it in the
//!   transaction of its change). An account holds at most one token per purpose: a new one
//!   makes the older one invalid, and so does any password change for a reset token.
//! - A token travels only in its message, which is stored in the outbox in the transaction
//!   that stores the token ([`crate::mail`]); no request waits on a mail server.
//! - Nothing tells whether an address has an account: asking for a reset answers the same
//!   for every address (the edge answers before the work is done).
//! - Unknown, expired, spent and wrong-purpose tokens are all [`Error::InvalidAccountToken`].

use std::fmt;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::Error;
use crate::audit::{AuditEvent, AuditKind};
use crate::auth::{AuthPolicy, AuthService, Guard, Ports};
use crate::mail::{Mail, MailKind, Message};
use crate::origin::Origin;
use crate::ports::{AccountTokenRepository, MailComposer};
use crate::principal::{Permission, Principal};
use crate::user::{Email, User};

mod change;
mod redeem;

/// At most one mail of a purpose per account in this time (a resend, a reset, a change).
pub const MAIL_INTERVAL: Duration = Duration::minutes(1);
/// The length of a token as the links carry it: 256 bits, URL-safe base64 without padding.
pub const TOKEN_CHARS: usize = 43;

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenPurpose {
    /// Verify the account's address.
    VerifyEmail,
    /// Set a new password.
    PasswordReset,
    /// Make a new, verified address the account's.
    EmailChange,
}

impl TokenPurpose {
    /// Its name in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::PasswordReset => "password_reset",
            Self::EmailChange => "email_change",
        }
    }

    /// The purpose of a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::VerifyEmail, Self::PasswordReset, Self::EmailChange]
            .into_iter()
            .find(|p| p.as_str() == name)
    }
}

/// A token as stored: its digest, never the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountToken {
    /// Its id.
    pub id: Uuid,
    /// The account.
    pub user_id: Uuid,
    /// What it may do.
    pub purpose: TokenPurpose,
    /// The digest of the token.
    pub digest: String,
    /// The address it was sent to, which a verification or a change makes the account's.
    pub email: String,
    /// The account's session version when it was issued: an address change works only while
    /// it holds (a password change, a reset or a logout of every session ends it).
    pub session_version: i64,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
}

/// What the flows by mail do on this server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryPolicy {
    /// Whether mail can be sent (`mail.transport` is not `off`).
    pub mail_enabled: bool,
    /// Whether a new account gets a verification mail (`auth.verify_email`).
    pub verify_email: bool,
    /// The base of every link (`server.public_url`), without a trailing slash.
    pub public_url: String,
    /// How long a verification link works (`mail.verify_ttl_seconds`).
    pub verify_ttl: Duration,
    /// How long a reset link works (`mail.reset_ttl_seconds`).
    pub reset_ttl: Duration,
}

impl Default for RecoveryPolicy {
    fn default() -> Self {
        Self {
            mail_enabled: true,
            verify_email: true,
            public_url: "http://localhost:8080".into(),
            verify_ttl: Duration::hours(24),
            reset_ttl: Duration::minutes(30),
        }
    }
}

/// The adapters of the flows by mail.
#[derive(Clone)]
pub struct MailPorts {
    /// Tokens, and the outbox they are queued with.
    pub tokens: Arc<dyn AccountTokenRepository>,
    /// The templates.
    pub composer: Arc<dyn MailComposer>,
}

impl fmt::Debug for MailPorts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailPorts").finish_non_exhaustive()
    }
}

/// A link made by an operator for a user without mail: shown once.
pub struct ResetLink(pub SecretString);

impl fmt::Debug for ResetLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResetLink([redacted])")
    }
}

/// Whether `token` can be one of ours at all: [`TOKEN_CHARS`] characters of URL-safe base64.
/// Anything else is refused before storage is asked.
pub fn token_shaped(token: &str) -> bool {
    token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The flows by mail.
#[derive(Clone, Debug)]
pub struct RecoveryService {
    ports: Ports,
    policy: AuthPolicy,
    guard: Arc<Guard>,
    mail: MailPorts,
    recovery: RecoveryPolicy,
}

/// A token about to be issued, with what its message needs.
struct Issue<'a> {
    user: &'a User,
    purpose: TokenPurpose,
    /// The address it goes to.
    to: &'a str,
    /// Whether the per-account throttle applies.
    throttled: bool,
}

impl RecoveryService {
    /// Builds the service on the session use cases' adapters, policies and lockout guard.
    pub fn new(sessions: &AuthService, mail: MailPorts, recovery: RecoveryPolicy) -> Self {
        Self {
            ports: sessions.ports.clone(),
            policy: sessions.policy.clone(),
            guard: sessions.guard.clone(),
            mail,
            recovery,
        }
    }

    /// The policy, for the edges.
    pub fn policy(&self) -> &RecoveryPolicy {
        &self.recovery
    }

    fn require_mail(&self) -> Result<(), Error> {
        if self.recovery.mail_enabled {
            Ok(())
        } else {
            Err(Error::MailOff)
        }
    }

    /// A new account's verification mail, when `auth.verify_email` and mail are on: after a
    /// sign-up or an admin's creation. `Ok(false)` when none is sent.
    ///
    /// # Errors
    /// Storage failures (the account stays; the user may ask again).
    pub async fn welcome(&self, user: &User, origin: Option<&Origin>) -> Result<bool, Error> {
        if !(self.recovery.verify_email && self.recovery.mail_enabled) {
            return Ok(false);
        }
        let mut event = self.event(AuditKind::EmailVerificationSent, user);
        if let Some(origin) = origin {
            event = event.from(origin);
        }
        let issue = Issue {
            user,
            purpose: TokenPurpose::VerifyEmail,
            to: user.email.as_str(),
            throttled: false,
        };
        self.issue(&issue, None, event).await.map(|_| true)
    }

    /// A login refused for an unverified address (the password was right): a new verification
    /// link, at most one a minute, so that a user whose link was lost or expired is never stuck.
    /// `Ok(false)` when none went (verified, mail off, throttled, or no such user).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn remind(&self, user_id: Uuid, origin: &Origin) -> Result<bool, Error> {
        if !self.recovery.mail_enabled {
            return Ok(false);
        }
        let Some(user) = self.ports.users.find_by_id(user_id).await? else {
            return Ok(false);
        };
        if user.email_verified_at.is_some() {
            return Ok(false);
        }
        let event = self
            .event(AuditKind::EmailVerificationSent, &user)
            .from(origin)
            .detail("via", "login");
        let issue = Issue {
            user: &user,
            purpose: TokenPurpose::VerifyEmail,
            to: user.email.as_str(),
            throttled: true,
        };
        self.issue(&issue, None, event).await
    }

    /// Sends the caller's address a new verification link, at most one a minute. Only the
    /// owner in person (a bearer token). A verified address gets nothing.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for an API key or the operator; [`Error::MailOff`];
    /// [`Error::MailThrottled`]; storage failures.
    pub async fn resend_verification(&self, caller: &Principal) -> Result<(), Error> {
        let user = caller.owner_in_person()?;
        self.require_mail()?;
        if user.email_verified_at.is_some() {
            return Ok(());
        }
        let event = self
            .event(AuditKind::EmailVerificationSent, user)
            .by(caller);
        let issue = Issue {
            user,
            purpose: TokenPurpose::VerifyEmail,
            to: user.email.as_str(),
            throttled: true,
        };
        if self.issue(&issue, None, event).await? {
            Ok(())
        } else {
            Err(Error::MailThrottled)
        }
    }

    /// A forgotten password: sends a reset link to `email` if it names an enabled account,
    /// at most one a minute. Says nothing either way: an unknown, malformed or disabled
    /// address is `Ok(())` with nothing written.
    ///
    /// # Errors
    /// [`Error::MailOff`] (for every address alike); storage failures.
    pub async fn forgot_password(&self, email: &str, origin: &Origin) -> Result<(), Error> {
        self.require_mail()?;
        let Ok(email) = Email::parse(email) else {
            return Ok(());
        };
        let Some(user) = self.ports.users.find_by_email(&email).await? else {
            return Ok(());
        };
        if user.disabled {
            return Ok(());
        }
        let event = self
            .event(AuditKind::PasswordResetRequested, &user)
            .from(origin)
            .detail("via", "mail");
        let issue = Issue {
            user: &user,
            purpose: TokenPurpose::PasswordReset,
            to: user.email.as_str(),
            throttled: true,
        };
        self.issue(&issue, None, event).await.map(|_| ())
    }

    /// An administrator sends a user a reset link (no throttle: the admin asked for this one).
    ///
    /// # Errors
    /// [`Error::Forbidden`]; [`Error::NotFound`]; [`Error::MailOff`]; storage failures.
    pub async fn send_reset(&self, caller: &Principal, user_id: Uuid) -> Result<(), Error> {
        caller.authorize(Permission::ManageUsers)?;
        self.require_mail()?;
        let user = self
            .ports
            .users
            .find_by_id(user_id)
            .await?
            .ok_or(Error::NotFound)?;
        let event = self
            .event(AuditKind::PasswordResetRequested, &user)
            .by(caller)
            .detail("via", "mail");
        let issue = Issue {
            user: &user,
            purpose: TokenPurpose::PasswordReset,
            to: user.email.as_str(),
            throttled: false,
        };
        self.issue(&issue, None, event).await.map(|_| ())
    }

    /// The operator's reset link for a user, printed rather than mailed; it replaces any
    /// earlier reset link of the user.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for anyone but the operator; [`Error::NotFound`]; storage failures.
    pub async fn reset_link(&self, caller: &Principal, email: &str) -> Result<ResetLink, Error> {
        let user = self.operators_account(caller, email).await?;
        let event = self
            .event(AuditKind::PasswordResetRequested, &user)
            .by(caller)
            .detail("via", "link");
        let issue = Issue {
            user: &user,
            purpose: TokenPurpose::PasswordReset,
            to: user.email.as_str(),
            throttled: false,
        };
        let ((token, secret), _) = self.token(&issue);
        self.mail.tokens.issue(&token, &[], None, &event).await?;
        Ok(ResetLink(self.link(TokenPurpose::PasswordReset, &secret)))
    }

    /// The account of `email`, for the operator alone (the CLI's commands by address).
    ///
    /// # Errors
    /// [`Error::Forbidden`] for anyone but the operator; [`Error::NotFound`] for an address
    /// that names no account (or is none); storage failures.
    async fn operators_account(&self, caller: &Principal, email: &str) -> Result<User, Error> {
        if !caller.is_operator() {
            return Err(Error::Forbidden);
        }
        let email = Email::parse(email).map_err(|_| Error::NotFound)?;
        self.ports
            .users
            .find_by_email(&email)
            .await?
            .ok_or(Error::NotFound)
    }

    /// A new audit event of `kind` about `user`.
    fn event(&self, kind: AuditKind, user: &User) -> AuditEvent {
        self.ports.event(kind).about(user.id)
    }

    /// The link of a token of `purpose`.
    fn link(&self, purpose: TokenPurpose, token: &SecretString) -> SecretString {
        let page = match purpose {
            TokenPurpose::PasswordReset => "reset",
            TokenPurpose::VerifyEmail | TokenPurpose::EmailChange => "verify",
        };
        SecretString::from(format!(
            "{}/account/{page}?token={}",
            self.recovery.public_url,
            token.expose_secret()
        ))
    }

    fn ttl(&self, purpose: TokenPurpose) -> Duration {
        match purpose {
            TokenPurpose::PasswordReset => self.recovery.reset_ttl,
            TokenPurpose::VerifyEmail | TokenPurpose::EmailChange => self.recovery.verify_ttl,
        }
    }

    /// A new token for `issue`, and the token itself (for its link).
    fn token(&self, issue: &Issue<'_>) -> ((AccountToken, SecretString), Duration) {
        let secret = self.ports.random.secret();
        let now = self.ports.clock.now();
        let ttl = self.ttl(issue.purpose);
        let token = AccountToken {
            id: self.ports.random.new_id(),
            user_id: issue.user.id,
            purpose: issue.purpose,
            digest: self.ports.digester.digest(secret.expose_secret()),
            email: issue.to.to_owned(),
            session_version: issue.user.session_version,
            created_at: now,
            expires_at: now + ttl,
        };
        ((token, secret), ttl)
    }

    /// Issues a token and queues its message (and `also`, when given) with the event, in one
    /// step; `Ok(false)` when the throttle held it back.
    async fn issue(
        &self,
        issue: &Issue<'_>,
        also: Option<Message>,
        event: AuditEvent,
    ) -> Result<bool, Error> {
        let ((token, secret), ttl) = self.token(issue);
        let kind = match issue.purpose {
            TokenPurpose::VerifyEmail => MailKind::VerifyEmail,
            TokenPurpose::PasswordReset => MailKind::PasswordReset,
            TokenPurpose::EmailChange => MailKind::EmailChange,
        };
        let message = self.mail.composer.compose(&Mail {
            kind,
            to: issue.to.to_owned(),
            // Greeted by the address it goes to, never by a name the account chose: a sign-up
            // or an address change mails an address nobody has shown to be the account's.
            name: issue.to.to_owned(),
            link: Some(self.link(issue.purpose, &secret).expose_secret().to_owned()),
            valid_minutes: ttl.whole_minutes(),
        })?;
        let mut messages = vec![message];
        messages.extend(also);
        let not_after = issue.throttled.then(|| token.created_at - MAIL_INTERVAL);
        self.mail
            .tokens
            .issue(&token, &messages, not_after, &event)
            .await
    }
}

#[cfg(test)]
#[path = "recovery_tests.rs"]
mod tests;
