//! RFC 8414 discovery: the metadata names the issuer every token carries, and endpoints under
//! it; without an issuer that is a URL there is none to give.

use base64::Engine as _;
use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app_with};

const PATH: &str = "/.well-known/oauth-authorization-server";

/// The `iss` of a token, read without verifying it (the tests of the codec verify).
fn issuer_of(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    claims["iss"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn by_default_the_issuer_is_the_servers_url_and_every_endpoint_is_under_it() {
    let app = spawn_app_with(|s| s.jwt.issuer = None).await;
    let r = app.get(PATH).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "public, max-age=300");
    let meta: Value = r.json().await.unwrap();
    let issuer = meta["issuer"].as_str().unwrap().to_owned();
    assert_eq!(
        issuer, app.address,
        "the issuer is the address it answers at"
    );
    assert_eq!(meta["token_endpoint"], format!("{issuer}/auth/token"));
    assert_eq!(meta["jwks_uri"], format!("{issuer}/.well-known/jwks.json"));
    assert_eq!(
        meta["introspection_endpoint"],
        format!("{issuer}/auth/introspect")
    );
    assert_eq!(meta["revocation_endpoint"], format!("{issuer}/auth/revoke"));
    assert_eq!(meta["response_types_supported"], serde_json::json!([]));
    let grants = meta["grant_types_supported"].as_array().unwrap();
    assert!(grants.iter().any(|g| g == "client_credentials"));
    assert!(
        !grants.iter().any(|g| g == "authorization_code"),
        "not built yet"
    );
    let (_, token) = app.user_with_token("disco@example.com").await;
    assert_eq!(issuer_of(&token), issuer, "the tokens name the same issuer");
}

#[tokio::test]
async fn an_explicit_issuer_is_used_as_written_and_one_that_is_no_url_has_no_discovery() {
    let app = spawn_app_with(|s| s.jwt.issuer = Some("https://id.example.com/".into())).await;
    let meta: Value = app.get(PATH).await.json().await.unwrap();
    assert_eq!(meta["issuer"], "https://id.example.com/");
    assert_eq!(meta["token_endpoint"], "https://id.example.com/auth/token");
    let (_, token) = app.user_with_token("disco@example.com").await;
    assert_eq!(issuer_of(&token), "https://id.example.com/");

    let app = spawn_app_with(|s| s.jwt.issuer = Some("warden".into())).await;
    let problem = assert_problem(app.get(PATH).await, 404).await;
    assert!(problem["detail"].as_str().unwrap().contains("jwt.issuer"));
    let (_, token) = app.user_with_token("disco@example.com").await;
    assert_eq!(issuer_of(&token), "warden");
}
