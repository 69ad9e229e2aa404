//! Handler tests: the whole HTTP layer (routes, security schemes, edge, error mapping) over
//! mockall mocks of the domain's ports, through poem's test client. No database, no socket:
//! they run in about a second.

mod edge;
mod errors;
mod oauth;
mod schemes;

use std::sync::Arc;
use std::time::Duration;

use poem::Endpoint;
use poem::test::TestClient;
use secrecy::SecretString;
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;
use warden_api::config::{ApiConfig, CorsConfig, ServerConfig};
use warden_api::{AppState, UseCases};
use warden_domain::account::AccountService;
use warden_domain::admin::AdminService;
use warden_domain::api_key::{ApiKey, ApiKeyService};
use warden_domain::auth::{AuthPolicy, AuthService, Ports};
use warden_domain::lockout::{LockState, LockoutPolicy};
use warden_domain::password::PasswordPolicy;
use warden_domain::ports::{
    Clock, MockApiKeyRepository, MockLockoutRepository, MockPasswordHasher, MockReadiness,
    MockRefreshTokenRepository, MockTokenCodec, MockUserRepository, Random,
};
use warden_domain::rate_limit::{Decision, MockRateLimiter};
use warden_domain::session::SessionState;
use warden_domain::token::{AccessClaims, TokenLifetimes};
use warden_domain::user::{Email, PasswordHash, Role, User};

/// The one instant every test runs at.
pub(crate) const NOW: OffsetDateTime = datetime!(2026-12-07 10:00 UTC);
/// The bearer token the mocked codec accepts for [`member`].
pub(crate) const MEMBER_TOKEN: &str = "member-access-token";
/// The bearer token the mocked codec accepts for [`admin`].
pub(crate) const ADMIN_TOKEN: &str = "admin-access-token";
/// An API key of [`member`]'s, in the shape the domain accepts.
pub(crate) const MEMBER_KEY: &str = "wdn_AbCdEfGhIjKl0123456789abcdefghijklmnop";
/// Its public prefix: `wdn_` and the lookup id.
const MEMBER_KEY_PREFIX: &str = "wdn_AbCdEfGhIjKl";
/// The password the mocked hasher accepts.
pub(crate) const RIGHT_PASSWORD: &str = "correct horse battery staple";

/// A fixed clock.
#[derive(Debug)]
struct Fixed;

impl Clock for Fixed {
    fn now(&self) -> OffsetDateTime {
        NOW
    }
}

/// Counting ids and a constant secret: nothing in these tests depends on their values.
#[derive(Debug, Default)]
struct Counting(std::sync::atomic::AtomicU64);

impl Random for Counting {
    fn new_id(&self) -> Uuid {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Uuid::from_u128(0x1000 + u128::from(n))
    }

    fn secret(&self) -> SecretString {
        SecretString::from("a-random-secret-of-forty-three-characters-x")
    }
}

/// Digests are the secret reversed: enough to tell a right key from a wrong one.
#[derive(Debug)]
struct Reversed;

impl warden_domain::ports::KeyDigester for Reversed {
    fn digest(&self, secret: &str) -> String {
        secret.chars().rev().collect()
    }

    fn matches(&self, secret: &str, digest: &str) -> bool {
        self.digest(secret) == digest
    }
}

impl warden_domain::ports::SecretDeriver for Reversed {
    fn derive(&self, parent: &str) -> SecretString {
        SecretString::from(format!("{parent}-next"))
    }
}

fn user(id: u128, email: &str, role: Role) -> User {
    User {
        id: Uuid::from_u128(id),
        email: Email::parse(email).expect("a valid email"),
        display_name: None,
        role,
        disabled: false,
        password_hash: PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        session_version: 3,
        created_at: NOW,
        updated_at: NOW,
        email_verified_at: None,
        mfa_enabled_at: None,
    }
}

/// An ordinary user.
pub(crate) fn member() -> User {
    user(1, "member@example.com", Role::User)
}

/// An admin.
pub(crate) fn admin() -> User {
    user(2, "admin@example.com", Role::Admin)
}

/// The session every test bearer token belongs to.
pub(crate) const SESSION: Uuid = Uuid::from_u128(0x5e55);

fn claims(user: &User) -> AccessClaims {
    AccessClaims {
        subject: user.id,
        role: user.role,
        issued_at: NOW,
        expires_at: NOW + time::Duration::minutes(15),
        session_version: user.session_version,
        token_id: Uuid::from_u128(0xbeef),
        session_id: SESSION,
        second_factor: false,
    }
}

