//! `UserRepository` on sea-orm, with the last-admin rule enforced inside one transaction.

use async_trait::async_trait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, EntityTrait, FromQueryResult, Iterable, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, SqlErr, TransactionTrait,
};
use time::OffsetDateTime;
use uuid::Uuid;
use warden_domain::Error;
use warden_domain::audit::AuditEvent;
use warden_domain::import::{ImportedUser, OnConflict, Placement};
use warden_domain::ports::{UserChange, UserRepository};
use warden_domain::session::SessionState;
use warden_domain::user::{DisplayName, Email, PasswordHash, Role, User};

use super::entity::refresh_token;
use super::entity::user::{self, ActiveModel, Column, Entity};
use super::storage_error;

/// A user and the state of one of its sessions (the first row of a refresh family), as
/// [`in_session`] reads them.
#[derive(Debug, FromQueryResult)]
struct UserInSession {
    #[sea_orm(nested)]
    user: user::Model,
    session_revoked_at: Option<OffsetDateTime>,
    session_expires_at: Option<OffsetDateTime>,
}

/// The bearer check's one query: the user, and the session of that id if it is the user's.
fn in_session(id: Uuid, session_id: Uuid) -> SelectStatement {
    let s = Alias::new("s");
    let mut select = Query::select();
    for column in Column::iter() {
        select.column((Entity, column));
    }
    select
        .expr_as(
            Expr::col((s.clone(), refresh_token::Column::RevokedAt)),
            Alias::new("session_revoked_at"),
        )
        .expr_as(
            Expr::col((s.clone(), refresh_token::Column::ExpiresAt)),
            Alias::new("session_expires_at"),
        )
        .from(Entity)
        .join_as(
            JoinType::LeftJoin,
            refresh_token::Entity,
            s.clone(),
            Condition::all()
                .add(Expr::col((s.clone(), refresh_token::Column::Id)).eq(session_id))
                .add(
                    Expr::col((s.clone(), refresh_token::Column::UserId))
                        .equals((Entity, Column::Id)),
                )
                .add(Expr::col((s, refresh_token::Column::ParentId)).is_null()),
        )
        .and_where(Expr::col((Entity, Column::Id)).eq(id))
        .to_owned()
}

/// Users stored through sea-orm (SQLite or PostgreSQL).
#[derive(Clone, Debug)]
pub struct SeaOrmUserRepository {
    db: DatabaseConnection,
}

impl SeaOrmUserRepository {
    /// A repository on the pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Serialises changes that could remove an admin: on PostgreSQL by locking every enabled
    /// admin row (in id order, so two such transactions never deadlock) and then the target;
    /// on SQLite by taking the write lock at once with a no-op write.
    pub(super) async fn lock_for_admin_check(
        txn: &DatabaseTransaction,
        id: Uuid,
    ) -> Result<(), DbErr> {
        match txn.get_database_backend() {
            DatabaseBackend::Postgres => {
                Entity::find()
                    .select_only()
                    .column(Column::Id)
                    .filter(Column::Role.eq(Role::Admin.as_str()))
                    .filter(Column::Disabled.eq(false))
                    .order_by_asc(Column::Id)
                    .lock_exclusive()
                    .into_tuple::<Uuid>()
                    .all(txn)
                    .await?;
                Entity::find_by_id(id).lock_exclusive().one(txn).await?;
            }
            _ => {
                Entity::update_many()
                    .col_expr(Column::Id, Expr::col(Column::Id))
                    .filter(Column::Id.eq(id))
                    .exec(txn)
                    .await?;
            }
        }
        Ok(())
    }

    /// Opens a transaction serialised against other admin changes and reads the user in it.
    async fn begin_locked(&self, id: Uuid) -> Result<(DatabaseTransaction, user::Model), Error> {
        let txn = self.db.begin().await.map_err(storage_error)?;
        Self::lock_for_admin_check(&txn, id)
            .await
            .map_err(storage_error)?;
        let row = Entity::find_by_id(id)
            .one(&txn)
            .await
            .map_err(storage_error)?
            .ok_or(Error::NotFound)?;
        Ok((txn, row))
    }

