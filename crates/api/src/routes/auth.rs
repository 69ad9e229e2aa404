//! `POST /auth/register`, `POST /auth/token` (OAuth 2.0 password and refresh grants, RFC 6749),
//! `POST /auth/revoke` (RFC 7009), `POST /auth/introspect` (RFC 7662) and `POST /auth/logout`.

use poem::Request;
use poem_openapi::payload::{Form, Json};
use poem_openapi::{ApiResponse, Object, OpenApi};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use warden_domain::Error;
use warden_domain::account::NewAccount;
use warden_domain::clients::ClientToken;
use warden_domain::token::IssuedTokens;

use super::Tag;
use crate::client_auth::{BASIC_CHALLENGE, Unreadable, presented};
use crate::client_ip::origin;
use crate::dto::UserDto;
use crate::failure::{Caller, Failure, Introspect, OAuthForm, Register};
use crate::problem::ApiError;
use crate::security::{Authenticated, Introspector, state};
use crate::strict_json::StrictJson;
mod grants;
mod introspect;
mod token;

use introspect::{IntrospectRequest, IntrospectResponse};

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
    /// An optional name to show: at most 100 characters.
    #[oai(validator(max_length = 100))]
    display_name: Option<String>,
}

#[derive(ApiResponse)]
enum RegisterResponse {
    /// The new account.
    #[oai(status = 201)]
    Created(Json<UserDto>),
}

/// The token request (`application/x-www-form-urlencoded`). A registered client authenticates
/// with HTTP Basic or with `client_id` and `client_secret` here; a request without `client_id`
/// is the built-in client's (`oauth.default_client`).
#[derive(Object, Deserialize)]
struct TokenRequest {
    /// `password`, `refresh_token`, `client_credentials` or
    /// `urn:warden:params:oauth:grant-type:mfa-otp`.
    grant_type: Option<String>,
    /// The client (`client_secret_post`, or a public client); absent: the built-in client.
    client_id: Option<String>,
    /// The client's secret (`client_secret_post`).
    #[oai(write_only)]
    client_secret: Option<String>,
    /// Space-separated scopes asked for (`client_credentials`); absent: every scope the client
    /// is allowed.
    scope: Option<String>,
    /// The email address (password grant).
    username: Option<String>,
    /// The password (password grant).
    #[oai(write_only)]
    password: Option<String>,
    /// The refresh token (refresh grant).
    #[oai(write_only)]
    refresh_token: Option<String>,
    /// The challenge of a login waiting for its second factor (the `mfa-otp` grant).
    #[oai(write_only)]
    mfa_token: Option<String>,
    /// Six digits of the authenticator app: with `mfa_token`, or with the password in one step.
    #[oai(write_only)]
    otp: Option<String>,
    /// An unspent recovery code, instead of `otp`.
    #[oai(write_only)]
    recovery_code: Option<String>,
}

/// The grant that finishes a login waiting for its second factor.
const MFA_OTP_GRANT: &str = "urn:warden:params:oauth:grant-type:mfa-otp";

/// The password was right, and the account has a second factor.
#[derive(Object)]
struct MfaRequiredBody {
    /// `mfa_required`.
    error: String,
    /// A sentence for humans.
    error_description: String,
    /// Send it back with the `urn:warden:params:oauth:grant-type:mfa-otp` grant and a code:
    /// it works once, for 5 minutes.
    mfa_token: String,
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
    /// The opaque refresh token; it works once (the next refresh replaces it). None for
    /// `client_credentials`.
    #[oai(skip_serializing_if_is_none)]
    refresh_token: Option<String>,
    /// The scopes granted (`client_credentials`).
    #[oai(skip_serializing_if_is_none)]
    scope: Option<String>,
}

impl From<IssuedTokens> for TokenBody {
    fn from(t: IssuedTokens) -> Self {
        Self {
            access_token: t.access_token.expose_secret().to_owned(),
            token_type: "bearer".into(),
            expires_in: t.expires_in,
            refresh_token: Some(t.refresh_token.expose_secret().to_owned()),
            scope: None,
        }
    }
}

impl From<ClientToken> for TokenBody {
    fn from(t: ClientToken) -> Self {
        Self {
            access_token: t.access_token.expose_secret().to_owned(),
            token_type: "bearer".into(),
            expires_in: t.expires_in,
            refresh_token: None,
            scope: Some(t.scope.join(" ")),
        }
    }
}

