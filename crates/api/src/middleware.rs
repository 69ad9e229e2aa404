//! The edge every request crosses: CORS, rate limits, body limit, problem documents for
//! framework errors, `WWW-Authenticate` on every 401, security and cache headers, and an access
//! log that never shows credentials.

use std::sync::Arc;
use std::time::Instant;

use poem::http::StatusCode;
use poem::http::header::{self, HeaderValue};
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::info;
use warden_domain::rate_limit::RateLimiter;

use poem_openapi::error::{
    ContentTypeError, ParseParamError, ParsePathError, ParseRequestPayloadError,
};
use poem_openapi::payload::Json;

use crate::allow::{allow_for, path_parameter};
use crate::body::{self, BodyLimits};
use crate::client_ip::{ClientIp, client_ip};
use crate::cors::CorsPolicy;
use crate::problem::{ApiError, BEARER_CHALLENGE, PROBLEM_JSON, Problem};
use crate::rate_limit;
use crate::request_id;
use crate::serve::Stopping;

/// The strict policy of every response but the docs page.
const CSP_STRICT: &str = "default-src 'none'; frame-ancestors 'none'";
/// Swagger UI runs inline scripts and styles and fetches the document from this origin.
const CSP_DOCS: &str = "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";
/// The account pages: forms that post to this origin, and nothing else.
const CSP_PAGES: &str =
    "default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
const HSTS: &str = "max-age=63072000; includeSubDomains";
/// Path prefixes whose responses must never be cached.
const NO_STORE_PREFIXES: &[&str] = &["/auth/", "/users/", "/admin/", "/api-keys", "/account/"];

/// What the edge needs to know.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// Bodies larger than this get 413, slower than this 408.
    pub body: BodyLimits,
    /// Cuts short the reading of bodies when the server stops.
    pub stopping: Stopping,
    /// Send HSTS (production).
    pub hsts: bool,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Cross-origin rules.
    pub cors: CorsPolicy,
    /// The budgets of `rate_limit.*`.
    pub rate_limits: Arc<dyn RateLimiter>,
    /// How long a handler may work before the edge gives up with a 503: a database that stops
    /// answering in the middle of a query (a network cut) holds no request longer than this.
    pub work_deadline: std::time::Duration,
    /// Where requests are counted, when `metrics.bind` is set.
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
}

/// The edge around the whole application: everything below runs under the request's id
/// ([`crate::request_id`]), which the response carries back.
pub async fn edge<E: Endpoint>(
    ep: Arc<E>,
    req: Request,
    config: Arc<EdgeConfig>,
) -> poem::Result<Response> {
    let peer = req
        .remote_addr()
        .as_socket_addr()
        .map(std::net::SocketAddr::ip);
    let trusted = peer.is_some_and(|ip| config.trusted_proxies.iter().any(|n| n.contains(&ip)));
    let id = request_id::assign(trusted, req.headers().get(request_id::HEADER));
    let mut resp = request_id::scope(id.clone(), edge_within(ep, req, config, &id)).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(request_id::HEADER, value);
    }
    Ok(resp)
}

