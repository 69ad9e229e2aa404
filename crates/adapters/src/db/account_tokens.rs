//! `AccountTokenRepository` on sea-orm: the links' tokens (digests), queued with their
//! messages, and redeemed by the delete that removes them, in the transaction of their change.

use async_trait::async_trait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, Set, TransactionTrait,
};
use time::OffsetDateTime;
use warden_domain::Error;
use warden_domain::audit::AuditEvent;
use warden_domain::mail::Message;
use warden_domain::ports::AccountTokenRepository;
use warden_domain::recovery::{AccountToken, TokenPurpose};
use warden_domain::user::{Email, PasswordHash};

use super::entity::account_token::{self, Column, Entity};
use super::entity::{api_key, login_throttle, mail_outbox, user};
use super::storage_error;

/// Tokens and the outbox, through sea-orm (SQLite or PostgreSQL).
#[derive(Clone, Debug)]
pub struct SeaOrmAccountTokenRepository {
    db: DatabaseConnection,
}

impl SeaOrmAccountTokenRepository {
    /// A repository on the pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// A transaction that has taken (deleted) the stored token, or `None` when it is gone:
    /// the start of every redemption, whose change then goes in the same transaction (and
    /// dropping it, uncommitted, puts the token back).
    async fn taking(&self, token: &AccountToken) -> Result<Option<DatabaseTransaction>, Error> {
        let txn = self.db.begin().await.map_err(storage_error)?;
        Ok(take(&txn, token).await?.then_some(txn))
    }
}

/// The outbox row of a new message, due at once.
pub(super) fn queued(id: uuid::Uuid, m: &Message, at: OffsetDateTime) -> mail_outbox::ActiveModel {
    mail_outbox::ActiveModel {
        id: Set(id),
        recipient: Set(m.to.clone()),
        subject: Set(m.subject.clone()),
        body_text: Set(m.text.clone()),
        body_html: Set(m.html.clone()),
        created_at: Set(at),
        attempts: Set(0),
        next_attempt_at: Set(at),
        sent_at: Set(None),
        dead_at: Set(None),
        last_error: Set(None),
    }
}

/// Deletes the stored token, if it is still there: the one step that makes a redemption
/// single-use.
async fn take(db: &impl ConnectionTrait, token: &AccountToken) -> Result<bool, Error> {
    let taken = Entity::delete_many()
        .filter(Column::Id.eq(token.id))
        .filter(Column::Digest.eq(token.digest.as_str()))
        .exec(db)
        .await
        .map_err(storage_error)?
        .rows_affected;
    Ok(taken == 1)
}

/// Deletes the user's tokens of these purposes.
async fn drop_tokens(
    db: &impl ConnectionTrait,
    user_id: uuid::Uuid,
    purposes: &[TokenPurpose],
) -> Result<(), Error> {
    Entity::delete_many()
        .filter(Column::UserId.eq(user_id))
        .filter(Column::Purpose.is_in(purposes.iter().map(|p| p.as_str())))
        .exec(db)
        .await
        .map_err(storage_error)?;
    Ok(())
}

/// A password changed (or reset): an outstanding reset link, and an address change asked for
/// under the old password, stop working.
pub(super) async fn drop_pending_links(
    db: &impl ConnectionTrait,
    user_id: uuid::Uuid,
) -> Result<(), Error> {
    drop_tokens(
        db,
        user_id,
        &[TokenPurpose::PasswordReset, TokenPurpose::EmailChange],
    )
    .await
}

fn to_domain(m: account_token::Model) -> Result<AccountToken, Error> {
    let purpose = TokenPurpose::parse(&m.purpose)
        .ok_or_else(|| Error::internal(format!("stored token purpose {:?}", m.purpose)))?;
    Ok(AccountToken {
        id: m.id,
        user_id: m.user_id,
        purpose,
        digest: m.digest,
        email: m.email,
        session_version: m.session_version,
        created_at: m.created_at,
        expires_at: m.expires_at,
    })
}

#[async_trait]
impl AccountTokenRepository for SeaOrmAccountTokenRepository {
    async fn issue(
        &self,
        token: &AccountToken,
        messages: &[Message],
        not_after: Option<OffsetDateTime>,
        audit: &AuditEvent,
    ) -> Result<bool, Error> {
        let txn = self.db.begin().await.map_err(storage_error)?;
        let row = account_token::ActiveModel {
            id: Set(token.id),
            user_id: Set(token.user_id),
            purpose: Set(token.purpose.as_str().to_owned()),
            digest: Set(token.digest.clone()),
            email: Set(token.email.clone()),
            session_version: Set(token.session_version),
            created_at: Set(token.created_at),
            expires_at: Set(token.expires_at),
        };
        let mut on_conflict = OnConflict::columns([Column::UserId, Column::Purpose]);
        on_conflict.update_columns([
            Column::Id,
            Column::Digest,
            Column::Email,
            Column::SessionVersion,
            Column::CreatedAt,
            Column::ExpiresAt,
        ]);
        if let Some(limit) = not_after {
            on_conflict.action_and_where(Expr::col((Entity, Column::CreatedAt)).lte(limit));
        }
        let written = Entity::insert(row)
            .on_conflict(on_conflict)
            .exec_without_returning(&txn)
            .await
            .map_err(|e| match e.sql_err() {
                Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => Error::NotFound,
                _ => storage_error(e),
            })?;
        if written == 0 {
            return Ok(false);
        }
        for message in messages {
            mail_outbox::Entity::insert(queued(uuid::Uuid::now_v7(), message, token.created_at))
                .exec_without_returning(&txn)
                .await
                .map_err(storage_error)?;
        }
        super::audit::write(&txn, audit).await?;
        txn.commit().await.map_err(storage_error)?;
        Ok(true)
    }

