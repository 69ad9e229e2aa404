//! Lockout seen from outside: per client IP (as a trusted proxy reports it), unlock, and a
//! spoofed `X-Forwarded-For` that changes nothing without a trusted proxy.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{STRONG, TestApp, spawn_app, spawn_app_with};

async fn login_from(app: &TestApp, ip: &str, password: &str) -> (u16, String) {
    let r = app
        .client
        .post(app.url("/auth/token"))
        .header("x-forwarded-for", ip)
        .form(&[
            ("grant_type", "password"),
            ("username", "lock@example.com"),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn five_failures_lock_out_that_ip_only_and_an_admin_unlocks() {
    let app =
        spawn_app_with(|s| s.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let (_, admin) = app.admin_with_token("root@example.com").await;
    app.register("lock@example.com", STRONG).await;
    let (_, wrong_body) = login_from(&app, "203.0.113.1", "not the password 1").await;
    for _ in 0..4 {
        login_from(&app, "203.0.113.1", "not the password 1").await;
    }
    // Locked out: the right password gets exactly the wrong-password answer.
    let (status, body) = login_from(&app, "203.0.113.1", STRONG).await;
    assert_eq!((status, &body), (400, &wrong_body));
    // Another client IP is not locked out of the account.
    assert_eq!(login_from(&app, "203.0.113.2", STRONG).await.0, 200);

    let user = app
        .services
        .admin
        .get_by_email("lock@example.com")
        .await
        .unwrap();
    let r = app
        .with_token(
            Method::POST,
            &format!("/admin/users/{}/unlock", user.id),
            &admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(login_from(&app, "203.0.113.1", STRONG).await.0, 200);
    let missing = app
        .with_token(
            Method::POST,
            &format!("/admin/users/{}/unlock", uuid::Uuid::now_v7()),
            &admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn without_a_trusted_proxy_a_spoofed_forwarded_for_changes_nothing() {
    let app = spawn_app().await;
    app.register("lock@example.com", STRONG).await;
    // Each attempt claims another address; all come from 127.0.0.1 and count together.
    for n in 0..5 {
        login_from(&app, &format!("198.51.100.{n}"), "not the password 1").await;
    }
    let (status, body) = login_from(&app, "198.51.100.200", STRONG).await;
    assert_eq!(status, 400, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "invalid_grant");
}
