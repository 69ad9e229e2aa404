//! Tests of the lockout as the password grant and the password change apply it: counts taken
//! before any hashing, concurrent attempts that never share a count, the limits at their
//! edges, the same storage work for every kind of username, and the audit trail.

use std::fmt::{Debug, Write as _};
use std::sync::atomic::{AtomicUsize, Ordering};

use tracing::field::{Field, Visit};

use super::*;
use crate::auth::guard::{MALFORMED_PROBE, fnv1a_128};
use crate::testing::Tally;

const WRONG: &str = "wrong guess 1234";
const NEW: &str = "a different passphrase entirely 7";

/// A service over one user, alice@example.com with [`STRONG`], and the fakes to look into.
struct Rig {
    svc: Arc<AuthService>,
    /// The account use cases on the same guard.
    accounts: Arc<AccountService>,
    user: User,
    clock: Arc<HandClock>,
    lockouts: Arc<MemLockouts>,
    hasher: Arc<YieldingHasher>,
    /// What the service reported for metrics.
    tally: Arc<Tally>,
    /// How many password changes reached storage.
    updates: Arc<AtomicUsize>,
}

async fn rig(max_failures: u32, account_max_failures: u32) -> Rig {
    let user = stored_user(STRONG);
    let mut users = MockUserRepository::new();
    let found = user.clone();
    users
        .expect_find_by_email()
        .returning(move |e| Ok((e.normalized() == "alice@example.com").then(|| found.clone())));
    let updates = Arc::new(AtomicUsize::new(0));
    let (counter, updated) = (updates.clone(), user.clone());
    users.expect_update().returning(move |_, _, _| {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(updated.clone())
    });
    let mut tokens = MockTokenCodec::new();
    tokens
        .expect_sign()
        .returning(|_| Ok(SecretString::from("t")));
    let clock = Arc::new(HandClock(Mutex::new(NOW)));
    let lockouts = Arc::new(MemLockouts::default());
    let hasher = Arc::new(YieldingHasher::default());
    let mut ports = ports(
        users,
        tokens,
        clock.clone(),
        Arc::new(MemRefreshTokens::default()),
    );
    ports.hasher = hasher.clone();
    ports.lockouts = lockouts.clone();
    let tally = Arc::new(Tally::default());
    ports.observer = tally.clone();
    let mut policy = policy(true);
    policy.lockout = LockoutPolicy {
        max_failures,
        base: Duration::seconds(60),
        account_max_failures,
    };
    let svc = Arc::new(AuthService::new(ports, policy).await.unwrap());
    // Only what the tests do counts, not the dummy hash made at start.
    hasher.verified.lock().unwrap().clear();
    lockouts.take_calls();
    Rig {
        accounts: Arc::new(AccountService::new(&svc)),
        svc,
        user,
        clock,
        lockouts,
        hasher,
        tally,
        updates,
    }
}

impl Rig {
    async fn login(&self, username: &str, password: &str, from: IpAddr) -> bool {
        self.svc
            .login(username, SecretString::from(password), from)
            .await
            .is_ok()
    }

    async fn alice(&self, password: &str, from: IpAddr) -> bool {
        self.login("alice@example.com", password, from).await
    }

    async fn change(&self, current: &str, from: IpAddr) -> Result<(), Error> {
        self.accounts
            .change_password(
                &bearer(self.user.clone()),
                SecretString::from(current),
                SecretString::from(NEW),
                from,
            )
            .await
    }

    /// Verifications made against the user's real hash.
    fn verified_for_real(&self) -> usize {
        self.hasher.against(self.user.password_hash.expose())
    }

    async fn state(&self, scope: LockScope) -> LockState {
        self.lockouts.get(self.user.id, &scope).await.unwrap()
    }

    /// `n` logins as alice at once, the `i`-th from `from(i)`; which succeeded.
    async fn logins_at_once(
        &self,
        n: u8,
        password: &str,
        from: impl Fn(u8) -> IpAddr,
    ) -> Vec<bool> {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..n {
            let (svc, password, ip) = (self.svc.clone(), password.to_owned(), from(i));
            set.spawn(async move {
                svc.login("alice@example.com", SecretString::from(password), ip)
                    .await
                    .is_ok()
            });
        }
        set.join_all().await
    }

