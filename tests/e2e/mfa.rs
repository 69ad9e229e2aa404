//! The second factor over HTTP/1.1 and h2c, on SQLite and PostgreSQL: enrolment, the login's
//! challenge and the `mfa-otp` grant, recovery codes, the admin's reset, the events each leaves
//! (with no secret in them), the admins' policy, and a code or an `mfa_token` sent many times
//! at once working once.

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, STRONG, TestApp, assert_problem, spawn_app_on};
use crate::wire::h2c_client;

const MFA_GRANT: &str = "urn:warden:params:oauth:grant-type:mfa-otp";

/// The code of `step` for a base32 secret, by totp-rs (RFC 6238: SHA-1, 6 digits, 30 s).
fn code_at(secret: &str, step: u64) -> String {
    let totp = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(0)
        .with_step_duration(30)
        .with_secret(totp_rs::Secret::try_from_base32(secret).unwrap())
        .build()
        .unwrap();
    totp.generate(step * 30).to_string()
}

/// The current step, once it is two seconds from its end at least.
async fn step() -> u64 {
    loop {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if now % 30 < 28 {
            return u64::try_from(now / 30).unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

async fn post(
    client: &Client,
    app: &TestApp,
    path: &str,
    token: &str,
    body: Value,
) -> reqwest::Response {
    client
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn grant(client: &Client, app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    client
        .post(app.url("/auth/token"))
        .header("user-agent", "mfa-e2e/1.0")
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Enrols the token's user and confirms; the secret and the recovery codes.
async fn enrolled(client: &Client, app: &TestApp, token: &str) -> (String, Vec<String>) {
    let r = post(
        client,
        app,
        "/users/me/mfa/totp",
        token,
        json!({"current_password": STRONG}),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let shown: Value = r.json().await.unwrap();
    let secret = shown["secret"].as_str().unwrap().to_owned();
    assert!(
        shown["otpauth_uri"]
            .as_str()
            .unwrap()
            .contains(&format!("secret={secret}"))
    );
    assert!(shown["qr_svg"].as_str().unwrap().contains("<svg"));
    let code = code_at(&secret, step().await);
    let r = post(
        client,
        app,
        "/users/me/mfa/totp/confirm",
        token,
        json!({"code": code}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let codes = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes)
}

/// A password grant that must answer with a challenge; its `mfa_token`.
async fn challenge(client: &Client, app: &TestApp, email: &str) -> String {
    let r = grant(
        client,
        app,
        &[
            ("grant_type", "password"),
            ("username", email),
            ("password", STRONG),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "mfa_required");
    assert!(body.get("access_token").is_none());
    body["mfa_token"].as_str().unwrap().to_owned()
}

async fn events(client: &Client, app: &TestApp, admin: &str, id: &str) -> Vec<Value> {
    let r = client
        .get(app.url(&format!("/admin/audit?user={id}&limit=200")))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

/// The user's trail after the flows: their events, with the client's origin, and no secret.
fn assert_trail(ctx: &str, trail: &[Value], secrets: &[&str]) {
    let text = serde_json::to_string(&trail).unwrap();
    for secret_text in secrets {
        assert!(!text.contains(secret_text), "{ctx}: a secret in the trail");
    }
    let kinds: Vec<&str> = trail.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for kind in [
        "mfa.enrolled",
        "mfa.failed",
        "mfa.recovery_used",
        "login.succeeded",
    ] {
        assert!(kinds.contains(&kind), "{ctx}: {kind} in {kinds:?}");
    }
    let used = trail
        .iter()
        .find(|e| e["type"] == "mfa.recovery_used")
        .unwrap();
    assert_eq!(used["ip"], "127.0.0.1", "{ctx}");
    assert_eq!(used["user_agent"], "mfa-e2e/1.0", "{ctx}");
    let otp_login = trail
        .iter()
        .find(|e| e["type"] == "login.succeeded")
        .unwrap();
    assert_eq!(otp_login["details"]["amr"], json!(["pwd", "otp"]), "{ctx}");
}

/// A malformed code is an invalid_grant; a missing one an invalid_request.
async fn malformed_codes_are_refused(ctx: &str, client: &Client, app: &TestApp, email: &str) {
    // A malformed code is an invalid_grant, and spends the mfa_token.
    let mfa_token = challenge(client, app, email).await;
    for otp in ["12ab56", "1234567", "", "１２３４５６"] {
        let r = grant(
            client,
            app,
            &[
                ("grant_type", MFA_GRANT),
                ("mfa_token", &mfa_token),
                ("otp", otp),
            ],
        )
        .await;
        assert_eq!(r.status(), 400, "{ctx}: {otp:?}");
    }
    let missing = grant(
        client,
        app,
        &[("grant_type", MFA_GRANT), ("mfa_token", &mfa_token)],
    )
    .await;
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request", "{ctx}");
}

/// What introspection says of an access token, as an admin asks.
async fn introspect(client: &Client, app: &TestApp, admin: &str, access: &str) -> Value {
    client
        .post(app.url("/auth/introspect"))
        .bearer_auth(admin)
        .form(&[("token", access)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_second_factor_enrols_signs_in_and_leaves_its_events_without_a_secret() {
    for backend in Backend::available().await {
        let app = spawn_app_on(backend, |_| {}).await;
        let (_, admin) = app.admin_with_token("root@example.com").await;
        for (protocol, client) in [("http1", app.client.clone()), ("h2c", h2c_client())] {
            let ctx = format!("{backend:?} {protocol}");
            let email = format!("mfa-{protocol}@example.com");
            let (user, token) = app.user_with_token(&email).await;
            let id = user["id"].as_str().unwrap();
            let wrong = post(
                &client,
                &app,
                "/users/me/mfa/totp",
                &token,
                json!({"current_password": "nope"}),
            )
            .await;
            assert_problem(wrong, 400).await;
            let (secret, codes) = enrolled(&client, &app, &token).await;
            assert_eq!(codes.len(), 10, "{ctx}");
            let again = post(
                &client,
                &app,
                "/users/me/mfa/totp/confirm",
                &token,
                json!({"code": "123456"}),
            )
            .await;
            assert_problem(again, 409).await;
            let me: Value = app
                .get_with_token("/users/me", &token)
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(me["mfa_enabled"], true, "{ctx}");

            malformed_codes_are_refused(&ctx, &client, &app, &email).await;
            // A recovery code finishes a login; the tokens say so.
            let mfa_token = challenge(&client, &app, &email).await;
            let r = grant(
                &client,
                &app,
                &[
                    ("grant_type", MFA_GRANT),
                    ("mfa_token", &mfa_token),
                    ("recovery_code", &codes[0]),
                ],
            )
            .await;
            assert_eq!(r.status(), 200, "{ctx}");
            let pair: Value = r.json().await.unwrap();
            let access = pair["access_token"].as_str().unwrap();
            let seen = introspect(&client, &app, &admin, access).await;
            assert_eq!(seen["amr"], json!(["pwd", "otp"]), "{ctx}");
            let reused = grant(
                &client,
                &app,
                &[
                    ("grant_type", MFA_GRANT),
                    ("mfa_token", &mfa_token),
                    ("recovery_code", &codes[1]),
                ],
            )
            .await;
            assert_eq!(reused.status(), 400, "{ctx}: an mfa_token works once");
            // In one step, with the password.
            let otp = code_at(&secret, step().await + 1);
            let r = grant(
                &client,
                &app,
                &[
                    ("grant_type", "password"),
                    ("username", &email),
                    ("password", STRONG),
                    ("otp", &otp),
                ],
            )
            .await;
            assert_eq!(r.status(), 200, "{ctx}: one step");

            let secrets = [
                secret.as_str(),
                codes[0].as_str(),
                mfa_token.as_str(),
                otp.as_str(),
            ];
            let trail = events(&client, &app, &admin, id).await;
            assert_trail(&ctx, &trail, &secrets);

            // An admin resets it: the password alone signs in again.
            let r = client
                .request(Method::DELETE, app.url(&format!("/admin/users/{id}/mfa")))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 204, "{ctx}");
            assert_eq!(app.login(&email, STRONG).await.status(), 200, "{ctx}");
            let trail = events(&client, &app, &admin, id).await;
            let reset = trail.iter().find(|e| e["type"] == "mfa.disabled").unwrap();
            assert_eq!(reset["details"]["by"], "admin", "{ctx}");
        }
    }
}

#[tokio::test]
async fn an_api_key_cannot_enrol_and_a_malformed_id_is_refused() {
    let app = spawn_app_on(Backend::Sqlite, |_| {}).await;
    let (_, token) = app.user_with_token("keyed@example.com").await;
    let key = app.create_key(&token, json!({"name": "k"})).await;
    let r = app
        .with_key(
            Method::POST,
            "/users/me/mfa/totp",
            key["key"].as_str().unwrap(),
        )
        .json(&json!({"current_password": STRONG}))
        .send()
        .await
        .unwrap();
    // Bearer only: a key is no credential of this operation at all.
    assert_problem(r, 401).await;
    // A field of the wrong type or past its range: 422 with every reason, nothing echoed.
    for body in [
        json!({"code": 123_456}),
        json!({"code": "1".repeat(65)}),
        json!({}),
    ] {
        let r = app
            .with_token(Method::POST, "/users/me/mfa/totp/confirm", &token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(r, 422).await;
        assert!(!problem["errors"].as_array().unwrap().is_empty(), "{body}");
        assert!(!problem.to_string().contains(&"1".repeat(65)));
    }
    let r = app
        .with_token(Method::POST, "/users/me/mfa/totp", &token)
        .json(&json!({"current_password": ["not", "a", "string"]}))
        .send()
        .await
        .unwrap();
    assert_problem(r, 422).await;
    let (_, admin) = app.admin_with_token("root@example.com").await;
    let r = app
        .with_token(Method::DELETE, "/admin/users/not-a-uuid/mfa", &admin)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    let r = app
        .with_token(
            Method::DELETE,
            &format!("/admin/users/{}/mfa", uuid::Uuid::now_v7()),
            &admin,
        )
        .send()
        .await
        .unwrap();
    assert_problem(r, 404).await;
}

#[tokio::test]
async fn one_code_or_one_mfa_token_sent_many_times_at_once_works_once() {
    for backend in Backend::available().await {
        let app = spawn_app_on(backend, |_| {}).await;
        for (protocol, client) in [("http1", app.client.clone()), ("h2c", h2c_client())] {
            let ctx = format!("{backend:?} {protocol}");
            let email = format!("race-{protocol}@example.com");
            let (_, token) = app.user_with_token(&email).await;
            let (secret, _) = enrolled(&client, &app, &token).await;
            let otp = code_at(&secret, step().await + 1);
            // One code, each with an mfa_token of its own: a replay within the window.
            let mut tokens = Vec::new();
            for _ in 0..8 {
                tokens.push(challenge(&client, &app, &email).await);
            }
            let sends: Vec<_> = tokens.iter().map(|t| (t.clone(), otp.clone())).collect();
            let statuses = finish_all(&client, &app, sends).await;
            assert_eq!(
                statuses.iter().filter(|s| **s == 200).count(),
                1,
                "{ctx}: {statuses:?}"
            );
            // One mfa_token, with a fresh code each: it works once.
            let mfa_token = challenge(&client, &app, &email).await;
            let otp = code_at(&secret, step().await + 1);
            let later = code_at(&secret, step().await - 1);
            let sends: Vec<_> = (0..8)
                .map(|i| {
                    let otp = if i % 2 == 0 { &otp } else { &later };
                    (mfa_token.clone(), otp.clone())
                })
                .collect();
            let statuses = finish_all(&client, &app, sends).await;
            assert!(
                statuses.iter().filter(|s| **s == 200).count() <= 1,
                "{ctx}: {statuses:?}"
            );
            assert!(
                statuses.iter().all(|s| *s == 200 || *s == 400),
                "{ctx}: {statuses:?}"
            );
        }
    }
}

/// Sends the `mfa-otp` grant with each `(mfa_token, otp)` at once; the statuses, in order.
async fn finish_all(
    client: &Client,
    app: &TestApp,
    sends: Vec<(String, String)>,
) -> Vec<StatusCode> {
    let handles: Vec<_> = sends
        .into_iter()
        .map(|(token, otp)| {
            let (client, url) = (client.clone(), app.url("/auth/token"));
            tokio::spawn(async move {
                let form = [
                    ("grant_type", MFA_GRANT),
                    ("mfa_token", &token),
                    ("otp", &otp),
                ];
                client.post(url).form(&form).send().await.unwrap().status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for handle in handles {
        statuses.push(handle.await.unwrap());
    }
    statuses
}

#[tokio::test]
async fn an_admin_without_a_factor_may_only_enrol_when_the_policy_says_so() {
    for backend in Backend::available().await {
        let app = spawn_app_on(backend, |s| s.mfa.require_for_admins = true).await;
        let (_, admin) = app.admin_with_token("root@example.com").await;
        let (_, member) = app.user_with_token("member@example.com").await;
        for (protocol, client) in [("http1", app.client.clone()), ("h2c", h2c_client())] {
            let ctx = format!("{backend:?} {protocol}");
            for path in ["/users/me", "/admin/users", "/users/me/sessions"] {
                let r = client
                    .get(app.url(path))
                    .bearer_auth(&admin)
                    .send()
                    .await
                    .unwrap();
                let problem = assert_problem(r, 403).await;
                assert!(
                    problem["detail"]
                        .as_str()
                        .unwrap()
                        .contains("second factor"),
                    "{ctx}"
                );
            }
            let r = client
                .get(app.url("/users/me"))
                .bearer_auth(&member)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{ctx}: the policy is about admins");
        }
        let (secret, _) = enrolled(&app.client, &app, &admin).await;
        // Its token is of a login from before the enrolment, which proved no code.
        let r = app.get_with_token("/admin/users", &admin).await;
        assert_problem(r, 403).await;
        let r = app
            .with_token(Method::POST, "/auth/logout", &admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204, "{backend:?}: it may end its own sessions");
        let otp = code_at(&secret, step().await + 1);
        let r = app
            .token(&[
                ("grant_type", "password"),
                ("username", "root@example.com"),
                ("password", STRONG),
                ("otp", &otp),
            ])
            .await;
        assert_eq!(r.status(), 200, "{backend:?}");
        let pair: Value = r.json().await.unwrap();
        let proved = pair["access_token"].as_str().unwrap();
        let r = app.get_with_token("/admin/users", proved).await;
        assert_eq!(r.status(), 200, "{backend:?}: with a code, the admin acts");
    }
}
