//! Registration, the password grant, the current user and password changes.

use serde_json::{Value, json};
use warden_domain::admin::UserUpdate;

use crate::helpers::{
    STRONG, assert_problem, assert_unauthorized, captured_logs, spawn_app, spawn_app_with,
};

#[tokio::test]
async fn register_returns_the_user_without_any_secret() {
    let app = spawn_app().await;
    let r = app.register("  Carol@Example.com", STRONG).await;
    assert_eq!(r.status(), 201);
    let text = r.text().await.unwrap();
    assert!(!text.contains(STRONG) && !text.contains("argon2"), "{text}");
    let user: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(user["email"], "Carol@Example.com");
    assert_eq!(user["role"], "user");
    assert_eq!(user["disabled"], false);
    assert!(user["display_name"].is_null());
    uuid::Uuid::parse_str(user["id"].as_str().unwrap()).unwrap();
    let keys: Vec<&String> = user.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "created_at",
            "disabled",
            "display_name",
            "email",
            "email_verified",
            "email_verified_at",
            "id",
            "mfa_enabled",
            "role",
            "updated_at"
        ]
    );
}

#[tokio::test]
async fn a_taken_email_is_409_whatever_its_case() {
    let app = spawn_app().await;
    assert_eq!(app.register("dave@example.com", STRONG).await.status(), 201);
    assert_problem(app.register("DAVE@example.COM", STRONG).await, 409).await;
}

#[tokio::test]
async fn a_weak_password_or_bad_email_is_422_with_every_reason() {
    let app = spawn_app().await;
    let body = assert_problem(app.register("not-an-email", "password").await, 422).await;
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{body}");
    assert!(errors[0].as_str().unwrap().contains("not a valid email"));
    assert!(
        errors[1]
            .as_str()
            .unwrap()
            .contains("at least 12 characters")
    );
    let body = assert_problem(
        app.register("erin@example.com", "password123456").await,
        422,
    )
    .await;
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap()
            .contains("too easy to guess"),
        "{body}"
    );
}