    /// `n` password changes with this current password at once, all from `from`.
    async fn changes_at_once(&self, n: u8, current: &str, from: IpAddr) -> Vec<bool> {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..n {
            let (svc, user, current) =
                (self.accounts.clone(), self.user.clone(), current.to_owned());
            set.spawn(async move {
                svc.change_password(
                    &bearer(user),
                    SecretString::from(current),
                    SecretString::from(NEW),
                    from,
                )
                .await
                .is_ok()
            });
        }
        set.join_all().await
    }
}

#[tokio::test]
async fn concurrent_wrong_guesses_from_one_ip_verify_no_more_than_the_limit() {
    let r = rig(5, 100).await;
    let answers = r.logins_at_once(25, WRONG, |_| ip(1)).await;
    assert!(answers.iter().all(|ok| !ok));
    assert_eq!(
        r.verified_for_real(),
        5,
        "only the first five were verified"
    );
    assert_eq!(
        r.hasher.total(),
        25,
        "each attempt still costs one verification"
    );
    assert!(r.state(LockScope::Ip(ip(1))).await.is_locked(NOW));
    assert!(
        !r.alice(STRONG, ip(1)).await,
        "the right password is refused"
    );
    assert_eq!(r.verified_for_real(), 5, "and was not even verified");
    assert!(r.alice(STRONG, ip(2)).await, "another IP is not locked out");
}

#[tokio::test]
async fn concurrent_wrong_guesses_from_many_ips_verify_no_more_than_the_account_limit() {
    let r = rig(5, 10).await;
    // One guess from each of 30 IPs: no IP reaches its own limit, the account does.
    let answers = r.logins_at_once(30, WRONG, |i| ip(10 + i)).await;
    assert!(answers.iter().all(|ok| !ok));
    assert_eq!(r.verified_for_real(), 10);
    assert!(r.state(LockScope::Account).await.is_locked(NOW));
    assert!(!r.alice(STRONG, ip(200)).await, "locked for every IP");
    assert_eq!(r.verified_for_real(), 10);
    *r.clock.0.lock().unwrap() = NOW + Duration::seconds(60);
    assert!(r.alice(STRONG, ip(200)).await, "until the lock ends");
}

#[tokio::test]
async fn one_guess_under_the_limit_leaves_the_right_password_working() {
    let r = rig(5, 100).await;
    let answers = r.logins_at_once(4, WRONG, |_| ip(1)).await;
    assert_eq!(answers, [false; 4]);
    assert_eq!(r.state(LockScope::Ip(ip(1))).await.failures, 4);
    // The fifth attempt reaches the limit: it sets the lock, verifies, and being right clears it.
    assert!(r.alice(STRONG, ip(1)).await);
    assert_eq!(r.state(LockScope::Ip(ip(1))).await, LockState::default());
    assert_eq!(r.state(LockScope::Account).await, LockState::default());
}

#[tokio::test]
async fn the_limit_of_wrong_guesses_locks_and_the_next_is_refused() {
    let r = rig(5, 100).await;
    r.logins_at_once(5, WRONG, |_| ip(1)).await;
    let ip_state = r.state(LockScope::Ip(ip(1))).await;
    assert_eq!(ip_state.locked_until, Some(NOW + Duration::seconds(60)));
    assert_eq!((ip_state.failures, ip_state.locks_in_a_row), (0, 1));
    assert!(!r.alice(STRONG, ip(1)).await);
    assert_eq!(r.verified_for_real(), 5);
}

#[tokio::test]
async fn the_account_limit_at_its_edge() {
    let r = rig(50, 10).await;
    for n in 0..9 {
        assert!(!r.alice(WRONG, ip(n)).await);
    }
    assert_eq!(r.state(LockScope::Account).await.failures, 9);
    // The tenth attempt reaches the account's limit; right, it gets in and clears the count.
    assert!(r.alice(STRONG, ip(100)).await);
    assert_eq!(r.state(LockScope::Account).await, LockState::default());
    for n in 0..10 {
        assert!(!r.alice(WRONG, ip(n)).await);
    }
    assert!(
        !r.alice(STRONG, ip(100)).await,
        "ten wrong ones lock the account"
    );
}

