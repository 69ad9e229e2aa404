//! `POST /auth/register` and `POST /auth/token` (OAuth 2.0 password grant, RFC 6749).

use poem::Request;
use poem_openapi::payload::{Form, Json};
use poem_openapi::{ApiResponse, Object, OpenApi};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use warden_domain::Error;
use warden_domain::admin::Permission;
use warden_domain::auth::NewAccount;

use super::Tag;
use crate::client_ip::ClientIp;
use crate::dto::UserDto;
use crate::problem::ApiError;
use crate::security::{Authenticated, state};

/// The resource.
#[derive(Debug)]
pub struct AuthApi;

/// A sign-up.
#[derive(Object)]
struct RegisterRequest {
    /// The email address to log in with.
    email: String,
    /// The password; must satisfy the password policy.
    #[oai(write_only)]
    password: String,
    /// An optional name to show.
    display_name: Option<String>,
}

#[derive(ApiResponse)]
enum RegisterResponse {
    /// The new account.
    #[oai(status = 201)]
    Created(Json<UserDto>),
}

/// The token request (`application/x-www-form-urlencoded`). `scope`, `client_id` and
/// `client_secret` are accepted and ignored, so standard OAuth2 clients work as they are.
#[derive(Object, Deserialize)]
struct TokenRequest {
    /// `password` (or `refresh_token`).
    grant_type: Option<String>,
    /// The email address.
    username: Option<String>,
    /// The password.
    #[oai(write_only)]
    password: Option<String>,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Object)]
struct TokenBody {
    /// The access token (a JWT).
    access_token: String,
    /// Always `bearer`.
    token_type: String,
    /// Seconds until the access token expires.
    expires_in: i64,
}

/// An error response (RFC 6749 §5.2).
#[derive(Object)]
struct OAuthErrorBody {
    /// `invalid_request`, `invalid_grant` or `unsupported_grant_type`.
    error: String,
    /// A sentence for humans.
    error_description: String,
}

#[derive(ApiResponse)]
#[oai(bad_request_handler = "invalid_request_from")]
enum TokenResponse {
    /// Tokens issued.
    #[oai(status = 200)]
    Issued(
        Json<TokenBody>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
    /// The request or the grant was refused.
    #[oai(status = 400)]
    Refused(
        Json<OAuthErrorBody>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
}

impl TokenResponse {
    fn refused(error: &str, description: &str) -> Self {
        Self::Refused(
            Json(OAuthErrorBody {
                error: error.into(),
                error_description: description.into(),
            }),
            "no-store".into(),
            "no-cache".into(),
        )
    }
}

/// A body that is not a form, or repeats a parameter.
#[allow(clippy::needless_pass_by_value)] // The signature poem-openapi calls.
fn invalid_request_from(err: poem::Error) -> TokenResponse {
    let why = if err.to_string().contains("duplicate field") {
        "A parameter is repeated"
    } else {
        "The body must be application/x-www-form-urlencoded OAuth 2.0 parameters"
    };
    TokenResponse::refused("invalid_request", why)
}

fn required<'a>(value: Option<&'a String>, name: &str) -> Result<&'a str, TokenResponse> {
    value
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            TokenResponse::refused("invalid_request", &format!("Missing parameter: {name}"))
        })
}

/// An introspection request (RFC 7662); `token_type_hint` may be sent and is ignored.
#[derive(Object, Deserialize)]
struct IntrospectRequest {
    /// The access token to look at.
    token: Option<String>,
}

/// What is known of a token; only `active` when it is not active.
#[derive(Object, Default)]
struct Introspection {
    /// Whether the token would be accepted now.
    active: bool,
    /// The user's id.
    #[oai(skip_serializing_if_is_none)]
    sub: Option<String>,
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
    /// `access_token`.
    #[oai(skip_serializing_if_is_none)]
    token_type: Option<String>,
}

#[derive(ApiResponse)]
enum LoggedOut {
    /// Every earlier access token of the caller is revoked.
    #[oai(status = 204)]
    Done,
}

