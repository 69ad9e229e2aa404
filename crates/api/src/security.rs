//! Security schemes: how a caller proves who it is. Each checker calls a domain use case.
//!
//! A checker fails only when its credential is absent, so that poem-openapi moves on to the next
//! scheme; a presented credential's verdict travels inside the scheme ([`Checked`]) and becomes a
//! 401 with `error="invalid_token"` in the handler. (poem-openapi reports only the last scheme's
//! error, which would otherwise hide why a presented key was refused.)

use std::sync::Arc;

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::{ApiKey, Bearer};
use warden_domain::Error;
use warden_domain::principal::Principal;

use crate::client_ip::origin;
use crate::problem::ApiError;
use crate::state::AppState;

/// The verdict on a presented credential: the principal it authenticates.
pub type Checked = Result<Principal, Error>;

/// `Authorization: Bearer <access token>`, issued by the OAuth2 password flow.
#[derive(SecurityScheme)]
#[oai(
    rename = "OAuth2",
    ty = "oauth2",
    flows(password(token_url = "/auth/token")),
    checker = "check_bearer"
)]
pub struct BearerAuth(Checked);

/// An API key in the `X-API-Key` header.
#[derive(SecurityScheme)]
#[oai(
    rename = "ApiKeyHeader",
    ty = "api_key",
    key_name = "X-API-Key",
    key_in = "header",
    checker = "check_header_key"
)]
pub struct ApiKeyHeader(Checked);

/// An API key in the `api_key` query parameter (unless `api_keys.allow_query_param` is off).
#[derive(SecurityScheme)]
#[oai(
    rename = "ApiKeyQuery",
    ty = "api_key",
    key_name = "api_key",
    key_in = "query",
    checker = "check_query_key"
)]
pub struct ApiKeyQuery(Checked);

/// A bearer token or an API key: what most endpoints accept.
#[derive(SecurityScheme)]
pub enum Authenticated {
    /// A bearer token.
    Bearer(BearerAuth),
    /// A key in the header.
    Header(ApiKeyHeader),
    /// A key in the query string.
    Query(ApiKeyQuery),
}

/// A client's id and secret by HTTP Basic (`client_secret_basic`); read, form-urlencoding and
/// all, by [`crate::client_auth::presented`] in the handler.
#[derive(SecurityScheme)]
#[oai(
    rename = "ClientSecretBasic",
    ty = "basic",
    checker = "check_client_basic"
)]
pub struct ClientSecretBasic(());

/// Who may call `POST /auth/introspect`: a caller by bearer token or API key (whose role must
/// allow it), or a confidential client by HTTP Basic or by `client_id` and `client_secret` in
/// the form (the fallback, read in the handler).
#[derive(SecurityScheme)]
pub enum Introspector {
    /// A bearer token.
    Bearer(BearerAuth),
    /// A key in the header.
    Header(ApiKeyHeader),
    /// A key in the query string.
    Query(ApiKeyQuery),
    /// A client by HTTP Basic.
    Client(ClientSecretBasic),
    /// Nothing the schemes read: perhaps a client in the form.
    #[oai(fallback)]
    Unnamed,
}

impl Introspector {
    /// The principal of a bearer token or an API key (or the 401, 503 or 403 it earned), or
    /// `None` when the caller is a client.
    pub fn principal(self) -> Option<Result<Principal, ApiError>> {
        match self {
            Self::Bearer(b) => Some(b.caller()),
            Self::Header(k) => Some(Authenticated::Header(k).caller()),
            Self::Query(k) => Some(Authenticated::Query(k).caller()),
            Self::Client(_) | Self::Unnamed => None,
        }
    }
}

macro_rules! redacted_debug {
    ($($t:ty),*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($t), "([redacted])"))
            }
        }
    )*};
}
redacted_debug!(
    BearerAuth,
    ApiKeyHeader,
    ApiKeyQuery,
    Authenticated,
    ClientSecretBasic,
    Introspector
);

fn verdict(checked: Checked) -> Result<Principal, ApiError> {
    checked.map_err(ApiError::from)
}

impl BearerAuth {
    /// The authenticated principal, or the 401 (or 503) the token earned, or the 403 of an
    /// admin who must enrol a second factor first. What it may do is the use case's decision.
    pub fn caller(self) -> Result<Principal, ApiError> {
        unrestricted(verdict(self.0)?)
    }

    /// The authenticated principal, even one that may only enrol a second factor: for the
    /// enrolment endpoints alone.
    pub fn enrolling_caller(self) -> Result<Principal, ApiError> {
        verdict(self.0)
    }
}

/// A principal that may do more than enrol; else the 403 that says it must enrol first.
fn unrestricted(principal: Principal) -> Result<Principal, ApiError> {
    if principal.enrolment_only() {
        return Err(Error::MfaEnrolmentRequired.into());
    }
    Ok(principal)
}

impl Authenticated {
    /// The authenticated principal, or the 401 (or 503) the credential earned, or the 403 of
    /// an admin who must enrol a second factor first. What it may do is the use case's decision.
    pub fn caller(self) -> Result<Principal, ApiError> {
        unrestricted(self.enrolling_caller()?)
    }

    /// The authenticated principal, even one that may only enrol a second factor: for ending
    /// its own sessions, which such a caller may always do.
    pub fn enrolling_caller(self) -> Result<Principal, ApiError> {
        verdict(match self {
            Self::Bearer(BearerAuth(c))
            | Self::Header(ApiKeyHeader(c))
            | Self::Query(ApiKeyQuery(c)) => c,
        })
    }
}

/// The shared state, put on every route by the application.
pub fn state(req: &Request) -> Result<&Arc<AppState>, ApiError> {
    req.data::<Arc<AppState>>()
        .ok_or_else(|| ApiError::from(Error::internal("application state is missing")))
}

async fn check_bearer(req: &Request, bearer: Bearer) -> Option<Checked> {
    Some(match state(req) {
        Ok(s) => s
            .services
            .auth
            .authenticate_bearer(&bearer.token)
            .await
            .map(|p| {
                p.calling_from(origin(req))
                    .under(s.services.auth.mfa_policy())
            }),
        Err(_) => Err(Error::internal("application state is missing")),
    })
}

async fn check_key(req: &Request, key: &str) -> Checked {
    match state(req) {
        Ok(s) => s.services.keys.authenticate(key).await.map(|p| {
            p.calling_from(origin(req))
                .under(s.services.auth.mfa_policy())
        }),
        Err(_) => Err(Error::internal("application state is missing")),
    }
}

async fn check_header_key(req: &Request, key: ApiKey) -> Option<Checked> {
    Some(check_key(req, &key.key).await)
}

async fn check_query_key(req: &Request, key: ApiKey) -> Option<Checked> {
    // When the setting is off the parameter is ignored, as if absent.
    let allowed = state(req).is_ok_and(|s| s.config.api_keys_in_query);
    if allowed {
        Some(check_key(req, &key.key).await)
    } else {
        None
    }
}

async fn check_client_basic(_req: &Request, _basic: poem_openapi::auth::Basic) -> Option<()> {
    Some(())
}
