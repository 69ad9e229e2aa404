//! `ApiKeyRepository` on sea-orm.

use async_trait::async_trait;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    Set, TransactionTrait,
};
use time::OffsetDateTime;
use uuid::Uuid;
use warden_domain::Error;
use warden_domain::api_key::ApiKey;
use warden_domain::audit::AuditEvent;
use warden_domain::ports::ApiKeyRepository;
use warden_domain::user::User;

use super::entity::api_key::{ActiveModel, Column, Entity, Model};
use super::entity::user;
use super::{owner_gone_or_storage_error, storage_error, users};

/// API keys stored through sea-orm.
#[derive(Clone, Debug)]
pub struct SeaOrmApiKeyRepository {
    db: DatabaseConnection,
}

impl SeaOrmApiKeyRepository {
    /// A repository on the pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

/// A stored row as a domain API key.
pub(super) fn to_domain(m: Model) -> ApiKey {
    ApiKey {
        id: m.id,
        user_id: m.user_id,
        name: m.name,
        prefix: m.prefix,
        digest: m.digest,
        created_at: m.created_at,
        expires_at: m.expires_at,
        revoked_at: m.revoked_at,
        last_used_at: m.last_used_at,
    }
}

#[async_trait]
impl ApiKeyRepository for SeaOrmApiKeyRepository {
    async fn insert(&self, k: &ApiKey, audit: &AuditEvent) -> Result<(), Error> {
        let row = ActiveModel {
            id: Set(k.id),
            user_id: Set(k.user_id),
            name: Set(k.name.clone()),
            prefix: Set(k.prefix.clone()),
            digest: Set(k.digest.clone()),
            created_at: Set(k.created_at),
            expires_at: Set(k.expires_at),
            revoked_at: Set(k.revoked_at),
            last_used_at: Set(k.last_used_at),
        };
        // The owner was authenticated a moment ago; deleted since, its credential is dead.
        let txn = self.db.begin().await.map_err(storage_error)?;
        Entity::insert(row)
            .exec_without_returning(&txn)
            .await
            .map_err(|e| owner_gone_or_storage_error(e, Error::InvalidToken))?;
        super::audit::write(&txn, audit).await?;
        txn.commit().await.map_err(storage_error)
    }

    async fn find_by_prefix(&self, prefix: &str) -> Result<Option<(ApiKey, User)>, Error> {
        // One round trip: the key and its owner, joined.
        let owner = Entity::belongs_to(user::Entity)
            .from(Column::UserId)
            .to(user::Column::Id)
            .into();
        let row = Entity::find()
            .filter(Column::Prefix.eq(prefix))
            .join(JoinType::InnerJoin, owner)
            .select_also(user::Entity)
            .one(&self.db)
            .await
            .map_err(storage_error)?
            .and_then(|(key, owner)| Some((key, owner?)));
        row.map(|(key, owner)| Ok((to_domain(key), users::to_domain(owner)?)))
            .transpose()
    }

    async fn find_by_id(&self, id: Uuid) -> Result<Option<ApiKey>, Error> {
        Ok(Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(storage_error)?
            .map(to_domain))
    }

    async fn list_for_user(&self, user_id: Uuid) -> Result<Vec<ApiKey>, Error> {
        Ok(Entity::find()
            .filter(Column::UserId.eq(user_id))
            .order_by_asc(Column::Id)
            .all(&self.db)
            .await
            .map_err(storage_error)?
            .into_iter()
            .map(to_domain)
            .collect())
    }

    async fn revoke(&self, id: Uuid, at: OffsetDateTime, audit: &AuditEvent) -> Result<(), Error> {
        let txn = self.db.begin().await.map_err(storage_error)?;
        // Once: of two revocations at once, the second finds it revoked and records nothing.
        let revoked = Entity::update_many()
            .col_expr(Column::RevokedAt, Expr::value(at))
            .filter(Column::Id.eq(id))
            .filter(Column::RevokedAt.is_null())
            .exec(&txn)
            .await
            .map_err(storage_error)?
            .rows_affected;
        if revoked == 0 {
            return Err(Error::NotFound);
        }
        super::audit::write(&txn, audit).await?;
        txn.commit().await.map_err(storage_error)
    }

    async fn touch(&self, id: Uuid, at: OffsetDateTime) -> Result<(), Error> {
        Entity::update_many()
            .col_expr(Column::LastUsedAt, Expr::value(at))
            .filter(Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(storage_error)?;
        Ok(())
    }
}
