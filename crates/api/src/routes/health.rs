//! `GET /health/live`, `GET /health/ready` and `GET /.well-known/jwks.json`.

use std::time::Duration;

use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::Tag;
use crate::failure::{Failure, Jwks, Ready};
use crate::problem::Problem;
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
enum LiveResponse {
    /// Up.
    #[oai(status = 200)]
    Ok(Json<Status>),
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

/// How long readiness may wait on storage and Redis: a probe with a one-second timeout
/// must see a 503, not a timeout, whatever the database does.
pub const READY_BUDGET: Duration = Duration::from_millis(800);

fn ok() -> HealthResponse {
    HealthResponse::Ok(Json(Status {
        status: "ok".into(),
    }))
}

#[OpenApi(tag = "Tag::Operations")]
impl HealthApi {
    /// Liveness: the process answers.
    #[oai(path = "/health/live", method = "get")]
    async fn live(&self) -> LiveResponse {
        LiveResponse::Ok(Json(Status {
            status: "ok".into(),
        }))
    }

    /// Readiness: storage answers, and so does Redis when `redis.url` is set, both within
    /// 800 ms; otherwise 503.
    #[oai(path = "/health/ready", method = "get")]
    async fn ready(&self, req: &Request) -> Result<HealthResponse, Failure<Ready>> {
        let readiness = &state(req)?.services.readiness;
        let checks =
            async { tokio::join!(readiness.storage_ready(), readiness.shared_store_ready()) };
        let unavailable = |detail| Ok(HealthResponse::Unavailable(Json(Problem::new(503, detail))));
        let Ok((storage, redis)) = tokio::time::timeout(READY_BUDGET, checks).await else {
            return unavailable("Storage or Redis did not answer in time");
        };
        if !storage {
            unavailable("Storage does not answer")
        } else if redis == Some(false) {
            unavailable("Redis does not answer; rate limits are per instance until it does")
        } else {
            Ok(ok())
        }
    }

    /// The public keys that verify access tokens (empty under HS256).
    #[oai(path = "/.well-known/jwks.json", method = "get")]
    async fn jwks(&self, req: &Request) -> Result<JwksResponse, Failure<Jwks>> {
        let state = state(req)?;
        Ok(JwksResponse::Ok(
            Json(state.jwks.clone()),
            "public, max-age=300".into(),
        ))
    }
}
