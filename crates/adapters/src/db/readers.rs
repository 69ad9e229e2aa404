//! The reads on every authenticated request (a user by id, an API key with its owner) on a
//! SQLite file, run on connections held here instead of checked out of sqlx's pool.
//!
//! sqlx pings a connection each time it goes back to the pool, and for SQLite a ping is a
//! round trip to the connection's worker thread: as many thread wake-ups again as the query
//! itself, on every request. These connections are never returned, so they are never pinged.
//! Each statement runs in autocommit, so it sees every committed write at once: nothing is
//! cached. The statements are still built by sea-orm and decoded into its models.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sea_orm::sqlx::sqlite::SqliteConnection;
use sea_orm::sqlx::{self, AssertSqlSafe, ConnectOptions as _};
use sea_orm::{
    DatabaseBackend, DatabaseConnection, DbErr, QueryResult, RuntimeErr, Selector, SelectorTrait,
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::Mutex;

/// SQLite connections (as many as the pool holds, `database.max_connections`) reserved for the
/// request path's primary-key and unique-key reads: fewer would queue requests behind a lock.
pub struct SqliteReaders {
    connections: Vec<Mutex<SqliteConnection>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for SqliteReaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteReaders")
            .field("connections", &self.connections.len())
            .finish_non_exhaustive()
    }
}

fn sqlx_error(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))
}

impl SqliteReaders {
    /// `count` connections on the pool's database, or `None` when it is not a SQLite file
    /// (PostgreSQL, or an in-memory database, which a new connection would not share).
    ///
    /// # Errors
    /// When a connection cannot be opened.
    pub async fn open(
        db: &DatabaseConnection,
        url: &str,
        count: u32,
    ) -> Result<Option<Arc<Self>>, DbErr> {
        if db.get_database_backend() != DatabaseBackend::Sqlite || super::is_in_memory(url) {
            return Ok(None);
        }
        let options = db.get_sqlite_connection_pool().connect_options();
        let mut connections = Vec::new();
        for _ in 0..count {
            let connection = options
                .connect()
                .await
                .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))))?;
            connections.push(Mutex::new(connection));
        }
        Ok(Some(Arc::new(Self {
            connections,
            next: AtomicUsize::new(0),
        })))
    }

    /// Runs a one-row select, decoded as sea-orm would.
    pub(crate) async fn one<S: SelectorTrait>(
        &self,
        selector: Selector<S>,
    ) -> Result<Option<S::Item>, DbErr> {
        let statement = selector.into_statement(DatabaseBackend::Sqlite);
        let values = statement
            .values
            .unwrap_or_else(|| sea_orm::Values(Vec::new()));
        let turn = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
        let mut connection = self.connections[turn].lock().await;
        let row = sqlx::query_with(AssertSqlSafe(statement.sql), SqlxValues(values))
            .fetch_optional(&mut *connection)
            .await
            .map_err(sqlx_error)?;
        drop(connection);
        row.map(|r| S::from_raw_query_result(QueryResult::from(r)))
            .transpose()
    }
}

/// A one-row select on the readers when there are any, else on the pool.
pub(crate) async fn read_one<S: SelectorTrait>(
    db: &DatabaseConnection,
    readers: Option<&SqliteReaders>,
    selector: Selector<S>,
) -> Result<Option<S::Item>, DbErr> {
    match readers {
        Some(readers) => readers.one(selector).await,
        None => selector.one(db).await,
    }
}
