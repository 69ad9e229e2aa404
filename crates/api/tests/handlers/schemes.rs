//! Both security schemes: a bearer token, and an API key in the header or (when allowed) the
//! query; what each answers when absent, wrong, or presented where the operation does not
//! accept it.

use poem::http::StatusCode;
use serde_json::Value;

use crate::{MEMBER_KEY, MEMBER_TOKEN, Mocks, member};

fn challenge(resp: &poem::test::TestResponse) -> String {
    resp.0
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn email_of(resp: poem::test::TestResponse) -> Value {
    resp.assert_status_is_ok();
    resp.json().await.value().deserialize::<Value>()["email"].clone()
}

#[tokio::test]
async fn a_bearer_token_and_an_api_key_each_name_their_user() {
    let client = Mocks::new()
        .knowing_the_users()
        .knowing_the_key()
        .client()
        .await;
    let by_token = client
        .get("/users/me")
        .header("Authorization", format!("Bearer {MEMBER_TOKEN}"))
        .send()
        .await;
    assert_eq!(email_of(by_token).await, member().email.as_str());
    let by_header = client
        .get("/users/me")
        .header("X-API-Key", MEMBER_KEY)
        .send()
        .await;
    assert_eq!(email_of(by_header).await, member().email.as_str());
    let by_query = client
        .get("/users/me")
        .query("api_key", &MEMBER_KEY)
        .send()
        .await;
    assert_eq!(email_of(by_query).await, member().email.as_str());
}

#[tokio::test]
async fn no_credential_is_401_with_a_bare_bearer_challenge() {
    let resp = Mocks::new().client().await.get("/users/me").send().await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    let challenge = challenge(&resp);
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert!(!challenge.contains("invalid_token"), "{challenge}");
}

#[tokio::test]
async fn a_wrong_token_or_key_is_401_invalid_token() {
    let client = Mocks::new()
        .knowing_the_users()
        .knowing_the_key()
        .client()
        .await;
    let wrong_key = format!("{}x", &MEMBER_KEY[..MEMBER_KEY.len() - 1]);
    for resp in [
        client
            .get("/users/me")
            .header("Authorization", "Bearer forged")
            .send()
            .await,
        client
            .get("/users/me")
            .header("X-API-Key", wrong_key.as_str())
            .send()
            .await,
        client
            .get("/users/me")
            .header("X-API-Key", "not-a-key")
            .send()
            .await,
    ] {
        resp.assert_status(StatusCode::UNAUTHORIZED);
        let challenge = challenge(&resp);
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        assert!(!challenge.contains(MEMBER_KEY), "{challenge}");
    }
}

#[tokio::test]
async fn a_key_in_the_query_is_ignored_when_the_setting_is_off() {
    let mut mocks = Mocks::new().knowing_the_key();
    mocks.config.api_keys_in_query = false;
    let resp = mocks
        .client()
        .await
        .get("/users/me")
        .query("api_key", &MEMBER_KEY)
        .send()
        .await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    // Ignored as if absent: no verdict on a key that was never checked.
    assert!(!challenge(&resp).contains("invalid_token"));
}

#[tokio::test]
async fn an_api_key_cannot_reach_an_operation_that_takes_only_a_bearer_token() {
    let client = Mocks::new()
        .knowing_the_users()
        .knowing_the_key()
        .client()
        .await;
    let change = client
        .put("/users/me/password")
        .header("X-API-Key", MEMBER_KEY)
        .body_json(&serde_json::json!({
            "current_password": "x",
            "new_password": "an entirely new and long passphrase",
        }))
        .send()
        .await;
    change.assert_status(StatusCode::UNAUTHORIZED);
    let mint = client
        .post("/api-keys")
        .header("X-API-Key", MEMBER_KEY)
        .body_json(&serde_json::json!({"name": "escalation"}))
        .send()
        .await;
    mint.assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn storage_away_while_checking_a_token_is_503_not_401() {
    let mut mocks = Mocks::new();
    mocks.tokens.expect_verify().returning(|token| match token {
        MEMBER_TOKEN => Ok(crate::claims(&member())),
        _ => Err(warden_domain::token::TokenError::BadSignature),
    });
    mocks
        .users
        .expect_find_in_session()
        .returning(|_, _| Err(warden_domain::Error::Unavailable("pool timed out".into())));
    let resp = mocks
        .client()
        .await
        .get("/users/me")
        .header("Authorization", format!("Bearer {MEMBER_TOKEN}"))
        .send()
        .await;
    resp.assert_status(StatusCode::SERVICE_UNAVAILABLE);
}
