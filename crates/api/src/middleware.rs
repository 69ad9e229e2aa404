//! The edge every request crosses: CORS, rate limits, body limit, problem documents for
//! framework errors, `WWW-Authenticate` on every 401, security and cache headers, and an access
//! log that never shows credentials.

use std::sync::Arc;
use std::time::Instant;

use poem::http::StatusCode;
use poem::http::header::{self, HeaderValue};
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::info;
use warden_adapters::rate_limit::RateLimiter;

use crate::client_ip::{ClientIp, client_ip};
use crate::cors::CorsPolicy;
use crate::problem::{BEARER_CHALLENGE, PROBLEM_JSON, Problem};
use crate::rate_limit;

/// The strict policy of every response but the docs page.
const CSP_STRICT: &str = "default-src 'none'; frame-ancestors 'none'";
/// Swagger UI runs inline scripts and styles and fetches the document from this origin.
const CSP_DOCS: &str = "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";
const HSTS: &str = "max-age=63072000; includeSubDomains";
/// Path prefixes whose responses must never be cached.
const NO_STORE_PREFIXES: &[&str] = &["/auth/", "/users/", "/admin/", "/api-keys"];

/// What the edge needs to know.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// Bodies larger than this get 413.
    pub max_body_bytes: usize,
    /// Send HSTS (production).
    pub hsts: bool,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Cross-origin rules.
    pub cors: CorsPolicy,
    /// The budgets of `rate_limit.*`.
    pub rate_limits: RateLimiter,
}

/// The edge around the whole application.
pub async fn edge<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    config: Arc<EdgeConfig>,
) -> poem::Result<Response> {
    let started = Instant::now();
    let method = req.method().clone();
    // A cheap clone (shared bytes): the path is needed after the request is handed on.
    let uri = req.uri().clone();
    let path = uri.path();
    let query = uri.query().map(crate::redact::redact_query);
    let peer = req.remote_addr().as_socket_addr().map_or(
        std::net::IpAddr::from([0, 0, 0, 0]),
        std::net::SocketAddr::ip,
    );
    let client = client_ip(
        peer,
        req.headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok()),
        &config.trusted_proxies,
    );
    req.extensions_mut().insert(ClientIp(client));

    let origin = req.headers().get(header::ORIGIN).cloned();
    let mut resp = if let Some(preflight) = config.cors.preflight(&req) {
        preflight
    } else {
        let decision = match rate_limit::route_group(&method, path) {
            Some(group) => Some(config.rate_limits.check(group, client).await),
            None => None,
        };
        let mut resp = if let Some(refused) = decision.filter(|d| !d.allowed) {
            rate_limit::too_many_requests(&refused)
        } else {
            match limit_body(&mut req, config.max_body_bytes).await {
                Err(too_large) => too_large,
                Ok(()) => match ep.call(req).await {
                    Ok(r) => r.into_response(),
                    Err(e) => error_response(e).await,
                },
            }
        };
        if let Some(decision) = &decision {
            rate_limit::set_headers(resp.headers_mut(), decision);
        }
        config.cors.decorate(origin.as_ref(), &mut resp);
        resp
    };
    if resp.status() == StatusCode::UNAUTHORIZED
        && !resp.headers().contains_key(header::WWW_AUTHENTICATE)
    {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(BEARER_CHALLENGE),
        );
    }
    set_security_headers(&mut resp, path, config.hsts);

    info!(
        target: "warden::access",
        method = %method,
        path = %crate::redact::redact_path(path),
        query = query.as_deref().unwrap_or(""),
        status = resp.status().as_u16(),
        latency_ms = format_args!("{:.3}", started.elapsed().as_secs_f64() * 1000.0),
        client_ip = %client,
    );
    Ok(resp)
}

fn set_security_headers(resp: &mut Response, path: &str, hsts: bool) {
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_XSS_PROTECTION, HeaderValue::from_static("0"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let csp = if path == "/docs" || path.starts_with("/docs/") {
        CSP_DOCS
    } else {
        CSP_STRICT
    };
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    if hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    if NO_STORE_PREFIXES.iter().any(|p| path.starts_with(p)) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// 413 when the declared or the actual body is over the limit. A chunked body is read here,
/// at most `max + 1` bytes of it, and put back.
async fn limit_body(req: &mut Request, max: usize) -> Result<(), Response> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(len) = declared {
        if len > max as u64 {
            return Err(too_large(max));
        }
        return Ok(());
    }
    if req.headers().contains_key(header::TRANSFER_ENCODING) {
        let bytes = req
            .take_body()
            .into_bytes_limit(max)
            .await
            .map_err(|_| too_large(max))?;
        req.set_body(bytes);
    }
    Ok(())
}

fn too_large(max: usize) -> Response {
    problem_response(&Problem::new(
        413,
        format!("The request body is larger than {max} bytes"),
    ))
}

/// A problem document as a response.
pub fn problem_response(p: &Problem) -> Response {
    let mut body = serde_json::json!({
        "type": p.kind, "title": p.title, "status": p.status, "detail": p.detail,
    });
    if let Some(errors) = &p.errors {
        body["errors"] = serde_json::json!(errors);
    }
    Response::builder()
        .status(StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .content_type(PROBLEM_JSON)
        .body(body.to_string())
}

/// Errors that already carry our own response keep it; the framework's plain-text errors
/// (404, 405, 415, unparsable bodies, missing credentials) become problem documents.
async fn error_response(e: poem::Error) -> Response {
    let resp = e.into_response();
    let is_ours = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with(PROBLEM_JSON) || ct.starts_with("application/json"));
    if is_ours {
        return resp;
    }
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.into_body().into_string().await.unwrap_or_default();
    let detail = match status {
        StatusCode::NOT_FOUND => "No such resource".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "This method is not allowed on this resource".to_owned(),
        StatusCode::UNAUTHORIZED => "Authentication is required".to_owned(),
        _ => sanitize(&text),
    };
    let mut out = problem_response(&Problem::new(status.as_u16(), detail));
    if let Some(allow) = headers.get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    if let Some(challenge) = headers.get(header::WWW_AUTHENTICATE) {
        out.headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge.clone());
    }
    out
}

/// A parser's message without the offending value: serde quotes what it could not accept,
/// and that may be a password sent with the wrong type.
fn sanitize(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    for marker in ["invalid type: ", "invalid value: ", "unknown variant "] {
        if let Some(i) = rest.find(marker) {
            let after = &rest[i + marker.len()..];
            if let Some(j) = after.find(", expected") {
                out.push_str(&rest[..i + marker.len()]);
                out.push_str("[value withheld]");
                rest = &after[j..];
            }
        }
    }
    out.push_str(rest);
    let out = out.trim();
    if out.is_empty() {
        "The request is malformed".to_owned()
    } else {
        out.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_messages_lose_the_offending_value() {
        let m = "parse request payload error: invalid type: string \"hunter2\", expected u64 at line 1 column 9";
        let s = sanitize(m);
        assert!(!s.contains("hunter2"), "{s}");
        assert!(s.contains("expected u64"), "{s}");
        assert_eq!(sanitize("missing field `email`"), "missing field `email`");
    }
}
