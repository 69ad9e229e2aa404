//! `/admin/clients`: the OAuth client registry; the use cases admit admins only.

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::{MaybeUndefined, ToJSON};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use secrecy::ExposeSecret;
use time::OffsetDateTime;
use warden_domain::client::{Client, ClientSpec, GrantType};
use warden_domain::clients::{ClientUpdate, NewClient};

use super::Tag;
use crate::failure::{Caller, CreateClient, Failure, OneClient, PatchClient, RotateSecret};
use crate::security::{Authenticated, state};
use crate::strict_json::StrictJson;

/// The resource.
#[derive(Debug)]
pub struct ClientsApi;

/// A grant on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
enum GrantTypeDto {
    /// The authorization code, with PKCE.
    AuthorizationCode,
    /// The refresh token.
    RefreshToken,
    /// The client's own credentials (confidential clients).
    ClientCredentials,
    /// The resource owner's password.
    Password,
}

impl From<GrantTypeDto> for GrantType {
    fn from(g: GrantTypeDto) -> Self {
        match g {
            GrantTypeDto::AuthorizationCode => Self::AuthorizationCode,
            GrantTypeDto::RefreshToken => Self::RefreshToken,
            GrantTypeDto::ClientCredentials => Self::ClientCredentials,
            GrantTypeDto::Password => Self::Password,
        }
    }
}

impl From<GrantType> for GrantTypeDto {
    fn from(g: GrantType) -> Self {
        match g {
            GrantType::AuthorizationCode => Self::AuthorizationCode,
            GrantType::RefreshToken => Self::RefreshToken,
            GrantType::ClientCredentials => Self::ClientCredentials,
            GrantType::Password => Self::Password,
        }
    }
}

fn grants(list: Vec<GrantTypeDto>) -> Vec<GrantType> {
    list.into_iter().map(Into::into).collect()
}

/// A registration.
#[derive(Object)]
#[oai(deny_unknown_fields)]
struct NewClientBody {
    /// A name to show: 1 to 100 characters.
    name: String,
    /// The redirect URIs, matched exactly: https, http only to a loopback host, or a private
    /// scheme with a dot; no fragment. At most 20.
    redirect_uris: Vec<String>,
    /// A public client (a browser or native app) has no secret.
    public: bool,
    /// A first-party client is never asked for consent.
    first_party: bool,
    /// The grants it may use.
    grant_types: Vec<GrantTypeDto>,
    /// The scopes it may ask for (RFC 6749 scope tokens). At most 50.
    scopes: Vec<String>,
    /// The `aud` of its access tokens, when not the server's.
    audience: Option<String>,
    /// Where it may send a user back after logout, matched exactly.
    post_logout_redirect_uris: Option<Vec<String>>,
}

/// A change; absent fields stay as they are, `audience: null` clears it.
#[derive(Object)]
#[oai(deny_unknown_fields)]
struct ClientPatch {
    /// New name.
    name: Option<String>,
    /// New redirect URIs.
    redirect_uris: Option<Vec<String>>,
    /// Public or confidential: a client made confidential gets a secret, shown in this
    /// response only; one made public loses its secret.
    public: Option<bool>,
    /// First-party or not.
    first_party: Option<bool>,
    /// New grants.
    grant_types: Option<Vec<GrantTypeDto>>,
    /// New scopes.
    scopes: Option<Vec<String>>,
    /// New audience; `null` for the server's.
    audience: MaybeUndefined<String>,
    /// New post-logout redirect URIs.
    post_logout_redirect_uris: Option<Vec<String>>,
}

/// A registered client.
#[derive(Object)]
struct ClientDto {
    /// `client_id`.
    client_id: String,
    /// Its name.
    name: String,
    /// Its redirect URIs.
    redirect_uris: Vec<String>,
    /// Whether it is public (no secret).
    public: bool,
    /// Whether it is first-party (no consent).
    first_party: bool,
    /// The grants it may use.
    grant_types: Vec<GrantTypeDto>,
    /// The scopes it may ask for.
    scopes: Vec<String>,
    /// The `aud` of its access tokens; `null` for the server's.
    #[oai(nullable)]
    audience: Option<String>,
    /// Its post-logout redirect URIs.
    post_logout_redirect_uris: Vec<String>,
    /// When it was registered.
    created_at: OffsetDateTime,
    /// When it last changed.
    updated_at: OffsetDateTime,
    /// Its secret: only in the response that made it (a confidential client's creation, or
    /// its change from public), never again.
    #[oai(skip_serializing_if_is_none)]
    client_secret: Option<String>,
}

impl ClientDto {
    fn of(client: Client) -> Self {
        let spec = client.spec;
        Self {
            client_id: client.id,
            name: spec.name,
            redirect_uris: spec.redirect_uris,
            public: spec.public,
            first_party: spec.first_party,
            grant_types: spec.grant_types.into_iter().map(Into::into).collect(),
            scopes: spec.scopes,
            audience: spec.audience,
            post_logout_redirect_uris: spec.post_logout_redirect_uris,
            created_at: client.created_at,
            updated_at: client.updated_at,
            client_secret: None,
        }
    }

    fn made(made: NewClient) -> Self {
        Self {
            client_secret: made.secret.map(|s| s.expose_secret().to_owned()),
            ..Self::of(made.client)
        }
    }
}

/// A client as `/admin/clients` writes it, with its secret when one was just made: for the
/// CLI's `--json`, one wire shape for both.
pub fn client_json(made: NewClient) -> serde_json::Value {
    ClientDto::made(made).to_json().unwrap_or_default()
}

