//! The configuration's schema: one struct per section, each with its defaults, and how a
//! secret is read from any scalar.

use std::net::SocketAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use warden_domain::credential_policy::HashCost;

use super::rate::{Rate, RatePeriod};
/// Development or production; production refuses insecure settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Local work: docs on, a random JWT key if none is set.
    #[default]
    Development,
    /// A deployment: HSTS, docs off by default, every key required.
    Production,
}

/// Every setting, one struct per section.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// `development` or `production`.
    pub profile: Profile,
    /// `server.*`.
    pub server: ServerSettings,
    /// `database.*`.
    pub database: DatabaseSettings,
    /// `redis.*`.
    pub redis: RedisSettings,
    /// `jwt.*`.
    pub jwt: JwtSettings,
    /// `auth.*`.
    pub auth: AuthSettings,
    /// `password.*`.
    pub password: PasswordSettings,
    /// `argon2.*`: hashing cost.
    pub argon2: Argon2Settings,
    /// `lockout.*`.
    pub lockout: LockoutSettings,
    /// `refresh.*`.
    pub refresh: RefreshSettings,
    /// `audit.*`.
    pub audit: AuditSettings,
    /// `mfa.*`.
    pub mfa: super::MfaSettings,
    /// `mail.*`.
    pub mail: super::MailSettings,
    /// `oauth.*`.
    pub oauth: super::OAuthSettings,
    /// `api_keys.*`.
    pub api_keys: ApiKeySettings,
    /// `cors.*`.
    pub cors: CorsSettings,
    /// `rate_limit.*`.
    pub rate_limit: RateLimitSettings,
    /// `docs.*`.
    pub docs: DocsSettings,
    /// `log.*`.
    pub log: LogSettings,
    /// `metrics.*`.
    pub metrics: MetricsSettings,
}

/// `metrics.*`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// Where `GET /metrics` (Prometheus, OpenMetrics text) is served; unset means off. Keep it
    /// off the public network.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<SocketAddr>,
}

/// `log.*`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `text` (for people) or `json` (one object per line, for collectors).
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `server.*`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Listen address.
    pub bind: SocketAddr,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Larger request bodies get 413.
    pub max_body_bytes: usize,
    /// A request's head (request line and headers) must arrive within this many seconds.
    pub header_timeout_seconds: u64,
    /// A request's body must arrive whole within this many seconds (408 otherwise).
    pub body_timeout_seconds: u64,
    /// A connection with no request in flight is closed after this many idle seconds.
    pub keep_alive_timeout_seconds: u64,
    /// Open connections at most; past it a new connection is closed as soon as accepted.
    pub max_connections: usize,
    /// The URL people reach the server at (`https://auth.example.com`): the base of every
    /// link in mail. Required in production once mail is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            trusted_proxies: Vec::new(),
            max_body_bytes: 65_536,
            header_timeout_seconds: 10,
            body_timeout_seconds: 10,
            keep_alive_timeout_seconds: 30,
            max_connections: 1024,
            public_url: None,
        }
    }
}

/// `database.*`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://PATH?mode=rwc` or `postgres://…`; may hold a password, so it is redacted.
    #[serde(serialize_with = "super::redact::url_password")]
    pub url: String,
    /// Pool size (SQLite files and PostgreSQL).
    pub max_connections: u32,
    /// Longest wait for a pooled connection, in milliseconds; then the request gets 503.
    pub acquire_timeout_ms: u64,
    /// Longest run of one statement, in milliseconds (PostgreSQL `statement_timeout`, SQLite
    /// busy timeout); then it is cancelled, its transaction rolls back and the request gets 503.
    pub statement_timeout_ms: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        let timeouts = crate::db::Timeouts::DEFAULT;
        Self {
            url: "sqlite://warden.db?mode=rwc".into(),
            max_connections: 8,
            acquire_timeout_ms: u64::try_from(timeouts.acquire.as_millis()).unwrap_or(u64::MAX),
            statement_timeout_ms: u64::try_from(timeouts.statement.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// `redis.*`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    /// When set, rate limits are shared through Redis.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::redact::opt_url_password"
    )]
    pub url: Option<String>,
}

/// The JWT signing algorithm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 with `jwt.secret`.
    #[default]
    HS256,
    /// Ed25519 with `jwt.private_key_file`.
    EdDSA,
    /// RSASSA-PKCS1-v1_5 with SHA-256 and the RSA key (2048 bits or more) of
    /// `jwt.private_key_file`: what every OpenID Connect relying party accepts.
    RS256,
}

/// `jwt.*`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwtSettings {
    /// `HS256`, `EdDSA` or `RS256`.
    pub algorithm: JwtAlgorithm,
    /// The HS256 key.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::redact::secret",
        deserialize_with = "lenient_secret"
    )]
    pub secret: Option<SecretString>,
    /// EdDSA and RS256: the PEM signing key (PKCS#8; RS256 also PKCS#1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_key_file: Option<PathBuf>,
    /// EdDSA and RS256: extra SPKI PEM verification keys (rotation).
    pub public_key_files: Vec<PathBuf>,
    /// `iss`, and the base of discovery: by default `server.public_url` when one is set (or
    /// filled in, in development), else `warden`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// `aud`.
    pub audience: String,
    /// Access token lifetime.
    pub access_ttl_seconds: u32,
    /// Refresh chain lifetime.
    pub refresh_ttl_seconds: u32,
}

