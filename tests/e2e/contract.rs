//! The contract at its edges: errors never echo input, wrong types and out-of-range values are
//! 422s naming the field, what stays 400 and 415, `Allow` on every 405, the docs' CSP only on
//! the docs page, and a document that lists exactly the statuses each operation returns.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use proptest::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_with};

/// Every reason of a 422, asserting it is one.
async fn errors_of(r: reqwest::Response) -> Vec<String> {
    let body = assert_problem(r, 422).await;
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("a 422 lists its errors: {body}"))
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect()
}

async fn send_json(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: &Value,
) -> reqwest::Response {
    app.with_token(method, path, token)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_json_value_of_the_wrong_type_is_422_naming_the_field_and_never_coerced() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_token("types@example.com").await;
    let r = send_json(
        &app,
        Method::POST,
        "/api-keys",
        &token,
        &json!({"name": 123}),
    )
    .await;
    assert_eq!(errors_of(r).await, ["`name` must be a string"]);
    let r = send_json(
        &app,
        Method::POST,
        "/api-keys",
        &token,
        &json!({"name": true}),
    )
    .await;
    assert_eq!(errors_of(r).await, ["`name` must be a string"]);
    // No key was made from the coerced "123" or "true".
    let keys: Value = app
        .with_token(Method::GET, "/api-keys", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys, json!([]));

    // A password sent as an array: refused by kind, and not one character of it comes back.
    let r = app
        .client
        .post(app.url("/auth/register"))
        .json(&json!({"email": "arr@example.com", "password": ["hunter2-s3cret-value"]}))
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["status"], 422);
    assert_eq!(body["errors"], json!(["`password` must be a string"]));

    // Every wrong type at once is every reason at once.
    let r = app
        .client
        .post(app.url("/auth/register"))
        .json(&json!({"email": {"a": "b"}, "password": 1.5, "display_name": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        errors_of(r).await,
        [
            "`email` must be a string",
            "`password` must be a string",
            "`display_name` must be a string"
        ]
    );
    let r = app
        .client
        .post(app.url("/auth/register"))
        .json(&json!({"password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(errors_of(r).await, ["`email` is required"]);
}

#[tokio::test]
async fn malformed_json_stays_400_and_a_wrong_media_type_is_415() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_token("syntax@example.com").await;
    for raw in ["{", "", "{\"name\": \"a\",}", "nul"] {
        let r = app
            .with_token(Method::POST, "/api-keys", &token)
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        let body = assert_problem(r, 400).await;
        assert_eq!(body["detail"], "The body is not valid JSON", "{raw:?}");
    }
    // Valid JSON of the wrong shape is no syntax error: 422.
    for raw in ["[\"s3cret\"]", "\"s3cret\"", "null", "42"] {
        let r = app
            .with_token(Method::POST, "/api-keys", &token)
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        let text = r.text().await.unwrap();
        assert!(text.contains("\"status\":422"), "{raw}: {text}");
        assert!(!text.contains("s3cret"), "{text}");
    }
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("s3cret/type"),
        None,
    ] {
        let mut request = app
            .with_token(Method::POST, "/api-keys", &token)
            .body("{\"name\": \"k\"}");
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let r = request.send().await.unwrap();
        let body = assert_problem(r, 415).await;
        assert!(!body.to_string().contains("s3cret"), "{body}");
    }
    // The OAuth endpoints answer a body of another type as RFC 6749 says: invalid_request.
    let r = app
        .client
        .post(app.url("/auth/token"))
        .json(&json!({"grant_type": "password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn list_limits_are_422_outside_1_to_200_and_accepted_at_both_ends() {
    let app = spawn_app().await;
    let (_, admin) = app.admin_with_token("limits-admin@example.com").await;
    for (query, status) in [
        ("limit=1", 200),
        ("limit=200", 200),
        // Percent-encoded spellings are decoded first: `%31` is 1, `%2D1` is -1.
        ("limit=%31", 200),
        ("limit=%32%30%31", 422),
        ("limit=%2D1", 422),
        ("limit=+1", 422),
        ("limit=0", 422),
        ("limit=201", 422),
        ("limit=-1", 422),
        ("limit=18446744073709551616", 422),
        ("limit=s3cret", 422),
        ("limit=1.5", 422),
        ("cursor=s3cret", 422),
    ] {
        let r = app
            .with_token(Method::GET, &format!("/admin/users?{query}"), &admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{query}");
        if status == 422 {
            let errors = errors_of(r).await;
            let name = query.split('=').next().unwrap();
            assert_eq!(
                errors,
                [format!("`{name}` is of the wrong type or out of range")]
            );
        }
    }
    // A path parameter of the wrong type is refused the same way.
    let r = app
        .with_token(Method::GET, "/admin/users/s3cret", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(
        errors_of(r).await,
        ["`id` is of the wrong type or out of range"]
    );
}

#[tokio::test]
async fn key_expiry_is_422_outside_1_to_3650_and_accepted_at_both_ends() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_token("expiry@example.com").await;
    for (days, accepted) in [
        (json!(1), true),
        (json!(3650), true),
        (json!(0), false),
        (json!(3651), false),
        (json!(-1), false),
        (json!(4_294_967_296_u64), false),
        (json!(1.5), false),
        (json!("30"), false),
    ] {
        let r = send_json(
            &app,
            Method::POST,
            "/api-keys",
            &token,
            &json!({"name": "k", "expires_in_days": days}),
        )
        .await;
        if accepted {
            assert_eq!(r.status(), 201, "{days}");
        } else {
            assert_eq!(
                errors_of(r).await,
                ["`expires_in_days` must be an integer from 1 to 3650"],
                "{days}"
            );
        }
    }
    for (name, accepted) in [
        ("x".repeat(100), true),
        ("x".repeat(101), false),
        (String::new(), false),
    ] {
        let r = send_json(
            &app,
            Method::POST,
            "/api-keys",
            &token,
            &json!({"name": name}),
        )
        .await;
        assert_eq!(
            r.status(),
            if accepted { 201 } else { 422 },
            "{}",
            name.len()
        );
    }
}

/// The methods the document lists for each path, from the served document.
async fn documented_methods(app: &TestApp) -> Vec<(String, BTreeSet<String>)> {
    let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
    spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, ops)| {
            let methods = ops
                .as_object()
                .unwrap()
                .keys()
                .map(|m| m.to_uppercase())
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

#[tokio::test]
async fn every_405_carries_allow_with_exactly_the_documented_methods() {
    let app = spawn_app().await;
    let paths = documented_methods(&app).await;
    assert!(paths.len() >= 12, "{paths:?}");
    let mut checked = 0;
    for (path, methods) in paths {
        let concrete = path.replace("{id}", "0190a0f0-0000-7000-8000-000000000000");
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            if methods.contains(method) {
                continue;
            }
            let r = app
                .client
                .request(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    app.url(&concrete),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 405, "{method} {path}");
            let allow: BTreeSet<String> = r.headers()["allow"]
                .to_str()
                .unwrap()
                .split(", ")
                .map(str::to_owned)
                .collect();
            let mut expected = methods.clone();
            if expected.contains("GET") {
                expected.insert("HEAD".to_owned());
            }
            assert_eq!(allow, expected, "{method} {path}");
            assert_problem(r, 405).await;
            checked += 1;
        }
    }
    assert!(checked >= 40, "{checked}");
    // Other spellings of a path are not that path: 404, never a 405 without `Allow`.
    for path in [
        "/auth/%74oken",
        "/AUTH/TOKEN",
        "/auth/token/",
        "//auth/token",
    ] {
        let r = app.client.delete(app.url(path)).send().await.unwrap();
        assert_problem(r, 404).await;
    }
}

#[tokio::test]
async fn in_production_the_docs_404_carries_the_strict_csp() {
    let app = spawn_app_with(|s| {
        s.profile = warden_adapters::Profile::Production;
        s.argon2 = warden_adapters::settings::Argon2Settings::default();
    })
    .await;
    for path in ["/docs", "/docs/", "/docs/index.html", "/openapi.json"] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(
            r.headers()["content-security-policy"],
            "default-src 'none'; frame-ancestors 'none'",
            "{path}"
        );
    }
}

/// Every operation's documented statuses, exactly.
const STATUSES: &[(&str, &str, &str)] = &[
    ("/auth/token", "post", "200 400 401 403 413 429 500 503"),
    ("/auth/revoke", "post", "200 400 401 413 429 500 503"),
    (
        "/auth/register",
        "post",
        "201 400 403 409 413 415 422 429 500 503",
    ),
    (
        "/auth/introspect",
        "post",
        "200 400 401 403 413 415 429 500 503",
    ),
    ("/auth/logout", "post", "204 401 403 429 500 503"),
    ("/users/me", "get", "200 401 403 429 500 503"),
    (
        "/users/me/password",
        "put",
        "204 400 401 403 413 415 422 429 500 503",
    ),
    ("/admin/users", "get", "200 401 403 422 429 500 503"),
    ("/admin/clients", "get", "200 401 403 429 500 503"),
    (
        "/admin/clients",
        "post",
        "201 400 401 403 413 415 422 429 500 503",
    ),
    (
        "/admin/clients/{client_id}",
        "patch",
        "200 400 401 403 404 413 415 422 429 500 503",
    ),
    (
        "/admin/clients/{client_id}",
        "delete",
        "204 401 403 404 429 500 503",
    ),
    (
        "/admin/clients/{client_id}/secret",
        "post",
        "200 401 403 404 422 429 500 503",
    ),
    (
        "/admin/users/{id}",
        "delete",
        "204 401 403 404 409 422 429 500 503",
    ),
    (
        "/auth/email/verify",
        "post",
        "204 400 409 413 415 422 429 500 503",
    ),
    (
        "/auth/email/verify/resend",
        "post",
        "202 401 403 429 500 503",
    ),
    (
        "/auth/password/forgot",
        "post",
        "202 400 413 415 422 429 500 503",
    ),
    (
        "/auth/password/reset",
        "post",
        "204 400 413 415 422 429 500 503",
    ),
    (
        "/users/me/email",
        "put",
        "202 400 401 403 409 413 415 422 429 500 503",
    ),
    (
        "/admin/users/{id}/password-reset",
        "post",
        "202 401 403 404 422 429 500 503",
    ),
    ("/api-keys", "get", "200 401 403 429 500 503"),
    ("/health/live", "get", "200"),
    ("/health/ready", "get", "200 500 503"),
    ("/.well-known/jwks.json", "get", "200 429 500"),
    (
        "/.well-known/oauth-authorization-server",
        "get",
        "200 404 429 500",
    ),
];

#[tokio::test]
async fn the_document_lists_exactly_the_statuses_each_operation_returns() {
    let app = spawn_app().await;
    let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
    let statuses = |path: &str, method: &str| -> Vec<String> {
        spec["paths"][path][method]["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path}"))
            .keys()
            .cloned()
            .collect()
    };
    for &(path, method, expected) in STATUSES {
        assert_eq!(
            statuses(path, method).join(" "),
            expected,
            "{method} {path}"
        );
    }
    // The 400s of the OAuth endpoints are the RFC 6749 body, as JSON, and nothing else.
    for path in ["/auth/token", "/auth/revoke"] {
        let bad = &spec["paths"][path]["post"]["responses"]["400"]["content"];
        assert_eq!(
            bad.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["application/json; charset=utf-8"]
        );
        let schema = bad["application/json; charset=utf-8"]["schema"]["$ref"]
            .as_str()
            .unwrap();
        let name = schema.rsplit('/').next().unwrap();
        let props = &spec["components"]["schemas"][name]["properties"];
        assert!(
            props["error"].is_object() && props["error_description"].is_object(),
            "{props}"
        );
    }
    let flow = &spec["components"]["securitySchemes"]["OAuth2"]["flows"]["password"];
    assert_eq!(flow["scopes"], json!({}));
}

/// One app, an admin's token, a user's token and a runtime for the property test.
fn shared() -> &'static (tokio::runtime::Runtime, TestApp, String, String, String) {
    type Shared = (tokio::runtime::Runtime, TestApp, String, String, String);
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (app, admin, user, admin_id) = runtime.block_on(async {
            let app = spawn_app().await;
            let (admin_user, admin) = app.admin_with_token("echo-admin@example.com").await;
            let (_, user) = app.user_with_token("echo-user@example.com").await;
            let id = admin_user["id"].as_str().unwrap().to_owned();
            (app, admin, user, id)
        });
        (runtime, app, admin, user, admin_id)
    })
}

/// A JSON value of any type; its strings start with a marker so that no message text can
/// contain one by chance.
fn any_value() -> impl Strategy<Value = Value> {
    let text = "Zq9[a-zA-Z0-9 _.@-]{4,24}";
    let leaf = prop_oneof![
        text.prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    leaf.prop_recursive(2, 8, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(text, inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn strings_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| strings_in(i, out)),
        Value::Object(fields) => fields.iter().for_each(|(k, v)| {
            out.push(k.clone());
            strings_in(v, out);
        }),
        _ => {}
    }
}

/// Every JSON operation, its fields, and whether an admin's token is needed.
const OPERATIONS: &[(&str, &str, &[&str], bool)] = &[
    (
        "POST",
        "/auth/register",
        &["email", "password", "display_name"],
        false,
    ),
    (
        "POST",
        "/admin/users",
        &["email", "password", "role", "display_name"],
        true,
    ),
    (
        "PATCH",
        "/admin/users/{id}",
        &["role", "disabled", "display_name"],
        true,
    ),
    (
        "PUT",
        "/users/me/password",
        &["current_password", "new_password"],
        false,
    ),
    ("POST", "/api-keys", &["name", "expires_in_days"], false),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn no_error_echoes_a_string_that_was_sent(
        operation in 0..OPERATIONS.len(),
        values in prop::collection::vec(prop::option::of(any_value()), 4),
    ) {
        let (runtime, app, admin, user, admin_id) = shared();
        let (method, path, fields, as_admin) = OPERATIONS[operation];
        let mut body = serde_json::Map::new();
        for (field, value) in fields.iter().zip(&values) {
            if let Some(value) = value {
                body.insert((*field).to_owned(), value.clone());
            }
        }
        let body = Value::Object(body);
        let mut sent = Vec::new();
        strings_in(&body, &mut sent);
        sent.retain(|s| !fields.contains(&s.as_str()));
        // The PATCH goes to the admin itself: a change that works is harmless, and a
        // demotion or disabling of the last admin is refused.
        let path = path.replace("{id}", admin_id);
        let token = if as_admin { admin } else { user };
        let (status, text) = runtime.block_on(async {
            let r = app
                .with_token(Method::from_bytes(method.as_bytes()).unwrap(), &path, token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        });
        prop_assert!(status < 500, "{method} {path} {body} -> {status} {text}");
        if status >= 400 {
            let decoded: Value = serde_json::from_str(&text).unwrap();
            let mut answered = Vec::new();
            strings_in(&decoded, &mut answered);
            for s in &sent {
                prop_assert!(
                    !text.contains(s.as_str()) && !answered.iter().any(|a| a.contains(s.as_str())),
                    "{method} {path} {body} -> {status} echoed {s:?}: {text}"
                );
            }
        }
    }
}

#[tokio::test]
async fn docs_openapi_json_is_the_document_served() {
    let app = spawn_app().await;
    let served: Value = app.get("/openapi.json").await.json().await.unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(
        served == kept,
        "docs/openapi.json is not the document served: run `cargo xtask openapi`"
    );
}
