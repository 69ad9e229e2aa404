//! The flows by mail: `POST /auth/email/verify` (and its resend), `POST /auth/password/forgot`
//! and `/reset`, `PUT /users/me/email`, and `POST /admin/users/{id}/password-reset`. The
//! account pages that a mail's links open are [`crate::pages`].

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::{ApiResponse, Object, OpenApi};
use secrecy::SecretString;
use uuid::Uuid;
use warden_domain::origin::Origin;
use warden_domain::user::User;

use super::Tag;
use crate::client_ip::origin;
use crate::failure::{
    ChangeEmail, Failure, Forgot, OneUserMail, Resend, ResetPassword, VerifyEmail,
};
use crate::security::{Authenticated, BearerAuth, state};
use crate::state::UseCases;
use crate::strict_json::StrictJson;

/// The resource.
#[derive(Debug)]
pub struct RecoveryApi;

/// How many password reset requests may be at work at once, after their answers.
static FORGOT_WORK: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(64);

/// A link's token, as its page posts it.
#[derive(Object)]
struct LinkToken {
    /// The `token` of the link in the mail.
    #[oai(write_only, validator(max_length = 128))]
    token: String,
}

/// An address that forgot its password.
#[derive(Object)]
struct ForgotBody {
    /// The account's email address.
    #[oai(validator(max_length = 320))]
    email: String,
}

/// A new password, with the token of a reset link.
#[derive(Object)]
struct ResetBody {
    /// The `token` of the link in the mail.
    #[oai(write_only, validator(max_length = 128))]
    token: String,
    /// The new password; must satisfy the password policy.
    #[oai(write_only)]
    new_password: String,
}

/// A new address for the caller's account.
#[derive(Object)]
struct ChangeEmailBody {
    /// The address to change to; it becomes the account's when its link is used.
    #[oai(validator(max_length = 320))]
    new_email: String,
    /// The password now.
    #[oai(write_only)]
    current_password: String,
}

#[derive(ApiResponse)]
enum Done {
    /// Done.
    #[oai(status = 204)]
    Done,
}

#[derive(ApiResponse)]
enum Accepted {
    /// Accepted: the mail goes out from the outbox.
    #[oai(status = 202)]
    Accepted,
}

/// A new account's verification mail, when the server sends them. The account exists
/// whatever happens here: a failure is logged, and the user may ask for another link.
pub(crate) async fn welcome(services: &UseCases, user: &User, origin: Option<&Origin>) {
    if let Err(e) = services.recovery.welcome(user, origin).await {
        tracing::warn!(error = %e.with_causes(), "could not queue a verification mail");
    }
}

#[OpenApi(tag = "Tag::Auth")]
impl RecoveryApi {
    /// Use a verification link: the address it went to is verified (or, for an address
    /// change, becomes the account's). Unknown, used, replaced and expired tokens are one 400.
    #[oai(path = "/auth/email/verify", method = "post")]
    async fn verify(
        &self,
        req: &Request,
        body: StrictJson<LinkToken>,
    ) -> Result<Done, Failure<VerifyEmail>> {
        let recovery = &state(req)?.services.recovery;
        recovery.verify_email(&body.0.token, &origin(req)).await?;
        Ok(Done::Done)
    }

    /// Send the caller's address a new verification link (bearer token only): at most one a
    /// minute. A verified address gets nothing.
    #[oai(path = "/auth/email/verify/resend", method = "post")]
    async fn resend(&self, req: &Request, auth: BearerAuth) -> Result<Accepted, Failure<Resend>> {
        let caller = auth.caller()?;
        let recovery = &state(req)?.services.recovery;
        recovery.resend_verification(&caller).await?;
        Ok(Accepted::Accepted)
    }

    /// Ask for a password reset link. Always 202, at once and at the same cost, whether or not
    /// the address has an account: the work is done after the answer.
    #[oai(path = "/auth/password/forgot", method = "post")]
    async fn forgot(
        &self,
        req: &Request,
        body: StrictJson<ForgotBody>,
    ) -> Result<Accepted, Failure<Forgot>> {
        let recovery = state(req)?.services.recovery.clone();
        if !recovery.policy().mail_enabled {
            return Err(warden_domain::Error::MailOff.into());
        }
        let origin = origin(req);
        let email = body.0.email;
        // Bounded: a flood from many addresses queues no more work than this at once; past it
        // the request is still answered 202, and dropped (which only an owner could notice).
        let Ok(slot) = FORGOT_WORK.try_acquire() else {
            tracing::warn!("too many password reset requests at once: one was dropped");
            return Ok(Accepted::Accepted);
        };
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = recovery.forgot_password(&email, &origin).await {
                tracing::warn!(error = %e.with_causes(), "a password reset request failed");
            }
        });
        Ok(Accepted::Accepted)
    }

    /// Use a reset link: sets the new password, ends every session and clears the lockouts.
    /// A password the policy refuses is a 422, and the link still works.
    #[oai(path = "/auth/password/reset", method = "post")]
    async fn reset(
        &self,
        req: &Request,
        body: StrictJson<ResetBody>,
    ) -> Result<Done, Failure<ResetPassword>> {
        let body = body.0;
        let recovery = &state(req)?.services.recovery;
        recovery
            .reset_password(
                &body.token,
                SecretString::from(body.new_password),
                &origin(req),
            )
            .await?;
        Ok(Done::Done)
    }

    /// Change the caller's address (bearer token only): a link goes to the new address and a
    /// notice to the old one; the address changes when the link is used. A wrong password
    /// counts toward the lockout.
    #[oai(path = "/users/me/email", method = "put", tag = "Tag::Users")]
    async fn change_email(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: StrictJson<ChangeEmailBody>,
    ) -> Result<Accepted, Failure<ChangeEmail>> {
        let caller = auth.caller()?;
        let body = body.0;
        let recovery = &state(req)?.services.recovery;
        recovery
            .change_email(
                &caller,
                &body.new_email,
                SecretString::from(body.current_password),
                &origin(req),
            )
            .await?;
        Ok(Accepted::Accepted)
    }

    /// Send a user a password reset link.
    #[oai(
        path = "/admin/users/:id/password-reset",
        method = "post",
        tag = "Tag::Admin"
    )]
    async fn send_reset(
        &self,
        req: &Request,
        auth: Authenticated,
        id: Path<Uuid>,
    ) -> Result<Accepted, Failure<OneUserMail>> {
        let caller = auth.caller()?;
        let recovery = &state(req)?.services.recovery;
        recovery.send_reset(&caller, id.0).await?;
        Ok(Accepted::Accepted)
    }
}
