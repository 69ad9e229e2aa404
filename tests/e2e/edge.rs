//! What every response carries, and how the edge answers what no endpoint handles.

use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app, spawn_app_with};

fn assert_security_headers(r: &reqwest::Response) {
    let h = r.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-xss-protection"], "0");
    assert_eq!(h["referrer-policy"], "no-referrer");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in [
        "/health/live",
        "/no/such/path",
        "/users/me",
        "/.well-known/jwks.json",
    ] {
        let r = app.get(path).await;
        assert_security_headers(&r);
        assert_eq!(
            r.headers()["content-security-policy"],
            "default-src 'none'; frame-ancestors 'none'",
            "{path}"
        );
        assert!(
            r.headers().get("strict-transport-security").is_none(),
            "no HSTS in development"
        );
    }
    let r = app.get("/users/me").await;
    assert_eq!(r.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn production_adds_hsts() {
    let app = spawn_app_with(|s| {
        s.profile = warden_adapters::Profile::Production;
        s.argon2 = warden_adapters::settings::Argon2Settings::default();
    })
    .await;
    let r = app.get("/health/live").await;
    assert_eq!(
        r.headers()["strict-transport-security"],
        "max-age=63072000; includeSubDomains"
    );
    // Docs are off in production unless asked for.
    assert_problem(app.get("/docs").await, 404).await;
    assert_problem(app.get("/openapi.json").await, 404).await;
}

#[tokio::test]
async fn health_answers() {
    let app = spawn_app().await;
    let live: Value = app.get("/health/live").await.json().await.unwrap();
    assert_eq!(live, serde_json::json!({"status": "ok"}));
    assert_eq!(app.get("/health/ready").await.status(), 200);
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problem_documents() {
    let app = spawn_app().await;
    assert_problem(app.get("/nope").await, 404).await;
    let r = app
        .client
        .delete(app.url("/health/live"))
        .send()
        .await
        .unwrap();
    assert_problem(r, 405).await;
}

#[tokio::test]
async fn an_oversized_body_is_413_declared_or_chunked() {
    let app = spawn_app_with(|s| s.server.max_body_bytes = 1024).await;
    let big = format!(
        r#"{{"email":"a@example.com","password":"{}"}}"#,
        "x".repeat(2000)
    );
    let r = app
        .client
        .post(app.url("/auth/register"))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_problem(r, 413).await;
    let stream = futures_stream(big.as_bytes());
    let r = app
        .client
        .post(app.url("/auth/register"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_problem(r, 413).await;
}

/// A body sent in chunks, with no Content-Length.
fn futures_stream(
    bytes: &[u8],
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> + use<> {
    ChunkStream(bytes.chunks(256).map(<[u8]>::to_vec).collect())
}

struct ChunkStream(std::collections::VecDeque<Vec<u8>>);

impl futures_core::Stream for ChunkStream {
    type Item = Result<Vec<u8>, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(self.0.pop_front().map(Ok))
    }
}

#[tokio::test]
async fn docs_are_served_in_development_with_their_own_csp() {
    let app = spawn_app().await;
    let r = app.get("/docs").await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
    assert_security_headers(&r);
    let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
    let oauth = &spec["components"]["securitySchemes"]["OAuth2"];
    assert_eq!(oauth["type"], "oauth2");
    assert_eq!(oauth["flows"]["password"]["tokenUrl"], "/auth/token");
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(
        (
            schemes["ApiKeyHeader"]["in"].as_str(),
            schemes["ApiKeyHeader"]["name"].as_str()
        ),
        (Some("header"), Some("X-API-Key"))
    );
    assert_eq!(
        (
            schemes["ApiKeyQuery"]["in"].as_str(),
            schemes["ApiKeyQuery"]["name"].as_str()
        ),
        (Some("query"), Some("api_key"))
    );
    let accepted = |path: &str, method: &str| -> Vec<String> {
        let mut names: Vec<String> = spec["paths"][path][method]["security"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|req| req.as_object().unwrap().keys().cloned())
            .collect();
        names.sort();
        names
    };
    // Most endpoints take a bearer token or a key; key management and password change only a token.
    assert_eq!(
        accepted("/users/me", "get"),
        ["ApiKeyHeader", "ApiKeyQuery", "OAuth2"]
    );
    assert_eq!(
        accepted("/admin/users", "get"),
        ["ApiKeyHeader", "ApiKeyQuery", "OAuth2"]
    );
    assert_eq!(accepted("/api-keys", "post"), ["OAuth2"]);
    assert_eq!(accepted("/users/me/password", "put"), ["OAuth2"]);
}

fn cors_headers(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .keys()
        .map(|k| k.as_str().to_owned())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

async fn preflight(
    app: &crate::helpers::TestApp,
    origin: &str,
    method: &str,
    headers: &str,
) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, app.url("/users/me"))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", headers)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cors_answers_configured_origins_only_and_never_with_a_wildcard() {
    let app = spawn_app_with(|s| {
        s.cors.allowed_origins = vec!["https://app.example".into()];
        s.cors.allowed_methods = vec!["GET".into(), "POST".into()];
    })
    .await;
    let r = app
        .client
        .get(app.url("/health/live"))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert!(r.headers().get_all("vary").iter().any(|v| v == "Origin"));
    let exposed = r.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    for h in [
        "Retry-After",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
    ] {
        assert!(exposed.contains(h), "{exposed}");
    }
    assert!(
        r.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    assert_security_headers(&r);

    let r = app
        .client
        .get(app.url("/health/live"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(cors_headers(&r).is_empty(), "{:?}", cors_headers(&r));

    let r = preflight(
        &app,
        "https://app.example",
        "POST",
        "Authorization, X-API-Key, content-type",
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(r.headers()["access-control-allow-methods"], "GET, POST");
    assert_eq!(
        r.headers()["access-control-allow-headers"],
        "Authorization, Content-Type, X-API-Key, X-Requested-With"
    );
    assert_security_headers(&r);

    for (origin, method, headers) in [
        ("https://evil.example", "GET", "authorization"),
        ("https://app.example", "DELETE", "authorization"),
        ("https://app.example", "GET", "authorization, x-custom"),
        ("https://app.example.evil", "GET", ""),
    ] {
        let r = preflight(&app, origin, method, headers).await;
        assert!(cors_headers(&r).is_empty(), "{origin} {method} {headers}");
        assert_problem(r, 403).await;
    }
}

#[tokio::test]
async fn cors_credentials_only_when_configured() {
    let app = spawn_app_with(|s| {
        s.cors.allowed_origins = vec!["https://app.example".into()];
        s.cors.allow_credentials = true;
    })
    .await;
    let r = preflight(&app, "https://app.example", "GET", "authorization").await;
    assert_eq!(r.headers()["access-control-allow-credentials"], "true");
    let r = app
        .client
        .get(app.url("/health/live"))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-credentials"], "true");
}

#[tokio::test]
async fn with_no_origins_configured_every_preflight_is_refused() {
    let app = spawn_app().await;
    let r = preflight(&app, "https://app.example", "GET", "").await;
    assert_problem(r, 403).await;
}

#[tokio::test]
async fn the_document_says_which_fields_may_be_null() {
    let app = spawn_app().await;
    let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
    let schemas = &spec["components"]["schemas"];
    for (schema, field) in [
        ("User", "display_name"),
        ("UserPage", "next_cursor"),
        ("ApiKey", "expires_at"),
        ("ApiKey", "last_used_at"),
    ] {
        assert_eq!(
            schemas[schema]["properties"][field]["nullable"], true,
            "{schema}.{field} is sent as null when empty"
        );
    }
    // And a user without a display name is indeed sent with null, not without the key.
    let (user, _) = app.user_with_token("nulls@example.com").await;
    assert!(user["display_name"].is_null());
    assert!(user.as_object().unwrap().contains_key("display_name"));
}

/// What a FastAPI app's Swagger UI sends when it signs in through Warden's token endpoint.
#[tokio::test]
async fn a_preflight_for_x_requested_with_is_allowed_in_any_case_and_others_are_not() {
    let app = spawn_app_with(|s| {
        s.cors.allowed_origins = vec!["https://fastapi.example".into()];
    })
    .await;
    for asked in [
        "X-Requested-With",
        "x-requested-with",
        "X-REQUESTED-WITH, content-type",
        "authorization,X-Requested-With",
    ] {
        let r = preflight(&app, "https://fastapi.example", "POST", asked).await;
        assert_eq!(r.status(), 204, "{asked}");
        let allowed = r.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(allowed.contains("X-Requested-With"), "{allowed}");
    }
    // Not in the list, a look-alike (Cyrillic і), a near miss, and one more among good ones.
    for asked in [
        "X-Custom-Header",
        "x-requested-w\u{456}th",
        "x-requested-wit",
        "authorization, x-requested-with, cookie",
    ] {
        let r = preflight(&app, "https://fastapi.example", "POST", asked).await;
        assert!(cors_headers(&r).is_empty(), "{asked}");
        let problem = assert_problem(r, 403).await;
        let detail = problem["detail"].as_str().unwrap().to_lowercase();
        assert!(
            !detail.contains("custom") && !detail.contains("cookie") && !detail.contains("wit"),
            "the refusal echoes the header: {detail}"
        );
    }
}

#[tokio::test]
async fn cors_allowed_headers_replaces_the_default_list() {
    let app = spawn_app_with(|s| {
        s.cors.allowed_origins = vec!["https://app.example".into()];
        s.cors.allowed_headers = vec!["Content-Type".into(), "X-Trace-Id".into()];
    })
    .await;
    let r = preflight(
        &app,
        "https://app.example",
        "POST",
        "x-trace-id, CONTENT-TYPE",
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        r.headers()["access-control-allow-headers"],
        "Content-Type, X-Trace-Id"
    );
    for asked in ["authorization", "x-requested-with"] {
        let r = preflight(&app, "https://app.example", "POST", asked).await;
        assert_problem(r, 403).await;
    }
}
