//! The flows by mail over HTTP, each followed through the message the app delivered: an
//! address verified by its link (and a GET that never uses it), a password reset (policy,
//! single use, sessions ended, lockouts cleared), an address change, the account pages, the
//! throttle and budget, a login that needs a verified address, and tokens never echoed or
//! logged.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{STRONG, TestApp, assert_problem, captured_logs, spawn_app, spawn_app_with};
use crate::inbox::{delivered, link_token, wait_for};

const NEW: &str = "another long passphrase 77";

async fn post_json(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn me(app: &TestApp, token: &str) -> Value {
    let r = app.get_with_token("/users/me", token).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn a_new_address_is_verified_by_its_link_and_a_get_never_uses_it() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_token("verify@example.com").await;
    let link = link_token(&app, "verify@example.com", "verify", 1).await;
    let message = &wait_for(&app, "verify@example.com", 1).await[0];
    assert_eq!(message.subject(), "Verify your email address");
    assert!(message.raw.contains("multipart/alternative"));

    for _ in 0..2 {
        let page = app.get(&format!("/account/verify?token={link}")).await;
        assert_eq!(page.status(), 200);
        let h = page.headers().clone();
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .starts_with("default-src 'none'; form-action 'self'")
        );
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["cache-control"], "no-store");
        let html = page.text().await.unwrap();
        // Relative: under a public_url with a path prefix, the form posts to that prefix.
        assert!(html.contains("<form method=\"post\" action=\"verify\">"));
        assert!(!html.contains("<script"));
    }
    let before = me(&app, &token).await;
    assert_eq!(
        (
            before["email_verified"].clone(),
            before["email_verified_at"].clone()
        ),
        (json!(false), Value::Null)
    );

    let r = post_json(&app, "/auth/email/verify", json!({"token": link})).await;
    assert_eq!(r.status(), 204);
    let after = me(&app, &token).await;
    assert_eq!(after["email_verified"], true);
    assert!(after["email_verified_at"].is_string());

    let again = post_json(&app, "/auth/email/verify", json!({"token": link})).await;
    assert_eq!(again.headers()["content-type"], "application/problem+json");
    let text = again.text().await.unwrap();
    assert!(
        text.contains("\"status\":400") && !text.contains(&link),
        "{text}"
    );
    assert!(!captured_logs().contains(&link), "a token was logged");
}

#[tokio::test]
async fn a_reset_sets_the_password_once_ends_sessions_and_clears_lockouts() {
    let app = spawn_app_with(|s| s.lockout.max_failures = 2).await;
    let (_, old_access) = app.user_with_token("reset@example.com").await;
    let key = app
        .create_key(&old_access, json!({"name": "planted"}))
        .await;
    let key = key["key"].as_str().unwrap().to_owned();
    let login: Value = app
        .login("reset@example.com", STRONG)
        .await
        .json()
        .await
        .unwrap();
    for _ in 0..3 {
        app.login("reset@example.com", "wrong password entirely")
            .await;
    }
    let locked = app.login("reset@example.com", STRONG).await;
    assert_eq!(locked.status(), 400, "locked out before the reset");

    for email in ["reset@example.com", "nobody@example.com", "not an address"] {
        let r = post_json(&app, "/auth/password/forgot", json!({"email": email})).await;
        assert_eq!(r.status(), 202, "{email}");
        assert_eq!(r.text().await.unwrap(), "");
    }
    let link = link_token(&app, "reset@example.com", "reset", 2).await;
    let weak = post_json(
        &app,
        "/auth/password/reset",
        json!({"token": link, "new_password": "short"}),
    )
    .await;
    let problem = assert_problem(weak, 422).await;
    assert!(!problem["errors"].as_array().unwrap().is_empty());

    let r = post_json(
        &app,
        "/auth/password/reset",
        json!({"token": link, "new_password": NEW}),
    )
    .await;
    assert_eq!(r.status(), 204, "the link still worked after the refusal");
    let reused = post_json(
        &app,
        "/auth/password/reset",
        json!({"token": link, "new_password": "a third long passphrase 88"}),
    )
    .await;
    assert_problem(reused, 400).await;

    assert_eq!(
        app.get_with_token("/users/me", &old_access).await.status(),
        401,
        "access tokens ended"
    );
    let r = app
        .with_key(Method::GET, "/users/me", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "API keys revoked");
    let refresh = app
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", login["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(refresh.status(), 400, "refresh tokens ended");
    assert_eq!(app.login("reset@example.com", STRONG).await.status(), 400);
    assert_eq!(
        app.login("reset@example.com", NEW).await.status(),
        200,
        "the lockout was cleared"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let to_nobody = delivered(&app)
        .iter()
        .filter(|m| m.is_to("nobody@example.com"))
        .count();
    assert_eq!(to_nobody, 0);
    assert!(!captured_logs().contains(&link), "a token was logged");
}

#[tokio::test]
async fn a_password_change_makes_an_outstanding_reset_link_invalid() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_token("change@example.com").await;
    post_json(
        &app,
        "/auth/password/forgot",
        json!({"email": "change@example.com"}),
    )
    .await;
    let link = link_token(&app, "change@example.com", "reset", 2).await;
    assert_eq!(app.change_password(&token, STRONG, NEW).await.status(), 204);
    let r = post_json(
        &app,
        "/auth/password/reset",
        json!({"token": link, "new_password": "a third long passphrase 88"}),
    )
    .await;
    assert_problem(r, 400).await;
    assert_eq!(app.login("change@example.com", NEW).await.status(), 200);
}

