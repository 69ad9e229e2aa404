//! `audit_events`: the durable audit trail. No foreign key to `users`: an account's events
//! outlive it (its deletion is one of them).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    At,
    Kind,
    ActorKind,
    ActorId,
    SubjectId,
    Ip,
    UserAgent,
    Outcome,
    Details,
}

fn index(name: &str, column: AuditEvents) -> IndexCreateStatement {
    Index::create()
        .name(name)
        .table(AuditEvents::Table)
        .col(column)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(
                        ColumnDef::new(AuditEvents::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AuditEvents::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditEvents::Kind).string_len(40).not_null())
                    .col(
                        ColumnDef::new(AuditEvents::ActorKind)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditEvents::ActorId).uuid().null())
                    .col(ColumnDef::new(AuditEvents::SubjectId).uuid().null())
                    .col(ColumnDef::new(AuditEvents::Ip).string_len(45).null())
                    .col(
                        ColumnDef::new(AuditEvents::UserAgent)
                            .string_len(1024)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(AuditEvents::Outcome)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditEvents::Details).text().not_null())
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("ix_audit_events_at", AuditEvents::At),
            ("ix_audit_events_subject", AuditEvents::SubjectId),
            ("ix_audit_events_actor", AuditEvents::ActorId),
            ("ix_audit_events_kind", AuditEvents::Kind),
        ] {
            manager.create_index(index(name, column)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditEvents::Table).to_owned())
            .await
    }
}
