//! Validation of the settings of the HTTP edge: the slow-client timeouts, the connection cap,
//! CORS (origins, methods, the request headers a preflight may ask for) and the docs switch.
//! Self-contained, so that it can move to the API crate as it is.

use super::{ConfigError, Profile, Settings};

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
    /// Whether Swagger UI and the OpenAPI document are served.
    pub fn docs_enabled(&self) -> bool {
        self.docs
            .enabled
            .unwrap_or(self.profile == Profile::Development)
    }

    /// The `server.*` timeouts and cap, and `cors.allowed_headers`.
    pub(super) fn validate_edge(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, why: String| Err(ConfigError::Invalid(format!("{key}: {why}")));
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

    pub(super) fn validate_cors(&self, production: bool) -> Result<(), ConfigError> {
        let fail = |key: &str, why: String| Err(ConfigError::Invalid(format!("{key}: {why}")));
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

/// A field name as RFC 9110 §5.1 defines it: one or more token characters.
pub(super) fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