#[tokio::test]
async fn the_reset_page_sets_a_password_without_script_and_shows_refusals() {
    let app = spawn_app().await;
    app.user_with_token("page@example.com").await;
    post_json(
        &app,
        "/auth/password/forgot",
        json!({"email": "page@example.com"}),
    )
    .await;
    let link = link_token(&app, "page@example.com", "reset", 2).await;
    let page = app.get(&format!("/account/reset?token={link}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<label for=\"new_password\">New password</label>"));
    let post = |password: &str| {
        app.client
            .post(app.url("/account/reset"))
            .form(&[("token", link.as_str()), ("new_password", password)])
            .send()
    };
    let weak = post("short").await.unwrap();
    assert_eq!(weak.status(), 422);
    let html = weak.text().await.unwrap();
    assert!(html.contains("role=\"alert\"") && html.contains(&link) && !html.contains("short\""));
    let done = post(NEW).await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(
        done.text()
            .await
            .unwrap()
            .contains("Your password has been changed.")
    );
    assert_eq!(post(NEW).await.unwrap().status(), 400, "once");
    assert_eq!(app.login("page@example.com", NEW).await.status(), 200);
    for bad in [
        "",
        "?token=",
        "?token=short",
        "?token=%3Cscript%3E",
        "?token=AAAA&token=BBBB",
    ] {
        let r = app.get(&format!("/account/reset{bad}")).await;
        assert_eq!(r.status(), 400, "{bad}");
        assert!(!r.text().await.unwrap().contains("<script"), "{bad}");
    }
    let r = app
        .client
        .post(app.url("/account/verify"))
        .body("%%%")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn an_address_changes_only_when_the_new_one_is_verified() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_token("old@example.com").await;
    let change = |body: Value| {
        app.with_token(Method::PUT, "/users/me/email", &token)
            .json(&body)
            .send()
    };
    let wrong =
        change(json!({"new_email": "new@example.com", "current_password": "not it at all 123"}))
            .await
            .unwrap();
    assert_problem(wrong, 400).await;
    let same = change(json!({"new_email": "OLD@example.com", "current_password": STRONG}))
        .await
        .unwrap();
    assert_problem(same, 422).await;
    let r = change(json!({"new_email": "new@example.com", "current_password": STRONG}))
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let again = change(json!({"new_email": "newer@example.com", "current_password": STRONG}))
        .await
        .unwrap();
    assert_eq!(again.status(), 429, "one change mail a minute");
    assert_eq!(again.headers()["retry-after"], "60");

    let notices = wait_for(&app, "old@example.com", 2).await;
    let notice = notices
        .iter()
        .find(|m| m.subject() == "Your email address is changing")
        .unwrap();
    assert!(
        notice.token("verify").is_none(),
        "the notice carries no link"
    );
    assert_eq!(
        me(&app, &token).await["email"],
        "old@example.com",
        "not before the link"
    );
    let link = link_token(&app, "new@example.com", "verify", 1).await;
    assert_eq!(
        post_json(&app, "/auth/email/verify", json!({"token": link}))
            .await
            .status(),
        204
    );
    let user = me(&app, &token).await;
    assert_eq!(
        (user["email"].clone(), user["email_verified"].clone()),
        (json!("new@example.com"), json!(true))
    );
    assert_eq!(app.login("new@example.com", STRONG).await.status(), 200);
    assert_eq!(app.login("old@example.com", STRONG).await.status(), 400);
}

