//! Lockout seen from outside: per client IP (as a trusted proxy reports it), unlock, a spoofed
//! `X-Forwarded-For` that changes nothing without a trusted proxy, and many wrong guesses at
//! once (logins and password changes, from one IP and from many) on SQLite and PostgreSQL.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{
    Backend, STRONG, TestApp, captured_logs, spawn_app, spawn_app_on, spawn_app_with,
};

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
        .get_by_email(&crate::helpers::operator(), "lock@example.com")
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

/// An app on this backend behind a trusted proxy at 127.0.0.1 (so `X-Forwarded-For` names the
/// client), with these lockout limits, and lock@example.com registered; the user's id.
async fn locked_app(backend: Backend, max_failures: u32, account_max: u32) -> (TestApp, String) {
    let app = spawn_app_on(backend, |s| {
        s.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        s.lockout.max_failures = max_failures;
        s.lockout.account_max_failures = account_max;
    })
    .await;
    let r = app.register("lock@example.com", STRONG).await;
    assert_eq!(r.status(), 201);
    let user: Value = r.json().await.unwrap();
    (app, user["id"].as_str().unwrap().to_owned())
}

/// A password-grant form as a client may spell it: `username` already form-encoded.
fn raw_form(username: &str, password: &str) -> String {
    let password = serde_urlencoded::to_string([("password", password)]).unwrap();
    format!("grant_type=password&username={username}&{password}")
}

/// Sends every form at once, the `i`-th from client IP `ip(i)`; the statuses.
async fn at_once(app: &TestApp, forms: Vec<String>, ip: impl Fn(usize) -> String) -> Vec<u16> {
    let requests = forms.into_iter().enumerate().map(|(i, form)| {
        app.client
            .post(app.url("/auth/token"))
            .header("x-forwarded-for", ip(i))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
    });
    let mut statuses = Vec::new();
    for r in all_at_once(requests).await {
        statuses.push(r.unwrap().status().as_u16());
    }
    statuses
}

/// Runs every future as its own task, all at once; their outputs in order.
async fn all_at_once<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// How many wrong passwords of this user the server verified, from its audit log.
fn verified_wrong(event: &str, user_id: &str) -> usize {
    captured_logs()
        .lines()
        .filter(|l| {
            l.contains("warden::audit")
                && l.contains(&format!("event=\"{event}\" "))
                && l.contains("outcome=\"wrong_password\"")
                && l.contains(user_id)
        })
        .count()
}

#[tokio::test]
async fn concurrent_wrong_guesses_from_one_ip_lock_it_at_the_limit_on_every_backend() {
    for backend in Backend::available().await {
        let (app, id) = locked_app(backend, 5, 100).await;
        // Every spelling of the address is the same account: case, spaces, percent-encoding.
        let spellings = [
            "lock@example.com",
            "LOCK@EXAMPLE.COM",
            "lock%40example.com",
            "Lock%40Example.Com",
            "+lock@example.com+",
        ];
        let forms = (0..25)
            .map(|i| raw_form(spellings[i % spellings.len()], "not the password 1"))
            .collect();
        let statuses = at_once(&app, forms, |_| "203.0.113.1".into()).await;
        assert_eq!(statuses, [400; 25], "{backend:?}");
        let (status, body) = login_from(&app, "203.0.113.1", STRONG).await;
        assert_eq!(status, 400, "{backend:?}: the right password is refused");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"], "invalid_grant");
        assert_eq!(
            verified_wrong("login", &id),
            5,
            "{backend:?}: only five wrong passwords were ever verified"
        );
        assert_eq!(login_from(&app, "203.0.113.2", STRONG).await.0, 200);
    }
}

#[tokio::test]
async fn concurrent_wrong_guesses_just_under_the_limit_leave_the_password_working() {
    for backend in Backend::available().await {
        let (app, _) = locked_app(backend, 5, 100).await;
        let forms = (0..4)
            .map(|_| raw_form("lock@example.com", "not the password 1"))
            .collect();
        assert_eq!(
            at_once(&app, forms, |_| "203.0.113.1".into()).await,
            [400; 4]
        );
        assert_eq!(
            login_from(&app, "203.0.113.1", STRONG).await.0,
            200,
            "{backend:?}: the fifth attempt is still verified"
        );
    }
}

#[tokio::test]
async fn concurrent_wrong_guesses_from_many_ips_lock_the_account_at_its_limit() {
    for backend in Backend::available().await {
        let (app, id) = locked_app(backend, 5, 10).await;
        let forms = (0..30)
            .map(|_| raw_form("lock@example.com", "not the password 1"))
            .collect();
        // One guess from each of 30 addresses: none reaches its own limit.
        let statuses = at_once(&app, forms, |i| format!("198.51.100.{}", i + 1)).await;
        assert_eq!(statuses, [400; 30], "{backend:?}");
        let (status, _) = login_from(&app, "192.0.2.200", STRONG).await;
        assert_eq!(status, 400, "{backend:?}: locked for every address");
        assert_eq!(verified_wrong("login", &id), 10, "{backend:?}");
    }
}

