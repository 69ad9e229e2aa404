//! `LockoutRepository` on sea-orm: one row per user and scope, written with an upsert.

use async_trait::async_trait;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use uuid::Uuid;
use warden_domain::Error;
use warden_domain::lockout::{LockScope, LockState};
use warden_domain::ports::LockoutRepository;

use super::entity::login_throttle::{ActiveModel, Column, Entity};
use super::{owner_gone_or_storage_error, storage_error};

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

#[async_trait]
impl LockoutRepository for SeaOrmLockoutRepository {
    async fn get(&self, user_id: Uuid, scope: &LockScope) -> Result<LockState, Error> {
        let row = Entity::find_by_id((user_id, scope.key()))
            .one(&self.db)
            .await
            .map_err(storage_error)?;
        Ok(row.map_or_else(LockState::default, |r| LockState {
            failures: u32::try_from(r.failures).unwrap_or(0),
            locked_until: r.locked_until,
            locks_in_a_row: u32::try_from(r.locks_in_a_row).unwrap_or(0),
        }))
    }

    async fn put(&self, user_id: Uuid, scope: &LockScope, state: LockState) -> Result<(), Error> {
        let row = ActiveModel {
            user_id: Set(user_id),
            scope: Set(scope.key()),
            failures: Set(count(state.failures)),
            locked_until: Set(state.locked_until),
            locks_in_a_row: Set(count(state.locks_in_a_row)),
        };
        Entity::insert(row)
            .on_conflict(
                OnConflict::columns([Column::UserId, Column::Scope])
                    .update_columns([Column::Failures, Column::LockedUntil, Column::LocksInARow])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            // A user deleted since the password was checked: the login fails like any other.
            .map_err(|e| owner_gone_or_storage_error(e, Error::InvalidCredentials))?;
        Ok(())
    }

    async fn clear(&self, user_id: Uuid, scope: &LockScope) -> Result<(), Error> {
        Entity::delete_many()
            .filter(Column::UserId.eq(user_id))
            .filter(Column::Scope.eq(scope.key()))
            .exec(&self.db)
            .await
            .map_err(storage_error)?;
        Ok(())
    }

    async fn clear_all(&self, user_id: Uuid) -> Result<(), Error> {
        Entity::delete_many()
            .filter(Column::UserId.eq(user_id))
            .exec(&self.db)
            .await
            .map_err(storage_error)?;
        Ok(())
    }
}
