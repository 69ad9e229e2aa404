//! In-memory fakes and builders of the ports, for the domain's tests and other crates' tests
//! (behind the `testing` feature): stores with the repositories' atomicity, readable digests and
//! hashes, hand and fixed clocks, and principals as authentication would make them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime, macros::datetime};
use uuid::Uuid;

use crate::Error;
use crate::audit::AuditEvent;
use crate::auth::{AuthPolicy, LoginOutcome, Ports};
use crate::lockout::{LockScope, LockState, LockoutPolicy};
use crate::password::PasswordPolicy;
use crate::ports::{
    Clock, KeyDigester, LockoutRepository, MockClock, MockPasswordHasher, MockRandom,
    MockTokenCodec, MockUserRepository, Observer, PasswordHasher, RefreshTokenRepository,
    SecretDeriver,
};
use crate::principal::Principal;
use crate::token::TokenLifetimes;
use crate::user::{Email, PasswordHash, Role, User};

mod mail;
mod mfa;
mod oauth;
mod stores;

pub use mail::{Applied, FakeTransport, MemAccountTokens, MemOutbox, PlainComposer, Row};
pub use mfa::{FakeAuthenticator, MemMfa, StoredCode, code_at};
pub use oauth::MemClients;
pub use stores::{MemAudit, MemRefreshTokens};

/// The time of the fixed clock.
pub const NOW: OffsetDateTime = datetime!(2026-01-02 03:04:05 UTC);
/// A password the default policy accepts.
pub const STRONG: &str = "correct horse battery staple 42";

/// An address of the documentation range 192.0.2.0/24.
pub fn ip(last: u8) -> IpAddr {
    IpAddr::from([192, 0, 2, last])
}

/// An in-memory lockout store with the repository's atomicity (one lock around each call): the
/// rules are sequences, clearer with real state than mocks. It also records each call, without
/// its subject, so tests can compare the storage work of two logins.
#[derive(Debug, Default)]
pub struct MemLockouts {
    /// The stored states, by subject and scope key.
    pub rows: Mutex<HashMap<(Uuid, String), LockState>>,
    calls: Mutex<Vec<String>>,
    /// The subjects that are users, for `purge`.
    pub users: Mutex<Vec<Uuid>>,
    /// The audit events written with the changes.
    pub events: Mutex<Vec<AuditEvent>>,
}

impl MemLockouts {
    fn record(&self, call: &str, scope: &LockScope) {
        let scope = match scope {
            LockScope::Ip(_) | LockScope::CodeIp(_) => "ip",
            LockScope::Account | LockScope::CodeAccount => "account",
        };
        self.calls.lock().unwrap().push(format!("{call} {scope}"));
    }

    /// The calls so far, and forgets them.
    pub fn take_calls(&self) -> Vec<String> {
        std::mem::take(&mut self.calls.lock().unwrap())
    }
}

#[async_trait]
impl LockoutRepository for MemLockouts {
    async fn get(&self, subject: Uuid, scope: &LockScope) -> Result<LockState, Error> {
        Ok(self
            .rows
            .lock()
            .unwrap()
            .get(&(subject, scope.key()))
            .copied()
            .unwrap_or_default())
    }
    async fn reserve(
        &self,
        subject: Uuid,
        scope: &LockScope,
        now: OffsetDateTime,
    ) -> Result<LockState, Error> {
        self.record("reserve", scope);
        let mut rows = self.rows.lock().unwrap();
        let state = rows.entry((subject, scope.key())).or_default();
        *state = state.counted(now);
        Ok(*state)
    }
    async fn put(&self, subject: Uuid, scope: &LockScope, state: LockState) -> Result<(), Error> {
        self.record("put", scope);
        self.rows
            .lock()
            .unwrap()
            .insert((subject, scope.key()), state);
        Ok(())
    }
    async fn clear(&self, subject: Uuid, scopes: &[LockScope]) -> Result<(), Error> {
        for scope in scopes {
            self.record("clear", scope);
            self.rows.lock().unwrap().remove(&(subject, scope.key()));
        }
        Ok(())
    }
    async fn clear_all(&self, subject: Uuid, audit: &AuditEvent) -> Result<(), Error> {
        self.rows.lock().unwrap().retain(|(u, _), _| *u != subject);
        self.events.lock().unwrap().push(audit.clone());
        Ok(())
    }
    async fn purge(&self, now: OffsetDateTime) -> Result<u64, Error> {
        let users = self.users.lock().unwrap().clone();
        let mut rows = self.rows.lock().unwrap();
        let before = rows.len();
        rows.retain(|(subject, _), state| users.contains(subject) || state.is_locked(now));
        Ok((before - rows.len()) as u64)
    }
}