#[tokio::test]
async fn a_login_needs_a_verified_address_when_required_and_says_so_only_to_its_owner() {
    let app = spawn_app_with(|s| s.auth.require_verified_email = true).await;
    assert_eq!(
        app.register("strict@example.com", STRONG).await.status(),
        201
    );
    let r = app.login("strict@example.com", STRONG).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("not verified")
    );
    let wrong: Value = app
        .login("strict@example.com", "wrong password entirely")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(wrong["error_description"], "Invalid username or password");
    let first = link_token(&app, "strict@example.com", "verify", 1).await;
    // A minute later (the sign-up's link made older), the refused login sends a fresh link,
    // which replaces the first.
    app.sql("UPDATE account_tokens SET created_at = '2000-01-01T00:00:00+00:00'")
        .await;
    assert_eq!(app.login("strict@example.com", STRONG).await.status(), 400);
    let link = link_token(&app, "strict@example.com", "verify", 2).await;
    assert_ne!(link, first);
    let stale = post_json(&app, "/auth/email/verify", json!({"token": first})).await;
    assert_problem(stale, 400).await;
    let page = app
        .client
        .post(app.url("/account/verify"))
        .form(&[("token", link.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Your address is verified.")
    );
    assert_eq!(app.login("strict@example.com", STRONG).await.status(), 200);
}

#[tokio::test]
async fn resends_are_one_a_minute_and_the_mail_budget_counts_per_address() {
    let app = spawn_app_with(|s| {
        s.rate_limit.mail =
            warden_adapters::settings::Rate::new(3, warden_adapters::settings::RatePeriod::Hour);
    })
    .await;
    let (_, token) = app.user_with_token("resend@example.com").await;
    let resend = || {
        app.with_token(Method::POST, "/auth/email/verify/resend", &token)
            .send()
    };
    // The sign-up's mail went a moment ago: one a minute per account.
    for _ in 0..2 {
        let r = resend().await.unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "60");
    }
    assert_eq!(
        post_json(
            &app,
            "/auth/password/forgot",
            json!({"email": "x@example.com"})
        )
        .await
        .status(),
        202
    );
    let over = post_json(
        &app,
        "/auth/password/forgot",
        json!({"email": "y@example.com"}),
    )
    .await;
    assert_eq!(over.status(), 429, "the fourth mail request of the hour");
    assert!(over.headers().contains_key("retry-after"));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(wait_for(&app, "resend@example.com", 1).await.len(), 1);
}

#[tokio::test]
async fn an_admin_sends_a_reset_link() {
    let app = spawn_app().await;
    let (_, admin) = app.admin_with_token("boss@example.com").await;
    let (user, _) = app.user_with_token("staff@example.com").await;
    let id = user["id"].as_str().unwrap();
    let r = app
        .with_token(
            Method::POST,
            &format!("/admin/users/{id}/password-reset"),
            &admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let link = link_token(&app, "staff@example.com", "reset", 2).await;
    let r = post_json(
        &app,
        "/auth/password/reset",
        json!({"token": link, "new_password": NEW}),
    )
    .await;
    assert_eq!(r.status(), 204);
    let unknown = app
        .with_token(
            Method::POST,
            "/admin/users/01970000-0000-7000-8000-000000000000/password-reset",
            &admin,
        )
        .send()
        .await
        .unwrap();
    assert_problem(unknown, 404).await;
}

#[tokio::test]
async fn without_mail_the_flows_answer_503_for_every_address_alike() {
    let app = spawn_app_with(|s| {
        s.mail.transport = Some(warden_adapters::settings::MailTransportKind::Off);
    })
    .await;
    let (user, token) = app.user_with_token("quiet@example.com").await;
    assert_eq!(user["email_verified"], false);
    for email in ["quiet@example.com", "nobody@example.com"] {
        let r = post_json(&app, "/auth/password/forgot", json!({"email": email})).await;
        assert_problem(r, 503).await;
    }
    let r = app
        .with_token(Method::POST, "/auth/email/verify/resend", &token)
        .send()
        .await
        .unwrap();
    assert_problem(r, 503).await;
    assert!(delivered(&app).is_empty());
}
