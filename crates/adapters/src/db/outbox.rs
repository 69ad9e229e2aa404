//! `Outbox` on sea-orm: claims by a conditional update (a message another worker claimed is no
//! longer due), outcomes, and the purge of what is done.

use async_trait::async_trait;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use time::OffsetDateTime;
use uuid::Uuid;
use warden_domain::Error;
use warden_domain::mail::{Message, Queued};
use warden_domain::ports::Outbox;

use super::entity::mail_outbox::{Column, Entity};
use super::storage_error;

/// The longest error kept with a message.
const MAX_ERROR_CHARS: usize = 500;

/// The outbox, through sea-orm (SQLite or PostgreSQL).
#[derive(Clone, Debug)]
pub struct SeaOrmOutbox {
    db: DatabaseConnection,
}

impl SeaOrmOutbox {
    /// An outbox on the pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    async fn set(&self, id: Uuid, values: Vec<(Column, Expr)>) -> Result<(), Error> {
        let mut update = Entity::update_many().filter(Column::Id.eq(id));
        for (column, value) in values {
            update = update.col_expr(column, value);
        }
        update.exec(&self.db).await.map_err(storage_error)?;
        Ok(())
    }
}

/// Neither sent nor given up.
fn pending() -> Condition {
    Condition::all()
        .add(Column::SentAt.is_null())
        .add(Column::DeadAt.is_null())
}

fn shortened(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

#[async_trait]
impl Outbox for SeaOrmOutbox {
    async fn claim(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u64,
    ) -> Result<Vec<Queued>, Error> {
        let due = Entity::find()
            .filter(pending())
            .filter(Column::NextAttemptAt.lte(now))
            .order_by_asc(Column::NextAttemptAt)
            .order_by_asc(Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(storage_error)?;
        let mut claimed = Vec::with_capacity(due.len());
        for row in due {
            let won = Entity::update_many()
                .col_expr(Column::NextAttemptAt, Expr::value(lease_until))
                .filter(Column::Id.eq(row.id))
                .filter(pending())
                .filter(Column::NextAttemptAt.lte(now))
                .exec(&self.db)
                .await
                .map_err(storage_error)?
                .rows_affected
                == 1;
            if won {
                claimed.push(Queued {
                    id: row.id,
                    attempts: u32::try_from(row.attempts).unwrap_or(0),
                    message: Message {
                        to: row.recipient,
                        subject: row.subject,
                        text: row.body_text,
                        html: row.body_html,
                    },
                });
            }
        }
        Ok(claimed)
    }

    async fn sent(&self, id: Uuid, at: OffsetDateTime) -> Result<(), Error> {
        self.set(
            id,
            vec![
                (Column::SentAt, Expr::value(at)),
                (Column::BodyText, Expr::value("")),
                (Column::BodyHtml, Expr::value("")),
            ],
        )
        .await
    }

    async fn failed(
        &self,
        id: Uuid,
        attempts: u32,
        next_attempt_at: OffsetDateTime,
        error: &str,
    ) -> Result<(), Error> {
        self.set(
            id,
            vec![
                (
                    Column::Attempts,
                    Expr::value(i32::try_from(attempts).unwrap_or(i32::MAX)),
                ),
                (Column::NextAttemptAt, Expr::value(next_attempt_at)),
                (Column::LastError, Expr::value(shortened(error))),
            ],
        )
        .await
    }

    async fn dead(&self, id: Uuid, at: OffsetDateTime, error: &str) -> Result<(), Error> {
        self.set(
            id,
            vec![
                (Column::DeadAt, Expr::value(at)),
                (Column::Attempts, Expr::col(Column::Attempts).add(1)),
                (Column::LastError, Expr::value(shortened(error))),
                (Column::BodyText, Expr::value("")),
                (Column::BodyHtml, Expr::value("")),
            ],
        )
        .await
    }

    async fn purge(&self, before: OffsetDateTime) -> Result<u64, Error> {
        Entity::delete_many()
            .filter(
                Condition::any()
                    .add(Column::SentAt.lt(before))
                    .add(Column::DeadAt.lt(before)),
            )
            .exec(&self.db)
            .await
            .map(|r| r.rows_affected)
            .map_err(storage_error)
    }
}
