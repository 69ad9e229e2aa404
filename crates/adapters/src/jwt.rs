//! The JWT codec: HS256, EdDSA or RS256 access tokens (`typ` `at+jwt`, `kid` under the
//! asymmetric ones) and the JWKS.

use std::sync::Once;

use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;
use warden_domain::Error;
use warden_domain::ports::TokenCodec;
use warden_domain::refresh::amr;
use warden_domain::token::{AccessClaims, ClientClaims, TokenError};
use warden_domain::user::Role;

use crate::token_memo::{TokenMemo, unexpired};

mod client;

/// The `typ` of every access token (RFC 9068).
const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// The smallest RSA modulus accepted (NIST SP 800-131A).
const MIN_RSA_BITS: usize = 2048;
/// Clock skew tolerated on `exp` and `iat`, seconds.
const LEEWAY_SECONDS: u64 = 30;

/// A key that cannot be used. The message says which key and why, in one line with the
/// library's reason (the binaries print only this); the library's error is its source.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The signing key is not a PEM of a key of the algorithm.
    #[error("not an {alg} private key PEM: {source}")]
    PrivatePem {
        /// `Ed25519 PKCS#8` or `RSA`.
        alg: &'static str,
        /// Why it did not parse.
        #[source]
        source: jsonwebtoken::errors::Error,
    },
    /// The signing key parses but yields no public JWK (not PKCS#8 v1).
    #[error("not an {alg} v1 private key: {source}")]
    PrivateKey {
        /// `Ed25519 PKCS#8` or `RSA`.
        alg: &'static str,
        /// Why not.
        #[source]
        source: jsonwebtoken::errors::Error,
    },
    /// Verification key `index` (from 1) is not a PEM of an SPKI key of the algorithm.
    #[error("public key {index}: not an {alg} SPKI PEM: {source}")]
    PublicPem {
        /// Its place in `jwt.public_key_files`, from 1.
        index: usize,
        /// `Ed25519 PKCS#8` or `RSA`.
        alg: &'static str,
        /// Why it did not parse.
        #[source]
        source: jsonwebtoken::errors::Error,
    },
    /// Verification key `index` (from 1) yields no public JWK.
    #[error("public key {index}: {source}")]
    PublicKey {
        /// Its place in `jwt.public_key_files`, from 1.
        index: usize,
        /// Why not.
        #[source]
        source: jsonwebtoken::errors::Error,
    },
    /// An RSA key (the signing key, or verification key `index` from 1) under 2048 bits.
    #[error("{which}: an RSA key must have at least {MIN_RSA_BITS} bits, not {bits}")]
    WeakRsa {
        /// `the signing key` or `public key N`.
        which: String,
        /// Its modulus's size.
        bits: usize,
    },
    /// A key's RFC 7638 thumbprint cannot be computed.
    #[error("cannot fingerprint key: {0}")]
    Fingerprint(#[source] jsonwebtoken::errors::Error),
    /// A public JWK does not give a verification key back.
    #[error("{0}")]
    Jwk(#[source] jsonwebtoken::errors::Error),
    /// The JWKS document cannot be written.
    #[error("{0}")]
    Jwks(#[from] serde_json::Error),
}

/// The claims as they travel.
#[derive(Debug, Serialize, Deserialize)]
struct WireClaims {
    iss: String,
    aud: String,
    sub: String,
    exp: i64,
    iat: i64,
    jti: String,
    role: String,
    /// The user's session version at issue.
    sv: i64,
    /// The session (refresh family) the token belongs to.
    sid: String,
    /// How its session's login was proved (RFC 8176): `["pwd"]` or `["pwd", "otp"]`. Tokens of
    /// builds before the second factor have none, and were all of a password alone.
    #[serde(default = "password_only")]
    amr: Vec<String>,
}

fn password_only() -> Vec<String> {
    vec!["pwd".to_owned()]
}

/// A verification key and its `kid` (none under HS256).
struct VerifyKey {
    kid: Option<String>,
    key: DecodingKey,
}

/// Signs and verifies access tokens with one pinned algorithm; the token header never chooses it.
pub struct JwtCodec {
    header: Header,
    encoding: EncodingKey,
    keys: Vec<VerifyKey>,
    validation: Validation,
    issuer: String,
    audience: String,
    jwks_json: String,
    /// The tokens that verified, so that one seen again costs only its expiry check.
    verified: TokenMemo,
}

impl std::fmt::Debug for JwtCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtCodec")
            .field("algorithm", &self.header.alg)
            .field(
                "kids",
                &self.keys.iter().map(|k| k.kid.clone()).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// jsonwebtoken needs its crypto backend installed once per process (see CRATES.md §4).
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err only means a provider is already installed, which is what we want.
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    });
}

fn validation(alg: Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut v = Validation::new(alg);
    v.leeway = LEEWAY_SECONDS;
    v.set_issuer(&[issuer]);
    v.set_audience(&[audience]);
    v.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
    v.validate_exp = true;
    v.validate_nbf = true;
    v
}

