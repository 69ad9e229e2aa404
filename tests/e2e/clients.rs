//! OAuth clients end to end, on SQLite and PostgreSQL: the registry, client authentication by
//! either method (over HTTP/1.1 and h2c, many at once), the `client_credentials` grant, and
//! what a client's token may and may not do.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_problem, spawn_app_on};
use crate::wire::h2c_client;

const BASIC: &str = "Basic realm=\"warden\", charset=\"UTF-8\"";

fn machine(name: &str) -> Value {
    json!({
        "name": name,
        "redirect_uris": [],
        "public": false,
        "first_party": false,
        "grant_types": ["client_credentials"],
        "scopes": ["read:orders", "write:orders"],
        "audience": "https://api.example",
    })
}

/// Registers `body` as the admin; the created client.
async fn register(app: &TestApp, admin: &str, body: &Value) -> Value {
    let r = app
        .with_token(Method::POST, "/admin/clients", admin)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["cache-control"], "no-store");
    r.json().await.unwrap()
}

fn form_post(client: &reqwest::Client, app: &TestApp, path: &str) -> reqwest::RequestBuilder {
    client.post(app.url(path))
}

/// A `client_credentials` request by HTTP Basic: its status and body.
async fn by_basic(app: &TestApp, id: &str, secret: &str, scope: Option<&str>) -> (u16, Value) {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend(scope.map(|s| ("scope", s)));
    let r = form_post(&app.client, app, "/auth/token")
        .basic_auth(id, Some(secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    if status == 401 {
        assert_eq!(r.headers()["www-authenticate"], BASIC);
    }
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn a_confidential_client_gets_its_own_token_by_either_method_and_only_by_its_secret() {
    for backend in Backend::available().await {
        let app = spawn_app_on(backend, |_| {}).await;
        let (_, admin) = app.admin_with_token("admin@example.com").await;
        let made = register(&app, &admin, &machine("billing")).await;
        let id = made["client_id"].as_str().unwrap().to_owned();
        let secret = made["client_secret"].as_str().unwrap().to_owned();
        assert_eq!(secret.len(), 43);
        assert_eq!(made["grant_types"], json!(["client_credentials"]));
        let shown = app
            .with_token(Method::GET, &format!("/admin/clients/{id}"), &admin)
            .send()
            .await
            .unwrap();
        let shown: Value = shown.json().await.unwrap();
        assert!(shown.get("client_secret").is_none(), "{shown}");
        assert_eq!(shown["audience"], "https://api.example");

        let (status, body) = by_basic(&app, &id, &secret, Some("read:orders")).await;
        assert_eq!(status, 200, "{backend:?} {body}");
        assert_eq!(body["scope"], "read:orders");
        assert!(body.get("refresh_token").is_none(), "{body}");
        // RFC 6749 §2.3.1: the parts are form-urlencoded before base64.
        let encoded = id.replace('-', "%2D");
        assert_eq!(by_basic(&app, &encoded, &secret, None).await.0, 200);
        let posted = form_post(&app.client, &app, "/auth/token")
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id.as_str()),
                ("client_secret", secret.as_str()),
            ])
            .send()
            .await
            .unwrap();
        let posted: Value = posted.json().await.unwrap();
        assert_eq!(posted["scope"], "read:orders write:orders");

        let other = register(&app, &admin, &machine("other")).await;
        let other_secret = other["client_secret"].as_str().unwrap();
        for wrong in [
            other_secret.to_owned(),
            secret.to_uppercase(),
            format!("{secret} "),
            secret[..42].to_owned(),
            String::new(),
        ] {
            let (status, body) = by_basic(&app, &id, &wrong, None).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (401, Some("invalid_client"))
            );
        }
        let both = form_post(&app.client, &app, "/auth/token")
            .basic_auth(&id, Some(&secret))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_secret", &secret),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(both.status(), 400);
        let both: Value = both.json().await.unwrap();
        assert_eq!(both["error"], "invalid_request");
        many_at_once(&app, &id, &secret).await;
    }
}

/// Sixteen token requests at once, half over h2c, half with a wrong secret: exactly the right
/// ones get a token.
async fn many_at_once(app: &TestApp, id: &str, secret: &str) {
    let h2 = h2c_client();
    let mut requests = Vec::new();
    for i in 0..16 {
        let client = if i % 2 == 0 {
            app.client.clone()
        } else {
            h2.clone()
        };
        let secret = if i % 4 < 2 {
            secret.to_owned()
        } else {
            format!("{secret}x")
        };
        let (url, id) = (app.url("/auth/token"), id.to_owned());
        requests.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap();
            (i % 4 < 2, r.status().as_u16())
        }));
    }
    for r in requests {
        let (right, status) = r.await.unwrap();
        assert_eq!(status, if right { 200 } else { 401 });
    }
}

