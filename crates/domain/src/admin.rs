//! Who may do what, and the administration use cases (users by an admin or the CLI).

use std::sync::Arc;

use uuid::Uuid;

use crate::Error;
use crate::ports::{Clock, LockoutRepository, UserChange, UserRepository};
use crate::user::{DisplayName, Email, Role, User};

/// Something a caller may be allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// List, create, change, unlock and delete users.
    ManageUsers,
    /// Introspect tokens (RFC 7662).
    IntrospectTokens,
}

impl Role {
    /// Whether this role grants the permission.
    pub fn allows(self, permission: Permission) -> bool {
        match permission {
            Permission::ManageUsers => self == Role::Admin,
            Permission::IntrospectTokens => matches!(self, Role::Admin | Role::Service),
        }
    }
}

/// Checks that a caller holds a permission.
///
/// # Errors
/// [`Error::Forbidden`] when it does not.
pub fn authorize(caller: &User, permission: Permission) -> Result<(), Error> {
    if caller.role.allows(permission) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

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

/// The administration use cases. The caller's permission is checked by [`authorize`] at the
/// edge that knows the caller; the CLI runs as the operator.
#[derive(Clone)]
pub struct AdminService {
    users: Arc<dyn UserRepository>,
    clock: Arc<dyn Clock>,
    lockouts: Arc<dyn LockoutRepository>,
}

impl std::fmt::Debug for AdminService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminService").finish_non_exhaustive()
    }
}

/// The most users one page may hold.
pub const MAX_PAGE: u64 = 200;

impl AdminService {
    /// Builds the service.
    pub fn new(
        users: Arc<dyn UserRepository>,
        clock: Arc<dyn Clock>,
        lockouts: Arc<dyn LockoutRepository>,
    ) -> Self {
        Self {
            users,
            clock,
            lockouts,
        }
    }

    /// A page of users after the cursor.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a limit outside 1 to 200; storage failures.
    pub async fn list(&self, after: Option<Uuid>, limit: u64) -> Result<Page, Error> {
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Error::Invalid(vec![format!(
                "limit must be between 1 and {MAX_PAGE}"
            )]));
        }
        // One more than asked tells whether a next page exists.
        let mut items = self.users.list(after, limit + 1).await?;
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
    /// Storage failures.
    pub async fn list_all(&self) -> Result<Vec<User>, Error> {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = self.list(after, MAX_PAGE).await?;
            all.extend(page.items);
            match page.next_cursor {
                Some(c) => after = Some(c),
                None => return Ok(all),
            }
        }
    }

    /// One user by id.
    ///
    /// # Errors
    /// [`Error::NotFound`]; storage failures.
    pub async fn get(&self, id: Uuid) -> Result<User, Error> {
        self.users.find_by_id(id).await?.ok_or(Error::NotFound)
    }

    /// One user by email.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a malformed address, [`Error::NotFound`]; storage failures.
    pub async fn get_by_email(&self, email: &str) -> Result<User, Error> {
        let email = Email::parse(email).map_err(|r| Error::Invalid(vec![r.to_string()]))?;
        self.users
            .find_by_email(&email)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Changes role, enabled state or display name. Disabling ends every session at once.
    ///
    /// # Errors
    /// [`Error::Invalid`], [`Error::NotFound`], [`Error::LastAdmin`]; storage failures.
    pub async fn update(&self, id: Uuid, update: UserUpdate) -> Result<User, Error> {
        let display_name = match update.display_name {
            Some(Some(raw)) => Some(Some(
                DisplayName::parse(&raw).map_err(|r| Error::Invalid(vec![r.to_string()]))?,
            )),
            Some(None) => Some(None),
            None => None,
        };
        if update.role.is_none() && update.disabled.is_none() && display_name.is_none() {
            return self.get(id).await;
        }
        let change = UserChange {
            role: update.role,
            disabled: update.disabled,
            display_name,
            password_hash: None,
            end_sessions: update.disabled == Some(true),
            at: Some(self.clock.now()),
        };
        self.users.update(id, change).await
    }

    /// Clears every lockout of a user: per-IP and account-wide counts and locks.
    ///
    /// # Errors
    /// [`Error::NotFound`]; storage failures.
    pub async fn unlock(&self, id: Uuid) -> Result<(), Error> {
        self.get(id).await?;
        self.lockouts.clear_all(id).await
    }

    /// Deletes a user.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::LastAdmin`]; storage failures.
    pub async fn delete(&self, id: Uuid) -> Result<(), Error> {
        self.users.delete(id).await
    }
}

#[cfg(test)]
mod tests {
    use mockall::predicate::eq;
    use time::macros::datetime;

    use super::*;
    use crate::ports::{MockClock, MockLockoutRepository, MockUserRepository};
    use crate::user::PasswordHash;

    fn user(role: Role) -> User {
        let t = datetime!(2026-01-01 00:00 UTC);
        User {
            id: Uuid::now_v7(),
            email: Email::parse("a@example.com").unwrap(),
            display_name: None,
            role,
            disabled: false,
            password_hash: PasswordHash::new("h".into()),
            session_version: 0,
            created_at: t,
            updated_at: t,
        }
    }

    fn service(users: MockUserRepository) -> AdminService {
        service_with_lockouts(users, MockLockoutRepository::new())
    }

