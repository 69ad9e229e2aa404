//! The grants of `POST /auth/token` that sign in with a password: the password grant (with
//! the second factor in the same request when the client sends it) and the `mfa-otp` grant
//! that finishes a login waiting for its second factor. Their `origin` names the registered
//! client they are for, if any: the session is that client's to refresh.

use poem::Request;
use poem_openapi::payload::Json;
use secrecy::{ExposeSecret, SecretString};
use warden_domain::Error;
use warden_domain::auth::AuthService;
use warden_domain::mfa::Proof;
use warden_domain::token::IssuedTokens;
use warden_domain::user::User;

use super::{MfaRequiredBody, TokenRequest, TokenResponse, refusal, required};
use crate::problem::ApiError;
use warden_domain::origin::Origin;

/// The second factor sent with a grant: `otp`, else `recovery_code`.
fn proof(form: &TokenRequest) -> Option<Proof> {
    let given = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    given(&form.otp)
        .map(Proof::Otp)
        .or_else(|| given(&form.recovery_code).map(|c| Proof::RecoveryCode(c.into())))
}

/// What a login's outcome answers: the tokens, the challenge of a second factor, or the
/// refusal of a wrong password or code; anything else is a failure of the service.
fn login_outcome(
    outcome: Result<(User, IssuedTokens), Error>,
) -> Result<Result<IssuedTokens, TokenResponse>, ApiError> {
    let refused = |what| {
        let (body, cache, pragma) = refusal("invalid_grant", what);
        Ok(Err(TokenResponse::Refused(body, cache, pragma)))
    };
    match outcome {
        Ok((_, tokens)) => Ok(Ok(tokens)),
        Err(Error::InvalidCredentials) => refused("Invalid username or password"),
        Err(Error::InvalidCode) => refused("The code is invalid, used already or expired"),
        // Only the owner, who gave the right password, learns this.
        Err(Error::EmailNotVerified(_)) => refused(
            "The email address is not verified: open the link in the verification mail \
             (a new one goes out at most once a minute)",
        ),
        Err(Error::MfaRequired(token)) => Ok(Err(TokenResponse::MfaRequired(
            Json(MfaRequiredBody {
                error: "mfa_required".into(),
                error_description:
                    "A second factor is required: send mfa_token with otp or recovery_code".into(),
                mfa_token: token.expose_secret().to_owned(),
            }),
            "no-store".into(),
            "no-cache".into(),
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The password grant, with the second factor in the same request when the client sends it.
pub(super) async fn password_grant(
    req: &Request,
    auth: &AuthService,
    form: &TokenRequest,
    origin: Origin,
) -> Result<Result<IssuedTokens, TokenResponse>, ApiError> {
    let (username, password) = match (
        required(form.username.as_ref(), "username"),
        required(form.password.as_ref(), "password"),
    ) {
        (Ok(u), Ok(p)) => (u, SecretString::from(p.to_owned())),
        (Err(refusal), _) | (_, Err(refusal)) => return Ok(Err(TokenResponse::from(refusal))),
    };
    let outcome = auth
        .login_with(username, password, proof(form), origin.clone())
        .await;
    if let Err(Error::EmailNotVerified(user_id)) = &outcome {
        // The right password of an unverified address: a fresh link (throttled), so that a
        // lost or expired one never leaves the user stuck.
        let recovery = &crate::security::state(req)?.services.recovery;
        if let Err(e) = recovery.remind(*user_id, &origin).await {
            tracing::warn!(error = %e.with_causes(), "could not queue a verification mail");
        }
    }
    login_outcome(outcome)
}

/// The `mfa-otp` grant: a login's challenge and a code of its second factor.
pub(super) async fn mfa_grant(
    auth: &AuthService,
    form: &TokenRequest,
    origin: &Origin,
) -> Result<Result<IssuedTokens, TokenResponse>, ApiError> {
    let token = match required(form.mfa_token.as_ref(), "mfa_token") {
        Ok(token) => token,
        Err(refusal) => return Ok(Err(TokenResponse::from(refusal))),
    };
    let Some(proof) = proof(form) else {
        let missing = refusal("invalid_request", "Missing parameter: otp or recovery_code");
        return Ok(Err(TokenResponse::from(missing)));
    };
    login_outcome(auth.complete_login(token, proof, origin).await)
}
