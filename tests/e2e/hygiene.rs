//! Credentials in other spellings never reach the logs, a readiness probe answers within a
//! second whatever the database does, and unwise settings are warned of at start.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{Backend, captured_logs, spawn_app, spawn_app_on, spawn_app_with};

#[tokio::test]
async fn an_api_key_in_any_spelling_of_its_parameter_never_reaches_the_log() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_token("spelling@example.com").await;
    let key = app.create_key(&token, json!({"name": "k"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    // The spellings the server decodes to `api_key` authenticate; the others do not, and
    // none may be logged in clear either way.
    let cases = [
        ("api_key", true),
        ("api%5Fkey", true),
        ("api%5fkey", true),
        ("%61%70%69%5F%6B%65%79", true),
        ("API_KEY", false),
        ("Api%5FKey", false),
        ("api+key", false),
        ("x=1;api_key", false),
        ("token", false),
    ];
    // HTTP/1.1, and h2c with prior knowledge: the edge sees the same target either way.
    let h2c = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    for (client, version) in [
        (&app.client, reqwest::Version::HTTP_11),
        (&h2c, reqwest::Version::HTTP_2),
    ] {
        for (name, authenticates) in cases {
            for value in [key.clone(), key.replace('_', "%5F")] {
                let r = client
                    .get(app.url(&format!("/users/me?limit=1&{name}={value}&{name}={value}")))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.version(), version);
                let expected = if authenticates { 200 } else { 401 };
                assert_eq!(r.status(), expected, "?{name}=… over {version:?}");
            }
        }
    }
    // The key in the path, where it does not belong, is not logged either.
    let r = app.get(&format!("/api-keys/{key}")).await;
    assert!(r.status().is_client_error());
    let logs = captured_logs();
    let secret_tail = &key[key.len() - 20..];
    assert!(
        !logs.contains(&key) && !logs.contains(secret_tail),
        "the key reached the log"
    );
    assert!(
        !logs.contains(&key.replace('_', "%5F")),
        "the encoded key reached the log"
    );
    assert!(logs.contains("api%5Fkey=[redacted]"), "the access log ran");
}

/// A TCP relay to PostgreSQL that can be cut: once cut, nothing more is relayed in either
/// direction and new connections are accepted and never answered, as in a network partition.
struct Relay {
    port: u16,
    cut: Arc<AtomicBool>,
}

impl Relay {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let flag = cut.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let flag = flag.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    if flag.load(Ordering::SeqCst) {
                        // Hold the socket and say nothing.
                        std::future::pending::<()>().await;
                        drop(client);
                        return;
                    }
                    let server = TcpStream::connect(upstream).await.unwrap();
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::spawn(pump(cr, sw, flag.clone()));
                    pump(sr, cw, flag).await;
                });
            }
        });
        Self { port, cut }
    }
}

/// Copies until the relay is cut, then holds both ends silently.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    cut: Arc<AtomicBool>,
) {
    let mut buf = vec![0; 16 * 1024];
    loop {
        let Ok(n) = from.read(&mut buf).await else {
            return;
        };
        if n == 0 {
            return;
        }
        if cut.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// An app on a fresh PostgreSQL database reached through a [`Relay`], or `None` without
/// PostgreSQL (reported as SKIPPED by the helper; required under CI=true).
async fn app_behind_a_relay(
    adjust: impl FnOnce(&mut warden_adapters::Settings),
) -> Option<(Relay, crate::helpers::TestApp)> {
    if !Backend::available().await.contains(&Backend::Postgres) {
        return None;
    }
    let admin = std::env::var("POSTGRES_TEST_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let (_, tail) = admin.rsplit_once('@').unwrap();
    let (upstream, _) = tail.split_once('/').unwrap();
    let relay = Relay::start(upstream.to_owned()).await;
    let port = relay.port;
    let app = spawn_app_on(Backend::Postgres, |s| {
        // The app's fresh database, reached through the relay.
        s.database.url = s
            .database
            .url
            .replacen(upstream, &format!("127.0.0.1:{port}"), 1);
        adjust(s);
    })
    .await;
    Some((relay, app))
}

#[tokio::test]
async fn readiness_answers_503_within_a_second_when_postgresql_is_cut_off() {
    let Some((relay, app)) = app_behind_a_relay(|_| {}).await else {
        return;
    };
    let r = app.get("/health/ready").await;
    assert_eq!(r.status(), 200);
    relay.cut.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        let started = Instant::now();
        let r = app
            .client
            .get(app.url("/health/ready"))
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .unwrap();
        let elapsed = started.elapsed();
        assert_eq!(r.status(), 503);
        assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
    }
}

#[tokio::test]
async fn a_request_whose_database_is_cut_off_mid_query_answers_503_by_its_deadline() {
    // The deadline is the pool wait plus one statement plus 3 s of other work: 3.8 s here.
    let Some((relay, app)) = app_behind_a_relay(|s| {
        s.database.acquire_timeout_ms = 300;
        s.database.statement_timeout_ms = 500;
    })
    .await
    else {
        return;
    };
    let (_, token) = app.user_with_token("cut@example.com").await;
    relay.cut.store(true, Ordering::SeqCst);
    let requests = [
        app.client.get(app.url("/users/me")).bearer_auth(&token),
        app.client
            .post(app.url("/auth/register"))
            .json(&json!({"email": "new@example.com", "password": crate::helpers::STRONG})),
        app.client.post(app.url("/auth/token")).form(&[
            ("grant_type", "password"),
            ("username", "cut@example.com"),
            ("password", crate::helpers::STRONG),
        ]),
    ];
    for request in requests {
        let started = Instant::now();
        // Without a deadline the request waits on a socket that never answers.
        let r = request
            .timeout(Duration::from_secs(15))
            .send()
            .await
            .unwrap();
        let elapsed = started.elapsed();
        crate::helpers::assert_problem(r, 503).await;
        assert!(
            elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(6),
            "took {elapsed:?}"
        );
    }
}

#[tokio::test]
async fn a_trusted_proxy_of_every_address_is_warned_of_at_start() {
    for everything in ["0.0.0.0/0", "::/0"] {
        let _app = spawn_app_with(|s| {
            s.server.trusted_proxies = vec![everything.parse().unwrap()];
        })
        .await;
        let expected = format!("server.trusted_proxies: {everything} trusts every address");
        assert!(captured_logs().contains(&expected), "{expected}");
    }
}

#[tokio::test]
async fn a_request_id_is_taken_from_a_trusted_proxy_only_and_echoed() {
    let id_of = |resp: &reqwest::Response| {
        resp.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let behind_proxy = spawn_app_with(|s| {
        s.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let direct = spawn_app().await;
    for (app, kept) in [(&behind_proxy, true), (&direct, false)] {
        let resp = app
            .client
            .get(app.url("/health/live"))
            .header("X-Request-Id", "proxy-7f3a:42")
            .send()
            .await
            .unwrap();
        assert_eq!(id_of(&resp) == "proxy-7f3a:42", kept);
        assert!(!id_of(&resp).is_empty());
        // A malformed one is never kept, even from a trusted proxy.
        let resp = app
            .client
            .get(app.url("/health/live"))
            .header("X-Request-Id", "two words")
            .send()
            .await
            .unwrap();
        assert_ne!(id_of(&resp), "two words");
    }
}
