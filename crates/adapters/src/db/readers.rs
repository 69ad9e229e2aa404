//! The reads on the request path (a user with its session, on every bearer check; an API key
//! with its owner; a user by id, on a refresh) on a SQLite file, run right where the request
//! is, on connections of their own.
//!
//! Through sqlx, every SQLite statement is a round trip to the connection's worker thread:
//! the command goes over a channel, the worker wakes, the rows come back over another channel
//! and the task wakes. For a primary-key read of a few microseconds, those wake-ups cost many
//! times the read itself. Here the read runs synchronously on the calling thread, through
//! rusqlite (the same libsqlite3 as sqlx), with statements prepared once per connection.
//!
//! Nothing is cached: each statement runs in autocommit on a WAL database, so it sees every
//! committed write at once. The connections never wait: with the busy timeout at zero, a
//! locked database, a connection in use, or anything else unusual answers `None`, and the
//! caller takes the ordinary path through the pool, which waits and maps errors as always.

use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row};
use sea_orm::{DatabaseBackend, DatabaseConnection};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;
use warden_domain::session::SessionState;

use super::entity::{api_key, user};

/// The columns of `users`, in the order [`user_at`] reads them.
const USER_COLUMNS: [&str; 13] = [
    "id",
    "email",
    "email_normalized",
    "email_skeleton",
    "display_name",
    "role",
    "disabled",
    "password_hash",
    "session_version",
    "created_at",
    "updated_at",
    "email_verified_at",
    "mfa_enabled_at",
];

static USER_BY_ID: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM users WHERE id = ?1",
        USER_COLUMNS.join(", ")
    )
});

/// The user's columns, then its session's end (if revoked) and expiry at 13 and 14: the same
/// statement as the pool's (`users::in_session`).
static USER_IN_SESSION: LazyLock<String> = LazyLock::new(|| {
    let user: Vec<String> = USER_COLUMNS.iter().map(|c| format!("u.{c}")).collect();
    format!(
        "SELECT {}, s.revoked_at, s.expires_at FROM users u LEFT JOIN refresh_tokens s \
         ON s.id = ?2 AND s.user_id = u.id AND s.parent_id IS NULL WHERE u.id = ?1",
        user.join(", ")
    )
});

/// The key's nine columns, then its owner's from index 9.
static API_KEY_BY_PREFIX: LazyLock<String> = LazyLock::new(|| {
    let owner: Vec<String> = USER_COLUMNS.iter().map(|c| format!("u.{c}")).collect();
    format!(
        "SELECT k.id, k.user_id, k.name, k.prefix, k.digest, k.created_at, k.expires_at, \
         k.revoked_at, k.last_used_at, {} FROM api_keys k JOIN users u ON u.id = k.user_id \
         WHERE k.prefix = ?1",
        owner.join(", ")
    )
});

/// A held read did not run (every connection busy, the database locked, a value it does not
/// decode): the caller reads through the pool instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declined;

/// Connections reserved for the request path's reads (`database.max_connections` of them).
pub struct SqliteReaders {
    connections: Vec<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteReaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteReaders")
            .field("connections", &self.connections.len())
            .finish_non_exhaustive()
    }
}

impl SqliteReaders {
    /// `count` connections on the pool's database file, or `None` when it is not a SQLite
    /// file (PostgreSQL, or an in-memory database, which another connection would not share).
    ///
    /// # Errors
    /// When a connection cannot be opened.
    pub fn open(
        db: &DatabaseConnection,
        url: &str,
        count: u32,
    ) -> Result<Option<Arc<Self>>, rusqlite::Error> {
        if db.get_database_backend() != DatabaseBackend::Sqlite || super::is_in_memory(url) {
            return Ok(None);
        }
        let options = db.get_sqlite_connection_pool().connect_options();
        let connections = (0..count.max(1))
            .map(|_| open_reader(options.get_filename()).map(Mutex::new))
            .collect::<Result<_, _>>()?;
        Ok(Some(Arc::new(Self { connections })))
    }

    /// The user with this id, if any.
    ///
    /// # Errors
    /// [`Declined`]: the read must go through the pool.
    pub fn user_by_id(&self, id: Uuid) -> Result<Option<user::Model>, Declined> {
        self.read(|connection| {
            connection
                .prepare_cached(&USER_BY_ID)?
                .query_row([id.as_bytes()], |row| user_at(row, 0))
                .optional()
        })
    }