/// Clients as `GET /admin/clients` lists its items, for the CLI's `--json`.
pub fn clients_json(clients: Vec<Client>) -> serde_json::Value {
    serde_json::Value::Array(
        clients
            .into_iter()
            .filter_map(|c| ClientDto::of(c).to_json())
            .collect(),
    )
}

/// Every client.
#[derive(Object)]
struct ClientList {
    /// Oldest first.
    items: Vec<ClientDto>,
}

#[derive(ApiResponse)]
enum CreatedResponse {
    /// Registered; a confidential client's `client_secret` is shown here only.
    #[oai(status = 201)]
    Created(Json<ClientDto>, #[oai(header = "Cache-Control")] String),
}

#[derive(ApiResponse)]
enum ClientResponse {
    /// The client (with `client_secret` only when this change made one).
    #[oai(status = 200)]
    Ok(Json<ClientDto>, #[oai(header = "Cache-Control")] String),
}

impl ClientResponse {
    /// A client as a change left it, with the secret the change made, if any; never cached.
    fn made(made: NewClient) -> Self {
        Self::Ok(Json(ClientDto::made(made)), "no-store".into())
    }
}

#[derive(ApiResponse)]
enum ListResponse {
    /// Every client.
    #[oai(status = 200)]
    Ok(Json<ClientList>),
}

#[derive(ApiResponse)]
enum NoContent {
    /// Removed: its tokens are no longer active.
    #[oai(status = 204)]
    Done,
}

#[OpenApi(tag = "Tag::Admin")]
impl ClientsApi {
    /// Every registered OAuth client.
    #[oai(path = "/admin/clients", method = "get")]
    async fn list(
        &self,
        req: &Request,
        auth: Authenticated,
    ) -> Result<ListResponse, Failure<Caller>> {
        let caller = auth.caller()?;
        let clients = state(req)?.services.clients.list(&caller).await?;
        Ok(ListResponse::Ok(Json(ClientList {
            items: clients.into_iter().map(ClientDto::of).collect(),
        })))
    }

    /// Register an OAuth client; a confidential one's secret is in this response only.
    #[oai(path = "/admin/clients", method = "post")]
    async fn create(
        &self,
        req: &Request,
        auth: Authenticated,
        body: StrictJson<NewClientBody>,
    ) -> Result<CreatedResponse, Failure<CreateClient>> {
        let caller = auth.caller()?;
        let b = body.0;
        let spec = ClientSpec {
            name: b.name,
            redirect_uris: b.redirect_uris,
            public: b.public,
            first_party: b.first_party,
            grant_types: grants(b.grant_types),
            scopes: b.scopes,
            audience: b.audience,
            post_logout_redirect_uris: b.post_logout_redirect_uris.unwrap_or_default(),
        };
        let made = state(req)?.services.clients.create(&caller, spec).await?;
        Ok(CreatedResponse::Created(
            Json(ClientDto::made(made)),
            "no-store".into(),
        ))
    }

    /// One client.
    #[oai(path = "/admin/clients/:client_id", method = "get")]
    async fn get(
        &self,
        req: &Request,
        auth: Authenticated,
        client_id: Path<String>,
    ) -> Result<ClientResponse, Failure<OneClient>> {
        let caller = auth.caller()?;
        let client = state(req)?
            .services
            .clients
            .get(&caller, &client_id.0)
            .await?;
        Ok(ClientResponse::Ok(
            Json(ClientDto::of(client)),
            "no-store".into(),
        ))
    }

    /// Change a client's registration.
    #[oai(path = "/admin/clients/:client_id", method = "patch")]
    async fn patch(
        &self,
        req: &Request,
        auth: Authenticated,
        client_id: Path<String>,
        body: StrictJson<ClientPatch>,
    ) -> Result<ClientResponse, Failure<PatchClient>> {
        let caller = auth.caller()?;
        let b = body.0;
        let change = ClientUpdate {
            name: b.name,
            redirect_uris: b.redirect_uris,
            public: b.public,
            first_party: b.first_party,
            grant_types: b.grant_types.map(grants),
            scopes: b.scopes,
            audience: match b.audience {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(aud) => Some(Some(aud)),
            },
            post_logout_redirect_uris: b.post_logout_redirect_uris,
        };
        let made = state(req)?
            .services
            .clients
            .update(&caller, &client_id.0, change)
            .await?;
        Ok(ClientResponse::made(made))
    }

    /// Give a confidential client a new secret, in this response only; the old one stops
    /// working at once (tokens issued before stay active until they expire).
    #[oai(path = "/admin/clients/:client_id/secret", method = "post")]
    async fn rotate_secret(
        &self,
        req: &Request,
        auth: Authenticated,
        client_id: Path<String>,
    ) -> Result<ClientResponse, Failure<RotateSecret>> {
        let caller = auth.caller()?;
        let made = state(req)?
            .services
            .clients
            .rotate_secret(&caller, &client_id.0)
            .await?;
        Ok(ClientResponse::made(made))
    }

    /// Remove a client: its tokens stop being active.
    #[oai(path = "/admin/clients/:client_id", method = "delete")]
    async fn delete(
        &self,
        req: &Request,
        auth: Authenticated,
        client_id: Path<String>,
    ) -> Result<NoContent, Failure<OneClient>> {
        let caller = auth.caller()?;
        state(req)?
            .services
            .clients
            .delete(&caller, &client_id.0)
            .await?;
        Ok(NoContent::Done)
    }
}
