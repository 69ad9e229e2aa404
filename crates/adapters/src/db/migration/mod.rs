//! Schema migrations, one per file, applied in order by `warden migrate` and at server start.

use sea_orm_migration::{MigrationTrait, MigratorTrait};

mod m20260101_000001_create_users;
mod m20260101_000002_create_api_keys;
mod m20260101_000003_create_login_throttles;
mod m20260101_000004_create_refresh_tokens;
mod m20261207_000001_login_throttles_for_any_subject;
mod m20261207_000002_users_email_skeleton;
mod m20261207_000003_users_email_verified;
mod m20261207_000004_refresh_tokens_sessions;
mod m20261207_000005_create_audit_events;
mod m20261207_000006_second_factor;
mod m20261207_000007_mail;
mod m20261208_000008_oauth_clients;

/// The list of migrations.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_create_users::Migration),
            Box::new(m20260101_000002_create_api_keys::Migration),
            Box::new(m20260101_000003_create_login_throttles::Migration),
            Box::new(m20260101_000004_create_refresh_tokens::Migration),
            Box::new(m20261207_000001_login_throttles_for_any_subject::Migration),
            Box::new(m20261207_000002_users_email_skeleton::Migration),
            Box::new(m20261207_000003_users_email_verified::Migration),
            Box::new(m20261207_000004_refresh_tokens_sessions::Migration),
            Box::new(m20261207_000005_create_audit_events::Migration),
            Box::new(m20261207_000006_second_factor::Migration),
            Box::new(m20261207_000007_mail::Migration),
            Box::new(m20261208_000008_oauth_clients::Migration),
        ]
    }
}
