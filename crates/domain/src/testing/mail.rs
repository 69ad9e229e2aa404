//! In-memory fakes of the flows by mail: the token store with its outbox (one lock, so that
//! redemptions are atomic), a composer whose messages are readable, and a transport that can be
//! told to fail.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Error;
use crate::audit::AuditEvent;
use crate::mail::{Mail, Message, Queued, SendError};
use crate::ports::{AccountTokenRepository, MailComposer, MailTransport, Outbox};
use crate::recovery::{AccountToken, TokenPurpose};
use crate::user::PasswordHash;

/// What a redemption changed on an account, as the real transaction would.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// A new password hash, every session ended, the lockouts cleared.
    Reset(Uuid, String),
    /// The address verified.
    Verified(Uuid),
    /// The address changed to this one, verified.
    Changed(Uuid, String),
}

/// Tokens, the outbox they were queued with, the events written with them, and the changes
/// redemptions made. `addresses` holds each known account's current address (an account not
/// in it is gone); `taken` the addresses other accounts hold.
#[derive(Debug, Default)]
pub struct MemAccountTokens {
    /// The stored tokens.
    pub tokens: Mutex<Vec<AccountToken>>,
    /// Every message queued, in order.
    pub outbox: Mutex<Vec<Message>>,
    /// Every event written with a change.
    pub events: Mutex<Vec<AuditEvent>>,
    /// What redemptions changed, in order.
    pub applied: Mutex<Vec<Applied>>,
    /// The accounts' current addresses, by id.
    pub addresses: Mutex<HashMap<Uuid, String>>,
    /// Addresses of other accounts.
    pub taken: Mutex<Vec<String>>,
    /// The accounts' session versions, by id.
    pub versions: Mutex<HashMap<Uuid, i64>>,
}

impl MemAccountTokens {
    /// A store that knows the account `id` with its address and session version.
    pub fn with_account(id: Uuid, email: &str, session_version: i64) -> Self {
        let store = Self::default();
        store.addresses.lock().unwrap().insert(id, email.to_owned());
        store.versions.lock().unwrap().insert(id, session_version);
        store
    }

    /// The kinds of the events written, in order.
    pub fn event_kinds(&self) -> Vec<&'static str> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.kind.as_str())
            .collect()
    }

    /// The messages queued so far.
    pub fn messages(&self) -> Vec<Message> {
        self.outbox.lock().unwrap().clone()
    }

    fn take(&self, token: &AccountToken) -> bool {
        let mut tokens = self.tokens.lock().unwrap();
        let before = tokens.len();
        tokens.retain(|t| t.id != token.id);
        tokens.len() < before
    }
}

#[async_trait]
impl AccountTokenRepository for MemAccountTokens {
    async fn issue(
        &self,
        token: &AccountToken,
        messages: &[Message],
        not_after: Option<OffsetDateTime>,
        audit: &AuditEvent,
    ) -> Result<bool, Error> {
        if !self.addresses.lock().unwrap().contains_key(&token.user_id) {
            return Err(Error::NotFound);
        }
        let mut tokens = self.tokens.lock().unwrap();
        let same = |t: &AccountToken| t.user_id == token.user_id && t.purpose == token.purpose;
        if let (Some(limit), Some(old)) = (not_after, tokens.iter().find(|t| same(t)))
            && old.created_at > limit
        {
            return Ok(false);
        }
        tokens.retain(|t| !same(t));
        tokens.push(token.clone());
        self.outbox.lock().unwrap().extend_from_slice(messages);
        self.events.lock().unwrap().push(audit.clone());
        Ok(true)
    }

    async fn find(&self, digest: &str) -> Result<Option<AccountToken>, Error> {
        let tokens = self.tokens.lock().unwrap();
        Ok(tokens.iter().find(|t| t.digest == digest).cloned())
    }

