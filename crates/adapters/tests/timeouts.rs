//! Bounded database waits: a statement past `database.statement_timeout_ms` and a pool that
//! cannot get a connection within `database.acquire_timeout_ms` become `Unavailable` (a 503)
//! quickly, and a transaction cut short leaves nothing written. PostgreSQL where reachable
//! (required under `CI=true`), SQLite always.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use warden_adapters::db::{self, Timeouts};
use warden_domain::Error;

const SHORT: Timeouts = Timeouts {
    acquire: Duration::from_millis(300),
    statement: Duration::from_millis(300),
};

/// PostgreSQL with one pooled connection and [`SHORT`] timeouts, or `None` outside CI when
/// none is reachable.
async fn postgres() -> Option<DatabaseConnection> {
    let url = std::env::var("POSTGRES_TEST_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    match db::connect_with(&url, 1, SHORT).await {
        Ok(db) => Some(db),
        Err(e) if std::env::var("CI").is_err() => {
            eprintln!("SKIPPED PostgreSQL timeout tests: {url} is not reachable ({e})");
            None
        }
        Err(e) => panic!("CI=true but PostgreSQL at {url} is not reachable: {e}"),
    }
}

fn assert_unavailable(e: DbErr, started: Instant, within: Duration) {
    let elapsed = started.elapsed();
    let mapped = db::storage_error(e);
    assert!(
        matches!(mapped, Error::Unavailable(_)),
        "expected Unavailable, got {mapped:?}"
    );
    assert!(elapsed < within, "took {elapsed:?}");
}

#[tokio::test]
async fn a_statement_past_the_timeout_is_unavailable_at_once_on_postgres() {
    let Some(db) = postgres().await else { return };
    // Just inside the bound: answers.
    db.execute_unprepared("SELECT pg_sleep(0.1)").await.unwrap();
    let started = Instant::now();
    let e = db
        .execute_unprepared("SELECT pg_sleep(5)")
        .await
        .unwrap_err();
    assert_unavailable(e, started, Duration::from_secs(1));
    // The connection is usable again at once.
    db.execute_unprepared("SELECT 1").await.unwrap();
}

#[tokio::test]
async fn a_transaction_cut_short_writes_nothing_on_postgres() {
    let Some(db) = postgres().await else { return };
    // One pooled connection: the temporary table is seen by every statement below.
    db.execute_unprepared("CREATE TEMPORARY TABLE cut (x int)")
        .await
        .unwrap();
    let txn = db.begin().await.unwrap();
    txn.execute_unprepared("INSERT INTO cut VALUES (1)")
        .await
        .unwrap();
    let started = Instant::now();
    let e = txn
        .execute_unprepared("SELECT pg_sleep(5)")
        .await
        .unwrap_err();
    assert_unavailable(e, started, Duration::from_secs(1));
    drop(txn);
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT count(*) AS n FROM cut",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), 0);
}

#[tokio::test]
async fn a_database_that_never_answers_is_unavailable_within_the_acquire_timeout() {
    // A listener that accepts and never speaks, as a cut network or a hung server does.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            sockets.push(socket);
        }
    });
    let started = Instant::now();
    let e = db::connect_with(&format!("postgres://u:p@127.0.0.1:{port}/w"), 1, SHORT)
        .await
        .unwrap_err();
    assert_unavailable(e, started, Duration::from_secs(1));
    held.abort();
}

#[tokio::test]
async fn a_write_lock_held_past_the_busy_timeout_is_unavailable_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("warden-busy-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/w.db?mode=rwc", dir.display());
    let db = db::connect_with(&url, 2, SHORT).await.unwrap();
    db.execute_unprepared("CREATE TABLE t (x int)")
        .await
        .unwrap();
    // One connection takes the write lock and keeps it.
    let holder = db::connect_with(&url, 1, SHORT).await.unwrap();
    let txn = holder.begin().await.unwrap();
    txn.execute_unprepared("INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    let started = Instant::now();
    let e = db
        .execute_unprepared("INSERT INTO t VALUES (2)")
        .await
        .unwrap_err();
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "waited for the lock first"
    );
    assert_unavailable(e, started, Duration::from_secs(2));
    txn.rollback().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
