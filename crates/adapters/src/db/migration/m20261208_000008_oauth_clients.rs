//! `oauth_clients`: the registered OAuth clients, each with the digest of its secret (a
//! confidential one) and its registration's lists as JSON text; and `refresh_tokens.client_id`,
//! the client a session was started for (none: the built-in client), which alone may refresh it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum OauthClients {
    Table,
    Id,
    Name,
    Public,
    FirstParty,
    Audience,
    Lists,
    SecretDigest,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    ClientId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RefreshTokens::Table)
                    .add_column(
                        ColumnDef::new(RefreshTokens::ClientId)
                            .string_len(64)
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        let time = |c: OauthClients| {
            ColumnDef::new(c)
                .timestamp_with_time_zone()
                .not_null()
                .to_owned()
        };
        manager
            .create_table(
                Table::create()
                    .table(OauthClients::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(OauthClients::Id)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(OauthClients::Name).text().not_null())
                    .col(ColumnDef::new(OauthClients::Public).boolean().not_null())
                    .col(
                        ColumnDef::new(OauthClients::FirstParty)
                            .boolean()
                            .not_null(),
                    )
                    .col(ColumnDef::new(OauthClients::Audience).text().null())
                    .col(ColumnDef::new(OauthClients::Lists).text().not_null())
                    .col(
                        ColumnDef::new(OauthClients::SecretDigest)
                            .string_len(64)
                            .null(),
                    )
                    .col(time(OauthClients::CreatedAt))
                    .col(time(OauthClients::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RefreshTokens::Table)
                    .drop_column(RefreshTokens::ClientId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(OauthClients::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