/// The asymmetric algorithms, whose public keys are published in the JWKS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asymmetric {
    /// Ed25519.
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256, keys of 2048 bits or more.
    Rs256,
}

impl Asymmetric {
    fn algorithm(self) -> Algorithm {
        match self {
            Self::EdDsa => Algorithm::EdDSA,
            Self::Rs256 => Algorithm::RS256,
        }
    }

    fn key_algorithm(self) -> KeyAlgorithm {
        match self {
            Self::EdDsa => KeyAlgorithm::EdDSA,
            Self::Rs256 => KeyAlgorithm::RS256,
        }
    }

    /// What its keys are called in errors.
    fn keys(self) -> &'static str {
        match self {
            Self::EdDsa => "Ed25519 PKCS#8",
            Self::Rs256 => "RSA",
        }
    }

    fn encoding(self, pem: &[u8]) -> jsonwebtoken::errors::Result<EncodingKey> {
        match self {
            Self::EdDsa => EncodingKey::from_ed_pem(pem),
            Self::Rs256 => EncodingKey::from_rsa_pem(pem),
        }
    }

    fn decoding(self, pem: &[u8]) -> jsonwebtoken::errors::Result<DecodingKey> {
        match self {
            Self::EdDsa => DecodingKey::from_ed_pem(pem),
            Self::Rs256 => DecodingKey::from_rsa_pem(pem),
        }
    }
}

/// The public JWK of a key, with its RFC 7638 thumbprint as `kid`; an RSA key under
/// [`MIN_RSA_BITS`] is refused.
fn public_jwk(mut jwk: Jwk, alg: Asymmetric, which: &dyn Fn() -> String) -> Result<Jwk, KeyError> {
    if let jsonwebtoken::jwk::AlgorithmParameters::RSA(rsa) = &jwk.algorithm {
        use base64::Engine as _;
        let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&rsa.n)
            .unwrap_or_default();
        let leading = n.iter().take_while(|b| **b == 0).count();
        let bits = (n.len() - leading) * 8;
        if bits < MIN_RSA_BITS {
            return Err(KeyError::WeakRsa {
                which: which(),
                bits,
            });
        }
    }
    let kid = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(KeyError::Fingerprint)?;
    jwk.common.key_id = Some(kid);
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_algorithm = Some(alg.key_algorithm());
    Ok(jwk)
}

impl JwtCodec {
    /// HS256 with a shared secret (at least 32 bytes, checked by the settings). Its JWKS is empty.
    pub fn hs256(secret: &[u8], issuer: &str, audience: &str) -> Self {
        install_crypto_provider();
        Self {
            header: Header::new(Algorithm::HS256),
            encoding: EncodingKey::from_secret(secret),
            keys: vec![VerifyKey {
                kid: None,
                key: DecodingKey::from_secret(secret),
            }],
            validation: validation(Algorithm::HS256, issuer, audience),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            jwks_json: r#"{"keys":[]}"#.to_owned(),
            verified: TokenMemo::default(),
        }
    }

    /// EdDSA or RS256 with a PEM signing key and extra SPKI PEM verification keys (rotation).
    ///
    /// # Errors
    /// When a key does not parse as a key of the algorithm, or is an RSA key under 2048 bits.
    pub fn asymmetric(
        alg: Asymmetric,
        private_pem: &[u8],
        extra_public_pems: &[Vec<u8>],
        issuer: &str,
        audience: &str,
    ) -> Result<Self, KeyError> {
        install_crypto_provider();
        let keys_are = alg.keys();
        let encoding = alg
            .encoding(private_pem)
            .map_err(|source| KeyError::PrivatePem {
                alg: keys_are,
                source,
            })?;
        let signing_jwk = public_jwk(
            Jwk::from_encoding_key(&encoding, alg.algorithm()).map_err(|source| {
                KeyError::PrivateKey {
                    alg: keys_are,
                    source,
                }
            })?,
            alg,
            &|| "the signing key".to_owned(),
        )?;
        let mut jwks = vec![signing_jwk];
        for (i, pem) in extra_public_pems.iter().enumerate() {
            let index = i + 1;
            let key = alg.decoding(pem).map_err(|source| KeyError::PublicPem {
                index,
                alg: keys_are,
                source,
            })?;
            let jwk = public_jwk(
                Jwk::from_decoding_key(&key, Some(alg.algorithm()))
                    .map_err(|source| KeyError::PublicKey { index, source })?,
                alg,
                &|| format!("public key {index}"),
            )?;
            if !jwks.iter().any(|k| k.common.key_id == jwk.common.key_id) {
                jwks.push(jwk);
            }
        }
        let keys = jwks
            .iter()
            .map(|jwk| {
                Ok(VerifyKey {
                    kid: jwk.common.key_id.clone(),
                    key: DecodingKey::from_jwk(jwk).map_err(KeyError::Jwk)?,
                })
            })
            .collect::<Result<Vec<_>, KeyError>>()?;
        let mut header = Header::new(alg.algorithm());
        header.kid.clone_from(&keys[0].kid);
        let jwks_json = serde_json::to_string(&JwkSet { keys: jwks })?;
        Ok(Self {
            header,
            encoding,
            keys,
            validation: validation(alg.algorithm(), issuer, audience),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            jwks_json,
            verified: TokenMemo::default(),
        })
    }

