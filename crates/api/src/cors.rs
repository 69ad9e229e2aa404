//! CORS from `cors.*`: exact origins echoed back (never `*`), `Vary: Origin`, preflights that
//! allow only the configured methods and request headers (`cors.allowed_headers`, compared
//! without regard to case), credentials only when configured. poem's own `Cors` allows every origin when the list is empty, so Warden keeps
//! this small policy of its own.

use std::collections::HashSet;

use poem::http::header::{self, HeaderMap, HeaderValue};
use poem::http::{Method, StatusCode};
use poem::{Request, Response};

use crate::middleware::problem_response;
use crate::problem::Problem;

/// What a browser may read from a response.
const EXPOSED_HEADERS: &str =
    "Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, X-Request-Id";
/// How long a browser may cache a preflight, seconds.
const MAX_AGE: &str = "600";

/// The CORS policy of the edge.
#[derive(Debug, Clone, Default)]
pub struct CorsPolicy {
    origins: HashSet<String>,
    any_origin: bool,
    methods: Vec<Method>,
    /// The request headers a preflight may ask for, lower-cased.
    headers: HashSet<String>,
    /// The same, as sent in `Access-Control-Allow-Headers`.
    allow_headers: Option<HeaderValue>,
    allow_credentials: bool,
}

impl CorsPolicy {
    /// A policy for these origins (`"*"`, allowed in development only, means any), methods and
    /// request headers (validated as header names when the settings load).
    pub fn new(
        origins: &[String],
        methods: &[String],
        headers: &[String],
        allow_credentials: bool,
    ) -> Self {
        Self {
            origins: origins.iter().filter(|o| *o != "*").cloned().collect(),
            any_origin: origins.iter().any(|o| o == "*"),
            methods: methods
                .iter()
                .filter_map(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok())
                .collect(),
            headers: headers.iter().map(|h| h.to_ascii_lowercase()).collect(),
            allow_headers: HeaderValue::from_str(&headers.join(", ")).ok(),
            allow_credentials,
        }
    }

    fn allows(&self, origin: &str) -> bool {
        self.any_origin || self.origins.contains(origin)
    }

    /// The answer to a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`),
    /// or `None` when the request is not one.
    pub fn preflight(&self, req: &Request) -> Option<Response> {
        if req.method() != Method::OPTIONS {
            return None;
        }
        let headers = req.headers();
        let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
        let method = headers.get(header::ACCESS_CONTROL_REQUEST_METHOD)?;
        let refuse = |why: &str| Some(problem_response(&Problem::new(403, why)));
        if !self.allows(origin) {
            return refuse("This origin is not allowed");
        }
        let method_ok = method
            .to_str()
            .ok()
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
            .is_some_and(|m| self.methods.contains(&m));
        if !method_ok {
            return refuse("This method is not allowed from another origin");
        }
        let asked: Vec<String> = headers
            .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .iter()
            // Not `to_str`, which would skip a value with non-ASCII bytes and so allow it:
            // such a name is kept, and matches nothing.
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .flat_map(|v| v.split(',').map(str::to_owned).collect::<Vec<_>>())
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        // The refusal does not name the header: it is the client's input.
        if asked.iter().any(|h| !self.headers.contains(h)) {
            return refuse("A requested header is not allowed from another origin");
        }
        let mut resp = Response::builder().status(StatusCode::NO_CONTENT).finish();
        let h = resp.headers_mut();
        self.allow_origin(h, origin);
        let methods = self
            .methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        if let Ok(v) = HeaderValue::from_str(&methods) {
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
        }
        if let Some(v) = &self.allow_headers {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v.clone());
        }
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(MAX_AGE),
        );
        h.append(
            header::VARY,
            HeaderValue::from_static(
                "Access-Control-Request-Method, Access-Control-Request-Headers",
            ),
        );
        Some(resp)
    }

    /// Adds the CORS headers of an actual (non-preflight) response.
    pub fn decorate(&self, origin: Option<&HeaderValue>, resp: &mut Response) {
        let Some(origin) = origin else {
            return;
        };
        let h = resp.headers_mut();
        h.append(header::VARY, HeaderValue::from_static("Origin"));
        if let Some(origin) = origin.to_str().ok().filter(|o| self.allows(o)) {
            self.allow_origin(h, origin);
            h.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSED_HEADERS),
            );
        }
    }

    fn allow_origin(&self, h: &mut HeaderMap, origin: &str) {
        if let Ok(v) = HeaderValue::from_str(origin) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
        if self.allow_credentials {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if !h.get_all(header::VARY).iter().any(|v| v == "Origin") {
            h.append(header::VARY, HeaderValue::from_static("Origin"));
        }
    }
}
