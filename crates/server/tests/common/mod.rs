//! What the server's process tests share: a PostgreSQL database of their own, and a port
//! nothing listens on.

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

/// A database of its own on the test PostgreSQL, dropped at the end.
pub(crate) struct Database {
    admin: DatabaseConnection,
    name: String,
    /// Its URL.
    pub(crate) url: String,
}

impl Database {
    /// A fresh database, or `None` (outside CI) when PostgreSQL is not reachable.
    pub(crate) async fn create() -> Option<Self> {
        let url = std::env::var("POSTGRES_TEST_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let admin = match warden_adapters::db::connect(&url, 1).await {
            Ok(admin) => admin,
            Err(e) if std::env::var("CI").is_err() => {
                eprintln!("SKIPPED: PostgreSQL at {url} is not reachable ({e})");
                return None;
            }
            Err(e) => panic!("CI=true but PostgreSQL at {url} is not reachable: {e}"),
        };
        let name = format!("warden_server_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute_raw(Statement::from_string(
                admin.get_database_backend(),
                format!("CREATE DATABASE \"{name}\""),
            ))
            .await
            .unwrap();
        let (base, _) = url.rsplit_once('/').unwrap();
        let url = format!("{base}/{name}");
        Some(Self { admin, name, url })
    }

    /// Drops it.
    pub(crate) async fn drop_it(self) {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let _ = self
            .admin
            .execute_raw(Statement::from_string(
                self.admin.get_database_backend(),
                sql,
            ))
            .await;
    }
}

/// A loopback port that was free a moment ago: bound, read and released. Nothing listens on it
/// until someone binds it again.
pub(crate) fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
