//! The account's own use cases: sign up, and change the caller's password; and the making of a
//! new user, which sign-up shares with administration.

use std::net::IpAddr;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use crate::Error;
use crate::audit::{AuditEvent, AuditKind};
use crate::auth::{AuthPolicy, AuthService, Checked, Guard, Ports, audit, end_sessions};
use crate::origin::Origin;
use crate::password::PasswordPolicy;
use crate::principal::Principal;
use crate::user::{DisplayName, Email, Role, User};

/// The audit event of a password change.
const PASSWORD_CHANGE: &str = "password_change";

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

/// The account's own use cases.
#[derive(Clone, Debug)]
pub struct AccountService {
    ports: Ports,
    policy: AuthPolicy,
    /// The session use cases' guard: a wrong current password counts as a failed login.
    guard: Arc<Guard>,
}

impl AccountService {
    /// Builds the service on the adapters, policies and lockout guard of the session use cases.
    pub fn new(sessions: &AuthService) -> Self {
        Self {
            ports: sessions.ports.clone(),
            policy: sessions.policy.clone(),
            guard: sessions.guard.clone(),
        }
    }

    /// Self-service sign-up: a new account with role `user`. Anyone may call it; no caller.
    ///
    /// # Errors
    /// [`Error::RegistrationDisabled`], [`Error::Invalid`] with every reason,
    /// [`Error::EmailTaken`]; storage failures.
    pub async fn register(&self, account: NewAccount, origin: &Origin) -> Result<User, Error> {
        if !self.policy.allow_registration {
            return Err(Error::RegistrationDisabled);
        }
        let audit = self
            .ports
            .event(AuditKind::UserCreated)
            .from(origin)
            .detail("role", Role::User.as_str())
            .detail("via", "registration");
        new_user(
            &self.ports,
            &self.policy.password,
            account,
            Role::User,
            audit,
        )
        .await
    }

    /// Changes the caller's password and ends every earlier session. Only a bearer token's
    /// caller may: an API key may not (a leaked key must not take the account), and the
    /// operator has no password. The current password is checked under the lockout of the
    /// password grant: a wrong one counts as a failed login of the caller from `client_ip`, and
    /// while a lock holds the change is refused with the same answer as a wrong password.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for an API key or the operator, before anything is checked;
    /// [`Error::WrongPassword`], [`Error::Invalid`] for a weak new password; storage failures.
    pub async fn change_password(
        &self,
        caller: &Principal,
        current: SecretString,
        new: SecretString,
        client_ip: IpAddr,
    ) -> Result<(), Error> {
        let user = caller.owner_in_person()?;
        let checked = self
            .guard
            .check_password(user.id, current, Some(&user.password_hash), client_ip)
            .await?;
        let refusal = match checked {
            Checked::Refused => Some("locked"),
            Checked::Wrong => Some("wrong_password"),
            Checked::Right => None,
        };
        if let Some(outcome) = refusal {
            audit(PASSWORD_CHANGE, outcome, Some(user), client_ip);
            let event = self
                .ports
                .event(AuditKind::PasswordChanged)
                .by(caller)
                .about(user.id)
                .failed()
                .detail("reason", outcome);
            if let Err(e) = self.ports.audit.record(&event).await {
                tracing::warn!(error = %e, "could not record a refused password change");
            }
            return Err(Error::WrongPassword);
        }
        let context = related_words(Some(&user.email), user.display_name.as_ref());
        let context: Vec<&str> = context.iter().map(String::as_str).collect();
        self.policy
            .password
            .check(new.expose_secret(), &context)
            .map_err(|v| Error::weak_password(&v))?;
        let hash = self.ports.hasher.hash(new).await?;
        let event = self
            .ports
            .event(AuditKind::PasswordChanged)
            .by(caller)
            .about(user.id);
        end_sessions(&self.ports, user.id, Some(hash), &event).await?;
        audit(PASSWORD_CHANGE, "success", Some(user), client_ip);
        Ok(())
    }
}

/// Parses, checks and stores a new account with the given role, with its audit event (made
/// about the new account here); who may ask is the caller's business (sign-up: anyone, as
/// `user`; administration: an admin or the operator).
///
/// # Errors
/// [`Error::Invalid`] with every reason, [`Error::EmailTaken`]; storage failures.
pub(crate) async fn new_user(
    ports: &Ports,
    policy: &PasswordPolicy,
    account: NewAccount,
    role: Role,
    audit: AuditEvent,
) -> Result<User, Error> {
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
    if let Err(violations) = policy.check(account.password.expose_secret(), &context) {
        reasons.extend(violations.iter().map(ToString::to_string));
    }
    let Some(email) = email.filter(|_| reasons.is_empty()) else {
        return Err(Error::Invalid(reasons));
    };
    let password_hash = ports.hasher.hash(account.password).await?;
    let now = ports.clock.now();
    let user = User {
        id: ports.random.new_id(),
        email,
        display_name,
        role,
        disabled: false,
        password_hash,
        session_version: 0,
        created_at: now,
        updated_at: now,
        email_verified_at: None,
        mfa_enabled_at: None,
    };
    ports.users.insert(&user, &audit.about(user.id)).await?;
    Ok(user)
}

/// Words a password must not lean on: the email, its local part, the display name.
pub(crate) fn related_words(email: Option<&Email>, name: Option<&DisplayName>) -> Vec<String> {
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
