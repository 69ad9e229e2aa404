//! Authentication use cases: register, log in with a password, authenticate a bearer token,
//! change a password.

use std::net::IpAddr;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use tracing::warn;
use uuid::Uuid;

use crate::Error;
use crate::lockout::LockoutPolicy;
use crate::password::PasswordPolicy;
use crate::ports::{
    Clock, KeyDigester, LockoutRepository, PasswordHasher, Random, RefreshTokenRepository,
    SecretDeriver, TokenCodec, UserChange, UserRepository,
};
use crate::token::{AccessClaims, IssuedTokens, TokenLifetimes};
use crate::user::{DisplayName, Email, PasswordHash, Role, User};

mod guard;

use guard::Checked;

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
}

/// A new account as asked for, not yet parsed.
#[derive(Debug)]
pub struct NewAccount {
    /// The email address, as typed.
    pub email: String,
    /// The password.
    pub password: SecretString,
    /// An optional display name.
    pub display_name: Option<String>,
}

/// The authentication use cases.
#[derive(Debug)]
pub struct AuthService {
    pub(crate) ports: Ports,
    pub(crate) policy: AuthPolicy,
    /// Verified against when the user is unknown, so that an unknown user costs the same time.
    dummy_hash: PasswordHash,
}

impl AuthService {
    /// Builds the service; hashes a random password once to serve as the unknown-user dummy.
    ///
    /// # Errors
    /// When the hasher fails.
    pub async fn new(ports: Ports, policy: AuthPolicy) -> Result<Self, Error> {
        let dummy_hash = ports.hasher.hash(ports.random.secret()).await?;
        Ok(Self {
            ports,
            policy,
            dummy_hash,
        })
    }

    /// The ports, for other use cases built on the same adapters.
    pub fn ports(&self) -> &Ports {
        &self.ports
    }

    /// Self-service sign-up: a new account with role `user`.
    ///
    /// # Errors
    /// [`Error::RegistrationDisabled`], [`Error::Invalid`] with every reason,
    /// [`Error::EmailTaken`]; storage failures.
    pub async fn register(&self, account: NewAccount) -> Result<User, Error> {
        if !self.policy.allow_registration {
            return Err(Error::RegistrationDisabled);
        }
        self.create_user(account, Role::User).await
    }

    /// Creates an account with the given role (administrators and the CLI).
    ///
    /// # Errors
    /// [`Error::Invalid`] with every reason, [`Error::EmailTaken`]; storage failures.
    pub async fn create_user(&self, account: NewAccount, role: Role) -> Result<User, Error> {
        let mut reasons = Vec::new();
        let email = Email::parse(&account.email)
            .map_err(|r| reasons.push(r.to_string()))
            .ok();
        let display_name = match account.display_name.as_deref().map(DisplayName::parse) {
            Some(Ok(name)) => Some(name),
            Some(Err(r)) => {
                reasons.push(r.to_string());
                None
            }
            None => None,
        };
        let context = related_words(email.as_ref(), display_name.as_ref());
        let context: Vec<&str> = context.iter().map(String::as_str).collect();
        if let Err(violations) = self
            .policy
            .password
            .check(account.password.expose_secret(), &context)
        {
            reasons.extend(violations.iter().map(ToString::to_string));
        }
        let Some(email) = email.filter(|_| reasons.is_empty()) else {
            return Err(Error::Invalid(reasons));
        };
        let password_hash = self.ports.hasher.hash(account.password).await?;
        let now = self.ports.clock.now();
        let user = User {
            id: self.ports.random.new_id(),
            email,
            display_name,
            role,
            disabled: false,
            password_hash,
            session_version: 0,
            created_at: now,
            updated_at: now,
        };
        self.ports.users.insert(&user).await?;
        Ok(user)
    }

