//! `POST /admin/users/import`: hashes made by the Python libraries imported over HTTP/1.1 and
//! h2c on SQLite and PostgreSQL, signed in with, upgraded to argon2id at the first login; and
//! every caller but an admin's bearer token refused.

use reqwest::{Client, Method};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_problem, operator, spawn_app, spawn_app_on, spawn_app_with,
};
use crate::wire::h2c_client;

/// (label, password, hash) by passlib, pwdlib, argon2-cffi, Django and werkzeug.
const PYTHON_HASHES: &str = include_str!("../fixtures/python_hashes.tsv");

fn python_hashes() -> Vec<(&'static str, &'static str, &'static str)> {
    PYTHON_HASHES
        .lines()
        .map(|line| {
            let mut fields = line.split('\t');
            let mut next = || fields.next().unwrap();
            (next(), next(), next())
        })
        .collect()
}

async fn import(
    app: &TestApp,
    client: &Client,
    token: &str,
    query: &str,
    body: String,
) -> reqwest::Response {
    client
        .post(app.url(&format!("/admin/users/import{query}")))
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn stored_hash(app: &TestApp, email: &str) -> String {
    let user = app
        .services
        .admin
        .get_by_email(&operator(), email)
        .await
        .unwrap();
    user.password_hash.expose().to_owned()
}

#[tokio::test]
async fn each_library_s_users_import_over_each_protocol_sign_in_and_leave_no_legacy_hash() {
    for backend in Backend::available().await {
        let app = spawn_app_on(backend, |_| {}).await;
        let (_, token) = app.admin_with_token("root@example.com").await;
        for (protocol, client) in [("http1", app.client.clone()), ("h2c", h2c_client())] {
            let users: Vec<(String, &str, &str)> = python_hashes()
                .into_iter()
                .map(|(label, password, hash)| {
                    (format!("{label}.{protocol}@example.com"), password, hash)
                })
                .collect();
            let body: Vec<String> = users
                .iter()
                .map(|(email, _, hash)| json!({"email": email, "password_hash": hash}).to_string())
                .collect();
            let body = body.join("\r\n") + "\n";
            let dry = import(&app, &client, &token, "?dry_run=true", body.clone()).await;
            assert_eq!(dry.status(), 200, "{backend:?} {protocol}");
            let dry: Value = dry.json().await.unwrap();
            assert_eq!(
                (&dry["imported"], &dry["dry_run"]),
                (&json!(users.len()), &json!(true))
            );
            assert_eq!(app.login(&users[0].0, users[0].1).await.status(), 400);

            let r = import(&app, &client, &token, "", body.clone()).await;
            let report: Value = r.json().await.unwrap();
            assert_eq!(
                report,
                json!({"imported": users.len(), "updated": 0, "skipped": 0, "refused": 0,
                       "dry_run": false, "refusals": []}),
                "{backend:?} {protocol}"
            );
            let again = import(&app, &client, &token, "?on_conflict=skip", body).await;
            let again: Value = again.json().await.unwrap();
            assert_eq!(
                (&again["imported"], &again["skipped"]),
                (&json!(0), &json!(users.len()))
            );

            for (email, password, hash) in &users {
                let wrong = app.login(email, "correct horse battery stapler").await;
                let wrong = assert_problem_or_oauth(wrong).await;
                assert_eq!(wrong["error"], "invalid_grant", "{email}");
                assert_eq!(
                    stored_hash(&app, email).await,
                    *hash,
                    "a wrong password upgrades nothing"
                );
                assert_eq!(
                    app.login(email, password).await.status(),
                    200,
                    "{backend:?} {email}"
                );
                let upgraded = stored_hash(&app, email).await;
                assert!(
                    upgraded.starts_with("$argon2id$v=19$m="),
                    "{email}: not upgraded"
                );
                assert_eq!(
                    app.login(email, password).await.status(),
                    200,
                    "{email} again"
                );
            }
        }
    }
}

/// The body of an OAuth 2.0 error (`/auth/token` answers RFC 6749's shape, not a problem).
async fn assert_problem_or_oauth(r: reqwest::Response) -> Value {
    assert_eq!(r.status(), 400);
    r.json().await.unwrap()
}

#[tokio::test]
async fn many_first_logins_at_once_of_one_imported_user_all_succeed() {
    // Attempts in flight count toward the lockout until they succeed: a limit above them.
    let app = spawn_app_with(|s| s.lockout.max_failures = 50).await;
    let (_, token) = app.admin_with_token("root@example.com").await;
    let (_, password, hash) = python_hashes()[0];
    let line = json!({"email": "many@example.com", "password_hash": hash}).to_string();
    assert_eq!(
        import(&app, &app.client, &token, "", line).await.status(),
        200
    );
    let logins: Vec<_> = (0..16)
        .map(|n| {
            let client = if n % 2 == 0 {
                app.client.clone()
            } else {
                h2c_client()
            };
            let url = app.url("/auth/token");
            tokio::spawn(async move {
                let form = [
                    ("grant_type", "password"),
                    ("username", "many@example.com"),
                    ("password", password),
                ];
                client.post(url).form(&form).send().await.unwrap().status()
            })
        })
        .collect();
    for login in logins {
        assert_eq!(login.await.unwrap(), 200);
    }
    assert!(
        stored_hash(&app, "many@example.com")
            .await
            .starts_with("$argon2id$")
    );
}

#[tokio::test]
async fn only_an_admin_s_bearer_token_may_import_and_a_refusal_writes_nothing() {
    let app = spawn_app_on(Backend::Sqlite, |s| s.server.max_body_bytes = 4096).await;
    let (_, admin) = app.admin_with_token("root@example.com").await;
    let (_, user) = app.user_with_token("plain@example.com").await;
    let key = app.create_key(&admin, json!({"name": "ops"})).await;
    let key = key["key"].as_str().unwrap().to_owned();
    let (_, _, hash) = python_hashes()[0];
    let line = json!({"email": "planted@example.com", "password_hash": hash}).to_string();
    let send = |req: reqwest::RequestBuilder, body: String| async move {
        req.header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .unwrap()
    };
    let as_user = app.with_token(Method::POST, "/admin/users/import", &user);
    assert_problem(send(as_user, line.clone()).await, 403).await;
    let by_key = app.with_key(Method::POST, "/admin/users/import", &key);
    assert_problem(send(by_key, line.clone()).await, 403).await;
    let anonymous = app.client.post(app.url("/admin/users/import"));
    assert_eq!(send(anonymous, line.clone()).await.status(), 401);
    // A JSON body is not JSON Lines.
    let json_body = app
        .with_token(Method::POST, "/admin/users/import", &admin)
        .header("content-type", "application/json")
        .body(line.clone())
        .send()
        .await
        .unwrap();
    assert_problem(json_body, 415).await;
    // The media type in any case, with a charset, is JSON Lines; a near miss is not.
    for (spelling, status) in [
        ("Application/X-NDJSON", 200),
        ("application/x-ndjson; charset=utf-8", 200),
        ("application/x-ndjsonl", 415),
        ("text/plain", 415),
    ] {
        let r = app
            .with_token(Method::POST, "/admin/users/import?dry_run=true", &admin)
            .header("content-type", spelling)
            .body(line.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{spelling}");
    }
    let bad_query = app.with_token(
        Method::POST,
        "/admin/users/import?on_conflict=replace",
        &admin,
    );
    assert_problem(send(bad_query, line.clone()).await, 422).await;
    // The body limit holds here as everywhere: the limit is read, one byte more is 413.
    let padded = |n: usize| format!("{line}{}", " ".repeat(n - line.len()));
    let over = app.with_token(Method::POST, "/admin/users/import", &admin);
    assert_problem(send(over, padded(4097)).await, 413).await;
    assert!(
        app.services
            .admin
            .get_by_email(&operator(), "planted@example.com")
            .await
            .is_err()
    );
    let at = app.with_token(Method::POST, "/admin/users/import", &admin);
    let report: Value = send(at, padded(4096)).await.json().await.unwrap();
    assert_eq!(report["imported"], 1);
}

#[tokio::test]
async fn refused_lines_are_numbered_and_never_echoed() {
    let app = spawn_app().await;
    let (_, token) = app.admin_with_token("root@example.com").await;
    let secret = "Sup3r-secret-password";
    let (_, _, hash) = python_hashes()[0];
    let body = [
        json!({"email": "ok@example.com", "password_hash": hash}).to_string(),
        json!({"email": "p@example.com", "password_hash": secret}).to_string(),
        format!("{{\"email\": \"{secret}"),
        json!({"email": secret, "password_hash": hash}).to_string(),
        json!({"email": "OK@example.com", "password_hash": hash}).to_string(),
    ]
    .join("\n");
    let r = import(&app, &app.client, &token, "", body).await;
    let text = r.text().await.unwrap();
    assert!(!text.contains(secret) && !text.contains(hash), "{text}");
    let report: Value = serde_json::from_str(&text).unwrap();
    let lines: Vec<u64> = report["refusals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 3, 4, 5]);
    assert_eq!(
        (&report["imported"], &report["refused"]),
        (&json!(1), &json!(4))
    );
}