/// An error response (RFC 6749 §5.2).
#[derive(Object)]
struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `invalid_scope` or `unsupported_grant_type`.
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
    /// The client failed its authentication (`invalid_client`).
    #[oai(status = 401)]
    Unauthorized(
        Json<OAuthErrorBody>,
        #[oai(header = "WWW-Authenticate")] String,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
    /// The password was right and the account has a second factor: finish with `mfa_token`.
    #[oai(status = 403)]
    MfaRequired(
        Json<MfaRequiredBody>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
}

/// An RFC 6749 §5.2 error body, with the headers §5.1 asks for.
type Refusal = (Json<OAuthErrorBody>, String, String);

fn refusal(error: &str, description: &str) -> Refusal {
    (
        Json(OAuthErrorBody {
            error: error.into(),
            error_description: description.into(),
        }),
        "no-store".into(),
        "no-cache".into(),
    )
}

impl From<Refusal> for TokenResponse {
    fn from((body, cache, pragma): Refusal) -> Self {
        Self::Refused(body, cache, pragma)
    }
}

impl TokenResponse {
    fn refused(error: &str, description: &str) -> Self {
        let (body, cache, pragma) = refusal(error, description);
        Self::Refused(body, cache, pragma)
    }

    fn issued(tokens: impl Into<TokenBody>) -> Self {
        Self::Issued(Json(tokens.into()), "no-store".into(), "no-cache".into())
    }

    /// 401 `invalid_client`, with the Basic challenge RFC 6749 §5.2 asks for.
    fn invalid_client() -> Self {
        let (body, cache, pragma) = refusal("invalid_client", "Client authentication failed");
        Self::Unauthorized(body, BASIC_CHALLENGE.into(), cache, pragma)
    }
}

/// Why a body poem-openapi could not read is an `invalid_request`, told by the error's kind: a
/// body of another media type, or a form that does not parse (a parameter repeated, say).
fn why_invalid(err: &poem::Error) -> &'static str {
    if err.is::<poem_openapi::error::ParseRequestPayloadError>() {
        "The parameters are malformed, or one is repeated"
    } else {
        "The body must be application/x-www-form-urlencoded OAuth 2.0 parameters"
    }
}

/// A token request that is not a form, or repeats a parameter.
#[allow(clippy::needless_pass_by_value)] // The signature poem-openapi calls.
fn invalid_request_from(err: poem::Error) -> TokenResponse {
    TokenResponse::refused("invalid_request", why_invalid(&err))
}

/// A revocation request that is not a form, or repeats a parameter.
#[allow(clippy::needless_pass_by_value)] // The signature poem-openapi calls.
fn invalid_revoke_from(err: poem::Error) -> RevokeResponse {
    let (body, cache, pragma) = refusal("invalid_request", why_invalid(&err));
    RevokeResponse::Refused(body, cache, pragma)
}

fn required<'a>(value: Option<&'a String>, name: &str) -> Result<&'a str, Refusal> {
    value
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| refusal("invalid_request", &format!("Missing parameter: {name}")))
}

/// A revocation request (RFC 7009); `token_type_hint` may be sent and is ignored.
#[derive(Object, Deserialize)]
struct RevokeRequest {
    /// The refresh token whose login should end. Required: absent or empty is an
    /// `invalid_request`.
    #[oai(write_only, validator(min_length = 1))]
    #[serde(default)]
    token: String,
    /// The client asking (`client_secret_post`, or a public client).
    client_id: Option<String>,
    /// Its secret (`client_secret_post`).
    #[oai(write_only)]
    client_secret: Option<String>,
}

