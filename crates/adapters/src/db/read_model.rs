//! The request path's hot reads, a user with its session (every bearer check), an API key with
//! its owner (every API-key check) and a user by id, answered on held SQLite connections
//! ([`SqliteReaders`]) by a decorator of the sea-orm repositories; every other call, and every
//! read the held connections decline, goes to the repository inside.
//!
//! The methods are written out in the shape `async_trait` gives the ports, so that a
//! delegation hands the inner repository's future through as it is: the decorator adds no
//! allocation and no lock to any call, and on PostgreSQL (no held connections) every call is
//! the inner repository's own.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use time::OffsetDateTime;
use uuid::Uuid;
use warden_domain::Error;
use warden_domain::api_key::ApiKey;
use warden_domain::audit::AuditEvent;
use warden_domain::import::{ImportedUser, OnConflict, Placement};
use warden_domain::ports::{ApiKeyRepository, UserChange, UserRepository};
use warden_domain::session::SessionState;
use warden_domain::user::{Email, PasswordHash, User};

use super::readers::SqliteReaders;
use super::{api_keys, users};

/// A port method's future, as `async_trait` boxes it.
type Pending<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// A repository whose hot read runs on held SQLite connections first, falling back to the
/// repository inside on anything unusual; everything else is the inner repository's.
/// Implements [`UserRepository`] around one and [`ApiKeyRepository`] around the other.
#[derive(Clone, Debug)]
pub struct SqliteReadModel<R> {
    inner: R,
    readers: Option<Arc<SqliteReaders>>,
}

impl<R> SqliteReadModel<R> {
    /// `inner`, with its hot read on `readers` when there are any (a SQLite file); with
    /// `None` (PostgreSQL, an in-memory database) it is `inner` and nothing more.
    pub fn new(inner: R, readers: Option<Arc<SqliteReaders>>) -> Self {
        Self { inner, readers }
    }

    /// The repository inside.
    pub fn inner(&self) -> &R {
        &self.inner
    }
}

impl<R: UserRepository> UserRepository for SqliteReadModel<R> {
    fn insert<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        user: &'life1 User,
        audit: &'life2 AuditEvent,
    ) -> Pending<'async_trait, ()>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        self.inner.insert(user, audit)
    }

    /// Held first; the pool when the held connections decline.
    fn find_by_id<'life0, 'async_trait>(
        &'life0 self,
        id: Uuid,
    ) -> Pending<'async_trait, Option<User>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        let Some(readers) = &self.readers else {
            return self.inner.find_by_id(id);
        };
        Box::pin(async move {
            match readers.user_by_id(id) {
                Ok(row) => row.map(users::to_domain).transpose(),
                Err(_declined) => self.inner.find_by_id(id).await,
            }
        })
    }

    /// Held first (the bearer check); the pool when the held connections decline.
    fn find_in_session<'life0, 'async_trait>(
        &'life0 self,
        id: Uuid,
        session_id: Uuid,
    ) -> Pending<'async_trait, Option<(User, Option<SessionState>)>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        let Some(readers) = &self.readers else {
            return self.inner.find_in_session(id, session_id);
        };
        Box::pin(async move {
            match readers.user_in_session(id, session_id) {
                Ok(Some((row, session))) => Ok(Some((users::to_domain(row)?, session))),
                Ok(None) => Ok(None),
                Err(_declined) => self.inner.find_in_session(id, session_id).await,
            }
        })
    }

    fn find_by_email<'life0, 'life1, 'async_trait>(
        &'life0 self,
        email: &'life1 Email,
    ) -> Pending<'async_trait, Option<User>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        self.inner.find_by_email(email)
    }

    fn list<'life0, 'async_trait>(
        &'life0 self,
        after: Option<Uuid>,
        limit: u64,
    ) -> Pending<'async_trait, Vec<User>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        self.inner.list(after, limit)
    }

    fn update_password_hash<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        id: Uuid,
        old: &'life1 PasswordHash,
        new: &'life2 PasswordHash,
        audit: Option<AuditEvent>,
    ) -> Pending<'async_trait, bool>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        self.inner.update_password_hash(id, old, new, audit)
    }

    fn update<'life0, 'life1, 'async_trait>(
        &'life0 self,
        id: Uuid,
        change: UserChange,
        audit: &'life1 AuditEvent,
    ) -> Pending<'async_trait, User>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        self.inner.update(id, change, audit)
    }

    fn delete<'life0, 'life1, 'async_trait>(
        &'life0 self,
        id: Uuid,
        audit: &'life1 AuditEvent,
    ) -> Pending<'async_trait, ()>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        self.inner.delete(id, audit)
    }

    fn import<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        users: &'life1 [ImportedUser],
        on_conflict: OnConflict,
        dry_run: bool,
        audit: &'life2 AuditEvent,
    ) -> Pending<'async_trait, Vec<Placement>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        self.inner.import(users, on_conflict, dry_run, audit)
    }
}

impl<R: ApiKeyRepository> ApiKeyRepository for SqliteReadModel<R> {
    fn insert<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        key: &'life1 ApiKey,
        audit: &'life2 AuditEvent,
    ) -> Pending<'async_trait, ()>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        self.inner.insert(key, audit)
    }

    /// Held first; the pool when the held connections decline.
    fn find_by_prefix<'life0, 'life1, 'async_trait>(
        &'life0 self,
        prefix: &'life1 str,
    ) -> Pending<'async_trait, Option<(ApiKey, User)>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        let Some(readers) = &self.readers else {
            return self.inner.find_by_prefix(prefix);
        };
        Box::pin(async move {
            match readers.api_key_by_prefix(prefix) {
                Ok(row) => row
                    .map(|(key, owner)| Ok((api_keys::to_domain(key), users::to_domain(owner)?)))
                    .transpose(),
                Err(_declined) => self.inner.find_by_prefix(prefix).await,
            }
        })
    }

    fn find_by_id<'life0, 'async_trait>(
        &'life0 self,
        id: Uuid,
    ) -> Pending<'async_trait, Option<ApiKey>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        self.inner.find_by_id(id)
    }

    fn list_for_user<'life0, 'async_trait>(
        &'life0 self,
        user_id: Uuid,
    ) -> Pending<'async_trait, Vec<ApiKey>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        self.inner.list_for_user(user_id)
    }

    fn revoke<'life0, 'life1, 'async_trait>(
        &'life0 self,
        id: Uuid,
        at: OffsetDateTime,
        audit: &'life1 AuditEvent,
    ) -> Pending<'async_trait, ()>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        self.inner.revoke(id, at, audit)
    }

    fn touch<'life0, 'async_trait>(
        &'life0 self,
        id: Uuid,
        at: OffsetDateTime,
    ) -> Pending<'async_trait, ()>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        self.inner.touch(id, at)
    }
}