async fn edge_within<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    config: Arc<EdgeConfig>,
    id: &str,
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
    // An HTTP/1 body left unread would be taken for the next request: such an answer closes.
    let mut unread_body = body::leaves_bytes_on_the_wire(&req);
    let mut resp = if let Some(preflight) = config.cors.preflight(&req) {
        preflight
    } else {
        let group = rate_limit::route_group(&method, path);
        let decision = match group {
            Some(group) => Some(config.rate_limits.check(group, client).await),
            None => None,
        };
        let mut resp = if let Some(refused) = decision.filter(|d| !d.allowed) {
            if let (Some(metrics), Some(group)) = (&config.metrics, group) {
                metrics.refused(group);
            }
            unread_body &= !body::drain(&mut req, &config.body, &config.stopping).await;
            rate_limit::too_many_requests(&refused)
        } else if let Err(refusal) = body::read(&mut req, &config.body, &config.stopping).await {
            refusal.response(&config.body)
        } else {
            unread_body = false;
            match tokio::time::timeout(config.work_deadline, ep.call(req)).await {
                Ok(Ok(r)) => r.into_response(),
                Ok(Err(e)) => error_response(e, path).await,
                Err(_) => gave_up(config.work_deadline),
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
    if unread_body {
        body::close_connection(&mut resp);
    }

    if let Some(metrics) = &config.metrics {
        metrics.observe(
            crate::allow::route_template(path),
            &method,
            resp.status().as_u16(),
            started.elapsed(),
        );
    }
    info!(
        target: "warden::access",
        method = %method,
        path = %crate::redact::redact_path(path),
        query = query.as_deref().unwrap_or(""),
        status = resp.status().as_u16(),
        latency_ms = format_args!("{:.3}", started.elapsed().as_secs_f64() * 1000.0),
        client_ip = %client,
        request_id = id,
    );
    Ok(resp)
}

/// The answer when a handler ran past the deadline. Its future is dropped, so a transaction it
/// held is rolled back, never committed.
fn gave_up(deadline: std::time::Duration) -> Response {
    tracing::warn!(
        deadline_ms = deadline.as_millis(),
        "a request ran past its deadline and was answered 503"
    );
    let id = request_id::current().unwrap_or_default();
    problem_response(&Problem::new(
        503,
        format!("The service did not complete the request in time; retry later (error id {id})"),
    ))
}

fn set_security_headers(resp: &mut Response, path: &str, hsts: bool) {
    // The docs page's relaxed policy only on the docs page itself: anything else under `/docs`
    // (a 404 in production, where the docs are off) keeps the API's strict one.
    let docs_page = resp.status().is_success() && (path == "/docs" || path.starts_with("/docs/"));
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
    let csp = if docs_page {
        CSP_DOCS
    } else if path.starts_with("/account/") {
        CSP_PAGES
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

/// Errors that already carry our own response keep it; the framework's errors become problem
/// documents by their kind, with fixed messages: a parser's own text may quote the input (a
/// password sent as an array came back whole), so none of it is ever passed on.
async fn error_response(e: poem::Error, path: &str) -> Response {
    if let Some(name) = e
        .downcast_ref::<ParseParamError>()
        .map(|p| p.name)
        .or_else(|| {
            e.downcast_ref::<ParsePathError>()
                .map(|p| path_parameter(path, p.name).unwrap_or("path"))
        })
    {
        return ApiError::unprocessable(vec![format!(
            "`{name}` is of the wrong type or out of range"
        )])
        .into_response();
    }
    if e.is::<ContentTypeError>() {
        return ApiError::UnsupportedMediaType(Json(Problem::new(
            415,
            "This operation does not take a body of this media type",
        )))
        .into_response();
    }
    if e.is::<ParseRequestPayloadError>() {
        return ApiError::BadRequest(Json(Problem::new(400, "The body is malformed")))
            .into_response();
    }
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
    let detail = match status {
        StatusCode::NOT_FOUND => "No such resource",
        StatusCode::METHOD_NOT_ALLOWED => "This method is not allowed on this resource",
        StatusCode::UNAUTHORIZED => "Authentication is required",
        StatusCode::PAYLOAD_TOO_LARGE => "The request body is too large",
        _ if status.is_server_error() => "Internal error",
        _ => "The request is malformed",
    };
    let detail = if status.is_server_error() {
        let id = request_id::current().unwrap_or_default();
        format!("{detail} (error id {id})")
    } else {
        detail.to_owned()
    };
    let mut out = problem_response(&Problem::new(status.as_u16(), detail));
    let allow = if status == StatusCode::METHOD_NOT_ALLOWED {
        resp.headers()
            .get(header::ALLOW)
            .cloned()
            .or_else(|| allow_for(path))
    } else {
        None
    };
    if let Some(allow) = allow {
        out.headers_mut().insert(header::ALLOW, allow);
    }
    if let Some(challenge) = resp.headers().get(header::WWW_AUTHENTICATE) {
        out.headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge.clone());
    }
    out
}
