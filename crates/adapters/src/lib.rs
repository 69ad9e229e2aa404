//! Warden's adapters: storage (sea-orm), argon2id hashing, the JWT codec, the system clock and
//! randomness, configuration (figment), and [`Services::build`], which turns [`Settings`] into
//! ready use cases for both binaries.

// Library code never panics on a value it did not expect: it returns an error (tests may).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod authenticator;
pub mod db;
pub mod digest;
mod foreign;
pub mod hasher;
pub mod jwt;
pub mod keys;
pub mod mail;
pub mod metrics;
pub mod rate_limit;
pub mod redact;
pub mod settings;
mod startup_error;
pub mod system;
pub mod telemetry;
mod token_memo;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret;
use time::Duration;
use tracing::warn;
use warden_domain::account::AccountService;
use warden_domain::admin::AdminService;
use warden_domain::api_key::ApiKeyService;
use warden_domain::auth::{AuthPolicy, AuthService, Ports};
use warden_domain::clients::ClientService;
use warden_domain::lockout::LockoutPolicy;
use warden_domain::mail::{Backoff, MailWorker};
use warden_domain::mfa::{MfaPolicy, MfaService};
use warden_domain::password::PasswordPolicy;
use warden_domain::ports::{Readiness, SecretDeriver};
use warden_domain::rate_limit::RateLimiter;
use warden_domain::recovery::{MailPorts, RecoveryPolicy, RecoveryService};
use warden_domain::token::TokenLifetimes;

pub use settings::{ConfigError, Profile, Settings};
pub use startup_error::StartupError;

use crate::authenticator::TotpAuthenticator;
use crate::digest::{HmacDeriver, Sha256Digester};
use crate::hasher::Argon2Hasher;
use crate::jwt::JwtCodec;
use crate::mail::Templates;
use crate::metrics::{AdapterMetrics, AuthCounters, HashTimings};
use crate::rate_limit::GcraLimiter;
use crate::redact::Redacted;
use crate::settings::JwtAlgorithm;
use crate::system::{OsRandom, SystemClock};

/// The use cases, ready to serve, and what the edges need besides.
#[derive(Debug, Clone)]
pub struct Services {
    /// Sessions: log in, refresh, authenticate, introspect, log out, revoke.
    pub auth: Arc<AuthService>,
    /// The account's own: register, change password.
    pub accounts: AccountService,
    /// The second factor: enrol, confirm, replace recovery codes, disable.
    pub mfa: MfaService,
    /// The flows by mail: verify, reset, change the address.
    pub recovery: RecoveryService,
    /// Delivers the outbox; `None` when mail is off.
    pub mail_worker: Option<MailWorker>,
    /// User administration.
    pub admin: AdminService,
    /// API keys.
    pub keys: ApiKeyService,
    /// The client registry and the clients' own grants.
    pub clients: ClientService,
    /// The JWKS document.
    pub jwks_json: Arc<str>,
    /// The rate limits of `rate_limit.*`, shared through Redis when `redis.url` is set.
    pub rate_limits: Arc<dyn RateLimiter>,
    /// Whether storage (and Redis, when set) answer.
    pub readiness: Arc<dyn Readiness>,
    /// The use cases' and the adapters' metrics, for the edge's registry.
    pub metrics: AdapterMetrics,
}

/// Opens the database named by `database.url` and applies pending migrations.
///
/// # Errors
/// A [`StartupError`] naming `database.url`.
pub async fn open_database(settings: &Settings) -> Result<DatabaseConnection, StartupError> {
    let url = &settings.database.url;
    let shown = settings::redact_url(url);
    // A driver's message may quote the URL, or the part of it it could not use.
    let failed = |action, e, hint| StartupError::Database {
        action,
        shown: shown.clone(),
        hint,
        source: Box::new(Redacted::new(e, url)),
    };
    let timeouts = settings.database_timeouts();
    let db = match db::connect_with(url, settings.database.max_connections, timeouts).await {
        Ok(db) => db,
        Err(e) => {
            let hint = db::diagnose::hint(url, &e, timeouts.acquire).await;
            return Err(failed("open", e, hint));
        }
    };
    db::migrate(&db)
        .await
        .map_err(|e| failed("migrate", e, None))?;
    Ok(db)
}

fn read_key_file(key: &'static str, path: &std::path::Path) -> Result<Vec<u8>, StartupError> {
    std::fs::read(path).map_err(|source| StartupError::KeyFile {
        key,
        path: path.to_owned(),
        source,
    })
}

