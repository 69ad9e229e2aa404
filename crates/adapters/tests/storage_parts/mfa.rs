//! The second factor's storage on SQLite and PostgreSQL: each rule that must hold when two
//! requests race is one conditional statement, and each change writes its event with it; and
//! the whole flow through the use cases, with codes computed by totp-rs from the secret shown.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use warden_adapters::db::{SeaOrmAuditLog, SeaOrmMfaRepository, SeaOrmUserRepository};
use warden_domain::Error;
use warden_domain::account::NewAccount;
use warden_domain::audit::{AuditEvent, AuditKind, AuditQuery};
use warden_domain::mfa::{MfaChallenge, Proof, RecoveryCodes, SealedSecret, step_at};
use warden_domain::ports::{MfaRepository, UserRepository};
use warden_domain::principal::Principal;
use warden_domain::user::{Role, User};

use warden_adapters::Services;

use super::{audit, backends, count, postgres, services_on, user};

fn sealed() -> SealedSecret {
    SealedSecret {
        key_id: "k1".into(),
        sealed: "opaque".into(),
    }
}

fn event(kind: AuditKind) -> AuditEvent {
    AuditEvent::new(Uuid::now_v7(), OffsetDateTime::now_utc(), kind)
}

#[tokio::test]
async fn a_factor_confirms_once_accepts_only_later_steps_and_spends_each_code_once() {
    for t in backends().await {
        let users = SeaOrmUserRepository::new(t.db.clone());
        let repo = Arc::new(SeaOrmMfaRepository::new(t.db.clone()));
        let trail = SeaOrmAuditLog::new(t.db.clone());
        let u = user("mfa@example.com", Role::User);
        users.insert(&u, &audit()).await.unwrap();
        let now = OffsetDateTime::now_utc();
        let name = t.name;

        assert!(
            repo.put_pending(u.id, &sealed(), now).await.unwrap(),
            "{name}"
        );
        let replaced = SealedSecret {
            sealed: "another".into(),
            ..sealed()
        };
        assert!(repo.put_pending(u.id, &replaced, now).await.unwrap());
        let pending = repo.factor(u.id).await.unwrap().unwrap();
        assert_eq!((&pending.secret, pending.confirmed_at), (&replaced, None));
        assert_eq!(pending.last_step, i64::MIN);

        let digests = vec!["d1".to_owned(), "d2".to_owned()];
        let confirm = |secret: SealedSecret, step| {
            let (repo, digests) = (repo.clone(), digests.clone());
            async move {
                repo.confirm(
                    u.id,
                    &secret,
                    step,
                    &digests,
                    &event(AuditKind::MfaEnrolled),
                )
                .await
                .unwrap()
            }
        };
        // A code checked against the first secret confirms nothing once it was replaced.
        assert!(!confirm(sealed(), 100).await, "{name}: a replaced secret");
        assert!(confirm(replaced.clone(), 100).await, "{name}");
        assert!(!confirm(replaced, 101).await, "{name}: once");
        assert_eq!(count(&trail, AuditKind::MfaEnrolled).await, 1, "{name}");
        let stored = users.find_by_id(u.id).await.unwrap().unwrap();
        assert!(
            stored.mfa_enabled_at.is_some(),
            "{name}: the user's row says so"
        );
        assert!(
            !repo.put_pending(u.id, &sealed(), now).await.unwrap(),
            "an active one stays"
        );
        assert_eq!(repo.factor(u.id).await.unwrap().unwrap().last_step, 100);

        assert!(
            !repo.accept_step(u.id, 100).await.unwrap(),
            "{name}: the same step"
        );
        assert!(
            !repo.accept_step(u.id, 99).await.unwrap(),
            "{name}: an older step"
        );
        assert!(
            repo.accept_step(u.id, 101).await.unwrap(),
            "{name}: a later step"
        );

        codes_and_removal(name, &repo, &users, &trail, &u).await;

        // A user who is gone cannot be given a factor or a challenge.
        let gone = Uuid::now_v7();
        assert!(matches!(
            repo.put_pending(gone, &sealed(), now).await,
            Err(Error::InvalidToken)
        ));
        t.finish().await;
    }
}

