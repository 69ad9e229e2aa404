//! The access tokens a client gets for itself (`client_credentials`, RFC 9068): `sub` and
//! `client_id` are the client, `scope` what it was granted, and no user, role or session, so
//! that the user's verification refuses them and this one refuses a user's.

use jsonwebtoken::{decode, encode};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use warden_domain::Error;
use warden_domain::token::{ClientClaims, TokenError};

use super::{ACCESS_TOKEN_TYP, JwtCodec, issued_in_the_past, refusal, timestamp};

/// The claims of a client's token as they travel.
#[derive(Debug, Serialize, Deserialize)]
struct WireClientClaims {
    iss: String,
    aud: String,
    sub: String,
    client_id: String,
    scope: String,
    exp: i64,
    iat: i64,
    jti: String,
    /// Present only in a user's token: refused here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
}

impl JwtCodec {
    pub(super) fn sign_client_token(&self, c: &ClientClaims) -> Result<SecretString, Error> {
        let mut header = self.header.clone();
        header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
        let wire = WireClientClaims {
            iss: self.issuer.clone(),
            aud: c.audience.clone().unwrap_or_else(|| self.audience.clone()),
            sub: c.client_id.clone(),
            client_id: c.client_id.clone(),
            scope: c.scope.join(" "),
            exp: c.expires_at.unix_timestamp(),
            iat: c.issued_at.unix_timestamp(),
            jti: c.token_id.to_string(),
            sid: None,
        };
        encode(&header, &wire, &self.encoding)
            .map(SecretString::from)
            .map_err(Error::internal)
    }

    pub(super) fn verify_client_token(&self, token: &str) -> Result<ClientClaims, TokenError> {
        let now = jsonwebtoken::get_current_timestamp();
        let key = self.header_key(token)?;
        // Its audience is the client's own: whoever introspects it is told which.
        let mut validation = self.validation.clone();
        validation.validate_aud = false;
        let claims = decode::<WireClientClaims>(token, key, &validation)
            .map_err(|e| refusal(&e))?
            .claims;
        issued_in_the_past(claims.iat, now)?;
        if claims.sid.is_some() || claims.sub != claims.client_id {
            return Err(TokenError::Malformed);
        }
        Ok(ClientClaims {
            scope: claims
                .scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            audience: Some(claims.aud),
            issued_at: timestamp(claims.iat)?,
            expires_at: timestamp(claims.exp)?,
            token_id: claims
                .jti
                .parse::<Uuid>()
                .map_err(|_| TokenError::Malformed)?,
            client_id: claims.client_id,
        })
    }
}
