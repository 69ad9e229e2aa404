//! Storage tests: every scenario runs on SQLite in memory, and on PostgreSQL when it is reachable
//! (`POSTGRES_TEST_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`). Under
//! `CI=true` an unreachable PostgreSQL fails the run instead of being skipped.

use std::sync::Arc;

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use uuid::Uuid;
use warden_adapters::db::{self, SeaOrmRefreshTokenRepository, SeaOrmUserRepository};
use warden_adapters::{Services, Settings};
use warden_domain::Error;
use warden_domain::account::NewAccount;
use warden_domain::audit::{AuditKind, AuditQuery};
use warden_domain::import::{Given, ImportedUser, OnConflict, Placement};
use warden_domain::ports::{AuditLog, RefreshTokenRepository, UserChange, UserRepository};
use warden_domain::principal::Principal;
use warden_domain::refresh::RefreshToken;
use warden_domain::user::{DisplayName, Email, PasswordHash, Role, User};

/// A database for one test, dropped by [`TestDb::finish`].
struct TestDb {
    name: &'static str,
    url: String,
    db: DatabaseConnection,
    cleanup: Option<(DatabaseConnection, String)>,
}

impl TestDb {
    async fn finish(self) {
        drop(self.db);
        if let Some((admin, database)) = self.cleanup {
            let _ = admin
                .execute_unprepared(&format!(
                    "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
                ))
                .await;
        }
    }
}

#[path = "storage_parts/clients.rs"]
mod clients;
#[path = "storage_parts/mail.rs"]
mod mail;
#[path = "storage_parts/mfa.rs"]
mod mfa;

async fn sqlite() -> TestDb {
    let db = db::connect("sqlite::memory:", 1).await.unwrap();
    db::migrate(&db).await.unwrap();
    TestDb {
        name: "sqlite",
        url: "sqlite::memory:".into(),
        db,
        cleanup: None,
    }
}

/// A fresh PostgreSQL database, or `None` (with a note) where none is reachable outside CI.
async fn postgres() -> Option<TestDb> {
    let url = std::env::var("POSTGRES_TEST_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let admin = match db::connect(&url, 2).await {
        Ok(admin) => admin,
        Err(e) if std::env::var("CI").is_err() => {
            eprintln!("SKIPPED PostgreSQL storage tests: {url} is not reachable ({e})");
            return None;
        }
        Err(e) => panic!("CI=true but PostgreSQL at {url} is not reachable: {e}"),
    };
    let database = format!("warden_test_{}", Uuid::new_v4().simple());
    admin
        .execute_raw(Statement::from_string(
            admin.get_database_backend(),
            format!("CREATE DATABASE \"{database}\""),
        ))
        .await
        .unwrap();
    let (base, _) = url.rsplit_once('/').unwrap();
    let url = format!("{base}/{database}");
    let db = db::connect(&url, 8).await.unwrap();
    db::migrate(&db).await.unwrap();
    Some(TestDb {
        name: "postgres",
        url,
        db,
        cleanup: Some((admin, database)),
    })
}

/// How many events of `kind` the trail holds (at most 200).
async fn count(trail: &db::SeaOrmAuditLog, kind: AuditKind) -> usize {
    let query = AuditQuery {
        kind: Some(kind),
        limit: 200,
        ..AuditQuery::default()
    };
    trail.list(&query).await.unwrap().len()
}

async fn backends() -> Vec<TestDb> {
    let mut all = vec![sqlite().await];
    all.extend(postgres().await);
    all
}

fn user(email: &str, role: Role) -> User {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    User {
        id: Uuid::now_v7(),
        email: Email::parse(email).unwrap(),
        display_name: None,
        role,
        disabled: false,
        password_hash: PasswordHash::new("$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA".into()),
        session_version: 0,
        created_at: now,
        updated_at: now,
        email_verified_at: None,
        mfa_enabled_at: None,
    }
}

#[tokio::test]
async fn users_round_trip_and_emails_are_unique_case_insensitively() {
    for t in backends().await {
        let repo = SeaOrmUserRepository::new(t.db.clone());
        let alice = user("Alice@Example.com", Role::User);
        repo.insert(&alice, &audit()).await.unwrap();

        let by_id = repo.find_by_id(alice.id).await.unwrap().unwrap();
        assert_eq!(by_id.email.as_str(), "Alice@Example.com", "{}", t.name);
        assert_eq!(by_id.created_at, alice.created_at, "{}", t.name);
        assert_eq!(by_id.password_hash.expose(), alice.password_hash.expose());
        let by_email = repo
            .find_by_email(&Email::parse("alice@EXAMPLE.com").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_email.id, alice.id, "{}", t.name);

        let twin = user("ALICE@example.COM", Role::User);
        assert!(
            matches!(repo.insert(&twin, &audit()).await, Err(Error::EmailTaken)),
            "{}",
            t.name
        );
        assert!(repo.find_by_id(Uuid::now_v7()).await.unwrap().is_none());
        t.finish().await;
    }
}

