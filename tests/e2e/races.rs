//! Races from outside: many clients doing the same thing at the same moment, and every call of
//! a user racing an admin's delete of that user.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Backend, STRONG, TestApp, spawn_app_on};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_registrations_of_a_few_emails_make_exactly_one_account_each() {
    for backend in Backend::available().await {
        registrations_race(backend).await;
    }
}

async fn registrations_race(backend: Backend) {
    const EMAILS: usize = 4;
    const ATTEMPTS: usize = 48;
    let app = Arc::new(spawn_app_on(backend, |_| {}).await);
    let tasks: Vec<_> = (0..ATTEMPTS)
        .map(|i| {
            let app = app.clone();
            // The same address in different cases is the same account.
            let email = if i % 3 == 0 {
                format!("Race{}@Example.COM", i % EMAILS)
            } else {
                format!("race{}@example.com", i % EMAILS)
            };
            tokio::spawn(async move {
                let r = app.register(&email, STRONG).await;
                (email.to_lowercase(), r.status().as_u16())
            })
        })
        .collect();

    let mut created: HashMap<String, usize> = HashMap::new();
    let mut conflicts = 0;
    for task in tasks {
        let (email, status) = task.await.unwrap();
        match status {
            201 => *created.entry(email).or_default() += 1,
            409 => conflicts += 1,
            other => panic!("{backend:?} {email}: {other}, never anything but 201 or 409"),
        }
    }
    assert_eq!(created.len(), EMAILS, "every address got its account");
    assert!(created.values().all(|&n| n == 1), "{created:?}");
    assert_eq!(conflicts, ATTEMPTS - EMAILS);
    for i in 0..EMAILS {
        let r = app.login(&format!("race{i}@example.com"), STRONG).await;
        assert_eq!(r.status(), 200, "the one account of race{i} signs in");
    }
}

/// One call of the victim's, raced against the admin's delete of the victim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Call {
    Delete,
    Login,
    WrongLogin,
    Refresh,
    CreateKey,
    BearerMe,
    KeyMe,
    ChangePassword,
    Logout,
    AdminPatch,
    AdminGet,
}

impl Call {
    /// The answers a call may get when its user is there, or has just gone.
    fn allowed(self) -> &'static [u16] {
        match self {
            Self::Delete => &[204, 404],
            Self::Login | Self::Refresh => &[200, 400],
            Self::WrongLogin => &[400],
            Self::CreateKey => &[201, 401],
            Self::BearerMe | Self::KeyMe => &[200, 401],
            Self::ChangePassword | Self::Logout => &[204, 401],
            Self::AdminPatch | Self::AdminGet => &[200, 404],
        }
    }
}

/// What a call of the victim needs: its id and credentials, and the admin's token.
struct Victim {
    id: String,
    email: String,
    access: String,
    refresh: String,
    key: String,
    admin: String,
}

async fn send(app: &TestApp, v: &Victim, call: Call) -> (u16, Value) {
    use reqwest::Method;
    let user_path = format!("/admin/users/{}", v.id);
    let r = match call {
        Call::Delete => {
            app.with_token(Method::DELETE, &user_path, &v.admin)
                .send()
                .await
        }
        Call::Login => return response(app.login(&v.email, STRONG).await).await,
        Call::WrongLogin => return response(app.login(&v.email, "not the password").await).await,
        Call::Refresh => {
            let form = [
                ("grant_type", "refresh_token"),
                ("refresh_token", &v.refresh),
            ];
            return response(app.token(&form).await).await;
        }
        Call::CreateKey => {
            app.with_token(Method::POST, "/api-keys", &v.access)
                .json(&json!({"name": "raced"}))
                .send()
                .await
        }
        Call::BearerMe => {
            app.with_token(Method::GET, "/users/me", &v.access)
                .send()
                .await
        }
        Call::KeyMe => app.with_key(Method::GET, "/users/me", &v.key).send().await,
        Call::ChangePassword => {
            return response(
                app.change_password(&v.access, STRONG, "an other quiet lantern 77 violet")
                    .await,
            )
            .await;
        }
        Call::Logout => {
            app.with_token(Method::POST, "/auth/logout", &v.access)
                .send()
                .await
        }
        Call::AdminPatch => {
            app.with_token(Method::PATCH, &user_path, &v.admin)
                .json(&json!({"display_name": "Renamed"}))
                .send()
                .await
        }
        Call::AdminGet => {
            app.with_token(Method::GET, &user_path, &v.admin)
                .send()
                .await
        }
    };
    response(r.unwrap()).await
}

