//! Session use cases: log in with a password, authenticate a bearer token as a [`Principal`],
//! introspect, log out (refresh and revocation are in [`crate::refresh`]).

use std::net::IpAddr;
use std::sync::Arc;

use secrecy::SecretString;
use tracing::warn;
use uuid::Uuid;

use crate::Error;
use crate::audit::{AuditEvent, AuditKind};
use crate::lockout::LockoutPolicy;
use crate::mfa::{MfaPolicy, Proof};
use crate::origin::Origin;
use crate::password::PasswordPolicy;
use crate::ports::{
    AuditLog, Authenticator, Clock, KeyDigester, LockoutRepository, MfaRepository, Observer,
    PasswordHasher, Random, RefreshTokenRepository, SecretDeriver, TokenCodec, UserChange,
    UserRepository,
};
use crate::principal::{Permission, Principal};
use crate::token::{AccessClaims, Introspection, IssuedTokens, TokenLifetimes};
use crate::user::User;

pub(crate) mod guard;
mod second_factor;

pub(crate) use guard::{Checked, Guard, Proving};

/// The adapters the authentication use cases run on.
#[derive(Clone)]
pub struct Ports {
    /// User storage.
    pub users: Arc<dyn UserRepository>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Access-token signing and verification.
    pub tokens: Arc<dyn TokenCodec>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Randomness.
    pub random: Arc<dyn Random>,
    /// Failure counts for lockout.
    pub lockouts: Arc<dyn LockoutRepository>,
    /// Refresh-token storage.
    pub refresh_tokens: Arc<dyn RefreshTokenRepository>,
    /// Digests of refresh tokens (and API keys).
    pub digester: Arc<dyn KeyDigester>,
    /// Derivation of a refresh token's successor.
    pub deriver: Arc<dyn SecretDeriver>,
    /// Where outcomes are counted for metrics.
    pub observer: Arc<dyn Observer>,
    /// The audit trail's own writes and reads.
    pub audit: Arc<dyn AuditLog>,
    /// Second factors, recovery codes and the logins waiting for them.
    pub mfa: Arc<dyn MfaRepository>,
    /// TOTP and the sealing of its secrets.
    pub authenticator: Arc<dyn Authenticator>,
}

impl Ports {
    /// A new audit event of `kind`, now.
    pub(crate) fn event(&self, kind: AuditKind) -> AuditEvent {
        AuditEvent::new(self.random.new_id(), self.clock.now(), kind)
    }
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports").finish_non_exhaustive()
    }
}

/// The credential policies the use cases apply.
#[derive(Clone, Debug)]
pub struct AuthPolicy {
    /// What a new password must satisfy.
    pub password: PasswordPolicy,
    /// Token lifetimes.
    pub lifetimes: TokenLifetimes,
    /// Whether anyone may sign up.
    pub allow_registration: bool,
    /// When failed logins lock an IP or an account out.
    pub lockout: LockoutPolicy,
    /// How long a rotated refresh token, presented again, still gets its successor.
    pub reuse_grace: time::Duration,
    /// How long audit events are kept.
    pub audit_retention: time::Duration,
    /// What the second factor may do.
    pub mfa: MfaPolicy,
    /// Whether a password login needs a verified address (`auth.require_verified_email`).
    pub require_verified_email: bool,
}

/// The session use cases: log in, refresh, authenticate a bearer token, introspect, log out,
/// revoke; and the housekeeping of what they store. The account's own operations are
/// [`crate::account::AccountService`]'s, the administration [`crate::admin::AdminService`]'s.
#[derive(Debug)]
pub struct AuthService {
    pub(crate) ports: Ports,
    pub(crate) policy: AuthPolicy,
    /// Checks passwords under the lockout; shared with the account use cases.
    pub(crate) guard: Arc<Guard>,
}

