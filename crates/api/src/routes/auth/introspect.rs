//! `POST /auth/introspect` (RFC 7662): who may ask (a confidential client by its secret, or a
//! caller whose role may introspect), and what is told of a user's or a client's token.

use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};
use serde::Deserialize;
use warden_domain::Error;
use warden_domain::clients::Inspector;
use warden_domain::refresh::amr;
use warden_domain::token::Seen;

use crate::client_auth::{BASIC_CHALLENGE, presented};
use crate::problem::{ApiError, Problem};
use crate::security::{Introspector, state};

/// An introspection request (RFC 7662); `token_type_hint` may be sent and is ignored.
#[derive(Object, Deserialize)]
pub(super) struct IntrospectRequest {
    /// The access token to look at. Required: absent or empty is a 400.
    #[oai(validator(min_length = 1))]
    #[serde(default)]
    token: String,
    /// The client asking (`client_secret_post`).
    client_id: Option<String>,
    /// Its secret (`client_secret_post`).
    #[oai(write_only)]
    client_secret: Option<String>,
}

/// What is known of a token; only `active` when it is not active.
#[derive(Object, Default)]
pub(super) struct Introspection {
    /// Whether the token would be accepted now.
    active: bool,
    /// The user's id, or the client's for a client's own token.
    #[oai(skip_serializing_if_is_none)]
    sub: Option<String>,
    /// The client a client's own token was issued to.
    #[oai(skip_serializing_if_is_none)]
    client_id: Option<String>,
    /// The scopes of a client's own token, space-separated.
    #[oai(skip_serializing_if_is_none)]
    scope: Option<String>,
    /// Expiry (seconds since the epoch).
    #[oai(skip_serializing_if_is_none)]
    exp: Option<i64>,
    /// Issue time (seconds since the epoch).
    #[oai(skip_serializing_if_is_none)]
    iat: Option<i64>,
    /// Issuer.
    #[oai(skip_serializing_if_is_none)]
    iss: Option<String>,
    /// Audience.
    #[oai(skip_serializing_if_is_none)]
    aud: Option<String>,
    /// The user's current role.
    #[oai(skip_serializing_if_is_none)]
    role: Option<String>,
    /// How its session's login was proved (RFC 8176): `["pwd"]` or `["pwd", "otp"]`.
    #[oai(skip_serializing_if_is_none)]
    amr: Option<Vec<String>>,
    /// `access_token`.
    #[oai(skip_serializing_if_is_none)]
    token_type: Option<String>,
}

#[derive(ApiResponse)]
pub(super) enum IntrospectResponse {
    /// The verdict.
    #[oai(status = 200)]
    Ok(Json<Introspection>, #[oai(header = "Cache-Control")] String),
}

/// 401 for a client that failed its authentication, or a request with no credential at all.
fn invalid_client() -> ApiError {
    ApiError::Unauthorized(
        Json(Problem::new(401, "Client authentication failed")),
        BASIC_CHALLENGE.into(),
    )
}

fn verdict(seen: Option<Seen>) -> Introspection {
    let active = |token_type: &str| Introspection {
        active: true,
        token_type: Some(token_type.into()),
        ..Introspection::default()
    };
    match seen {
        Some(Seen::User(seen)) => Introspection {
            sub: Some(seen.user.id.to_string()),
            exp: Some(seen.claims.expires_at.unix_timestamp()),
            iat: Some(seen.claims.issued_at.unix_timestamp()),
            iss: Some(seen.issuer),
            aud: Some(seen.audience),
            role: Some(seen.user.role.as_str().to_owned()),
            amr: Some(
                amr(seen.claims.second_factor)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
            ),
            ..active("access_token")
        },
        Some(Seen::Client(claims, issuer)) => Introspection {
            sub: Some(claims.client_id.clone()),
            client_id: Some(claims.client_id),
            scope: Some(claims.scope.join(" ")),
            exp: Some(claims.expires_at.unix_timestamp()),
            iat: Some(claims.issued_at.unix_timestamp()),
            iss: Some(issuer),
            aud: claims.audience,
            ..active("access_token")
        },
        None => Introspection::default(),
    }
}

/// The answer to an introspection request.
pub(super) async fn answer(
    req: &Request,
    auth: Introspector,
    form: IntrospectRequest,
) -> Result<IntrospectResponse, ApiError> {
    let services = &state(req)?.services;
    let principal = match auth.principal() {
        Some(principal) => Some(principal?),
        None => None,
    };
    let client = match (
        &principal,
        presented(
            req,
            form.client_id.as_deref(),
            form.client_secret.as_deref(),
        ),
    ) {
        (Some(_), _) => None,
        (None, Ok(Some(client))) => match services.clients.confidential(client).await {
            Ok(client) => Some(client),
            Err(Error::InvalidClient) => return Err(invalid_client()),
            Err(e) => return Err(e.into()),
        },
        (None, _) => return Err(invalid_client()),
    };
    let inspector = match (&principal, &client) {
        (Some(principal), _) => Inspector::Principal(principal),
        (None, Some(client)) => Inspector::Client(client),
        (None, None) => return Err(invalid_client()),
    };
    // The use case decides first whether the caller may introspect at all (a 403 comes before
    // a 400); an empty token is never active, and is then refused as malformed.
    let seen = services
        .clients
        .introspect(&services.auth, inspector, &form.token)
        .await?;
    if form.token.is_empty() {
        return Err(ApiError::BadRequest(Json(Problem::new(
            400,
            "Missing parameter: token",
        ))));
    }
    Ok(IntrospectResponse::Ok(
        Json(verdict(seen)),
        "no-store".into(),
    ))
}
