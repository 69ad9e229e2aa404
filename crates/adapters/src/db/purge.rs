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

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

    use super::*;
    use crate::db::entity::login_throttle::{ActiveModel, Column, Entity};

    /// `rows` counts of stand-in subjects, in a fresh in-memory database.
    async fn counts(rows: u128) -> DatabaseConnection {
        let db = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        for n in 0..rows {
            ActiveModel {
                user_id: Set(uuid::Uuid::from_u128(n + 1)),
                scope: Set("ip:192.0.2.1".to_owned()),
                failures: Set(1),
                locked_until_micros: Set(None),
                locks_in_a_row: Set(0),
            }
            .insert(&db)
            .await
            .unwrap();
        }
        db
    }

    /// Deletes, in batches of `batch`, every count but the first subject's; returns how many
    /// went and in how many statements.
    async fn purge_all_but_one(db: &DatabaseConnection, batch: u64) -> (u64, u64) {
        let statements = Cell::new(0);
        let purged = in_batches(db, batch, |limit| {
            statements.set(statements.get() + 1);
            let doomed = Query::select()
                .column(Column::UserId)
                .from(Entity)
                .and_where(Expr::col(Column::UserId).ne(uuid::Uuid::from_u128(1)))
                .limit(limit)
                .to_owned();
            Entity::delete_many().filter(Column::UserId.in_subquery(doomed))
        })
        .await
        .unwrap();
        (purged, statements.get())
    }

    #[tokio::test]
    async fn statements_run_until_one_deletes_fewer_than_the_batch() {
        // Seven rows to go: 2, 2, 2, 1 (the last short).
        let db = counts(8).await;
        assert_eq!(purge_all_but_one(&db, 2).await, (7, 4));
        assert_eq!(Entity::find().all(&db).await.unwrap().len(), 1);
        // Six rows to go in batches of 3: 3, 3, then an empty statement that ends it.
        let db = counts(7).await;
        assert_eq!(purge_all_but_one(&db, 3).await, (6, 3));
        // Nothing to go: one statement.
        let db = counts(1).await;
        assert_eq!(purge_all_but_one(&db, BATCH).await, (0, 1));
    }
}