    /// Fails with [`Error::LastAdmin`] if no enabled admin other than `id` exists.
    async fn ensure_another_admin(txn: &DatabaseTransaction, id: Uuid) -> Result<(), Error> {
        let others = Entity::find()
            .filter(Column::Role.eq(Role::Admin.as_str()))
            .filter(Column::Disabled.eq(false))
            .filter(Column::Id.ne(id))
            .count(txn)
            .await
            .map_err(storage_error)?;
        if others == 0 {
            return Err(Error::LastAdmin);
        }
        Ok(())
    }
}

pub(super) fn is_enabled_admin(m: &user::Model) -> bool {
    m.role == Role::Admin.as_str() && !m.disabled
}

/// A stored row as a domain user.
pub(super) fn to_domain(m: user::Model) -> Result<User, Error> {
    let role = m.role.parse::<Role>().map_err(Error::internal)?;
    let display_name = m.display_name.map(DisplayName::from_stored);
    Ok(User {
        id: m.id,
        email: Email::from_stored(m.email),
        display_name,
        role,
        disabled: m.disabled,
        password_hash: PasswordHash::new(m.password_hash),
        session_version: m.session_version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        email_verified_at: m.email_verified_at,
        mfa_enabled_at: m.mfa_enabled_at,
    })
}

/// The row of a new account, with its email's skeleton (computed once by the caller).
pub(super) fn new_row(u: &User, skeleton: String) -> ActiveModel {
    ActiveModel {
        id: Set(u.id),
        email: Set(u.email.as_str().to_owned()),
        email_normalized: Set(u.email.normalized().to_owned()),
        email_skeleton: Set(Some(skeleton)),
        display_name: Set(u.display_name.as_ref().map(|d| d.as_str().to_owned())),
        role: Set(u.role.as_str().to_owned()),
        disabled: Set(u.disabled),
        password_hash: Set(u.password_hash.expose().to_owned()),
        session_version: Set(u.session_version),
        created_at: Set(u.created_at),
        updated_at: Set(u.updated_at),
        email_verified_at: Set(u.email_verified_at),
        mfa_enabled_at: Set(u.mfa_enabled_at),
    }
}

/// A unique violation of the email or of its skeleton (`ux_users_email`,
/// `ux_users_email_skeleton`; SQLite names the column) is a taken address: a look-alike of an
/// existing account gets the same answer as the account's own address.
pub(super) fn insert_error(e: DbErr) -> Error {
    match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(m))
            if m.contains("email_normalized")
                || m.contains("email_skeleton")
                || m.contains("ux_users_email") =>
        {
            Error::EmailTaken
        }
        _ => storage_error(e),
    }
}

#[async_trait]
impl UserRepository for SeaOrmUserRepository {
    async fn insert(&self, u: &User, audit: &AuditEvent) -> Result<(), Error> {
        let txn = self.db.begin().await.map_err(storage_error)?;
        Entity::insert(new_row(u, u.email.skeleton()))
            .exec_without_returning(&txn)
            .await
            .map_err(insert_error)?;
        super::audit::write(&txn, audit).await?;
        txn.commit().await.map_err(storage_error)
    }

    async fn find_by_id(&self, id: Uuid) -> Result<Option<User>, Error> {
        Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(storage_error)?
            .map(to_domain)
            .transpose()
    }

