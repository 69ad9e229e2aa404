//! `ClientRepository` on sea-orm.

use async_trait::async_trait;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use warden_domain::Error;
use warden_domain::audit::AuditEvent;
use warden_domain::client::{Client, ClientSpec, GrantType};
use warden_domain::ports::ClientRepository;

use super::entity::oauth_client::{ActiveModel, Column, Entity, Model};
use super::storage_error;

/// Registered clients stored through sea-orm.
#[derive(Clone, Debug)]
pub struct SeaOrmClientRepository {
    db: DatabaseConnection,
}

impl SeaOrmClientRepository {
    /// A repository on the pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

/// The lists of a registration, as its `lists` column holds them.
#[derive(Serialize, Deserialize)]
struct Lists {
    redirect_uris: Vec<String>,
    grant_types: Vec<String>,
    scopes: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
}

fn to_row(c: &Client) -> Result<ActiveModel, Error> {
    let spec = &c.spec;
    let lists = Lists {
        redirect_uris: spec.redirect_uris.clone(),
        grant_types: spec
            .grant_types
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect(),
        scopes: spec.scopes.clone(),
        post_logout_redirect_uris: spec.post_logout_redirect_uris.clone(),
    };
    Ok(ActiveModel {
        id: Set(c.id.clone()),
        name: Set(spec.name.clone()),
        public: Set(spec.public),
        first_party: Set(spec.first_party),
        audience: Set(spec.audience.clone()),
        lists: Set(serde_json::to_string(&lists).map_err(Error::internal)?),
        secret_digest: Set(c.secret_digest.clone()),
        created_at: Set(c.created_at),
        updated_at: Set(c.updated_at),
    })
}

fn to_domain(m: Model) -> Result<Client, Error> {
    let lists: Lists = serde_json::from_str(&m.lists).map_err(Error::internal)?;
    let grant_types = lists
        .grant_types
        .iter()
        .map(|g| {
            GrantType::parse(g)
                .ok_or_else(|| Error::internal(format!("client {}: unknown grant", m.id)))
        })
        .collect::<Result<_, _>>()?;
    Ok(Client {
        spec: ClientSpec {
            name: m.name,
            redirect_uris: lists.redirect_uris,
            public: m.public,
            first_party: m.first_party,
            grant_types,
            scopes: lists.scopes,
            audience: m.audience,
            post_logout_redirect_uris: lists.post_logout_redirect_uris,
        },
        id: m.id,
        secret_digest: m.secret_digest,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

#[async_trait]
impl ClientRepository for SeaOrmClientRepository {
    async fn insert(&self, client: &Client, audit: &AuditEvent) -> Result<(), Error> {
        let row = to_row(client)?;
        let txn = self.db.begin().await.map_err(storage_error)?;
        Entity::insert(row)
            .exec_without_returning(&txn)
            .await
            .map_err(storage_error)?;
        super::audit::write(&txn, audit).await?;
        txn.commit().await.map_err(storage_error)
    }

    async fn find(&self, id: &str) -> Result<Option<Client>, Error> {
        Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .map_err(storage_error)?
            .map(to_domain)
            .transpose()
    }

    async fn list(&self) -> Result<Vec<Client>, Error> {
        Entity::find()
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .all(&self.db)
            .await
            .map_err(storage_error)?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    async fn update(&self, client: &Client, audit: &AuditEvent) -> Result<(), Error> {
        let mut row = to_row(client)?;
        row.created_at = sea_orm::ActiveValue::NotSet;
        let txn = self.db.begin().await.map_err(storage_error)?;
        let changed = Entity::update_many()
            .set(row)
            .filter(Column::Id.eq(client.id.clone()))
            .exec(&txn)
            .await
            .map_err(storage_error)?
            .rows_affected;
        if changed == 0 {
            return Err(Error::NotFound);
        }
        super::audit::write(&txn, audit).await?;
        txn.commit().await.map_err(storage_error)
    }

    async fn delete(&self, id: &str, audit: &AuditEvent) -> Result<(), Error> {
        let txn = self.db.begin().await.map_err(storage_error)?;
        let gone = Entity::delete_by_id(id.to_owned())
            .exec(&txn)
            .await
            .map_err(storage_error)?
            .rows_affected;
        if gone == 0 {
            return Err(Error::NotFound);
        }
        super::audit::write(&txn, audit).await?;
        txn.commit().await.map_err(storage_error)
    }
}