#[tokio::test]
async fn wrong_guesses_from_many_ips_just_under_the_account_limit_leave_it_open() {
    for backend in Backend::available().await {
        let (app, _) = locked_app(backend, 5, 10).await;
        let forms = (0..9)
            .map(|_| raw_form("lock@example.com", "not the password 1"))
            .collect();
        let statuses = at_once(&app, forms, |i| format!("198.51.100.{}", i + 1)).await;
        assert_eq!(statuses, [400; 9]);
        assert_eq!(
            login_from(&app, "192.0.2.200", STRONG).await.0,
            200,
            "{backend:?}"
        );
    }
}

/// A password change from client IP `ip` with this current password.
async fn change_from(app: &TestApp, token: &str, ip: &str, current: &str) -> (u16, Value) {
    let r = app
        .with_token(Method::PUT, "/users/me/password", token)
        .header("x-forwarded-for", ip)
        .json(&serde_json::json!({
            "current_password": current,
            "new_password": "a different passphrase entirely 7",
        }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn token_of(app: &TestApp, ip: &str) -> String {
    let (status, body) = login_from(app, ip, STRONG).await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn concurrent_wrong_current_passwords_lock_the_password_change_and_the_login() {
    for backend in Backend::available().await {
        let (app, id) = locked_app(backend, 5, 100).await;
        let token = token_of(&app, "203.0.113.9").await;
        let changes: Vec<_> = (0..25)
            .map(|_| {
                let (app_url, client, token) = (
                    app.url("/users/me/password"),
                    app.client.clone(),
                    token.clone(),
                );
                async move {
                    let r = client
                        .put(app_url)
                        .bearer_auth(token)
                        .header("x-forwarded-for", "203.0.113.1")
                        .json(&serde_json::json!({
                            "current_password": "not the password 1",
                            "new_password": "a different passphrase entirely 7",
                        }))
                        .send()
                        .await
                        .unwrap();
                    (r.status().as_u16(), r.json::<Value>().await.unwrap())
                }
            })
            .collect();
        let answers = all_at_once(changes.into_iter()).await;
        let wrong = answers[0].1.clone();
        assert_eq!(wrong["detail"], "The current password is wrong");
        assert!(answers.iter().all(|(s, b)| *s == 400 && *b == wrong));
        // The right one is refused, with the same answer, and changes nothing.
        let (status, body) = change_from(&app, &token, "203.0.113.1", STRONG).await;
        assert_eq!((status, &body), (400, &wrong), "{backend:?}");
        assert_eq!(verified_wrong("password_change", &id), 5, "{backend:?}");
        // The lock is the password grant's too.
        assert_eq!(login_from(&app, "203.0.113.1", STRONG).await.0, 400);
        assert_eq!(login_from(&app, "203.0.113.2", STRONG).await.0, 200);
    }
}

#[tokio::test]
async fn a_lock_set_by_wrong_logins_refuses_the_password_change() {
    for backend in Backend::available().await {
        let (app, _) = locked_app(backend, 5, 100).await;
        let token = token_of(&app, "203.0.113.9").await;
        for _ in 0..5 {
            login_from(&app, "203.0.113.1", "not the password 1").await;
        }
        let (status, body) = change_from(&app, &token, "203.0.113.1", STRONG).await;
        assert_eq!(status, 400, "{backend:?}");
        assert_eq!(body["detail"], "The current password is wrong");
        // Unchanged: the old password still signs in from elsewhere, and changes from there.
        assert_eq!(login_from(&app, "203.0.113.2", STRONG).await.0, 200);
        let (status, _) = change_from(&app, &token, "203.0.113.2", STRONG).await;
        assert_eq!(status, 204, "{backend:?}");
    }
}

#[tokio::test]
async fn look_alike_spellings_are_other_usernames_and_never_reach_the_account() {
    for backend in Backend::available().await {
        let (app, id) = locked_app(backend, 5, 100).await;
        // A Cyrillic о, a zero-width space, a fullwidth @: each is some other username.
        let look_alikes = [
            "l%D0%BEck%40example.com",
            "lock%E2%80%8B%40example.com",
            "lock%EF%BC%A0example.com",
        ];
        let mut forms: Vec<String> = look_alikes
            .iter()
            .flat_map(|u| (0..5).map(move |_| raw_form(u, "not the password 1")))
            .collect();
        forms.extend(look_alikes.iter().map(|u| raw_form(u, STRONG)));
        let statuses = at_once(&app, forms, |_| "203.0.113.1".into()).await;
        assert_eq!(statuses, [400; 18], "{backend:?}: none of them signs in");
        assert_eq!(verified_wrong("login", &id), 0, "{backend:?}");
        assert_eq!(
            login_from(&app, "203.0.113.1", STRONG).await.0,
            200,
            "{backend:?}: the account's own count was never touched"
        );
    }
}
