//! `/users/me/mfa/…`: the caller's TOTP second factor (bearer token only, with the current
//! password), and `DELETE /admin/users/{id}/mfa`, its reset by an admin.

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;
use warden_domain::mfa::{Proof, RecoveryCodes};

use super::Tag;
use crate::failure::{ChangeMfa, ConfirmMfa, Enrol, Failure, OneUser};
use crate::security::{Authenticated, BearerAuth, state};
use crate::strict_json::StrictJson;

/// The resource.
#[derive(Debug)]
pub struct MfaApi;

/// The caller's password, to start an enrolment.
#[derive(Object)]
struct EnrolRequest {
    /// The password now.
    #[oai(write_only)]
    current_password: String,
}

/// What an authenticator app needs; shown once.
#[derive(Object)]
struct Enrolment {
    /// The secret, base32 without padding, for typing in by hand.
    secret: String,
    /// The `otpauth://totp/…` URI (HMAC-SHA1, 6 digits, 30 s).
    otpauth_uri: String,
    /// A QR code of the URI, as an SVG document.
    qr_svg: String,
}

/// A code of the authenticator app, to confirm an enrolment.
#[derive(Object)]
struct ConfirmRequest {
    /// The six digits the app shows now.
    #[oai(validator(max_length = 64))]
    code: String,
}

/// The password and a code (six digits, or a recovery code), for a change of the factor.
#[derive(Object)]
struct ProvenRequest {
    /// The password now.
    #[oai(write_only)]
    current_password: String,
    /// Six digits the app shows now, or an unspent recovery code.
    #[oai(write_only, validator(max_length = 64))]
    code: String,
}

/// Recovery codes; shown once, each works once.
#[derive(Object)]
struct RecoveryCodesBody {
    /// Ten codes, each of 80 random bits.
    recovery_codes: Vec<String>,
}

impl From<RecoveryCodes> for RecoveryCodesBody {
    fn from(codes: RecoveryCodes) -> Self {
        Self {
            recovery_codes: codes
                .0
                .iter()
                .map(|c| c.expose_secret().to_owned())
                .collect(),
        }
    }
}

#[derive(ApiResponse)]
enum EnrolResponse {
    /// Pending until a code is confirmed.
    #[oai(status = 200)]
    Ok(Json<Enrolment>, #[oai(header = "Cache-Control")] String),
}

#[derive(ApiResponse)]
enum CodesResponse {
    /// The factor is active; these are the recovery codes.
    #[oai(status = 200)]
    Ok(
        Json<RecoveryCodesBody>,
        #[oai(header = "Cache-Control")] String,
    ),
}

#[derive(ApiResponse)]
enum NoContent {
    /// Done.
    #[oai(status = 204)]
    Done,
}

fn codes(codes: RecoveryCodes) -> CodesResponse {
    CodesResponse::Ok(Json(codes.into()), "no-store".into())
}

#[OpenApi(tag = "Tag::Users")]
impl MfaApi {
    /// Start enrolling a TOTP second factor (bearer token only): a new secret, pending until
    /// confirmed. A pending one is replaced; an active one is a 409.
    #[oai(path = "/users/me/mfa/totp", method = "post")]
    async fn enrol(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: StrictJson<EnrolRequest>,
    ) -> Result<EnrolResponse, Failure<Enrol>> {
        let caller = auth.enrolling_caller()?;
        let provisioning = state(req)?
            .services
            .mfa
            .enrol(&caller, SecretString::from(body.0.current_password))
            .await?;
        let enrolment = Enrolment {
            secret: provisioning.secret.expose_secret().to_owned(),
            otpauth_uri: provisioning.uri.expose_secret().to_owned(),
            qr_svg: provisioning.qr_svg.expose_secret().to_owned(),
        };
        Ok(EnrolResponse::Ok(Json(enrolment), "no-store".into()))
    }

    /// Confirm the pending enrolment with a code: the factor becomes active, and the answer
    /// holds ten recovery codes, shown once.
    #[oai(path = "/users/me/mfa/totp/confirm", method = "post")]
    async fn confirm(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: StrictJson<ConfirmRequest>,
    ) -> Result<CodesResponse, Failure<ConfirmMfa>> {
        let caller = auth.enrolling_caller()?;
        let recovery = state(req)?
            .services
            .mfa
            .confirm(&caller, &body.0.code)
            .await?;
        Ok(codes(recovery))
    }

    /// Replace the recovery codes (bearer token only); the old ones stop working.
    #[oai(path = "/users/me/mfa/recovery-codes", method = "post")]
    async fn recovery_codes(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: StrictJson<ProvenRequest>,
    ) -> Result<CodesResponse, Failure<ChangeMfa>> {
        let caller = auth.caller()?;
        let body = body.0;
        let recovery = state(req)?
            .services
            .mfa
            .replace_recovery_codes(
                &caller,
                SecretString::from(body.current_password),
                Proof::from_code(body.code),
            )
            .await?;
        Ok(codes(recovery))
    }

    /// Remove the caller's second factor (bearer token only).
    #[oai(path = "/users/me/mfa/totp", method = "delete")]
    async fn disable(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: StrictJson<ProvenRequest>,
    ) -> Result<NoContent, Failure<ChangeMfa>> {
        let caller = auth.caller()?;
        let body = body.0;
        state(req)?
            .services
            .mfa
            .disable(
                &caller,
                SecretString::from(body.current_password),
                Proof::from_code(body.code),
            )
            .await?;
        Ok(NoContent::Done)
    }

    /// Reset a user's second factor (a user who lost its device and its recovery codes): its
    /// logins need only the password again.
    #[oai(path = "/admin/users/:id/mfa", method = "delete", tag = "Tag::Admin")]
    async fn reset(
        &self,
        req: &Request,
        auth: Authenticated,
        id: Path<Uuid>,
    ) -> Result<NoContent, Failure<OneUser>> {
        let caller = auth.caller()?;
        state(req)?.services.admin.reset_mfa(&caller, id.0).await?;
        Ok(NoContent::Done)
    }
}
