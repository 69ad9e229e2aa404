//! Who may call what, over HTTP: every operation of the served OpenAPI document, called with no
//! credential, a user's bearer token, that user's API key and an admin's bearer token, against
//! one explicit table. The table must name exactly the document's operations.

use std::collections::BTreeSet;

use reqwest::{Method, RequestBuilder};
use serde_json::Value;

use crate::helpers::{STRONG, TestApp, spawn_app};

/// What a caller gets from an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// 401: no credential the operation accepts.
    Unauthorized,
    /// 403: authenticated, and refused by the use case.
    Forbidden,
    /// Let through: any answer but 401, 403 or a 5xx (a 2xx; a 404 for a made-up id; a 400 for
    /// a made-up password).
    Through,
}

use Expect::{Forbidden as F, Through as T, Unauthorized as U};

/// The request body an operation is called with; `{n}` is replaced by a number unique to the
/// call, so that sign-ups and new users never collide.
#[derive(Clone, Copy, Debug)]
enum Body {
    None,
    Json(&'static str),
    Form(&'static str),
    Ndjson(&'static str),
}

/// One operation and what each caller gets.
struct Rule {
    method: &'static str,
    path: &'static str,
    body: Body,
    /// No credential, a user's bearer token, that user's API key (X-API-Key), an admin's
    /// bearer token.
    expect: [Expect; 4],
}

const fn rule(method: &'static str, path: &'static str, body: Body, expect: [Expect; 4]) -> Rule {
    Rule {
        method,
        path,
        body,
        expect,
    }
}

/// The callers, in the order of [`Rule::expect`].
const CALLERS: [&str; 4] = [
    "no credential",
    "user bearer",
    "user API key",
    "admin bearer",
];

const NEW_USER: &str = r#"{"email": "made-{n}@example.com", "password": "violet tractor hums 42 quiet lanterns", "role": "user"}"#;
const SIGN_UP: &str =
    r#"{"email": "signup-{n}@example.com", "password": "violet tractor hums 42 quiet lanterns"}"#;
/// A wrong current password: let through to the use case, which answers 400 and changes nothing.
const WRONG_CURRENT: &str = r#"{"current_password": "not the password at all 99", "new_password": "another long passphrase 77"}"#;
/// A wrong password and a code, for the changes of a second factor the caller does not have:
/// let through to the use case, which answers 404 and changes nothing.
const PROVEN: &str = r#"{"current_password": "not the password at all 99", "code": "123456"}"#;
/// A link's token of the right shape that names nothing: let through, answered 400.
const LINK_TOKEN: &str = r#"{"token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#;
const RESET: &str = r#"{"token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "new_password": "another long passphrase 77"}"#;
/// A wrong current password: let through to the use case, which answers 400.
const NEW_EMAIL: &str =
    r#"{"new_email": "moved-{n}@example.com", "current_password": "not the password at all 99"}"#;
const NEW_CLIENT: &str = r#"{"name": "c{n}", "redirect_uris": [], "public": false, "first_party": false, "grant_types": ["client_credentials"], "scopes": ["read"]}"#;
const LOGIN: &str = "grant_type=password&username=user%40example.com&password=violet+tractor+hums+42+quiet+lanterns";

/// Every operation of the document. Public ones let everyone through; `/api-keys`, the
/// password change and the caller's second factor take a bearer token only (a key is no credential there: 401); administration
/// and introspection admit admins (and introspection services), refusing other users with 403.
const TABLE: &[Rule] = &[
    rule("GET", "/.well-known/jwks.json", Body::None, [T, T, T, T]),
    rule(
        "GET",
        "/.well-known/oauth-authorization-server",
        Body::None,
        [T, T, T, T],
    ),
    rule("GET", "/health/live", Body::None, [T, T, T, T]),
    rule("GET", "/health/ready", Body::None, [T, T, T, T]),
    rule("POST", "/auth/register", Body::Json(SIGN_UP), [T, T, T, T]),
    rule("POST", "/auth/token", Body::Form(LOGIN), [T, T, T, T]),
    rule(
        "POST",
        "/auth/revoke",
        Body::Form("token=unknown-{n}"),
        [T, T, T, T],
    ),
    rule(
        "POST",
        "/auth/introspect",
        Body::Form("token=not-a-token"),
        [U, F, F, T],
    ),
    rule("POST", "/auth/logout", Body::None, [U, T, T, T]),
    rule("GET", "/users/me", Body::None, [U, T, T, T]),
    rule(
        "PUT",
        "/users/me/password",
        Body::Json(WRONG_CURRENT),
        [U, T, U, T],
    ),
    rule("GET", "/api-keys", Body::None, [U, T, U, T]),
    rule(
        "POST",
        "/api-keys",
        Body::Json(r#"{"name": "k{n}"}"#),
        [U, T, U, T],
    ),
    rule("DELETE", "/api-keys/{id}", Body::None, [U, T, U, T]),
    rule("GET", "/admin/users", Body::None, [U, F, F, T]),
    rule("POST", "/admin/users", Body::Json(NEW_USER), [U, F, F, T]),
    rule("GET", "/admin/users/{id}", Body::None, [U, F, F, T]),
    rule(
        "PATCH",
        "/admin/users/{id}",
        Body::Json(r#"{"disabled": false}"#),
        [U, F, F, T],
    ),
    rule("DELETE", "/admin/users/{id}", Body::None, [U, F, F, T]),
    rule("POST", "/admin/users/{id}/unlock", Body::None, [U, F, F, T]),
    rule("GET", "/admin/audit", Body::None, [U, F, F, T]),
    rule("GET", "/admin/clients", Body::None, [U, F, F, T]),
    rule(
        "POST",
        "/admin/clients",
        Body::Json(NEW_CLIENT),
        [U, F, F, T],
    ),
    rule(
        "GET",
        "/admin/clients/{client_id}",
        Body::None,
        [U, F, F, T],
    ),
    rule(
        "PATCH",
        "/admin/clients/{client_id}",
        Body::Json(r#"{"first_party": true}"#),
        [U, F, F, T],
    ),
    rule(
        "DELETE",
        "/admin/clients/{client_id}",
        Body::None,
        [U, F, F, T],
    ),
    rule(
        "POST",
        "/admin/clients/{client_id}/secret",
        Body::None,
        [U, F, F, T],
    ),
    rule(
        "POST",
        "/users/me/mfa/totp",
        Body::Json(r#"{"current_password": "not the password at all 99"}"#),
        [U, T, U, T],
    ),
    rule(
        "POST",
        "/users/me/mfa/totp/confirm",
        Body::Json(r#"{"code": "123456"}"#),
        [U, T, U, T],
    ),
    rule(
        "POST",
        "/users/me/mfa/recovery-codes",
        Body::Json(PROVEN),
        [U, T, U, T],
    ),
    rule(
        "DELETE",
        "/users/me/mfa/totp",
        Body::Json(PROVEN),
        [U, T, U, T],
    ),
    rule("DELETE", "/admin/users/{id}/mfa", Body::None, [U, F, F, T]),
    rule("GET", "/users/me/sessions", Body::None, [U, T, T, T]),
    rule("DELETE", "/users/me/sessions", Body::None, [U, T, T, T]),
    rule(
        "DELETE",
        "/users/me/sessions/{id}",
        Body::None,
        [U, T, T, T],
    ),
    rule(
        "GET",
        "/admin/users/{id}/sessions",
        Body::None,
        [U, F, F, T],
    ),
    rule(
        "DELETE",
        "/admin/users/{id}/sessions/{sid}",
        Body::None,
        [U, F, F, T],
    ),
    rule(
        "POST",
        "/auth/email/verify",
        Body::Json(LINK_TOKEN),
        [T, T, T, T],
    ),
    rule(
        "POST",
        "/auth/email/verify/resend",
        Body::None,
        [U, T, U, T],
    ),
    rule(
        "POST",
        "/auth/password/forgot",
        Body::Json(r#"{"email": "nobody-{n}@example.com"}"#),
        [T, T, T, T],
    ),
    rule(
        "POST",
        "/auth/password/reset",
        Body::Json(RESET),
        [T, T, T, T],
    ),
    rule(
        "PUT",
        "/users/me/email",
        Body::Json(NEW_EMAIL),
        [U, T, U, T],
    ),
    rule(
        "POST",
        "/admin/users/{id}/password-reset",
        Body::None,
        [U, F, F, T],
    ),
    rule(
        "POST",
        "/admin/users/import",
        Body::Ndjson(IMPORTED),
        [U, F, F, T],
    ),
];

/// One user to import, with a bcrypt hash.
const IMPORTED: &str = r#"{"email": "imp{n}@example.com", "password_hash": "$2b$04$76b/syOEPwyP82YJkmT.mO47Ko.C9N6gLh/su51kBejLqQqWLk9bm"}"#;

/// A made-up id for `{id}`: no user's, no key's.
const MADE_UP_ID: &str = "01970000-0000-7000-8000-000000000000";

/// The (method, path) of every operation of the served document.
async fn documented(app: &TestApp) -> BTreeSet<(String, String)> {
    let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
    let mut ops = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            ops.insert((method.to_uppercase(), path.clone()));
        }
    }
    ops
}

/// A fresh access token (every call gets its own: a logout ends the earlier ones).
async fn fresh_token(app: &TestApp, email: &str) -> String {
    let r = app.login(email, STRONG).await;
    assert_eq!(r.status(), 200, "login {email}");
    let body: Value = r.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

fn request(app: &TestApp, rule: &Rule, n: usize) -> RequestBuilder {
    let method = Method::from_bytes(rule.method.as_bytes()).unwrap();
    let path = rule
        .path
        .replace("{id}", MADE_UP_ID)
        .replace("{sid}", MADE_UP_ID)
        .replace("{client_id}", MADE_UP_ID);
    let builder = app.client.request(method, app.url(&path));
    let fill = |template: &str| template.replace("{n}", &n.to_string());
    match rule.body {
        Body::None => builder,
        Body::Json(template) => builder
            .header("content-type", "application/json")
            .body(fill(template)),
        Body::Form(template) => builder
            .header("content-type", "application/x-www-form-urlencoded")
            .body(fill(template)),
        Body::Ndjson(template) => builder
            .header("content-type", "application/x-ndjson")
            .body(fill(template)),
    }
}

#[tokio::test]
async fn every_operation_answers_each_kind_of_caller_as_the_table_says() {
    let app = spawn_app().await;

    let documented = documented(&app).await;
    let tabled: BTreeSet<(String, String)> = TABLE
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(
        tabled.len(),
        TABLE.len(),
        "an operation is in the table twice"
    );
    let untabled: Vec<_> = documented.difference(&tabled).collect();
    let undocumented: Vec<_> = tabled.difference(&documented).collect();
    assert!(
        untabled.is_empty() && undocumented.is_empty(),
        "the table must name exactly the document's operations; \
         missing from the table: {untabled:?}; not in the document: {undocumented:?}"
    );

    app.user_with_token("user@example.com").await;
    app.admin_with_token("admin@example.com").await;
    let user_token = fresh_token(&app, "user@example.com").await;
    let key = app
        .create_key(&user_token, serde_json::json!({"name": "table"}))
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut calls = 0;
    let mut wrong = Vec::new();
    for rule in TABLE {
        for (caller, expected) in CALLERS.iter().zip(rule.expect) {
            calls += 1;
            let builder = request(&app, rule, calls);
            let builder = match *caller {
                "no credential" => builder,
                "user bearer" => builder.bearer_auth(fresh_token(&app, "user@example.com").await),
                "user API key" => builder.header("x-api-key", &key),
                _ => builder.bearer_auth(fresh_token(&app, "admin@example.com").await),
            };
            let status = builder.send().await.unwrap().status().as_u16();
            let got = match status {
                401 => U,
                403 => F,
                s if s >= 500 => {
                    wrong.push(format!("{} {} by {caller}: {s}", rule.method, rule.path));
                    continue;
                }
                _ => T,
            };
            if got != expected {
                wrong.push(format!(
                    "{} {} by {caller}: expected {expected:?}, got {status}",
                    rule.method, rule.path
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