/// The stored form of [`MEMBER_KEY`].
pub(crate) fn member_key() -> ApiKey {
    ApiKey {
        id: Uuid::from_u128(0x4b),
        user_id: member().id,
        name: "ci".into(),
        prefix: MEMBER_KEY_PREFIX.into(),
        digest: Reversed.digest_of(MEMBER_KEY),
        created_at: NOW,
        expires_at: None,
        revoked_at: None,
        last_used_at: Some(NOW),
    }
}

impl Reversed {
    fn digest_of(&self, secret: &str) -> String {
        warden_domain::ports::KeyDigester::digest(self, secret)
    }
}

/// The ports, as mocks a test may add expectations to before [`Mocks::client`].
pub(crate) struct Mocks {
    pub(crate) users: MockUserRepository,
    pub(crate) hasher: MockPasswordHasher,
    pub(crate) tokens: MockTokenCodec,
    pub(crate) keys: MockApiKeyRepository,
    pub(crate) lockouts: MockLockoutRepository,
    pub(crate) refresh_tokens: MockRefreshTokenRepository,
    pub(crate) readiness: MockReadiness,
    pub(crate) limiter: MockRateLimiter,
    pub(crate) config: ApiConfig,
    pub(crate) allow_registration: bool,
}

impl std::fmt::Debug for Mocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mocks").finish_non_exhaustive()
    }
}

