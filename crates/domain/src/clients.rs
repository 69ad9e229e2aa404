//! The client use cases: the registry an admin manages, the authentication of a client at the
//! token, introspection and revocation endpoints, and the `client_credentials` grant.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use time::Duration;

use crate::Error;
use crate::audit::AuditKind;
use crate::auth::{AuthService, Ports};
use crate::client::{Client, ClientSpec, GrantType};
use crate::ports::ClientRepository;
use crate::principal::{Permission, Principal};
use crate::token::{ClientClaims, Seen};

/// A client as it presented itself: its id, and its secret when it sent one.
#[derive(Debug)]
pub struct ClientAuth {
    /// `client_id`.
    pub id: String,
    /// `client_secret`, by HTTP Basic or in the form.
    pub secret: Option<SecretString>,
}

/// Who asks at the token endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenClient {
    /// The built-in first-party client (`oauth.default_client`), public, with the password and
    /// refresh grants: what a request without `client_id` uses.
    Default,
    /// A registered client, authenticated (or public, with no secret to show).
    Registered(Box<Client>),
    /// A `client_id` that names no client (whatever secret came with it).
    Unregistered,
}

/// Who asks to introspect a token.
#[derive(Clone, Copy, Debug)]
pub enum Inspector<'a> {
    /// A user or the operator, by its credential: it must be allowed (`admin`, `service`).
    Principal(&'a Principal),
    /// A confidential client, authenticated by [`ClientService::confidential`].
    Client(&'a Client),
}

/// A freshly registered (or re-keyed) client, with its secret to show once.
#[derive(Debug)]
pub struct NewClient {
    /// What is stored.
    pub client: Client,
    /// The secret of a confidential client, when one was made now.
    pub secret: Option<SecretString>,
}

/// A change of a registration; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ClientUpdate {
    /// New name.
    pub name: Option<String>,
    /// New redirect URIs.
    pub redirect_uris: Option<Vec<String>>,
    /// Public (no secret) or confidential; turning a public client confidential makes it a
    /// secret, and the reverse drops it.
    pub public: Option<bool>,
    /// First-party or not.
    pub first_party: Option<bool>,
    /// New grants.
    pub grant_types: Option<Vec<GrantType>>,
    /// New scopes.
    pub scopes: Option<Vec<String>>,
    /// New audience; `Some(None)` clears it.
    pub audience: Option<Option<String>>,
    /// New post-logout redirect URIs.
    pub post_logout_redirect_uris: Option<Vec<String>>,
}

/// An access token issued to a client for itself (`client_credentials`).
#[derive(Debug)]
pub struct ClientToken {
    /// The compact JWT.
    pub access_token: SecretString,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The scopes it carries.
    pub scope: Vec<String>,
}

/// The client use cases. Managing the registry is for admins and the operator alone, refused
/// with [`Error::Forbidden`] before anything else.
#[derive(Clone)]
pub struct ClientService {
    ports: Ports,
    clients: Arc<dyn ClientRepository>,
    default_id: Arc<str>,
    access_ttl: Duration,
}

impl std::fmt::Debug for ClientService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientService")
            .field("default_id", &self.default_id)
            .finish_non_exhaustive()
    }
}

impl ClientService {
    /// Builds the service: `default_id` names the built-in client, `access_ttl` is the life of
    /// the access tokens it issues.
    pub fn new(
        ports: Ports,
        clients: Arc<dyn ClientRepository>,
        default_id: &str,
        access_ttl: Duration,
    ) -> Self {
        Self {
            ports,
            clients,
            default_id: default_id.into(),
            access_ttl,
        }
    }