#[tokio::test]
async fn a_locked_attempt_verifies_only_the_dummy_hash_and_is_not_counted() {
    let r = rig(5, 100).await;
    for _ in 0..5 {
        r.alice(WRONG, ip(1)).await;
    }
    let locked = r.state(LockScope::Ip(ip(1))).await;
    let account = r.state(LockScope::Account).await;
    r.lockouts.take_calls();
    for _ in 0..3 {
        assert!(!r.alice(STRONG, ip(1)).await);
    }
    assert_eq!(r.verified_for_real(), 5);
    assert_eq!(
        r.hasher.total(),
        8,
        "one verification each, against the dummy"
    );
    assert_eq!(r.state(LockScope::Ip(ip(1))).await, locked, "not counted");
    assert_eq!(
        r.state(LockScope::Account).await,
        account,
        "an attempt its IP's lock refuses does not count against the account"
    );
    assert_eq!(r.lockouts.take_calls(), ["reserve ip"; 3]);
}

#[tokio::test]
async fn an_attempt_past_the_limit_sets_the_lock_the_last_one_never_set() {
    let r = rig(5, 100).await;
    // As if the attempt that reached the limit had died before it set the lock.
    let stuck = LockState {
        failures: 5,
        locked_until: None,
        locks_in_a_row: 2,
    };
    r.lockouts
        .put(r.user.id, &LockScope::Ip(ip(1)), stuck)
        .await
        .unwrap();
    assert!(!r.alice(STRONG, ip(1)).await);
    assert_eq!(r.verified_for_real(), 0);
    assert_eq!(
        r.state(LockScope::Ip(ip(1))).await,
        LockState {
            failures: 0,
            locked_until: Some(NOW + Duration::seconds(240)),
            locks_in_a_row: 3,
        }
    );
}

#[tokio::test]
async fn the_same_storage_work_for_a_wrong_password_an_unknown_email_and_a_malformed_one() {
    let mut work = Vec::new();
    for username in ["alice@example.com", "nobody@example.com", "no at sign"] {
        let r = rig(5, 100).await;
        let mut calls = Vec::new();
        for _ in 0..7 {
            assert!(!r.login(username, WRONG, ip(1)).await);
            calls.push(r.lockouts.take_calls());
        }
        assert_eq!(r.hasher.total(), 7, "{username}: one verification each");
        work.push(calls);
    }
    let counted = vec!["reserve ip".to_owned(), "reserve account".to_owned()];
    let last = vec![
        "reserve ip".to_owned(),
        "put ip".to_owned(),
        "reserve account".to_owned(),
    ];
    let locked = vec!["reserve ip".to_owned()];
    let expected = [
        &counted, &counted, &counted, &counted, &last, &locked, &locked,
    ];
    for calls in &work {
        assert_eq!(calls.iter().collect::<Vec<_>>(), expected);
    }
}

#[tokio::test]
async fn every_kind_of_username_costs_one_lookup() {
    for (username, looked_up) in [
        ("alice@example.com", "alice@example.com"),
        ("nobody@example.com", "nobody@example.com"),
        ("no at sign", MALFORMED_PROBE),
    ] {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_email()
            .withf(move |e| e.normalized() == looked_up)
            .times(1)
            .returning(|_| Ok(None));
        let svc = service_with(users, fake_hasher(), MockTokenCodec::new(), true).await;
        let err = svc
            .login(username, SecretString::from(STRONG), ip(1))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidCredentials), "{username}");
    }
}

