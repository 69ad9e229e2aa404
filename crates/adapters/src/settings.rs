//! Configuration: defaults, then a TOML file, then `WARDEN_*` variables, checked at load so
//! that a deployment that would be insecure or broken never starts.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

/// The variable naming the configuration file; not itself a configuration key.
pub const CONFIG_PATH_VAR: &str = "WARDEN_CONFIG";
/// The file read when [`CONFIG_PATH_VAR`] is unset, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "warden.toml";

/// A configuration that cannot be used; the message names the setting.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

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
    /// `api_keys.*`.
    pub api_keys: ApiKeySettings,
    /// `cors.*`.
    pub cors: CorsSettings,
    /// `rate_limit.*`.
    pub rate_limit: RateLimitSettings,
    /// `docs.*`.
    pub docs: DocsSettings,
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
        }
    }
}

/// `database.*`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://PATH?mode=rwc` or `postgres://…`; may hold a password, so it is redacted.
    #[serde(serialize_with = "redact_url_password")]
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
        serialize_with = "redact_opt_url_password"
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
}

/// `jwt.*`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwtSettings {
    /// `HS256` or `EdDSA`.
    pub algorithm: JwtAlgorithm,
    /// The HS256 key.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "redact_secret",
        deserialize_with = "lenient_secret"
    )]
    pub secret: Option<SecretString>,
    /// EdDSA: PKCS#8 PEM signing key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_key_file: Option<PathBuf>,
    /// EdDSA: extra SPKI PEM verification keys (rotation).
    pub public_key_files: Vec<PathBuf>,
    /// `iss`.
    pub issuer: String,
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
            issuer: "warden".into(),
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
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            allow_registration: true,
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

/// The production floor for argon2id (OWASP: m=19456 KiB, t=2, p=1).
const ARGON2_MIN_MEMORY_KIB: u32 = 19_456;
const ARGON2_MIN_ITERATIONS: u32 = 2;

impl Default for Argon2Settings {
    fn default() -> Self {
        Self {
            memory_kib: ARGON2_MIN_MEMORY_KIB,
            iterations: ARGON2_MIN_ITERATIONS,
            parallelism: 1,
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
            allowed_headers: edge::DEFAULT_CORS_HEADERS.map(String::from).to_vec(),
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
    /// Everything else, per client IP.
    pub default: Rate,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            login: Rate::new(10, RatePeriod::Minute),
            register: Rate::new(5, RatePeriod::Minute),
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

/// The unit of a [`Rate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RatePeriod {
    /// Per second.
    Second,
    /// Per minute.
    Minute,
    /// Per hour.
    Hour,
}

/// A rate such as `"10/minute"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rate {
    /// Requests allowed per period (at least 1).
    pub count: u32,
    /// The period.
    pub period: RatePeriod,
}

impl Rate {
    /// A rate of `count` per `period`.
    pub const fn new(count: u32, period: RatePeriod) -> Self {
        Self { count, period }
    }

    /// The period as a duration.
    pub fn period_duration(self) -> Duration {
        Duration::from_secs(match self.period {
            RatePeriod::Second => 1,
            RatePeriod::Minute => 60,
            RatePeriod::Hour => 3600,
        })
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            // The value is not quoted: a secret put under the wrong key must not be printed.
            "is not a rate like \"10/minute\" (N/second, N/minute or N/hour, N ≥ 1)".to_owned()
        };
        let (n, unit) = s.trim().split_once('/').ok_or_else(bad)?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        let period = match unit.trim() {
            "second" => RatePeriod::Second,
            "minute" => RatePeriod::Minute,
            "hour" => RatePeriod::Hour,
            _ => return Err(bad()),
        };
        if count == 0 {
            return Err(bad());
        }
        Ok(Self { count, period })
    }
}

impl TryFrom<String> for Rate {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Rate> for String {
    fn from(r: Rate) -> Self {
        r.to_string()
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.period {
            RatePeriod::Second => "second",
            RatePeriod::Minute => "minute",
            RatePeriod::Hour => "hour",
        };
        write!(f, "{}/{unit}", self.count)
    }
}

#[allow(clippy::ref_option)] // The signature serde's `serialize_with` calls.
fn redact_secret<S: Serializer>(_: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("[redacted]")
}

pub use crate::redact::redact_url;

fn redact_url_password<S: Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(url))
}

#[allow(clippy::ref_option)] // The signature serde's `serialize_with` calls.
fn redact_opt_url_password<S: Serializer>(url: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(url.as_deref().unwrap_or_default()))
}