/// The JWT codec the settings ask for (in development with no key, a random one for this
/// run), and the refresh-successor deriver keyed from the same signing key.
///
/// # Errors
/// A [`StartupError`] naming the key setting.
pub fn build_codec(settings: &Settings) -> Result<(JwtCodec, HmacDeriver), StartupError> {
    let jwt = &settings.jwt;
    match jwt.algorithm {
        JwtAlgorithm::HS256 => {
            let secret = jwt.secret.clone().unwrap_or_else(|| {
                warn!("jwt.secret is not set: using a random key for this run; tokens will not survive a restart");
                keys::generate_hs256_secret()
            });
            let key = secret.expose_secret().as_bytes();
            Ok((
                JwtCodec::hs256(key, &settings.issuer(), &jwt.audience),
                HmacDeriver::from_signing_key(key),
            ))
        }
        JwtAlgorithm::EdDSA | JwtAlgorithm::RS256 => {
            let private = if let Some(path) = &jwt.private_key_file {
                read_key_file("jwt.private_key_file", path)?
            } else if jwt.algorithm == JwtAlgorithm::RS256 {
                // No RSA key is made on the fly: generating one is slow and it would not last.
                return Err(ConfigError::setting(
                    "jwt.private_key_file",
                    "is required under RS256 (make one with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072`)",
                )
                .into());
            } else {
                warn!(
                    "jwt.private_key_file is not set: using a random key for this run; tokens will not survive a restart"
                );
                keys::generate_ed25519()
                    .private
                    .expose_secret()
                    .as_bytes()
                    .to_vec()
            };
            let public = jwt
                .public_key_files
                .iter()
                .map(|p| read_key_file("jwt.public_key_files", p))
                .collect::<Result<Vec<_>, _>>()?;
            let alg = if jwt.algorithm == JwtAlgorithm::RS256 {
                jwt::Asymmetric::Rs256
            } else {
                jwt::Asymmetric::EdDsa
            };
            let codec =
                JwtCodec::asymmetric(alg, &private, &public, &settings.issuer(), &jwt.audience)
                    .map_err(StartupError::Key)?;
            Ok((codec, HmacDeriver::from_signing_key(&private)))
        }
    }
}

/// The TOTP authenticator under `mfa.encryption_key`, or (in development, where it may be
/// unset) under a key derived from the token-signing key.
///
/// # Errors
/// A key that does not decode.
fn build_authenticator(
    settings: &Settings,
    deriver: &HmacDeriver,
) -> Result<TotpAuthenticator, StartupError> {
    let keys = settings.mfa.keys()?;
    let current = if let Some(key) = keys.current {
        key
    } else {
        let derived = deriver.derive("warden mfa sealing key v1");
        URL_SAFE_NO_PAD
            .decode(derived.expose_secret())
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| ConfigError::setting("mfa.encryption_key", "cannot be derived"))?
    };
    Ok(TotpAuthenticator::new(
        &current,
        &keys.previous,
        &settings.mfa.issuer,
    ))
}

/// The flows by mail on the templates and the outbox, and the worker that delivers it (when
/// mail is on).
///
/// # Errors
/// A [`StartupError`] naming the `mail.*` setting at fault.
fn build_mail(
    settings: &Settings,
    auth: &AuthService,
    db: &DatabaseConnection,
) -> Result<(RecoveryService, Option<MailWorker>), StartupError> {
    let templates = Arc::new(Templates::load(settings.mail.templates_dir.as_deref())?);
    let mail = &settings.mail;
    let policy = RecoveryPolicy {
        mail_enabled: settings.mail_enabled(),
        verify_email: settings.verify_email(),
        public_url: settings.public_url(),
        verify_ttl: Duration::seconds(i64::from(mail.verify_ttl_seconds)),
        reset_ttl: Duration::seconds(i64::from(mail.reset_ttl_seconds)),
    };
    let ports = MailPorts {
        tokens: Arc::new(db::SeaOrmAccountTokenRepository::new(db.clone())),
        composer: templates.clone(),
    };
    let recovery = RecoveryService::new(auth, ports, policy);
    let worker = mail::build_transport(settings)?.map(|(transport, shown)| {
        tracing::info!("{shown}");
        let backoff = Backoff {
            max_attempts: mail.max_attempts,
            ..Backoff::default()
        };
        // A claimed message is kept from other instances for longer than one exchange may last.
        let lease = Duration::seconds(i64::from(mail.timeout_seconds) * 4);
        MailWorker::new(
            Arc::new(db::SeaOrmOutbox::new(db.clone())),
            transport,
            auth.ports().clock.clone(),
            backoff,
            lease,
        )
    });
    Ok((recovery, worker))
}