    /// The user with this id, if any, and the state of its session `session_id` (`None` when
    /// it has no such session).
    ///
    /// # Errors
    /// [`Declined`]: the read must go through the pool.
    pub fn user_in_session(
        &self,
        id: Uuid,
        session_id: Uuid,
    ) -> Result<Option<(user::Model, Option<SessionState>)>, Declined> {
        self.read(|connection| {
            connection
                .prepare_cached(&USER_IN_SESSION)?
                .query_row([id.as_bytes(), session_id.as_bytes()], |row| {
                    let revoked_at = optional_time_at(row, 13)?;
                    let session = optional_time_at(row, 14)?.map(|expires_at| SessionState {
                        ended: revoked_at.is_some(),
                        expires_at,
                    });
                    Ok((user_at(row, 0)?, session))
                })
                .optional()
        })
    }

    /// The API key with this prefix and its owner, if any.
    ///
    /// # Errors
    /// [`Declined`]: the read must go through the pool.
    pub fn api_key_by_prefix(
        &self,
        prefix: &str,
    ) -> Result<Option<(api_key::Model, user::Model)>, Declined> {
        self.read(|connection| {
            connection
                .prepare_cached(&API_KEY_BY_PREFIX)?
                .query_row([prefix], |row| Ok((api_key_at(row)?, user_at(row, 9)?)))
                .optional()
        })
    }

    /// Runs `read` on the first free connection.
    fn read<T>(
        &self,
        read: impl Fn(&Connection) -> rusqlite::Result<Option<T>>,
    ) -> Result<Option<T>, Declined> {
        let connection = self
            .connections
            .iter()
            .find_map(|c| c.try_lock().ok())
            .ok_or(Declined)?;
        read(&connection).map_err(|e| {
            tracing::debug!(error = %e, "held SQLite read declined; using the pool");
            Declined
        })
    }
}

/// A read-only connection that never waits for a lock.
fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(std::time::Duration::ZERO)?;
    connection.pragma_update(None, "query_only", true)?;
    Ok(connection)
}

/// A user from the columns of [`USER_COLUMNS`] starting at `first`.
fn user_at(row: &Row<'_>, first: usize) -> rusqlite::Result<user::Model> {
    Ok(user::Model {
        id: uuid_at(row, first)?,
        email: row.get(first + 1)?,
        email_normalized: row.get(first + 2)?,
        email_skeleton: row.get(first + 3)?,
        display_name: row.get(first + 4)?,
        role: row.get(first + 5)?,
        disabled: row.get(first + 6)?,
        password_hash: row.get(first + 7)?,
        session_version: row.get(first + 8)?,
        created_at: time_at(row, first + 9)?,
        updated_at: time_at(row, first + 10)?,
        email_verified_at: optional_time_at(row, first + 11)?,
        mfa_enabled_at: optional_time_at(row, first + 12)?,
    })
}

fn api_key_at(row: &Row<'_>) -> rusqlite::Result<api_key::Model> {
    Ok(api_key::Model {
        id: uuid_at(row, 0)?,
        user_id: uuid_at(row, 1)?,
        name: row.get(2)?,
        prefix: row.get(3)?,
        digest: row.get(4)?,
        created_at: time_at(row, 5)?,
        expires_at: optional_time_at(row, 6)?,
        revoked_at: optional_time_at(row, 7)?,
        last_used_at: optional_time_at(row, 8)?,
    })
}

/// A UUID as sqlx stores it in SQLite: 16 bytes.
fn uuid_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Uuid> {
    let bytes: [u8; 16] = row.get(index)?;
    Ok(Uuid::from_bytes(bytes))
}

/// A timestamp as sqlx stores it in SQLite: RFC 3339 text.
fn time_at(row: &Row<'_>, index: usize) -> rusqlite::Result<OffsetDateTime> {
    let text: String = row.get(index)?;
    parse_time(index, &text)
}

fn optional_time_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<OffsetDateTime>> {
    let text: Option<String> = row.get(index)?;
    text.map(|text| parse_time(index, &text)).transpose()
}

fn parse_time(index: usize, text: &str) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
    })
}
