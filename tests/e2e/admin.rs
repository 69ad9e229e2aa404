//! Administration: the role guard, pagination, changes, the last-admin rule, introspection.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{STRONG, assert_problem, assert_unauthorized, spawn_app};

#[tokio::test]
async fn a_user_gets_403_on_every_admin_endpoint_and_nothing_changes() {
    let app = spawn_app().await;
    let (target, _) = app.user_with_token("target@example.com").await;
    let (_, token) = app.user_with_token("plain@example.com").await;
    let id = target["id"].as_str().unwrap();
    let calls: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/admin/users".into(), None),
        (
            Method::POST,
            "/admin/users".into(),
            Some(json!({"email": "x@example.com", "password": STRONG, "role": "admin"})),
        ),
        (Method::GET, format!("/admin/users/{id}"), None),
        (
            Method::PATCH,
            format!("/admin/users/{id}"),
            Some(json!({"role": "admin"})),
        ),
        (Method::DELETE, format!("/admin/users/{id}"), None),
    ];
    for (method, path, body) in calls {
        let mut req = app.with_token(method.clone(), &path, &token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let problem = assert_problem(req.send().await.unwrap(), 403).await;
        assert_eq!(
            problem["detail"], "Insufficient permissions",
            "{method} {path}"
        );
    }
    let r = app
        .with_token(Method::POST, "/auth/introspect", &token)
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_problem(r, 403).await;
    assert!(
        app.services
            .admin
            .get_by_email(&crate::helpers::operator(), "x@example.com")
            .await
            .is_err()
    );
    let still = app
        .services
        .admin
        .get_by_email(&crate::helpers::operator(), "target@example.com")
        .await
        .unwrap();
    assert_eq!(still.role.as_str(), "user");
    // Without credentials it is 401, not 403.
    assert_unauthorized(app.get("/admin/users").await, "Bearer").await;
}

