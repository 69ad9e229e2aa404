//! The `login_throttles` table: failure counts and locks per user and scope (an IP or the account).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum LoginThrottles {
    Table,
    UserId,
    Scope,
    Failures,
    LockedUntil,
    LocksInARow,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LoginThrottles::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(LoginThrottles::UserId).uuid().not_null())
                    .col(ColumnDef::new(LoginThrottles::Scope).string().not_null())
                    .col(
                        ColumnDef::new(LoginThrottles::Failures)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(LoginThrottles::LockedUntil)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(LoginThrottles::LocksInARow)
                            .integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(LoginThrottles::UserId)
                            .col(LoginThrottles::Scope),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_login_throttles_user")
                            .from(LoginThrottles::Table, LoginThrottles::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LoginThrottles::Table).to_owned())
            .await
    }
}