#[tokio::test]
async fn a_username_that_names_nobody_is_counted_under_a_stand_in_that_is_no_user() {
    let r = rig(5, 100).await;
    let subjects = |r: &Rig| -> Vec<Uuid> {
        let mut s: Vec<Uuid> = r
            .lockouts
            .rows
            .lock()
            .unwrap()
            .keys()
            .map(|(subject, _)| *subject)
            .collect();
        s.sort();
        s.dedup();
        s
    };
    r.login("Nobody@Example.com", WRONG, ip(1)).await;
    r.login("nobody@example.COM", WRONG, ip(2)).await;
    let one = subjects(&r);
    assert_eq!(
        one.len(),
        1,
        "one subject for every spelling of one address"
    );
    assert_eq!(one[0].get_version_num(), 8);
    assert_ne!(one[0], r.user.id);
    let counted = r.lockouts.get(one[0], &LockScope::Account).await.unwrap();
    assert_eq!(counted.failures, 2);
    r.login("other@example.com", WRONG, ip(1)).await;
    r.login("no at sign", WRONG, ip(1)).await;
    r.login("no at signs", WRONG, ip(1)).await;
    let all = subjects(&r);
    assert_eq!(all.len(), 4, "each username its own subject");
    assert!(all.iter().all(|s| s.get_version_num() == 8));
    // The same username gets the same subject from another service with the same key.
    let again = rig(5, 100).await;
    again.login("nobody@example.com", WRONG, ip(1)).await;
    assert_eq!(subjects(&again), one);
}

#[tokio::test]
async fn an_unknown_username_is_locked_out_like_an_account() {
    let r = rig(5, 100).await;
    for _ in 0..5 {
        r.login("nobody@example.com", WRONG, ip(1)).await;
    }
    r.hasher.verified.lock().unwrap().clear();
    r.lockouts.take_calls();
    assert!(!r.login("nobody@example.com", WRONG, ip(1)).await);
    assert_eq!(r.lockouts.take_calls(), ["reserve ip"]);
    assert_eq!(r.hasher.total(), 1);
}

#[tokio::test]
async fn a_disabled_account_with_the_right_password_is_refused_and_its_counts_cleared() {
    let mut user = stored_user(STRONG);
    user.disabled = true;
    let (svc, _, lockouts) = lockout_service(&user).await;
    for _ in 0..3 {
        attempt(&svc, WRONG, ip(1)).await;
    }
    let err = svc
        .login("alice@example.com", SecretString::from(STRONG), ip(1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials));
    assert_eq!(
        lockouts.get(user.id, &LockScope::Ip(ip(1))).await.unwrap(),
        LockState::default()
    );
}

