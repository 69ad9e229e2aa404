//! Purges in statements of a bounded number of rows, each a short transaction of its own, so
//! that a purge of millions of rows never runs one statement past
//! `database.statement_timeout_ms`, nor holds its locks that long.

use sea_orm::{DatabaseConnection, DeleteMany, EntityTrait};
use warden_domain::Error;

use super::storage_error;

/// The most rows one statement of a purge deletes.
pub(super) const BATCH: u64 = 5_000;

/// Runs `statement(batch)`, a delete of at most `batch` rows, until one deletes fewer; returns
/// how many rows went.
pub(super) async fn in_batches<E: EntityTrait>(
    db: &DatabaseConnection,
    batch: u64,
    statement: impl Fn(u64) -> DeleteMany<E>,
) -> Result<u64, Error> {
    let mut purged = 0;
    loop {
        let deleted = statement(batch)
            .exec(db)
            .await
            .map_err(storage_error)?
            .rows_affected;
        purged += deleted;
        if deleted < batch {
            return Ok(purged);
        }
    }
}