    fn service_with_lockouts(
        users: MockUserRepository,
        lockouts: MockLockoutRepository,
    ) -> AdminService {
        let mut clock = MockClock::new();
        clock
            .expect_now()
            .return_const(datetime!(2026-01-01 00:00 UTC));
        AdminService::new(Arc::new(users), Arc::new(clock), Arc::new(lockouts))
    }

    #[test]
    fn only_admins_manage_users_and_admins_or_services_introspect() {
        assert!(authorize(&user(Role::Admin), Permission::ManageUsers).is_ok());
        for r in [Role::Service, Role::User] {
            assert!(matches!(
                authorize(&user(r), Permission::ManageUsers),
                Err(Error::Forbidden)
            ));
        }
        for r in [Role::Admin, Role::Service] {
            assert!(authorize(&user(r), Permission::IntrospectTokens).is_ok());
        }
        assert!(matches!(
            authorize(&user(Role::User), Permission::IntrospectTokens),
            Err(Error::Forbidden)
        ));
    }

    #[tokio::test]
    async fn list_asks_one_more_to_find_the_next_cursor() {
        let people: Vec<User> = (0..3).map(|_| user(Role::User)).collect();
        let second = people[1].id;
        let mut repo = MockUserRepository::new();
        repo.expect_list()
            .with(eq(None), eq(3))
            .returning(move |_, _| Ok(people.clone()));
        let page = service(repo).list(None, 2).await.unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.next_cursor, Some(second));
    }

    #[tokio::test]
    async fn a_short_page_has_no_next_cursor_and_limits_are_bounded() {
        let mut repo = MockUserRepository::new();
        repo.expect_list()
            .returning(|_, _| Ok(vec![user(Role::User)]));
        let svc = service(repo);
        assert!(svc.list(None, 50).await.unwrap().next_cursor.is_none());
        assert!(matches!(svc.list(None, 0).await, Err(Error::Invalid(_))));
        assert!(matches!(svc.list(None, 201).await, Err(Error::Invalid(_))));
    }

    #[tokio::test]
    async fn disabling_ends_sessions_and_role_changes_do_not() {
        let target = user(Role::User);
        let id = target.id;
        let mut repo = MockUserRepository::new();
        let t = target.clone();
        repo.expect_update()
            .withf(move |uid, c| *uid == id && c.disabled == Some(true) && c.end_sessions)
            .times(1)
            .returning(move |_, _| Ok(t.clone()));
        let t = target.clone();
        repo.expect_update()
            .withf(move |uid, c| *uid == id && c.role == Some(Role::Service) && !c.end_sessions)
            .times(1)
            .returning(move |_, _| Ok(t.clone()));
        let svc = service(repo);
        svc.update(
            id,
            UserUpdate {
                disabled: Some(true),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
        svc.update(
            id,
            UserUpdate {
                role: Some(Role::Service),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn an_empty_update_writes_nothing() {
        let target = user(Role::User);
        let id = target.id;
        let mut repo = MockUserRepository::new();
        repo.expect_find_by_id()
            .returning(move |_| Ok(Some(target.clone())));
        repo.expect_update().never();
        assert_eq!(
            service(repo)
                .update(id, UserUpdate::default())
                .await
                .unwrap()
                .id,
            id
        );
    }

    #[tokio::test]
    async fn the_last_admin_refusal_of_storage_reaches_the_caller() {
        let mut repo = MockUserRepository::new();
        repo.expect_update().returning(|_, _| Err(Error::LastAdmin));
        repo.expect_delete().returning(|_| Err(Error::LastAdmin));
        let svc = service(repo);
        let id = Uuid::now_v7();
        let demote = svc
            .update(
                id,
                UserUpdate {
                    role: Some(Role::User),
                    ..UserUpdate::default()
                },
            )
            .await;
        assert!(matches!(demote, Err(Error::LastAdmin)));
        assert!(matches!(svc.delete(id).await, Err(Error::LastAdmin)));
    }

    #[tokio::test]
    async fn a_bad_display_name_is_invalid_before_storage() {
        let mut repo = MockUserRepository::new();
        repo.expect_update().never();
        let r = service(repo)
            .update(
                Uuid::now_v7(),
                UserUpdate {
                    display_name: Some(Some(String::new())),
                    ..UserUpdate::default()
                },
            )
            .await;
        assert!(matches!(r, Err(Error::Invalid(_))));
    }

    #[tokio::test]
    async fn unlock_clears_every_scope_of_an_existing_user_only() {
        let target = user(Role::User);
        let id = target.id;
        let mut repo = MockUserRepository::new();
        repo.expect_find_by_id()
            .with(eq(id))
            .returning(move |_| Ok(Some(target.clone())));
        repo.expect_find_by_id().returning(|_| Ok(None));
        let mut lockouts = MockLockoutRepository::new();
        lockouts
            .expect_clear_all()
            .with(eq(id))
            .times(1)
            .returning(|_| Ok(()));
        let svc = service_with_lockouts(repo, lockouts);
        svc.unlock(id).await.unwrap();
        assert!(matches!(
            svc.unlock(Uuid::now_v7()).await,
            Err(Error::NotFound)
        ));
    }
}
