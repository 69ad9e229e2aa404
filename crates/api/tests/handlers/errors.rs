//! Every domain error, raised by a mocked port or a policy, becomes its one status and problem
//! document: the mapping of `problem.rs` seen through real operations.

use poem::http::StatusCode;
use serde_json::Value;
use warden_domain::Error;

use crate::{ADMIN_TOKEN, MEMBER_TOKEN, Mocks, RIGHT_PASSWORD};

/// `DELETE /admin/users/{id}` as the admin, with storage answering `error`.
async fn delete_answering(error: Error) -> poem::test::TestResponse {
    let mut mocks = Mocks::new().knowing_the_users();
    mocks
        .users
        .expect_delete()
        .return_once(move |_, _| Err(error));
    mocks
        .client()
        .await
        .delete("/admin/users/00000000-0000-0000-0000-000000000063")
        .header("Authorization", format!("Bearer {ADMIN_TOKEN}"))
        .send()
        .await
}

async fn problem(resp: poem::test::TestResponse, status: StatusCode) -> Value {
    resp.assert_status(status);
    resp.assert_header("content-type", "application/problem+json");
    resp.json().await.value().deserialize::<Value>()
}

#[tokio::test]
async fn not_found_is_404_and_the_last_admin_409() {
    let body = problem(
        delete_answering(Error::NotFound).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(body["status"], 404);
    assert_eq!(body["detail"], "Not found");
    let body = problem(
        delete_answering(Error::LastAdmin).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        body["detail"],
        "The last enabled admin cannot be removed, disabled or demoted"
    );
}

#[tokio::test]
async fn storage_away_is_503_and_a_fault_500_and_neither_shows_its_cause() {
    let cause = "connection refused by 10.0.0.7 password=hunter2";
    for (error, status) in [
        (
            Error::Unavailable(cause.into()),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (
            Error::Internal(cause.into()),
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
    ] {
        let body = problem(delete_answering(error).await, status).await;
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("(error id "), "{detail}");
        assert!(!body.to_string().contains("hunter2"), "{body}");
        assert!(!body.to_string().contains("10.0.0.7"), "{body}");
    }
}

#[tokio::test]
async fn a_member_at_an_admin_operation_is_403_and_storage_is_never_asked() {
    // No `delete` is expected: the mock fails the test if the use case reaches storage.
    let resp = Mocks::new()
        .knowing_the_users()
        .client()
        .await
        .delete("/admin/users/00000000-0000-0000-0000-000000000063")
        .header("Authorization", format!("Bearer {MEMBER_TOKEN}"))
        .send()
        .await;
    let body = problem(resp, StatusCode::FORBIDDEN).await;
    assert_eq!(body["detail"], "Insufficient permissions");
}

#[tokio::test]
async fn a_taken_email_is_409_disabled_registration_403_and_bad_input_422_with_every_reason() {
    let register = |mocks: Mocks, body: Value| async move {
        mocks
            .client()
            .await
            .post("/auth/register")
            .body_json(&body)
            .send()
            .await
    };
    let mut taken = Mocks::new();
    taken.users.expect_find_by_email().returning(|_| Ok(None));
    taken
        .users
        .expect_insert()
        .return_once(|_, _| Err(Error::EmailTaken));
    let body = serde_json::json!({"email": "new@example.com", "password": RIGHT_PASSWORD});
    let resp = register(taken, body.clone()).await;
    let problem_body = problem(resp, StatusCode::CONFLICT).await;
    assert_eq!(
        problem_body["detail"],
        "This email address is already registered"
    );

    let mut closed = Mocks::new();
    closed.allow_registration = false;
    let resp = register(closed, body).await;
    assert_eq!(
        problem(resp, StatusCode::FORBIDDEN).await["detail"],
        "Registration is disabled"
    );

    let resp = register(
        Mocks::new(),
        serde_json::json!({"email": "not an email", "password": "short"}),
    )
    .await;
    let body = problem(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
    let reasons = body["errors"].as_array().unwrap();
    assert!(reasons.len() >= 2, "{body}");
    assert!(!body.to_string().contains("not an email"), "{body}");
}

#[tokio::test]
async fn a_wrong_current_password_is_400_and_nothing_is_written() {
    let mut mocks = Mocks::new().knowing_the_users().never_locking();
    // No `update` is expected: a refused change writes nothing.
    mocks.users.expect_update().never();
    let resp = mocks
        .client()
        .await
        .put("/users/me/password")
        .header("Authorization", format!("Bearer {MEMBER_TOKEN}"))
        .body_json(&serde_json::json!({
            "current_password": "not the password",
            "new_password": "an entirely new and long passphrase",
        }))
        .send()
        .await;
    let body = problem(resp, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["detail"], "The current password is wrong");
}

#[tokio::test]
async fn a_page_limit_out_of_range_is_422_naming_the_rule() {
    let resp = Mocks::new()
        .knowing_the_users()
        .client()
        .await
        .get("/admin/users")
        .query("limit", &0)
        .header("Authorization", format!("Bearer {ADMIN_TOKEN}"))
        .send()
        .await;
    resp.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
}
