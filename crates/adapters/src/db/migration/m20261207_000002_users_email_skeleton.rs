//! `users.email_skeleton`: the confusable skeleton (Unicode TS #39) of each normalised email,
//! unique, so that no two accounts have look-alike addresses, even when registered at once.
//!
//! Existing rows are filled in, oldest first. An account whose address already looked like an
//! older one's keeps a null skeleton (a unique index allows many nulls on SQLite and
//! PostgreSQL alike), and a warning names its id; every account made from now on is checked.

use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;
use uuid::Uuid;
use warden_domain::user::Email;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    EmailNormalized,
    EmailSkeleton,
    CreatedAt,
}

const INDEX: &str = "ux_users_email_skeleton";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(ColumnDef::new(Users::EmailSkeleton).string().null())
                    .to_owned(),
            )
            .await?;
        backfill(manager).await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Users::Table)
                    .col(Users::EmailSkeleton)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(Users::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::EmailSkeleton)
                    .to_owned(),
            )
            .await
    }
}

/// Computes the skeleton of every existing account, oldest first; a later look-alike keeps null.
async fn backfill(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let select = Query::select()
        .columns([Users::Id, Users::EmailNormalized])
        .from(Users::Table)
        .order_by(Users::CreatedAt, Order::Asc)
        .order_by(Users::Id, Order::Asc)
        .to_owned();
    let rows = db.query_all(&select).await?;
    let mut seen = std::collections::HashSet::new();
    for row in rows {
        let id: Uuid = row.try_get("", "id")?;
        let normalized: String = row.try_get("", "email_normalized")?;
        let skeleton = Email::from_stored(normalized).skeleton();
        if !seen.insert(skeleton.clone()) {
            tracing::warn!(
                user_id = %id,
                "this account's email looks like an older account's; it keeps no skeleton"
            );
            continue;
        }
        let update = Query::update()
            .table(Users::Table)
            .value(Users::EmailSkeleton, skeleton)
            .and_where(Expr::col(Users::Id).eq(id))
            .to_owned();
        db.execute(&update).await?;
    }
    Ok(())
}
