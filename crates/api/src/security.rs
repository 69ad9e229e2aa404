//! Security schemes: how a caller proves who it is. Each checker calls a domain use case.

use std::sync::Arc;

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use warden_domain::user::User;

use crate::problem::ApiError;
use crate::state::AppState;

/// `Authorization: Bearer <access token>`, issued by the OAuth2 password flow.
#[derive(SecurityScheme)]
#[oai(
    rename = "OAuth2",
    ty = "oauth2",
    flows(password(token_url = "/auth/token")),
    checker = "check_bearer"
)]
pub struct BearerAuth(pub User);

impl std::fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("BearerAuth").field(&self.0.id).finish()
    }
}

/// The shared state, put on every route by the application.
pub fn state(req: &Request) -> Result<&Arc<AppState>, ApiError> {
    req.data::<Arc<AppState>>().ok_or_else(|| {
        ApiError::from(warden_domain::Error::internal("application state is missing"))
    })
}

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<User> {
    let state = state(req)?;
    state
        .services
        .auth
        .authenticate_bearer(&bearer.token)
        .await
        .map_err(|e| ApiError::from(e).into())
}
