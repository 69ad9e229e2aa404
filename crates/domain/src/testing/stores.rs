//! In-memory stores of sessions and of the audit trail, with the repositories' atomicity.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Error;
use crate::audit::{AuditEvent, AuditQuery};
use crate::origin::Origin;
use crate::ports::{AuditLog, RefreshTokenRepository};
use crate::refresh::RefreshToken;
use crate::session::Session;

/// An in-memory refresh-token store with the repository's atomicity (one lock). It knows no
/// users, so it cannot tell a family left behind by a session-version bump: its sessions are
/// the families neither revoked nor expired.
#[derive(Debug, Default)]
pub struct MemRefreshTokens {
    rows: Mutex<Vec<RefreshToken>>,
    /// Each session's origin and last refresh, by family id.
    origins: Mutex<HashMap<Uuid, (Origin, Option<OffsetDateTime>)>>,
    /// The audit events written with the changes.
    events: Mutex<Vec<AuditEvent>>,
}

impl MemRefreshTokens {
    /// Every stored row.
    pub fn rows(&self) -> Vec<RefreshToken> {
        self.rows.lock().unwrap().clone()
    }

    /// The audit events written with the changes so far.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.events.lock().unwrap().clone()
    }

    fn write(&self, audit: &AuditEvent) {
        self.events.lock().unwrap().push(audit.clone());
    }

    /// Where the session `family_id` logged in from.
    pub fn origin(&self, family_id: Uuid) -> Option<Origin> {
        self.origins
            .lock()
            .unwrap()
            .get(&family_id)
            .map(|(o, _)| o.clone())
    }

    fn is_live(row: &RefreshToken, now: OffsetDateTime) -> bool {
        row.parent_id.is_none() && row.revoked_at.is_none() && now < row.expires_at
    }

    /// Revokes the family's live rows; whether there were any.
    fn revoke(&self, family_id: Uuid, at: OffsetDateTime) -> bool {
        let mut changed = false;
        for t in self.rows.lock().unwrap().iter_mut() {
            if t.family_id == family_id && t.revoked_at.is_none() {
                t.revoked_at = Some(at);
                changed = true;
            }
        }
        changed
    }
}

#[async_trait]
impl RefreshTokenRepository for MemRefreshTokens {
    async fn insert(
        &self,
        token: &RefreshToken,
        origin: &Origin,
        audit: &AuditEvent,
    ) -> Result<(), Error> {
        self.rows.lock().unwrap().push(token.clone());
        self.write(audit);
        self.origins
            .lock()
            .unwrap()
            .insert(token.family_id, (origin.clone(), None));
        Ok(())
    }
    async fn find_by_digest(&self, digest: &str) -> Result<Option<RefreshToken>, Error> {
        Ok(self.rows().into_iter().find(|t| t.digest == digest))
    }
    async fn find_child(&self, parent_id: Uuid) -> Result<Option<RefreshToken>, Error> {
        Ok(self
            .rows()
            .into_iter()
            .find(|t| t.parent_id == Some(parent_id)))
    }
    async fn rotate(
        &self,
        parent_id: Uuid,
        at: OffsetDateTime,
        child: &RefreshToken,
    ) -> Result<bool, Error> {
        let mut rows = self.rows.lock().unwrap();
        let Some(parent) = rows
            .iter_mut()
            .find(|t| t.id == parent_id && t.rotated_at.is_none() && t.revoked_at.is_none())
        else {
            return Ok(false);
        };
        parent.rotated_at = Some(at);
        rows.push(child.clone());
        if let Some(session) = self.origins.lock().unwrap().get_mut(&child.family_id) {
            session.1 = Some(at);
        }
        Ok(true)
    }
    async fn sessions(&self, user_id: Uuid, now: OffsetDateTime) -> Result<Vec<Session>, Error> {
        let origins = self.origins.lock().unwrap();
        Ok(self
            .rows()
            .into_iter()
            .filter(|t| t.user_id == user_id && Self::is_live(t, now))
            .map(|t| {
                let (origin, last_used_at) = origins
                    .get(&t.id)
                    .cloned()
                    .unwrap_or_else(|| (Origin::from(IpAddr::from([0, 0, 0, 0])), None));
                Session {
                    id: t.id,
                    created_at: t.issued_at,
                    last_used_at,
                    expires_at: t.expires_at,
                    client_ip: Some(origin.ip.to_string()),
                    user_agent: origin.user_agent,
                }
            })
            .collect())
    }
    async fn end_session(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, Error> {
        let live = self
            .rows()
            .iter()
            .any(|t| t.id == session_id && t.user_id == user_id && Self::is_live(t, now));
        if live {
            self.revoke(session_id, now);
            self.write(audit);
        }
        Ok(live)
    }
    async fn end_sessions_except(
        &self,
        user_id: Uuid,
        keep: Option<Uuid>,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<u64, Error> {
        let doomed: Vec<Uuid> = self
            .rows()
            .iter()
            .filter(|t| t.user_id == user_id && Self::is_live(t, now) && Some(t.id) != keep)
            .map(|t| t.id)
            .collect();
        for id in &doomed {
            self.revoke(*id, now);
        }
        if !doomed.is_empty() {
            self.write(audit);
        }
        Ok(doomed.len() as u64)
    }
    async fn revoke_family(
        &self,
        _user_id: Uuid,
        family_id: Uuid,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, Error> {
        let revoked = self.revoke(family_id, at);
        if revoked {
            self.write(audit);
        }
        Ok(revoked)
    }
    async fn purge(&self, now: OffsetDateTime) -> Result<u64, Error> {
        let mut rows = self.rows.lock().unwrap();
        let before = rows.len();
        rows.retain(|t| t.revoked_at.is_none() && now < t.expires_at);
        Ok((before - rows.len()) as u64)
    }
}

/// An in-memory audit trail: what was recorded on its own, newest last.
#[derive(Debug, Default)]
pub struct MemAudit(Mutex<Vec<AuditEvent>>);

impl MemAudit {
    /// Every event recorded so far.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.0.lock().unwrap().clone()
    }
}

#[async_trait]
impl AuditLog for MemAudit {
    async fn record(&self, event: &AuditEvent) -> Result<(), Error> {
        self.0.lock().unwrap().push(event.clone());
        Ok(())
    }
    async fn list(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, Error> {
        let mut events: Vec<AuditEvent> = self
            .events()
            .into_iter()
            .filter(|e| query.kind.is_none_or(|k| k == e.kind))
            .filter(|e| {
                query
                    .user
                    .is_none_or(|u| e.subject == Some(u) || e.actor_id == Some(u))
            })
            .filter(|e| query.since.is_none_or(|t| e.at >= t))
            .filter(|e| query.until.is_none_or(|t| e.at < t))
            .filter(|e| query.before.is_none_or(|id| e.id < id))
            .collect();
        events.sort_by_key(|e| std::cmp::Reverse(e.id));
        events.truncate(usize::try_from(query.limit).unwrap());
        Ok(events)
    }
    async fn purge(&self, before: OffsetDateTime) -> Result<u64, Error> {
        let mut events = self.0.lock().unwrap();
        let count = events.len();
        events.retain(|e| e.at >= before);
        Ok((count - events.len()) as u64)
    }
}
