//! Refresh rotation, reuse, revocation and logout over HTTP: which credentials still work after
//! each step.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{STRONG, TestApp, assert_unauthorized, spawn_app, spawn_app_with};

const INVALID: &str = "Bearer error=\"invalid_token\"";

/// A login's pair: (access token, refresh token).
async fn login_pair(app: &TestApp, email: &str) -> (String, String) {
    pair_of(app.login(email, STRONG).await).await
}

/// The pair of a 200 token response.
async fn pair_of(r: reqwest::Response) -> (String, String) {
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(
        body["expires_in"], 900,
        "a fresh access token's whole lifetime"
    );
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.token(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .await
}

/// Asserts the refresh grant refuses this token with `invalid_grant`.
async fn assert_refresh_refused(app: &TestApp, token: &str) {
    let r = refresh(app, token).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "{body}");
}

async fn revoke(app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url("/auth/revoke"))
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_refresh_returns_a_new_pair_and_the_old_refresh_token_stops_working() {
    let app = spawn_app().await;
    app.user_with_token("ruth@example.com").await;
    let (_, first) = login_pair(&app, "ruth@example.com").await;
    assert!(first.len() >= 43, "at least 256 bits");

    let r = refresh(&app, &first).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["expires_in"], 900,
        "a fresh access token's whole lifetime"
    );
    let access = body["access_token"].as_str().unwrap().to_owned();
    let second = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    let me: Value = app
        .get_with_token("/users/me", &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "ruth@example.com");

    assert_refresh_refused(&app, &first).await;
}

#[tokio::test]
async fn presenting_a_rotated_token_again_revokes_its_successor_but_not_other_logins() {
    let app = spawn_app().await;
    app.user_with_token("sam@example.com").await;
    let (_, stolen) = login_pair(&app, "sam@example.com").await;
    let (_, other_login) = login_pair(&app, "sam@example.com").await;
    let (_, successor) = pair_of(refresh(&app, &stolen).await).await;

    assert_refresh_refused(&app, &stolen).await;
    assert_refresh_refused(&app, &successor).await;
    assert_eq!(refresh(&app, &other_login).await.status(), 200);
}

#[tokio::test]
async fn within_the_grace_a_replay_gets_the_same_successor() {
    let app = spawn_app_with(|s| s.refresh.reuse_grace_seconds = 60).await;
    app.user_with_token("tia@example.com").await;
    let (_, first) = login_pair(&app, "tia@example.com").await;
    let (access, second) = pair_of(refresh(&app, &first).await).await;
    let (again_access, again) = pair_of(refresh(&app, &first).await).await;
    assert_eq!((again_access, again), (access, second.clone()));
    // The successor is live, and once used, the parent is a reuse even inside the grace.
    let (_, third) = pair_of(refresh(&app, &second).await).await;
    assert_refresh_refused(&app, &first).await;
    assert_refresh_refused(&app, &third).await;
}

#[tokio::test]
async fn revocation_ends_the_refresh_chain_and_answers_200_to_anything() {
    let app = spawn_app().await;
    app.user_with_token("uma@example.com").await;
    let (access, first) = login_pair(&app, "uma@example.com").await;
    let (_, second) = pair_of(refresh(&app, &first).await).await;

    let r = revoke(
        &app,
        &[("token", &first), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_refresh_refused(&app, &second).await;
    // The session has ended: its access tokens stop at once, not at their expiry.
    assert_unauthorized(app.get_with_token("/users/me", &access).await, INVALID).await;

    for unknown in ["made-up", access.as_str()] {
        assert_eq!(revoke(&app, &[("token", unknown)]).await.status(), 200);
    }
    let r = revoke(&app, &[("token_type_hint", "refresh_token")]).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn logout_cuts_off_both_kinds_of_token_of_every_login() {
    let app = spawn_app().await;
    app.user_with_token("val@example.com").await;
    let (access, refresh_token) = login_pair(&app, "val@example.com").await;
    let (other_access, other_refresh) = login_pair(&app, "val@example.com").await;

    let r = app
        .with_token(Method::POST, "/auth/logout", &access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    for token in [&access, &other_access] {
        assert_unauthorized(app.get_with_token("/users/me", token).await, INVALID).await;
    }
    for token in [&refresh_token, &other_refresh] {
        assert_refresh_refused(&app, token).await;
    }
    // A new login works as before.
    let (fresh, _) = login_pair(&app, "val@example.com").await;
    assert_eq!(app.get_with_token("/users/me", &fresh).await.status(), 200);
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions() {
    let app = spawn_app().await;
    app.user_with_token("wes@example.com").await;
    let (mine, my_refresh) = login_pair(&app, "wes@example.com").await;
    let (theirs, their_refresh) = login_pair(&app, "wes@example.com").await;

    let new = "a completely different passphrase 77";
    assert_eq!(app.change_password(&mine, STRONG, new).await.status(), 204);
    assert_unauthorized(app.get_with_token("/users/me", &theirs).await, INVALID).await;
    assert_refresh_refused(&app, &their_refresh).await;
    assert_refresh_refused(&app, &my_refresh).await;
    assert_eq!(app.login("wes@example.com", new).await.status(), 200);
}

#[tokio::test]
async fn a_disabled_users_refresh_token_is_refused() {
    let app = spawn_app().await;
    let (_, admin) = app.admin_with_token("root@example.com").await;
    let (user, _) = app.user_with_token("xia@example.com").await;
    let (_, refresh_token) = login_pair(&app, "xia@example.com").await;
    let r = app
        .with_token(
            Method::PATCH,
            &format!("/admin/users/{}", user["id"].as_str().unwrap()),
            &admin,
        )
        .json(&serde_json::json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_refresh_refused(&app, &refresh_token).await;
}

#[tokio::test]
async fn the_refresh_grant_names_its_missing_parameter_and_other_grants_are_unsupported() {
    let app = spawn_app().await;
    let r = app.token(&[("grant_type", "refresh_token")]).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("refresh_token")
    );
    let r = app.token(&[("grant_type", "implicit")]).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
}
