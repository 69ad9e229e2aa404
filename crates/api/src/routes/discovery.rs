//! `GET /.well-known/oauth-authorization-server` (RFC 8414): what this server supports, for
//! clients that find their endpoints by discovery. It needs an issuer that is a URL (the
//! server's own base: `jwt.issuer`, else `server.public_url`).

use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::Tag;
use crate::failure::{Discovery, Failure};
use crate::problem::{ApiError, Problem};
use crate::security::state;

/// The resource.
#[derive(Debug)]
pub struct DiscoveryApi;

/// Authorization server metadata (RFC 8414 §2), listing exactly what is supported.
#[derive(Object)]
struct Metadata {
    /// The issuer: the `iss` of every token, and the base of every endpoint below.
    issuer: String,
    /// The token endpoint.
    token_endpoint: String,
    /// The public keys that verify tokens.
    jwks_uri: String,
    /// No response type yet: there is no authorization endpoint.
    response_types_supported: Vec<String>,
    /// The grants of the token endpoint.
    grant_types_supported: Vec<String>,
    /// How clients authenticate at the token endpoint (`none`: a public client, or the
    /// built-in one).
    token_endpoint_auth_methods_supported: Vec<String>,
    /// RFC 7009 revocation.
    revocation_endpoint: String,
    /// How clients authenticate there.
    revocation_endpoint_auth_methods_supported: Vec<String>,
    /// RFC 7662 introspection.
    introspection_endpoint: String,
    /// How clients authenticate there (a bearer token of role `admin` or `service` works too).
    introspection_endpoint_auth_methods_supported: Vec<String>,
}

#[derive(ApiResponse)]
enum MetadataResponse {
    /// The metadata.
    #[oai(status = 200)]
    Ok(Json<Metadata>, #[oai(header = "Cache-Control")] String),
}

fn list(items: &[&str]) -> Vec<String> {
    items.iter().map(|&i| i.to_owned()).collect()
}

/// Whether `issuer` is a URL discovery can be based on.
fn is_url(issuer: &str) -> bool {
    issuer.starts_with("https://") || issuer.starts_with("http://")
}

#[OpenApi(tag = "Tag::Operations")]
impl DiscoveryApi {
    /// OAuth 2.0 authorization server metadata (RFC 8414); 404 while the issuer is not a URL.
    #[oai(path = "/.well-known/oauth-authorization-server", method = "get")]
    async fn metadata(&self, req: &Request) -> Result<MetadataResponse, Failure<Discovery>> {
        let issuer = state(req)?.services.auth.ports().tokens.issuer();
        if !is_url(&issuer) {
            return Err(ApiError::NotFound(Json(Problem::new(
                404,
                "Discovery needs an issuer that is a URL: set jwt.issuer, or server.public_url",
            )))
            .into());
        }
        let base = issuer.trim_end_matches('/').to_owned();
        let at = |path: &str| format!("{base}{path}");
        let secrets = list(&["client_secret_basic", "client_secret_post"]);
        Ok(MetadataResponse::Ok(
            Json(Metadata {
                token_endpoint: at("/auth/token"),
                jwks_uri: at("/.well-known/jwks.json"),
                response_types_supported: Vec::new(),
                grant_types_supported: list(&[
                    "password",
                    "refresh_token",
                    "client_credentials",
                    "urn:warden:params:oauth:grant-type:mfa-otp",
                ]),
                token_endpoint_auth_methods_supported: list(&[
                    "client_secret_basic",
                    "client_secret_post",
                    "none",
                ]),
                revocation_endpoint: at("/auth/revoke"),
                revocation_endpoint_auth_methods_supported: list(&[
                    "client_secret_basic",
                    "client_secret_post",
                    "none",
                ]),
                introspection_endpoint: at("/auth/introspect"),
                introspection_endpoint_auth_methods_supported: secrets,
                issuer,
            }),
            "public, max-age=300".into(),
        ))
    }
}
