//! `GET /users/me` and `PUT /users/me/password`.

use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use secrecy::SecretString;

use super::Tag;
use crate::client_ip::ClientIp;
use crate::dto::UserDto;
use crate::failure::{Caller, ChangePassword, Failure};
use crate::security::{Authenticated, BearerAuth, state};
use crate::strict_json::StrictJson;

/// The resource.
#[derive(Debug)]
pub struct UsersApi;

#[derive(ApiResponse)]
enum MeResponse {
    /// The caller.
    #[oai(status = 200)]
    Ok(Json<UserDto>),
}

/// A password change.
#[derive(Object)]
struct PasswordChange {
    /// The password now.
    #[oai(write_only)]
    current_password: String,
    /// The new password; must satisfy the password policy.
    #[oai(write_only)]
    new_password: String,
}

#[derive(ApiResponse)]
enum PasswordChanged {
    /// Changed; every earlier session of the caller has ended.
    #[oai(status = 204)]
    Done,
}

#[OpenApi(tag = "Tag::Users")]
impl UsersApi {
    /// The authenticated caller.
    #[oai(path = "/users/me", method = "get")]
    async fn me(&self, auth: Authenticated) -> Result<MeResponse, Failure<Caller>> {
        Ok(MeResponse::Ok(Json(UserDto::from(
            auth.caller()?.account()?,
        ))))
    }

    /// Change the caller's password (bearer token only); ends every other session.
    #[oai(path = "/users/me/password", method = "put")]
    async fn change_password(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: StrictJson<PasswordChange>,
    ) -> Result<PasswordChanged, Failure<ChangePassword>> {
        let caller = auth.caller()?;
        let body = body.0;
        // A wrong current password counts as a failed login from the client's IP.
        let client = req
            .extensions()
            .get::<ClientIp>()
            .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0);
        state(req)?
            .services
            .accounts
            .change_password(
                &caller,
                SecretString::from(body.current_password),
                SecretString::from(body.new_password),
                client,
            )
            .await?;
        Ok(PasswordChanged::Done)
    }
}
