//! `MfaRepository` on sea-orm: each rule that must hold under concurrency is one conditional
//! statement (a step accepted only if later, a code spent only if unspent, a challenge taken
//! only by the delete that removes it, a confirmation only of a pending factor).

use async_trait::async_trait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};
use time::OffsetDateTime;
use uuid::Uuid;
use warden_domain::Error;
use warden_domain::audit::AuditEvent;
use warden_domain::mfa::{MfaChallenge, SealedSecret, TotpFactor};
use warden_domain::ports::MfaRepository;

use super::entity::{mfa_challenge, mfa_recovery_code, mfa_totp, user};
use super::{owner_gone_or_storage_error, purge, storage_error};

/// Second factors stored through sea-orm.
#[derive(Clone, Debug)]
pub struct SeaOrmMfaRepository {
    db: DatabaseConnection,
}

impl SeaOrmMfaRepository {
    /// A repository on the pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn to_factor(m: mfa_totp::Model) -> TotpFactor {
    TotpFactor {
        user_id: m.user_id,
        secret: SealedSecret {
            key_id: m.key_id,
            sealed: m.secret,
        },
        confirmed_at: m.confirmed_at,
        last_step: m.last_step,
    }
}

/// Replaces every recovery code of the user by these digests.
async fn put_codes(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    digests: &[String],
) -> Result<(), Error> {
    mfa_recovery_code::Entity::delete_many()
        .filter(mfa_recovery_code::Column::UserId.eq(user_id))
        .exec(db)
        .await
        .map_err(storage_error)?;
    if digests.is_empty() {
        return Ok(());
    }
    let rows = digests.iter().map(|digest| mfa_recovery_code::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        digest: Set(digest.clone()),
        spent_at: Set(None),
    });
    mfa_recovery_code::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await
        .map_err(storage_error)?;
    Ok(())
}

/// Marks the user's second factor on (at `at`) or off.
async fn mark_user(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    at: Option<OffsetDateTime>,
) -> Result<(), Error> {
    user::Entity::update_many()
        .col_expr(user::Column::MfaEnabledAt, Expr::value(at))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await
        .map_err(storage_error)?;
    Ok(())
}

#[async_trait]
impl MfaRepository for SeaOrmMfaRepository {
    async fn factor(&self, user_id: Uuid) -> Result<Option<TotpFactor>, Error> {
        Ok(mfa_totp::Entity::find_by_id(user_id)
            .one(&self.db)
            .await
            .map_err(storage_error)?
            .map(to_factor))
    }

