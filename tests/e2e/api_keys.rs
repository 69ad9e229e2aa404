//! API keys: shown once, bearer-only management, header or query use, revocation and expiry.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    STRONG, assert_problem, assert_unauthorized, captured_logs, spawn_app, spawn_app_with,
};

const INVALID: &str = "Bearer error=\"invalid_token\"";

#[tokio::test]
async fn a_key_is_shown_once_and_authenticates_its_owner_by_header_or_query() {
    let app = spawn_app().await;
    let (user, token) = app.user_with_token("kay@example.com").await;
    let made = app
        .create_key(&token, json!({"name": "deploy", "expires_in_days": 30}))
        .await;
    let key = made["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("wdn_") && key.len() >= 40, "{key}");
    assert!(key.starts_with(made["prefix"].as_str().unwrap()));
    assert!(made["expires_at"].is_string() && made["created_at"].is_string());

    let me: Value = app
        .with_key(Method::GET, "/users/me", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], user["id"]);
    let r = app
        .client
        .get(app.url(&format!("/users/me?api_key={key}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let list = app
        .with_token(Method::GET, "/api-keys", &token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !list.contains(&key[made["prefix"].as_str().unwrap().len()..]),
        "no secret in the listing: {list}"
    );
    let list: Value = serde_json::from_str(&list).unwrap();
    let entry = &list[0];
    assert!(entry.get("key").is_none());
    assert_eq!(entry["name"], "deploy");
    assert!(
        entry["last_used_at"].is_string(),
        "use was recorded: {entry}"
    );
    assert!(!captured_logs().contains(&key), "no key in the logs");
}

#[tokio::test]
async fn a_key_authenticates_with_the_owners_current_role() {
    let app = spawn_app().await;
    let (_, admin) = app.admin_with_token("root@example.com").await;
    let (user, token) = app.user_with_token("grow@example.com").await;
    let key = app.create_key(&token, json!({"name": "k"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_problem(
        app.with_key(Method::GET, "/admin/users", &key)
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    let path = format!("/admin/users/{}", user["id"].as_str().unwrap());
    app.with_token(Method::PATCH, &path, &admin)
        .json(&json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        app.with_key(Method::GET, "/admin/users", &key)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn a_key_never_makes_keys_nor_changes_the_password() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_token("safe@example.com").await;
    let key = app.create_key(&token, json!({"name": "k"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .with_key(Method::POST, "/api-keys", &key)
        .json(&json!({"name": "more"}))
        .send()
        .await
        .unwrap();
    assert_unauthorized(r, "Bearer").await;
    assert_unauthorized(
        app.with_key(Method::GET, "/api-keys", &key)
            .send()
            .await
            .unwrap(),
        "Bearer",
    )
    .await;
    let r = app
        .with_key(Method::PUT, "/users/me/password", &key)
        .json(&json!({"current_password": STRONG, "new_password": "a takeover passphrase 123"}))
        .send()
        .await
        .unwrap();
    assert_unauthorized(r, "Bearer").await;
    let keys: Value = app
        .with_token(Method::GET, "/api-keys", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert_eq!(app.login("safe@example.com", STRONG).await.status(), 200);
}

#[tokio::test]
async fn revoked_expired_and_unknown_keys_get_401_at_once() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_token("lose@example.com").await;
    let revoked = app.create_key(&token, json!({"name": "r"})).await;
    let expired = app
        .create_key(&token, json!({"name": "e", "expires_in_days": 1}))
        .await;
    let owner_off = app.create_key(&token, json!({"name": "d"})).await;
    let r = app
        .with_token(
            Method::DELETE,
            &format!("/api-keys/{}", revoked["id"].as_str().unwrap()),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_unauthorized(
        app.with_key(Method::GET, "/users/me", revoked["key"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
        INVALID,
    )
    .await;

    app.sql(&format!(
        "UPDATE api_keys SET expires_at = '2000-01-01 00:00:00+00:00' WHERE prefix = '{}'",
        expired["prefix"].as_str().unwrap()
    ))
    .await;
    assert_unauthorized(
        app.with_key(Method::GET, "/users/me", expired["key"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
        INVALID,
    )
    .await;

    let forged = format!(
        "{}{}",
        &owner_off["key"].as_str().unwrap()[..20],
        "A".repeat(43)
    );
    assert_unauthorized(
        app.with_key(Method::GET, "/users/me", &forged)
            .send()
            .await
            .unwrap(),
        INVALID,
    )
    .await;
    assert_unauthorized(
        app.with_key(Method::GET, "/users/me", "wdn_nothing")
            .send()
            .await
            .unwrap(),
        INVALID,
    )
    .await;
}

#[tokio::test]
async fn a_disabled_owners_key_gets_401_and_listings_show_live_keys_only() {
    let app = spawn_app().await;
    let (_, admin) = app.admin_with_token("root@example.com").await;
    let (user, token) = app.user_with_token("lose@example.com").await;
    let owner_off = app.create_key(&token, json!({"name": "d"})).await;
    let revoked = app.create_key(&token, json!({"name": "r"})).await;
    app.with_token(
        Method::DELETE,
        &format!("/api-keys/{}", revoked["id"].as_str().unwrap()),
        &token,
    )
    .send()
    .await
    .unwrap();
    let key = owner_off["key"].as_str().unwrap();
    assert_eq!(
        app.with_key(Method::GET, "/users/me", key)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let path = format!("/admin/users/{}", user["id"].as_str().unwrap());
    app.with_token(Method::PATCH, &path, &admin)
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_unauthorized(
        app.with_key(Method::GET, "/users/me", key)
            .send()
            .await
            .unwrap(),
        INVALID,
    )
    .await;
    // Listing shows live keys only.
    app.with_token(Method::PATCH, &path, &admin)
        .json(&json!({"disabled": false}))
        .send()
        .await
        .unwrap();
    let r = app.login("lose@example.com", STRONG).await;
    let fresh: Value = r.json().await.unwrap();
    let keys: Value = app
        .with_token(
            Method::GET,
            "/api-keys",
            fresh["access_token"].as_str().unwrap(),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 1, "{keys}");
}

#[tokio::test]
async fn the_query_parameter_is_ignored_when_turned_off() {
    let app = spawn_app_with(|s| s.api_keys.allow_query_param = false).await;
    let (_, token) = app.user_with_token("hdr@example.com").await;
    let key = app.create_key(&token, json!({"name": "k"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .client
        .get(app.url(&format!("/users/me?api_key={key}")))
        .send()
        .await
        .unwrap();
    assert_unauthorized(r, "Bearer").await;
    assert_eq!(
        app.with_key(Method::GET, "/users/me", &key)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn another_users_key_is_404_and_bad_expiries_are_422() {
    let app = spawn_app().await;
    let (_, alice) = app.user_with_token("alice@example.com").await;
    let (_, bob) = app.user_with_token("bob@example.com").await;
    let key = app.create_key(&alice, json!({"name": "a"})).await;
    let r = app
        .with_token(
            Method::DELETE,
            &format!("/api-keys/{}", key["id"].as_str().unwrap()),
            &bob,
        )
        .send()
        .await
        .unwrap();
    assert_problem(r, 404).await;
    assert_eq!(
        app.with_key(Method::GET, "/users/me", key["key"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    for days in [0, 3651] {
        let r = app
            .with_token(Method::POST, "/api-keys", &alice)
            .json(&json!({"name": "x", "expires_in_days": days}))
            .send()
            .await
            .unwrap();
        let body = assert_problem(r, 422).await;
        assert!(!body.to_string().contains("wdn_"));
    }
}
