//! `RefreshTokenRepository` on sea-orm. Rotation is one transaction whose main statement is
//! a conditional update of the parent: whichever request updates the row wins, and every
//! other waits for it (a row lock on PostgreSQL, the write lock on SQLite) and then finds
//! the parent already rotated.
//!
//! Locks are taken in one order everywhere, the user's row before its tokens' rows: a delete
//! of the user locks the user and then (cascading) its tokens, so a rotation on PostgreSQL
//! first takes a key-share lock on the owner, which it would otherwise take only when the
//! child's foreign key is checked, after holding the parent's row lock. SQLite has one write
//! lock, taken by the first write. A token whose user is gone is an invalid grant, never a
//! foreign-key error.

use async_trait::async_trait;
use sea_orm::sea_query::LockType;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, TransactionTrait,
};
use time::OffsetDateTime;
use uuid::Uuid;
use warden_domain::Error;
use warden_domain::audit::AuditEvent;
use warden_domain::origin::Origin;
use warden_domain::ports::RefreshTokenRepository;
use warden_domain::refresh::RefreshToken;
use warden_domain::session::Session;

use super::entity::refresh_token::{ActiveModel, Column, Entity, Model};
use super::entity::user;
use super::{owner_gone_or_storage_error, purge, storage_error};

/// Refresh tokens stored through sea-orm.
#[derive(Clone, Debug)]
pub struct SeaOrmRefreshTokenRepository {
    db: DatabaseConnection,
}

impl SeaOrmRefreshTokenRepository {
    /// A repository on the pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// A transaction that has locked `user_id` first (on PostgreSQL), in the order a delete of
    /// the user takes it; `None`, with nothing done, when the user is gone.
    async fn begin_as_owner(&self, user_id: Uuid) -> Result<Option<DatabaseTransaction>, Error> {
        let txn = self.db.begin().await.map_err(storage_error)?;
        if lock_owner(&txn, user_id).await.map_err(storage_error)? {
            Ok(Some(txn))
        } else {
            txn.rollback().await.map_err(storage_error)?;
            Ok(None)
        }
    }
}

/// On PostgreSQL, locks the owner's row against a delete (key share: what the child's foreign
/// key check would take) before any token row is locked; `false` when the owner is gone.
async fn lock_owner(txn: &DatabaseTransaction, user_id: Uuid) -> Result<bool, DbErr> {
    if txn.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(true);
    }
    let owner = user::Entity::find_by_id(user_id)
        .select_only()
        .column(user::Column::Id)
        .lock(LockType::KeyShare)
        .into_tuple::<Uuid>()
        .one(txn)
        .await?;
    Ok(owner.is_some())
}

/// Marks every row of these families revoked at `at` (rows revoked already keep their time):
/// the first rows, then the rest, in the order a rotation locks them. Returns how many rows
/// changed.
async fn revoke_families(
    db: &impl ConnectionTrait,
    family_ids: &[Uuid],
    at: OffsetDateTime,
) -> Result<u64, Error> {
    if family_ids.is_empty() {
        return Ok(0);
    }
    let mut changed = 0;
    for rows in [
        Column::Id.is_in(family_ids.iter().copied()),
        Column::FamilyId.is_in(family_ids.iter().copied()),
    ] {
        changed += Entity::update_many()
            .col_expr(Column::RevokedAt, Expr::value(at))
            .filter(rows)
            .filter(Column::RevokedAt.is_null())
            .exec(db)
            .await
            .map_err(storage_error)?
            .rows_affected;
    }
    Ok(changed)
}

fn to_domain(m: Model) -> RefreshToken {
    RefreshToken {
        id: m.id,
        family_id: m.family_id,
        user_id: m.user_id,
        parent_id: m.parent_id,
        digest: m.digest,
        session_version: m.session_version,
        issued_at: m.issued_at,
        expires_at: m.expires_at,
        rotated_at: m.rotated_at,
        revoked_at: m.revoked_at,
        second_factor: m.second_factor,
        client_id: m.client_id,
    }
}