/// Digests anyone can read: `d:` and the secret.
#[derive(Debug)]
pub struct PlainDigester;

impl KeyDigester for PlainDigester {
    fn digest(&self, secret: &str) -> String {
        format!("d:{secret}")
    }
    fn matches(&self, secret: &str, digest: &str) -> bool {
        self.digest(secret) == digest
    }
}

/// A successor anyone can predict: `next(` the parent `)`.
#[derive(Debug)]
pub struct PlainDeriver;

impl SecretDeriver for PlainDeriver {
    fn derive(&self, parent: &str) -> SecretString {
        SecretString::from(format!("next({parent})"))
    }
}

/// A hasher mock whose "hash" is readable, so tests can check what was hashed.
pub fn fake_hasher() -> MockPasswordHasher {
    let mut h = MockPasswordHasher::new();
    h.expect_hash()
        .returning(|p| Ok(PasswordHash::new(format!("hash:{}", p.expose_secret()))));
    h.expect_verify()
        .returning(|p, h| Ok(h.expose() == format!("hash:{}", p.expose_secret())));
    h.expect_needs_rehash().return_const(false);
    h
}

/// A clock that always says [`NOW`].
pub fn fixed_clock() -> MockClock {
    let mut c = MockClock::new();
    c.expect_now().return_const(NOW);
    c
}

/// A fresh id, greater than every id made before it in this process: the domain's tests make
/// ids here, never from the system's clock or randomness (clippy.toml forbids both).
pub fn fresh_id() -> Uuid {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0000 | u128::from(n))
}

/// Fresh ids and distinct secrets.
pub fn random() -> MockRandom {
    let mut r = MockRandom::new();
    r.expect_new_id().returning(fresh_id);
    r.expect_secret()
        .returning(|| SecretString::from(format!("secret-{}", fresh_id())));
    r
}

/// The default policies: 15-minute access tokens, 30-day refresh chains, a lock after 5
/// failures from one IP or 100 on the account, no reuse grace.
pub fn policy(allow_registration: bool) -> AuthPolicy {
    AuthPolicy {
        password: PasswordPolicy::default(),
        lifetimes: TokenLifetimes {
            access: Duration::seconds(900),
            refresh: Duration::days(30),
        },
        allow_registration,
        lockout: LockoutPolicy {
            max_failures: 5,
            base: Duration::seconds(60),
            account_max_failures: 100,
        },
        reuse_grace: Duration::ZERO,
        audit_retention: Duration::days(90),
        mfa: crate::mfa::MfaPolicy::default(),
        require_verified_email: false,
    }
}

/// Ports with the readable fakes, an empty lockout store and the given refresh store.
pub fn ports(
    users: MockUserRepository,
    tokens: MockTokenCodec,
    clock: Arc<dyn Clock>,
    refresh_tokens: Arc<dyn RefreshTokenRepository>,
) -> Ports {
    Ports {
        users: Arc::new(users),
        hasher: Arc::new(fake_hasher()),
        tokens: Arc::new(tokens),
        clock,
        random: Arc::new(random()),
        lockouts: Arc::new(MemLockouts::default()),
        refresh_tokens,
        digester: Arc::new(PlainDigester),
        deriver: Arc::new(PlainDeriver),
        observer: Arc::new(Tally::default()),
        audit: Arc::new(MemAudit::default()),
        mfa: Arc::new(MemMfa::default()),
        authenticator: Arc::new(FakeAuthenticator::default()),
    }
}

