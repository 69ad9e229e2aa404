//! Why a database could not be opened, in words an operator can act on: a SQLite file's missing
//! directory, a PostgreSQL server that refuses connections or does not answer (which the pool
//! reports only as "timed out"), a database that does not exist, and a login refused.

use std::str::FromStr as _;
use std::time::Duration;

use sea_orm::sqlx::Error as Sqlx;
use sea_orm::sqlx::postgres::PgConnectOptions;
use sea_orm::{DbErr, RuntimeErr};

/// A sentence naming the cause of `error` from opening `url`, with what to do about it, when
/// the cause is one of those this module knows; `None` otherwise (the driver's message stands).
/// Never quotes a password: only paths, hosts, ports and database and user names.
pub async fn hint(url: &str, error: &DbErr, timeout: Duration) -> Option<String> {
    if url.starts_with("sqlite:") {
        return sqlite_hint(url);
    }
    if let Some(hint) = sqlstate(error).and_then(|code| postgres_state_hint(url, &code)) {
        return Some(hint);
    }
    reachability_hint(url, timeout).await
}

/// A missing directory of the database file.
fn sqlite_hint(url: &str) -> Option<String> {
    let path = super::missing_sqlite_file(url)?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty())?;
    (!dir.exists()).then(|| {
        format!(
            "the directory {} does not exist; create it, or point database.url at another",
            dir.display()
        )
    })
}

/// The SQLSTATE of a database's refusal.
fn sqlstate(error: &DbErr) -> Option<String> {
    let (DbErr::Conn(runtime) | DbErr::Exec(runtime) | DbErr::Query(runtime)) = error else {
        return None;
    };
    let RuntimeErr::SqlxError(sqlx) = runtime else {
        return None;
    };
    match sqlx.as_ref() {
        Sqlx::Database(db) => db.code().map(std::borrow::Cow::into_owned),
        _ => None,
    }
}

/// 3D000: no such database; 28000 and 28P01: the login refused.
fn postgres_state_hint(url: &str, code: &str) -> Option<String> {
    let options = PgConnectOptions::from_str(url).ok()?;
    let database = options.get_database().unwrap_or("(default)");
    match code {
        "3D000" => Some(format!(
            "the database {database} does not exist on {}:{}; create it (createdb {database}) \
             or name another in database.url",
            options.get_host(),
            options.get_port()
        )),
        "28000" | "28P01" => Some(format!(
            "PostgreSQL refused the login of user {}; check the user and password in database.url",
            options.get_username()
        )),
        _ => None,
    }
}

/// Whether anything listens where the URL points: refused and silent are told apart.
async fn reachability_hint(url: &str, timeout: Duration) -> Option<String> {
    let options = PgConnectOptions::from_str(url).ok()?;
    let host = options.get_host();
    if host.starts_with('/') {
        // A Unix socket directory: the driver's message is as good as a probe.
        return None;
    }
    let port = options.get_port();
    let target = format!("{host}:{port}");
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(&target)).await {
        Ok(Ok(_)) => None,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Some(format!(
            "nothing listens on {target} (connection refused); is PostgreSQL running there?"
        )),
        Ok(Err(e)) => Some(format!("cannot reach {target}: {e}")),
        Err(_) => Some(format!(
            "{target} did not answer within {} ms (a firewall, or the wrong host?)",
            timeout.as_millis()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_directory_is_named_and_an_existing_one_is_not() {
        let hint = sqlite_hint("sqlite:///no/such/dir/w.db?mode=rwc").unwrap();
        assert_eq!(
            hint,
            "the directory /no/such/dir does not exist; create it, or point database.url at another"
        );
        let here = std::env::temp_dir().join("warden-diagnose-absent.db");
        assert_eq!(
            sqlite_hint(&format!("sqlite://{}?mode=rwc", here.display())),
            None
        );
        assert_eq!(sqlite_hint("sqlite::memory:"), None);
    }

    #[test]
    fn refusals_by_state_name_the_database_or_the_user_and_never_the_password() {
        let url = "postgres://app:Pw7-secret@db.internal:6543/accounts";
        let missing = postgres_state_hint(url, "3D000").unwrap();
        assert!(missing.starts_with("the database accounts does not exist on db.internal:6543"));
        for code in ["28000", "28P01"] {
            let login = postgres_state_hint(url, code).unwrap();
            assert!(login.contains("user app"), "{login}");
            assert!(!login.contains("Pw7"), "{login}");
        }
        assert_eq!(postgres_state_hint(url, "57P01"), None);
    }

    #[tokio::test]
    async fn a_closed_port_is_connection_refused() {
        // Bound and dropped: nothing listens on it any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("postgres://app@127.0.0.1:{port}/db");
        let hint = reachability_hint(&url, Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(
            hint,
            format!(
                "nothing listens on 127.0.0.1:{port} (connection refused); is PostgreSQL running there?"
            )
        );
    }
}
