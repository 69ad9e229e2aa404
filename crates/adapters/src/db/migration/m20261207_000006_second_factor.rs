//! The second factor: `users.mfa_enabled_at` (read with the user on every request), the
//! `amr` of a session (`refresh_tokens.second_factor`), the sealed TOTP secrets
//! (`mfa_totp`), the recovery codes' digests (`mfa_recovery_codes`) and the logins waiting for
//! a code (`mfa_challenges`, digests of their `mfa_token`). Each row goes with its user.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    MfaEnabledAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    SecondFactor,
}

#[derive(DeriveIden)]
enum MfaTotp {
    Table,
    UserId,
    KeyId,
    Secret,
    ConfirmedAt,
    LastStep,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MfaRecoveryCodes {
    Table,
    Id,
    UserId,
    Digest,
    SpentAt,
}

#[derive(DeriveIden)]
enum MfaChallenges {
    Table,
    Id,
    Digest,
    UserId,
    SessionVersion,
    ExpiresAt,
}

/// A foreign key from `table.user_id` to the user, removed with it.
fn owned_by_user(
    name: &str,
    table: impl IntoIden,
    column: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(Users::Table, Users::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// `users.mfa_enabled_at` and `refresh_tokens.second_factor`.
async fn add_columns(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(
                    ColumnDef::new(Users::MfaEnabledAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .to_owned(),
        )
        .await?;
    manager
        .alter_table(
            Table::alter()
                .table(RefreshTokens::Table)
                .add_column(
                    ColumnDef::new(RefreshTokens::SecondFactor)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .to_owned(),
        )
        .await?;
    Ok(())
}

/// `mfa_totp`: one sealed secret a user.
async fn create_totp(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(MfaTotp::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(MfaTotp::UserId)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(MfaTotp::KeyId).string_len(32).not_null())
                .col(ColumnDef::new(MfaTotp::Secret).string_len(256).not_null())
                .col(
                    ColumnDef::new(MfaTotp::ConfirmedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(ColumnDef::new(MfaTotp::LastStep).big_integer().not_null())
                .col(
                    ColumnDef::new(MfaTotp::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .foreign_key(&mut owned_by_user(
                    "fk_mfa_totp_user",
                    MfaTotp::Table,
                    MfaTotp::UserId,
                ))
                .to_owned(),
        )
        .await?;
    Ok(())
}

/// `mfa_recovery_codes`: digests, found by user and digest.
async fn create_recovery_codes(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(MfaRecoveryCodes::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(MfaRecoveryCodes::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(MfaRecoveryCodes::UserId).uuid().not_null())
                .col(
                    ColumnDef::new(MfaRecoveryCodes::Digest)
                        .string_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(MfaRecoveryCodes::SpentAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .foreign_key(&mut owned_by_user(
                    "fk_mfa_recovery_codes_user",
                    MfaRecoveryCodes::Table,
                    MfaRecoveryCodes::UserId,
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ix_mfa_recovery_codes_user_digest")
                .table(MfaRecoveryCodes::Table)
                .col(MfaRecoveryCodes::UserId)
                .col(MfaRecoveryCodes::Digest)
                .if_not_exists()
                .to_owned(),
        )
        .await?;
    Ok(())
}

/// `mfa_challenges`: digests of `mfa_token`, unique, purged by their end.
async fn create_challenges(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(MfaChallenges::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(MfaChallenges::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(MfaChallenges::Digest)
                        .string_len(64)
                        .not_null(),
                )
                .col(ColumnDef::new(MfaChallenges::UserId).uuid().not_null())
                .col(
                    ColumnDef::new(MfaChallenges::SessionVersion)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(MfaChallenges::ExpiresAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .foreign_key(&mut owned_by_user(
                    "fk_mfa_challenges_user",
                    MfaChallenges::Table,
                    MfaChallenges::UserId,
                ))
                .to_owned(),
        )
        .await?;
    for (name, column, unique) in [
        ("ux_mfa_challenges_digest", MfaChallenges::Digest, true),
        (
            "ix_mfa_challenges_expires_at",
            MfaChallenges::ExpiresAt,
            false,
        ),
    ] {
        let mut index = Index::create()
            .name(name)
            .table(MfaChallenges::Table)
            .col(column)
            .if_not_exists()
            .to_owned();
        if unique {
            index.unique();
        }
        manager.create_index(index).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(manager).await?;
        create_totp(manager).await?;
        create_recovery_codes(manager).await?;
        create_challenges(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            MfaChallenges::Table.into_iden(),
            MfaRecoveryCodes::Table.into_iden(),
            MfaTotp::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(RefreshTokens::Table)
                    .drop_column(RefreshTokens::SecondFactor)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::MfaEnabledAt)
                    .to_owned(),
            )
            .await
    }
}