    /// The password grant: checks the credentials, starts a refresh family and issues the
    /// first pair.
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
        client_ip: IpAddr,
    ) -> Result<(User, IssuedTokens), Error> {
        let (user, subject) = self.login_subject(username).await?;
        let hash = user.as_ref().map(|u| &u.password_hash);
        let checked = self
            .check_password(subject, password.clone(), hash, client_ip)
            .await?;
        let Some(user) = user else {
            audit(LOGIN, "unknown_user", None, client_ip);
            return Err(Error::InvalidCredentials);
        };
        let refusal = match checked {
            Checked::Refused => Some("locked"),
            Checked::Wrong => Some("wrong_password"),
            Checked::Right if user.disabled => Some("disabled"),
            Checked::Right => None,
        };
        if let Some(outcome) = refusal {
            audit(LOGIN, outcome, Some(&user), client_ip);
            return Err(Error::InvalidCredentials);
        }
        if self.ports.hasher.needs_rehash(&user.password_hash) {
            self.rehash(&user, password).await;
        }
        let tokens = self.start_session(&user).await?;
        audit(LOGIN, "success", Some(&user), client_ip);
        Ok((user, tokens))
    }

    /// Redoes a hash made with older parameters; a failure is logged and the login goes on.
    async fn rehash(&self, user: &User, password: SecretString) {
        let result = match self.ports.hasher.hash(password).await {
            Ok(hash) => self.ports.users.update_password_hash(user.id, &hash).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            warn!(user_id = %user.id, error = %e, "could not upgrade a password hash");
        }
    }

    /// Authenticates a bearer token: it must verify, and its user must exist, be enabled, and
    /// not have ended its sessions since the token was issued. The user comes from storage.
    ///
    /// # Errors
    /// [`Error::InvalidToken`]; storage failures.
    pub async fn authenticate_bearer(&self, token: &str) -> Result<User, Error> {
        let claims = self.ports.tokens.verify(token).map_err(|e| {
            tracing::debug!(reason = %e, "bearer token refused");
            Error::InvalidToken
        })?;
        self.live_user(claims.subject, Some(claims.session_version))
            .await
    }

    /// RFC 7662 introspection: the claims and current user of an access token that would be
    /// accepted now, or `None` for any token that would not.
    ///
    /// # Errors
    /// Storage failures only.
    pub async fn introspect(&self, token: &str) -> Result<Option<(AccessClaims, User)>, Error> {
        let Ok(claims) = self.ports.tokens.verify(token) else {
            return Ok(None);
        };
        match self
            .live_user(claims.subject, Some(claims.session_version))
            .await
        {
            Ok(user) => Ok(Some((claims, user))),
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

    /// Ends every session of the user: every access token issued before now and every refresh
    /// token stop working (their session version is left behind).
    ///
    /// # Errors
    /// [`Error::InvalidToken`] if the user is gone; storage failures.
    pub async fn logout(&self, user: &User) -> Result<(), Error> {
        let change = UserChange {
            end_sessions: true,
            at: Some(self.ports.clock.now()),
            ..UserChange::default()
        };
        self.ports
            .users
            .update(user.id, change)
            .await
            .map_err(caller_gone)?;
        Ok(())
    }

    /// Changes the caller's password and ends every earlier session. The current password is
    /// checked under the lockout of the password grant: a wrong one counts as a failed login of
    /// the caller from `client_ip`, and while a lock holds the change is refused with the same
    /// answer as a wrong password.
    ///
    /// # Errors
    /// [`Error::WrongPassword`], [`Error::Invalid`] for a weak new password; storage failures.
    pub async fn change_password(
        &self,
        user: &User,
        current: SecretString,
        new: SecretString,
        client_ip: IpAddr,
    ) -> Result<(), Error> {
        let checked = self
            .check_password(user.id, current, Some(&user.password_hash), client_ip)
            .await?;
        let refusal = match checked {
            Checked::Refused => Some("locked"),
            Checked::Wrong => Some("wrong_password"),
            Checked::Right => None,
        };
        if let Some(outcome) = refusal {
            audit(PASSWORD_CHANGE, outcome, Some(user), client_ip);
            return Err(Error::WrongPassword);
        }
        let context = related_words(Some(&user.email), user.display_name.as_ref());
        let context: Vec<&str> = context.iter().map(String::as_str).collect();
        self.policy
            .password
            .check(new.expose_secret(), &context)
            .map_err(|v| Error::weak_password(&v))?;
        let hash = self.ports.hasher.hash(new).await?;
        let change = UserChange {
            password_hash: Some(hash),
            end_sessions: true,
            at: Some(self.ports.clock.now()),
            ..UserChange::default()
        };
        self.ports
            .users
            .update(user.id, change)
            .await
            .map_err(caller_gone)?;
        audit(PASSWORD_CHANGE, "success", Some(user), client_ip);
        Ok(())
    }
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
/// The audit event of a password change.
const PASSWORD_CHANGE: &str = "password_change";
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
fn audit(event: &str, outcome: &str, user: Option<&User>, client_ip: IpAddr) {
    tracing::info!(
        target: "warden::audit",
        event,
        outcome,
        user_id = user.map(|u| u.id.to_string()).unwrap_or_default(),
        client_ip = %client_ip,
    );
}

/// Words a password must not lean on: the email, its local part, the display name.
fn related_words(email: Option<&Email>, name: Option<&DisplayName>) -> Vec<String> {
    let mut words = Vec::new();
    if let Some(email) = email {
        words.push(email.normalized().to_owned());
        if let Some((local, _)) = email.normalized().split_once('@') {
            words.push(local.to_owned());
        }
    }
    if let Some(name) = name {
        words.push(name.as_str().to_lowercase());
    }
    words
}

#[cfg(test)]
#[path = "auth_tests.rs"]
pub(crate) mod tests;