fn to_row(t: &RefreshToken) -> ActiveModel {
    ActiveModel {
        id: Set(t.id),
        family_id: Set(t.family_id),
        user_id: Set(t.user_id),
        parent_id: Set(t.parent_id),
        digest: Set(t.digest.clone()),
        session_version: Set(t.session_version),
        issued_at: Set(t.issued_at),
        expires_at: Set(t.expires_at),
        rotated_at: Set(t.rotated_at),
        revoked_at: Set(t.revoked_at),
        client_ip: Set(None),
        user_agent: Set(None),
        last_used_at: Set(None),
        second_factor: Set(t.second_factor),
        client_id: Set(t.client_id.clone()),
    }
}

fn to_session(m: Model) -> Session {
    Session {
        id: m.id,
        created_at: m.issued_at,
        last_used_at: m.last_used_at,
        expires_at: m.expires_at,
        client_ip: m.client_ip,
        user_agent: m.user_agent,
    }
}

/// The first rows of the user's families that are live at `now`: neither revoked nor expired,
/// and of the user's current session version.
fn live_sessions(user_id: Uuid, now: OffsetDateTime) -> Condition {
    let current_version = Query::select()
        .column(user::Column::SessionVersion)
        .from(user::Entity)
        .and_where(Expr::col((user::Entity, user::Column::Id)).eq(user_id))
        .to_owned();
    Condition::all()
        .add(Column::UserId.eq(user_id))
        .add(Column::ParentId.is_null())
        .add(Column::RevokedAt.is_null())
        .add(Column::ExpiresAt.gt(now))
        .add(Column::SessionVersion.in_subquery(current_version))
}

#[async_trait]
impl RefreshTokenRepository for SeaOrmRefreshTokenRepository {
    async fn insert(
        &self,
        token: &RefreshToken,
        origin: &Origin,
        audit: &AuditEvent,
    ) -> Result<(), Error> {
        // The first token of a login: a user deleted since the password was checked has no
        // valid credentials.
        let row = ActiveModel {
            client_ip: Set(Some(origin.ip.to_string())),
            user_agent: Set(origin.user_agent.clone()),
            ..to_row(token)
        };
        let txn = self.db.begin().await.map_err(storage_error)?;
        Entity::insert(row)
            .exec_without_returning(&txn)
            .await
            .map_err(|e| owner_gone_or_storage_error(e, Error::InvalidCredentials))?;
        super::audit::write(&txn, audit).await?;
        txn.commit().await.map_err(storage_error)
    }

    async fn find_by_digest(&self, digest: &str) -> Result<Option<RefreshToken>, Error> {
        Ok(Entity::find()
            .filter(Column::Digest.eq(digest))
            .one(&self.db)
            .await
            .map_err(storage_error)?
            .map(to_domain))
    }

    async fn find_child(&self, parent_id: Uuid) -> Result<Option<RefreshToken>, Error> {
        Ok(Entity::find()
            .filter(Column::ParentId.eq(parent_id))
            .one(&self.db)
            .await
            .map_err(storage_error)?
            .map(to_domain))
    }

    async fn rotate(
        &self,
        parent_id: Uuid,
        at: OffsetDateTime,
        child: &RefreshToken,
    ) -> Result<bool, Error> {
        let gone = || Error::InvalidRefreshToken;
        let Some(txn) = self.begin_as_owner(child.user_id).await? else {
            return Err(gone());
        };
        // The session (the family's first row) is used now: locked before the parent, in the
        // order ending a session takes them (first row, then the rest of the family).
        Entity::update_many()
            .col_expr(Column::LastUsedAt, Expr::value(at))
            .filter(Column::Id.eq(child.family_id))
            .exec(&txn)
            .await
            .map_err(storage_error)?;
        let claimed = Entity::update_many()
            .col_expr(Column::RotatedAt, Expr::value(at))
            .filter(Column::Id.eq(parent_id))
            .filter(Column::RotatedAt.is_null())
            .filter(Column::RevokedAt.is_null())
            .exec(&txn)
            .await
            .map_err(storage_error)?
            .rows_affected;
        if claimed != 1 {
            // A parent that went with its user is no lost race (and no reuse to report).
            let parent_left = Entity::find_by_id(parent_id)
                .count(&txn)
                .await
                .map_err(storage_error)?;
            txn.rollback().await.map_err(storage_error)?;
            return if parent_left == 0 {
                Err(gone())
            } else {
                Ok(false)
            };
        }
        Entity::insert(to_row(child))
            .exec_without_returning(&txn)
            .await
            .map_err(|e| owner_gone_or_storage_error(e, gone()))?;
        txn.commit().await.map_err(storage_error)?;
        Ok(true)
    }

