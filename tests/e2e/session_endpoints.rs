//! `/users/me/sessions` and `/admin/users/{id}/sessions` over HTTP/1.1 and h2c, on SQLite and
//! PostgreSQL: what a login records, that ending a session (or a refresh-token reuse) stops its
//! access token on the very next request, and that no spelling of another user's session id
//! reaches it.

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;

use crate::helpers::{
    Backend, STRONG, TestApp, assert_problem, assert_unauthorized, spawn_app, spawn_app_on,
};
use crate::wire::h2c_client;

const INVALID: &str = "Bearer error=\"invalid_token\"";

/// A login with this user agent: (access token, refresh token).
async fn login_as(app: &TestApp, client: &Client, email: &str, agent: &str) -> (String, String) {
    let r = client
        .post(app.url("/auth/token"))
        .header("user-agent", agent)
        .form(&[
            ("grant_type", "password"),
            ("username", email),
            ("password", STRONG),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn call(
    app: &TestApp,
    client: &Client,
    method: Method,
    path: &str,
    token: &str,
) -> reqwest::Response {
    client
        .request(method, app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn sessions(app: &TestApp, client: &Client, path: &str, token: &str) -> Vec<Value> {
    let r = call(app, client, Method::GET, path, token).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

async fn refresh(app: &TestApp, client: &Client, token: &str) -> reqwest::Response {
    client
        .post(app.url("/auth/token"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_thief_who_refreshed_first_loses_its_access_token_when_the_owner_reuses() {
    for backend in Backend::available().await {
        let app = spawn_app_on(backend, |_| {}).await;
        app.user_with_token("owner@example.com").await;
        for (protocol, client) in [("http1", app.client.clone()), ("h2c", h2c_client())] {
            let (owner_access, stolen) =
                login_as(&app, &client, "owner@example.com", "owner-app").await;
            let (_, other_login) = login_as(&app, &client, "owner@example.com", "other-app").await;
            // The thief refreshes first and gets a working pair.
            let r = refresh(&app, &client, &stolen).await;
            assert_eq!(r.status(), 200, "{backend:?} {protocol}");
            let thief: Value = r.json().await.unwrap();
            let thief_access = thief["access_token"].as_str().unwrap();
            let me = call(&app, &client, Method::GET, "/users/me", thief_access).await;
            assert_eq!(me.status(), 200, "{backend:?} {protocol}");
            // The owner's refresh is a reuse: the family is revoked...
            let r = refresh(&app, &client, &stolen).await;
            assert_eq!(r.status(), 400, "{backend:?} {protocol}");
            // ...and the thief's access token is 401 on its next request, as is the owner's.
            for token in [thief_access, owner_access.as_str()] {
                let me = call(&app, &client, Method::GET, "/users/me", token).await;
                assert_unauthorized(me, INVALID).await;
            }
            // The owner's other login goes on.
            assert_eq!(refresh(&app, &client, &other_login).await.status(), 200);
        }
    }
}

#[tokio::test]
async fn the_owner_lists_its_sessions_and_ending_one_stops_its_token_at_once() {
    for backend in Backend::available().await {
        let app = spawn_app_on(backend, |_| {}).await;
        app.user_with_token("lister@example.com").await;
        for (protocol, client) in [("http1", app.client.clone()), ("h2c", h2c_client())] {
            let ctx = format!("{backend:?} {protocol}");
            let (phone, _) = login_as(&app, &client, "lister@example.com", "phone/1.0").await;
            let (laptop, _) = login_as(&app, &client, "lister@example.com", "laptop\t/2").await;
            let listed = sessions(&app, &client, "/users/me/sessions", &laptop).await;
            let current: Vec<&Value> = listed.iter().filter(|s| s["current"] == true).collect();
            assert_eq!(current.len(), 1, "{ctx}");
            assert_eq!(
                current[0]["user_agent"], "laptop/2",
                "{ctx}: control characters dropped"
            );
            assert_eq!(current[0]["ip"], "127.0.0.1", "{ctx}");
            assert!(current[0]["last_used_at"].is_null(), "{ctx}");
            let phone_session = listed
                .iter()
                .find(|s| s["user_agent"] == "phone/1.0")
                .unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();

            let path = format!("/users/me/sessions/{phone_session}");
            let r = call(&app, &client, Method::DELETE, &path, &laptop).await;
            assert_eq!(r.status(), StatusCode::NO_CONTENT, "{ctx}");
            let me = call(&app, &client, Method::GET, "/users/me", &phone).await;
            assert_unauthorized(me, INVALID).await;
            let me = call(&app, &client, Method::GET, "/users/me", &laptop).await;
            assert_eq!(me.status(), 200, "{ctx}");
            // Ended: the same 404 as any unknown id.
            let again = call(&app, &client, Method::DELETE, &path, &laptop).await;
            assert_problem(again, 404).await;

            // `others=true` ends every session but the caller's.
            let (tablet, _) = login_as(&app, &client, "lister@example.com", "tablet").await;
            let r = call(&app, &client, Method::DELETE, "/users/me/sessions", &laptop).await;
            assert_problem(r, 422).await;
            let r = call(
                &app,
                &client,
                Method::DELETE,
                "/users/me/sessions?others=true",
                &laptop,
            )
            .await;
            assert_eq!(r.status(), StatusCode::NO_CONTENT, "{ctx}");
            let me = call(&app, &client, Method::GET, "/users/me", &tablet).await;
            assert_unauthorized(me, INVALID).await;
            let left = sessions(&app, &client, "/users/me/sessions", &laptop).await;
            assert_eq!(left.len(), 1, "{ctx}");
            assert_eq!(left[0]["current"], true, "{ctx}");
            // Leave no session behind for the next protocol's counts.
            let r = call(&app, &client, Method::POST, "/auth/logout", &laptop).await;
            assert_eq!(r.status(), StatusCode::NO_CONTENT, "{ctx}");
        }
    }
}

#[tokio::test]
async fn no_spelling_of_another_users_session_reaches_it() {
    let app = spawn_app().await;
    let (_, victim) = app.user_with_token("victim@example.com").await;
    let (_, attacker) = app.user_with_token("attacker@example.com").await;
    let client = app.client.clone();
    let listed = sessions(&app, &client, "/users/me/sessions", &victim).await;
    let sid = listed[0]["id"].as_str().unwrap().to_owned();
    let spellings = [
        sid.clone(),
        sid.to_uppercase(),
        sid.replace('-', ""),
        format!("{{{sid}}}"),
        sid.replacen('-', "%2D", 1),
        format!("{sid}%00"),
        "not-a-uuid".to_owned(),
        "%F0%9F%92%A5".to_owned(),
        "0".repeat(600),
    ];
    for spelling in &spellings {
        let path = format!("/users/me/sessions/{spelling}");
        let r = call(&app, &client, Method::DELETE, &path, &attacker).await;
        assert_eq!(r.status(), 404, "{spelling}");
        let body = r.text().await.unwrap();
        assert!(!body.contains(&sid), "the id is never echoed: {body}");
    }
    let me = call(&app, &client, Method::GET, "/users/me", &victim).await;
    assert_eq!(me.status(), 200, "the victim's session is untouched");
    // Its owner may use any spelling that parses as its id.
    let path = format!("/users/me/sessions/{}", sid.to_uppercase());
    let r = call(&app, &client, Method::DELETE, &path, &victim).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn of_many_requests_ending_one_session_at_once_exactly_one_ends_it() {
    for backend in Backend::available().await {
        let app = spawn_app_on(backend, |_| {}).await;
        let (_, token) = app.user_with_token("racer@example.com").await;
        let (doomed, _) = login_as(&app, &app.client, "racer@example.com", "doomed").await;
        let listed = sessions(&app, &app.client, "/users/me/sessions", &token).await;
        let sid = listed.iter().find(|s| s["user_agent"] == "doomed").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("/users/me/sessions/{sid}");
        let h2 = h2c_client();
        let racers: Vec<_> = (0..16)
            .map(|i| {
                let client = if i % 2 == 0 {
                    app.client.clone()
                } else {
                    h2.clone()
                };
                let (url, token) = (app.url(&path), token.clone());
                tokio::spawn(async move {
                    let r = client.delete(url).bearer_auth(token).send().await.unwrap();
                    r.status().as_u16()
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for racer in racers {
            statuses.push(racer.await.unwrap());
        }
        statuses.sort_unstable();
        let mut expected = vec![204];
        expected.extend([404; 15]);
        assert_eq!(statuses, expected, "{backend:?}");
        let me = call(&app, &app.client, Method::GET, "/users/me", &doomed).await;
        assert_unauthorized(me, INVALID).await;
    }
}

#[tokio::test]
async fn an_admin_sees_and_ends_a_users_sessions_and_others_may_not() {
    let app = spawn_app().await;
    let (user, token) = app.user_with_token("member@example.com").await;
    let (_, admin) = app.admin_with_token("root@example.com").await;
    let (_, other) = app.user_with_token("other@example.com").await;
    let id = user["id"].as_str().unwrap();
    let path = format!("/admin/users/{id}/sessions");
    let client = app.client.clone();

    let r = call(&app, &client, Method::GET, &path, &other).await;
    assert_problem(r, 403).await;
    let listed = sessions(&app, &client, &path, &admin).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["current"], false, "not the admin's own");
    let sid = listed[0]["id"].as_str().unwrap();
    let one = format!("{path}/{sid}");
    let r = call(&app, &client, Method::DELETE, &one, &other).await;
    assert_problem(r, 403).await;
    let me = call(&app, &client, Method::GET, "/users/me", &token).await;
    assert_eq!(me.status(), 200);

    let r = call(&app, &client, Method::DELETE, &one, &admin).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let me = call(&app, &client, Method::GET, "/users/me", &token).await;
    assert_unauthorized(me, INVALID).await;
    // An unknown user, a malformed one, a session that is not this user's (or ended): 404.
    let unknown = "/admin/users/01970000-0000-7000-8000-000000000000/sessions";
    for path in [unknown, "/admin/users/nope/sessions"] {
        assert_problem(call(&app, &client, Method::GET, path, &admin).await, 404).await;
    }
    assert_problem(call(&app, &client, Method::DELETE, &one, &admin).await, 404).await;
    let (_, _) = login_as(&app, &client, "other@example.com", "x").await;
    let theirs = sessions(&app, &client, "/users/me/sessions", &other).await;
    let theirs = format!("{path}/{}", theirs[0]["id"].as_str().unwrap());
    assert_problem(
        call(&app, &client, Method::DELETE, &theirs, &admin).await,
        404,
    )
    .await;
}