#[tokio::test]
async fn list_pages_by_id_and_new_users_never_shift_a_page() {
    for t in backends().await {
        let repo = SeaOrmUserRepository::new(t.db.clone());
        let mut ids = Vec::new();
        for i in 0..5 {
            let u = user(&format!("u{i}@example.com"), Role::User);
            ids.push(u.id);
            repo.insert(&u, &audit()).await.unwrap();
        }
        let first = repo.list(None, 2).await.unwrap();
        assert_eq!(
            first.iter().map(|u| u.id).collect::<Vec<_>>(),
            ids[..2],
            "{}",
            t.name
        );
        // A user created between two pages lands after every existing one.
        repo.insert(&user("late@example.com", Role::User), &audit())
            .await
            .unwrap();
        let second = repo.list(Some(ids[1]), 3).await.unwrap();
        assert_eq!(
            second.iter().map(|u| u.id).collect::<Vec<_>>(),
            ids[2..5],
            "{}",
            t.name
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn updates_apply_and_can_end_sessions() {
    for t in backends().await {
        let repo = SeaOrmUserRepository::new(t.db.clone());
        let u = user("bob@example.com", Role::User);
        repo.insert(&u, &audit()).await.unwrap();
        let change = UserChange {
            role: Some(Role::Service),
            disabled: Some(true),
            password_hash: Some(PasswordHash::new("new-hash".into())),
            end_sessions: true,
            ..UserChange::default()
        };
        let after = repo.update(u.id, change, &audit()).await.unwrap();
        assert_eq!(
            (after.role, after.disabled, after.session_version),
            (Role::Service, true, 1),
            "{}",
            t.name
        );
        assert_eq!(after.password_hash.expose(), "new-hash");
        let reread = repo.find_by_id(u.id).await.unwrap().unwrap();
        assert_eq!(reread.session_version, 1, "{}", t.name);

        // A rehash replaces only the hash it verified: not one changed meanwhile.
        let (verified, rehashed) = (
            PasswordHash::new("new-hash".into()),
            PasswordHash::new("rehashed".into()),
        );
        let stale = PasswordHash::new("stale".into());
        assert!(
            !repo
                .update_password_hash(u.id, &stale, &rehashed, None)
                .await
                .unwrap()
        );
        assert!(
            !repo
                .update_password_hash(Uuid::now_v7(), &verified, &rehashed, None)
                .await
                .unwrap()
        );
        assert!(
            repo.update_password_hash(u.id, &verified, &rehashed, None)
                .await
                .unwrap()
        );
        let reread = repo.find_by_id(u.id).await.unwrap().unwrap();
        assert_eq!(
            (reread.password_hash.expose(), reread.session_version),
            ("rehashed", 1)
        );

        let missing = Uuid::now_v7();
        assert!(matches!(
            repo.update(missing, UserChange::default(), &audit()).await,
            Err(Error::NotFound)
        ));
        assert!(matches!(
            repo.delete(missing, &audit()).await,
            Err(Error::NotFound)
        ));
        repo.delete(u.id, &audit()).await.unwrap();
        assert!(repo.find_by_id(u.id).await.unwrap().is_none(), "{}", t.name);
        t.finish().await;
    }
}

#[tokio::test]
async fn the_last_enabled_admin_cannot_be_demoted_disabled_or_deleted() {
    for t in backends().await {
        let repo = SeaOrmUserRepository::new(t.db.clone());
        let root = user("root@example.com", Role::Admin);
        repo.insert(&root, &audit()).await.unwrap();
        let demote = UserChange {
            role: Some(Role::User),
            ..UserChange::default()
        };
        let disable = UserChange {
            disabled: Some(true),
            ..UserChange::default()
        };
        assert!(
            matches!(
                repo.update(root.id, demote.clone(), &audit()).await,
                Err(Error::LastAdmin)
            ),
            "{}",
            t.name
        );
        assert!(
            matches!(
                repo.update(root.id, disable.clone(), &audit()).await,
                Err(Error::LastAdmin)
            ),
            "{}",
            t.name
        );
        assert!(
            matches!(repo.delete(root.id, &audit()).await, Err(Error::LastAdmin)),
            "{}",
            t.name
        );
        // Nothing was half-applied.
        let still = repo.find_by_id(root.id).await.unwrap().unwrap();
        assert_eq!(
            (still.role, still.disabled),
            (Role::Admin, false),
            "{}",
            t.name
        );

        // A disabled admin does not count as another admin.
        let off = user("off@example.com", Role::Admin);
        repo.insert(
            &User {
                disabled: true,
                ..off
            },
            &audit(),
        )
        .await
        .unwrap();
        assert!(matches!(
            repo.update(root.id, demote.clone(), &audit()).await,
            Err(Error::LastAdmin)
        ));

        // With a second enabled admin, the first may go.
        repo.insert(&user("second@example.com", Role::Admin), &audit())
            .await
            .unwrap();
        repo.update(root.id, demote, &audit()).await.unwrap();
        t.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    for t in backends().await {
        // SQLite in memory has one connection; use a file so the two writers really race.
        let (db, dir) = if t.name == "sqlite" {
            let dir = std::env::temp_dir().join(format!("warden-race-{}", Uuid::new_v4().simple()));
            std::fs::create_dir_all(&dir).unwrap();
            let url = format!("sqlite://{}/race.db?mode=rwc", dir.display());
            let db = db::connect(&url, 4).await.unwrap();
            db::migrate(&db).await.unwrap();
            (db, Some(dir))
        } else {
            (t.db.clone(), None)
        };
        for round in 0..10 {
            let repo = Arc::new(SeaOrmUserRepository::new(db.clone()));
            let a = user(&format!("a{round}@example.com"), Role::Admin);
            let b = user(&format!("b{round}@example.com"), Role::Admin);
            repo.insert(&a, &audit()).await.unwrap();
            repo.insert(&b, &audit()).await.unwrap();
            // Each round starts from an empty table: these are the only two admins.
            let demote = UserChange {
                role: Some(Role::User),
                ..UserChange::default()
            };
            let (ra, rb) = tokio::join!(
                tokio::spawn({
                    let (repo, d) = (repo.clone(), demote.clone());
                    async move { repo.update(a.id, d, &audit()).await }
                }),
                tokio::spawn({
                    let (repo, d) = (repo.clone(), demote.clone());
                    async move { repo.update(b.id, d, &audit()).await }
                }),
            );
            let results = [ra.unwrap(), rb.unwrap()];
            let ok = results.iter().filter(|r| r.is_ok()).count();
            let refused = results
                .iter()
                .filter(|r| matches!(r, Err(Error::LastAdmin)))
                .count();
            assert_eq!(
                (ok, refused),
                (1, 1),
                "{} round {round}: {results:?}",
                t.name
            );
            let admins = repo
                .list(None, 10)
                .await
                .unwrap()
                .into_iter()
                .filter(|u| u.role == Role::Admin)
                .count();
            assert_eq!(admins, 1, "{} round {round}", t.name);
            db.execute_unprepared("DELETE FROM users").await.unwrap();
        }
        drop(db);
        if let Some(dir) = dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        t.finish().await;
    }
}

#[tokio::test]
async fn migrations_are_idempotent() {
    for t in backends().await {
        db::migrate(&t.db).await.unwrap();
        db::migrate(&t.db).await.unwrap();
        t.finish().await;
    }
}

/// The lockout repository and what it needs, on a test database.
mod lockout_store {
    pub(crate) use warden_adapters::db::SeaOrmLockoutRepository;
    pub(crate) use warden_domain::lockout::{LockScope, LockState};
    pub(crate) use warden_domain::ports::LockoutRepository;

    /// A time as the store keeps it: whole microseconds.
    pub(crate) fn now() -> time::OffsetDateTime {
        let now = time::OffsetDateTime::now_utc();
        now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .unwrap()
    }
}

#[tokio::test]
async fn lockout_counts_upsert_clear_and_are_purged_without_their_user() {
    use lockout_store::*;
    for t in backends().await {
        let users = SeaOrmUserRepository::new(t.db.clone());
        let locks = SeaOrmLockoutRepository::new(t.db.clone());
        let u = user("lock@example.com", Role::User);
        users.insert(&u, &audit()).await.unwrap();
        let ip = LockScope::Ip("192.0.2.1".parse().unwrap());
        assert_eq!(
            locks.get(u.id, &ip).await.unwrap(),
            LockState::default(),
            "{}",
            t.name
        );
        let until = now() + time::Duration::minutes(5);
        let state = LockState {
            failures: 2,
            locked_until: Some(until),
            locks_in_a_row: 1,
        };
        locks.put(u.id, &ip, state).await.unwrap();
        locks
            .put(
                u.id,
                &ip,
                LockState {
                    failures: 3,
                    ..state
                },
            )
            .await
            .unwrap();
        locks.put(u.id, &LockScope::Account, state).await.unwrap();
        assert_eq!(
            locks.get(u.id, &ip).await.unwrap(),
            LockState {
                failures: 3,
                ..state
            },
            "{}: the lock end to the microsecond",
            t.name
        );
        let other = LockScope::Ip("192.0.2.2".parse().unwrap());
        locks.put(u.id, &other, state).await.unwrap();
        locks
            .clear(u.id, &[ip.clone(), LockScope::Account])
            .await
            .unwrap();
        assert_eq!(locks.get(u.id, &ip).await.unwrap(), LockState::default());
        assert_eq!(
            locks.get(u.id, &LockScope::Account).await.unwrap(),
            LockState::default()
        );
        assert_eq!(locks.get(u.id, &other).await.unwrap(), state, "{}", t.name);
        locks.clear_all(u.id, &audit()).await.unwrap();
        assert_eq!(locks.get(u.id, &other).await.unwrap(), LockState::default());

        // Purging keeps users' counts and locks in force, and drops every other count.
        let at = now();
        let unlocked = LockState {
            failures: 4,
            ..LockState::default()
        };
        let ended = LockState {
            locked_until: Some(at),
            ..state
        };
        let in_force = LockState {
            locked_until: Some(at + time::Duration::microseconds(1)),
            ..state
        };
        let (stranger, locked_stranger) = (Uuid::new_v4(), Uuid::new_v4());
        locks.put(u.id, &ip, unlocked).await.unwrap();
        locks.put(u.id, &other, ended).await.unwrap();
        locks.put(stranger, &ip, unlocked).await.unwrap();
        locks.put(stranger, &other, ended).await.unwrap();
        locks.put(locked_stranger, &ip, in_force).await.unwrap();
        assert_eq!(locks.purge(at).await.unwrap(), 2, "{}", t.name);
        assert_eq!(locks.get(u.id, &ip).await.unwrap(), unlocked);
        assert_eq!(locks.get(u.id, &other).await.unwrap(), ended);
        assert_eq!(locks.get(locked_stranger, &ip).await.unwrap(), in_force);
        assert_eq!(
            locks.get(stranger, &ip).await.unwrap(),
            LockState::default()
        );
        // A deleted user's counts are no user's any more: the next purge takes them.
        users.delete(u.id, &audit()).await.unwrap();
        assert_eq!(locks.purge(at).await.unwrap(), 2, "{}", t.name);
        assert_eq!(locks.get(u.id, &ip).await.unwrap(), LockState::default());
        t.finish().await;
    }
}

#[tokio::test]
async fn a_reservation_is_exactly_the_domain_s_count_of_the_stored_state() {
    use lockout_store::*;
    for t in backends().await {
        let locks = SeaOrmLockoutRepository::new(t.db.clone());
        let at = now();
        let minute = time::Duration::minutes(1);
        let stored = [
            None,
            Some(LockState {
                failures: 3,
                locked_until: None,
                locks_in_a_row: 2,
            }),
            // A lock in force: not counted.
            Some(LockState {
                failures: 0,
                locked_until: Some(at + minute),
                locks_in_a_row: 1,
            }),
            // A lock ending this very moment: counted, and forgotten.
            Some(LockState {
                failures: 0,
                locked_until: Some(at),
                locks_in_a_row: 1,
            }),
            Some(LockState {
                failures: 0,
                locked_until: Some(at - minute),
                locks_in_a_row: 4,
            }),
        ];
        for (n, before) in stored.into_iter().enumerate() {
            let subject = Uuid::new_v4();
            let scope = LockScope::Account;
            if let Some(state) = before {
                locks.put(subject, &scope, state).await.unwrap();
            }
            let expected = before.unwrap_or_default().counted(at);
            let got = locks.reserve(subject, &scope, at).await.unwrap();
            assert_eq!(got, expected, "{}: case {n}", t.name);
            assert_eq!(locks.get(subject, &scope).await.unwrap(), expected);
        }
        t.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_reservations_get_the_counts_one_to_n_exactly() {
    use lockout_store::*;
    const TASKS: u32 = 40;
    let (dir, targets) = concurrent_targets(8).await;
    for (name, db, pg) in targets {
        let locks = Arc::new(SeaOrmLockoutRepository::new(db));
        let subject = Uuid::new_v4();
        for scope in [
            LockScope::Ip("203.0.113.9".parse().unwrap()),
            LockScope::Account,
        ] {
            let at = now();
            let start = Arc::new(tokio::sync::Barrier::new(TASKS as usize));
            let racers: Vec<_> = (0..TASKS)
                .map(|_| {
                    let (locks, scope, start) = (locks.clone(), scope.clone(), start.clone());
                    tokio::spawn(async move {
                        start.wait().await;
                        locks.reserve(subject, &scope, at).await.unwrap().failures
                    })
                })
                .collect();
            let mut counts = Vec::new();
            for racer in racers {
                counts.push(racer.await.unwrap());
            }
            counts.sort_unstable();
            assert_eq!(counts, (1..=TASKS).collect::<Vec<_>>(), "{name}, {scope:?}");
            assert_eq!(locks.get(subject, &scope).await.unwrap().failures, TASKS);
        }
        if let Some(pg) = pg {
            pg.finish().await;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A row as the old `login_throttles` held it, the lock end written by the driver as a timestamp.
fn old_throttle(
    db: &DatabaseConnection,
    user_id: Uuid,
    scope: &str,
    failures: i32,
    until: Option<OffsetDateTime>,
    locks: i32,
) -> Statement {
    use sea_orm::sea_query::{Alias, Query};
    let insert = Query::insert()
        .into_table(Alias::new("login_throttles"))
        .columns(
            [
                "user_id",
                "scope",
                "failures",
                "locked_until",
                "locks_in_a_row",
            ]
            .map(Alias::new),
        )
        .values_panic([
            user_id.into(),
            scope.into(),
            failures.into(),
            until.into(),
            locks.into(),
        ])
        .to_owned();
    db.get_database_backend().build(&insert)
}

/// The scopes in the old `login_throttles`, each with whether it holds a lock end.
async fn scopes_and_locks(db: &DatabaseConnection) -> Vec<(String, bool)> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT scope, locked_until IS NOT NULL AS locked FROM login_throttles ORDER BY scope",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            (
                r.try_get("", "scope").unwrap(),
                r.try_get("", "locked").unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_migration_to_any_subject_keeps_every_count_and_lock() {
    use lockout_store::*;
    use sea_orm_migration::MigratorTrait;
    use warden_adapters::db::migration::Migrator;
    // Empty databases, brought only as far as the table with a foreign key and timestamps.
    let mut targets = vec![(
        "sqlite",
        db::connect("sqlite::memory:", 1).await.unwrap(),
        None,
    )];
    if let Some(pg) = postgres().await {
        pg.db
            .execute_unprepared("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            .await
            .unwrap();
        targets.push(("postgres", pg.db.clone(), Some(pg)));
    }
    for (name, db, pg) in targets {
        Migrator::up(&db, Some(4)).await.unwrap();
        let u = user("kept@example.com", Role::User);
        insert_user_row(&db, u.id, "kept@example.com", u.created_at).await;
        let until = time::macros::datetime!(2031-02-03 04:05:06.789 UTC);
        db.execute_raw(old_throttle(&db, u.id, "account", 0, Some(until), 3))
            .await
            .unwrap();
        db.execute_raw(old_throttle(&db, u.id, "192.0.2.7", 2, None, 0))
            .await
            .unwrap();
        db::migrate(&db).await.unwrap();
        let locks = SeaOrmLockoutRepository::new(db.clone());
        assert_eq!(
            locks.get(u.id, &LockScope::Account).await.unwrap(),
            LockState {
                failures: 0,
                locked_until: Some(until),
                locks_in_a_row: 3,
            },
            "{name}"
        );
        let ip = LockScope::Ip("192.0.2.7".parse().unwrap());
        assert_eq!(locks.get(u.id, &ip).await.unwrap().failures, 2, "{name}");
        // And a subject that is no user can now be counted.
        let stranger = Uuid::new_v4();
        assert_eq!(
            locks.reserve(stranger, &ip, now()).await.unwrap().failures,
            1,
            "{name}"
        );
        // Rolled back (with whatever came after it), only the user's counts go back.
        let after = Migrator::migrations()
            .iter()
            .rev()
            .position(|m| m.name().ends_with("login_throttles_for_any_subject"))
            .unwrap();
        Migrator::down(&db, Some(u32::try_from(after).unwrap() + 1))
            .await
            .unwrap();
        let back = scopes_and_locks(&db).await;
        assert_eq!(
            back,
            [
                ("192.0.2.7".to_owned(), false),
                ("account".to_owned(), true)
            ],
            "{name}"
        );
        db::migrate(&db).await.unwrap();
        assert_eq!(
            locks
                .get(u.id, &LockScope::Account)
                .await
                .unwrap()
                .locked_until,
            Some(until),
            "{name}: there and back again"
        );
        if let Some(pg) = pg {
            pg.finish().await;
        }
    }
}

#[tokio::test]
async fn api_keys_are_found_by_prefix_revoked_touched_and_go_with_their_user() {
    use warden_adapters::db::SeaOrmApiKeyRepository;
    use warden_domain::api_key::ApiKey;
    use warden_domain::ports::ApiKeyRepository;
    for t in backends().await {
        let users = SeaOrmUserRepository::new(t.db.clone());
        let keys = SeaOrmApiKeyRepository::new(t.db.clone());
        let u = user("keys@example.com", Role::User);
        users.insert(&u, &audit()).await.unwrap();
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let key = ApiKey {
            id: Uuid::now_v7(),
            user_id: u.id,
            name: "ci".into(),
            prefix: "wdn_abcdefghijkl".into(),
            digest: "d".repeat(64),
            created_at: now,
            expires_at: Some(now + time::Duration::days(1)),
            revoked_at: None,
            last_used_at: None,
        };
        keys.insert(&key, &audit()).await.unwrap();
        assert!(
            keys.insert(
                &ApiKey {
                    id: Uuid::now_v7(),
                    ..key.clone()
                },
                &audit()
            )
            .await
            .is_err(),
            "{}: prefix unique",
            t.name
        );
        let (found, owner) = keys
            .find_by_prefix("wdn_abcdefghijkl")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((found, owner.id), (key.clone(), u.id), "{}", t.name);
        assert!(
            keys.find_by_prefix("wdn_zzzzzzzzzzzz")
                .await
                .unwrap()
                .is_none()
        );
        keys.touch(key.id, now).await.unwrap();
        keys.revoke(key.id, now, &audit()).await.unwrap();
        let back = keys.find_by_id(key.id).await.unwrap().unwrap();
        assert_eq!(
            (back.last_used_at, back.revoked_at),
            (Some(now), Some(now)),
            "{}",
            t.name
        );
        // Unknown, or revoked already: not found, and its revocation time stays.
        for id in [Uuid::now_v7(), key.id] {
            let later = now + time::Duration::seconds(5);
            assert!(matches!(
                keys.revoke(id, later, &audit()).await,
                Err(Error::NotFound)
            ));
        }
        let back = keys.find_by_id(key.id).await.unwrap().unwrap();
        assert_eq!(back.revoked_at, Some(now), "{}", t.name);
        assert_eq!(keys.list_for_user(u.id).await.unwrap().len(), 1);
        users.delete(u.id, &audit()).await.unwrap();
        assert!(
            keys.find_by_id(key.id).await.unwrap().is_none(),
            "{}: cascade",
            t.name
        );
        t.finish().await;
    }
}

fn refresh_row(user: &User, family: Option<Uuid>, expires_in: time::Duration) -> RefreshToken {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let id = Uuid::now_v7();
    RefreshToken {
        id,
        family_id: family.unwrap_or(id),
        user_id: user.id,
        parent_id: None,
        digest: format!("{:064x}", id.as_u128()),
        session_version: user.session_version,
        issued_at: now,
        expires_at: now + expires_in,
        rotated_at: None,
        revoked_at: None,
        second_factor: false,
        client_id: None,
    }
}

#[tokio::test]
async fn refresh_tokens_rotate_once_revoke_by_family_and_purge_only_the_dead() {
    use time::Duration;
    for t in backends().await {
        let users = SeaOrmUserRepository::new(t.db.clone());
        let tokens = SeaOrmRefreshTokenRepository::new(t.db.clone());
        let u = user("refresh@example.com", Role::User);
        let other = user("other@example.com", Role::User);
        users.insert(&u, &audit()).await.unwrap();
        users.insert(&other, &audit()).await.unwrap();
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();

        // A live family that rotated once: both rows stay (the parent, to detect a reuse).
        let a0 = refresh_row(&u, None, Duration::days(1));
        tokens.insert(&a0, &origin(), &audit()).await.unwrap();
        let a1 = RefreshToken {
            parent_id: Some(a0.id),
            ..refresh_row(&u, Some(a0.family_id), Duration::days(1))
        };
        assert!(tokens.rotate(a0.id, now, &a1).await.unwrap(), "{}", t.name);
        let again = RefreshToken {
            parent_id: Some(a0.id),
            ..refresh_row(&u, Some(a0.family_id), Duration::days(1))
        };
        assert!(
            !tokens.rotate(a0.id, now, &again).await.unwrap(),
            "{}: a second rotation loses",
            t.name
        );
        assert_eq!(tokens.find_child(a0.id).await.unwrap(), Some(a1.clone()));
        let parent = tokens.find_by_digest(&a0.digest).await.unwrap().unwrap();
        assert_eq!(parent.rotated_at, Some(now), "{}", t.name);
        assert!(
            tokens
                .find_by_digest(&again.digest)
                .await
                .unwrap()
                .is_none()
        );

        // Dead rows: expired, of an ended session, revoked (with its whole family).
        let expired = refresh_row(&u, None, Duration::seconds(-1));
        let ended = RefreshToken {
            session_version: u.session_version - 1,
            ..refresh_row(&u, None, Duration::days(1))
        };
        let revoked = refresh_row(&u, None, Duration::days(1));
        let revoked_child = RefreshToken {
            parent_id: Some(revoked.id),
            ..refresh_row(&u, Some(revoked.family_id), Duration::days(1))
        };
        let elsewhere = refresh_row(&other, None, Duration::days(1));
        for row in [&expired, &ended, &revoked, &elsewhere] {
            tokens.insert(row, &origin(), &audit()).await.unwrap();
        }
        assert!(
            tokens
                .rotate(revoked.id, now, &revoked_child)
                .await
                .unwrap()
        );
        tokens
            .revoke_family(u.id, revoked.family_id, now, &audit())
            .await
            .unwrap();
        let child = tokens.find_by_digest(&revoked_child.digest).await.unwrap();
        assert_eq!(child.unwrap().revoked_at, Some(now), "{}", t.name);
        assert!(
            !tokens.rotate(revoked_child.id, now, &again).await.unwrap(),
            "{}: a revoked token never rotates",
            t.name
        );

        assert_eq!(tokens.purge(now).await.unwrap(), 4, "{}", t.name);
        assert_eq!(tokens.purge(now).await.unwrap(), 0, "{}", t.name);
        for (row, kept) in [
            (&a0, true),
            (&a1, true),
            (&elsewhere, true),
            (&expired, false),
            (&ended, false),
            (&revoked, false),
            (&revoked_child, false),
        ] {
            let found = tokens.find_by_digest(&row.digest).await.unwrap();
            assert_eq!(found.is_some(), kept, "{}: {row:?}", t.name);
        }

        users.delete(other.id, &audit()).await.unwrap();
        assert!(
            tokens
                .find_by_digest(&elsewhere.digest)
                .await
                .unwrap()
                .is_none(),
            "{}: cascade",
            t.name
        );
        t.finish().await;
    }
}

/// The use cases on a test database, as a server would build them, with cheap hashing.
async fn services_on(url: &str) -> Services {
    let mut s = Settings::default();
    s.database.url = url.into();
    s.database.max_connections = 8;
    s.jwt.secret = Some(SecretString::from(
        "storage-tests-only-9f3c2a7e51b84d06a1e2c3b4d5f60718",
    ));
    s.argon2.memory_kib = 1024;
    s.argon2.iterations = 1;
    Services::build(&s).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_many_concurrent_refreshes_with_one_token_exactly_one_wins_every_time() {
    const ROUNDS: usize = 25;
    const TASKS: usize = 16;
    let dir = std::env::temp_dir().join(format!("warden-race-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    // A file, not `:memory:`, so that the pool really holds several connections.
    let mut targets = vec![(
        "sqlite",
        format!("sqlite://{}/race.db?mode=rwc", dir.display()),
        None,
    )];
    if let Some(pg) = postgres().await {
        targets.push(("postgres", pg.url.clone(), Some(pg)));
    }
    for (name, url, pg) in targets {
        let services = services_on(&url).await;
        let auth = services.auth;
        let password = "correct horse battery staple 42";
        let account = NewAccount {
            email: "race@example.com".into(),
            password: SecretString::from(password),
            display_name: None,
        };
        services
            .admin
            .create_user(&Principal::operator(), account, Role::User)
            .await
            .unwrap();
        for round in 0..ROUNDS {
            let (_, first) = auth
                .login(
                    "race@example.com",
                    SecretString::from(password),
                    std::net::IpAddr::from([127, 0, 0, 1]),
                )
                .await
                .unwrap();
            let token: Arc<str> = first.refresh_token.expose_secret().into();
            let start = Arc::new(tokio::sync::Barrier::new(TASKS));
            let racers: Vec<_> = (0..TASKS)
                .map(|_| {
                    let (auth, token, start) = (auth.clone(), token.clone(), start.clone());
                    tokio::spawn(async move {
                        start.wait().await;
                        auth.refresh(
                            &token,
                            &warden_domain::origin::Origin::from(std::net::IpAddr::from([
                                192, 0, 2, 1,
                            ])),
                        )
                        .await
                        .map(|_| ())
                    })
                })
                .collect();
            let mut winners = 0;
            for racer in racers {
                match racer.await.unwrap() {
                    Ok(()) => winners += 1,
                    Err(Error::InvalidRefreshToken) => {}
                    Err(e) => panic!("{name}, round {round}: {}", e.with_causes()),
                }
            }
            assert_eq!(winners, 1, "{name}, round {round}");
        }
        drop(auth);
        if let Some(pg) = pg {
            pg.finish().await;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn held_reader_connections_see_every_committed_write_at_once() {
    let dir = std::env::temp_dir().join(format!("warden-readers-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/readers.db?mode=rwc", dir.display());
    let pool = db::connect(&url, 2).await.unwrap();
    db::migrate(&pool).await.unwrap();
    let readers = db::SqliteReaders::open(&pool, &url, 2).unwrap();
    assert!(readers.is_some(), "a SQLite file gets held readers");
    let memory = db::connect("sqlite::memory:", 1).await.unwrap();
    let none = db::SqliteReaders::open(&memory, "sqlite::memory:", 2);
    assert!(
        none.unwrap().is_none(),
        "an in-memory database cannot be shared"
    );

    let writes = SeaOrmUserRepository::new(pool.clone());
    let reads = db::SqliteReadModel::new(SeaOrmUserRepository::new(pool), readers);
    let u = user("reader@example.com", Role::User);
    writes.insert(&u, &audit()).await.unwrap();
    // Every held connection answers, and each sees the change committed just before.
    for round in 0..4 {
        let change = UserChange {
            disabled: Some(round % 2 == 0),
            end_sessions: true,
            ..UserChange::default()
        };
        writes.update(u.id, change, &audit()).await.unwrap();
        let seen = reads.find_by_id(u.id).await.unwrap().unwrap();
        assert_eq!(seen.disabled, round % 2 == 0, "round {round}");
        assert_eq!(seen.session_version, round + 1, "round {round}");
    }
    writes.delete(u.id, &audit()).await.unwrap();
    assert!(reads.find_by_id(u.id).await.unwrap().is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A SQLite file read both ways: its pool, one held reader, and the user repository on the
/// pool alone and behind the held reader.
struct HeldDb {
    dir: std::path::PathBuf,
    pool: DatabaseConnection,
    readers: Option<Arc<db::SqliteReaders>>,
    users: SeaOrmUserRepository,
    held_users: db::SqliteReadModel<SeaOrmUserRepository>,
}

impl HeldDb {
    async fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("warden-{name}-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}/{name}.db?mode=rwc", dir.display());
        let pool = db::connect(&url, 2).await.unwrap();
        db::migrate(&pool).await.unwrap();
        let readers = db::SqliteReaders::open(&pool, &url, 1).unwrap();
        let users = SeaOrmUserRepository::new(pool.clone());
        let held_users =
            db::SqliteReadModel::new(SeaOrmUserRepository::new(pool.clone()), readers.clone());
        Self {
            dir,
            pool,
            readers,
            users,
            held_users,
        }
    }
}

#[tokio::test]
async fn held_reads_decode_exactly_what_the_pool_reads() {
    use warden_adapters::db::SeaOrmApiKeyRepository;
    use warden_domain::api_key::ApiKey;
    use warden_domain::ports::ApiKeyRepository;
    use warden_domain::user::DisplayName;

    let HeldDb {
        dir,
        pool,
        readers,
        users,
        held_users,
    } = HeldDb::new("decode").await;
    let keys = SeaOrmApiKeyRepository::new(pool.clone());
    let held_keys =
        db::SqliteReadModel::new(SeaOrmApiKeyRepository::new(pool.clone()), readers.clone());

    // Every column in both of its shapes: a name or none, sub-second times, nulls and values.
    let mut named = user("Named@Example.com", Role::Admin);
    named.display_name = Some(DisplayName::parse("Ada Lovelace").unwrap());
    named.created_at = OffsetDateTime::now_utc();
    named.updated_at = named.created_at + time::Duration::nanoseconds(1_234_567);
    let plain = user("plain@example.com", Role::Service);
    for u in [&named, &plain] {
        users.insert(u, &audit()).await.unwrap();
        let in_place = readers.as_ref().unwrap().user_by_id(u.id);
        assert!(
            matches!(in_place, Ok(Some(_))),
            "read in place, not by the pool"
        );
        let (a, b) = (
            users.find_by_id(u.id).await.unwrap().unwrap(),
            held_users.find_by_id(u.id).await.unwrap().unwrap(),
        );
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_eq!(a.password_hash.expose(), b.password_hash.expose());
        assert_eq!(a.updated_at, u.updated_at);
    }
    let now = OffsetDateTime::now_utc();
    let full = ApiKey {
        id: Uuid::now_v7(),
        user_id: named.id,
        name: "full".into(),
        prefix: "wdn_fullfullfull".into(),
        digest: "f".repeat(64),
        created_at: now,
        expires_at: Some(now + time::Duration::days(3)),
        revoked_at: Some(now + time::Duration::seconds(1)),
        last_used_at: Some(now + time::Duration::seconds(2)),
    };
    let bare = ApiKey {
        id: Uuid::now_v7(),
        user_id: plain.id,
        name: "bare".into(),
        prefix: "wdn_barebarebare".into(),
        expires_at: None,
        revoked_at: None,
        last_used_at: None,
        ..full.clone()
    };
    for key in [&full, &bare] {
        keys.insert(key, &audit()).await.unwrap();
        let in_place = readers.as_ref().unwrap().api_key_by_prefix(&key.prefix);
        assert!(
            matches!(in_place, Ok(Some(_))),
            "read in place, not by the pool"
        );
        let (a_key, a_owner) = keys.find_by_prefix(&key.prefix).await.unwrap().unwrap();
        let (b_key, b_owner) = held_keys
            .find_by_prefix(&key.prefix)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&a_key, key);
        assert_eq!(a_key, b_key);
        assert_eq!(format!("{a_owner:?}"), format!("{b_owner:?}"));
    }
    assert!(
        held_keys
            .find_by_prefix("wdn_nonenonenone")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        held_users
            .find_by_id(Uuid::now_v7())
            .await
            .unwrap()
            .is_none()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// How many backends of this database wait on a lock now.
async fn lock_waiters(db: &DatabaseConnection) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// Waits (at most 5 s) until `n` backends wait on a lock.
async fn until_lock_waiters(db: &DatabaseConnection, n: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while lock_waiters(db).await < n {
        assert!(std::time::Instant::now() < deadline, "{n} lock waiters");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rotation_queued_behind_a_delete_of_its_user_on_postgres_does_not_deadlock() {
    use sea_orm::TransactionTrait;
    use tokio::time::timeout;
    const ROUNDS: usize = 3;
    let Some(t) = postgres().await else {
        return;
    };
    let users = Arc::new(SeaOrmUserRepository::new(t.db.clone()));
    let tokens = Arc::new(SeaOrmRefreshTokenRepository::new(t.db.clone()));
    let bound = std::time::Duration::from_secs(5);
    for round in 0..ROUNDS {
        let u = user(&format!("queued{round}@example.com"), Role::User);
        users.insert(&u, &audit()).await.unwrap();
        let parent = refresh_row(&u, None, time::Duration::days(1));
        tokens.insert(&parent, &origin(), &audit()).await.unwrap();
        let child = RefreshToken {
            parent_id: Some(parent.id),
            ..refresh_row(&u, Some(parent.family_id), time::Duration::days(1))
        };
        // The order that deadlocked: the delete waits for the user's row first, then the
        // rotation comes, and then the row is let go.
        let holder = t.db.begin().await.unwrap();
        holder
            .execute_unprepared(&format!(
                "SELECT id FROM users WHERE id = '{}' FOR UPDATE",
                u.id
            ))
            .await
            .unwrap();
        let delete = tokio::spawn({
            let users = users.clone();
            async move { timeout(bound, users.delete(u.id, &audit())).await }
        });
        until_lock_waiters(&t.db, 1).await;
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let rotate = tokio::spawn({
            let tokens = tokens.clone();
            async move { timeout(bound, tokens.rotate(parent.id, now, &child)).await }
        });
        until_lock_waiters(&t.db, 2).await;
        holder.commit().await.unwrap();
        let deleted = delete.await.unwrap().expect("the delete ends in time");
        let rotated = rotate.await.unwrap().expect("the rotation ends in time");
        assert!(
            deleted.is_ok(),
            "round {round}: {}",
            deleted.unwrap_err().with_causes()
        );
        match rotated {
            Err(Error::InvalidRefreshToken) => {}
            other => panic!(
                "round {round}: the user went first, so the grant is invalid: {:?}",
                other.map_err(|e| e.with_causes())
            ),
        }
    }
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotations_racing_deletes_of_their_user_win_or_find_the_grant_invalid() {
    const ROUNDS: usize = 20;
    let (dir, targets) = concurrent_targets(4).await;
    for (name, pool, pg) in targets {
        let users = Arc::new(SeaOrmUserRepository::new(pool.clone()));
        let tokens = Arc::new(SeaOrmRefreshTokenRepository::new(pool));
        let mut outcomes = std::collections::BTreeMap::new();
        for round in 0..ROUNDS {
            let u = user(&format!("rotdel{round}@example.com"), Role::User);
            users.insert(&u, &audit()).await.unwrap();
            let parent = refresh_row(&u, None, time::Duration::days(1));
            tokens.insert(&parent, &origin(), &audit()).await.unwrap();
            let child = RefreshToken {
                parent_id: Some(parent.id),
                ..refresh_row(&u, Some(parent.family_id), time::Duration::days(1))
            };
            let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
            let start = Arc::new(tokio::sync::Barrier::new(2));
            let delete = tokio::spawn({
                let (users, start) = (users.clone(), start.clone());
                async move {
                    start.wait().await;
                    users.delete(u.id, &audit()).await
                }
            });
            let rotate = tokio::spawn({
                let tokens = tokens.clone();
                async move {
                    start.wait().await;
                    tokens.rotate(parent.id, now, &child).await
                }
            });
            let bound = std::time::Duration::from_secs(5);
            let deleted = tokio::time::timeout(bound, delete).await.unwrap().unwrap();
            let rotated = tokio::time::timeout(bound, rotate).await.unwrap().unwrap();
            assert!(
                deleted.is_ok(),
                "{name}: {:?}",
                deleted.map_err(|e| e.with_causes())
            );
            let outcome = match rotated {
                Ok(true) => "rotated, then deleted",
                Err(Error::InvalidRefreshToken) => "deleted first",
                other => panic!(
                    "{name}, round {round}: {:?}",
                    other.map_err(|e| e.with_causes())
                ),
            };
            *outcomes.entry(outcome).or_insert(0) += 1;
        }
        eprintln!("{name}: {outcomes:?}");
        if let Some(pg) = pg {
            pg.finish().await;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn rows_written_for_a_deleted_user_fail_as_its_absence_implies() {
    use warden_adapters::db::SeaOrmApiKeyRepository;
    use warden_domain::api_key::ApiKey;
    use warden_domain::ports::ApiKeyRepository;
    for t in backends().await {
        let users = SeaOrmUserRepository::new(t.db.clone());
        let gone = user("gone@example.com", Role::User);
        users.insert(&gone, &audit()).await.unwrap();
        users.delete(gone.id, &audit()).await.unwrap();
        let tokens = SeaOrmRefreshTokenRepository::new(t.db.clone());
        let first = refresh_row(&gone, None, time::Duration::days(1));
        assert!(
            matches!(
                tokens.insert(&first, &origin(), &audit()).await,
                Err(Error::InvalidCredentials)
            ),
            "{}: a login's first token",
            t.name
        );
        let now = OffsetDateTime::now_utc();
        let key = ApiKey {
            id: Uuid::now_v7(),
            user_id: gone.id,
            name: "k".into(),
            prefix: "wdn_goneeeeeeeee".into(),
            digest: "0".repeat(64),
            created_at: now,
            expires_at: None,
            revoked_at: None,
            last_used_at: None,
        };
        let keys = SeaOrmApiKeyRepository::new(t.db.clone());
        assert!(
            matches!(keys.insert(&key, &audit()).await, Err(Error::InvalidToken)),
            "{}: an API key",
            t.name
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn look_alike_emails_are_taken_on_both_stores() {
    for t in backends().await {
        let repo = SeaOrmUserRepository::new(t.db.clone());
        repo.insert(&user("admin@example.com", Role::Admin), &audit())
            .await
            .unwrap();
        for alike in [
            "adm\u{456}n@example.com",
            "\u{ff41}dmin@example.com",
            "admin@ex\u{430}mple.com",
        ] {
            assert!(
                matches!(
                    repo.insert(&user(alike, Role::User), &audit()).await,
                    Err(Error::EmailTaken)
                ),
                "{}: {alike:?}",
                t.name
            );
        }
        repo.insert(&user("admins@example.com", Role::User), &audit())
            .await
            .unwrap();
        t.finish().await;
    }
}

#[tokio::test]
async fn the_skeleton_migration_fills_existing_accounts_oldest_first() {
    use sea_orm::EntityTrait;
    use sea_orm_migration::MigratorTrait;
    use warden_adapters::db::migration::Migrator;

    let mut targets = vec![(
        "sqlite",
        db::connect("sqlite::memory:", 1).await.unwrap(),
        None,
    )];
    if let Some(pg) = postgres().await {
        // The fresh database is migrated already: start it over from nothing.
        Migrator::down(&pg.db, None).await.unwrap();
        targets.push(("postgres", pg.db.clone(), Some(pg)));
    }
    for (name, pool, pg) in targets {
        Migrator::up(&pool, Some(4)).await.unwrap();
        let t0 = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let rows = [
            ("admin@example.com", t0),
            ("adm\u{456}n@example.com", t0 + time::Duration::seconds(1)),
            ("bob@example.com", t0 + time::Duration::seconds(2)),
        ];
        let mut ids = Vec::new();
        for (email, at) in rows {
            let id = Uuid::now_v7();
            ids.push(id);
            insert_user_row(&pool, id, email, at).await;
        }
        Migrator::up(&pool, None).await.unwrap();

        let skeleton = |e: &str| Some(Email::parse(e).unwrap().skeleton());
        for (id, expected) in ids.iter().zip([
            skeleton("admin@example.com"),
            None,
            skeleton("bob@example.com"),
        ]) {
            let row = db::entity::user::Entity::find_by_id(*id)
                .one(&pool)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(row.email_skeleton, expected, "{name}: {}", row.email);
        }
        let repo = SeaOrmUserRepository::new(pool.clone());
        assert!(
            repo.find_by_id(ids[1]).await.unwrap().is_some(),
            "{name}: the later look-alike still loads"
        );
        assert!(
            matches!(
                repo.insert(&user("\u{430}dmin@example.com", Role::User), &audit())
                    .await,
                Err(Error::EmailTaken)
            ),
            "{name}: every new account is checked"
        );
        if let Some(pg) = pg {
            pg.finish().await;
        }
    }
}

#[tokio::test]
async fn held_user_reads_decode_every_column_the_pool_reads() {
    use sea_orm::EntityTrait;
    let dir = std::env::temp_dir().join(format!("warden-columns-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/columns.db?mode=rwc", dir.display());
    let pool = db::connect(&url, 2).await.unwrap();
    db::migrate(&pool).await.unwrap();
    let readers = db::SqliteReaders::open(&pool, &url, 1).unwrap().unwrap();
    let u = user("Columns@Example.com", Role::User);
    SeaOrmUserRepository::new(pool.clone())
        .insert(&u, &audit())
        .await
        .unwrap();
    let held = readers.user_by_id(u.id).unwrap().unwrap();
    let pooled = db::entity::user::Entity::find_by_id(u.id)
        .one(&pool)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held, pooled);
    assert_eq!(held.email_skeleton, Some(u.email.skeleton()));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A user row as the first migrations shaped it (no skeleton yet), written in plain SQL so that
/// migration tests can stop before the later columns exist.
async fn insert_user_row(pool: &DatabaseConnection, id: Uuid, email: &str, at: OffsetDateTime) {
    use sea_orm::sea_query::{Alias, Query};
    let insert = Query::insert()
        .into_table(Alias::new("users"))
        .columns(
            [
                "id",
                "email",
                "email_normalized",
                "role",
                "disabled",
                "password_hash",
                "session_version",
                "created_at",
                "updated_at",
            ]
            .map(Alias::new),
        )
        .values_panic([
            id.into(),
            email.into(),
            email.into(),
            "user".into(),
            false.into(),
            "h".into(),
            0i64.into(),
            at.into(),
            at.into(),
        ])
        .to_owned();
    pool.execute(&insert).await.unwrap();
}

/// Stores for a race: a migrated SQLite file (not `:memory:`, so that the pool really holds
/// `connections` connections) and, where it answers, a fresh PostgreSQL database; the
/// SQLite file's directory comes first, for the test to remove.
async fn concurrent_targets(
    connections: u32,
) -> (
    std::path::PathBuf,
    Vec<(&'static str, DatabaseConnection, Option<TestDb>)>,
) {
    let dir = std::env::temp_dir().join(format!("warden-race-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/race.db?mode=rwc", dir.display());
    let file = db::connect(&url, connections).await.unwrap();
    db::migrate(&file).await.unwrap();
    let mut targets = vec![("sqlite", file, None)];
    if let Some(pg) = postgres().await {
        targets.push(("postgres", pg.db.clone(), Some(pg)));
    }
    (dir, targets)
}

const IMPORTED_HASH: &str = "$2b$04$..CA.uOD/eaGAOmJB.yMBuXETkX0fnYkrqZU3taFDwa1Pzblb2cVm";

fn imported(email: &str, given: Given) -> ImportedUser {
    let mut u = user(email, Role::User);
    u.password_hash = PasswordHash::new(IMPORTED_HASH.to_owned());
    ImportedUser { user: u, given }
}

#[tokio::test]
async fn imports_place_each_user_as_the_policy_says_and_a_dry_run_writes_nothing() {
    use OnConflict::{Fail, Skip, Update};
    use Placement::{Exists, Inserted, LookAlike, Skipped, Updated};
    for t in backends().await {
        let repo = SeaOrmUserRepository::new(t.db.clone());
        let root = user("root@example.com", Role::Admin);
        let bob = User {
            display_name: Some(DisplayName::parse("Bob").unwrap()),
            ..user("bob@example.com", Role::User)
        };
        repo.insert(&root, &audit()).await.unwrap();
        repo.insert(&bob, &audit()).await.unwrap();
        let by = |e: &str| {
            let repo = repo.clone();
            let e = Email::parse(e).unwrap();
            async move { repo.find_by_email(&e).await.unwrap() }
        };

        let batch = [
            imported("new@example.com", Given::default()),
            imported("BOB@example.com", Given::default()),
            imported("b\u{043e}b@example.com", Given::default()),
        ];
        let placed = repo.import(&batch, Fail, false, &audit()).await.unwrap();
        assert_eq!(placed, [Inserted, Exists, LookAlike], "{}", t.name);
        let new = by("new@example.com").await.unwrap();
        assert_eq!(new.password_hash.expose(), IMPORTED_HASH);
        assert_eq!(by("bob@example.com").await.unwrap().session_version, 0);

        let dry = [imported("dry@example.com", Given::default())];
        assert_eq!(
            repo.import(&dry, Fail, true, &audit()).await.unwrap(),
            [Inserted]
        );
        assert!(by("dry@example.com").await.is_none(), "{}", t.name);

        let again = [imported("bob@example.com", Given::default())];
        assert_eq!(
            repo.import(&again, Skip, false, &audit()).await.unwrap(),
            [Skipped]
        );
        assert_ne!(
            by("bob@example.com").await.unwrap().password_hash.expose(),
            IMPORTED_HASH
        );

        // An update takes the hash and the fields given, keeps the rest, ends the sessions.
        let mut service = imported(
            "bob@example.com",
            Given {
                role: true,
                email_verified: true,
                ..Given::default()
            },
        );
        service.user.role = Role::Service;
        service.user.email_verified_at = Some(service.user.updated_at);
        assert_eq!(
            repo.import(&[service], Update, false, &audit())
                .await
                .unwrap(),
            [Updated]
        );
        let updated = by("bob@example.com").await.unwrap();
        assert_eq!(
            (
                updated.role,
                updated.session_version,
                updated.password_hash.expose()
            ),
            (Role::Service, 1, IMPORTED_HASH)
        );
        assert_eq!(updated.display_name.unwrap().as_str(), "Bob");
        assert!(updated.email_verified_at.is_some());
        assert_eq!(updated.id, bob.id);

        assert_admin_kept(&repo, &root).await;
        assert_import_events(&t, new.id, bob.id, root.id).await;
        t.finish().await;
    }
}

/// An enabled admin is never changed by an import: not demoted, not disabled, not given a
/// password.
async fn assert_admin_kept(repo: &SeaOrmUserRepository, root: &User) {
    use OnConflict::Update;
    let mut demote = imported(
        "root@example.com",
        Given {
            role: true,
            ..Given::default()
        },
    );
    demote.user.role = Role::User;
    let mut disable = imported(
        "root@example.com",
        Given {
            disabled: true,
            ..Given::default()
        },
    );
    disable.user.disabled = true;
    let hash_only = imported("root@example.com", Given::default());
    for attempt in [demote, disable, hash_only] {
        let placed = repo.import(&[attempt], Update, false, &audit()).await;
        assert_eq!(placed.unwrap(), [Placement::AdminKept]);
    }
    let root_now = repo.find_by_id(root.id).await.unwrap().unwrap();
    assert_eq!((root_now.role, root_now.disabled), (Role::Admin, false));
    assert_eq!(root_now.password_hash.expose(), root.password_hash.expose());
    assert_eq!(root_now.session_version, 0);
}

/// Each account an import created or updated has its event, in the batch's transaction; a dry
/// run, a skip, a refusal and a kept admin have none.
async fn assert_import_events(t: &TestDb, new: Uuid, bob: Uuid, root: Uuid) {
    use warden_adapters::db::SeaOrmAuditLog;
    use warden_domain::audit::AuditKind::{UserCreated, UserUpdated};
    use warden_domain::audit::{AuditKind, AuditQuery};
    use warden_domain::ports::AuditLog;
    let trail = SeaOrmAuditLog::new(t.db.clone());
    let of = |user, kind: AuditKind| AuditQuery {
        user,
        kind: Some(kind),
        limit: 10,
        ..AuditQuery::default()
    };
    let created = trail.list(&of(None, UserCreated)).await.unwrap();
    assert_eq!(created.len(), 1, "{}", t.name);
    assert_eq!(created[0].subject, Some(new));
    assert_eq!(created[0].details["role"], "user");
    let updated = trail.list(&of(Some(bob), UserUpdated)).await.unwrap();
    assert_eq!(updated.len(), 1, "{}", t.name);
    assert_eq!(
        updated[0].details["fields"],
        serde_json::json!(["password_hash", "role", "email_verified"])
    );
    assert!(
        trail
            .list(&of(Some(root), UserUpdated))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_imports_of_the_same_emails_at_once_store_each_account_once() {
    for t in backends().await {
        let repo = SeaOrmUserRepository::new(t.db.clone());
        let batch = |tag: &str| -> Vec<ImportedUser> {
            (0..200)
                .map(|n| {
                    let mut u = imported(&format!("race{n}@example.com"), Given::default());
                    u.user.display_name = Some(DisplayName::parse(tag).unwrap());
                    u
                })
                .collect()
        };
        let (a, b) = (batch("a"), batch("b"));
        let (ra, rb) = (repo.clone(), repo.clone());
        let first =
            tokio::spawn(async move { ra.import(&a, OnConflict::Fail, false, &audit()).await });
        let second =
            tokio::spawn(async move { rb.import(&b, OnConflict::Fail, false, &audit()).await });
        let (first, second) = (
            first.await.unwrap().unwrap(),
            second.await.unwrap().unwrap(),
        );
        for (n, pair) in first.iter().zip(&second).enumerate() {
            let inserted = [*pair.0, *pair.1]
                .iter()
                .filter(|p| **p == Placement::Inserted)
                .count();
            assert_eq!(inserted, 1, "{} race{n}: {pair:?}", t.name);
        }
        let stored = repo.list(None, 1000).await.unwrap();
        assert_eq!(stored.len(), 200, "{}", t.name);
        t.finish().await;
    }
}

/// Where a test's sessions log in from.
fn origin() -> warden_domain::origin::Origin {
    warden_domain::origin::Origin::new(std::net::IpAddr::from([192, 0, 2, 1]), Some("tests"))
}

/// A family's first row and its rotated child, as a login and one refresh leave them.
async fn refreshed_session(
    tokens: &SeaOrmRefreshTokenRepository,
    owner: &User,
    at: OffsetDateTime,
) -> (RefreshToken, RefreshToken) {
    let root = refresh_row(owner, None, time::Duration::days(1));
    tokens.insert(&root, &origin(), &audit()).await.unwrap();
    let child = RefreshToken {
        parent_id: Some(root.id),
        ..refresh_row(owner, Some(root.family_id), time::Duration::days(1))
    };
    assert!(tokens.rotate(root.id, at, &child).await.unwrap());
    (root, child)
}

/// The repositories on a test database holding two users of these emails.
async fn two_users(
    t: &TestDb,
    one: &str,
    another: &str,
) -> (
    SeaOrmUserRepository,
    SeaOrmRefreshTokenRepository,
    User,
    User,
) {
    let users = SeaOrmUserRepository::new(t.db.clone());
    let (u, other) = (user(one, Role::User), user(another, Role::User));
    users.insert(&u, &audit()).await.unwrap();
    users.insert(&other, &audit()).await.unwrap();
    (
        users,
        SeaOrmRefreshTokenRepository::new(t.db.clone()),
        u,
        other,
    )
}

#[tokio::test]
async fn the_bearer_query_joins_only_the_users_own_session_and_sees_it_end() {
    use warden_domain::session::SessionState;
    for t in backends().await {
        let (users, tokens, u, other) =
            two_users(&t, "joined@example.com", "stranger@example.com").await;
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let (root, child) = refreshed_session(&tokens, &u, now).await;
        let (theirs, _) = refreshed_session(&tokens, &other, now).await;

        let (found, state) = users.find_in_session(u.id, root.id).await.unwrap().unwrap();
        assert_eq!(found.id, u.id, "{}", t.name);
        let live = SessionState {
            ended: false,
            expires_at: root.expires_at,
        };
        assert_eq!(state, Some(live), "{}", t.name);
        // Another user's session, a row that is no session's first, an unknown id: no state.
        for sid in [theirs.id, child.id, Uuid::now_v7()] {
            let (found, state) = users.find_in_session(u.id, sid).await.unwrap().unwrap();
            assert_eq!((found.id, state), (u.id, None), "{}: {sid}", t.name);
        }
        assert!(
            users
                .find_in_session(Uuid::now_v7(), root.id)
                .await
                .unwrap()
                .is_none()
        );

        assert!(
            tokens
                .end_session(u.id, root.id, now, &audit())
                .await
                .unwrap()
        );
        let (_, state) = users.find_in_session(u.id, root.id).await.unwrap().unwrap();
        assert_eq!(
            state,
            Some(SessionState {
                ended: true,
                ..live
            }),
            "{}",
            t.name
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn sessions_are_listed_live_with_their_origin_and_end_one_or_all_but_one() {
    use time::Duration;
    for t in backends().await {
        let (_, tokens, u, other) =
            two_users(&t, "listed@example.com", "elsewhere@example.com").await;
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let later = now + Duration::seconds(30);

        let (a, a_child) = refreshed_session(&tokens, &u, later).await;
        let b = refresh_row(&u, None, Duration::days(1));
        tokens.insert(&b, &origin(), &audit()).await.unwrap();
        let c = refresh_row(&u, None, Duration::days(1));
        tokens.insert(&c, &origin(), &audit()).await.unwrap();
        // Not live: expired, and of an earlier session version.
        tokens
            .insert(
                &refresh_row(&u, None, Duration::seconds(-1)),
                &origin(),
                &audit(),
            )
            .await
            .unwrap();
        let stale = RefreshToken {
            session_version: u.session_version - 1,
            ..refresh_row(&u, None, Duration::days(1))
        };
        tokens.insert(&stale, &origin(), &audit()).await.unwrap();
        let (theirs, _) = refreshed_session(&tokens, &other, now).await;

        let listed = tokens.sessions(u.id, now).await.unwrap();
        let ids: Vec<Uuid> = listed.iter().map(|s| s.id).collect();
        assert_eq!(ids, [a.id, b.id, c.id], "{}", t.name);
        assert_eq!(listed[0].last_used_at, Some(later), "{}", t.name);
        assert_eq!(listed[1].last_used_at, None, "{}", t.name);
        assert_eq!(listed[0].created_at, a.issued_at, "{}", t.name);
        assert_eq!(listed[0].expires_at, a.expires_at, "{}", t.name);
        assert_eq!(listed[0].client_ip.as_deref(), Some("192.0.2.1"));
        assert_eq!(listed[0].user_agent.as_deref(), Some("tests"));

        // Not the user's, not live, no session's first row: nothing ends, nothing changes.
        for sid in [theirs.id, stale.id, a_child.id, Uuid::now_v7()] {
            assert!(
                !tokens.end_session(u.id, sid, now, &audit()).await.unwrap(),
                "{}",
                t.name
            );
        }
        assert_eq!(tokens.sessions(u.id, now).await.unwrap().len(), 3);
        assert_eq!(tokens.sessions(other.id, now).await.unwrap().len(), 1);

        // One session: its whole family is revoked.
        assert!(tokens.end_session(u.id, a.id, now, &audit()).await.unwrap());
        assert!(!tokens.end_session(u.id, a.id, now, &audit()).await.unwrap());
        let child = tokens
            .find_by_digest(&a_child.digest)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(child.revoked_at, Some(now), "{}", t.name);

        // All but one.
        assert_eq!(
            tokens
                .end_sessions_except(u.id, Some(c.id), now, &audit())
                .await
                .unwrap(),
            1,
            "{}",
            t.name
        );
        let ids: Vec<Uuid> = tokens
            .sessions(u.id, now)
            .await
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(ids, [c.id], "{}", t.name);
        assert_eq!(
            tokens
                .end_sessions_except(u.id, None, now, &audit())
                .await
                .unwrap(),
            1
        );
        assert!(tokens.sessions(u.id, now).await.unwrap().is_empty());
        assert_eq!(
            tokens.sessions(other.id, now).await.unwrap().len(),
            1,
            "{}",
            t.name
        );
        t.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_many_requests_ending_one_session_at_once_exactly_one_ends_it() {
    let dir = std::env::temp_dir().join(format!("warden-end-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = format!("sqlite://{}/end.db?mode=rwc", dir.display());
    let mut urls = vec![file];
    urls.extend(postgres().await.map(|t| t.url));
    for url in urls {
        let pool = db::connect(&url, 8).await.unwrap();
        db::migrate(&pool).await.unwrap();
        let users = SeaOrmUserRepository::new(pool.clone());
        let tokens = Arc::new(SeaOrmRefreshTokenRepository::new(pool.clone()));
        let u = user("raced@example.com", Role::User);
        users.insert(&u, &audit()).await.unwrap();
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        for _ in 0..5 {
            let (root, _) = refreshed_session(&tokens, &u, now).await;
            let racers: Vec<_> = (0..8)
                .map(|_| {
                    let tokens = tokens.clone();
                    let (uid, sid) = (u.id, root.id);
                    tokio::spawn(async move { tokens.end_session(uid, sid, now, &audit()).await })
                })
                .collect();
            let mut ended = 0;
            for racer in racers {
                if racer.await.unwrap().unwrap() {
                    ended += 1;
                }
            }
            assert_eq!(ended, 1, "{url}");
        }
        pool.close().await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn held_session_reads_decode_exactly_what_the_pool_reads() {
    let HeldDb {
        dir,
        pool,
        readers,
        users,
        held_users,
    } = HeldDb::new("join").await;
    let (named, plain) = (
        user("joined@example.com", Role::Admin),
        user("alone@example.com", Role::User),
    );
    users.insert(&named, &audit()).await.unwrap();
    users.insert(&plain, &audit()).await.unwrap();
    // The bearer check's join, with a session and without one.
    let tokens = SeaOrmRefreshTokenRepository::new(pool);
    let session = refresh_row(&named, None, time::Duration::days(1));
    tokens.insert(&session, &origin(), &audit()).await.unwrap();
    for (u, sid) in [
        (&named, session.id),
        (&plain, session.id),
        (&named, Uuid::now_v7()),
    ] {
        let in_place = readers.as_ref().unwrap().user_in_session(u.id, sid);
        assert!(
            matches!(in_place, Ok(Some(_))),
            "read in place, not by the pool"
        );
        let a = users.find_in_session(u.id, sid).await.unwrap().unwrap();
        let b = held_users
            .find_in_session(u.id, sid)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }
    let held = held_users
        .find_in_session(named.id, session.id)
        .await
        .unwrap();
    assert_eq!(held.unwrap().1.unwrap().expires_at, session.expires_at);
    assert!(
        held_users
            .find_in_session(Uuid::now_v7(), session.id)
            .await
            .unwrap()
            .is_none()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An audit event for a test's direct repository calls.
fn audit() -> warden_domain::audit::AuditEvent {
    warden_domain::audit::AuditEvent::new(
        Uuid::now_v7(),
        OffsetDateTime::now_utc(),
        AuditKind::UserUpdated,
    )
}

#[tokio::test]
async fn audit_events_go_with_their_change_and_read_back_filtered_newest_first() {
    use time::Duration;
    use warden_adapters::db::SeaOrmAuditLog;
    use warden_domain::audit::{ActorKind, AuditEvent, AuditKind, AuditQuery, Outcome};
    use warden_domain::ports::AuditLog;
    for t in backends().await {
        let users = SeaOrmUserRepository::new(t.db.clone());
        let trail = SeaOrmAuditLog::new(t.db.clone());
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let event = |kind, at: OffsetDateTime| AuditEvent::new(Uuid::now_v7(), at, kind);
        let all = |limit| AuditQuery {
            limit,
            ..AuditQuery::default()
        };

        let root = user("only-admin@example.com", Role::Admin);
        let created = event(AuditKind::UserCreated, now)
            .about(root.id)
            .detail("role", "admin")
            .detail("fields", vec!["role", "display_name"]);
        users.insert(&root, &created).await.unwrap();
        // Refused changes record nothing: the last admin, a taken email.
        let refused = event(AuditKind::UserDeleted, now).about(root.id);
        assert!(matches!(
            users.delete(root.id, &refused).await,
            Err(Error::LastAdmin)
        ));
        let twin = user("ONLY-ADMIN@example.com", Role::User);
        let twin_event = event(AuditKind::UserCreated, now).about(twin.id);
        assert!(matches!(
            users.insert(&twin, &twin_event).await,
            Err(Error::EmailTaken)
        ));
        let stored = trail.list(&all(10)).await.unwrap();
        assert_eq!(stored, std::slice::from_ref(&created), "{}", t.name);

        // Events of no change, by an IP; then filters and pages.
        let other = Uuid::now_v7();
        let failed = event(AuditKind::LoginFailed, now + Duration::seconds(1))
            .about(other)
            .failed()
            .from(&origin());
        trail.record(&failed).await.unwrap();
        let by_root = event(AuditKind::UserUpdated, now + Duration::seconds(2))
            .by_user(root.id)
            .about(other);
        trail.record(&by_root).await.unwrap();
        let got = trail.list(&all(10)).await.unwrap();
        assert_eq!(got, [by_root.clone(), failed.clone(), created.clone()]);
        assert_eq!(got[1].outcome, Outcome::Failure);
        assert_eq!(got[1].ip.as_deref(), Some("192.0.2.1"));
        assert_eq!(got[0].actor_kind, ActorKind::User);

        let of = |user, kind| AuditQuery {
            user,
            kind,
            ..all(10)
        };
        let ids = |events: Vec<AuditEvent>| events.into_iter().map(|e| e.id).collect::<Vec<_>>();
        // A user is the actor or the subject.
        assert_eq!(
            ids(trail.list(&of(Some(root.id), None)).await.unwrap()),
            [by_root.id, created.id],
            "{}",
            t.name
        );
        assert_eq!(
            ids(trail
                .list(&of(Some(other), Some(AuditKind::LoginFailed)))
                .await
                .unwrap()),
            [failed.id]
        );
        let range = AuditQuery {
            since: Some(now + Duration::seconds(1)),
            until: Some(now + Duration::seconds(2)),
            ..all(10)
        };
        assert_eq!(ids(trail.list(&range).await.unwrap()), [failed.id]);
        // The same instants in another offset select the same events.
        let east = time::UtcOffset::from_hms(5, 30, 0).unwrap();
        let range = AuditQuery {
            since: range.since.map(|t| t.to_offset(east)),
            until: range.until.map(|t| t.to_offset(east)),
            ..range
        };
        assert_eq!(
            ids(trail.list(&range).await.unwrap()),
            [failed.id],
            "{}",
            t.name
        );
        let page = AuditQuery {
            before: Some(by_root.id),
            ..all(1)
        };
        assert_eq!(ids(trail.list(&page).await.unwrap()), [failed.id]);

        // Retention: strictly older than the cut.
        assert_eq!(trail.purge(now + Duration::seconds(1)).await.unwrap(), 1);
        assert_eq!(
            ids(trail.list(&all(10)).await.unwrap()),
            [by_root.id, failed.id]
        );
        t.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reuse_revoking_a_family_while_it_rotates_ends_the_session_and_fails_neither() {
    // Both take the owner, then the family's first row, then the rest (the order that keeps
    // them from deadlocking on PostgreSQL is by construction: this small table keeps its rows
    // in insertion order, so the old order did not deadlock here either).
    let mut urls = Vec::new();
    urls.extend(postgres().await.map(|t| t.url));
    let dir = std::env::temp_dir().join(format!("warden-reuse-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    urls.push(format!("sqlite://{}/reuse.db?mode=rwc", dir.display()));
    for url in urls {
        let pool = db::connect(&url, 8).await.unwrap();
        db::migrate(&pool).await.unwrap();
        let users = SeaOrmUserRepository::new(pool.clone());
        let tokens = Arc::new(SeaOrmRefreshTokenRepository::new(pool.clone()));
        let u = user("racing@example.com", Role::User);
        users.insert(&u, &audit()).await.unwrap();
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        for _ in 0..20 {
            // A family refreshed a few times, so that its first row has been rewritten.
            let (root, mut newest) = refreshed_session(&tokens, &u, now).await;
            for _ in 0..3 {
                let next = RefreshToken {
                    parent_id: Some(newest.id),
                    ..refresh_row(&u, Some(root.family_id), time::Duration::days(1))
                };
                assert!(tokens.rotate(newest.id, now, &next).await.unwrap());
                newest = next;
            }
            let next = RefreshToken {
                parent_id: Some(newest.id),
                ..refresh_row(&u, Some(root.family_id), time::Duration::days(1))
            };
            let (a, b) = (tokens.clone(), tokens.clone());
            let (uid, family, parent) = (u.id, root.family_id, newest.id);
            let rotation = tokio::spawn(async move { a.rotate(parent, now, &next).await });
            let reuse =
                tokio::spawn(async move { b.revoke_family(uid, family, now, &audit()).await });
            let (rotated, revoked) = (rotation.await.unwrap(), reuse.await.unwrap());
            assert!(rotated.is_ok(), "{url}: {rotated:?}");
            assert!(revoked.unwrap(), "{url}: the family was live");
            assert!(
                tokens
                    .sessions(u.id, now)
                    .await
                    .unwrap()
                    .iter()
                    .all(|s| s.id != family),
                "{url}: the session ended"
            );
        }
        pool.close().await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn audit_events_outlive_their_account() {
    use warden_adapters::db::SeaOrmAuditLog;
    use warden_domain::audit::{AuditEvent, AuditKind, AuditQuery};
    use warden_domain::ports::AuditLog;
    for t in backends().await {
        let users = SeaOrmUserRepository::new(t.db.clone());
        let trail = SeaOrmAuditLog::new(t.db.clone());
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let member = user("member@example.com", Role::User);
        let made = AuditEvent::new(Uuid::now_v7(), now, AuditKind::UserCreated).about(member.id);
        users.insert(&member, &made).await.unwrap();
        let gone = AuditEvent::new(Uuid::now_v7(), now, AuditKind::UserDeleted).about(member.id);
        users.delete(member.id, &gone).await.unwrap();
        let query = AuditQuery {
            user: Some(member.id),
            limit: 10,
            ..AuditQuery::default()
        };
        let left = trail.list(&query).await.unwrap();
        assert_eq!(left.len(), 2, "{}", t.name);
        assert!(left.contains(&made) && left.contains(&gone), "{}", t.name);
        t.finish().await;
    }
}
