//! The `refresh_tokens` table: digests only, one row per issued token, removed with their
//! owner. A parent has at most one child (`ux_refresh_tokens_parent`), so storage itself
//! refuses a second successor even if two rotations raced past every other check.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    FamilyId,
    UserId,
    ParentId,
    Digest,
    SessionVersion,
    IssuedAt,
    ExpiresAt,
    RotatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

fn index(name: &str, column: RefreshTokens) -> IndexCreateStatement {
    Index::create()
        .name(name)
        .table(RefreshTokens::Table)
        .col(column)
        .if_not_exists()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let time = |c: RefreshTokens| ColumnDef::new(c).timestamp_with_time_zone().to_owned();
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(RefreshTokens::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(RefreshTokens::FamilyId).uuid().not_null())
                    .col(ColumnDef::new(RefreshTokens::UserId).uuid().not_null())
                    .col(ColumnDef::new(RefreshTokens::ParentId).uuid().null())
                    .col(ColumnDef::new(RefreshTokens::Digest).string().not_null())
                    .col(
                        ColumnDef::new(RefreshTokens::SessionVersion)
                            .big_integer()
                            .not_null(),
                    )
                    .col(time(RefreshTokens::IssuedAt).not_null())
                    .col(time(RefreshTokens::ExpiresAt).not_null())
                    .col(time(RefreshTokens::RotatedAt).null())
                    .col(time(RefreshTokens::RevokedAt).null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refresh_tokens_user")
                            .from(RefreshTokens::Table, RefreshTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ux_refresh_tokens_digest", RefreshTokens::Digest)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ux_refresh_tokens_parent", RefreshTokens::ParentId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_refresh_tokens_family", RefreshTokens::FamilyId))
            .await?;
        manager
            .create_index(index("ix_refresh_tokens_user", RefreshTokens::UserId))
            .await?;
        manager
            .create_index(index("ix_refresh_tokens_expires", RefreshTokens::ExpiresAt))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RefreshTokens::Table).to_owned())
            .await
    }
}