/// Recovery codes spent once, replaced, and removed with the factor, on an active factor.
async fn codes_and_removal(
    name: &str,
    repo: &Arc<SeaOrmMfaRepository>,
    users: &SeaOrmUserRepository,
    trail: &SeaOrmAuditLog,
    u: &User,
) {
    let now = OffsetDateTime::now_utc();
    let spend = |digest: &'static str| {
        let repo = repo.clone();
        async move {
            repo.spend_recovery_code(u.id, digest, now, &event(AuditKind::MfaRecoveryUsed))
                .await
                .unwrap()
        }
    };
    assert!(spend("d1").await);
    assert!(!spend("d1").await);
    assert!(!spend("nope").await);
    assert_eq!(count(trail, AuditKind::MfaRecoveryUsed).await, 1, "{name}");

    let fresh = vec!["d3".to_owned()];
    let replaced = event(AuditKind::MfaRecoveryCodesReplaced);
    assert!(
        repo.replace_recovery_codes(u.id, &fresh, &replaced)
            .await
            .unwrap()
    );
    assert!(!spend("d2").await, "{name}: old codes go");
    assert!(spend("d3").await);

    assert!(
        repo.remove(u.id, &event(AuditKind::MfaDisabled))
            .await
            .unwrap()
    );
    assert!(
        !repo
            .remove(u.id, &event(AuditKind::MfaDisabled))
            .await
            .unwrap()
    );
    assert_eq!(
        count(trail, AuditKind::MfaDisabled).await,
        1,
        "{name}: once"
    );
    assert!(repo.factor(u.id).await.unwrap().is_none());
    let stored = users.find_by_id(u.id).await.unwrap().unwrap();
    assert_eq!(stored.mfa_enabled_at, None, "{name}");
    assert!(
        !repo
            .replace_recovery_codes(u.id, &fresh, &replaced)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_challenge_is_taken_once_and_only_before_its_end() {
    for t in backends().await {
        let users = SeaOrmUserRepository::new(t.db.clone());
        let repo = SeaOrmMfaRepository::new(t.db.clone());
        let u = user("challenge@example.com", Role::User);
        users.insert(&u, &audit()).await.unwrap();
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let challenge = |digest: &str, expires_at| MfaChallenge {
            id: Uuid::now_v7(),
            digest: digest.into(),
            user_id: u.id,
            session_version: 4,
            expires_at,
        };
        let live = challenge("live", now + Duration::minutes(5));
        repo.open_challenge(&live).await.unwrap();
        repo.open_challenge(&challenge("late", now + Duration::seconds(1)))
            .await
            .unwrap();
        repo.open_challenge(&challenge("old", now - Duration::seconds(1)))
            .await
            .unwrap();
        assert_eq!(
            repo.take_challenge("live", now).await.unwrap(),
            Some(live),
            "{}",
            t.name
        );
        assert_eq!(repo.take_challenge("live", now).await.unwrap(), None);
        assert_eq!(
            repo.take_challenge("old", now).await.unwrap(),
            None,
            "past its end"
        );
        assert_eq!(
            repo.purge(now).await.unwrap(),
            0,
            "taking an expired one removed it"
        );
        assert_eq!(
            repo.purge(now + Duration::seconds(1)).await.unwrap(),
            1,
            "at its end"
        );
        let gone = MfaChallenge {
            user_id: Uuid::now_v7(),
            ..challenge("gone", now)
        };
        assert!(matches!(
            repo.open_challenge(&gone).await,
            Err(Error::InvalidCredentials)
        ));
        t.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_many_requests_at_once_with_one_code_or_one_token_exactly_one_wins() {
    const TASKS: usize = 12;
    let dir = std::env::temp_dir().join(format!("warden-mfa-race-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut targets = vec![(format!("sqlite://{}/race.db?mode=rwc", dir.display()), None)];
    if let Some(pg) = postgres().await {
        targets.push((pg.url.clone(), Some(pg)));
    }
    for (url, pg) in targets {
        let db = warden_adapters::db::connect(&url, 8).await.unwrap();
        warden_adapters::db::migrate(&db).await.unwrap();
        let users = SeaOrmUserRepository::new(db.clone());
        let repo = Arc::new(SeaOrmMfaRepository::new(db.clone()));
        let u = user("race-mfa@example.com", Role::User);
        users.insert(&u, &audit()).await.unwrap();
        let now = OffsetDateTime::now_utc();
        repo.put_pending(u.id, &sealed(), now).await.unwrap();
        let codes: Vec<String> = (0..TASKS).map(|i| format!("d{i}")).collect();
        assert!(
            repo.confirm(u.id, &sealed(), 1, &codes, &event(AuditKind::MfaEnrolled))
                .await
                .unwrap()
        );
        for round in 0..10_i64 {
            let digest = format!("token-{round}");
            repo.open_challenge(&MfaChallenge {
                id: Uuid::now_v7(),
                digest: digest.clone(),
                user_id: u.id,
                session_version: 0,
                expires_at: now + Duration::minutes(5),
            })
            .await
            .unwrap();
            let start = Arc::new(tokio::sync::Barrier::new(TASKS));
            let racers: Vec<_> = (0..TASKS)
                .map(|_| {
                    let (repo, start, digest) = (repo.clone(), start.clone(), digest.clone());
                    let code = format!("d{round}");
                    tokio::spawn(async move {
                        start.wait().await;
                        let step = repo.accept_step(u.id, 10 + round).await.unwrap();
                        let taken = repo.take_challenge(&digest, now).await.unwrap().is_some();
                        let spent = repo
                            .spend_recovery_code(
                                u.id,
                                &code,
                                now,
                                &event(AuditKind::MfaRecoveryUsed),
                            )
                            .await
                            .unwrap();
                        (step, taken, spent)
                    })
                })
                .collect();
            let mut wins = (0, 0, 0);
            for racer in racers {
                let (step, taken, spent) = racer.await.unwrap();
                wins.0 += usize::from(step);
                wins.1 += usize::from(taken);
                wins.2 += usize::from(spent);
            }
            assert_eq!(
                wins,
                (1, 1, 1),
                "{url}, round {round}: step, challenge, code"
            );
        }
        drop(db);
        if let Some(pg) = pg {
            pg.finish().await;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The code of `step` for a secret in base32, by totp-rs (RFC 6238: SHA-1, 6 digits, 30 s).
fn code(secret: &str, step: i64) -> String {
    let totp = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(0)
        .with_step_duration(30)
        .with_secret(totp_rs::Secret::try_from_base32(secret).unwrap())
        .build()
        .unwrap();
    totp.generate(u64::try_from(step * 30).unwrap()).to_string()
}

/// The current step, once it is at least two seconds from its end, so that a code computed
/// now is checked in the same step.
async fn settled_step() -> i64 {
    loop {
        let now = OffsetDateTime::now_utc();
        if now.unix_timestamp().rem_euclid(30) < 28 {
            return step_at(now);
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

/// A user of `services` with a confirmed factor: its id, the secret, the step of the
/// confirming code, and the recovery codes.
async fn enrolled(
    services: &Services,
    pw: impl Fn() -> SecretString,
) -> (Uuid, String, i64, RecoveryCodes) {
    let ip = |last: u8| std::net::IpAddr::from([192, 0, 2, last]);
    let account = NewAccount {
        email: "flow@example.com".into(),
        password: pw(),
        display_name: None,
    };
    let created = services
        .admin
        .create_user(&Principal::operator(), account, Role::User)
        .await
        .unwrap();
    let (_, first) = services
        .auth
        .login("flow@example.com", pw(), ip(1))
        .await
        .unwrap();
    let me = services
        .auth
        .authenticate_bearer(first.access_token.expose_secret())
        .await
        .unwrap()
        .calling_from(ip(1).into());
    let shown = services.mfa.enrol(&me, pw()).await.unwrap();
    let secret = shown.secret.expose_secret().to_owned();
    let step = settled_step().await;
    let recovery = services
        .mfa
        .confirm(&me, &code(&secret, step))
        .await
        .unwrap();
    (created.id, secret, step, recovery)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_flow_replays_skew_recovery_and_lockout_on_each_store() {
    let dir = std::env::temp_dir().join(format!("warden-mfa-flow-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut targets = vec![(format!("sqlite://{}/flow.db?mode=rwc", dir.display()), None)];
    if let Some(pg) = postgres().await {
        targets.push((pg.url.clone(), Some(pg)));
    }
    let password = "correct horse battery staple 42";
    let pw = || SecretString::from(password);
    // Each check from an address of its own, so that only the lockout's own check meets its
    // per-address limit (5); a whole success clears the account's count.
    let ip = |last: u8| std::net::IpAddr::from([192, 0, 2, last]);
    for (url, pg) in targets {
        let services = services_on(&url).await;
        let (created, secret, step, recovery) = enrolled(&services, pw).await;
        let finish = |from: u8, proof: Proof| {
            let auth = services.auth.clone();
            let url = url.clone();
            async move {
                let token = match auth.login("flow@example.com", pw(), ip(from)).await {
                    Err(Error::MfaRequired(token)) => token.expose_secret().to_owned(),
                    other => panic!("{url}: expected a challenge, got {other:?}"),
                };
                auth.complete_login(&token, proof, &ip(from).into()).await
            }
        };
        // Replay of the confirming code; then the skew, at its edges.
        let replay = finish(2, Proof::Otp(code(&secret, step))).await;
        assert!(matches!(replay, Err(Error::InvalidCode)), "{url}: replay");
        let step = settled_step().await;
        for (from, far) in [(3, step - 2), (4, step + 2)] {
            let refused = finish(from, Proof::Otp(code(&secret, far))).await;
            assert!(
                matches!(refused, Err(Error::InvalidCode)),
                "{url}: step {far}"
            );
        }
        let ahead = finish(5, Proof::Otp(code(&secret, step + 1))).await;
        assert!(
            ahead.unwrap().1.access_token.expose_secret().len() > 20,
            "{url}: +1"
        );
        let behind = finish(6, Proof::Otp(code(&secret, step - 1))).await;
        assert!(
            matches!(behind, Err(Error::InvalidCode)),
            "{url}: older than accepted"
        );
        // A recovery code, once.
        let one = recovery.0[0].expose_secret().to_owned();
        assert!(
            finish(7, Proof::RecoveryCode(one.clone().into()))
                .await
                .is_ok()
        );
        let again = finish(8, Proof::RecoveryCode(one.into())).await;
        assert!(matches!(again, Err(Error::InvalidCode)), "{url}: spent");
        // Wrong codes lock the address's codes out of the account (5 from one IP); the right
        // password, counted apart, still opens challenges, and cannot reset that count.
        for _ in 0..5 {
            let refused = finish(9, Proof::Otp("000000".into())).await;
            assert!(matches!(refused, Err(Error::InvalidCode)), "{url}");
        }
        let step = settled_step().await;
        let right = finish(9, Proof::Otp(code(&secret, step + 1))).await;
        assert!(
            matches!(right, Err(Error::InvalidCode)),
            "{url}: the sixth is locked"
        );
        let other = recovery.0[1].expose_secret().to_owned();
        assert!(
            finish(10, Proof::RecoveryCode(other.into())).await.is_ok(),
            "{url}: elsewhere"
        );
        let trail = services.auth.ports().audit.clone();
        let of = |kind| AuditQuery {
            user: Some(created),
            kind: Some(kind),
            limit: 200,
            ..AuditQuery::default()
        };
        for (kind, at_least) in [
            (AuditKind::MfaEnrolled, 1),
            (AuditKind::MfaFailed, 9),
            (AuditKind::MfaRecoveryUsed, 1),
        ] {
            let seen = trail.list(&of(kind)).await.unwrap().len();
            assert!(seen >= at_least, "{url}: {} {seen}", kind.as_str());
        }
        drop(services);
        if let Some(pg) = pg {
            pg.finish().await;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
