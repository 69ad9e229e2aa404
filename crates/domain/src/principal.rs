//! The caller of a use case: who it is, with which role, and by which kind of credential; and
//! the domain's rules of who may do what.

use uuid::Uuid;

use crate::Error;
use crate::origin::Origin;
use crate::user::{Role, User};

/// How a caller proved who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    /// An access token (the OAuth 2.0 password or refresh grant).
    Bearer,
    /// An API key: it acts as its owner, with the owner's current role, but it can mint no
    /// keys and change no password, so that a leaked key cannot outlive its revocation.
    ApiKey,
    /// The local operator: the `warden` admin CLI, run by whoever holds the server's
    /// configuration (and so its database and signing keys).
    Operator,
}

/// Whoever calls a use case. Every use case that acts for someone takes one and decides itself
/// what its caller may do.
///
/// A bearer token or an API key authenticates a stored [`User`], loaded once by
/// [`crate::auth::AuthService::authenticate_bearer`] or
/// [`crate::api_key::ApiKeyService::authenticate`] and carried here, so that a use case about
/// the caller (`/users/me`, a password change, a logout) reads no user again.
///
/// The operator ([`Credential::Operator`], the local `warden` CLI) has no account: it acts with
/// full rights, as role [`Role::Admin`], on any account. This is deliberate: whoever can run the
/// CLI holds the configuration, the database and the signing keys, so any check here would
/// only be bypassed, not enforced. It is the only kind of principal the domain lets any caller
/// build ([`Principal::operator`]); the others come only from authenticating a credential.
/// Operations about the caller's own account (password change, logout) refuse it with
/// [`Error::Forbidden`], since it has none.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The authenticated account; `None` for the operator.
    user: Option<User>,
    /// How it proved it.
    credential: Credential,
    /// The session a bearer token belongs to (its `sid`); `None` for the other credentials.
    session: Option<Uuid>,
    /// Where its request came from; `None` for the operator at the CLI.
    origin: Option<Origin>,
    /// Whether its session's login proved a second factor (a bearer token's `amr`).
    second_factor: bool,
    /// Whether it may only enrol a second factor (an admin without one, under
    /// `mfa.require_for_admins`).
    enrolment_only: bool,
}

/// Something a caller may be allowed to do because of its role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Permission {
    /// List, create, change, unlock and delete users.
    ManageUsers,
    /// Introspect tokens (RFC 7662).
    IntrospectTokens,
    /// Register, change and remove OAuth clients.
    ManageClients,
}

impl Role {
    /// Whether this role grants the permission.
    pub(crate) fn allows(self, permission: Permission) -> bool {
        match permission {
            Permission::ManageUsers | Permission::ManageClients => self == Role::Admin,
            Permission::IntrospectTokens => matches!(self, Role::Admin | Role::Service),
        }
    }
}

impl Principal {
    /// The user behind a verified access token of a live session.
    pub(crate) fn bearer(user: User, session: Uuid, second_factor: bool) -> Self {
        Self {
            user: Some(user),
            credential: Credential::Bearer,
            session: Some(session),
            origin: None,
            second_factor,
            enrolment_only: false,
        }
    }

    /// The owner of a verified API key.
    pub(crate) fn api_key(user: User) -> Self {
        Self {
            user: Some(user),
            credential: Credential::ApiKey,
            session: None,
            origin: None,
            second_factor: false,
            enrolment_only: false,
        }
    }

    /// The local operator (the `warden` CLI): full rights, no account. Only the CLI may call
    /// this; see the type's documentation.
    pub fn operator() -> Self {
        Self {
            user: None,
            credential: Credential::Operator,
            session: None,
            origin: None,
            second_factor: false,
            enrolment_only: false,
        }
    }

    /// The kind of credential it proved itself with.
    pub fn credential(&self) -> Credential {
        self.credential
    }

    /// The same caller, calling from `origin` (what the audit trail records of it).
    #[must_use]
    pub fn calling_from(mut self, origin: Origin) -> Self {
        self.origin = Some(origin);
        self
    }

    /// The same caller under the second factor's policy: when factors are required of
    /// admins, an admin without an active factor, or with a bearer token of a session that
    /// proved none (a login from before its enrolment), may then only enrol
    /// ([`Self::enrolment_only`]). An API key follows its account's factor.
    #[must_use]
    pub fn under(mut self, policy: &crate::mfa::MfaPolicy) -> Self {
        let unproved_session = self.credential == Credential::Bearer && !self.second_factor;
        self.enrolment_only = self
            .user
            .as_ref()
            .is_some_and(|u| policy.must_enrol(u) || (policy.applies_to(u) && unproved_session));
        self
    }

    /// Whether it may do nothing but enrol a second factor: the edge then refuses every other
    /// operation with [`Error::MfaEnrolmentRequired`].
    pub fn enrolment_only(&self) -> bool {
        self.enrolment_only
    }

    /// Where its request came from, if it came over HTTP.
    pub fn origin(&self) -> Option<&Origin> {
        self.origin.as_ref()
    }

    /// The session its bearer token belongs to; `None` for an API key and the operator.
    pub fn session(&self) -> Option<Uuid> {
        self.session
    }

    /// Its role: the account's current role (read when the credential was checked), or
    /// [`Role::Admin`] for the operator.
    pub fn role(&self) -> Role {
        self.user.as_ref().map_or(Role::Admin, |u| u.role)
    }

    /// The authenticated account; `None` for the operator.
    pub fn user(&self) -> Option<&User> {
        self.user.as_ref()
    }

    /// The authenticated account, for an operation on the caller's own account.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for the operator, which has none.
    pub fn account(&self) -> Result<&User, Error> {
        self.user.as_ref().ok_or(Error::Forbidden)
    }

    /// Whether it is the operator.
    pub(crate) fn is_operator(&self) -> bool {
        self.credential == Credential::Operator
    }

    /// Checks that its role grants a permission.
    ///
    /// # Errors
    /// [`Error::Forbidden`] when it does not.
    pub(crate) fn authorize(&self, permission: Permission) -> Result<(), Error> {
        if self.role().allows(permission) {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// Checks that it may manage the API keys of `owner`: the operator anyone's, any other
    /// caller its own only.
    ///
    /// # Errors
    /// [`Error::Forbidden`] otherwise.
    pub(crate) fn may_manage_keys_of(&self, owner: Uuid) -> Result<(), Error> {
        if self.is_operator() || self.user.as_ref().is_some_and(|u| u.id == owner) {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// The caller's own account, when its credential may act on it as its owner would with a
    /// password (mint keys, change the password): a bearer token's. An API key may not, and
    /// the operator has no account.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for an API key or the operator.
    pub(crate) fn owner_in_person(&self) -> Result<&User, Error> {
        match self.credential {
            Credential::Bearer => self.account(),
            Credential::ApiKey | Credential::Operator => Err(Error::Forbidden),
        }
    }
}

#[cfg(test)]
#[path = "principal_tests.rs"]
mod tests;
