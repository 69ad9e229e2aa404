//! Opening the pool: bounded waits for a connection and for every statement, WAL for SQLite
//! files, and a new SQLite file readable by its owner only.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr, RuntimeErr};

use super::is_in_memory;

/// How long a request may wait for the database: for a pooled connection, and for one
/// statement to finish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Waiting for a connection from the pool (including opening one).
    pub acquire: Duration,
    /// One statement: PostgreSQL's `statement_timeout`; SQLite's busy timeout, the only wait
    /// a local file can impose.
    pub statement: Duration,
}

impl Timeouts {
    /// The defaults of `database.acquire_timeout_ms` and `database.statement_timeout_ms`.
    pub const DEFAULT: Self = Self {
        acquire: Duration::from_secs(2),
        statement: Duration::from_secs(5),
    };
}

impl Default for Timeouts {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Opens a pool on the URL with the default [`Timeouts`].
///
/// # Errors
/// When the database cannot be opened.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, max_connections, Timeouts::DEFAULT).await
}

/// Opens a pool on the URL. SQLite files run in WAL mode so readers never wait for the writer.
///
/// # Errors
/// When the database cannot be opened.
pub async fn connect_with(
    url: &str,
    max_connections: u32,
    timeouts: Timeouts,
) -> Result<DatabaseConnection, DbErr> {
    let mut opt = ConnectOptions::new(url.to_owned());
    opt.connect_timeout(timeouts.acquire)
        .acquire_timeout(timeouts.acquire)
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        // An I/O error, kept as such where a driver error goes: sqlx's `Io`, a connection error.
        create_private_sqlite_file(url).map_err(|e| {
            DbErr::Conn(RuntimeErr::SqlxError(Arc::new(sea_orm::sqlx::Error::Io(e))))
        })?;
        if is_in_memory(url) {
            // An in-memory database lives as long as its one connection.
            opt.max_connections(1)
                .min_connections(1)
                .idle_timeout(None::<Duration>)
                .max_lifetime(None::<Duration>);
        } else {
            opt.max_connections(max_connections);
        }
        // A local file cannot drop a connection: pinging on every checkout would only add a
        // round trip to sqlx's SQLite worker thread before each query.
        opt.test_before_acquire(false);
        opt.map_sqlx_sqlite_opts(move |o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(timeouts.statement)
                .foreign_keys(true)
        });
    } else {
        // A server may drop idle connections; ping only those, not every hot checkout.
        opt.max_connections(max_connections)
            .test_before_acquire_if_idle_for(Duration::from_secs(30));
        let ms = timeouts.statement.as_millis();
        // Every statement of every connection, migrations included, is cancelled by the
        // server past this; the transaction it was in then rolls back.
        opt.map_sqlx_postgres_opts(move |o| o.options([("statement_timeout", ms)]));
    }
    Database::connect(opt).await
}

/// Creates a missing SQLite database file as an empty file with mode 0600 before SQLite
/// opens it, so that neither it nor its `-wal` and `-shm` companions (which SQLite creates
/// with the database file's mode) are readable by other users. An existing file is left as
/// it is.
fn create_private_sqlite_file(url: &str) -> std::io::Result<()> {
    let Ok(options) = SqliteConnectOptions::from_str(url) else {
        // sqlx refuses the URL itself, with its own message, when it connects.
        return Ok(());
    };
    if is_in_memory(url) || !url.contains("mode=rwc") {
        return Ok(());
    }
    let path = options.get_filename();
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    match open.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The file a SQLite `url` names, when it names one that does not exist yet (opening it would
/// create a new, empty database); `None` for PostgreSQL, in-memory databases and files that
/// exist.
pub fn missing_sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    if !url.starts_with("sqlite:") || is_in_memory(url) {
        return None;
    }
    let options = SqliteConnectOptions::from_str(url).ok()?;
    let path = options.get_filename();
    (!path.exists()).then(|| path.to_path_buf())
}

/// How much of the pool is in use now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolUse {
    /// Connections open, idle or lent.
    pub open: u32,
    /// Open connections waiting to be lent.
    pub idle: u32,
    /// The most the pool opens (`database.max_connections`).
    pub max: u32,
}

/// What the pool behind `db` holds now.
pub fn pool_use(db: &DatabaseConnection) -> PoolUse {
    fn of<D: sea_orm::sqlx::Database>(pool: &sea_orm::sqlx::Pool<D>) -> PoolUse {
        PoolUse {
            open: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        }
    }
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => of(db.get_postgres_connection_pool()),
        _ => of(db.get_sqlite_connection_pool()),
    }
}