    async fn find_in_session(
        &self,
        id: Uuid,
        session_id: Uuid,
    ) -> Result<Option<(User, Option<SessionState>)>, Error> {
        let backend = self.db.get_database_backend();
        let Some(row) =
            UserInSession::find_by_statement(backend.build(&in_session(id, session_id)))
                .one(&self.db)
                .await
                .map_err(storage_error)?
        else {
            return Ok(None);
        };
        let session = row.session_expires_at.map(|expires_at| SessionState {
            ended: row.session_revoked_at.is_some(),
            expires_at,
        });
        Ok(Some((to_domain(row.user)?, session)))
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, Error> {
        Entity::find()
            .filter(Column::EmailNormalized.eq(email.normalized()))
            .one(&self.db)
            .await
            .map_err(storage_error)?
            .map(to_domain)
            .transpose()
    }

    async fn list(&self, after: Option<Uuid>, limit: u64) -> Result<Vec<User>, Error> {
        let mut q = Entity::find().order_by_asc(Column::Id).limit(limit);
        if let Some(after) = after {
            q = q.filter(Column::Id.gt(after));
        }
        q.all(&self.db)
            .await
            .map_err(storage_error)?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    async fn update_password_hash(
        &self,
        id: Uuid,
        old: &PasswordHash,
        new: &PasswordHash,
        audit: Option<AuditEvent>,
    ) -> Result<bool, Error> {
        let txn = self.db.begin().await.map_err(storage_error)?;
        let done = Entity::update_many()
            .col_expr(Column::PasswordHash, Expr::value(new.expose().to_owned()))
            .filter(Column::Id.eq(id))
            .filter(Column::PasswordHash.eq(old.expose()))
            .exec(&txn)
            .await
            .map_err(storage_error)?
            .rows_affected
            == 1;
        if let (true, Some(audit)) = (done, &audit) {
            super::audit::write(&txn, audit).await?;
        }
        txn.commit().await.map_err(storage_error)?;
        Ok(done)
    }

    async fn update(
        &self,
        id: Uuid,
        change: UserChange,
        audit: &AuditEvent,
    ) -> Result<User, Error> {
        let (txn, row) = self.begin_locked(id).await?;
        let was_enabled_admin = is_enabled_admin(&row);
        let mut am: ActiveModel = row.clone().into();
        if let Some(role) = change.role {
            am.role = Set(role.as_str().to_owned());
        }
        if let Some(disabled) = change.disabled {
            am.disabled = Set(disabled);
        }
        if let Some(name) = &change.display_name {
            am.display_name = Set(name.as_ref().map(|n| n.as_str().to_owned()));
        }
        if let Some(hash) = &change.password_hash {
            am.password_hash = Set(hash.expose().to_owned());
            // Any password change makes an outstanding reset link, and an address change asked
            // for under the old password, invalid.
            super::account_tokens::drop_pending_links(&txn, id).await?;
        }
        if let Some(at) = change.email_verified_at {
            am.email_verified_at = Set(Some(at));
        }
        if change.end_sessions {
            am.session_version = Set(row.session_version + 1);
        }
        if let Some(at) = change.at {
            am.updated_at = Set(at);
        }
        let stays_enabled_admin = change
            .role
            .map_or(row.role == Role::Admin.as_str(), |r| r == Role::Admin)
            && !change.disabled.unwrap_or(row.disabled);
        if was_enabled_admin && !stays_enabled_admin {
            Self::ensure_another_admin(&txn, id).await?;
        }
        let updated = am.update(&txn).await.map_err(storage_error)?;
        super::audit::write(&txn, audit).await?;
        txn.commit().await.map_err(storage_error)?;
        to_domain(updated)
    }

    async fn import(
        &self,
        users: &[ImportedUser],
        on_conflict: OnConflict,
        dry_run: bool,
        audit: &AuditEvent,
    ) -> Result<Vec<Placement>, Error> {
        super::user_import::import(&self.db, users, on_conflict, dry_run, audit).await
    }

    async fn delete(&self, id: Uuid, audit: &AuditEvent) -> Result<(), Error> {
        let (txn, row) = self.begin_locked(id).await?;
        if is_enabled_admin(&row) {
            Self::ensure_another_admin(&txn, id).await?;
        }
        Entity::delete_by_id(id)
            .exec(&txn)
            .await
            .map_err(storage_error)?;
        super::audit::write(&txn, audit).await?;
        txn.commit().await.map_err(storage_error)
    }
}
