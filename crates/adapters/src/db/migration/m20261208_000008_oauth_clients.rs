//! `oauth_clients`: the registered OAuth clients, each with the digest of its secret (a
//! confidential one) and its registration's lists as JSON text.

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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
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
            .drop_table(
                Table::drop()
                    .table(OauthClients::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
