//! An in-memory client registry that writes down the audit event of each change.

use std::sync::Mutex;

use async_trait::async_trait;

use crate::Error;
use crate::audit::{AuditEvent, AuditKind};
use crate::client::Client;
use crate::ports::ClientRepository;

/// Clients in a vector, and the kinds of the audit events their changes wrote.
#[derive(Debug, Default)]
pub struct MemClients {
    clients: Mutex<Vec<Client>>,
    audit: Mutex<Vec<AuditKind>>,
}

impl MemClients {
    /// The kinds of the audit events written so far.
    pub fn audited(&self) -> Vec<AuditKind> {
        self.audit.lock().unwrap().clone()
    }

    /// The stored client of this id.
    pub fn stored(&self, id: &str) -> Option<Client> {
        self.clients
            .lock()
            .unwrap()
            .iter()
            .find(|c| c.id == id)
            .cloned()
    }
}

#[async_trait]
impl ClientRepository for MemClients {
    async fn insert(&self, client: &Client, audit: &AuditEvent) -> Result<(), Error> {
        self.clients.lock().unwrap().push(client.clone());
        self.audit.lock().unwrap().push(audit.kind);
        Ok(())
    }

    async fn find(&self, id: &str) -> Result<Option<Client>, Error> {
        Ok(self.stored(id))
    }

    async fn list(&self) -> Result<Vec<Client>, Error> {
        Ok(self.clients.lock().unwrap().clone())
    }

    async fn update(&self, client: &Client, audit: &AuditEvent) -> Result<(), Error> {
        let mut clients = self.clients.lock().unwrap();
        let slot = clients
            .iter_mut()
            .find(|c| c.id == client.id)
            .ok_or(Error::NotFound)?;
        *slot = client.clone();
        self.audit.lock().unwrap().push(audit.kind);
        Ok(())
    }

    async fn delete(&self, id: &str, audit: &AuditEvent) -> Result<(), Error> {
        let mut clients = self.clients.lock().unwrap();
        let before = clients.len();
        clients.retain(|c| c.id != id);
        if clients.len() == before {
            return Err(Error::NotFound);
        }
        self.audit.lock().unwrap().push(audit.kind);
        Ok(())
    }
}
