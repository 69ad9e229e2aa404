//! Look-alike accounts from outside: addresses that differ only by characters that look the
//! same (Cyrillic, Greek, fullwidth, case) are one account, and invisible characters (control,
//! format, bidi, zero-width) are refused in emails and display names, on SQLite and PostgreSQL.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, STRONG, TestApp, assert_problem, spawn_app, spawn_app_on};

/// Spellings that look like `carol@example.com` in a list, the plain one first.
const CAROL: [&str; 12] = [
    "carol@example.com",
    "\u{441}arol@example.com",                              // Cyrillic с
    "c\u{430}rol@example.com",                              // Cyrillic а
    "car\u{43e}l@example.com",                              // Cyrillic о
    "car\u{3bf}l@example.com",                              // Greek ο
    "\u{ff43}\u{ff41}\u{ff52}\u{ff4f}\u{ff4c}@example.com", // fullwidth
    "CAROL@example.com",
    "Carol@Example.COM",
    "carol@ex\u{430}mple.com",             // Cyrillic а in the domain
    "\u{421}AROL@example.com",             // Cyrillic С, capital
    "c\u{430}r\u{43e}l@ex\u{430}mple.com", // several at once
    "\u{ff23}arol@example.com",            // fullwidth capital
];

/// Code points that show nothing: bidi controls, zero-width characters, a C0 and a C1 control.
const INVISIBLE: [char; 17] = [
    '\u{200b}', '\u{200c}', '\u{200d}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202b}', '\u{202c}',
    '\u{202d}', '\u{202e}', '\u{2060}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{feff}',
    '\u{85}',
];

