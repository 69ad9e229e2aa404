//! The administration use cases: users managed by an admin, or by the operator (the CLI).

use std::sync::Arc;

use uuid::Uuid;

use crate::Error;
use crate::account::{NewAccount, new_user};
use crate::audit::{self, AuditEvent, AuditKind, AuditQuery};
use crate::auth::Ports;
use crate::import::{Import, ImportOptions};
use crate::password::PasswordPolicy;
use crate::ports::UserChange;
use crate::principal::{Permission, Principal};
use crate::user::{DisplayName, Email, Role, User};

/// A change asked of an administrator; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct UserUpdate {
    /// New role.
    pub role: Option<Role>,
    /// Disable or enable.
    pub disabled: Option<bool>,
    /// New display name; `Some(None)` clears it.
    pub display_name: Option<Option<String>>,
}

/// One page of users.
#[derive(Clone, Debug)]
pub struct Page {
    /// The users, ordered by id.
    pub items: Vec<User>,
    /// Where the next page starts, if there is one.
    pub next_cursor: Option<Uuid>,
}

/// The administration use cases. Each takes its caller and refuses, with [`Error::Forbidden`]
/// and before anything else, any caller whose role is not `admin` (the operator's is), by
/// bearer token or API key alike.
#[derive(Clone)]
pub struct AdminService {
    ports: Ports,
    password: Arc<PasswordPolicy>,
}

impl std::fmt::Debug for AdminService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminService").finish_non_exhaustive()
    }
}

/// One page of the audit trail, newest first.
#[derive(Clone, Debug)]
pub struct AuditPage {
    /// The events.
    pub items: Vec<AuditEvent>,
    /// Pass as the query's `before` for the next (older) page, if there is one.
    pub next_cursor: Option<Uuid>,
}

/// The most users one page may hold.
pub const MAX_PAGE: u64 = 200;

impl AdminService {
    /// Builds the service on these adapters; new users' passwords must satisfy `password`.
    pub fn new(ports: Ports, password: PasswordPolicy) -> Self {
        Self {
            ports,
            password: Arc::new(password),
        }
    }

