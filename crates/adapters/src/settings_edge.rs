//! Validation of the settings of the HTTP edge: the slow-client timeouts, the connection cap
//! and the request headers a CORS preflight may ask for.

use super::{ConfigError, Settings};

/// The request headers a preflight may ask for by default: enough for a browser app, and for
/// another app's Swagger UI signing in through the token endpoint (it sends `X-Requested-With`).
pub(super) const DEFAULT_CORS_HEADERS: [&str; 4] = [
    "Authorization",
    "Content-Type",
    "X-API-Key",
    "X-Requested-With",
];

/// The largest connection cap accepted: far beyond what one process's file descriptors allow.
const MAX_CONNECTIONS: usize = 1_000_000;
/// The longest timeout accepted, one hour: a longer one would not protect anything.
const MAX_TIMEOUT_SECONDS: u64 = 3_600;

impl Settings {
    /// The `server.*` timeouts and cap, and `cors.allowed_headers`.
    pub(super) fn validate_edge(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, why: String| Err(ConfigError(format!("{key}: {why}")));
        let s = &self.server;
        for (key, value) in [
            ("server.header_timeout_seconds", s.header_timeout_seconds),
            ("server.body_timeout_seconds", s.body_timeout_seconds),
            (
                "server.keep_alive_timeout_seconds",
                s.keep_alive_timeout_seconds,
            ),
        ] {
            if !(1..=MAX_TIMEOUT_SECONDS).contains(&value) {
                return fail(key, format!("must be between 1 and {MAX_TIMEOUT_SECONDS}"));
            }
        }
        if !(1..=MAX_CONNECTIONS).contains(&s.max_connections) {
            return fail(
                "server.max_connections",
                format!("must be between 1 and {MAX_CONNECTIONS}"),
            );
        }
        if let Some(position) = self
            .cors
            .allowed_headers
            .iter()
            .position(|h| !is_header_name(h))
        {
            // The position, not the value: a mistyped entry might be anything.
            return fail(
                "cors.allowed_headers",
                format!(
                    "entry {} is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)",
                    position + 1
                ),
            );
        }
        Ok(())
    }
}

/// A field name as RFC 9110 §5.1 defines it: one or more token characters.
pub(super) fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