#[tokio::test]
async fn users_are_listed_by_cursor_with_bounded_limits() {
    let app = spawn_app().await;
    let (_, admin) = app.admin_with_token("root@example.com").await;
    for i in 0..4 {
        app.register(&format!("p{i}@example.com"), STRONG).await;
    }
    let mut seen = Vec::new();
    let mut path = "/admin/users?limit=2".to_owned();
    loop {
        let page: Value = app
            .with_token(Method::GET, &path, &admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|u| u["email"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/admin/users?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "root@example.com",
            "p0@example.com",
            "p1@example.com",
            "p2@example.com",
            "p3@example.com"
        ]
    );
    for bad in ["limit=0", "limit=201"] {
        let r = app
            .with_token(Method::GET, &format!("/admin/users?{bad}"), &admin)
            .send()
            .await
            .unwrap();
        assert_problem(r, 422).await;
    }
    let r = app
        .with_token(Method::GET, "/admin/users?cursor=not-a-uuid", &admin)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    let default: Value = app
        .with_token(Method::GET, "/admin/users", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(default["items"].as_array().unwrap().len(), 5);
    assert!(default["next_cursor"].is_null());
}

#[tokio::test]
async fn admins_create_read_change_and_delete_users() {
    let app = spawn_app().await;
    let (_, admin) = app.admin_with_token("root@example.com").await;
    let r = app
        .with_token(Method::POST, "/admin/users", &admin)
        .json(&json!({"email": "svc@example.com", "password": STRONG, "role": "service", "display_name": "Robot"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let svc: Value = r.json().await.unwrap();
    assert_eq!(
        (svc["role"].as_str(), svc["display_name"].as_str()),
        (Some("service"), Some("Robot"))
    );
    let id = svc["id"].as_str().unwrap();
    let path = format!("/admin/users/{id}");

    let again = app
        .with_token(Method::POST, "/admin/users", &admin)
        .json(&json!({"email": "SVC@example.com", "password": STRONG, "role": "user"}))
        .send()
        .await
        .unwrap();
    assert_problem(again, 409).await;
    let weak = app
        .with_token(Method::POST, "/admin/users", &admin)
        .json(&json!({"email": "w@example.com", "password": "password", "role": "user"}))
        .send()
        .await
        .unwrap();
    assert_problem(weak, 422).await;

    let got: Value = app
        .with_token(Method::GET, &path, &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["email"], "svc@example.com");

    let patch = |body: Value| {
        app.with_token(Method::PATCH, &path, &admin)
            .json(&body)
            .send()
    };
    let same: Value = patch(json!({})).await.unwrap().json().await.unwrap();
    assert_eq!(same, got, "{{}} is a no-op");
    assert_problem(patch(json!({"rol": "admin"})).await.unwrap(), 422).await;
    let changed: Value = patch(json!({"role": "user", "display_name": null}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(changed["role"], "user");
    assert!(changed["display_name"].is_null());

    let r = app
        .with_token(Method::DELETE, &path, &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_problem(
        app.with_token(Method::GET, &path, &admin)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let r = app
        .with_token(Method::GET, "/admin/users/not-a-uuid", &admin)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
}

#[tokio::test]
async fn disabling_a_user_fails_their_token_on_the_next_request() {
    let app = spawn_app().await;
    let (_, admin) = app.admin_with_token("root@example.com").await;
    let (user, token) = app.user_with_token("victim@example.com").await;
    assert_eq!(app.get_with_token("/users/me", &token).await.status(), 200);
    let path = format!("/admin/users/{}", user["id"].as_str().unwrap());
    let r = app
        .with_token(Method::PATCH, &path, &admin)
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_unauthorized(
        app.get_with_token("/users/me", &token).await,
        "Bearer error=\"invalid_token\"",
    )
    .await;
}

#[tokio::test]
async fn the_last_enabled_admin_cannot_demote_disable_or_delete_itself() {
    let app = spawn_app().await;
    let (root, admin) = app.admin_with_token("root@example.com").await;
    let path = format!("/admin/users/{}", root["id"].as_str().unwrap());
    for body in [json!({"role": "user"}), json!({"disabled": true})] {
        let r = app
            .with_token(Method::PATCH, &path, &admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_problem(r, 409).await;
    }
    assert_problem(
        app.with_token(Method::DELETE, &path, &admin)
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;
    let me: Value = app
        .get_with_token("/users/me", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["role"].as_str(), me["disabled"].as_bool()),
        (Some("admin"), Some(false))
    );
}

#[tokio::test]
async fn introspection_reports_live_tokens_and_nothing_else() {
    let app = spawn_app().await;
    let (svc, service) = app
        .user_with_role("svc@example.com", warden_domain::user::Role::Service)
        .await;
    let (user, token) = app.user_with_token("who@example.com").await;
    let introspect = |t: &str| {
        app.with_token(Method::POST, "/auth/introspect", &service)
            .form(&[("token", t)])
            .send()
    };
    let r = introspect(&token).await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], user["id"]);
    assert_eq!(
        (body["iss"].as_str(), body["aud"].as_str()),
        (Some("warden"), Some("warden"))
    );
    assert_eq!(
        (body["role"].as_str(), body["token_type"].as_str()),
        (Some("user"), Some("access_token"))
    );
    assert!(body["exp"].as_i64().unwrap() > body["iat"].as_i64().unwrap());
    for dead in ["forged.token.here", "", "x"] {
        let r = introspect(dead).await.unwrap();
        if dead.is_empty() {
            assert_problem(r, 400).await;
        } else {
            assert_eq!(r.json::<Value>().await.unwrap(), json!({"active": false}));
        }
    }
    // After the user's password change the old token is inactive.
    assert_eq!(
        app.change_password(&token, STRONG, "a fresh passphrase for who 5")
            .await
            .status(),
        204
    );
    assert_eq!(
        introspect(&token)
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap(),
        json!({"active": false})
    );
    assert!(svc["id"].is_string());
}