impl Mocks {
    /// Mocks that know [`member`] and [`admin`] by id and by bearer token, [`MEMBER_KEY`], and
    /// a hasher that accepts [`RIGHT_PASSWORD`]; every budget is open. Anything else a test
    /// needs, it expects itself: a call nobody expected fails the test.
    pub(crate) fn new() -> Self {
        let mut mocks = Self {
            users: MockUserRepository::new(),
            hasher: MockPasswordHasher::new(),
            tokens: MockTokenCodec::new(),
            keys: MockApiKeyRepository::new(),
            lockouts: MockLockoutRepository::new(),
            refresh_tokens: MockRefreshTokenRepository::new(),
            readiness: MockReadiness::new(),
            limiter: MockRateLimiter::new(),
            config: config(),
            allow_registration: true,
        };
        mocks
            .hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("$argon2id$dummy".into())));
        mocks.hasher.expect_verify().returning(|password, _| {
            Ok(secrecy::ExposeSecret::expose_secret(&password) == RIGHT_PASSWORD)
        });
        mocks.hasher.expect_needs_rehash().return_const(false);
        mocks.limiter.expect_check().returning(|_, _| open_budget());
        mocks
    }

    /// The bearer tokens of [`member`] and [`admin`] verify, and both users are found by id.
    pub(crate) fn knowing_the_users(mut self) -> Self {
        self.tokens.expect_verify().returning(|token| match token {
            MEMBER_TOKEN => Ok(claims(&member())),
            ADMIN_TOKEN => Ok(claims(&admin())),
            _ => Err(warden_domain::token::TokenError::BadSignature),
        });
        self.find_by_id_answers(|_| None);
        self
    }

    /// `find_by_id` knows [`member`] and [`admin`], and answers `other` for any other id.
    pub(crate) fn find_by_id_answers(
        &mut self,
        other: impl Fn(Uuid) -> Option<Result<Option<User>, warden_domain::Error>>
        + Send
        + Sync
        + 'static,
    ) {
        let other = Arc::new(other);
        let by_id = other.clone();
        self.users.expect_find_by_id().returning(move |id| {
            if let Some(answer) = by_id(id) {
                return answer;
            }
            Ok([member(), admin()].into_iter().find(|u| u.id == id))
        });
        // The bearer check: both users are in a live session [`SESSION`].
        self.users
            .expect_find_in_session()
            .returning(move |id, sid| {
                let found = match other(id) {
                    Some(answer) => answer?,
                    None => [member(), admin()].into_iter().find(|u| u.id == id),
                };
                let live = (sid == SESSION).then_some(SessionState {
                    ended: false,
                    expires_at: NOW + time::Duration::days(1),
                });
                Ok(found.map(|u| (u, live)))
            });
    }

    /// [`MEMBER_KEY`] is found by its prefix.
    pub(crate) fn knowing_the_key(mut self) -> Self {
        self.keys.expect_find_by_prefix().returning(|prefix| {
            Ok((prefix == MEMBER_KEY_PREFIX).then(|| (member_key(), member())))
        });
        self
    }

    /// Lockout counts that never lock.
    pub(crate) fn never_locking(mut self) -> Self {
        self.lockouts
            .expect_reserve()
            .returning(|_, _, _| Ok(LockState::default().counted(NOW)));
        self.lockouts.expect_clear().returning(|_, _| Ok(()));
        self
    }

    /// The application over these mocks.
    pub(crate) async fn client(self) -> TestClient<impl Endpoint> {
        let clock: Arc<dyn Clock> = Arc::new(Fixed);
        let random: Arc<dyn Random> = Arc::new(Counting::default());
        let users = Arc::new(self.users);
        let lockouts = Arc::new(self.lockouts);
        let ports = Ports {
            users,
            hasher: Arc::new(self.hasher),
            tokens: Arc::new(self.tokens),
            clock: clock.clone(),
            random: random.clone(),
            lockouts,
            refresh_tokens: Arc::new(self.refresh_tokens),
            digester: Arc::new(Reversed),
            deriver: Arc::new(Reversed),
            observer: Arc::new(warden_domain::testing::Tally::default()),
            audit: Arc::new(warden_domain::testing::MemAudit::default()),
            mfa: Arc::new(warden_domain::testing::MemMfa::default()),
            authenticator: Arc::new(warden_domain::testing::FakeAuthenticator::default()),
        };
        let policy = AuthPolicy {
            password: PasswordPolicy::new(8, 128, 2).expect("a valid policy"),
            lifetimes: TokenLifetimes {
                access: time::Duration::minutes(15),
                refresh: time::Duration::days(14),
            },
            allow_registration: self.allow_registration,
            lockout: lockout_policy(),
            reuse_grace: time::Duration::seconds(10),
            audit_retention: time::Duration::days(90),
            mfa: warden_domain::mfa::MfaPolicy::default(),
            require_verified_email: false,
        };
        let admin = AdminService::new(ports.clone(), policy.password.clone());
        let clients = warden_domain::clients::ClientService::new(
            ports.clone(),
            Arc::new(warden_domain::testing::MemClients::default()),
            "warden",
            policy.lifetimes.access,
        );
        let auth = Arc::new(AuthService::new(ports, policy).await.expect("the service"));
        let services = UseCases {
            admin,
            accounts: AccountService::new(&auth),
            mfa: warden_domain::mfa::MfaService::new(&auth),
            recovery: warden_domain::recovery::RecoveryService::new(
                &auth,
                warden_domain::recovery::MailPorts {
                    tokens: Arc::new(warden_domain::testing::MemAccountTokens::default()),
                    composer: Arc::new(warden_domain::testing::PlainComposer),
                },
                warden_domain::recovery::RecoveryPolicy::default(),
            ),
            keys: ApiKeyService::new(Arc::new(self.keys), Arc::new(Reversed), clock, random),
            clients,
            auth,
            readiness: Arc::new(self.readiness),
        };
        let state = AppState::new(
            services,
            Arc::new(self.limiter),
            self.config,
            r#"{"keys":[]}"#,
        )
        .expect("a valid state");
        TestClient::new(warden_api::endpoint(Arc::new(state)))
    }
}

fn lockout_policy() -> LockoutPolicy {
    LockoutPolicy {
        max_failures: 5,
        base: time::Duration::seconds(60),
        account_max_failures: 20,
    }
}

/// A budget with room left.
pub(crate) fn open_budget() -> Decision {
    Decision {
        allowed: true,
        limit: 10,
        remaining: 9,
        reset: Duration::from_secs(6),
        retry_after: Duration::ZERO,
    }
}

fn config() -> ApiConfig {
    ApiConfig {
        production: false,
        docs: false,
        api_keys_in_query: true,
        server: ServerConfig {
            trusted_proxies: Vec::new(),
            max_body_bytes: 64 * 1024,
            body_timeout_seconds: 10,
            header_timeout_seconds: 10,
            keep_alive_timeout_seconds: 30,
            max_connections: 64,
        },
        cors: CorsConfig {
            allowed_origins: Vec::new(),
            allow_credentials: false,
            allowed_methods: vec!["GET".into(), "POST".into()],
            allowed_headers: ["Authorization", "Content-Type", "X-API-Key"]
                .map(String::from)
                .to_vec(),
        },
        work_deadline: Duration::from_secs(5),
    }
}