/// Registers with a raw JSON body, so that a test can choose how each character is spelt.
async fn register_raw(app: &TestApp, body: String) -> reqwest::Response {
    app.client
        .post(app.url("/auth/register"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Asserts a 422 whose text quotes none of `fragments` of the input.
async fn assert_refused_without_echo(r: reqwest::Response, fragments: &[&str]) {
    let body = assert_problem(r, 422).await;
    let text = body.to_string();
    for f in fragments {
        assert!(!text.contains(f), "{text} quotes {f:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_look_alike_of_an_account_is_409_in_either_order_on_both_stores() {
    for backend in Backend::available().await {
        let app = spawn_app_on(backend, |_| {}).await;
        // The plain address first, then each look-alike.
        assert_eq!(
            app.register("admin@example.com", STRONG).await.status(),
            201
        );
        for alike in [
            "adm\u{456}n@example.com",
            "\u{430}dmin@example.com",
            "\u{ff41}\u{ff44}\u{ff4d}\u{ff49}\u{ff4e}@example.com",
            "ADMIN@EXAMPLE.COM",
        ] {
            let r = app.register(alike, STRONG).await;
            let body = assert_problem(r, 409).await;
            assert_eq!(
                body["detail"], "This email address is already registered",
                "{backend:?} {alike:?}"
            );
            if !alike.is_ascii() {
                assert_eq!(app.login(alike, STRONG).await.status(), 400, "{alike:?}");
            }
        }
        // A look-alike first, then the plain address.
        assert_eq!(
            app.register("b\u{3bf}b@example.com", STRONG).await.status(),
            201
        );
        assert_problem(app.register("bob@example.com", STRONG).await, 409).await;
        // Near but different addresses are other accounts.
        for other in [
            "admins@example.com",
            "adnim@example.com",
            "admin@example.org",
        ] {
            assert_eq!(app.register(other, STRONG).await.status(), 201, "{other}");
        }
        assert_eq!(app.login("admin@example.com", STRONG).await.status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_many_look_alike_registrations_at_once_exactly_one_wins_on_both_stores() {
    const ROUNDS: usize = 3;
    for backend in Backend::available().await {
        let app = Arc::new(spawn_app_on(backend, |_| {}).await);
        for round in 0..ROUNDS {
            // A fresh domain each round, spelt alike in every attempt's own way.
            let spellings: Vec<String> = CAROL
                .iter()
                .chain(CAROL.iter())
                .map(|s| {
                    s.replace(".com", &format!("{round}.com"))
                        .replace(".COM", &format!("{round}.COM"))
                })
                .collect();
            let start = Arc::new(tokio::sync::Barrier::new(spellings.len()));
            let tasks: Vec<_> = spellings
                .into_iter()
                .map(|email| {
                    let (app, start) = (app.clone(), start.clone());
                    tokio::spawn(async move {
                        start.wait().await;
                        let status = app.register(&email, STRONG).await.status().as_u16();
                        (email, status)
                    })
                })
                .collect();
            let mut won = Vec::new();
            for task in tasks {
                let (email, status) = task.await.unwrap();
                match status {
                    201 => won.push(email),
                    409 => {}
                    other => panic!("{backend:?} {email:?}: {other}, only 201 or 409"),
                }
            }
            assert_eq!(won.len(), 1, "{backend:?}, round {round}: {won:?}");
        }
    }
}

#[tokio::test]
async fn invisible_characters_in_an_email_are_422_in_every_spelling_and_never_echoed() {
    let app = spawn_app().await;
    for c in INVISIBLE {
        let email = format!("zqj{c}xwv@qqexample.com");
        let echoes = ["zqj", "xwv", "qqexample"];
        assert_refused_without_echo(app.register(&email, STRONG).await, &echoes).await;
        // The same character as a JSON escape, which the server decodes first.
        let escaped = format!(
            r#"{{"email": "zqj\u{:04x}xwv@qqexample.com", "password": "{STRONG}"}}"#,
            u32::from(c)
        );
        assert_refused_without_echo(register_raw(&app, escaped).await, &echoes).await;
        // At either end, where trimming might hide it (white space, such as U+0085, is
        // trimmed away and so cannot hide in the address).
        if !c.is_whitespace() {
            for email in [
                format!("{c}admin@example.com"),
                format!("admin@example.com{c}"),
            ] {
                let r = app.register(&email, STRONG).await;
                assert_eq!(r.status(), 422, "U+{:04X}", u32::from(c));
            }
        }
    }
    // The edge: the plain address passes, and made nothing before.
    assert_eq!(
        app.register("admin@example.com", STRONG).await.status(),
        201
    );
}

#[tokio::test]
async fn invisible_characters_in_a_display_name_are_422_on_every_path() {
    let app = spawn_app().await;
    let (_, admin) = app.admin_with_token("root@example.com").await;
    let (victim, _) = app.user_with_token("victim@example.com").await;
    let path = format!("/admin/users/{}", victim["id"].as_str().unwrap());
    for c in INVISIBLE {
        let name = format!("Mallory{c}Admin");
        let r = app
            .client
            .post(app.url("/auth/register"))
            .json(&json!({"email": "m@example.com", "password": STRONG, "display_name": name}))
            .send()
            .await
            .unwrap();
        assert_refused_without_echo(r, &["Mallory", "m@example.com"]).await;
        let r = app
            .with_token(Method::POST, "/admin/users", &admin)
            .json(
                &json!({"email": "m@example.com", "password": STRONG, "role": "user",
                          "display_name": name}),
            )
            .send()
            .await
            .unwrap();
        assert_refused_without_echo(r, &["Mallory"]).await;
        let r = app
            .with_token(Method::PATCH, &path, &admin)
            .json(&json!({ "display_name": name }))
            .send()
            .await
            .unwrap();
        assert_refused_without_echo(r, &["Mallory"]).await;
    }
    // The edge: a name with accents, other scripts and emoji passes.
    let r = app
        .with_token(Method::PATCH, &path, &admin)
        .json(&json!({"display_name": "Zoë 李 محمد 🎉"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let user: Value = r.json().await.unwrap();
    assert_eq!(user["display_name"], "Zoë 李 محمد 🎉");
}

#[tokio::test]
async fn an_admin_cannot_create_a_look_alike_or_an_invisible_address_either() {
    let app = spawn_app().await;
    let (_, admin) = app.admin_with_token("root@example.com").await;
    let create = |email: &str| {
        app.with_token(Method::POST, "/admin/users", &admin)
            .json(&json!({"email": email, "password": STRONG, "role": "admin"}))
            .send()
    };
    assert_problem(create("r\u{43e}\u{43e}t@example.com").await.unwrap(), 409).await;
    let r = create("rqq\u{200d}zzt@example.com").await.unwrap();
    assert_refused_without_echo(r, &["rqq", "zzt@"]).await;
    assert_eq!(create("second@example.com").await.unwrap().status(), 201);
}