#[tokio::test]
async fn malformed_json_is_a_4xx_problem_never_a_5xx() {
    let app = spawn_app().await;
    for body in [
        r#"{"email": "a@b.co""#,
        r#"{"email": 5, "password": "x"}"#,
        r#"{"password": "x"}"#,
        "[]",
    ] {
        let r = app
            .client
            .post(app.url("/auth/register"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        // Unparsable bodies are 400; parsable ones of the wrong shape may reach the rules (422).
        let status = r.status().as_u16();
        assert!(status == 400 || status == 422, "{body}: {status}");
        assert_problem(r, status).await;
    }
    // A password sent with the wrong type is not echoed back.
    let r = app
        .client
        .post(app.url("/auth/register"))
        .json(&json!({"email": "f@example.com", "password": 918_273_645}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert!((400..500).contains(&status));
    let body = assert_problem(r, status).await;
    assert!(!body.to_string().contains("918273645"), "{body}");
}

#[tokio::test]
async fn registration_can_be_turned_off() {
    let app = spawn_app_with(|s| s.auth.allow_registration = false).await;
    let body = assert_problem(app.register("gina@example.com", STRONG).await, 403).await;
    assert_eq!(body["detail"], "Registration is disabled");
}

#[tokio::test]
async fn the_password_grant_issues_a_bearer_token_that_is_never_cached() {
    let app = spawn_app().await;
    app.register("hank@example.com", STRONG).await;
    // Swagger UI and OAuth2 clients send scope, client_id and client_secret: ignored.
    let r = app
        .token(&[
            ("grant_type", "password"),
            ("username", "HANK@example.com"),
            ("password", STRONG),
            ("scope", ""),
            ("client_id", "swagger"),
            ("client_secret", "x"),
        ])
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 900);
    let token = body["access_token"].as_str().unwrap();
    let me: Value = app
        .get_with_token("/users/me", token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "hank@example.com");
}

#[tokio::test]
async fn wrong_password_unknown_user_and_disabled_account_get_the_same_400() {
    let app = spawn_app().await;
    let (user, _) = app.user_with_token("ivy@example.com").await;
    app.register("jack@example.com", STRONG).await;
    let jack = app
        .services
        .admin
        .get_by_email(&crate::helpers::operator(), "jack@example.com")
        .await
        .unwrap();
    app.services
        .admin
        .update(
            &crate::helpers::operator(),
            jack.id,
            UserUpdate {
                disabled: Some(true),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(user["email"], "ivy@example.com");
    let mut bodies = Vec::new();
    for (who, password) in [
        ("ivy@example.com", "wrong password entirely"),
        ("nobody@example.com", STRONG),
        ("jack@example.com", STRONG),
        ("not even an email", STRONG),
    ] {
        let r = app.login(who, password).await;
        assert_eq!(r.status(), 400, "{who}");
        assert_eq!(r.headers()["cache-control"], "no-store");
        bodies.push(r.text().await.unwrap());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    let body: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"].is_string());
}

#[tokio::test]
async fn token_request_errors_are_rfc_6749_bodies() {
    let app = spawn_app().await;
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[("username", "a@b.co"), ("password", "x")],
            "invalid_request",
        ),
        (
            &[("grant_type", "password"), ("password", "x")],
            "invalid_request",
        ),
        (
            &[("grant_type", "password"), ("username", "a@b.co")],
            "invalid_request",
        ),
        (&[("grant_type", "implicit")], "unsupported_grant_type"),
        (
            &[
                ("grant_type", "password"),
                ("username", "a@b.co"),
                ("username", "c@d.co"),
                ("password", "x"),
            ],
            "invalid_request",
        ),
    ];
    for (form, error) in cases {
        let r = app.token(form).await;
        assert_eq!(r.status(), 400, "{form:?}");
        assert_eq!(
            r.headers()["content-type"],
            "application/json; charset=utf-8"
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], error, "{form:?}");
        assert!(body["error_description"].is_string());
    }
    // A JSON body is not an OAuth request.
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
async fn users_me_needs_credentials() {
    let app = spawn_app().await;
    assert_unauthorized(app.get("/users/me").await, "Bearer").await;
    let r = app
        .client
        .get(app.url("/users/me"))
        .header("authorization", "Basic YTpi")
        .send()
        .await
        .unwrap();
    assert_unauthorized(r, "Bearer").await;
}

#[tokio::test]
async fn a_disabled_or_deleted_users_token_stops_working_at_once() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_token("kim@example.com").await;
    let (_, other) = app.user_with_token("lou@example.com").await;
    assert_eq!(app.get_with_token("/users/me", &token).await.status(), 200);
    let kim = app
        .services
        .admin
        .get_by_email(&crate::helpers::operator(), "kim@example.com")
        .await
        .unwrap();
    app.services
        .admin
        .update(
            &crate::helpers::operator(),
            kim.id,
            UserUpdate {
                disabled: Some(true),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_unauthorized(
        app.get_with_token("/users/me", &token).await,
        "Bearer error=\"invalid_token\"",
    )
    .await;
    // Enabling again does not revive tokens: disabling ended the sessions.
    app.services
        .admin
        .update(
            &crate::helpers::operator(),
            kim.id,
            UserUpdate {
                disabled: Some(false),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(app.get_with_token("/users/me", &token).await.status(), 401);

    let lou = app
        .services
        .admin
        .get_by_email(&crate::helpers::operator(), "lou@example.com")
        .await
        .unwrap();
    app.services
        .admin
        .delete(&crate::helpers::operator(), lou.id)
        .await
        .unwrap();
    assert_unauthorized(
        app.get_with_token("/users/me", &other).await,
        "Bearer error=\"invalid_token\"",
    )
    .await;
}

#[tokio::test]
async fn a_password_change_ends_earlier_sessions() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_token("mia@example.com").await;
    let new = "another long passphrase 77 orange";
    assert_problem(
        app.change_password(&token, "not the password!!", new).await,
        400,
    )
    .await;
    let weak = assert_problem(
        app.change_password(&token, STRONG, "password1234").await,
        422,
    )
    .await;
    assert!(weak["errors"].is_array());
    let r = app.change_password(&token, STRONG, new).await;
    assert_eq!(r.status(), 204);
    assert_eq!(app.get_with_token("/users/me", &token).await.status(), 401);
    assert_eq!(app.login("mia@example.com", STRONG).await.status(), 400);
    let r = app.login("mia@example.com", new).await;
    assert_eq!(r.status(), 200);
    let fresh: Value = r.json().await.unwrap();
    let fresh = fresh["access_token"].as_str().unwrap();
    assert_eq!(app.get_with_token("/users/me", fresh).await.status(), 200);
}

#[tokio::test]
async fn no_response_and_no_log_line_contains_a_password_or_token() {
    let app = spawn_app().await;
    let password = "unique-canary passphrase 9 zebra";
    let r = app.register("nia@example.com", password).await;
    assert!(!r.text().await.unwrap().contains(password));
    let r = app.login("nia@example.com", password).await;
    let body: Value = r.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap().to_owned();
    let r = app
        .login("nia@example.com", "wrong-canary passphrase 8")
        .await;
    assert!(!r.text().await.unwrap().contains("wrong-canary"));
    let me = app
        .get_with_token("/users/me", &token)
        .await
        .text()
        .await
        .unwrap();
    assert!(!me.contains(password) && !me.contains("argon2"));
    let new = "second-canary passphrase 7 yak";
    assert_eq!(
        app.change_password(&token, password, new).await.status(),
        204
    );
    let logs = captured_logs();
    assert!(
        logs.contains("warden::access"),
        "the access log is captured"
    );
    for secret in [password, "wrong-canary", new, &token, "$argon2id$"] {
        assert!(!logs.contains(secret), "the logs contain {secret}");
    }
}

#[tokio::test]
async fn logout_cuts_earlier_access_tokens_at_once() {
    let app = spawn_app().await;
    let (_, first) = app.user_with_token("omar@example.com").await;
    let r = app.login("omar@example.com", STRONG).await;
    let second: Value = r.json().await.unwrap();
    let second = second["access_token"].as_str().unwrap().to_owned();
    let r = app
        .client
        .post(app.url("/auth/logout"))
        .bearer_auth(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["cache-control"], "no-store");
    for token in [&first, &second] {
        assert_unauthorized(
            app.get_with_token("/users/me", token).await,
            "Bearer error=\"invalid_token\"",
        )
        .await;
    }
    assert_unauthorized(
        app.client
            .post(app.url("/auth/logout"))
            .send()
            .await
            .unwrap(),
        "Bearer",
    )
    .await;
    let r = app.login("omar@example.com", STRONG).await;
    let fresh: Value = r.json().await.unwrap();
    let fresh = fresh["access_token"].as_str().unwrap();
    assert_eq!(app.get_with_token("/users/me", fresh).await.status(), 200);
}
