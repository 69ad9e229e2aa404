//! The audit trail on sea-orm: [`write`], which the repositories call inside the transaction
//! of the change an event records, and [`SeaOrmAuditLog`], for events of no change, the
//! administrator's queries and retention.

use async_trait::async_trait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use time::{OffsetDateTime, UtcOffset};
use warden_domain::Error;
use warden_domain::audit::{ActorKind, AuditEvent, AuditKind, AuditQuery, Outcome};
use warden_domain::ports::AuditLog;

use super::entity::audit_event::{ActiveModel, Column, Entity, Model};
use super::{purge, storage_error};

/// Writes an event on `db`: the transaction of the change it records, or the pool.
///
/// # Errors
/// Storage failures.
pub(super) async fn write(db: &impl ConnectionTrait, event: &AuditEvent) -> Result<(), Error> {
    write_all(db, std::slice::from_ref(event)).await
}

/// Writes events in one statement (an import's batch); nothing for none.
///
/// # Errors
/// Storage failures.
pub(super) async fn write_all(
    db: &impl ConnectionTrait,
    events: &[AuditEvent],
) -> Result<(), Error> {
    if events.is_empty() {
        return Ok(());
    }
    Entity::insert_many(events.iter().map(to_row))
        .exec_without_returning(db)
        .await
        .map_err(storage_error)?;
    Ok(())
}

fn to_row(event: &AuditEvent) -> ActiveModel {
    ActiveModel {
        id: Set(event.id),
        at: Set(event.at),
        kind: Set(event.kind.as_str().to_owned()),
        actor_kind: Set(event.actor_kind.as_str().to_owned()),
        actor_id: Set(event.actor_id),
        subject_id: Set(event.subject),
        ip: Set(event.ip.clone()),
        user_agent: Set(event.user_agent.clone()),
        outcome: Set(event.outcome.as_str().to_owned()),
        details: Set(serde_json::Value::Object(event.details.clone()).to_string()),
    }
}

/// A stored row as the domain's event; a row this build cannot read is an internal error.
fn to_domain(m: Model) -> Result<AuditEvent, Error> {
    let unreadable = |what: &str| Error::internal(format!("audit event {}: bad {what}", m.id));
    let Ok(serde_json::Value::Object(details)) = serde_json::from_str(&m.details) else {
        return Err(unreadable("details"));
    };
    Ok(AuditEvent {
        id: m.id,
        at: m.at,
        kind: AuditKind::parse(&m.kind).ok_or_else(|| unreadable("kind"))?,
        actor_kind: ActorKind::parse(&m.actor_kind).ok_or_else(|| unreadable("actor"))?,
        actor_id: m.actor_id,
        subject: m.subject_id,
        ip: m.ip,
        user_agent: m.user_agent,
        outcome: Outcome::parse(&m.outcome).ok_or_else(|| unreadable("outcome"))?,
        details,
    })
}

/// The audit trail's own reads and writes, through sea-orm.
#[derive(Clone, Debug)]
pub struct SeaOrmAuditLog {
    db: DatabaseConnection,
}

impl SeaOrmAuditLog {
    /// A trail on the pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl AuditLog for SeaOrmAuditLog {
    async fn record(&self, event: &AuditEvent) -> Result<(), Error> {
        write(&self.db, event).await
    }

    async fn list(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, Error> {
        let mut filter = Condition::all();
        if let Some(user) = query.user {
            filter = filter.add(
                Condition::any()
                    .add(Column::SubjectId.eq(user))
                    .add(Column::ActorId.eq(user)),
            );
        }
        if let Some(kind) = query.kind {
            filter = filter.add(Column::Kind.eq(kind.as_str()));
        }
        // Times are stored in UTC, which SQLite compares as text: a bound in another offset
        // is the same instant in UTC.
        if let Some(since) = query.since {
            filter = filter.add(Column::At.gte(since.to_offset(UtcOffset::UTC)));
        }
        if let Some(until) = query.until {
            filter = filter.add(Column::At.lt(until.to_offset(UtcOffset::UTC)));
        }
        if let Some(before) = query.before {
            filter = filter.add(Column::Id.lt(before));
        }
        Entity::find()
            .filter(filter)
            .order_by_desc(Column::Id)
            .limit(query.limit)
            .all(&self.db)
            .await
            .map_err(storage_error)?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    async fn purge(&self, before: OffsetDateTime) -> Result<u64, Error> {
        purge::in_batches(&self.db, purge::BATCH, |batch| {
            let doomed = Query::select()
                .column(Column::Id)
                .from(Entity)
                .and_where(Expr::col(Column::At).lt(before))
                .limit(batch)
                .to_owned();
            Entity::delete_many().filter(Column::Id.in_subquery(doomed))
        })
        .await
    }
}