impl Default for JwtSettings {
    fn default() -> Self {
        Self {
            algorithm: JwtAlgorithm::HS256,
            secret: None,
            private_key_file: None,
            public_key_files: Vec::new(),
            issuer: None,
            audience: "warden".into(),
            access_ttl_seconds: 900,
            refresh_ttl_seconds: 2_592_000,
        }
    }
}

/// `auth.*`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Self-service sign-up.
    pub allow_registration: bool,
    /// Whether a new account (signed up, or made by an admin) gets a verification mail; by
    /// default whenever mail is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_email: Option<bool>,
    /// Whether a password login needs a verified address.
    pub require_verified_email: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            allow_registration: true,
            verify_email: None,
            require_verified_email: false,
        }
    }
}

/// `password.*`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordSettings {
    /// Minimum length in characters.
    pub min_length: usize,
    /// Maximum length in characters.
    pub max_length: usize,
    /// Minimum strength score, 0 to 4.
    pub min_strength: u8,
}

impl Default for PasswordSettings {
    fn default() -> Self {
        Self {
            min_length: 12,
            max_length: 128,
            min_strength: 3,
        }
    }
}

/// `argon2.*`: the hashing cost and how many hashes may run at once.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Argon2Settings {
    /// Memory per hash, KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
    /// Hashes running at once; 0 means one per core.
    pub max_concurrent: usize,
}

impl Default for Argon2Settings {
    /// The production floor of the domain's credential policy.
    fn default() -> Self {
        let floor = HashCost::PRODUCTION_FLOOR;
        Self {
            memory_kib: floor.memory_kib,
            iterations: floor.iterations,
            parallelism: floor.parallelism,
            max_concurrent: 0,
        }
    }
}

impl Argon2Settings {
    /// The number of hashes allowed at once.
    pub fn concurrency(&self) -> usize {
        if self.max_concurrent > 0 {
            self.max_concurrent
        } else {
            std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
        }
    }
}

/// `lockout.*`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutSettings {
    /// Failures from one IP before that IP is locked out of the account.
    pub max_failures: u32,
    /// First lock length.
    pub base_seconds: u32,
    /// Failures from all IPs before the account is locked.
    pub account_max_failures: u32,
}

impl Default for LockoutSettings {
    fn default() -> Self {
        Self {
            max_failures: 5,
            base_seconds: 60,
            account_max_failures: 100,
        }
    }
}

/// `refresh.*`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RefreshSettings {
    /// Replays of a rotated token within this window get the same successor.
    pub reuse_grace_seconds: u32,
}

/// `audit.*`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// Audit events older than this many days are purged (1 to 36500).
    pub retention_days: u32,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self { retention_days: 90 }
    }
}

/// `api_keys.*`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiKeySettings {
    /// Accept `api_key=` in the query string.
    pub allow_query_param: bool,
}

impl Default for ApiKeySettings {
    fn default() -> Self {
        Self {
            allow_query_param: true,
        }
    }
}

/// `cors.*`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorsSettings {
    /// Exact origins allowed.
    pub allowed_origins: Vec<String>,
    /// Send `Access-Control-Allow-Credentials: true`.
    pub allow_credentials: bool,
    /// Methods a preflight allows.
    pub allowed_methods: Vec<String>,
    /// Request headers a preflight allows (compared without regard to case).
    pub allowed_headers: Vec<String>,
}

impl Default for CorsSettings {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            allow_credentials: false,
            allowed_methods: ["GET", "POST", "PUT", "PATCH", "DELETE"]
                .map(String::from)
                .to_vec(),
            allowed_headers: super::edge::DEFAULT_CORS_HEADERS.map(String::from).to_vec(),
        }
    }
}

/// `rate_limit.*`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    /// `POST /auth/token`, per client IP.
    pub login: Rate,
    /// `POST /auth/register`, per client IP.
    pub register: Rate,
    /// The requests that send mail to an address (`POST /auth/password/forgot`,
    /// `POST /auth/email/verify/resend`, `PUT /users/me/email`), per client IP.
    pub mail: Rate,
    /// Everything else, per client IP.
    pub default: Rate,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            login: Rate::new(10, RatePeriod::Minute),
            register: Rate::new(5, RatePeriod::Minute),
            mail: Rate::new(5, RatePeriod::Hour),
            default: Rate::new(600, RatePeriod::Minute),
        }
    }
}

/// `docs.*`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DocsSettings {
    /// Swagger UI and the OpenAPI document; by default on in development only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// A secret that may be unset.
type MaybeSecret = Option<SecretString>;

/// Environment values are parsed like TOML, so a secret of digits arrives as a number; take
/// any scalar as the secret's text.
fn lenient_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<MaybeSecret, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Int(i64),
        Float(f64),
        Bool(bool),
    }
    Ok(Option::<Scalar>::deserialize(d)?.map(|v| {
        SecretString::from(match v {
            Scalar::Text(s) => s,
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(x) => x.to_string(),
            Scalar::Bool(b) => b.to_string(),
        })
    }))
}