#[tokio::test]
async fn a_wrong_current_password_counts_as_a_failed_login() {
    let r = rig(5, 100).await;
    let err = r.change(WRONG, ip(1)).await.unwrap_err();
    assert!(matches!(err, Error::WrongPassword));
    assert_eq!(r.state(LockScope::Ip(ip(1))).await.failures, 1);
    assert_eq!(r.state(LockScope::Account).await.failures, 1);
    assert_eq!(r.updates.load(Ordering::SeqCst), 0);
    // The right one clears both counts and changes the password.
    r.change(STRONG, ip(1)).await.unwrap();
    assert_eq!(r.state(LockScope::Ip(ip(1))).await, LockState::default());
    assert_eq!(r.state(LockScope::Account).await, LockState::default());
    assert_eq!(r.updates.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn concurrent_wrong_current_passwords_lock_the_change_out() {
    let r = rig(5, 100).await;
    let answers = r.changes_at_once(25, WRONG, ip(1)).await;
    assert_eq!(answers, [false; 25]);
    assert_eq!(r.verified_for_real(), 5);
    let locked = r.change(STRONG, ip(1)).await.unwrap_err();
    assert!(
        matches!(locked, Error::WrongPassword),
        "refused like a wrong password"
    );
    assert_eq!(r.verified_for_real(), 5);
    assert_eq!(r.updates.load(Ordering::SeqCst), 0, "nothing changed");
    // The lock is the password grant's too.
    assert!(!r.alice(STRONG, ip(1)).await);
    *r.clock.0.lock().unwrap() = NOW + Duration::seconds(60);
    r.change(STRONG, ip(1)).await.unwrap();
}

#[tokio::test]
async fn a_lock_set_by_wrong_logins_refuses_the_password_change() {
    let r = rig(5, 100).await;
    r.logins_at_once(5, WRONG, |_| ip(1)).await;
    assert!(matches!(
        r.change(STRONG, ip(1)).await,
        Err(Error::WrongPassword)
    ));
    assert_eq!(r.updates.load(Ordering::SeqCst), 0);
    r.change(STRONG, ip(2)).await.unwrap();
}

#[tokio::test]
async fn wrong_logins_and_wrong_changes_add_up_to_one_count() {
    let r = rig(5, 100).await;
    for _ in 0..2 {
        r.alice(WRONG, ip(1)).await;
    }
    for _ in 0..3 {
        let _ = r.change(WRONG, ip(1)).await;
    }
    assert!(r.state(LockScope::Ip(ip(1))).await.is_locked(NOW));
    assert!(!r.alice(STRONG, ip(1)).await);
}

#[tokio::test]
async fn purging_forgets_unlocked_counts_of_subjects_that_are_no_user() {
    let r = rig(5, 100).await;
    r.lockouts.users.lock().unwrap().push(r.user.id);
    r.alice(WRONG, ip(1)).await;
    r.login("nobody@example.com", WRONG, ip(1)).await;
    for _ in 0..5 {
        r.login("locked@example.com", WRONG, ip(1)).await;
    }
    // Nobody's two rows go; the user's rows and the locked stand-in's IP row stay.
    assert_eq!(r.svc.purge_lockouts().await.unwrap(), 3);
    assert_eq!(r.state(LockScope::Ip(ip(1))).await.failures, 1);
    assert_eq!(r.lockouts.rows.lock().unwrap().len(), 3);
    *r.clock.0.lock().unwrap() = NOW + Duration::seconds(60);
    assert_eq!(
        r.svc.purge_lockouts().await.unwrap(),
        1,
        "once its lock ends"
    );
}

#[test]
fn the_stand_in_digest_is_fnv1a_128() {
    assert_eq!(
        u128::from_be_bytes(fnv1a_128(b"")),
        0x6c62_272e_07bb_0142_62b8_2175_6295_c58d
    );
    assert_eq!(
        u128::from_be_bytes(fnv1a_128(b"a")),
        0xd228_cb69_6f1a_8caf_7891_2b70_4e4a_8964
    );
}

/// Collects the audit events of the threads that asked for them ([`AuditLog::capture`]), one
/// line each. It is installed once as the global subscriber: a scoped one races tracing's
/// callsite interest cache against tests on other threads, which then drops events now and then.
struct AuditLog;

thread_local! {
    static CAPTURED: std::cell::RefCell<Option<Vec<String>>> = const { std::cell::RefCell::new(None) };
}

impl AuditLog {
    /// Starts collecting this thread's audit events.
    fn capture() {
        static INSTALLED: std::sync::Once = std::sync::Once::new();
        INSTALLED.call_once(|| {
            tracing::subscriber::set_global_default(AuditLog).expect("no other global subscriber");
        });
        CAPTURED.with(|c| *c.borrow_mut() = Some(Vec::new()));
    }

    /// The lines collected on this thread since [`Self::capture`].
    fn lines() -> Vec<String> {
        CAPTURED.with(|c| c.borrow_mut().take().unwrap_or_default())
    }
}

#[derive(Default)]
struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, "{}={value} ", field.name());
    }
}

