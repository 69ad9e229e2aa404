//! The API's own configuration: what the edge and the handlers need to know. The composition
//! root fills it from `server.*`, `cors.*`, `docs.*` and `api_keys.allow_query_param`; the API
//! validates it here, once, and builds its CORS policy, body limits and server limits from it.

use std::time::Duration;

use ipnet::IpNet;

/// A configuration the API cannot run with; the message names the setting, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {why}")]
pub struct ConfigError {
    /// The setting at fault, as written in the configuration file.
    pub key: &'static str,
    /// What is wrong with it.
    pub why: String,
}

impl ConfigError {
    fn new(key: &'static str, why: impl Into<String>) -> Self {
        Self {
            key,
            why: why.into(),
        }
    }
}

/// The methods `cors.allowed_methods` may name.
const CORS_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
/// The largest connection cap accepted: far beyond what one process's file descriptors allow.
const MAX_CONNECTIONS: usize = 1_000_000;
/// The longest timeout accepted, one hour: a longer one would not protect anything.
const MAX_TIMEOUT_SECONDS: u64 = 3_600;

/// `server.*`, as far as the API serves it (the address to bind is the composition root's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Larger request bodies get 413.
    pub max_body_bytes: usize,
    /// A body that does not arrive within this many seconds gets 408.
    pub body_timeout_seconds: u64,
    /// A request head that does not arrive within this many seconds closes the connection.
    pub header_timeout_seconds: u64,
    /// An idle connection closes after this many seconds.
    pub keep_alive_timeout_seconds: u64,
    /// Open connections at most.
    pub max_connections: usize,
}

/// `cors.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsConfig {
    /// Exact origins allowed (`"*"`, in development only, means any).
    pub allowed_origins: Vec<String>,
    /// Send `Access-Control-Allow-Credentials: true`.
    pub allow_credentials: bool,
    /// Methods a preflight allows.
    pub allowed_methods: Vec<String>,
    /// Request headers a preflight allows (compared without regard to case).
    pub allowed_headers: Vec<String>,
}

/// Everything the API is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// A production deployment: HSTS on, `"*"` refused as a CORS origin.
    pub production: bool,
    /// Serve Swagger UI at `/docs` and the document at `/openapi.json`.
    pub docs: bool,
    /// Accept an API key in the `api_key` query parameter.
    pub api_keys_in_query: bool,
    /// `server.*`.
    pub server: ServerConfig,
    /// `cors.*`.
    pub cors: CorsConfig,
    /// How long a handler may work before the edge gives up with a 503: a database that stops
    /// answering in the middle of a query (a network cut) holds no request longer than this.
    pub work_deadline: Duration,
}

impl ApiConfig {
    /// Checks every setting the API reads.
    ///
    /// # Errors
    /// The first setting that cannot be used, by name.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_server()?;
        self.validate_cors()
    }

    fn validate_server(&self) -> Result<(), ConfigError> {
        let s = &self.server;
        if s.max_body_bytes == 0 {
            return Err(ConfigError::new(
                "server.max_body_bytes",
                "must be at least 1",
            ));
        }
        for (key, value) in [
            ("server.header_timeout_seconds", s.header_timeout_seconds),
            ("server.body_timeout_seconds", s.body_timeout_seconds),
            (
                "server.keep_alive_timeout_seconds",
                s.keep_alive_timeout_seconds,
            ),
        ] {
            if !(1..=MAX_TIMEOUT_SECONDS).contains(&value) {
                return Err(ConfigError::new(
                    key,
                    format!("must be between 1 and {MAX_TIMEOUT_SECONDS}"),
                ));
            }
        }
        if !(1..=MAX_CONNECTIONS).contains(&s.max_connections) {
            return Err(ConfigError::new(
                "server.max_connections",
                format!("must be between 1 and {MAX_CONNECTIONS}"),
            ));
        }
        Ok(())
    }

    fn validate_cors(&self) -> Result<(), ConfigError> {
        let cors = &self.cors;
        if self.production && cors.allowed_origins.iter().any(|o| o.trim() == "*") {
            return Err(ConfigError::new(
                "cors.allowed_origins",
                "\"*\" is refused in production; list the exact origins",
            ));
        }
        if let Some(position) = cors
            .allowed_origins
            .iter()
            .position(|o| o != "*" && !is_origin(o))
        {
            return Err(ConfigError::new(
                "cors.allowed_origins",
                format!(
                    "entry {} is not an origin like \"https://app.example.com\" (scheme and host, optional port, no path)",
                    position + 1
                ),
            ));
        }
        if let Some(position) = cors
            .allowed_methods
            .iter()
            .position(|m| !CORS_METHODS.contains(&m.as_str()))
        {
            return Err(ConfigError::new(
                "cors.allowed_methods",
                format!(
                    "entry {} is not one of {}",
                    position + 1,
                    CORS_METHODS.join(", ")
                ),
            ));
        }
        if let Some(position) = cors.allowed_headers.iter().position(|h| !is_header_name(h)) {
            // The position, not the value: a mistyped entry might be anything.
            return Err(ConfigError::new(
                "cors.allowed_headers",
                format!(
                    "entry {} is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)",
                    position + 1
                ),
            ));
        }
        Ok(())
    }

    /// The body limits of the edge.
    pub(crate) fn body_limits(&self) -> crate::body::BodyLimits {
        crate::body::BodyLimits {
            max_bytes: self.server.max_body_bytes,
            timeout: Duration::from_secs(self.server.body_timeout_seconds),
        }
    }

    /// The per-connection timeouts of the server loop.
    pub(crate) fn connection_timeouts(&self) -> crate::connection::ConnectionTimeouts {
        crate::connection::ConnectionTimeouts {
            header: Duration::from_secs(self.server.header_timeout_seconds),
            keep_alive: Duration::from_secs(self.server.keep_alive_timeout_seconds),
        }
    }
}

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

/// A field name as RFC 9110 §5.1 defines it: one or more token characters.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
