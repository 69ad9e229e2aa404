//! Property tests of every parser of untrusted input, the way attackers meet them: arbitrary
//! bearer tokens, API keys and form bodies sent to a real server, and arbitrary
//! `X-Forwarded-For` headers and rate strings given to the parsers themselves. None may panic,
//! answer 5xx or let a request through.

use std::net::IpAddr;
use std::sync::OnceLock;

use proptest::prelude::*;
use warden_adapters::settings::Rate;
use warden_api::client_ip::client_ip;
use warden_domain::api_key::prefix_of;

use crate::helpers::{TestApp, spawn_app};

/// One server and one runtime for every case of this file; cases run one after another.
fn shared() -> &'static (tokio::runtime::Runtime, TestApp, String) {
    static SHARED: OnceLock<(tokio::runtime::Runtime, TestApp, String)> = OnceLock::new();
    SHARED.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (app, token) = runtime.block_on(async {
            let app = spawn_app().await;
            let (_, token) = app.user_with_token("fuzz@example.com").await;
            (app, token)
        });
        (runtime, app, token)
    })
}

/// The status of `GET /users/me` with these headers.
fn me_with(header: &'static str, value: &str) -> u16 {
    let (runtime, app, _) = shared();
    runtime.block_on(async {
        app.client
            .get(app.url("/users/me"))
            .header(header, value)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

/// The status and body of a form `POST` of these raw bytes.
fn post_form(path: &str, body: Vec<u8>) -> (u16, String) {
    let (runtime, app, _) = shared();
    runtime.block_on(async {
        let r = app
            .client
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    })
}

/// A header value reqwest will send: visible ASCII and spaces.
fn header_text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[ -~]{0,200}").unwrap()
}

/// A valid token with one byte changed, or cut short, or with something appended.
fn mangled_token() -> impl Strategy<Value = String> {
    let token = shared().2.clone();
    let len = token.len();
    (0..len, any::<u8>(), 0..3_u8).prop_map(move |(at, byte, how)| {
        let mut bytes = token.clone().into_bytes();
        match how {
            // No whitespace: HTTP strips it from the ends of a header value.
            0 => bytes[at] = b'!' + byte % 94,
            1 => bytes.truncate(at),
            _ => bytes.push(b'!' + byte % 94),
        }
        String::from_utf8(bytes).unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_bearer_token_but_the_one_issued_is_401(token in header_text()) {
        prop_assert_eq!(me_with("authorization", &format!("Bearer {token}")), 401);
    }

    #[test]
    fn an_issued_token_changed_anywhere_is_401(token in mangled_token()) {
        prop_assume!(token != shared().2);
        // The real token just before: the server remembers it as verified, and a variant of
        // it must still be checked in full.
        prop_assert_eq!(me_with("authorization", &format!("Bearer {}", shared().2)), 200);
        prop_assert_eq!(me_with("authorization", &format!("Bearer {token}")), 401);
    }

    #[test]
    fn any_api_key_is_401(key in header_text()) {
        prop_assert_eq!(me_with("x-api-key", &key), 401);
    }

    #[test]
    fn any_key_shaped_value_is_401(lookup in "[A-Za-z0-9_-]{12}", secret in "[A-Za-z0-9_-]{22,60}") {
        prop_assert_eq!(me_with("x-api-key", &format!("wdn_{lookup}{secret}")), 401);
    }

    #[test]
    fn any_form_body_gets_a_4xx_from_the_token_endpoint(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let (status, text) = post_form("/auth/token", body);
        prop_assert!((400..500).contains(&status), "{status}: {text}");
        if status == 400 {
            prop_assert!(text.contains("\"error\""), "an RFC 6749 body: {text}");
        }
    }

    #[test]
    fn form_shaped_bodies_never_sign_anyone_in(
        pairs in proptest::collection::vec(("[a-z_]{1,14}", "[ -~]{0,40}"), 0..6)
    ) {
        let body = serde_urlencoded::to_string(&pairs).unwrap();
        for path in ["/auth/token", "/auth/revoke", "/auth/introspect"] {
            let (status, text) = post_form(path, body.clone().into_bytes());
            prop_assert!(status < 500, "{path} {status}: {text}");
            prop_assert!(!text.contains("access_token\":\"ey"), "{path}: {text}");
        }
    }

    #[test]
    fn forwarded_for_never_names_an_address_that_was_not_sent(
        header in "[0-9a-f.:, ]{0,80}",
        peer_trusted in any::<bool>(),
    ) {
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        let trusted = if peer_trusted { vec!["10.0.0.0/8".parse().unwrap()] } else { Vec::new() };
        let ip = client_ip(peer, std::iter::once(header.as_str()), &trusted);
        if peer_trusted {
            prop_assert!(
                ip == peer || header.split(',').any(|hop| hop.trim().parse::<IpAddr>() == Ok(ip)),
                "{ip} from {header:?}"
            );
        } else {
            prop_assert_eq!(ip, peer, "without a trusted proxy the header is ignored");
        }
    }

    #[test]
    fn key_prefixes_are_cut_from_the_presented_key_only(text in "(wdn_)?[ -~]{0,80}") {
        if let Some(prefix) = prefix_of(&text) {
            prop_assert!(text.starts_with(prefix));
            prop_assert_eq!(prefix.len(), 16);
        }
    }

    #[test]
    fn rate_strings_parse_or_refuse_and_round_trip(text in "[ -~]{0,24}|[0-9]{1,11} ?/ ?(second|minute|hour|day)") {
        if let Ok(rate) = text.parse::<Rate>() {
            prop_assert!(rate.count >= 1);
            prop_assert_eq!(rate.to_string().parse::<Rate>(), Ok(rate));
        }
    }
}
