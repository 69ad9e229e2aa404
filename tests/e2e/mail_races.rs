//! Races of the flows by mail, on SQLite and PostgreSQL, over HTTP/1.1 and h2c at once: one
//! reset link used by many requests sets the password exactly once, one verification link
//! verifies exactly once, and many requests for a reset mail of one account queue exactly one.

use serde_json::json;

use crate::helpers::{Backend, STRONG, spawn_app_on};
use crate::inbox::{delivered, link_token, wait_for};
use crate::wire::h2c_client;

/// Posts `body` to `path` from `n` requests at once, alternating HTTP/1.1 and h2c; the statuses.
async fn at_once(
    app: &crate::helpers::TestApp,
    path: &str,
    body: serde_json::Value,
    n: usize,
) -> Vec<u16> {
    let h2 = h2c_client();
    let mut requests = Vec::new();
    for i in 0..n {
        let client = if i % 2 == 0 {
            app.client.clone()
        } else {
            h2.clone()
        };
        let (url, body) = (app.url(path), body.clone());
        requests.push(tokio::spawn(async move {
            client
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for r in requests {
        statuses.push(r.await.unwrap());
    }
    statuses.sort_unstable();
    statuses
}

#[tokio::test]
async fn one_reset_link_used_at_once_sets_the_password_exactly_once() {
    for backend in Backend::available().await {
        let app = spawn_app_on(backend, |_| {}).await;
        app.user_with_token("racer@example.com").await;
        app.client
            .post(app.url("/auth/password/forgot"))
            .json(&json!({"email": "racer@example.com"}))
            .send()
            .await
            .unwrap();
        let link = link_token(&app, "racer@example.com", "reset", 2).await;
        let body = json!({"token": link, "new_password": "another long passphrase 77"});
        let statuses = at_once(&app, "/auth/password/reset", body, 6).await;
        assert_eq!(statuses, [204, 400, 400, 400, 400, 400], "{backend:?}");
        assert_eq!(
            app.login("racer@example.com", STRONG).await.status(),
            400,
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn one_verification_link_used_at_once_verifies_exactly_once() {
    for backend in Backend::available().await {
        let app = spawn_app_on(backend, |_| {}).await;
        app.user_with_token("twice@example.com").await;
        let link = link_token(&app, "twice@example.com", "verify", 1).await;
        let statuses = at_once(&app, "/auth/email/verify", json!({"token": link}), 6).await;
        assert_eq!(statuses, [204, 400, 400, 400, 400, 400], "{backend:?}");
    }
}

#[tokio::test]
async fn many_reset_requests_for_one_account_at_once_queue_one_mail() {
    for backend in Backend::available().await {
        let app = spawn_app_on(backend, |_| {}).await;
        app.user_with_token("flood@example.com").await;
        for spelling in [
            "flood@example.com",
            "FLOOD@example.com",
            " Flood@Example.COM ",
        ] {
            let statuses =
                at_once(&app, "/auth/password/forgot", json!({"email": spelling}), 4).await;
            assert_eq!(statuses, [202; 4], "{backend:?}");
        }
        wait_for(&app, "flood@example.com", 2).await;
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        let resets = delivered(&app)
            .into_iter()
            .filter(|m| m.is_to("flood@example.com") && m.token("reset").is_some())
            .count();
        assert_eq!(resets, 1, "{backend:?}: one mail a minute per account");
    }
}
