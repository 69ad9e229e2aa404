//! `GET /health/live`, `GET /health/ready` and `GET /.well-known/jwks.json`.

use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::Tag;
use crate::problem::{ApiError, Problem};
use crate::security::state;

/// The resource.
#[derive(Debug)]
pub struct HealthApi;

/// A health status.
#[derive(Object)]
struct Status {
    /// `ok`.
    status: String,
}

#[derive(ApiResponse)]
enum HealthResponse {
    /// Up.
    #[oai(status = 200)]
    Ok(Json<Status>),
    /// A dependency does not answer.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Problem>),
}

#[derive(ApiResponse)]
enum JwksResponse {
    /// The public verification keys.
    #[oai(status = 200)]
    Ok(
        Json<serde_json::Value>,
        #[oai(header = "Cache-Control")] String,
    ),
}

fn ok() -> HealthResponse {
    HealthResponse::Ok(Json(Status {
        status: "ok".into(),
    }))
}

#[OpenApi(tag = "Tag::Operations")]
impl HealthApi {
    /// Liveness: the process answers.
    #[oai(path = "/health/live", method = "get")]
    async fn live(&self) -> HealthResponse {
        ok()
    }

    /// Readiness: storage answers.
    #[oai(path = "/health/ready", method = "get")]
    async fn ready(&self, req: &Request) -> Result<HealthResponse, ApiError> {
        if state(req)?.services.storage_ready().await {
            Ok(ok())
        } else {
            Ok(HealthResponse::Unavailable(Json(Problem::new(
                503,
                "Storage does not answer",
            ))))
        }
    }

    /// The public keys that verify access tokens (empty under HS256).
    #[oai(path = "/.well-known/jwks.json", method = "get")]
    async fn jwks(&self, req: &Request) -> Result<JwksResponse, ApiError> {
        let state = state(req)?;
        Ok(JwksResponse::Ok(
            Json(state.jwks.clone()),
            "public, max-age=300".into(),
        ))
    }
}