/// The policies of the use cases, from `password.*`, `jwt.*`, `auth.*`, `lockout.*`,
/// `refresh.*`, `audit.*` and `mfa.*`.
///
/// # Errors
/// A password policy that contradicts itself.
fn auth_policy(settings: &Settings) -> Result<AuthPolicy, ConfigError> {
    let p = &settings.password;
    Ok(AuthPolicy {
        password: PasswordPolicy::new(p.min_length, p.max_length, p.min_strength)
            .map_err(ConfigError::from)?,
        lifetimes: TokenLifetimes {
            access: Duration::seconds(i64::from(settings.jwt.access_ttl_seconds)),
            refresh: Duration::seconds(i64::from(settings.jwt.refresh_ttl_seconds)),
        },
        allow_registration: settings.auth.allow_registration,
        lockout: LockoutPolicy {
            max_failures: settings.lockout.max_failures,
            base: Duration::seconds(i64::from(settings.lockout.base_seconds)),
            account_max_failures: settings.lockout.account_max_failures,
        },
        reuse_grace: Duration::seconds(i64::from(settings.refresh.reuse_grace_seconds)),
        audit_retention: Duration::days(i64::from(settings.audit.retention_days)),
        mfa: MfaPolicy {
            enabled: settings.mfa_enabled(),
            require_for_admins: settings.mfa.require_for_admins,
            issuer: settings.mfa.issuer.clone(),
        },
        require_verified_email: settings.auth.require_verified_email,
    })
}

impl Services {
    /// Opens and migrates the database, loads the keys and builds the use cases.
    ///
    /// # Errors
    /// A [`StartupError`] naming the setting at fault.
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        // The signing key is the caller's to check: the server does, the admin commands need none.
        settings.validate_except_signing_key()?;
        for warning in settings.warnings() {
            warn!("{warning}");
        }
        let db = open_database(settings).await?;
        let (codec, deriver) = build_codec(settings)?;
        let jwks_json: Arc<str> = codec.jwks_json().into();
        let a = &settings.argon2;
        let hashing = HashTimings::default();
        let hasher = Argon2Hasher::new(a.memory_kib, a.iterations, a.parallelism, a.concurrency())
            .map_err(StartupError::Argon2)?
            .timed(hashing.clone());
        let counters = AuthCounters::default();
        let readers = db::SqliteReaders::open(
            &db,
            &settings.database.url,
            settings.database.max_connections,
        )
        .map_err(|e| StartupError::Readers(Redacted::new(e, &settings.database.url)))?;
        let users = Arc::new(db::SqliteReadModel::new(
            db::SeaOrmUserRepository::new(db.clone()),
            readers.clone(),
        ));
        let authenticator = build_authenticator(settings, &deriver)?;
        let ports = Ports {
            users,
            hasher: Arc::new(hasher),
            tokens: Arc::new(codec),
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
            lockouts: Arc::new(db::SeaOrmLockoutRepository::new(db.clone())),
            refresh_tokens: Arc::new(db::SeaOrmRefreshTokenRepository::new(db.clone())),
            digester: Arc::new(Sha256Digester),
            deriver: Arc::new(deriver),
            observer: Arc::new(counters.clone()),
            audit: Arc::new(db::SeaOrmAuditLog::new(db.clone())),
            mfa: Arc::new(db::SeaOrmMfaRepository::new(db.clone())),
            authenticator: Arc::new(authenticator),
        };
        let policy = auth_policy(settings)?;
        let admin = AdminService::new(ports.clone(), policy.password.clone());
        let clients = ClientService::new(
            ports.clone(),
            Arc::new(db::SeaOrmClientRepository::new(db.clone())),
            &settings.oauth.default_client,
            policy.lifetimes.access,
        );
        let auth = Arc::new(
            AuthService::new(ports, policy)
                .await
                .map_err(StartupError::UseCases)?,
        );
        let keys = ApiKeyService::new(
            Arc::new(db::SqliteReadModel::new(
                db::SeaOrmApiKeyRepository::new(db.clone()),
                readers,
            )),
            auth.ports().digester.clone(),
            auth.ports().clock.clone(),
            auth.ports().random.clone(),
        );
        let rate_limits = match &settings.redis.url {
            Some(url) => GcraLimiter::shared(&settings.rate_limit, url)
                .map_err(|e| StartupError::Redis(Redacted::new(e, url)))?,
            None => GcraLimiter::in_memory(&settings.rate_limit),
        };
        let (recovery, mail_worker) = build_mail(settings, &auth, &db)?;
        let metrics = AdapterMetrics::new(counters, hashing, db.clone(), rate_limits.clone());
        let rate_limits: Arc<dyn RateLimiter> = Arc::new(rate_limits);
        Ok(Self {
            metrics,
            recovery,
            mail_worker,
            accounts: AccountService::new(&auth),
            mfa: MfaService::new(&auth),
            auth,
            keys,
            clients,
            admin,
            jwks_json,
            readiness: Arc::new(Probes {
                db,
                limits: rate_limits.clone(),
            }),
            rate_limits,
        })
    }
}

/// What `/health/ready` asks: the database, and the rate limits' shared store.
struct Probes {
    db: DatabaseConnection,
    limits: Arc<dyn RateLimiter>,
}

#[async_trait::async_trait]
impl Readiness for Probes {
    async fn storage_ready(&self) -> bool {
        db::ping(&self.db).await
    }

    async fn shared_store_ready(&self) -> Option<bool> {
        self.limits.shared_store_ready().await
    }
}
