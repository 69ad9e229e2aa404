//! The flows by mail: `account_tokens` (digests of the links' tokens, one per user and
//! purpose, removed with their user) and `mail_outbox` (messages waiting to be sent, kept by
//! themselves: a message outlives nothing it refers to).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AccountTokens {
    Table,
    Id,
    UserId,
    Purpose,
    Digest,
    Email,
    SessionVersion,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    Id,
    Recipient,
    Subject,
    BodyText,
    BodyHtml,
    CreatedAt,
    Attempts,
    NextAttemptAt,
    SentAt,
    DeadAt,
    LastError,
}

fn time(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).timestamp_with_time_zone().to_owned()
}

async fn create_tokens(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(AccountTokens::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(AccountTokens::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(AccountTokens::UserId).uuid().not_null())
                .col(
                    ColumnDef::new(AccountTokens::Purpose)
                        .string_len(32)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AccountTokens::Digest)
                        .string_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AccountTokens::Email)
                        .string_len(254)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AccountTokens::SessionVersion)
                        .big_integer()
                        .not_null(),
                )
                .col(time(AccountTokens::CreatedAt).not_null())
                .col(time(AccountTokens::ExpiresAt).not_null())
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_account_tokens_user")
                        .from(AccountTokens::Table, AccountTokens::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
    for (name, columns, unique) in [
        (
            "ux_account_tokens_user_purpose",
            vec![AccountTokens::UserId, AccountTokens::Purpose],
            true,
        ),
        (
            "ux_account_tokens_digest",
            vec![AccountTokens::Digest],
            true,
        ),
        (
            "ix_account_tokens_expires_at",
            vec![AccountTokens::ExpiresAt],
            false,
        ),
    ] {
        let mut index = Index::create()
            .name(name)
            .table(AccountTokens::Table)
            .if_not_exists()
            .to_owned();
        for column in columns {
            index.col(column);
        }
        if unique {
            index.unique();
        }
        manager.create_index(index).await?;
    }
    Ok(())
}

async fn create_outbox(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(MailOutbox::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(MailOutbox::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(MailOutbox::Recipient)
                        .string_len(254)
                        .not_null(),
                )
                .col(ColumnDef::new(MailOutbox::Subject).text().not_null())
                .col(ColumnDef::new(MailOutbox::BodyText).text().not_null())
                .col(ColumnDef::new(MailOutbox::BodyHtml).text().not_null())
                .col(time(MailOutbox::CreatedAt).not_null())
                .col(
                    ColumnDef::new(MailOutbox::Attempts)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(time(MailOutbox::NextAttemptAt).not_null())
                .col(time(MailOutbox::SentAt).null())
                .col(time(MailOutbox::DeadAt).null())
                .col(ColumnDef::new(MailOutbox::LastError).text().null())
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ix_mail_outbox_next_attempt_at")
                .table(MailOutbox::Table)
                .col(MailOutbox::NextAttemptAt)
                .if_not_exists()
                .to_owned(),
        )
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_tokens(manager).await?;
        create_outbox(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            MailOutbox::Table.into_iden(),
            AccountTokens::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
