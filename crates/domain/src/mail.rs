//! Mail: what the account flows send, the outbox it waits in, and the worker that delivers it.
//!
//! A flow never sends. It renders its message ([`MailComposer`](crate::ports::MailComposer))
//! and stores it in the outbox in the transaction that stores the token the message carries,
//! so that a message exists exactly when its token does. [`MailWorker::tick`] then sends what is
//! due, one message at a time, through the [`MailTransport`](crate::ports::MailTransport):
//! a message that fails is tried again after a doubling delay ([`Backoff`]), and one that
//! failed [`Backoff::max_attempts`] times is dead, logged once. A sent or dead message keeps
//! no body (its link is a credential), and housekeeping deletes it later.

use std::fmt;
use std::sync::Arc;

use time::Duration;
use uuid::Uuid;

use crate::Error;
use crate::ports::{Clock, MailTransport, Outbox};

/// What a message is for; each kind has its own templates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// A link that verifies the account's address.
    VerifyEmail,
    /// A link that sets a new password.
    PasswordReset,
    /// A link, to the new address, that verifies it and makes it the account's.
    EmailChange,
    /// A notice, to the old address, that the account's address is changing.
    EmailChangeNotice,
    /// An operator's test message (`warden mail test`).
    Test,
}

impl MailKind {
    /// Every kind.
    pub const ALL: [Self; 5] = [
        Self::VerifyEmail,
        Self::PasswordReset,
        Self::EmailChange,
        Self::EmailChangeNotice,
        Self::Test,
    ];

    /// The kind's name: its templates are `<name>.subject`, `<name>.txt` and `<name>.html`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::PasswordReset => "password_reset",
            Self::EmailChange => "email_change",
            Self::EmailChangeNotice => "email_change_notice",
            Self::Test => "test",
        }
    }
}

/// A message to render: its kind, its recipient and what its templates may show.
#[derive(Clone)]
pub struct Mail {
    /// The kind, which picks the templates.
    pub kind: MailKind,
    /// The recipient's address.
    pub to: String,
    /// The name to greet (the display name, else the address).
    pub name: String,
    /// The link the message carries (a credential until it is used), if any.
    pub link: Option<String>,
    /// How long the link works, in minutes.
    pub valid_minutes: i64,
}

impl fmt::Debug for Mail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mail")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A rendered message, as the outbox keeps it until it is sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// The recipient.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// A message in the outbox, claimed for a delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    /// Its id.
    pub id: Uuid,
    /// What to send.
    pub message: Message,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// Why a delivery failed; the text is the mail server's or the transport's, never the message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SendError(pub String);

/// When failed deliveries are tried again, and when they stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after the first failure; each later one doubles it.
    pub first: Duration,
    /// The longest delay.
    pub max: Duration,
    /// After this many failed attempts a message is dead.
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first: Duration::seconds(5),
            max: Duration::minutes(10),
            max_attempts: 12,
        }
    }
}

impl Backoff {
    /// The delay after the `failures`-th failure (1 for the first): `first`, doubled for each
    /// earlier failure, at most `max`.
    pub fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        let delay = self.first * (1_i32 << doublings);
        delay.min(self.max)
    }

    /// Whether a message that has now failed `failures` times is dead.
    pub fn gives_up(&self, failures: u32) -> bool {
        failures >= self.max_attempts
    }
}

/// What one pass of the worker did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Messages sent.
    pub sent: u32,
    /// Messages that failed and wait for another attempt.
    pub retried: u32,
    /// Messages that failed for the last time.
    pub dead: u32,
}

/// Delivers the outbox: claims what is due, sends it, records the outcome.
#[derive(Clone)]
pub struct MailWorker {
    outbox: Arc<dyn Outbox>,
    transport: Arc<dyn MailTransport>,
    clock: Arc<dyn Clock>,
    backoff: Backoff,
    /// How long a claimed message is kept from other workers while it is being sent.
    lease: Duration,
}

impl fmt::Debug for MailWorker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailWorker")
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

/// The most messages one pass claims.
pub const BATCH: u64 = 20;

impl MailWorker {
    /// A worker on these ports; `lease` must outlast one exchange with the mail server.
    pub fn new(
        outbox: Arc<dyn Outbox>,
        transport: Arc<dyn MailTransport>,
        clock: Arc<dyn Clock>,
        backoff: Backoff,
        lease: Duration,
    ) -> Self {
        Self {
            outbox,
            transport,
            clock,
            backoff,
            lease,
        }
    }

    /// One pass: claims and tries up to [`BATCH`] due messages, one at a time, in order.
    ///
    /// # Errors
    /// Storage failures (a message whose outcome could not be stored is tried again when its
    /// lease ends).
    pub async fn tick(&self) -> Result<TickReport, Error> {
        let mut report = TickReport::default();
        for _ in 0..BATCH {
            // One at a time: each message's lease starts when its own exchange does, so that a
            // slow server never lets a lease lapse on a message still waiting its turn.
            let now = self.clock.now();
            let Some(queued) = self.outbox.claim(now, now + self.lease, 1).await?.pop() else {
                break;
            };
            match self.transport.send(&queued.message).await {
                Ok(()) => {
                    self.outbox.sent(queued.id, self.clock.now()).await?;
                    report.sent += 1;
                }
                Err(e) => {
                    let failures = queued.attempts.saturating_add(1);
                    let at = self.clock.now();
                    if self.backoff.gives_up(failures) {
                        tracing::error!(
                            message_id = %queued.id, attempts = failures, error = %e,
                            "a message could not be delivered and is given up"
                        );
                        self.outbox.dead(queued.id, at, &e.0).await?;
                        report.dead += 1;
                    } else {
                        let next = at + self.backoff.delay(failures);
                        tracing::warn!(
                            message_id = %queued.id, attempts = failures, error = %e,
                            "a message could not be delivered; it will be tried again"
                        );
                        self.outbox.failed(queued.id, failures, next, &e.0).await?;
                        report.retried += 1;
                    }
                }
            }
        }
        Ok(report)
    }

    /// Housekeeping: deletes sent and dead messages older than `age`. Returns how many went.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn purge(&self, age: Duration) -> Result<u64, Error> {
        self.outbox.purge(self.clock.now() - age).await
    }
}

#[cfg(test)]
#[path = "mail_tests.rs"]
mod tests;
