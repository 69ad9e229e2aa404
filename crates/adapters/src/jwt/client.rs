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

#[cfg(test)]
mod tests {
    use jsonwebtoken::decode_header;
    use secrecy::ExposeSecret;
    use serde_json::json;
    use time::{Duration, OffsetDateTime};
    use warden_domain::ports::TokenCodec;

    use super::*;
    use crate::jwt::tests::{SECRET, claims, hand_made, payload, sign};

    fn client_claims(audience: Option<&str>, expires_in: Duration) -> ClientClaims {
        let now = OffsetDateTime::now_utc();
        ClientClaims {
            client_id: Uuid::now_v7().to_string(),
            scope: vec!["read:orders".into(), "write".into()],
            audience: audience.map(str::to_owned),
            issued_at: now,
            expires_at: now + expires_in,
            token_id: Uuid::now_v7(),
        }
    }

    fn codec() -> JwtCodec {
        JwtCodec::hs256(SECRET, "https://id.example", "warden")
    }

    #[test]
    fn a_client_token_round_trips_with_its_own_audience_or_the_servers() {
        let codec = codec();
        let c = client_claims(Some("https://api.example"), Duration::minutes(15));
        let token = codec.sign_client(&c).unwrap();
        let token = token.expose_secret();
        let header = decode_header(token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let back = codec.verify_client(token).unwrap();
        assert_eq!(back.client_id, c.client_id);
        assert_eq!(back.scope, c.scope);
        assert_eq!(back.audience.as_deref(), Some("https://api.example"));
        assert_eq!(back.token_id, c.token_id);
        assert_eq!(
            back.expires_at.unix_timestamp(),
            c.expires_at.unix_timestamp()
        );
        let plain = codec.sign_client(&client_claims(None, Duration::minutes(1)));
        let plain = codec.verify_client(plain.unwrap().expose_secret()).unwrap();
        assert_eq!(plain.audience.as_deref(), Some("warden"));
        let none = ClientClaims {
            scope: vec![],
            ..client_claims(None, Duration::minutes(1))
        };
        let none = codec.sign_client(&none).unwrap();
        assert!(
            codec
                .verify_client(none.expose_secret())
                .unwrap()
                .scope
                .is_empty()
        );
    }

    #[test]
    fn a_client_token_is_no_user_token_and_a_user_token_no_client_token() {
        let codec = codec();
        let client = codec.sign_client(&client_claims(None, Duration::minutes(15)));
        let client = client.unwrap();
        assert_eq!(
            codec.verify(client.expose_secret()),
            Err(TokenError::Malformed)
        );
        let user = sign(&codec, &claims(Duration::minutes(15)));
        assert_eq!(codec.verify_client(&user), Err(TokenError::Malformed));
    }

    #[test]
    fn a_client_token_is_refused_for_each_flaw() {
        let codec = codec();
        let at = json!({"alg": "HS256", "typ": "at+jwt"});
        let good = |mut p: serde_json::Value| {
            let id = p["sub"].clone();
            p["client_id"] = id;
            p["scope"] = json!("read");
            p.as_object_mut().unwrap().remove("sid");
            p
        };
        let ok = good(payload("https://id.example", "anyone", 600));
        assert!(codec.verify_client(&hand_made(&at, &ok, SECRET)).is_ok());
        let mut with_sid = ok.clone();
        with_sid["sid"] = json!(Uuid::now_v7().to_string());
        let mut other_sub = ok.clone();
        other_sub["client_id"] = json!("someone-else");
        let mut future = ok.clone();
        future["iat"] = json!(OffsetDateTime::now_utc().unix_timestamp() + 120);
        for (why, token, refusal) in [
            (
                "sid",
                hand_made(&at, &with_sid, SECRET),
                TokenError::Malformed,
            ),
            (
                "sub",
                hand_made(&at, &other_sub, SECRET),
                TokenError::Malformed,
            ),
            (
                "iat",
                hand_made(&at, &future, SECRET),
                TokenError::Malformed,
            ),
            (
                "iss",
                hand_made(&at, &good(payload("evil", "x", 600)), SECRET),
                TokenError::WrongIssuerOrAudience,
            ),
            (
                "exp",
                hand_made(&at, &good(payload("https://id.example", "x", -120)), SECRET),
                TokenError::Expired,
            ),
            (
                "key",
                hand_made(&at, &ok, b"another key of forty bytes, quite long"),
                TokenError::BadSignature,
            ),
            (
                "typ",
                hand_made(&json!({"alg": "HS256", "typ": "JWT"}), &ok, SECRET),
                TokenError::WrongType,
            ),
        ] {
            assert_eq!(codec.verify_client(&token), Err(refusal), "{why}");
        }
    }
}