/// Environment values are parsed like TOML, so a secret of digits arrives as a number; take
/// any scalar as the secret's text.
fn lenient_secret<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<SecretString>, D::Error> {
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

/// Methods `cors.allowed_methods` may list.
const CORS_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// `scheme://host[:port]`, as browsers send it in `Origin`.
fn is_origin(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && !rest.contains(['/', '?', '#', ' ', '@'])
        && rest.is_ascii()
}

impl Settings {
    /// Loads from `$WARDEN_CONFIG` (or `./warden.toml` if present) and `WARDEN_*` variables,
    /// then checks the result.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the setting at fault.
    pub fn load() -> Result<Self, ConfigError> {
        let file = match std::env::var_os(CONFIG_PATH_VAR) {
            Some(path) => {
                let path = PathBuf::from(path);
                if !path.is_file() {
                    return Err(ConfigError(format!(
                        "{CONFIG_PATH_VAR}: no configuration file at {}",
                        path.display()
                    )));
                }
                Some(path)
            }
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.is_file()),
        };
        Self::load_from(file.as_deref())
    }

    /// Loads from an optional TOML file and `WARDEN_*` variables, then checks the result.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the setting at fault.
    pub fn load_from(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(Env::prefixed("WARDEN_").split("__").ignore(&["config"]));
        let settings: Self = figment
            .extract()
            .map_err(|e| ConfigError(checks::describe(&e)))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Whether Swagger UI and the OpenAPI document are served.
    pub fn docs_enabled(&self) -> bool {
        self.docs
            .enabled
            .unwrap_or(self.profile == Profile::Development)
    }

    /// The effective configuration as TOML, secrets shown as `"[redacted]"`.
    ///
    /// # Errors
    /// If serialisation fails (it should not).
    pub fn to_redacted_toml(&self) -> Result<String, ConfigError> {
        toml::to_string(self).map_err(|e| ConfigError(format!("cannot print configuration: {e}")))
    }

    /// Every refusal of the contract that can be decided without touching files or the network.
    ///
    /// # Errors
    /// The first problem found, naming the setting.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, why: String| Err(ConfigError(format!("{key}: {why}")));
        let production = self.profile == Profile::Production;
        match self.jwt.algorithm {
            JwtAlgorithm::HS256 => match &self.jwt.secret {
                Some(secret) => checks::refuse_weak_secret(secret.expose_secret(), production)?,
                None if production => {
                    return fail(
                        "jwt.secret",
                        "is required in production under HS256 (make one with `warden keys generate`)".into(),
                    );
                }
                None => {}
            },
            JwtAlgorithm::EdDSA => {
                if production && self.jwt.private_key_file.is_none() {
                    return fail(
                        "jwt.private_key_file",
                        "is required in production under EdDSA (make one with `warden keys generate --algorithm eddsa`)".into(),
                    );
                }
            }
        }
        for (key, value) in [
            ("jwt.issuer", &self.jwt.issuer),
            ("jwt.audience", &self.jwt.audience),
        ] {
            if value.trim().is_empty() {
                return fail(key, "must not be empty".into());
            }
        }
        if !(1..=86_400).contains(&self.jwt.access_ttl_seconds) {
            return fail(
                "jwt.access_ttl_seconds",
                "must be between 1 and 86400".into(),
            );
        }
        if self.jwt.refresh_ttl_seconds < self.jwt.access_ttl_seconds {
            return fail(
                "jwt.refresh_ttl_seconds",
                "must be at least jwt.access_ttl_seconds".into(),
            );
        }
        warden_domain::password::PasswordPolicy::new(
            self.password.min_length,
            self.password.max_length,
            self.password.min_strength,
        )
        .map_err(|e| ConfigError(e.to_string()))?;
        self.validate_argon2(production)?;
        for (key, value) in [
            ("lockout.max_failures", self.lockout.max_failures),
            ("lockout.base_seconds", self.lockout.base_seconds),
            (
                "lockout.account_max_failures",
                self.lockout.account_max_failures,
            ),
        ] {
            if value == 0 {
                return fail(key, "must be at least 1".into());
            }
        }
        self.validate_cors(production)?;
        let url = &self.database.url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return fail(
                "database.url",
                format!("'{}' is neither sqlite:// nor postgres://", redact_url(url)),
            );
        }
        if self.database.max_connections == 0 {
            return fail("database.max_connections", "must be at least 1".into());
        }
        self.validate_database_timeouts()?;
        if self.server.max_body_bytes == 0 {
            return fail("server.max_body_bytes", "must be at least 1".into());
        }
        self.validate_edge()?;
        if let Some(url) = &self.redis.url
            && redis::IntoConnectionInfo::into_connection_info(url.as_str()).is_err()
        {
            return fail(
                "redis.url",
                format!(
                    "'{}' is not a Redis URL (redis://HOST:PORT/DB or rediss://…)",
                    redact_url(url)
                ),
            );
        }
        Ok(())
    }

    fn validate_cors(&self, production: bool) -> Result<(), ConfigError> {
        let fail = |key: &str, why: String| Err(ConfigError(format!("{key}: {why}")));
        if production && self.cors.allowed_origins.iter().any(|o| o.trim() == "*") {
            return fail(
                "cors.allowed_origins",
                "\"*\" is refused in production; list the exact origins".into(),
            );
        }
        for origin in &self.cors.allowed_origins {
            if origin != "*" && !is_origin(origin) {
                return fail(
                    "cors.allowed_origins",
                    format!(
                        "'{origin}' is not an origin like \"https://app.example.com\" (scheme and host, optional port, no path)"
                    ),
                );
            }
        }
        if let Some(bad) = self
            .cors
            .allowed_methods
            .iter()
            .find(|m| !CORS_METHODS.contains(&m.as_str()))
        {
            return fail(
                "cors.allowed_methods",
                format!("'{bad}' is not one of {}", CORS_METHODS.join(", ")),
            );
        }
        Ok(())
    }

    fn validate_argon2(&self, production: bool) -> Result<(), ConfigError> {
        let a = &self.argon2;
        if let Err(e) = argon2::Params::new(a.memory_kib, a.iterations, a.parallelism, None) {
            return Err(ConfigError(format!("argon2: invalid parameters ({e})")));
        }
        if production
            && (a.memory_kib < ARGON2_MIN_MEMORY_KIB || a.iterations < ARGON2_MIN_ITERATIONS)
        {
            return Err(ConfigError(format!(
                "argon2.memory_kib / argon2.iterations: production needs at least m={ARGON2_MIN_MEMORY_KIB} KiB and t={ARGON2_MIN_ITERATIONS}"
            )));
        }
        Ok(())
    }
}

#[path = "settings_checks.rs"]
mod checks;

#[path = "settings_edge.rs"]
mod edge;

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
