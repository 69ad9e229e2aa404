//! The error half of each operation's response: one [`ApiError`] narrowed, for the document, to
//! the statuses that operation can return.
//!
//! Every error response is described once, on [`ApiError`]; an operation returns
//! `Result<_, Failure<Its>>` where `Its` names its statuses, so the document lists exactly those
//! and the mapping of domain errors stays in one place (`problem.rs`).

use std::marker::PhantomData;

use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::registry::{MetaResponses, Registry};
use warden_domain::Error;

use crate::problem::ApiError;

/// The statuses an operation can answer with when it fails.
pub trait Statuses: Send + Sync + 'static {
    /// Each status, as documented on [`ApiError`].
    const STATUSES: &'static [u16];
}

/// A failed operation: an [`ApiError`] whose document entry lists only `S`'s statuses.
pub struct Failure<S>(pub ApiError, PhantomData<S>);

impl<S> std::fmt::Debug for Failure<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Failure").field(&self.0).finish()
    }
}

impl<S: Statuses> ApiResponse for Failure<S> {
    fn meta() -> MetaResponses {
        let mut meta = ApiError::meta();
        meta.responses
            .retain(|r| r.status.is_some_and(|s| S::STATUSES.contains(&s)));
        meta
    }

    fn register(registry: &mut Registry) {
        ApiError::register(registry);
    }
}

impl<S: Send> IntoResponse for Failure<S> {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

impl<S> From<ApiError> for Failure<S> {
    fn from(e: ApiError) -> Self {
        Self(e, PhantomData)
    }
}

impl<S> From<Error> for Failure<S> {
    fn from(e: Error) -> Self {
        Self(ApiError::from(e), PhantomData)
    }
}

impl<S> From<Failure<S>> for poem::Error {
    fn from(f: Failure<S>) -> Self {
        f.0.into()
    }
}

macro_rules! status_sets {
    ($($(#[$doc:meta])* $name:ident = [$($status:literal),+];)+) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;
        impl Statuses for $name {
            const STATUSES: &'static [u16] = &[$($status),+];
        }
    )+};
}

// 403 is listed wherever a caller is authenticated: an admin who must enrol a second factor
// first (`mfa.require_for_admins`) gets it everywhere but at the enrolment.
// 413 is listed where the operation takes a body, 415 where that body's type is checked,
// 429 wherever the rate limits apply (every route but the health probes), 503 wherever storage
// is read, 500 wherever the handler can fail at all.
status_sets! {
    /// `POST /auth/register`.
    Register = [400, 403, 409, 413, 415, 422, 429, 500, 503];
    /// `POST /auth/token` and `POST /auth/revoke`: their 400 is the RFC 6749 body, and a body
    /// of another type is an `invalid_request` too.
    OAuthForm = [413, 429, 500, 503];
    /// `POST /auth/introspect`.
    Introspect = [400, 401, 403, 413, 415, 429, 500, 503];
    /// An authenticated read or action without a body or parameters (403: an admin who must
    /// enrol a second factor first).
    Caller = [401, 403, 429, 500, 503];
    /// `PUT /users/me/password`.
    ChangePassword = [400, 401, 403, 413, 415, 422, 429, 500, 503];
    /// `GET /admin/users`.
    ListUsers = [401, 403, 422, 429, 500, 503];
    /// `POST /admin/users`.
    CreateUser = [400, 401, 403, 409, 413, 415, 422, 429, 500, 503];
    /// `GET /admin/users/{id}` and `POST /admin/users/{id}/unlock`.
    OneUser = [401, 403, 404, 422, 429, 500, 503];
    /// `PATCH /admin/users/{id}`.
    PatchUser = [400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503];
    /// `POST /admin/users/import`.
    ImportUsers = [400, 401, 403, 413, 415, 422, 429, 500, 503];
    /// `DELETE /admin/users/{id}`.
    DeleteUser = [401, 403, 404, 409, 422, 429, 500, 503];
    /// `POST /api-keys`.
    CreateKey = [400, 401, 403, 413, 415, 422, 429, 500, 503];
    /// `DELETE /users/me/sessions/{id}`.
    OneSession = [401, 403, 404, 429, 500, 503];
    /// `DELETE /users/me/sessions?others=true`.
    EndSessions = [401, 403, 422, 429, 500, 503];
    /// `GET /admin/users/{id}/sessions` and `DELETE /admin/users/{id}/sessions/{sid}`.
    UserSessions = [401, 403, 404, 429, 500, 503];
    /// `POST /users/me/mfa/totp`.
    Enrol = [400, 401, 403, 409, 413, 415, 422, 429, 500, 503];
    /// `POST /users/me/mfa/totp/confirm`.
    ConfirmMfa = [400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503];
    /// `POST /users/me/mfa/recovery-codes` and `DELETE /users/me/mfa/totp`.
    ChangeMfa = [400, 401, 403, 404, 413, 415, 422, 429, 500, 503];
    /// `POST /auth/email/verify`: 409 when an address change's new address was taken meanwhile.
    VerifyEmail = [400, 409, 413, 415, 422, 429, 500, 503];
    /// `POST /auth/email/verify/resend`: 429 also within a minute of the last mail; 503 when
    /// mail is off.
    Resend = [401, 403, 429, 500, 503];
    /// `POST /auth/password/forgot`.
    Forgot = [400, 413, 415, 422, 429, 500, 503];
    /// `POST /auth/password/reset`.
    ResetPassword = [400, 413, 415, 422, 429, 500, 503];
    /// `PUT /users/me/email`.
    ChangeEmail = [400, 401, 403, 409, 413, 415, 422, 429, 500, 503];
    /// `POST /admin/users/{id}/password-reset`.
    OneUserMail = [401, 403, 404, 422, 429, 500, 503];
    /// `GET /admin/audit`.
    ListAudit = [401, 403, 422, 429, 500, 503];
    /// `POST /admin/clients`.
    CreateClient = [400, 401, 403, 413, 415, 422, 429, 500, 503];
    /// `GET` and `DELETE /admin/clients/{client_id}`.
    OneClient = [401, 403, 404, 429, 500, 503];
    /// `POST /admin/clients/{client_id}/secret`: 422 for a public client.
    RotateSecret = [401, 403, 404, 422, 429, 500, 503];
    /// `PATCH /admin/clients/{client_id}`.
    PatchClient = [400, 401, 403, 404, 413, 415, 422, 429, 500, 503];
    /// `DELETE /api-keys/{id}`.
    RevokeKey = [401, 403, 404, 422, 429, 500, 503];
    /// `GET /health/ready`: its 503 is its own answer.
    Ready = [500];
    /// `GET /.well-known/jwks.json`.
    Jwks = [429, 500];
    /// `GET /.well-known/oauth-authorization-server`: 404 while the issuer is not a URL.
    Discovery = [404, 429, 500];
}