    async fn sessions(&self, user_id: Uuid, now: OffsetDateTime) -> Result<Vec<Session>, Error> {
        Ok(Entity::find()
            .filter(live_sessions(user_id, now))
            .order_by_asc(Column::Id)
            .all(&self.db)
            .await
            .map_err(storage_error)?
            .into_iter()
            .map(to_session)
            .collect())
    }

    async fn end_session(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, Error> {
        let Some(txn) = self.begin_as_owner(user_id).await? else {
            return Ok(false);
        };
        // Claim the session's first row; the rest of the family follows in the same
        // transaction, so two requests ending it cannot both see it live.
        let claimed = Entity::update_many()
            .col_expr(Column::RevokedAt, Expr::value(now))
            .filter(live_sessions(user_id, now))
            .filter(Column::Id.eq(session_id))
            .exec(&txn)
            .await
            .map_err(storage_error)?
            .rows_affected;
        if claimed == 1 {
            revoke_families(&txn, &[session_id], now).await?;
            super::audit::write(&txn, audit).await?;
        }
        txn.commit().await.map_err(storage_error)?;
        Ok(claimed == 1)
    }

    async fn end_sessions_except(
        &self,
        user_id: Uuid,
        keep: Option<Uuid>,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<u64, Error> {
        let mut roots = live_sessions(user_id, now);
        if let Some(keep) = keep {
            roots = roots.add(Column::Id.ne(keep));
        }
        let Some(txn) = self.begin_as_owner(user_id).await? else {
            return Ok(0);
        };
        // The sessions' first rows, then the rest of every family whose first row is revoked.
        let ended = Entity::update_many()
            .col_expr(Column::RevokedAt, Expr::value(now))
            .filter(roots)
            .exec(&txn)
            .await
            .map_err(storage_error)?
            .rows_affected;
        if ended > 0 {
            let revoked_roots = Query::select()
                .column(Column::Id)
                .from(Entity)
                .and_where(Column::UserId.eq(user_id))
                .and_where(Column::ParentId.is_null())
                .and_where(Column::RevokedAt.is_not_null())
                .to_owned();
            Entity::update_many()
                .col_expr(Column::RevokedAt, Expr::value(now))
                .filter(Column::UserId.eq(user_id))
                .filter(Column::RevokedAt.is_null())
                .filter(Column::FamilyId.in_subquery(revoked_roots))
                .exec(&txn)
                .await
                .map_err(storage_error)?;
            super::audit::write(&txn, audit).await?;
        }
        txn.commit().await.map_err(storage_error)?;
        Ok(ended)
    }

    async fn revoke_family(
        &self,
        user_id: Uuid,
        family_id: Uuid,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, Error> {
        // The owner first, as a rotation and a delete of the user take it.
        let Some(txn) = self.begin_as_owner(user_id).await? else {
            return Ok(false);
        };
        let revoked = revoke_families(&txn, &[family_id], at).await? > 0;
        if revoked {
            super::audit::write(&txn, audit).await?;
        }
        txn.commit().await.map_err(storage_error)?;
        Ok(revoked)
    }

    async fn purge(&self, now: OffsetDateTime) -> Result<u64, Error> {
        // Rows whose owner has since moved to another session version.
        let ended_sessions = Query::select()
            .expr(Expr::val(1))
            .from(user::Entity)
            .and_where(Expr::col((user::Entity, user::Column::Id)).equals((Entity, Column::UserId)))
            .and_where(
                Expr::col((user::Entity, user::Column::SessionVersion))
                    .ne(Expr::col((Entity, Column::SessionVersion))),
            )
            .to_owned();
        let dead = Condition::any()
            .add(Column::ExpiresAt.lte(now))
            .add(Column::RevokedAt.is_not_null())
            .add(Expr::exists(ended_sessions));
        purge::in_batches(&self.db, purge::BATCH, |batch| {
            let doomed = Query::select()
                .column(Column::Id)
                .from(Entity)
                .cond_where(dead.clone())
                .limit(batch)
                .to_owned();
            Entity::delete_many().filter(Column::Id.in_subquery(doomed))
        })
        .await
    }
}
