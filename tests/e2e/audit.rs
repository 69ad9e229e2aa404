//! `GET /admin/audit` over HTTP/1.1 and h2c, on SQLite and PostgreSQL: one scenario per area
//! (logins, sessions, administration, API keys) finds its events, with the client's IP and user
//! agent and never a secret; the filters, pages and bounds of the query.

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, STRONG, TestApp, assert_problem, spawn_app, spawn_app_on};
use crate::wire::h2c_client;

/// The events the query selects, as an admin reads them.
async fn trail(app: &TestApp, client: &Client, admin: &str, query: &str) -> Vec<Value> {
    let r = client
        .get(app.url(&format!("/admin/audit?{query}")))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{query}");
    let body: Value = r.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

async fn login_as(app: &TestApp, client: &Client, email: &str, password: &str) -> Value {
    client
        .post(app.url("/auth/token"))
        .header("user-agent", "audit-e2e/1.0")
        .form(&[
            ("grant_type", "password"),
            ("username", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn logins_and_sessions_leave_their_events_with_origin_and_no_secret() {
    for backend in Backend::available().await {
        let app = spawn_app_on(backend, |_| {}).await;
        let (_, admin) = app.admin_with_token("root@example.com").await;
        for (protocol, client) in [("http1", app.client.clone()), ("h2c", h2c_client())] {
            let ctx = format!("{backend:?} {protocol}");
            let email = format!("{protocol}@example.com");
            let (user, _) = app.user_with_token(&email).await;
            let id = user["id"].as_str().unwrap();
            let wrong = "a wrong password 123";
            let refused = login_as(&app, &client, &email, wrong).await;
            assert_eq!(refused["error"], "invalid_grant", "{ctx}");
            let pair = login_as(&app, &client, &email, STRONG).await;
            let access = pair["access_token"].as_str().unwrap();
            let refresh = pair["refresh_token"].as_str().unwrap();

            let events = trail(&app, &client, &admin, &format!("user={id}")).await;
            assert_eq!(
                types(&events)[..3],
                ["login.succeeded", "login.failed", "login.succeeded"],
                "{ctx}: newest first, the sign-up's login last"
            );
            let failed = &events[1];
            assert_eq!(failed["outcome"], "failure");
            assert_eq!(failed["subject"], id);
            assert_eq!(failed["actor"], json!({"kind": "anonymous", "id": null}));
            assert_eq!(failed["details"], json!({"reason": "wrong_password"}));
            assert_eq!(failed["ip"], "127.0.0.1");
            assert_eq!(failed["user_agent"], "audit-e2e/1.0");
            let session = events[0]["details"]["session_id"]
                .as_str()
                .unwrap()
                .to_owned();

            // The session ends by its owner; a reuse ends another.
            let path = format!("/users/me/sessions/{session}");
            let r = client
                .request(Method::DELETE, app.url(&path))
                .bearer_auth(access)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NO_CONTENT, "{ctx}");
            let again = login_as(&app, &client, &email, STRONG).await;
            let stolen = again["refresh_token"].as_str().unwrap();
            for _ in 0..2 {
                client
                    .post(app.url("/auth/token"))
                    .form(&[("grant_type", "refresh_token"), ("refresh_token", stolen)])
                    .send()
                    .await
                    .unwrap();
            }
            let events = trail(&app, &client, &admin, &format!("user={id}&limit=3")).await;
            assert_eq!(
                types(&events),
                ["refresh.reuse_detected", "login.succeeded", "session.ended"],
                "{ctx}"
            );
            assert_eq!(events[2]["details"]["session_id"], session.as_str());
            assert_eq!(events[2]["details"]["by"], "owner");
            assert_eq!(events[2]["actor"]["kind"], "user");

            // Nothing secret anywhere in the trail.
            let text = client
                .get(app.url("/admin/audit?limit=200"))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            for secret in [wrong, STRONG, access, refresh, stolen] {
                assert!(!text.contains(secret), "{ctx}: a secret in the trail");
            }
        }
    }
}

#[tokio::test]
async fn administration_and_api_keys_leave_their_events_naming_fields_not_values() {
    for backend in Backend::available().await {
        let app = spawn_app_on(backend, |_| {}).await;
        let (admin_user, admin) = app.admin_with_token("root@example.com").await;
        let (user, token) = app.user_with_token("member@example.com").await;
        let id = user["id"].as_str().unwrap();
        let client = app.client.clone();
        let r = client
            .patch(app.url(&format!("/admin/users/{id}")))
            .bearer_auth(&admin)
            .json(&json!({"role": "service", "display_name": "Confidential Name"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let made = app.create_key(&token, json!({"name": "ci"})).await;
        let key_id = made["id"].as_str().unwrap();
        let r = app
            .with_token(Method::DELETE, &format!("/api-keys/{key_id}"), &token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let r = client
            .delete(app.url(&format!("/admin/users/{id}")))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);

        // The account is gone; its events stay.
        let events = trail(&app, &client, &admin, &format!("user={id}&limit=5")).await;
        assert_eq!(
            types(&events),
            [
                "user.deleted",
                "api_key.revoked",
                "api_key.created",
                "user.updated",
                "login.succeeded"
            ],
            "{backend:?}"
        );
        let admin_id = admin_user["id"].as_str().unwrap();
        assert_eq!(events[0]["actor"], json!({"kind": "user", "id": admin_id}));
        assert_eq!(events[1]["details"]["key_id"], key_id);
        assert_eq!(events[2]["actor"], json!({"kind": "user", "id": id}));
        assert_eq!(
            events[3]["details"],
            json!({"fields": ["role", "display_name"]})
        );
        let text = serde_json::to_string(&events).unwrap();
        assert!(!text.contains("Confidential Name"));
        assert!(!text.contains(made["key"].as_str().unwrap()));

        // One type, one page at a time.
        let created = trail(
            &app,
            &client,
            &admin,
            &format!("type=user.created&user={id}"),
        )
        .await;
        assert_eq!(types(&created), ["user.created"]);
        assert_eq!(created[0]["details"]["via"], "registration");
        assert_eq!(
            created[0]["ip"], "127.0.0.1",
            "a sign-up keeps where it came from"
        );
    }
}

#[tokio::test]
async fn the_query_pages_by_cursor_and_refuses_what_is_out_of_bounds() {
    let app = spawn_app().await;
    let (_, admin) = app.admin_with_token("root@example.com").await;
    for n in 0..3 {
        app.login(&format!("nobody{n}@example.com"), STRONG).await;
        app.user_with_token(&format!("u{n}@example.com")).await;
    }
    let client = app.client.clone();
    let everything = trail(&app, &client, &admin, "limit=200").await;
    let mut paged = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let r = client
            .get(app.url(&format!("/admin/audit?{query}")))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        let body: Value = r.json().await.unwrap();
        paged.extend(body["items"].as_array().unwrap().clone());
        match body["next_cursor"].as_str() {
            Some(cursor) => query = format!("limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(paged, everything);
    // An unknown username is recorded without a subject (and without the name).
    let anonymous: Vec<&Value> = everything
        .iter()
        .filter(|e| e["type"] == "login.failed")
        .collect();
    assert_eq!(anonymous.len(), 3);
    assert!(anonymous.iter().all(|e| e["subject"].is_null()));
    assert!(
        !serde_json::to_string(&everything)
            .unwrap()
            .contains("nobody")
    );

    for bad in [
        "limit=0",
        "limit=201",
        "limit=ten",
        "type=LOGIN.FAILED",
        "type=login",
        "since=yesterday",
        "cursor=not-a-uuid",
        "user=42",
    ] {
        let r = client
            .get(app.url(&format!("/admin/audit?{bad}")))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        let body = assert_problem(r, 422).await;
        assert!(!body.to_string().contains("LOGIN.FAILED"), "never echoed");
    }
    // A range that ends before it starts selects nothing; it is no error.
    let backwards = "since=2026-12-07T10:00:00Z&until=2026-12-07T09:59:59Z";
    assert!(trail(&app, &client, &admin, backwards).await.is_empty());
    let edges = trail(&app, &client, &admin, "limit=1").await;
    assert_eq!(edges.len(), 1);
    assert_eq!(
        trail(&app, &client, &admin, "limit=200").await.len(),
        everything.len()
    );
}