async fn response(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let body = r.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// A fresh victim with a bearer token, a refresh token and an API key.
async fn victim(app: &TestApp, email: &str, admin: &str) -> Victim {
    let (user, access) = app.user_with_token(email).await;
    let login: Value = app.login(email, STRONG).await.json().await.unwrap();
    let key = app.create_key(&access, json!({"name": "k"})).await;
    Victim {
        id: user["id"].as_str().unwrap().to_owned(),
        email: email.to_owned(),
        access,
        refresh: login["refresh_token"].as_str().unwrap().to_owned(),
        key: key["key"].as_str().unwrap().to_owned(),
        admin: admin.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_racing_every_call_of_its_user_answers_as_if_the_user_were_gone_never_5xx() {
    for backend in Backend::available().await {
        delete_races(backend).await;
    }
}

async fn delete_races(backend: Backend) {
    const ROUNDS: u64 = 16;
    // Every call but the password change three times over (a second change would find the
    // password already changed); the delete twice, of which exactly one may win.
    let mut calls = vec![Call::Delete, Call::Delete, Call::ChangePassword];
    for _ in 0..3 {
        calls.extend([
            Call::Login,
            Call::WrongLogin,
            Call::Refresh,
            Call::CreateKey,
            Call::BearerMe,
            Call::KeyMe,
            Call::Logout,
            Call::AdminPatch,
            Call::AdminGet,
        ]);
    }
    // The race is about the delete: a round's seven password attempts from one IP, sent at
    // once, would otherwise meet the lockout's bound on attempts in flight (5 by default).
    let app = Arc::new(
        spawn_app_on(backend, |s| {
            s.lockout.max_failures = 1_000;
            s.lockout.account_max_failures = 1_000;
        })
        .await,
    );
    let (_, admin) = app.admin_with_token("root@example.com").await;
    let mut tally: BTreeMap<(Call, u16), usize> = BTreeMap::new();
    let mut wrong = Vec::new();
    for round in 0..ROUNDS {
        let email = format!("victim{round}@example.com");
        let v = Arc::new(victim(&app, &email, &admin).await);
        let start = Arc::new(tokio::sync::Barrier::new(calls.len()));
        let tasks: Vec<_> = calls
            .iter()
            .map(|&call| {
                let (app, v, start) = (app.clone(), v.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    // The delete lands at a different moment of the others' work each round:
                    // before them in odd rounds, after them by a growing lag in even ones.
                    if (call == Call::Delete) == (round % 2 == 0) {
                        tokio::time::sleep(Duration::from_micros(round * 600)).await;
                    }
                    (call, send(&app, &v, call).await)
                })
            })
            .collect();
        let mut deleted = 0;
        for task in tasks {
            let (call, (status, body)) = task.await.unwrap();
            let grant_refused = status != 400 || body["error"] == "invalid_grant";
            if !call.allowed().contains(&status) || !grant_refused {
                wrong.push(format!("round {round}: {call:?} answered {status} {body}"));
            }
            deleted += usize::from(call == Call::Delete && status == 204);
            *tally.entry((call, status)).or_default() += 1;
        }
        assert_eq!(deleted, 1, "{backend:?}, round {round}: one delete wins");
        // Afterwards every credential of the user is dead, and the user is gone.
        for call in [
            Call::Login,
            Call::Refresh,
            Call::BearerMe,
            Call::KeyMe,
            Call::AdminGet,
        ] {
            let (status, body) = send(&app, &v, call).await;
            let gone = if call == Call::AdminGet {
                404
            } else {
                call.allowed()[1]
            };
            assert_eq!(
                status, gone,
                "{backend:?}, round {round}: {call:?} after: {body}"
            );
        }
    }
    eprintln!("{backend:?}: answers by call: {tally:?}");
    assert!(
        wrong.is_empty(),
        "{backend:?}: {} wrong answers: {wrong:#?}\nanswers by call: {tally:?}",
        wrong.len()
    );
}
