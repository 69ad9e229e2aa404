//! The ports of Warden as an OAuth authorization server: the client registry.

use async_trait::async_trait;

use crate::Error;
use crate::audit::AuditEvent;
use crate::client::Client;

/// Durable storage of registered clients. Each change writes its audit event in its own
/// transaction.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ClientRepository: Send + Sync + 'static {
    /// Stores a new client.
    ///
    /// # Errors
    /// Storage failures.
    async fn insert(&self, client: &Client, audit: &AuditEvent) -> Result<(), Error>;

    /// The client of this id.
    ///
    /// # Errors
    /// Storage failures only.
    async fn find(&self, id: &str) -> Result<Option<Client>, Error>;

    /// Every client, oldest first.
    ///
    /// # Errors
    /// Storage failures only.
    async fn list(&self) -> Result<Vec<Client>, Error>;

    /// Replaces a stored client.
    ///
    /// # Errors
    /// [`Error::NotFound`] when it is gone; storage failures.
    async fn update(&self, client: &Client, audit: &AuditEvent) -> Result<(), Error>;

    /// Removes a client.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is none of this id; storage failures.
    async fn delete(&self, id: &str, audit: &AuditEvent) -> Result<(), Error>;
}
