//! `server.max_body_bytes` holds while the body is read, over HTTP/1.1 (with a length, chunked,
//! and with a lying length) and over h2c, where a body need not declare a length at all; and an
//! answer given without reading a body leaves the connection usable or says `Connection: close`.

use std::time::Duration;

use crate::helpers::{TestApp, assert_problem, spawn_app_with};
use crate::wire::{Wire, form_of, h2c_client, head, rss_growth_during, streamed_form};

const MAX: usize = 1024;
const WAIT: Duration = Duration::from_secs(5);

async fn revoke(app: &TestApp, client: &reqwest::Client, body: reqwest::Body) -> reqwest::Response {
    client
        .post(app.url("/auth/revoke"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn exactly_the_limit_is_read_and_one_byte_more_is_413_over_every_framing() {
    let app = spawn_app_with(|s| s.server.max_body_bytes = MAX).await;
    let h1 = app.client.clone();
    let h2 = h2c_client();
    for (name, client) in [("HTTP/1.1", &h1), ("h2c", &h2)] {
        for streamed in [false, true] {
            let body = |n: usize| {
                if streamed {
                    streamed_form(n, false)
                } else {
                    reqwest::Body::from(form_of(n))
                }
            };
            let r = revoke(&app, client, body(MAX)).await;
            let version = r.version();
            assert_eq!(r.status(), 200, "{name} streamed={streamed}: {MAX} bytes");
            let r = revoke(&app, client, body(MAX + 1)).await;
            let problem = assert_problem(r, 413).await;
            assert_eq!(
                problem["detail"],
                format!("The request body is larger than {MAX} bytes")
            );
            let expected = if name == "h2c" {
                reqwest::Version::HTTP_2
            } else {
                reqwest::Version::HTTP_11
            };
            assert_eq!(version, expected, "{name} really spoke {expected:?}");
        }
    }
}

#[tokio::test]
async fn a_huge_body_is_refused_while_it_arrives_and_never_held() {
    let app = spawn_app_with(|_| {}).await;
    let h2 = h2c_client();
    // 50 MB over h2c with no length, then over HTTP/1.1 chunked: the server must answer 413
    // after the first 64 KiB and never hold the rest. The bound leaves room for the other
    // tests of this binary running meanwhile; a body held whole grew it by 64 MiB.
    for (name, client) in [("h2c", &h2), ("HTTP/1.1 chunked", &app.client)] {
        let (grown, r) =
            rss_growth_during(revoke(&app, client, streamed_form(50 * 1024 * 1024, false))).await;
        assert_problem(r, 413).await;
        eprintln!("{name}: 50 MB refused, resident memory grew by {grown} KiB at most");
        assert!(
            grown < 32 * 1024,
            "{name}: resident memory grew by {grown} KiB for a body refused at 64 KiB"
        );
    }
}

#[tokio::test]
async fn a_lying_content_length_buys_no_more_than_it_declares() {
    let app = spawn_app_with(|s| s.server.max_body_bytes = MAX).await;
    let mut wire = Wire::connect(&app.address).await;
    // Ten bytes declared, then 4 MiB: the ten are the body, the rest is not a request.
    wire.send(&head(
        "POST",
        "/auth/revoke",
        &[
            "Content-Type: application/x-www-form-urlencoded",
            "Content-Length: 10",
        ],
    ))
    .await;
    wire.send(b"token=abcd").await;
    let flood = vec![b'x'; 4 * 1024 * 1024];
    let (grown, ()) = rss_growth_during(async {
        // The server stops reading the flood: the write may end in a reset, or time out.
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            tokio::io::AsyncWriteExt::write_all(&mut wire.stream, &flood),
        )
        .await;
    })
    .await;
    let first = wire
        .answer(WAIT)
        .await
        .expect("the declared request is answered");
    assert_eq!(first.status, 200, "{}", first.head);
    // What follows is garbage: refused with a 4xx or the connection closed, never a 5xx.
    if let Some(next) = wire.answer(WAIT).await {
        assert!((400..500).contains(&next.status), "{}", next.head);
    }
    assert!(grown < 32 * 1024, "resident memory grew by {grown} KiB");
    assert_eq!(app.get("/health/live").await.status(), 200);
}

/// Sends `first` (a request with a body the server answers early), then a second request on
/// the same connection, and returns both answers.
async fn two_on_one_connection(
    app: &TestApp,
    first: &[u8],
) -> (crate::wire::Answer, Option<crate::wire::Answer>) {
    let mut wire = Wire::connect(&app.address).await;
    // The tail of the body comes late, as over a slow network: a server that answers before
    // it has read the body must not take that tail for the next request.
    let (now, later) = first.split_at(first.len() - 8.min(first.len()));
    wire.send(now).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    wire.send(later).await;
    let one = wire.answer(WAIT).await.expect("the first answer");
    wire.send(&head("GET", "/health/live", &[])).await;
    let two = wire.answer(WAIT).await;
    (one, two)
}

fn with_body(method: &str, path: &str, content_type: &str, extra: &[&str], body: &[u8]) -> Vec<u8> {
    let length = format!("Content-Length: {}", body.len());
    let ct = format!("Content-Type: {content_type}");
    let mut lines = vec![ct.as_str(), length.as_str()];
    lines.extend_from_slice(extra);
    let mut request = head(method, path, &lines);
    request.extend_from_slice(body);
    request
}

#[tokio::test]
async fn an_early_401_or_429_leaves_the_keep_alive_connection_usable() {
    let app = spawn_app_with(|s| {
        s.server.max_body_bytes = MAX;
        s.rate_limit.register =
            warden_adapters::settings::Rate::new(1, warden_adapters::settings::RatePeriod::Minute);
    })
    .await;
    let body =
        br#"{"current_password":"violet tractor hums 42 quiet lanterns","new_password":"x"}"#;
    // A 401 for want of a token: the body was read all the same.
    let (one, two) = two_on_one_connection(
        &app,
        &with_body("PUT", "/users/me/password", "application/json", &[], body),
    )
    .await;
    assert_eq!(one.status, 401, "{}", one.head);
    assert!(!one.has("connection: close"), "{}", one.head);
    assert_eq!(
        two.expect("a second answer on the same connection").status,
        200
    );

    // A 429: the register budget is one a minute; the second is refused without a handler.
    let register = with_body(
        "POST",
        "/auth/register",
        "application/json",
        &[],
        br#"{"email":"keepalive@example.com","password":"violet tractor hums 42 quiet lanterns"}"#,
    );
    let (one, _) = two_on_one_connection(&app, &register).await;
    assert_eq!(one.status, 201, "{}", one.head);
    let (one, two) = two_on_one_connection(&app, &register).await;
    assert_eq!(one.status, 429, "{}", one.head);
    assert!(!one.has("connection: close"), "{}", one.head);
    assert_eq!(two.expect("a second answer after the 429").status, 200);

    // Chunked, and answered early: the same.
    let mut chunked = head(
        "PUT",
        "/users/me/password",
        &[
            "Content-Type: application/json",
            "Transfer-Encoding: chunked",
        ],
    );
    chunked.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
    chunked.extend_from_slice(body);
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    let (one, two) = two_on_one_connection(&app, &chunked).await;
    assert_eq!(one.status, 401, "{}", one.head);
    assert_eq!(two.expect("a second answer after chunks").status, 200);
}

#[tokio::test]
async fn a_413_closes_the_connection_and_says_so() {
    let app = spawn_app_with(|s| s.server.max_body_bytes = MAX).await;
    // Declared over the limit, and sent all the same: answered at once, then closed.
    let big = form_of(MAX + 1);
    let mut wire = Wire::connect(&app.address).await;
    wire.send(&with_body(
        "POST",
        "/auth/revoke",
        "application/x-www-form-urlencoded",
        &[],
        &big,
    ))
    .await;
    let one = wire
        .answer(WAIT)
        .await
        .expect("the 413 arrives, not a reset");
    assert_eq!(one.status, 413, "{}", one.head);
    assert!(one.has("connection: close"), "{}", one.head);
    assert!(
        wire.closed_within(WAIT).await.is_some(),
        "the server closes"
    );

    // Chunked past the limit: found out while reading, and closed the same way.
    let mut wire = Wire::connect(&app.address).await;
    let mut chunked = head(
        "POST",
        "/auth/revoke",
        &[
            "Content-Type: application/x-www-form-urlencoded",
            "Transfer-Encoding: chunked",
        ],
    );
    for _ in 0..4 {
        chunked.extend_from_slice(format!("{:x}\r\n", 512).as_bytes());
        chunked.extend_from_slice(&[b'a'; 512]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    wire.send(&chunked).await;
    let one = wire.answer(WAIT).await.expect("the 413 arrives");
    assert_eq!(one.status, 413, "{}", one.head);
    assert!(one.has("connection: close"), "{}", one.head);
    // A client that obeys opens a new connection, and is answered.
    let (one, two) = two_on_one_connection(&app, &head("GET", "/health/live", &[])).await;
    assert_eq!((one.status, two.map(|a| a.status)), (200, Some(200)));
}

#[tokio::test]
async fn every_spelling_of_a_length_is_held_to_the_limit() {
    let app = spawn_app_with(|s| s.server.max_body_bytes = MAX).await;
    let over = MAX + 1;
    for (lines, expected) in [
        (vec![format!("content-length: {over}")], 413),
        (vec![format!("CONTENT-LENGTH: {over}")], 413),
        (vec![format!("Content-Length: 000{over}")], 413),
        (
            vec![
                format!("Content-Length: {over}"),
                format!("Content-Length: {over}"),
            ],
            413,
        ),
        // Conflicting lengths, a signed one, and a length beside chunks are refused by the parser.
        (
            vec![
                format!("Content-Length: {over}"),
                "Content-Length: 5".into(),
            ],
            400,
        ),
        (vec![format!("Content-Length: +{over}")], 400),
        // The largest length hyper's parser refuses itself (431): a 4xx either way.
        (vec![format!("Content-Length: {}", u64::MAX)], 431),
    ] {
        let mut extra: Vec<&str> = vec!["Content-Type: application/x-www-form-urlencoded"];
        extra.extend(lines.iter().map(String::as_str));
        let mut wire = Wire::connect(&app.address).await;
        let mut request = head("POST", "/auth/revoke", &extra);
        request.extend_from_slice(&form_of(over));
        wire.send(&request).await;
        let answer = wire.answer(WAIT).await;
        let status = answer.as_ref().map(|a| a.status);
        assert_eq!(status, Some(expected), "{lines:?}");
    }
}