    async fn redeem_reset(
        &self,
        token: &AccountToken,
        hash: &PasswordHash,
        _at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, Error> {
        let current = self.addresses.lock().unwrap().get(&token.user_id).cloned();
        if current.as_deref() != Some(token.email.as_str()) || !self.take(token) {
            return Ok(false);
        }
        self.tokens
            .lock()
            .unwrap()
            .retain(|t| !(t.user_id == token.user_id && t.purpose == TokenPurpose::EmailChange));
        if let Some(v) = self.versions.lock().unwrap().get_mut(&token.user_id) {
            *v += 1;
        }
        let applied = Applied::Reset(token.user_id, hash.expose().to_owned());
        self.applied.lock().unwrap().push(applied);
        self.events.lock().unwrap().push(audit.clone());
        Ok(true)
    }

    async fn redeem_verification(
        &self,
        token: &AccountToken,
        _at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, Error> {
        let current = self.addresses.lock().unwrap().get(&token.user_id).cloned();
        if current.as_deref() != Some(token.email.as_str()) || !self.take(token) {
            return Ok(false);
        }
        self.applied
            .lock()
            .unwrap()
            .push(Applied::Verified(token.user_id));
        self.events.lock().unwrap().push(audit.clone());
        Ok(true)
    }

    async fn redeem_email_change(
        &self,
        token: &AccountToken,
        _at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, Error> {
        if self.taken.lock().unwrap().contains(&token.email) {
            return Err(Error::EmailTaken);
        }
        if self.versions.lock().unwrap().get(&token.user_id) != Some(&token.session_version) {
            return Ok(false);
        }
        if !self.take(token) {
            return Ok(false);
        }
        self.tokens
            .lock()
            .unwrap()
            .retain(|t| !(t.user_id == token.user_id && t.purpose == TokenPurpose::PasswordReset));
        self.addresses
            .lock()
            .unwrap()
            .insert(token.user_id, token.email.clone());
        let applied = Applied::Changed(token.user_id, token.email.clone());
        self.applied.lock().unwrap().push(applied);
        self.events.lock().unwrap().push(audit.clone());
        Ok(true)
    }

    async fn purge(&self, now: OffsetDateTime) -> Result<u64, Error> {
        let mut tokens = self.tokens.lock().unwrap();
        let before = tokens.len();
        tokens.retain(|t| t.expires_at > now);
        Ok((before - tokens.len()) as u64)
    }
}

/// Messages anyone can read: the subject is the kind and the recipient, the text the link (or
/// `no link`) and its minutes.
#[derive(Debug, Default)]
pub struct PlainComposer;

impl MailComposer for PlainComposer {
    fn compose(&self, mail: &Mail) -> Result<Message, Error> {
        Ok(Message {
            to: mail.to.clone(),
            subject: format!("{} for {}", mail.kind.as_str(), mail.name),
            text: format!(
                "{} ({} min)",
                mail.link.as_deref().unwrap_or("no link"),
                mail.valid_minutes
            ),
            html: String::new(),
        })
    }
}

/// An outbox row as the fake keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The message and its attempts so far.
    pub queued: Queued,
    /// The next attempt.
    pub due: OffsetDateTime,
    /// `sent`, `dead` or `queued`.
    pub state: &'static str,
    /// The last error.
    pub error: Option<String>,
    /// When it was sent or given up.
    pub done_at: Option<OffsetDateTime>,
}

/// An outbox in memory, which remembers the lease each claim asked for.
#[derive(Debug, Default)]
pub struct MemOutbox(pub Mutex<Vec<Row>>, pub Mutex<Vec<OffsetDateTime>>);

impl MemOutbox {
    /// Queues a message due at `at`.
    pub fn push(&self, id: Uuid, to: &str, at: OffsetDateTime) {
        let message = Message {
            to: to.to_owned(),
            subject: "s".into(),
            text: "t".into(),
            html: "h".into(),
        };
        self.0.lock().unwrap().push(Row {
            queued: Queued {
                id,
                message,
                attempts: 0,
            },
            due: at,
            state: "queued",
            error: None,
            done_at: None,
        });
    }

    /// The rows.
    pub fn rows(&self) -> Vec<Row> {
        self.0.lock().unwrap().clone()
    }

    fn with(&self, id: Uuid, change: impl FnOnce(&mut Row)) {
        if let Some(row) = self
            .0
            .lock()
            .unwrap()
            .iter_mut()
            .find(|r| r.queued.id == id)
        {
            change(row);
        }
    }
}

#[async_trait]
impl Outbox for MemOutbox {
    async fn claim(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u64,
    ) -> Result<Vec<Queued>, Error> {
        self.1.lock().unwrap().push(lease_until);
        let mut rows = self.0.lock().unwrap();
        let mut claimed = Vec::new();
        for row in rows.iter_mut() {
            if row.state == "queued" && row.due <= now && (claimed.len() as u64) < limit {
                row.due = lease_until;
                claimed.push(row.queued.clone());
            }
        }
        Ok(claimed)
    }

    async fn sent(&self, id: Uuid, at: OffsetDateTime) -> Result<(), Error> {
        self.with(id, |r| {
            r.state = "sent";
            r.done_at = Some(at);
            r.queued.message.text.clear();
            r.queued.message.html.clear();
        });
        Ok(())
    }

    async fn failed(
        &self,
        id: Uuid,
        attempts: u32,
        next_attempt_at: OffsetDateTime,
        error: &str,
    ) -> Result<(), Error> {
        self.with(id, |r| {
            r.queued.attempts = attempts;
            r.due = next_attempt_at;
            r.error = Some(error.to_owned());
        });
        Ok(())
    }

    async fn dead(&self, id: Uuid, at: OffsetDateTime, error: &str) -> Result<(), Error> {
        self.with(id, |r| {
            r.state = "dead";
            r.done_at = Some(at);
            r.error = Some(error.to_owned());
            r.queued.attempts += 1;
            r.queued.message.text.clear();
            r.queued.message.html.clear();
        });
        Ok(())
    }

    async fn purge(&self, before: OffsetDateTime) -> Result<u64, Error> {
        let mut rows = self.0.lock().unwrap();
        let n = rows.len();
        rows.retain(|r| r.done_at.is_none_or(|at| at >= before));
        Ok((n - rows.len()) as u64)
    }
}

/// A transport that fails while `down` is set, and remembers what it sent.
#[derive(Debug, Default)]
pub struct FakeTransport {
    /// Whether sends fail.
    pub down: Mutex<bool>,
    /// The recipients of what was sent, in order.
    pub sent: Mutex<Vec<String>>,
}

#[async_trait]
impl MailTransport for FakeTransport {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        if *self.down.lock().unwrap() {
            return Err(SendError("421 service not available".into()));
        }
        self.sent.lock().unwrap().push(message.to.clone());
        Ok(())
    }
}
