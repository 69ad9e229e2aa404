//! `login_throttles` for any subject: no foreign key to `users`, so that a username naming no
//! user is counted (under a stand-in id) exactly like an account, and lock ends as integer
//! microseconds, which SQL compares alike on SQLite and PostgreSQL. SQLite cannot drop a
//! constraint, so the table is rebuilt on both, keeping every count and lock.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum LoginThrottles {
    Table,
    UserId,
    Scope,
    Failures,
    LockedUntil,
    LockedUntilMicros,
    LocksInARow,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

/// The table being built, renamed to `login_throttles` once the rows are in.
#[derive(DeriveIden)]
struct NextThrottles;

/// The columns both shapes share, and the key.
fn shared_columns(table: &mut TableCreateStatement) -> &mut TableCreateStatement {
    table
        .col(ColumnDef::new(LoginThrottles::UserId).uuid().not_null())
        .col(ColumnDef::new(LoginThrottles::Scope).string().not_null())
        .col(
            ColumnDef::new(LoginThrottles::Failures)
                .integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(LoginThrottles::LocksInARow)
                .integer()
                .not_null(),
        )
        .primary_key(
            Index::create()
                .col(LoginThrottles::UserId)
                .col(LoginThrottles::Scope),
        )
}

/// Replaces `login_throttles` by `next_throttles` filled by `copy`.
async fn swap(manager: &SchemaManager<'_>, copy: &str) -> Result<(), DbErr> {
    manager.get_connection().execute_unprepared(copy).await?;
    manager
        .drop_table(Table::drop().table(LoginThrottles::Table).to_owned())
        .await?;
    manager
        .rename_table(
            Table::rename()
                .table(NextThrottles, LoginThrottles::Table)
                .to_owned(),
        )
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too: the table is never half rebuilt, and every statement
    /// runs on the same connection.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table.table(NextThrottles);
        shared_columns(&mut table).col(
            ColumnDef::new(LoginThrottles::LockedUntilMicros)
                .big_integer()
                .null(),
        );
        manager.create_table(table).await?;
        let micros = match manager.get_database_backend() {
            DbBackend::Postgres => "(EXTRACT(EPOCH FROM locked_until) * 1000000)::BIGINT",
            // Whole seconds, then the milliseconds (all SQLite's date functions keep), in
            // integers: through julianday's floating point a millisecond comes out a few
            // microseconds short.
            _ => {
                "CAST(strftime('%s', locked_until) AS INTEGER) * 1000000 \
                 + CAST(ROUND(strftime('%f', locked_until) * 1000) AS INTEGER) % 1000 * 1000"
            }
        };
        swap(
            manager,
            &format!(
                "INSERT INTO next_throttles (user_id, scope, failures, locks_in_a_row, \
                 locked_until_micros) SELECT user_id, scope, failures, locks_in_a_row, {micros} \
                 FROM login_throttles"
            ),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table.table(NextThrottles);
        shared_columns(&mut table)
            .col(
                ColumnDef::new(LoginThrottles::LockedUntil)
                    .timestamp_with_time_zone()
                    .null(),
            )
            .foreign_key(
                ForeignKey::create()
                    .name("fk_login_throttles_user")
                    .from(NextThrottles, LoginThrottles::UserId)
                    .to(Users::Table, Users::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            );
        manager.create_table(table).await?;
        let until = match manager.get_database_backend() {
            DbBackend::Postgres => "to_timestamp(locked_until_micros / 1000000.0)",
            _ => "strftime('%Y-%m-%dT%H:%M:%fZ', locked_until_micros / 1000000.0, 'unixepoch')",
        };
        // Only the counts of users can go back under the foreign key.
        swap(
            manager,
            &format!(
                "INSERT INTO next_throttles (user_id, scope, failures, locks_in_a_row, \
                 locked_until) SELECT user_id, scope, failures, locks_in_a_row, {until} \
                 FROM login_throttles WHERE user_id IN (SELECT id FROM users)"
            ),
        )
        .await
    }
}