#[derive(ApiResponse)]
enum IntrospectResponse {
    /// The verdict.
    #[oai(status = 200)]
    Ok(Json<Introspection>, #[oai(header = "Cache-Control")] String),
}

#[OpenApi(tag = "Tag::Auth")]
impl AuthApi {
    /// Create an account (self-service sign-up).
    #[oai(path = "/auth/register", method = "post")]
    async fn register(
        &self,
        req: &Request,
        body: Json<RegisterRequest>,
    ) -> Result<RegisterResponse, ApiError> {
        let body = body.0;
        let account = NewAccount {
            email: body.email,
            password: SecretString::from(body.password),
            display_name: body.display_name,
        };
        let user = state(req)?.services.auth.register(account).await?;
        Ok(RegisterResponse::Created(Json(UserDto::from(&user))))
    }

    /// OAuth 2.0 token endpoint: the password grant.
    #[oai(path = "/auth/token", method = "post")]
    async fn token(
        &self,
        req: &Request,
        form: Form<TokenRequest>,
    ) -> Result<TokenResponse, ApiError> {
        let form = form.0;
        let grant = match required(form.grant_type.as_ref(), "grant_type") {
            Ok(g) => g,
            Err(refused) => return Ok(refused),
        };
        if grant != "password" {
            return Ok(TokenResponse::refused(
                "unsupported_grant_type",
                "Supported grant types: password",
            ));
        }
        let (username, password) = match (
            required(form.username.as_ref(), "username"),
            required(form.password.as_ref(), "password"),
        ) {
            (Ok(u), Ok(p)) => (u, SecretString::from(p.to_owned())),
            (Err(refused), _) | (_, Err(refused)) => return Ok(refused),
        };
        let client = req
            .extensions()
            .get::<ClientIp>()
            .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0);
        match state(req)?
            .services
            .auth
            .login(username, password, client)
            .await
        {
            Ok((_, issued)) => Ok(TokenResponse::Issued(
                Json(TokenBody {
                    access_token: issued.access_token.expose_secret().to_owned(),
                    token_type: "bearer".into(),
                    expires_in: issued.expires_in,
                }),
                "no-store".into(),
                "no-cache".into(),
            )),
            Err(Error::InvalidCredentials) => Ok(TokenResponse::refused(
                "invalid_grant",
                "Invalid username or password",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Token introspection (RFC 7662), for callers with role `admin` or `service`.
    #[oai(path = "/auth/introspect", method = "post")]
    async fn introspect(
        &self,
        req: &Request,
        auth: Authenticated,
        form: Form<IntrospectRequest>,
    ) -> Result<IntrospectResponse, ApiError> {
        auth.require(Permission::IntrospectTokens)?;
        let Some(token) = form.0.token.filter(|t| !t.is_empty()) else {
            return Err(ApiError::BadRequest(Json(crate::problem::Problem::new(
                400,
                "Missing parameter: token",
            ))));
        };
        let state = state(req)?;
        let verdict = match state.services.auth.introspect(&token).await? {
            Some((claims, user)) => Introspection {
                active: true,
                sub: Some(user.id.to_string()),
                exp: Some(claims.expires_at.unix_timestamp()),
                iat: Some(claims.issued_at.unix_timestamp()),
                iss: Some(state.settings.jwt.issuer.clone()),
                aud: Some(state.settings.jwt.audience.clone()),
                role: Some(user.role.as_str().to_owned()),
                token_type: Some("access_token".into()),
            },
            None => Introspection::default(),
        };
        Ok(IntrospectResponse::Ok(Json(verdict), "no-store".into()))
    }

    /// End every session of the caller: earlier access tokens stop working at once.
    #[oai(path = "/auth/logout", method = "post")]
    async fn logout(&self, req: &Request, auth: Authenticated) -> Result<LoggedOut, ApiError> {
        let caller = auth.caller()?;
        state(req)?.services.auth.logout(&caller).await?;
        Ok(LoggedOut::Done)
    }
}
