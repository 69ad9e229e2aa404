//! The edge over its ports: a spent budget is a 429 that tells when to come back, a limited
//! answer carries the budget's headers, and readiness reports storage and the shared store.

use std::time::Duration;

use poem::http::StatusCode;
use warden_domain::rate_limit::{Decision, MockRateLimiter, RouteGroup};

use crate::{Mocks, open_budget};

#[tokio::test]
async fn a_spent_budget_is_429_with_retry_after_rounded_up() {
    let mut mocks = Mocks::new();
    mocks.limiter = MockRateLimiter::new();
    mocks
        .limiter
        .expect_check()
        .withf(|group, _| *group == RouteGroup::Login)
        .returning(|_, _| Decision {
            allowed: false,
            limit: 5,
            remaining: 0,
            reset: Duration::from_millis(12_500),
            retry_after: Duration::from_millis(2_001),
        });
    let resp = mocks
        .client()
        .await
        .post("/auth/token")
        .content_type("application/x-www-form-urlencoded")
        .body("grant_type=password")
        .send()
        .await;
    resp.assert_status(StatusCode::TOO_MANY_REQUESTS);
    resp.assert_header("retry-after", "3");
    resp.assert_header("ratelimit-limit", "5");
    resp.assert_header("ratelimit-remaining", "0");
    resp.assert_header("ratelimit-reset", "13");
}

#[tokio::test]
async fn the_health_probes_spend_no_budget() {
    let mut mocks = Mocks::new();
    mocks.limiter = MockRateLimiter::new();
    mocks.limiter.expect_check().never();
    mocks.readiness.expect_storage_ready().returning(|| true);
    mocks
        .readiness
        .expect_shared_store_ready()
        .returning(|| None);
    let client = mocks.client().await;
    client
        .get("/health/live")
        .send()
        .await
        .assert_status_is_ok();
    let ready = client.get("/health/ready").send().await;
    ready.assert_status_is_ok();
    assert!(ready.0.headers().get("ratelimit-limit").is_none());
}

#[tokio::test]
async fn readiness_is_503_naming_what_does_not_answer() {
    for (storage, shared, detail) in [
        (false, None, "Storage does not answer"),
        (
            true,
            Some(false),
            "Redis does not answer; rate limits are per instance until it does",
        ),
    ] {
        let mut mocks = Mocks::new();
        mocks
            .readiness
            .expect_storage_ready()
            .returning(move || storage);
        mocks
            .readiness
            .expect_shared_store_ready()
            .returning(move || shared);
        let resp = mocks.client().await.get("/health/ready").send().await;
        resp.assert_status(StatusCode::SERVICE_UNAVAILABLE);
        let body = resp.json().await.value().deserialize::<serde_json::Value>();
        assert_eq!(body["detail"], detail);
    }
}

#[tokio::test]
async fn a_limited_answer_carries_the_budget() {
    let resp = Mocks::new().client().await.get("/users/me").send().await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    let budget = open_budget();
    resp.assert_header("ratelimit-limit", budget.limit.to_string());
    resp.assert_header("ratelimit-remaining", budget.remaining.to_string());
    resp.assert_header("ratelimit-reset", "6");
}

fn request_id(resp: &poem::test::TestResponse) -> String {
    resp.0
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("every response carries its request id")
        .to_owned()
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_an_untrusted_one_is_replaced() {
    let client = Mocks::new().client().await;
    let first = client.get("/health/live").send().await;
    let second = client
        .get("/health/live")
        .header("X-Request-Id", "chosen-by-the-client")
        .send()
        .await;
    let (a, b) = (request_id(&first), request_id(&second));
    assert_ne!(a, b);
    // No trusted proxy sent it: a client cannot name its request as another's.
    assert_ne!(b, "chosen-by-the-client");
}

#[tokio::test]
async fn a_5xx_problem_names_the_request_id_of_its_response() {
    let mut mocks = Mocks::new().knowing_the_users();
    mocks
        .users
        .expect_delete()
        .return_once(|_, _| Err(warden_domain::Error::Internal("a bug".into())));
    let resp = mocks
        .client()
        .await
        .delete("/admin/users/00000000-0000-0000-0000-000000000063")
        .header("Authorization", format!("Bearer {}", crate::ADMIN_TOKEN))
        .send()
        .await;
    resp.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    let id = request_id(&resp);
    let body = resp.json().await.value().deserialize::<serde_json::Value>();
    assert_eq!(
        body["detail"],
        format!("Internal error (error id {id})"),
        "{body}"
    );
}