impl AuthService {
    /// Builds the service; hashes a random password once to serve as the unknown-user dummy.
    ///
    /// # Errors
    /// When the hasher fails.
    pub async fn new(ports: Ports, policy: AuthPolicy) -> Result<Self, Error> {
        let guard = Arc::new(Guard::new(ports.clone(), policy.lockout).await?);
        Ok(Self {
            ports,
            policy,
            guard,
        })
    }

    /// The second factor's policy, which the edge applies to every caller it authenticates
    /// ([`Principal::under`]).
    pub fn mfa_policy(&self) -> &MfaPolicy {
        &self.policy.mfa
    }

    /// The ports, for other use cases built on the same adapters.
    pub fn ports(&self) -> &Ports {
        &self.ports
    }

    /// The password grant: checks the credentials, starts a session (a refresh family) from
    /// `origin` and issues the first pair.
    ///
    /// Every failure is the same [`Error::InvalidCredentials`] at the same cost: one user
    /// lookup, the same lockout writes and one verification, whether the username names a
    /// user, names none, or is no email at all (see [`Self::check_password`]).
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`]; storage and hasher failures.
    pub async fn login(
        &self,
        username: &str,
        password: SecretString,
        origin: impl Into<Origin>,
    ) -> Result<(User, IssuedTokens), Error> {
        self.login_with(username, password, None, origin).await
    }

    /// The password grant with an optional proof of the account's second factor, sent with
    /// the password by clients that do it in one step. A right password of an account with a
    /// factor, without a proof, opens a challenge instead of a session
    /// ([`Error::MfaRequired`], finished by [`Self::complete_login`]); with a proof, it must
    /// prove the factor. Codes are counted by the lockout apart from passwords.
    ///
    /// # Errors
    /// As [`Self::login`]; [`Error::MfaRequired`]; [`Error::InvalidCode`].
    pub async fn login_with(
        &self,
        username: &str,
        password: SecretString,
        proof: Option<Proof>,
        origin: impl Into<Origin>,
    ) -> Result<(User, IssuedTokens), Error> {
        let origin = origin.into();
        let client_ip = origin.ip;
        let (user, subject) = self.login_subject(username).await?;
        let hash = user.as_ref().map(|u| &u.password_hash);
        let checked = self
            .guard
            .check_password(subject, password.clone(), hash, client_ip)
            .await?;
        let user = match (user, checked) {
            (user, Checked::Refused) => Err((LoginOutcome::Locked, user)),
            (None, _) => Err((LoginOutcome::UnknownUser, None)),
            (user, Checked::Wrong) => Err((LoginOutcome::WrongPassword, user)),
            (Some(user), Checked::Right) if user.disabled => {
                Err((LoginOutcome::Disabled, Some(user)))
            }
            (Some(user), Checked::Right)
                if self.policy.require_verified_email && user.email_verified_at.is_none() =>
            {
                Err((LoginOutcome::Unverified, Some(user)))
            }
            (Some(user), Checked::Right) => Ok(user),
        };
        let user = match user {
            Ok(user) => user,
            Err((outcome, user)) => {
                self.ports.observer.login(outcome);
                audit(LOGIN, outcome.as_str(), user.as_ref(), client_ip);
                let kind = if outcome == LoginOutcome::Locked {
                    AuditKind::LoginLocked
                } else {
                    AuditKind::LoginFailed
                };
                let mut event = self
                    .ports
                    .event(kind)
                    .from(&origin)
                    .failed()
                    .detail("reason", outcome.as_str());
                if let Some(user) = &user {
                    event = event.about(user.id);
                }
                // A refusal changes nothing: failing to record it does not change the answer.
                if let Err(e) = self.ports.audit.record(&event).await {
                    warn!(error = %e, "could not record a refused login");
                }
                // Only someone who knows the password learns that the address is unverified.
                return Err(match (outcome, user) {
                    (LoginOutcome::Unverified, Some(user)) => Error::EmailNotVerified(user.id),
                    _ => Error::InvalidCredentials,
                });
            }
        };
        if self.ports.hasher.needs_rehash(&user.password_hash) {
            self.rehash(&user, password, &origin).await;
        }
        let second_factor = self.second_factor(&user, proof, &origin).await?;
        let tokens = self.start_session(&user, &origin, second_factor).await?;
        self.ports.observer.login(LoginOutcome::Success);
        audit(
            LOGIN,
            LoginOutcome::Success.as_str(),
            Some(&user),
            client_ip,
        );
        Ok((user, tokens))
    }

    /// Redoes a hash made with older parameters, or by another system (an import), which is
    /// audited as `password.upgraded`; a failure is logged and the login goes on.
    async fn rehash(&self, user: &User, password: SecretString, origin: &Origin) {
        let old = &user.password_hash;
        // Only a hash of another system (an import) is worth a durable event.
        let upgrade = (!old.is_argon2id()).then(|| {
            self.ports
                .event(AuditKind::PasswordUpgraded)
                .by_user(user.id)
                .about(user.id)
                .from(origin)
        });
        let upgrading = upgrade.is_some();
        let result = match self.ports.hasher.hash(password).await {
            Ok(new) => {
                self.ports
                    .users
                    .update_password_hash(user.id, old, &new, upgrade)
                    .await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(true) if upgrading => {
                audit(PASSWORD_UPGRADED, "success", Some(user), origin.ip);
            }
            // Replaced, or changed by another request meanwhile: nothing to say.
            Ok(_) => {}
            Err(e) => warn!(user_id = %user.id, error = %e, "could not upgrade a password hash"),
        }
    }

    /// Authenticates a bearer token: it must verify, its user must exist, be enabled, and not
    /// have ended its sessions since the token was issued, and its session (`sid`) must be
    /// live. The user and the session's state come from storage in one query, and the user
    /// travels in the principal.
    ///
    /// # Errors
    /// [`Error::InvalidToken`]; storage failures.
    pub async fn authenticate_bearer(&self, token: &str) -> Result<Principal, Error> {
        let claims = self.ports.tokens.verify(token).map_err(|e| {
            tracing::debug!(reason = %e, "bearer token refused");
            Error::InvalidToken
        })?;
        self.session_user(&claims)
            .await
            .map(|user| Principal::bearer(user, claims.session_id, claims.second_factor))
    }

    /// The stored user behind verified claims, if the user may still act and the token's
    /// session is live.
    ///
    /// # Errors
    /// [`Error::InvalidToken`]; storage failures.
    async fn session_user(&self, claims: &AccessClaims) -> Result<User, Error> {
        let (user, session) = self
            .ports
            .users
            .find_in_session(claims.subject, claims.session_id)
            .await?
            .ok_or(Error::InvalidToken)?;
        let now = self.ports.clock.now();
        if !session.is_some_and(|s| s.live_at(now)) {
            return Err(Error::InvalidToken);
        }
        ensure_live(user, Some(claims.session_version))
    }

    /// RFC 7662 introspection, for a caller whose role may introspect (`admin`, `service`, the
    /// operator): what is known of an access token that would be accepted now, or `None` for
    /// any token that would not.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for any other caller, before the token is looked at; storage
    /// failures.
    pub async fn introspect(
        &self,
        caller: &Principal,
        token: &str,
    ) -> Result<Option<Introspection>, Error> {
        caller.authorize(Permission::IntrospectTokens)?;
        self.user_token(token).await
    }

    /// What is known of a user's access token that would be accepted now; `None` for any
    /// token that would not. Whoever calls it has decided the caller may know.
    pub(crate) async fn user_token(&self, token: &str) -> Result<Option<Introspection>, Error> {
        let Ok(claims) = self.ports.tokens.verify(token) else {
            return Ok(None);
        };
        match self.session_user(&claims).await {
            Ok(user) => Ok(Some(Introspection {
                claims,
                user,
                issuer: self.ports.tokens.issuer(),
                audience: self.ports.tokens.audience(),
            })),
            Err(Error::InvalidToken) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The stored user behind a credential, if it may still act: present, enabled, and (for a
    /// token) issued under the current session version.
    ///
    /// # Errors
    /// [`Error::InvalidToken`]; storage failures.
    pub async fn live_user(&self, id: Uuid, session_version: Option<i64>) -> Result<User, Error> {
        let user = self
            .ports
            .users
            .find_by_id(id)
            .await?
            .ok_or(Error::InvalidToken)?;
        ensure_live(user, session_version)
    }

    /// Ends every session of the caller, whatever its credential: every access token issued
    /// before now and every refresh token stop working (their session version is left behind).
    ///
    /// # Errors
    /// [`Error::Forbidden`] for the operator, which has no sessions; [`Error::InvalidToken`] if
    /// the user is gone; storage failures.
    pub async fn logout(&self, caller: &Principal) -> Result<(), Error> {
        let user = caller.account()?;
        let event = self
            .ports
            .event(AuditKind::Logout)
            .by(caller)
            .about(user.id);
        end_sessions(&self.ports, user.id, None, &event).await
    }
}

/// Ends every session of the caller `id` (bumps its session version), setting a new password
/// hash in the same write when one is given, and recording `audit` in the same transaction.
///
/// # Errors
/// [`Error::InvalidToken`] if the caller is gone; storage failures.
pub(crate) async fn end_sessions(
    ports: &Ports,
    id: Uuid,
    password_hash: Option<crate::user::PasswordHash>,
    audit: &AuditEvent,
) -> Result<(), Error> {
    let change = UserChange {
        password_hash,
        end_sessions: true,
        at: Some(audit.at),
        ..UserChange::default()
    };
    ports
        .users
        .update(id, change, audit)
        .await
        .map(|_| ())
        .map_err(caller_gone)
}

/// A caller deleted while its request ran holds a dead credential: [`Error::InvalidToken`].
fn caller_gone(e: Error) -> Error {
    match e {
        Error::NotFound => Error::InvalidToken,
        other => other,
    }
}

/// The audit event of the password grant.
const LOGIN: &str = "login";
/// The audit event of an imported hash replaced by argon2id at a login.
const PASSWORD_UPGRADED: &str = "password.upgraded";

/// How a password grant ended, as audited and counted. Every refusal is the same
/// [`Error::InvalidCredentials`] to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoginOutcome {
    /// Tokens were issued.
    Success,
    /// The account exists and the password is wrong.
    WrongPassword,
    /// The username names no account (or is no email).
    UnknownUser,
    /// A lock held, or the attempt came past the limit: no password was verified.
    Locked,
    /// The right password of a disabled account.
    Disabled,
    /// The right password of an account whose address is not verified, while a verified one
    /// is required.
    Unverified,
}

impl LoginOutcome {
    /// The outcome's name in the audit log and the metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::WrongPassword => "wrong_password",
            Self::UnknownUser => "unknown_user",
            Self::Locked => "locked",
            Self::Disabled => "disabled",
            Self::Unverified => "unverified",
        }
    }
}
/// A stored user who may still act: enabled, and (for a token) of the current session version.
///
/// # Errors
/// [`Error::InvalidToken`].
pub fn ensure_live(user: User, session_version: Option<i64>) -> Result<User, Error> {
    if user.disabled || session_version.is_some_and(|v| v != user.session_version) {
        return Err(Error::InvalidToken);
    }
    Ok(user)
}

/// Records an attempt to prove a password for audit: the event, its outcome, the user and the
/// client IP, never the password.
pub(crate) fn audit(event: &str, outcome: &str, user: Option<&User>, client_ip: IpAddr) {
    tracing::info!(
        target: "warden::audit",
        event,
        outcome,
        user_id = user.map(|u| u.id.to_string()).unwrap_or_default(),
        client_ip = %client_ip,
    );
}

#[cfg(test)]
#[path = "auth_tests.rs"]
pub(crate) mod tests;
