//! Sessions on the refresh families: the first row of a family is its session, and now keeps
//! the IP and user agent of the login and the time of the family's last refresh. Older
//! families keep nulls (their origin was never recorded).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    ClientIp,
    UserAgent,
    LastUsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column a statement.
        for column in [
            ColumnDef::new(RefreshTokens::ClientIp)
                .string_len(45)
                .null()
                .to_owned(),
            ColumnDef::new(RefreshTokens::UserAgent)
                .string_len(1024)
                .null()
                .to_owned(),
            ColumnDef::new(RefreshTokens::LastUsedAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(RefreshTokens::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            RefreshTokens::ClientIp,
            RefreshTokens::UserAgent,
            RefreshTokens::LastUsedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(RefreshTokens::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