#[derive(ApiResponse)]
#[oai(bad_request_handler = "invalid_revoke_from")]
enum RevokeResponse {
    /// Done, or nothing to do: the answer is the same whether the token was known or not.
    #[oai(status = 200)]
    Done,
    /// The request was malformed.
    #[oai(status = 400)]
    Refused(
        Json<OAuthErrorBody>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
    /// The client failed its authentication (`invalid_client`).
    #[oai(status = 401)]
    Unauthorized(
        Json<OAuthErrorBody>,
        #[oai(header = "WWW-Authenticate")] String,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
}

#[derive(ApiResponse)]
enum LoggedOut {
    /// Every earlier access token of the caller is revoked.
    #[oai(status = 204)]
    Done,
}

#[OpenApi(tag = "Tag::Auth")]
impl AuthApi {
    /// Create an account (self-service sign-up).
    #[oai(path = "/auth/register", method = "post")]
    async fn register(
        &self,
        req: &Request,
        body: StrictJson<RegisterRequest>,
    ) -> Result<RegisterResponse, Failure<Register>> {
        let body = body.0;
        let account = NewAccount {
            email: body.email,
            password: SecretString::from(body.password),
            display_name: body.display_name,
        };
        let services = &state(req)?.services;
        let origin = origin(req);
        let user = services.accounts.register(account, &origin).await?;
        crate::routes::recovery::welcome(services, &user, Some(&origin)).await;
        Ok(RegisterResponse::Created(Json(UserDto::from(&user))))
    }

    /// OAuth 2.0 token endpoint: the password grant (with `otp` or `recovery_code` for an
    /// account with a second factor, or else a 403 `mfa_required` with an `mfa_token`), the
    /// `urn:warden:params:oauth:grant-type:mfa-otp` grant that finishes such a login, the
    /// refresh grant, and `client_credentials` for a confidential client (HTTP Basic or
    /// `client_secret_post`).
    #[oai(path = "/auth/token", method = "post")]
    async fn token(
        &self,
        req: &Request,
        form: Form<TokenRequest>,
    ) -> Result<TokenResponse, Failure<OAuthForm>> {
        Ok(token::grant(req, &form.0).await?)
    }

    /// Revoke a refresh token (RFC 7009): its login's whole refresh chain ends. The answer is
    /// 200 whether or not the token was known; an access token here changes nothing. A client
    /// that sends credentials (HTTP Basic or `client_secret_post`) must pass their check.
    #[oai(path = "/auth/revoke", method = "post")]
    async fn revoke(
        &self,
        req: &Request,
        form: Form<RevokeRequest>,
    ) -> Result<RevokeResponse, Failure<OAuthForm>> {
        let form = form.0;
        let token = match required(Some(&form.token), "token") {
            Ok(token) => token,
            Err((body, cache, pragma)) => return Ok(RevokeResponse::Refused(body, cache, pragma)),
        };
        let services = &state(req)?.services;
        let client = presented(
            req,
            form.client_id.as_deref(),
            form.client_secret.as_deref(),
        );
        let identified = match client {
            Ok(client) => services.clients.identify(client).await,
            Err(Unreadable::Malformed) => Err(Error::InvalidClient),
            Err(Unreadable::Ambiguous) => {
                let (body, cache, pragma) = refusal(
                    "invalid_request",
                    "Send the client's credentials one way: HTTP Basic or the form",
                );
                return Ok(RevokeResponse::Refused(body, cache, pragma));
            }
        };
        match identified {
            Ok(_) => {}
            Err(Error::InvalidClient) => {
                let (body, cache, pragma) =
                    refusal("invalid_client", "Client authentication failed");
                let challenge = BASIC_CHALLENGE.into();
                return Ok(RevokeResponse::Unauthorized(body, challenge, cache, pragma));
            }
            Err(e) => return Err(ApiError::from(e).into()),
        }
        services
            .auth
            .revoke_refresh_token(token, &origin(req))
            .await?;
        Ok(RevokeResponse::Done)
    }

    /// Token introspection (RFC 7662), for a confidential client (HTTP Basic or
    /// `client_secret_post`), or a caller with role `admin` or `service`.
    #[oai(path = "/auth/introspect", method = "post")]
    async fn introspect(
        &self,
        req: &Request,
        auth: Introspector,
        form: Form<IntrospectRequest>,
    ) -> Result<IntrospectResponse, Failure<Introspect>> {
        Ok(introspect::answer(req, auth, form.0).await?)
    }

    /// End every session of the caller: earlier access tokens stop working at once.
    #[oai(path = "/auth/logout", method = "post")]
    async fn logout(
        &self,
        req: &Request,
        auth: Authenticated,
    ) -> Result<LoggedOut, Failure<Caller>> {
        let caller = auth.enrolling_caller()?;
        state(req)?.services.auth.logout(&caller).await?;
        Ok(LoggedOut::Done)
    }
}
