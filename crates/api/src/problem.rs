//! Errors at the HTTP edge: RFC 9457 problem documents, and the one mapping from domain errors.

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};
use tracing::error;
use warden_domain::Error;
use warden_domain::recovery::MAIL_INTERVAL;

/// The media type of every problem document.
pub const PROBLEM_JSON: &str = "application/problem+json";
/// `WWW-Authenticate` when a presented credential was rejected (RFC 6750 §3.1).
pub const INVALID_TOKEN_CHALLENGE: &str = "Bearer error=\"invalid_token\"";
/// `WWW-Authenticate` when no credential was presented.
pub const BEARER_CHALLENGE: &str = "Bearer";

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Object)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[oai(rename = "type")]
    pub kind: String,
    /// The status's reason phrase.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, for a human.
    pub detail: String,
    /// With 422: every reason the input was refused.
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<Vec<String>>,
}

impl Problem {
    /// A problem with this status and detail.
    pub fn new(status: u16, detail: impl Into<String>) -> Self {
        let title = poem::http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error")
            .to_owned();
        Self {
            kind: "about:blank".into(),
            title,
            status,
            detail: detail.into(),
            errors: None,
        }
    }
}

/// Every error response but those of the OAuth endpoints, each a problem document.
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// A body that is not JSON at all, a malformed form, a wrong current password, a wrong
    /// second-factor code, or a link's token that is invalid, used or expired.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// No credentials, or rejected ones.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>, #[oai(header = "WWW-Authenticate")] String),
    /// The caller's role does not allow this, registration or the second factor is off, or an
    /// admin must enrol a second factor first.
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// No such resource.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The email is taken, the change would leave no enabled admin, or a second factor is
    /// active already.
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// The body is larger than `server.max_body_bytes`.
    #[oai(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Json<Problem>),
    /// The body is not of the media type this operation takes.
    #[oai(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Json<Problem>),
    /// Input of the wrong type, out of range, or breaking a rule; `errors` lists every reason.
    #[oai(status = 422, content_type = "application/problem+json")]
    Unprocessable(Json<Problem>),
    /// Over this address's rate limit, or a mail of this kind went to the account less than a
    /// minute ago; `Retry-After` says when to try again.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Problem>, #[oai(header = "Retry-After")] u64),
    /// Opaque: the log has the whole chain.
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
    /// Storage does not answer, or mail is not configured; try again later.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Problem>),
}

impl ApiError {
    /// 401 for a presented credential that was rejected.
    pub fn invalid_token() -> Self {
        Self::Unauthorized(
            Json(Problem::new(
                401,
                "The credentials are invalid, expired or revoked",
            )),
            INVALID_TOKEN_CHALLENGE.into(),
        )
    }

    /// 422 listing every reason.
    pub fn unprocessable(reasons: Vec<String>) -> Self {
        let mut p = Problem::new(422, reasons.join("; "));
        p.errors = Some(reasons);
        Self::Unprocessable(Json(p))
    }
}

/// Logs an unexpected failure with its whole `source()` chain and returns what the client may
/// see: the request's id (the `X-Request-Id` of its response) names it in both.
fn opaque(status: u16, e: &Error) -> Json<Problem> {
    let id = crate::request_id::current()
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), |id| id.to_string());
    error!(error_id = %id, error = %e.with_causes(), "request failed");
    let what = if status == 503 {
        "Service unavailable"
    } else {
        "Internal error"
    };
    Json(Problem::new(status, format!("{what} (error id {id})")))
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            // A challenge only the token endpoint opens, and answers itself.
            Error::InvalidCredentials
            | Error::InvalidToken
            | Error::InvalidRefreshToken
            | Error::MfaRequired(_)
            | Error::EmailNotVerified(_) => Self::invalid_token(),
            Error::InvalidCode => Self::BadRequest(Json(Problem::new(
                400,
                "The code is invalid, used already or expired",
            ))),
            Error::MfaActive => Self::Conflict(Json(Problem::new(
                409,
                "A second factor is active already; remove it first",
            ))),
            Error::MfaEnrolmentRequired => Self::Forbidden(Json(Problem::new(
                403,
                "Admins must enrol a second factor first: POST /users/me/mfa/totp",
            ))),
            Error::MfaDisabled => Self::Forbidden(Json(Problem::new(
                403,
                "The second factor is turned off on this server",
            ))),
            Error::WrongPassword => {
                Self::BadRequest(Json(Problem::new(400, "The current password is wrong")))
            }
            Error::EmailTaken => Self::Conflict(Json(Problem::new(
                409,
                "This email address is already registered",
            ))),
            Error::Invalid(reasons) => Self::unprocessable(reasons),
            Error::RegistrationDisabled => {
                Self::Forbidden(Json(Problem::new(403, "Registration is disabled")))
            }
            Error::Forbidden => {
                Self::Forbidden(Json(Problem::new(403, "Insufficient permissions")))
            }
            Error::NotFound => Self::NotFound(Json(Problem::new(404, "Not found"))),
            // Errors the OAuth endpoints answer themselves, in RFC 6749's shape.
            Error::InvalidClient => Self::Unauthorized(
                Json(Problem::new(401, "Client authentication failed")),
                crate::client_auth::BASIC_CHALLENGE.into(),
            ),
            Error::UnauthorizedClient | Error::InvalidScope => {
                Self::BadRequest(Json(Problem::new(400, e.to_string())))
            }
            Error::LastAdmin => Self::Conflict(Json(Problem::new(
                409,
                "The last enabled admin cannot be removed, disabled or demoted",
            ))),
            Error::InvalidAccountToken => Self::BadRequest(Json(Problem::new(
                400,
                "The link is invalid, used already, replaced by a newer one, or expired",
            ))),
            Error::MailThrottled => Self::TooManyRequests(
                Json(Problem::new(
                    429,
                    "A mail of this kind went to this account less than a minute ago",
                )),
                u64::try_from(MAIL_INTERVAL.whole_seconds()).unwrap_or(60),
            ),
            Error::MailOff => Self::Unavailable(Json(Problem::new(
                503,
                "Mail is not configured on this server",
            ))),
            Error::Unavailable(_) => Self::Unavailable(opaque(503, &e)),
            Error::Internal(_) => Self::Internal(opaque(500, &e)),
        }
    }
}