    async fn put_pending(
        &self,
        user_id: Uuid,
        secret: &SealedSecret,
        at: OffsetDateTime,
    ) -> Result<bool, Error> {
        let txn = self.db.begin().await.map_err(storage_error)?;
        // Only a pending factor (or none) is replaced; an active one stays.
        mfa_totp::Entity::delete_many()
            .filter(mfa_totp::Column::UserId.eq(user_id))
            .filter(mfa_totp::Column::ConfirmedAt.is_null())
            .exec(&txn)
            .await
            .map_err(storage_error)?;
        let row = mfa_totp::ActiveModel {
            user_id: Set(user_id),
            key_id: Set(secret.key_id.clone()),
            secret: Set(secret.sealed.clone()),
            confirmed_at: Set(None),
            last_step: Set(i64::MIN),
            created_at: Set(at),
        };
        let inserted = mfa_totp::Entity::insert(row)
            .on_conflict(
                OnConflict::column(mfa_totp::Column::UserId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await
            .map_err(|e| owner_gone_or_storage_error(e, Error::InvalidToken))?;
        txn.commit().await.map_err(storage_error)?;
        Ok(inserted == 1)
    }

    async fn confirm(
        &self,
        user_id: Uuid,
        secret: &SealedSecret,
        step: i64,
        recovery_digests: &[String],
        audit: &AuditEvent,
    ) -> Result<bool, Error> {
        let txn = self.db.begin().await.map_err(storage_error)?;
        let confirmed = mfa_totp::Entity::update_many()
            .col_expr(mfa_totp::Column::ConfirmedAt, Expr::value(audit.at))
            .col_expr(mfa_totp::Column::LastStep, Expr::value(step))
            .filter(mfa_totp::Column::UserId.eq(user_id))
            .filter(mfa_totp::Column::ConfirmedAt.is_null())
            .filter(mfa_totp::Column::KeyId.eq(&secret.key_id))
            .filter(mfa_totp::Column::Secret.eq(&secret.sealed))
            .exec(&txn)
            .await
            .map_err(storage_error)?
            .rows_affected;
        if confirmed == 0 {
            return Ok(false);
        }
        mark_user(&txn, user_id, Some(audit.at)).await?;
        put_codes(&txn, user_id, recovery_digests).await?;
        super::audit::write(&txn, audit).await?;
        txn.commit().await.map_err(storage_error)?;
        Ok(true)
    }

    async fn accept_step(&self, user_id: Uuid, step: i64) -> Result<bool, Error> {
        let accepted = mfa_totp::Entity::update_many()
            .col_expr(mfa_totp::Column::LastStep, Expr::value(step))
            .filter(mfa_totp::Column::UserId.eq(user_id))
            .filter(mfa_totp::Column::LastStep.lt(step))
            .exec(&self.db)
            .await
            .map_err(storage_error)?
            .rows_affected;
        Ok(accepted == 1)
    }

    async fn spend_recovery_code(
        &self,
        user_id: Uuid,
        digest: &str,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, Error> {
        let txn = self.db.begin().await.map_err(storage_error)?;
        let spent = mfa_recovery_code::Entity::update_many()
            .col_expr(mfa_recovery_code::Column::SpentAt, Expr::value(at))
            .filter(mfa_recovery_code::Column::UserId.eq(user_id))
            .filter(mfa_recovery_code::Column::Digest.eq(digest))
            .filter(mfa_recovery_code::Column::SpentAt.is_null())
            .exec(&txn)
            .await
            .map_err(storage_error)?
            .rows_affected;
        if spent == 0 {
            return Ok(false);
        }
        super::audit::write(&txn, audit).await?;
        txn.commit().await.map_err(storage_error)?;
        Ok(true)
    }

    async fn replace_recovery_codes(
        &self,
        user_id: Uuid,
        digests: &[String],
        audit: &AuditEvent,
    ) -> Result<bool, Error> {
        let txn = self.db.begin().await.map_err(storage_error)?;
        let active = mfa_totp::Entity::find()
            .filter(mfa_totp::Column::UserId.eq(user_id))
            .filter(mfa_totp::Column::ConfirmedAt.is_not_null())
            .one(&txn)
            .await
            .map_err(storage_error)?
            .is_some();
        if !active {
            return Ok(false);
        }
        put_codes(&txn, user_id, digests).await?;
        super::audit::write(&txn, audit).await?;
        txn.commit().await.map_err(storage_error)?;
        Ok(true)
    }

    async fn remove(&self, user_id: Uuid, audit: &AuditEvent) -> Result<bool, Error> {
        let txn = self.db.begin().await.map_err(storage_error)?;
        let active = mfa_totp::Entity::delete_many()
            .filter(mfa_totp::Column::UserId.eq(user_id))
            .filter(mfa_totp::Column::ConfirmedAt.is_not_null())
            .exec(&txn)
            .await
            .map_err(storage_error)?
            .rows_affected
            == 1;
        mfa_totp::Entity::delete_many()
            .filter(mfa_totp::Column::UserId.eq(user_id))
            .exec(&txn)
            .await
            .map_err(storage_error)?;
        put_codes(&txn, user_id, &[]).await?;
        mark_user(&txn, user_id, None).await?;
        if active {
            super::audit::write(&txn, audit).await?;
        }
        txn.commit().await.map_err(storage_error)?;
        Ok(active)
    }

    async fn open_challenge(&self, challenge: &MfaChallenge) -> Result<(), Error> {
        let row = mfa_challenge::ActiveModel {
            id: Set(challenge.id),
            digest: Set(challenge.digest.clone()),
            user_id: Set(challenge.user_id),
            session_version: Set(challenge.session_version),
            expires_at: Set(challenge.expires_at),
        };
        mfa_challenge::Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| owner_gone_or_storage_error(e, Error::InvalidCredentials))?;
        Ok(())
    }

    async fn take_challenge(
        &self,
        digest: &str,
        now: OffsetDateTime,
    ) -> Result<Option<MfaChallenge>, Error> {
        let Some(row) = mfa_challenge::Entity::find()
            .filter(mfa_challenge::Column::Digest.eq(digest))
            .one(&self.db)
            .await
            .map_err(storage_error)?
        else {
            return Ok(None);
        };
        // Whoever deletes the row has it: of two requests with one token, one deletes it.
        let taken = mfa_challenge::Entity::delete_by_id(row.id)
            .exec(&self.db)
            .await
            .map_err(storage_error)?
            .rows_affected
            == 1;
        Ok((taken && now < row.expires_at).then_some(MfaChallenge {
            id: row.id,
            digest: row.digest,
            user_id: row.user_id,
            session_version: row.session_version,
            expires_at: row.expires_at,
        }))
    }

    async fn purge(&self, now: OffsetDateTime) -> Result<u64, Error> {
        purge::in_batches(&self.db, purge::BATCH, |batch| {
            let doomed = Query::select()
                .column(mfa_challenge::Column::Id)
                .from(mfa_challenge::Entity)
                .and_where(Expr::col(mfa_challenge::Column::ExpiresAt).lte(now))
                .limit(batch)
                .to_owned();
            mfa_challenge::Entity::delete_many()
                .filter(mfa_challenge::Column::Id.in_subquery(doomed))
        })
        .await
    }
}