impl tracing::Subscriber for AuditLog {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if event.metadata().target() == "warden::audit" {
            let mut line = Line::default();
            event.record(&mut line);
            CAPTURED.with(|c| {
                if let Some(lines) = c.borrow_mut().as_mut() {
                    lines.push(line.0.trim_end().to_owned());
                }
            });
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn every_attempt_is_audited_with_its_outcome_and_never_its_password() {
    AuditLog::capture();
    let r = rig(2, 100).await;
    let id = r.user.id;
    r.login("nobody@example.com", WRONG, ip(1)).await;
    r.alice(WRONG, ip(1)).await;
    let _ = r.change(WRONG, ip(1)).await;
    r.alice(STRONG, ip(1)).await;
    let _ = r.change(STRONG, ip(1)).await;
    r.alice(STRONG, ip(2)).await;
    r.change(STRONG, ip(2)).await.unwrap();
    let lines = AuditLog::lines();
    let expected = [
        "event=login outcome=unknown_user user_id= client_ip=192.0.2.1".to_owned(),
        format!("event=login outcome=wrong_password user_id={id} client_ip=192.0.2.1"),
        format!("event=password_change outcome=wrong_password user_id={id} client_ip=192.0.2.1"),
        format!("event=login outcome=locked user_id={id} client_ip=192.0.2.1"),
        format!("event=password_change outcome=locked user_id={id} client_ip=192.0.2.1"),
        format!("event=login outcome=success user_id={id} client_ip=192.0.2.2"),
        format!("event=password_change outcome=success user_id={id} client_ip=192.0.2.2"),
    ];
    assert_eq!(lines, expected);
    assert!(
        lines
            .iter()
            .all(|l| !l.contains(STRONG) && !l.contains(WRONG))
    );
    // The metrics hear of every login's outcome, and of the IP lock the password change set
    // (the second failure from 192.0.2.1, at the limit of 2).
    assert_eq!(
        r.tally.take(),
        [
            "login:unknown_user",
            "login:wrong_password",
            "lock:ip",
            "login:locked",
            "login:success"
        ]
    );
}

#[tokio::test]
async fn a_lock_is_reported_once_when_set_in_each_scope_and_not_while_it_holds() {
    let r = rig(2, 3).await;
    assert!(!r.alice(WRONG, ip(1)).await);
    assert!(!r.alice(WRONG, ip(1)).await);
    assert_eq!(
        r.tally.take(),
        ["login:wrong_password", "lock:ip", "login:wrong_password"]
    );
    // The lock holds: refused without a report of a new lock.
    assert!(!r.alice(STRONG, ip(1)).await);
    assert_eq!(r.tally.take(), ["login:locked"]);
    // Another IP's failure is the account's third: the account's lock.
    assert!(!r.alice(WRONG, ip(2)).await);
    assert_eq!(r.tally.take(), ["lock:account", "login:wrong_password"]);
    // A locked-out unknown username is counted as locked, not unknown.
    let nobody = rig(1, 100).await;
    assert!(!nobody.login("nobody@example.com", WRONG, ip(1)).await);
    assert!(!nobody.login("nobody@example.com", WRONG, ip(1)).await);
    assert_eq!(
        nobody.tally.take(),
        ["lock:ip", "login:unknown_user", "login:locked"]
    );
}

#[tokio::test]
async fn an_imported_hash_replaced_at_login_is_audited_as_upgraded_and_a_stale_argon2id_is_not() {
    const BCRYPT: &str = "$2b$04$..CA.uOD/eaGAOmJB.yMBuXETkX0fnYkrqZU3taFDwa1Pzblb2cVm";
    let stale = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$b3V0cHV0b3V0cHV0";
    let mut expected = Vec::new();
    // A replaced legacy hash is audited; a stale argon2id is not, nor a legacy hash that another
    // request changed meanwhile (storage replaced nothing).
    for (stored, replaced, upgraded) in [
        (BCRYPT, true, true),
        (stale, true, false),
        (BCRYPT, false, false),
    ] {
        AuditLog::capture();
        let user = User {
            password_hash: PasswordHash::new(stored.to_owned()),
            ..stored_user(STRONG)
        };
        let id = user.id;
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_email()
            .returning(move |_| Ok(Some(user.clone())));
        users
            .expect_update_password_hash()
            .withf(move |uid, old, new, _| {
                *uid == id && old.expose() == stored && new.expose() == format!("hash:{STRONG}")
            })
            .times(1)
            .returning(move |_, _, _, _| Ok(replaced));
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_hash()
            .returning(|p| Ok(PasswordHash::new(format!("hash:{}", p.expose_secret()))));
        hasher
            .expect_verify()
            .returning(|p, _| Ok(p.expose_secret() == STRONG));
        hasher.expect_needs_rehash().return_const(true);
        let mut tokens = MockTokenCodec::new();
        tokens
            .expect_sign()
            .returning(|_| Ok(SecretString::from("t")));
        let svc = service_with(users, hasher, tokens, true).await;
        svc.login("alice@example.com", SecretString::from(STRONG), ip(1))
            .await
            .unwrap();
        if upgraded {
            expected.push(format!(
                "event=password.upgraded outcome=success user_id={id} client_ip=192.0.2.1"
            ));
        }
        expected.push(format!(
            "event=login outcome=success user_id={id} client_ip=192.0.2.1"
        ));
        let lines = AuditLog::lines();
        assert_eq!(lines, expected, "{stored}");
        assert!(
            lines
                .iter()
                .all(|l| !l.contains(stored) && !l.contains(STRONG))
        );
        expected.clear();
    }
}