/// An observer that writes down what it was told, `login:<outcome>` and `lock:<scope>`.
#[derive(Debug, Default)]
pub struct Tally(pub Mutex<Vec<String>>);

impl Tally {
    /// What was observed so far, and forgets it.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Observer for Tally {
    fn login(&self, outcome: LoginOutcome) {
        self.0
            .lock()
            .unwrap()
            .push(format!("login:{}", outcome.as_str()));
    }

    fn lock_set(&self, scope: &LockScope) {
        self.0
            .lock()
            .unwrap()
            .push(format!("lock:{}", scope.kind()));
    }
}

/// A stored user, alice@example.com with role `user` and session version 3, whose hash is
/// the readable one of [`fake_hasher`] for `password`.
pub fn stored_user(password: &str) -> User {
    User {
        id: fresh_id(),
        email: Email::parse("Alice@Example.com").unwrap(),
        display_name: None,
        role: Role::User,
        disabled: false,
        password_hash: PasswordHash::new(format!("hash:{password}")),
        session_version: 3,
        created_at: NOW,
        updated_at: NOW,
        email_verified_at: None,
        mfa_enabled_at: None,
    }
}

/// A clock the test moves by hand.
#[derive(Debug)]
pub struct HandClock(pub Mutex<OffsetDateTime>);

impl Clock for HandClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

/// A hasher that yields to other tasks while it verifies, so that concurrent attempts overlap
/// as they do on the real hashing threads, and that remembers every hash it verified against.
/// Its hashes are those of [`fake_hasher`].
#[derive(Debug, Default)]
pub struct YieldingHasher {
    /// Every hash verified against, in order.
    pub verified: Mutex<Vec<String>>,
}

impl YieldingHasher {
    /// How many verifications were made against this hash.
    pub fn against(&self, hash: &str) -> usize {
        self.verified
            .lock()
            .unwrap()
            .iter()
            .filter(|h| *h == hash)
            .count()
    }

    /// How many verifications were made.
    pub fn total(&self) -> usize {
        self.verified.lock().unwrap().len()
    }
}

#[async_trait]
impl PasswordHasher for YieldingHasher {
    async fn hash(&self, password: SecretString) -> Result<PasswordHash, Error> {
        Ok(PasswordHash::new(format!(
            "hash:{}",
            password.expose_secret()
        )))
    }
    async fn verify(&self, password: SecretString, hash: PasswordHash) -> Result<bool, Error> {
        for _ in 0..3 {
            yield_now().await;
        }
        self.verified.lock().unwrap().push(hash.expose().to_owned());
        Ok(hash.expose() == format!("hash:{}", password.expose_secret()))
    }
    fn needs_rehash(&self, _: &PasswordHash) -> bool {
        false
    }
}

/// A stored user with this role (and [`STRONG`] as its password).
pub fn user_with_role(role: Role) -> User {
    User {
        role,
        ..stored_user(STRONG)
    }
}

/// The principal a verified access token of `user` becomes (of a session of its own).
pub fn bearer(user: User) -> Principal {
    Principal::bearer(user, fresh_id(), false)
}

/// The principal a verified access token of `user`, of the session `session`, becomes.
pub fn bearer_in(user: User, session: Uuid) -> Principal {
    Principal::bearer(user, session, false)
}

/// The principal a verified API key of `user` becomes.
pub fn api_key(user: User) -> Principal {
    Principal::api_key(user)
}

/// Every kind of principal: a bearer token and an API key of a user of each role, and the
/// operator; each with a name for assertion messages.
pub fn every_principal() -> Vec<(String, Principal)> {
    let mut all = Vec::new();
    for role in [Role::User, Role::Service, Role::Admin] {
        all.push((format!("bearer {role}"), bearer(user_with_role(role))));
        all.push((format!("api key {role}"), api_key(user_with_role(role))));
    }
    all.push(("operator".to_owned(), Principal::operator()));
    all
}

/// Lets other tasks run once (no runtime needed: the domain depends on none).
async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}