    /// Registers a client; a confidential one gets a secret, shown once.
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::Invalid`] with every reason; storage failures.
    pub async fn create(&self, caller: &Principal, spec: ClientSpec) -> Result<NewClient, Error> {
        caller.authorize(Permission::ManageClients)?;
        let spec = spec.validated().map_err(Error::Invalid)?;
        let now = self.ports.clock.now();
        let secret = (!spec.public).then(|| self.ports.random.secret());
        let client = Client {
            id: self.ports.random.new_id().to_string(),
            secret_digest: secret.as_ref().map(|s| self.digest(s)),
            spec,
            created_at: now,
            updated_at: now,
        };
        let audit = self
            .ports
            .event(AuditKind::ClientCreated)
            .by(caller)
            .detail("client_id", client.id.clone());
        self.clients.insert(&client, &audit).await?;
        Ok(NewClient { client, secret })
    }

    /// Every registered client, oldest first.
    ///
    /// # Errors
    /// [`Error::Forbidden`]; storage failures.
    pub async fn list(&self, caller: &Principal) -> Result<Vec<Client>, Error> {
        caller.authorize(Permission::ManageClients)?;
        self.clients.list().await
    }

    /// One client.
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::NotFound`]; storage failures.
    pub async fn get(&self, caller: &Principal, id: &str) -> Result<Client, Error> {
        caller.authorize(Permission::ManageClients)?;
        self.find(id).await?.ok_or(Error::NotFound)
    }

    /// Changes a registration. A client made confidential gets a new secret (returned once);
    /// one made public loses its secret.
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::NotFound`], [`Error::Invalid`]; storage failures.
    pub async fn update(
        &self,
        caller: &Principal,
        id: &str,
        change: ClientUpdate,
    ) -> Result<NewClient, Error> {
        caller.authorize(Permission::ManageClients)?;
        let mut client = self.find(id).await?.ok_or(Error::NotFound)?;
        let spec = &mut client.spec;
        let was_public = spec.public;
        set(&mut spec.name, change.name);
        set(&mut spec.redirect_uris, change.redirect_uris);
        set(&mut spec.public, change.public);
        set(&mut spec.first_party, change.first_party);
        set(&mut spec.grant_types, change.grant_types);
        set(&mut spec.scopes, change.scopes);
        set(&mut spec.audience, change.audience);
        set(
            &mut spec.post_logout_redirect_uris,
            change.post_logout_redirect_uris,
        );
        client.spec = client.spec.validated().map_err(Error::Invalid)?;
        let secret = (was_public && !client.spec.public).then(|| self.ports.random.secret());
        if client.spec.public {
            client.secret_digest = None;
        } else if let Some(secret) = &secret {
            client.secret_digest = Some(self.digest(secret));
        }
        client.updated_at = self.ports.clock.now();
        let audit = self
            .ports
            .event(AuditKind::ClientUpdated)
            .by(caller)
            .detail("client_id", client.id.clone());
        self.clients.update(&client, &audit).await?;
        Ok(NewClient { client, secret })
    }

    /// Gives a confidential client a new secret, shown once; the old one stops working at
    /// once. Tokens issued before stay active (they do not depend on the secret): delete the
    /// client to end them.
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::NotFound`], [`Error::Invalid`] for a public client;
    /// storage failures.
    pub async fn rotate_secret(&self, caller: &Principal, id: &str) -> Result<NewClient, Error> {
        caller.authorize(Permission::ManageClients)?;
        let mut client = self.find(id).await?.ok_or(Error::NotFound)?;
        if client.spec.public {
            return Err(Error::Invalid(vec!["a public client has no secret".into()]));
        }
        let secret = self.ports.random.secret();
        client.secret_digest = Some(self.digest(&secret));
        client.updated_at = self.ports.clock.now();
        let audit = self
            .ports
            .event(AuditKind::ClientUpdated)
            .by(caller)
            .detail("client_id", client.id.clone())
            .detail("secret", "rotated");
        self.clients.update(&client, &audit).await?;
        Ok(NewClient {
            client,
            secret: Some(secret),
        })
    }

    /// Removes a client.
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::NotFound`]; storage failures.
    pub async fn delete(&self, caller: &Principal, id: &str) -> Result<(), Error> {
        caller.authorize(Permission::ManageClients)?;
        let audit = self
            .ports
            .event(AuditKind::ClientDeleted)
            .by(caller)
            .detail("client_id", id.to_owned());
        if !is_client_id(id) {
            return Err(Error::NotFound);
        }
        self.clients.delete(id, &audit).await
    }

    /// Who asks at the token endpoint. Nothing presented, or the default client's id, is the
    /// default client. A registered client must prove itself: a confidential one by its secret,
    /// a public one by sending none. An id that names no client, with a secret or without, is
    /// [`TokenClient::Unregistered`], for the caller to decide.
    ///
    /// # Errors
    /// [`Error::InvalidClient`]; storage failures.
    pub async fn identify(&self, presented: Option<ClientAuth>) -> Result<TokenClient, Error> {
        let Some(presented) = presented else {
            return Ok(TokenClient::Default);
        };
        if presented.id == *self.default_id {
            return match presented.secret {
                None => Ok(TokenClient::Default),
                Some(_) => Err(Error::InvalidClient),
            };
        }
        let found = self.find(&presented.id).await?;
        match (found, presented.secret) {
            (None, secret) => {
                // The same work as a known client's check, so that timing tells nothing.
                if let Some(secret) = secret {
                    self.ports.digester.matches(secret.expose_secret(), "");
                }
                Ok(TokenClient::Unregistered)
            }
            (Some(client), secret) => match (&client.secret_digest, secret) {
                (None, None) if client.spec.public => Ok(TokenClient::Registered(Box::new(client))),
                (Some(digest), Some(secret))
                    if !client.spec.public
                        && self.ports.digester.matches(secret.expose_secret(), digest) =>
                {
                    Ok(TokenClient::Registered(Box::new(client)))
                }
                _ => Err(Error::InvalidClient),
            },
        }
    }

    /// A confidential client, authenticated by its secret: who may introspect and revoke.
    ///
    /// # Errors
    /// [`Error::InvalidClient`] for anything else; storage failures.
    pub async fn confidential(&self, presented: ClientAuth) -> Result<Client, Error> {
        if presented.secret.is_none() {
            return Err(Error::InvalidClient);
        }
        match self.identify(Some(presented)).await? {
            // With a secret, only a confidential client is identified.
            TokenClient::Registered(client) => Ok(*client),
            _ => Err(Error::InvalidClient),
        }
    }

    /// The `client_credentials` grant: an access token whose subject is the client, for the
    /// scopes asked (each allowed to it) or else every scope it is allowed.
    ///
    /// # Errors
    /// [`Error::UnauthorizedClient`] for a public client or one not allowed the grant,
    /// [`Error::InvalidScope`]; a signing failure.
    pub fn client_credentials(
        &self,
        client: &Client,
        scope: Option<&str>,
    ) -> Result<ClientToken, Error> {
        if client.spec.public || !client.allows(GrantType::ClientCredentials) {
            return Err(Error::UnauthorizedClient);
        }
        let scope = granted_scope(&client.spec.scopes, scope)?;
        let issued_at = self.ports.clock.now();
        let claims = ClientClaims {
            client_id: client.id.clone(),
            scope: scope.clone(),
            audience: client.spec.audience.clone(),
            issued_at,
            expires_at: issued_at + self.access_ttl,
            token_id: self.ports.random.new_id(),
        };
        Ok(ClientToken {
            access_token: self.ports.tokens.sign_client(&claims)?,
            expires_in: self.access_ttl.whole_seconds(),
            scope,
        })
    }

    /// RFC 7662 introspection: what is known of an access token that would be accepted now, a
    /// user's or a client's own, or `None` for any token that would not. A client's token is
    /// active only while its client is still registered, confidential and allowed the grant,
    /// each of its scopes still allowed and its audience still the client's.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for a principal whose role may not introspect, before the token is
    /// looked at; storage failures.
    pub async fn introspect(
        &self,
        auth: &AuthService,
        inspector: Inspector<'_>,
        token: &str,
    ) -> Result<Option<Seen>, Error> {
        if let Inspector::Principal(caller) = inspector {
            caller.authorize(Permission::IntrospectTokens)?;
        }
        if let Ok(claims) = self.ports.tokens.verify_client(token) {
            let audience = self.ports.tokens.audience();
            let live = self.find(&claims.client_id).await?.is_some_and(|c| {
                let spec = &c.spec;
                !spec.public
                    && c.allows(GrantType::ClientCredentials)
                    && claims.scope.iter().all(|s| spec.scopes.contains(s))
                    && claims.audience.as_deref()
                        == Some(spec.audience.as_deref().unwrap_or(&audience))
            });
            return Ok(live.then(|| Seen::Client(claims, self.ports.tokens.issuer())));
        }
        Ok(auth.user_token(token).await?.map(Seen::User))
    }

    /// The client of `id`; none, without asking storage, for an id no client can have.
    async fn find(&self, id: &str) -> Result<Option<Client>, Error> {
        if !is_client_id(id) {
            return Ok(None);
        }
        self.clients.find(id).await
    }

    fn digest(&self, secret: &SecretString) -> String {
        self.ports.digester.digest(secret.expose_secret())
    }
}

/// Whether `id` has the shape of a registered client's id: a UUID, hyphenated, lowercase.
fn is_client_id(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok_and(|u| u.hyphenated().to_string() == id)
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

/// The scopes of a grant: those asked (space-separated, each allowed), or every allowed one
/// when none is asked.
///
/// # Errors
/// [`Error::InvalidScope`] when one asked is not allowed.
pub fn granted_scope(allowed: &[String], asked: Option<&str>) -> Result<Vec<String>, Error> {
    let Some(asked) = asked.filter(|a| !a.is_empty()) else {
        return Ok(allowed.to_vec());
    };
    let mut scopes: Vec<String> = Vec::new();
    for scope in asked.split(' ') {
        if !allowed.iter().any(|a| a == scope) {
            return Err(Error::InvalidScope);
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    Ok(scopes)
}

#[cfg(test)]
#[path = "clients_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "clients_edge_tests.rs"]
mod edge_tests;
