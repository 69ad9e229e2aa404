//! Storage on sea-orm: connecting (SQLite or PostgreSQL), migrating, and the repositories.

mod account_tokens;
mod api_keys;
mod audit;
mod clients;
mod connect;
pub mod diagnose;
pub mod entity;
mod lockouts;
mod mfa;
pub mod migration;
mod outbox;
mod purge;
mod read_model;
mod readers;
mod refresh_tokens;
mod user_import;
mod users;

use sea_orm::{DatabaseConnection, DbErr, RuntimeErr};
use sea_orm_migration::MigratorTrait;
use warden_domain::Error;

pub use account_tokens::SeaOrmAccountTokenRepository;
pub use api_keys::SeaOrmApiKeyRepository;
pub use audit::SeaOrmAuditLog;
pub use clients::SeaOrmClientRepository;
pub use connect::{PoolUse, Timeouts, connect, connect_with, missing_sqlite_file, pool_use};
pub use lockouts::SeaOrmLockoutRepository;
pub use mfa::SeaOrmMfaRepository;
pub use outbox::SeaOrmOutbox;
pub use read_model::SqliteReadModel;
pub use readers::{Declined, SqliteReaders};
pub use refresh_tokens::SeaOrmRefreshTokenRepository;
pub use users::SeaOrmUserRepository;

/// Whether a SQLite URL names an in-memory database, which lives and dies with one connection.
pub(crate) fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// Applies every pending migration.
///
/// # Errors
/// When a migration fails.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    migration::Migrator::up(db, None).await
}

/// Whether the database answers a trivial query.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.ping().await.is_ok()
}

/// Translates a driver error: a database that is away, going away, not accepting
/// connections or past a timeout is [`Error::Unavailable`] (a 503 to clients), the rest
/// internal.
pub fn storage_error(e: DbErr) -> Error {
    if is_unavailable(&e) {
        Error::Unavailable(Box::new(e))
    } else {
        Error::internal(e)
    }
}

/// Translates the error of a write of a user's row (a refresh token, an API key, a lockout
/// count): a foreign-key violation means the user was deleted meanwhile, and becomes `gone`,
/// the error the use case answers for a user who is not there. Classified by kind (SQLSTATE
/// 23503, SQLite's extended code 787), never by message text.
pub(crate) fn owner_gone_or_storage_error(e: DbErr, gone: Error) -> Error {
    if is_foreign_key_violation(&e) {
        gone
    } else {
        storage_error(e)
    }
}

/// Whether a statement failed because a row it referred to does not exist (SQLSTATE 23503,
/// SQLite's `SQLITE_CONSTRAINT_FOREIGNKEY`).
pub(crate) fn is_foreign_key_violation(e: &DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))
    )
}

fn is_unavailable(e: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    let runtime = match e {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => return true,
        DbErr::Exec(runtime) | DbErr::Query(runtime) => runtime,
        _ => return false,
    };
    let RuntimeErr::SqlxError(sqlx) = runtime else {
        return false;
    };
    match sqlx.as_ref() {
        Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed => true,
        // PostgreSQL: class 08 is a connection exception; 57P01-57P03 are the server shutting
        // down or starting; 53300 is too many connections; 57014 is a statement cancelled,
        // as `database.statement_timeout_ms` does. SQLite: 5 and its extended codes are the
        // busy timeout run out.
        Sqlx::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08")
                || matches!(
                    &*code,
                    "57P01" | "57P02" | "57P03" | "53300" | "57014" | "5" | "261" | "517" | "773"
                )
        }),
        _ => false,
    }
}
