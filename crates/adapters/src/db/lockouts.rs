//! `LockoutRepository` on sea-orm: one row per subject and scope. An attempt is counted by one
//! `INSERT … ON CONFLICT DO UPDATE … RETURNING` (the same statement on SQLite and PostgreSQL),
//! so that concurrent attempts each get a count of their own.

use async_trait::async_trait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, TransactionTrait};
use time::OffsetDateTime;
use uuid::Uuid;
use warden_domain::Error;
use warden_domain::audit::AuditEvent;
use warden_domain::lockout::{LockScope, LockState};
use warden_domain::ports::LockoutRepository;

use super::entity::login_throttle::{ActiveModel, Column, Entity, Model};
use super::entity::user;
use super::{purge, storage_error};

/// Lockout counts stored through sea-orm.
#[derive(Clone, Debug)]
pub struct SeaOrmLockoutRepository {
    db: DatabaseConnection,
}

impl SeaOrmLockoutRepository {
    /// A repository on the pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A time as stored: microseconds since the Unix epoch.
fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

fn from_micros(stored: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(stored) * 1_000).ok()
}

fn to_state(row: &Model) -> LockState {
    LockState {
        failures: u32::try_from(row.failures).unwrap_or(0),
        locked_until: row.locked_until_micros.and_then(from_micros),
        locks_in_a_row: u32::try_from(row.locks_in_a_row).unwrap_or(0),
    }
}

/// A column of the stored row, qualified: inside `DO UPDATE` PostgreSQL would otherwise find
/// it ambiguous with the proposed row.
fn stored(column: Column) -> Expr {
    Expr::col((Entity, column))
}

#[async_trait]
impl LockoutRepository for SeaOrmLockoutRepository {
    async fn get(&self, subject: Uuid, scope: &LockScope) -> Result<LockState, Error> {
        let row = Entity::find_by_id((subject, scope.key()))
            .one(&self.db)
            .await
            .map_err(storage_error)?;
        Ok(row.as_ref().map_or_else(LockState::default, to_state))
    }

    async fn reserve(
        &self,
        subject: Uuid,
        scope: &LockScope,
        now: OffsetDateTime,
    ) -> Result<LockState, Error> {
        // `LockState::counted` in SQL: while a lock is in force nothing changes; otherwise one
        // more attempt, and an ended lock is forgotten. A missing lock compares as NULL, which
        // is not true, so it falls to the ELSE branches.
        let locked = || stored(Column::LockedUntilMicros).gt(micros(now));
        let on_conflict = OnConflict::columns([Column::UserId, Column::Scope])
            .value(
                Column::Failures,
                Expr::case(locked(), stored(Column::Failures))
                    .finally(stored(Column::Failures).add(1)),
            )
            .value(
                Column::LockedUntilMicros,
                Expr::case(locked(), stored(Column::LockedUntilMicros)).finally(Expr::null()),
            )
            .to_owned();
        let first = ActiveModel {
            user_id: Set(subject),
            scope: Set(scope.key()),
            failures: Set(1),
            locked_until_micros: Set(None),
            locks_in_a_row: Set(0),
        };
        let row = Entity::insert(first)
            .on_conflict(on_conflict)
            .exec_with_returning(&self.db)
            .await
            .map_err(storage_error)?;
        Ok(to_state(&row))
    }

    async fn put(&self, subject: Uuid, scope: &LockScope, state: LockState) -> Result<(), Error> {
        let row = ActiveModel {
            user_id: Set(subject),
            scope: Set(scope.key()),
            failures: Set(count(state.failures)),
            locked_until_micros: Set(state.locked_until.map(micros)),
            locks_in_a_row: Set(count(state.locks_in_a_row)),
        };
        Entity::insert(row)
            .on_conflict(
                OnConflict::columns([Column::UserId, Column::Scope])
                    .update_columns([
                        Column::Failures,
                        Column::LockedUntilMicros,
                        Column::LocksInARow,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .map_err(storage_error)?;
        Ok(())
    }

    async fn clear(&self, subject: Uuid, scopes: &[LockScope]) -> Result<(), Error> {
        Entity::delete_many()
            .filter(Column::UserId.eq(subject))
            .filter(Column::Scope.is_in(scopes.iter().map(LockScope::key)))
            .exec(&self.db)
            .await
            .map_err(storage_error)?;
        Ok(())
    }

    async fn clear_all(&self, subject: Uuid, audit: &AuditEvent) -> Result<(), Error> {
        let txn = self.db.begin().await.map_err(storage_error)?;
        Entity::delete_many()
            .filter(Column::UserId.eq(subject))
            .exec(&txn)
            .await
            .map_err(storage_error)?;
        super::audit::write(&txn, audit).await?;
        txn.commit().await.map_err(storage_error)
    }

    async fn purge(&self, now: OffsetDateTime) -> Result<u64, Error> {
        // A subject's rows with no user behind them and no lock in force.
        purge::in_batches(&self.db, purge::BATCH, |batch| {
            let users = Query::select()
                .expr(Expr::val(1))
                .from(user::Entity)
                .and_where(
                    Expr::col((user::Entity, user::Column::Id)).equals((Entity, Column::UserId)),
                )
                .to_owned();
            let doomed = Query::select()
                .columns([Column::UserId, Column::Scope])
                .from(Entity)
                .and_where(Expr::not_exists(users))
                .and_where(
                    Expr::col(Column::LockedUntilMicros)
                        .is_null()
                        .or(Expr::col(Column::LockedUntilMicros).lte(micros(now))),
                )
                .limit(batch)
                .to_owned();
            let key = Expr::tuple([Expr::col(Column::UserId), Expr::col(Column::Scope)]);
            Entity::delete_many().filter(key.in_subquery(doomed))
        })
        .await
    }
}