    /// The public verification keys as a JWKS document (`{"keys": []}` under HS256).
    pub fn jwks_json(&self) -> &str {
        &self.jwks_json
    }

    fn key_for(&self, kid: Option<&str>) -> Option<&DecodingKey> {
        match (self.header.alg, kid) {
            (Algorithm::HS256, _) => self.keys.first().map(|k| &k.key),
            (_, Some(kid)) => self
                .keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .map(|k| &k.key),
            (_, None) => None,
        }
    }
}

fn refusal(e: &jsonwebtoken::errors::Error) -> TokenError {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => TokenError::WrongIssuerOrAudience,
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName => TokenError::BadSignature,
        _ => TokenError::Malformed,
    }
}

/// A token issued further in the future than the tolerated skew was not issued by us under
/// this clock: refuse it, as `exp` is refused past the same leeway. `now` is the time
/// jsonwebtoken checks `exp` against.
fn issued_in_the_past(iat: i64, now: u64) -> Result<(), TokenError> {
    if u64::try_from(iat).is_ok_and(|iat| iat > now + LEEWAY_SECONDS) {
        return Err(TokenError::Malformed);
    }
    Ok(())
}

fn timestamp(t: i64) -> Result<OffsetDateTime, TokenError> {
    OffsetDateTime::from_unix_timestamp(t).map_err(|_| TokenError::Malformed)
}

impl TokenCodec for JwtCodec {
    fn sign(&self, c: &AccessClaims) -> Result<SecretString, Error> {
        let mut header = self.header.clone();
        header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
        let wire = WireClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: c.subject.to_string(),
            exp: c.expires_at.unix_timestamp(),
            iat: c.issued_at.unix_timestamp(),
            jti: c.token_id.to_string(),
            role: c.role.as_str().to_owned(),
            sv: c.session_version,
            sid: c.session_id.to_string(),
            amr: amr(c.second_factor)
                .into_iter()
                .map(str::to_owned)
                .collect(),
        };
        encode(&header, &wire, &self.encoding)
            .map(SecretString::from)
            .map_err(Error::internal)
    }

    fn sign_client(&self, claims: &ClientClaims) -> Result<SecretString, Error> {
        self.sign_client_token(claims)
    }

    fn verify_client(&self, token: &str) -> Result<ClientClaims, TokenError> {
        self.verify_client_token(token)
    }

    fn issuer(&self) -> String {
        self.issuer.clone()
    }

    fn audience(&self) -> String {
        self.audience.clone()
    }

    fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let now = jsonwebtoken::get_current_timestamp();
        if let Some(claims) = self.verified.get(token) {
            return if unexpired(&claims, now, LEEWAY_SECONDS) {
                Ok(claims)
            } else {
                Err(TokenError::Expired)
            };
        }
        let claims = self.verify_afresh(token, now)?;
        self.verified.insert(token, claims.clone());
        Ok(claims)
    }
}

impl JwtCodec {
    /// The key that verifies `token`, after the checks of its header: the pinned algorithm,
    /// the access-token `typ`, no `crit`, a known `kid`.
    fn header_key(&self, token: &str) -> Result<&DecodingKey, TokenError> {
        let header = decode_header(token).map_err(|e| refusal(&e))?;
        if header.alg != self.header.alg {
            return Err(TokenError::BadSignature);
        }
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            return Err(TokenError::WrongType);
        }
        // RFC 7515 §4.1.11: a recipient that does not understand every extension named in
        // `crit` must refuse the token. Warden understands none, so any `crit` is refused.
        if header.crit.is_some() {
            return Err(TokenError::Malformed);
        }
        self.key_for(header.kid.as_deref())
            .ok_or(TokenError::BadSignature)
    }

    /// Every check of a token not seen before: header, signature, claims; `now` in Unix seconds.
    fn verify_afresh(&self, token: &str, now: u64) -> Result<AccessClaims, TokenError> {
        let key = self.header_key(token)?;
        let claims = decode::<WireClaims>(token, key, &self.validation)
            .map_err(|e| refusal(&e))?
            .claims;
        issued_in_the_past(claims.iat, now)?;
        Ok(AccessClaims {
            subject: claims
                .sub
                .parse::<Uuid>()
                .map_err(|_| TokenError::Malformed)?,
            role: claims
                .role
                .parse::<Role>()
                .map_err(|_| TokenError::Malformed)?,
            issued_at: timestamp(claims.iat)?,
            expires_at: timestamp(claims.exp)?,
            session_version: claims.sv,
            token_id: claims
                .jti
                .parse::<Uuid>()
                .map_err(|_| TokenError::Malformed)?,
            session_id: claims
                .sid
                .parse::<Uuid>()
                .map_err(|_| TokenError::Malformed)?,
            second_factor: claims.amr.iter().any(|m| m == "otp"),
        })
    }
}

#[cfg(test)]
#[path = "jwt_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "jwt_rs256_tests.rs"]
mod rs256_tests;
