//! The OAuth endpoints answer in RFC 6749's shape: a 400 with `error` and no-store headers for
//! every refusal, tokens on success, and a problem document only when the service itself fails.

use poem::http::StatusCode;
use secrecy::SecretString;
use serde_json::Value;

use crate::{Mocks, RIGHT_PASSWORD, member};

const FORM: &str = "application/x-www-form-urlencoded";

/// Mocks that find [`member`] by email and let the lockout count without locking.
fn signing_in() -> Mocks {
    let mut mocks = Mocks::new().never_locking();
    mocks
        .users
        .expect_find_by_email()
        .returning(|email| Ok((email.as_str() == member().email.as_str()).then(member)));
    mocks
}

async fn post_form(mocks: Mocks, body: &str) -> poem::test::TestResponse {
    mocks
        .client()
        .await
        .post("/auth/token")
        .content_type(FORM)
        .body(body.to_owned())
        .send()
        .await
}

async fn oauth_error(resp: poem::test::TestResponse) -> String {
    resp.assert_status(StatusCode::BAD_REQUEST);
    resp.assert_header("cache-control", "no-store");
    resp.assert_header("pragma", "no-cache");
    let body = resp.json().await.value().deserialize::<Value>();
    assert!(body["error_description"].is_string(), "{body}");
    body["error"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_malformed_request_is_invalid_request() {
    for body in [
        "",
        "username=a%40b.c&password=x",
        "grant_type=password&username=x",
    ] {
        let resp = post_form(Mocks::new(), body).await;
        assert_eq!(oauth_error(resp).await, "invalid_request", "{body:?}");
    }
    // Not a form at all.
    let resp = Mocks::new()
        .client()
        .await
        .post("/auth/token")
        .body_json(&serde_json::json!({"grant_type": "password"}))
        .send()
        .await;
    assert_eq!(oauth_error(resp).await, "invalid_request");
}

#[tokio::test]
async fn a_repeated_parameter_and_a_body_of_another_type_are_told_apart() {
    let resp = post_form(Mocks::new(), "grant_type=password&grant_type=refresh_token").await;
    resp.assert_status(StatusCode::BAD_REQUEST);
    let body = resp.json().await.value().deserialize::<Value>();
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        body["error_description"],
        "The parameters are malformed, or one is repeated"
    );
    let resp = Mocks::new()
        .client()
        .await
        .post("/auth/token")
        .content_type("text/plain")
        .body("grant_type=password")
        .send()
        .await;
    resp.assert_status(StatusCode::BAD_REQUEST);
    let body = resp.json().await.value().deserialize::<Value>();
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        body["error_description"],
        "The body must be application/x-www-form-urlencoded OAuth 2.0 parameters"
    );
}

#[tokio::test]
async fn an_unknown_grant_type_is_unsupported_grant_type() {
    for grant in ["implicit", "authorization_code2", "PASSWORD"] {
        let resp = post_form(Mocks::new(), &format!("grant_type={grant}")).await;
        assert_eq!(oauth_error(resp).await, "unsupported_grant_type", "{grant}");
    }
}

#[tokio::test]
async fn client_credentials_without_a_client_is_invalid_client_with_a_basic_challenge() {
    for body in [
        "grant_type=client_credentials",
        "grant_type=client_credentials&client_id=warden",
        "grant_type=client_credentials&client_id=nobody",
    ] {
        let resp = post_form(Mocks::new(), body).await;
        resp.assert_status(StatusCode::UNAUTHORIZED);
        resp.assert_header(
            "www-authenticate",
            "Basic realm=\"warden\", charset=\"UTF-8\"",
        );
        resp.assert_header("cache-control", "no-store");
        let body = resp.json().await.value().deserialize::<Value>();
        assert_eq!(body["error"], "invalid_client", "{body}");
    }
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_refresh_token_are_invalid_grant() {
    let resp = post_form(
        signing_in(),
        "grant_type=password&username=member%40example.com&password=wrong",
    )
    .await;
    assert_eq!(oauth_error(resp).await, "invalid_grant");

    let mut mocks = Mocks::new();
    mocks
        .refresh_tokens
        .expect_find_by_digest()
        .returning(|_| Ok(None));
    let resp = post_form(mocks, "grant_type=refresh_token&refresh_token=unknown").await;
    assert_eq!(oauth_error(resp).await, "invalid_grant");
}

#[tokio::test]
async fn the_right_password_gets_a_bearer_token_and_a_refresh_token() {
    let mut mocks = signing_in();
    mocks
        .tokens
        .expect_sign()
        .returning(|_| Ok(SecretString::from("signed-access-token")));
    mocks
        .refresh_tokens
        .expect_insert()
        .returning(|_, _, _| Ok(()));
    let body = format!(
        "grant_type=password&username=member%40example.com&password={}",
        RIGHT_PASSWORD.replace(' ', "+")
    );
    let resp = post_form(mocks, &body).await;
    resp.assert_status_is_ok();
    resp.assert_header("cache-control", "no-store");
    let body = resp.json().await.value().deserialize::<Value>();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["access_token"], "signed-access-token");
    assert_eq!(body["expires_in"], 900);
    assert!(
        body["refresh_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
}

#[tokio::test]
async fn storage_away_is_a_503_problem_not_an_oauth_refusal() {
    let mut mocks = Mocks::new();
    mocks
        .users
        .expect_find_by_email()
        .returning(|_| Err(warden_domain::Error::Unavailable("pool timed out".into())));
    let resp = post_form(
        mocks,
        "grant_type=password&username=member%40example.com&password=x",
    )
    .await;
    resp.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    resp.assert_header("content-type", "application/problem+json");
}
