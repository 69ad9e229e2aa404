//! `POST /auth/token`: who the client is (HTTP Basic, `client_secret_post`, a public client's
//! `client_id`, or the built-in client), whether it may use the grant, and the grant itself. A
//! session started for a registered client is refreshed by that client alone.

use poem::Request;
use warden_domain::Error;
use warden_domain::client::GrantType;
use warden_domain::clients::TokenClient;

use super::grants::{mfa_grant, password_grant};
use super::{MFA_OTP_GRANT, TokenRequest, TokenResponse, refusal, required};
use crate::client_auth::{Unreadable, presented};
use crate::client_ip::origin;
use crate::problem::ApiError;
use crate::security::state;

/// Whether the client may use `grant`: the built-in client, and a `client_id` that names no
/// client (as tools send, Swagger UI's among them), have the password and refresh grants.
fn may(client: &TokenClient, grant: GrantType) -> bool {
    match client {
        TokenClient::Default | TokenClient::Unregistered => {
            matches!(grant, GrantType::Password | GrantType::RefreshToken)
        }
        TokenClient::Registered(client) => client.allows(grant),
    }
}

fn unauthorized_client() -> TokenResponse {
    TokenResponse::refused(
        "unauthorized_client",
        "The client may not use this grant type",
    )
}

/// The whole token request: the client, then its grant.
pub(super) async fn grant(req: &Request, form: &TokenRequest) -> Result<TokenResponse, ApiError> {
    let services = &state(req)?.services;
    let grant = match required(form.grant_type.as_ref(), "grant_type") {
        Ok(grant) => grant,
        Err(refused) => return Ok(refused.into()),
    };
    let client = match presented(
        req,
        form.client_id.as_deref(),
        form.client_secret.as_deref(),
    ) {
        Ok(client) => client,
        Err(Unreadable::Ambiguous) => {
            return Ok(TokenResponse::refused(
                "invalid_request",
                "Send the client's credentials one way: HTTP Basic or the form, and a secret \
                 with its client_id",
            ));
        }
        Err(Unreadable::Malformed) => return Ok(TokenResponse::invalid_client()),
    };
    let client = match services.clients.identify(client).await {
        Ok(client) => client,
        Err(Error::InvalidClient) => return Ok(TokenResponse::invalid_client()),
        Err(e) => return Err(e.into()),
    };
    let auth = &services.auth;
    let origin = origin(req).for_client(match &client {
        TokenClient::Registered(client) => Some(client.id.clone()),
        TokenClient::Default | TokenClient::Unregistered => None,
    });
    let outcome = match grant {
        "client_credentials" => {
            let TokenClient::Registered(client) = &client else {
                // The grant is the client's own: it must say who it is.
                return Ok(TokenResponse::invalid_client());
            };
            return Ok(
                match services
                    .clients
                    .client_credentials(client, form.scope.as_deref())
                {
                    Ok(token) => TokenResponse::issued(token),
                    Err(Error::UnauthorizedClient) => unauthorized_client(),
                    Err(Error::InvalidScope) => TokenResponse::refused(
                        "invalid_scope",
                        "A scope asked for is not allowed to the client",
                    ),
                    Err(e) => return Err(e.into()),
                },
            );
        }
        "password" | MFA_OTP_GRANT if !may(&client, GrantType::Password) => {
            return Ok(unauthorized_client());
        }
        "refresh_token" if !may(&client, GrantType::RefreshToken) => {
            return Ok(unauthorized_client());
        }
        "password" => password_grant(req, auth, form, origin).await?,
        MFA_OTP_GRANT => mfa_grant(auth, form, &origin).await?,
        "refresh_token" => match required(form.refresh_token.as_ref(), "refresh_token") {
            Err(refused) => Err(refused.into()),
            Ok(token) => match auth.refresh(token, &origin).await {
                Ok((_, tokens)) => Ok(tokens),
                Err(Error::InvalidRefreshToken) => Err(refusal(
                    "invalid_grant",
                    "The refresh token is invalid, expired or revoked",
                )
                .into()),
                Err(e) => return Err(e.into()),
            },
        },
        _ => Err(refusal(
            "unsupported_grant_type",
            "Supported grant types: password, refresh_token, client_credentials, \
             urn:warden:params:oauth:grant-type:mfa-otp",
        )
        .into()),
    };
    Ok(match outcome {
        Ok(tokens) => TokenResponse::issued(tokens),
        Err(response) => response,
    })
}
