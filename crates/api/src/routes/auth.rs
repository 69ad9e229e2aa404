//! `POST /auth/register`, `POST /auth/token` (OAuth 2.0 password and refresh grants, RFC 6749),
//! `POST /auth/revoke` (RFC 7009), `POST /auth/introspect` (RFC 7662) and `POST /auth/logout`.

use poem::Request;
use poem_openapi::payload::{Form, Json};
use poem_openapi::{ApiResponse, Object, OpenApi};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use warden_domain::Error;
use warden_domain::account::NewAccount;
use warden_domain::refresh::amr;
use warden_domain::token::IssuedTokens;

use super::Tag;
use crate::client_ip::origin;
use crate::dto::UserDto;
use crate::failure::{Caller, Failure, Introspect, OAuthForm, Register};
use crate::problem::ApiError;
use crate::security::{Authenticated, state};
use crate::strict_json::StrictJson;
use grants::{mfa_grant, password_grant};

mod grants;

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

/// The token request (`application/x-www-form-urlencoded`). `scope`, `client_id` and
/// `client_secret` are accepted and ignored, so standard OAuth2 clients work as they are.
#[derive(Object, Deserialize)]
struct TokenRequest {
    /// `password`, `refresh_token` or `urn:warden:params:oauth:grant-type:mfa-otp`.
    grant_type: Option<String>,
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
    /// The opaque refresh token; it works once (the next refresh replaces it).
    refresh_token: String,
}

impl From<IssuedTokens> for TokenBody {
    fn from(t: IssuedTokens) -> Self {
        Self {
            access_token: t.access_token.expose_secret().to_owned(),
            token_type: "bearer".into(),
            expires_in: t.expires_in,
            refresh_token: t.refresh_token.expose_secret().to_owned(),
        }
    }
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

    fn issued(tokens: IssuedTokens) -> Self {
        Self::Issued(Json(tokens.into()), "no-store".into(), "no-cache".into())
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
}

/// An introspection request (RFC 7662); `token_type_hint` may be sent and is ignored.
#[derive(Object, Deserialize)]
struct IntrospectRequest {
    /// The access token to look at. Required: absent or empty is a 400.
    #[oai(validator(min_length = 1))]
    #[serde(default)]
    token: String,
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
    /// How its session's login was proved (RFC 8176): `["pwd"]` or `["pwd", "otp"]`.
    #[oai(skip_serializing_if_is_none)]
    amr: Option<Vec<String>>,
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
    /// `urn:warden:params:oauth:grant-type:mfa-otp` grant that finishes such a login, and the
    /// refresh grant.
    #[oai(path = "/auth/token", method = "post")]
    async fn token(
        &self,
        req: &Request,
        form: Form<TokenRequest>,
    ) -> Result<TokenResponse, Failure<OAuthForm>> {
        let form = form.0;
        let auth = &state(req)?.services.auth;
        let outcome = match required(form.grant_type.as_ref(), "grant_type") {
            Err(refusal) => Err(refusal.into()),
            Ok("password") => password_grant(req, auth, &form).await?,
            Ok(MFA_OTP_GRANT) => mfa_grant(req, auth, &form).await?,
            Ok("refresh_token") => match required(form.refresh_token.as_ref(), "refresh_token") {
                Err(refusal) => Err(refusal.into()),
                Ok(token) => match auth.refresh(token, &origin(req)).await {
                    Ok((_, tokens)) => Ok(tokens),
                    Err(Error::InvalidRefreshToken) => Err(refusal(
                        "invalid_grant",
                        "The refresh token is invalid, expired or revoked",
                    )
                    .into()),
                    Err(e) => return Err(e.into()),
                },
            },
            Ok(_) => Err(refusal(
                "unsupported_grant_type",
                "Supported grant types: password, refresh_token, urn:warden:params:oauth:grant-type:mfa-otp",
            )
            .into()),
        };
        Ok(match outcome {
            Ok(tokens) => TokenResponse::issued(tokens),
            Err(response) => response,
        })
    }

    /// Revoke a refresh token (RFC 7009): its login's whole refresh chain ends. The answer is
    /// 200 whether or not the token was known; an access token here changes nothing.
    #[oai(path = "/auth/revoke", method = "post")]
    async fn revoke(
        &self,
        req: &Request,
        form: Form<RevokeRequest>,
    ) -> Result<RevokeResponse, Failure<OAuthForm>> {
        let token = match required(Some(&form.0.token), "token") {
            Ok(token) => token,
            Err((body, cache, pragma)) => return Ok(RevokeResponse::Refused(body, cache, pragma)),
        };
        state(req)?
            .services
            .auth
            .revoke_refresh_token(token, &origin(req))
            .await?;
        Ok(RevokeResponse::Done)
    }

    /// Token introspection (RFC 7662), for callers with role `admin` or `service`.
    #[oai(path = "/auth/introspect", method = "post")]
    async fn introspect(
        &self,
        req: &Request,
        auth: Authenticated,
        form: Form<IntrospectRequest>,
    ) -> Result<IntrospectResponse, Failure<Introspect>> {
        let caller = auth.caller()?;
        let token = form.0.token;
        // The use case decides first whether the caller may introspect at all (a 403 comes
        // before a 400); an empty token is never active, and is then refused as malformed.
        let seen = state(req)?
            .services
            .auth
            .introspect(&caller, &token)
            .await?;
        if token.is_empty() {
            return Err(ApiError::BadRequest(Json(crate::problem::Problem::new(
                400,
                "Missing parameter: token",
            )))
            .into());
        }
        let verdict = match seen {
            Some(seen) => Introspection {
                active: true,
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
                token_type: Some("access_token".into()),
            },
            None => Introspection::default(),
        };
        Ok(IntrospectResponse::Ok(Json(verdict), "no-store".into()))
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