    /// Creates an account with any role.
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::Invalid`] with every reason, [`Error::EmailTaken`];
    /// storage failures.
    pub async fn create_user(
        &self,
        caller: &Principal,
        account: NewAccount,
        role: Role,
    ) -> Result<User, Error> {
        caller.authorize(Permission::ManageUsers)?;
        let audit = self
            .ports
            .event(AuditKind::UserCreated)
            .by(caller)
            .detail("role", role.as_str());
        new_user(&self.ports, &self.password, account, role, audit).await
    }

    /// A page of users after the cursor.
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::Invalid`] for a limit outside 1 to 200; storage failures.
    pub async fn list(
        &self,
        caller: &Principal,
        after: Option<Uuid>,
        limit: u64,
    ) -> Result<Page, Error> {
        caller.authorize(Permission::ManageUsers)?;
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Error::Invalid(vec![format!(
                "limit must be between 1 and {MAX_PAGE}"
            )]));
        }
        // One more than asked tells whether a next page exists.
        let mut items = self.ports.users.list(after, limit + 1).await?;
        let next_cursor = if items.len() as u64 > limit {
            items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            items.last().map(|u| u.id)
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Every user, page by page (for the CLI).
    ///
    /// # Errors
    /// [`Error::Forbidden`]; storage failures.
    pub async fn list_all(&self, caller: &Principal) -> Result<Vec<User>, Error> {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = self.list(caller, after, MAX_PAGE).await?;
            all.extend(page.items);
            match page.next_cursor {
                Some(c) => after = Some(c),
                None => return Ok(all),
            }
        }
    }

    /// Starts an import of users with the hashes they have ([`Import`]).
    ///
    /// # Errors
    /// [`Error::Forbidden`].
    pub fn import(&self, caller: &Principal, options: ImportOptions) -> Result<Import, Error> {
        Import::start(caller, &self.ports, options)
    }

    /// One user by id.
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::NotFound`]; storage failures.
    pub async fn get(&self, caller: &Principal, id: Uuid) -> Result<User, Error> {
        caller.authorize(Permission::ManageUsers)?;
        self.find(id).await
    }

    /// One user by id, for a caller already authorized.
    async fn find(&self, id: Uuid) -> Result<User, Error> {
        self.ports
            .users
            .find_by_id(id)
            .await?
            .ok_or(Error::NotFound)
    }

    /// One user by email.
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::Invalid`] for a malformed address, [`Error::NotFound`];
    /// storage failures.
    pub async fn get_by_email(&self, caller: &Principal, email: &str) -> Result<User, Error> {
        caller.authorize(Permission::ManageUsers)?;
        let email = Email::parse(email).map_err(|r| Error::Invalid(vec![r.to_string()]))?;
        self.ports
            .users
            .find_by_email(&email)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Changes role, enabled state or display name. Disabling ends every session at once.
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::Invalid`], [`Error::NotFound`], [`Error::LastAdmin`];
    /// storage failures.
    pub async fn update(
        &self,
        caller: &Principal,
        id: Uuid,
        update: UserUpdate,
    ) -> Result<User, Error> {
        caller.authorize(Permission::ManageUsers)?;
        let display_name = match update.display_name {
            Some(Some(raw)) => Some(Some(
                DisplayName::parse(&raw).map_err(|r| Error::Invalid(vec![r.to_string()]))?,
            )),
            Some(None) => Some(None),
            None => None,
        };
        if update.role.is_none() && update.disabled.is_none() && display_name.is_none() {
            return self.find(id).await;
        }
        // The names of the fields changed, never their values.
        let fields: Vec<&str> = [
            ("role", update.role.is_some()),
            ("disabled", update.disabled.is_some()),
            ("display_name", display_name.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, changed)| changed.then_some(name))
        .collect();
        let audit = self
            .ports
            .event(AuditKind::UserUpdated)
            .by(caller)
            .about(id)
            .detail("fields", fields);
        let change = UserChange {
            role: update.role,
            disabled: update.disabled,
            display_name,
            password_hash: None,
            email_verified_at: None,
            end_sessions: update.disabled == Some(true),
            at: Some(audit.at),
        };
        self.ports.users.update(id, change, &audit).await
    }

    /// Clears every lockout of a user: per-IP and account-wide counts and locks.
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::NotFound`]; storage failures.
    pub async fn unlock(&self, caller: &Principal, id: Uuid) -> Result<(), Error> {
        caller.authorize(Permission::ManageUsers)?;
        self.find(id).await?;
        let audit = self
            .ports
            .event(AuditKind::UserUnlocked)
            .by(caller)
            .about(id);
        self.ports.lockouts.clear_all(id, &audit).await
    }

    /// Removes a user's second factor and recovery codes (a user who lost its device and its
    /// codes): its logins need only the password again. Idempotent: a user without a factor is
    /// left as it is, and nothing is recorded. An admin may not reset its own (that is
    /// [`crate::mfa::MfaService::disable`], with its password and a code).
    ///
    /// # Errors
    /// [`Error::Forbidden`] for a caller who may not manage users, or about itself;
    /// [`Error::NotFound`]; storage failures.
    pub async fn reset_mfa(&self, caller: &Principal, id: Uuid) -> Result<(), Error> {
        caller.authorize(Permission::ManageUsers)?;
        // One's own factor goes only as its owner's does: with the password and a code.
        if caller.user().is_some_and(|u| u.id == id) {
            return Err(Error::Forbidden);
        }
        self.find(id).await?;
        let by = if caller.credential() == crate::principal::Credential::Operator {
            "operator"
        } else {
            "admin"
        };
        let audit = self
            .ports
            .event(AuditKind::MfaDisabled)
            .by(caller)
            .about(id)
            .detail("by", by);
        self.ports.mfa.remove(id, &audit).await.map(|_| ())
    }

    /// Deletes a user.
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::NotFound`], [`Error::LastAdmin`]; storage failures.
    pub async fn delete(&self, caller: &Principal, id: Uuid) -> Result<(), Error> {
        caller.authorize(Permission::ManageUsers)?;
        let audit = self
            .ports
            .event(AuditKind::UserDeleted)
            .by(caller)
            .about(id);
        self.ports.users.delete(id, &audit).await
    }

    /// A page of the audit trail, newest first, as the query selects.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for a caller who may not manage users; [`Error::Invalid`] for a
    /// limit outside 1 to 200; storage failures. A range that ends before it starts selects
    /// nothing.
    pub async fn audit_trail(
        &self,
        caller: &Principal,
        query: &AuditQuery,
    ) -> Result<AuditPage, Error> {
        caller.authorize(Permission::ManageUsers)?;
        if !(1..=audit::MAX_PAGE).contains(&query.limit) {
            return Err(Error::Invalid(vec![format!(
                "limit must be between 1 and {}",
                audit::MAX_PAGE
            )]));
        }
        // One more than asked tells whether a next page exists.
        let asked = query.limit;
        let query = AuditQuery {
            limit: asked + 1,
            ..query.clone()
        };
        let mut items = self.ports.audit.list(&query).await?;
        let next_cursor = if items.len() as u64 > asked {
            items.truncate(usize::try_from(asked).unwrap_or(usize::MAX));
            items.last().map(|e| e.id)
        } else {
            None
        };
        Ok(AuditPage { items, next_cursor })
    }
}

#[cfg(test)]
#[path = "admin_tests.rs"]
mod tests;
