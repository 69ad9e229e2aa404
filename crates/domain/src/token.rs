//! Access tokens as the domain sees them: claims and lifetimes, independent of any JWT library.

use secrecy::SecretString;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::user::{Role, User};

/// How long issued credentials live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenLifetimes {
    /// Lifetime of an access token.
    pub access: Duration,
    /// Absolute lifetime of a login's refresh chain.
    pub refresh: Duration,
}

/// What an access token asserts. Issuer and audience are the codec's business.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user's id (`sub`).
    pub subject: Uuid,
    /// The role at issue time; informational only, the live role is read from storage.
    pub role: Role,
    /// `iat`.
    pub issued_at: OffsetDateTime,
    /// `exp`.
    pub expires_at: OffsetDateTime,
    /// The user's session version at issue time; a later bump revokes the token.
    pub session_version: i64,
    /// `jti`: unique per token.
    pub token_id: Uuid,
    /// `sid`: the session (refresh family) it belongs to; ending the session ends the token.
    pub session_id: Uuid,
    /// Whether its session's login proved a second factor: `amr` is `["pwd", "otp"]`, else
    /// `["pwd"]`.
    pub second_factor: bool,
}

/// What an access token issued to a client for itself (`client_credentials`) asserts: its
/// `sub` and `client_id` are the client, and it has no user, role or session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientClaims {
    /// `client_id`, and `sub`.
    pub client_id: String,
    /// `scope`.
    pub scope: Vec<String>,
    /// `aud` when the client has its own; else the server's.
    pub audience: Option<String>,
    /// `iat`.
    pub issued_at: OffsetDateTime,
    /// `exp`.
    pub expires_at: OffsetDateTime,
    /// `jti`.
    pub token_id: Uuid,
}

/// Why a token was refused by the codec. All map to the same 401; the distinction is for logs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a well-formed JWT, or a claim is missing or of the wrong type.
    #[error("malformed token")]
    Malformed,
    /// The signature does not verify with any configured key, or the algorithm is not the configured one.
    #[error("bad signature or algorithm")]
    BadSignature,
    /// The header's `typ` is not `at+jwt`.
    #[error("wrong token type")]
    WrongType,
    /// `exp` is in the past (beyond the leeway).
    #[error("expired")]
    Expired,
    /// `iss` or `aud` is not the configured value.
    #[error("wrong issuer or audience")]
    WrongIssuerOrAudience,
}

/// What a successful grant returns: an access token, its remaining lifetime, and the refresh
/// token that continues the session.
#[derive(Debug)]
pub struct IssuedTokens {
    /// The compact JWT.
    pub access_token: SecretString,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The opaque refresh token (256 bits).
    pub refresh_token: SecretString,
}

/// What introspection (RFC 7662) knows of an access token that would be accepted now.
#[derive(Clone, Debug)]
pub enum Seen {
    /// A user's token.
    User(Introspection),
    /// A client's own token, with the issuer the codec verified.
    Client(ClientClaims, String),
}

/// What introspection (RFC 7662) knows of a user's access token that would be accepted now.
#[derive(Clone, Debug)]
pub struct Introspection {
    /// Its claims.
    pub claims: AccessClaims,
    /// Its user as stored now (the current role, not the one at issue).
    pub user: User,
    /// The issuer (`iss`) the codec verified.
    pub issuer: String,
    /// The audience (`aud`) the codec verified.
    pub audience: String,
}