    async fn find(&self, digest: &str) -> Result<Option<AccountToken>, Error> {
        Entity::find()
            .filter(Column::Digest.eq(digest))
            .one(&self.db)
            .await
            .map_err(storage_error)?
            .map(to_domain)
            .transpose()
    }

    async fn redeem_reset(
        &self,
        token: &AccountToken,
        hash: &PasswordHash,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, Error> {
        let Some(txn) = self.taking(token).await? else {
            return Ok(false);
        };
        let normalized = Email::from_stored(token.email.clone());
        let reset = user::Entity::update_many()
            .col_expr(user::Column::PasswordHash, Expr::value(hash.expose()))
            .col_expr(
                user::Column::SessionVersion,
                Expr::col(user::Column::SessionVersion).add(1),
            )
            .col_expr(user::Column::UpdatedAt, Expr::value(at))
            .filter(user::Column::Id.eq(token.user_id))
            // Only the enabled account whose address the link went to.
            .filter(user::Column::Disabled.eq(false))
            .filter(user::Column::EmailNormalized.eq(normalized.normalized()))
            .exec(&txn)
            .await
            .map_err(storage_error)?
            .rows_affected;
        if reset != 1 {
            // Dropping the transaction rolls the take back.
            return Ok(false);
        }
        drop_pending_links(&txn, token.user_id).await?;
        // The mailbox's owner takes the account back: no key made by whoever held it stays.
        api_key::Entity::update_many()
            .col_expr(api_key::Column::RevokedAt, Expr::value(at))
            .filter(api_key::Column::UserId.eq(token.user_id))
            .filter(api_key::Column::RevokedAt.is_null())
            .exec(&txn)
            .await
            .map_err(storage_error)?;
        login_throttle::Entity::delete_many()
            .filter(login_throttle::Column::UserId.eq(token.user_id))
            .exec(&txn)
            .await
            .map_err(storage_error)?;
        super::audit::write(&txn, audit).await?;
        txn.commit().await.map_err(storage_error)?;
        Ok(true)
    }

    async fn redeem_verification(
        &self,
        token: &AccountToken,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, Error> {
        let Some(txn) = self.taking(token).await? else {
            return Ok(false);
        };
        let normalized = Email::from_stored(token.email.clone());
        let verified = user::Entity::update_many()
            .col_expr(user::Column::EmailVerifiedAt, Expr::value(at))
            .filter(user::Column::Id.eq(token.user_id))
            .filter(user::Column::EmailNormalized.eq(normalized.normalized()))
            .exec(&txn)
            .await
            .map_err(storage_error)?
            .rows_affected
            == 1;
        if !verified {
            // Dropping the transaction puts the token back.
            return Ok(false);
        }
        super::audit::write(&txn, audit).await?;
        txn.commit().await.map_err(storage_error)?;
        Ok(true)
    }

    async fn redeem_email_change(
        &self,
        token: &AccountToken,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, Error> {
        let Some(txn) = self.taking(token).await? else {
            return Ok(false);
        };
        let email = Email::from_stored(token.email.clone());
        let changed = user::Entity::update_many()
            .col_expr(user::Column::Email, Expr::value(email.as_str()))
            .col_expr(
                user::Column::EmailNormalized,
                Expr::value(email.normalized()),
            )
            .col_expr(user::Column::EmailSkeleton, Expr::value(email.skeleton()))
            .col_expr(user::Column::EmailVerifiedAt, Expr::value(at))
            .col_expr(user::Column::UpdatedAt, Expr::value(at))
            .filter(user::Column::Id.eq(token.user_id))
            .filter(user::Column::Disabled.eq(false))
            // Asked for under this session version: a password change, reset or logout of
            // every session since (even one that committed while the request was in flight,
            // before its link was stored) ends it.
            .filter(user::Column::SessionVersion.eq(token.session_version))
            .exec(&txn)
            .await
            .map_err(super::users::insert_error)?
            .rows_affected;
        if changed != 1 {
            // A disabled account, or one whose sessions ended since, changes nothing; dropping
            // the transaction rolls the take back.
            return Ok(false);
        }
        // The reset link went to the old address.
        drop_tokens(&txn, token.user_id, &[TokenPurpose::PasswordReset]).await?;
        super::audit::write(&txn, audit).await?;
        txn.commit().await.map_err(storage_error)?;
        Ok(true)
    }

    async fn purge(&self, now: OffsetDateTime) -> Result<u64, Error> {
        Entity::delete_many()
            .filter(Column::ExpiresAt.lte(now))
            .exec(&self.db)
            .await
            .map(|r| r.rows_affected)
            .map_err(storage_error)
    }
}
