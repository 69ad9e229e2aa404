//! Imported users, one batch in one transaction: the accounts the batch's emails (or their
//! look-alikes) name are read first, then the new ones are inserted in one statement and the
//! updates made, then the transaction commits, or rolls back for a dry run.

use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, Set, TransactionTrait,
};
use uuid::Uuid;
use warden_domain::Error;
use warden_domain::audit::{AuditEvent, AuditKind};
use warden_domain::import::{ImportedUser, OnConflict, Placement};

use super::entity::user::{ActiveModel, Column, Entity, Model};
use super::storage_error;
use super::users::{SeaOrmUserRepository, insert_error, is_enabled_admin, new_row};

/// How many times a batch is tried when an account with one of its emails appeared between
/// its read and its insert (a registration at the same moment).
const ATTEMPTS: usize = 3;

/// Places a batch as [`warden_domain::ports::UserRepository::import`] says.
pub(super) async fn import(
    db: &DatabaseConnection,
    users: &[ImportedUser],
    on_conflict: OnConflict,
    dry_run: bool,
    audit: &AuditEvent,
) -> Result<Vec<Placement>, Error> {
    let skeletons: Vec<String> = users.iter().map(|u| u.user.email.skeleton()).collect();
    let mut attempt = 1;
    loop {
        let txn = db.begin().await.map_err(storage_error)?;
        // Taken first: SQLite's write lock (a read before the first write would meet a commit
        // of another connection as SQLITE_BUSY_SNAPSHOT), PostgreSQL's on the enabled admins.
        SeaOrmUserRepository::lock_for_admin_check(&txn, Uuid::nil())
            .await
            .map_err(storage_error)?;
        match place(&txn, users, &skeletons, on_conflict, audit).await {
            Ok(placed) => {
                if dry_run {
                    txn.rollback().await.map_err(storage_error)?;
                } else {
                    txn.commit().await.map_err(storage_error)?;
                }
                return Ok(placed);
            }
            Err(Error::EmailTaken) if attempt < ATTEMPTS => attempt += 1,
            Err(Error::EmailTaken) => {
                return Err(Error::Unavailable(
                    "a batch met concurrent registrations of its emails each time".into(),
                ));
            }
            Err(e) => return Err(e),
        }
        // The transaction was dropped, so rolled back: the batch is read again.
    }
}

/// Reads the accounts the batch names, then inserts and updates within `txn`.
async fn place(
    txn: &DatabaseTransaction,
    users: &[ImportedUser],
    skeletons: &[String],
    on_conflict: OnConflict,
    audit: &AuditEvent,
) -> Result<Vec<Placement>, Error> {
    let emails = users.iter().map(|u| u.user.email.normalized().to_owned());
    let existing = Entity::find()
        .filter(
            Condition::any()
                .add(Column::EmailNormalized.is_in(emails))
                .add(Column::EmailSkeleton.is_in(skeletons.iter().cloned())),
        )
        .all(txn)
        .await
        .map_err(storage_error)?;
    let by_email: HashMap<&str, &Model> = existing
        .iter()
        .map(|m| (m.email_normalized.as_str(), m))
        .collect();
    let by_skeleton: HashMap<&str, &Model> = existing
        .iter()
        .filter_map(|m| m.email_skeleton.as_deref().map(|s| (s, m)))
        .collect();
    let mut placed = Vec::with_capacity(users.len());
    let mut inserts = Vec::new();
    let mut events = Vec::new();
    for (imported, skeleton) in users.iter().zip(skeletons) {
        let placement = if let Some(row) = by_email.get(imported.user.email.normalized()) {
            match on_conflict {
                OnConflict::Fail => Placement::Exists,
                OnConflict::Skip => Placement::Skipped,
                OnConflict::Update => {
                    let placement = update(txn, row, imported).await?;
                    if placement == Placement::Updated {
                        events.push(updated_event(audit, row.id, imported));
                    }
                    placement
                }
            }
        } else if by_skeleton.contains_key(skeleton.as_str()) {
            Placement::LookAlike
        } else {
            inserts.push(new_row(&imported.user, skeleton.clone()));
            events.push(
                event(audit, AuditKind::UserCreated, imported.user.id)
                    .detail("role", imported.user.role.as_str()),
            );
            Placement::Inserted
        };
        placed.push(placement);
    }
    if !inserts.is_empty() {
        Entity::insert_many(inserts)
            .exec_without_returning(txn)
            .await
            .map_err(insert_error)?;
    }
    super::audit::write_all(txn, &events).await?;
    Ok(placed)
}

/// The import's event `kind` about the account `subject`, with an id of its own.
fn event(audit: &AuditEvent, kind: AuditKind, subject: Uuid) -> AuditEvent {
    AuditEvent {
        id: Uuid::now_v7(),
        kind,
        subject: Some(subject),
        ..audit.clone()
    }
}

/// `user.updated` by the import, naming the fields the line changed (never their values).
fn updated_event(audit: &AuditEvent, id: Uuid, imported: &ImportedUser) -> AuditEvent {
    let given = imported.given;
    let fields: Vec<&str> = [
        ("password_hash", true),
        ("role", given.role),
        ("display_name", given.display_name),
        ("disabled", given.disabled),
        ("email_verified", given.email_verified),
    ]
    .into_iter()
    .filter_map(|(name, changed)| changed.then_some(name))
    .collect();
    event(audit, AuditKind::UserUpdated, id).detail("fields", fields)
}

/// The existing account takes the line's hash and the fields it gave, and its sessions end;
/// an enabled admin is never changed this way (its password would be the importer's to know).
async fn update(
    txn: &DatabaseTransaction,
    row: &Model,
    imported: &ImportedUser,
) -> Result<Placement, Error> {
    if is_enabled_admin(row) {
        return Ok(Placement::AdminKept);
    }
    let (u, given) = (&imported.user, imported.given);
    let mut am: ActiveModel = row.clone().into();
    am.password_hash = Set(u.password_hash.expose().to_owned());
    if given.role {
        am.role = Set(u.role.as_str().to_owned());
    }
    if given.display_name {
        am.display_name = Set(u.display_name.as_ref().map(|d| d.as_str().to_owned()));
    }
    if given.disabled {
        am.disabled = Set(u.disabled);
    }
    if given.email_verified {
        let kept = row.email_verified_at.or(u.email_verified_at);
        am.email_verified_at = Set(u.email_verified_at.and(kept));
    }
    am.session_version = Set(row.session_version + 1);
    am.updated_at = Set(u.updated_at);
    am.update(txn).await.map_err(storage_error)?;
    Ok(Placement::Updated)
}