/// Introspects `token` with the client's Basic credentials: the status and body.
async fn introspect(app: &TestApp, id: &str, secret: Option<&str>, token: &str) -> (u16, Value) {
    let r = form_post(&app.client, app, "/auth/introspect")
        .basic_auth(id, secret)
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    if status == 401 {
        assert_eq!(r.headers()["www-authenticate"], BASIC);
    }
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn a_client_token_is_no_user_credential_and_is_active_while_its_client_lives() {
    for backend in Backend::available().await {
        let app = spawn_app_on(backend, |_| {}).await;
        let (admin_user, admin) = app.admin_with_token("admin@example.com").await;
        let made = register(&app, &admin, &machine("billing")).await;
        let (id, secret) = (
            made["client_id"].as_str().unwrap().to_owned(),
            made["client_secret"].as_str().unwrap().to_owned(),
        );
        let (_, body) = by_basic(&app, &id, &secret, Some("write:orders")).await;
        let token = body["access_token"].as_str().unwrap().to_owned();
        for path in ["/users/me", "/admin/users", "/api-keys"] {
            let r = app.get_with_token(path, &token).await;
            assert_eq!(r.status(), 401, "{path}");
        }
        let (status, seen) = introspect(&app, &id, Some(&secret), &token).await;
        assert_eq!(status, 200);
        assert_eq!(seen["active"], true);
        assert_eq!(
            (seen["client_id"].as_str(), seen["sub"].as_str()),
            (Some(id.as_str()), Some(id.as_str()))
        );
        assert_eq!(seen["scope"], "write:orders");
        assert_eq!(seen["aud"], "https://api.example");
        let (_, user) = introspect(&app, &id, Some(&secret), &admin).await;
        assert_eq!(user["sub"], admin_user["id"]);
        let (_, junk) = introspect(&app, &id, Some(&secret), "not-a-token").await;
        assert_eq!(junk, json!({"active": false}));
        assert_eq!(introspect(&app, &id, Some("wrong"), &token).await.0, 401);
        assert_eq!(introspect(&app, &id, None, &token).await.0, 401);
        let bare = form_post(&app.client, &app, "/auth/introspect")
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(bare.headers()["www-authenticate"], BASIC);
        assert_problem(bare, 401).await;

        let narrowed = app
            .with_token(Method::PATCH, &format!("/admin/clients/{id}"), &admin)
            .json(&json!({"grant_types": ["password"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(narrowed.status(), 200);
        let (_, gone) = introspect(&app, &id, Some(&secret), &token).await;
        assert_eq!(gone, json!({"active": false}), "{backend:?}");
        let deleted = app
            .with_token(Method::DELETE, &format!("/admin/clients/{id}"), &admin)
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), 204);
        assert_eq!(by_basic(&app, &id, &secret, None).await.0, 401);
        let audit = app
            .get_with_token("/admin/audit?type=client.created", &admin)
            .await;
        let audit: Value = audit.json().await.unwrap();
        assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
    }
}

#[tokio::test]
async fn each_client_has_only_its_grants_and_scopes() {
    for backend in Backend::available().await {
        let app = spawn_app_on(backend, |_| {}).await;
        let (_, admin) = app.admin_with_token("admin@example.com").await;
        let made = register(&app, &admin, &machine("billing")).await;
        let (id, secret) = (
            made["client_id"].as_str().unwrap(),
            made["client_secret"].as_str().unwrap(),
        );
        let (status, body) = by_basic(&app, id, secret, Some("read:orders admin")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_scope"))
        );
        let login = form_post(&app.client, &app, "/auth/token")
            .basic_auth(id, Some(secret))
            .form(&[
                ("grant_type", "password"),
                ("username", "admin@example.com"),
                ("password", crate::helpers::STRONG),
            ])
            .send()
            .await
            .unwrap();
        let login: Value = login.json().await.unwrap();
        assert_eq!(login["error"], "unauthorized_client", "{backend:?}");
        let mut spa = machine("web");
        spa["public"] = json!(true);
        spa["grant_types"] = json!(["authorization_code", "password"]);
        spa["redirect_uris"] = json!(["https://app.example/cb"]);
        let spa = register(&app, &admin, &spa).await;
        assert!(spa.get("client_secret").is_none());
        let spa_id = spa["client_id"].as_str().unwrap();
        let public = app
            .token(&[("grant_type", "client_credentials"), ("client_id", spa_id)])
            .await;
        let public: Value = public.json().await.unwrap();
        assert_eq!(public["error"], "unauthorized_client");
        let signed_in = app
            .token(&[
                ("grant_type", "password"),
                ("client_id", spa_id),
                ("username", "admin@example.com"),
                ("password", crate::helpers::STRONG),
            ])
            .await;
        assert_eq!(
            signed_in.status(),
            200,
            "a public client allowed the password grant"
        );
        let with_secret = app
            .token(&[
                ("grant_type", "password"),
                ("client_id", spa_id),
                ("client_secret", "x"),
            ])
            .await;
        assert_eq!(
            with_secret.status(),
            401,
            "a public client has no secret to send"
        );
    }
}

#[tokio::test]
async fn a_bad_registration_is_refused_whole_and_stores_nothing() {
    let app = spawn_app_on(Backend::Sqlite, |_| {}).await;
    let (_, admin) = app.admin_with_token("admin@example.com").await;
    let mut bad = machine("");
    bad["public"] = json!(true);
    bad["redirect_uris"] = json!(["https://app.example/cb#x", "http://evil.example/cb"]);
    let r = app
        .with_token(Method::POST, "/admin/clients", &admin)
        .json(&bad)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(r, 422).await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 3, "{problem}");
    let mut unknown = machine("x");
    unknown["secret"] = json!("chosen");
    let r = app
        .with_token(Method::POST, "/admin/clients", &admin)
        .json(&unknown)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    let list = app.get_with_token("/admin/clients", &admin).await;
    let list: Value = list.json().await.unwrap();
    assert_eq!(list, json!({"items": []}));
}

#[tokio::test]
async fn an_empty_basic_header_is_no_client_as_swagger_ui_sends_it() {
    let app = spawn_app_on(Backend::Sqlite, |_| {}).await;
    app.user_with_token("swagger@example.com").await;
    let r = form_post(&app.client, &app, "/auth/token")
        .header("authorization", "Basic Og==")
        .form(&[
            ("grant_type", "password"),
            ("username", "swagger@example.com"),
            ("password", crate::helpers::STRONG),
            ("scope", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let half = form_post(&app.client, &app, "/auth/token")
        .basic_auth("", Some("secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(half.status(), 401, "a secret without an id");
}

#[tokio::test]
async fn a_session_started_for_a_client_is_refreshed_by_that_client_alone() {
    for backend in Backend::available().await {
        let app = spawn_app_on(backend, |_| {}).await;
        let (_, admin) = app.admin_with_token("admin@example.com").await;
        let mut spa = machine("web");
        spa["public"] = json!(true);
        spa["grant_types"] = json!(["password", "refresh_token"]);
        let spa = register(&app, &admin, &spa).await;
        let id = spa["client_id"].as_str().unwrap().to_owned();
        let id = id.as_str();
        let login = [
            ("grant_type", "password"),
            ("username", "admin@example.com"),
            ("password", crate::helpers::STRONG),
            ("client_id", id),
        ];
        let theirs: Value = app.token(&login).await.json().await.unwrap();
        let theirs = theirs["refresh_token"].as_str().unwrap().to_owned();
        let ours: Value = app.token(&login[..3]).await.json().await.unwrap();
        let ours = ours["refresh_token"].as_str().unwrap().to_owned();
        let refresh = |token: &str, client: Option<&str>| {
            let mut form = vec![
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", token.to_owned()),
            ];
            form.extend(client.map(|c| ("client_id", c.to_owned())));
            form_post(&app.client, &app, "/auth/token")
                .form(&form)
                .send()
        };
        for (token, client) in [
            (&theirs, None),
            (&theirs, Some("someone-else")),
            (&ours, Some(id)),
        ] {
            let r = refresh(token, client).await.unwrap();
            assert_eq!(r.status(), 400, "{backend:?} {client:?}");
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"], "invalid_grant");
        }
        let r = refresh(&theirs, Some(id)).await.unwrap();
        assert_eq!(r.status(), 200, "{backend:?}: the refusals changed nothing");
        assert_eq!(refresh(&ours, None).await.unwrap().status(), 200);
        let logins = app
            .get_with_token("/admin/audit?type=login.succeeded", &admin)
            .await;
        let logins: Value = logins.json().await.unwrap();
        let named: Vec<&Value> = logins["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["details"].get("client_id"))
            .collect();
        assert_eq!(named, [&json!(id)], "only the client's login names it");
    }
}

#[tokio::test]
async fn a_rotated_secret_works_at_once_and_the_old_one_no_more() {
    let app = spawn_app_on(Backend::Sqlite, |_| {}).await;
    let (_, admin) = app.admin_with_token("admin@example.com").await;
    let made = register(&app, &admin, &machine("billing")).await;
    let (id, old) = (
        made["client_id"].as_str().unwrap(),
        made["client_secret"].as_str().unwrap(),
    );
    let r = app
        .with_token(Method::POST, &format!("/admin/clients/{id}/secret"), &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let rotated: Value = r.json().await.unwrap();
    let new = rotated["client_secret"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(by_basic(&app, id, old, None).await.0, 401);
    assert_eq!(by_basic(&app, id, new, None).await.0, 200);
    let mut spa = machine("web");
    spa["public"] = json!(true);
    spa["grant_types"] = json!(["password"]);
    let spa = register(&app, &admin, &spa).await;
    let spa_id = spa["client_id"].as_str().unwrap();
    let r = app
        .with_token(
            Method::POST,
            &format!("/admin/clients/{spa_id}/secret"),
            &admin,
        )
        .send()
        .await
        .unwrap();
    assert_problem(r, 422).await;
}
