//! The chores that run beside the server: purging refresh tokens, lockout counts, links and
//! mail that can never matter again, delivering the outbox, and letting the in-memory rate
//! limits forget clients whose budget is whole.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use warden_adapters::Services;
use warden_domain::auth::AuthService;

/// How often dead refresh tokens and orphan lockout counts are purged (also once at start).
const PURGE_EVERY: Duration = Duration::from_hours(1);
/// How long sent and dead messages (their bodies emptied) stay in the outbox.
const OUTBOX_RETENTION: time::Duration = time::Duration::days(7);
/// How often the in-memory rate-limit state forgets clients whose budget is whole again.
const FORGET_EVERY: Duration = Duration::from_mins(1);

/// The running chores; [`Chores::stop`] ends them.
#[derive(Debug)]
pub(crate) struct Chores(Vec<JoinHandle<()>>);

impl Chores {
    /// Ends every chore.
    pub(crate) fn stop(self) {
        for chore in self.0 {
            chore.abort();
        }
    }
}

/// Starts the chores for these services.
pub(crate) fn start(services: &Services) -> Chores {
    let auth = services.auth.clone();
    let recovery = services.recovery.clone();
    let worker = services.mail_worker.clone();
    let purging = tokio::spawn(every(PURGE_EVERY, move || {
        let (auth, recovery, worker) = (auth.clone(), recovery.clone(), worker.clone());
        async move {
            purge_refresh_tokens(&auth).await;
            purge_lockouts(&auth).await;
            purge_audit_events(&auth).await;
            purge_mfa_challenges(&auth).await;
            logged("expired links", recovery.purge_tokens().await);
            if let Some(worker) = worker {
                logged("sent and dead mail", worker.purge(OUTBOX_RETENTION).await);
            }
        }
    }));
    let limits = services.rate_limits.clone();
    // The memory limiters keep one entry per client IP: drop those whose budget is whole.
    let forgetting = tokio::spawn(every(FORGET_EVERY, move || {
        limits.forget_idle_clients();
        std::future::ready(())
    }));
    let mut chores = vec![purging, forgetting];
    chores.extend(services.mail_worker.clone().map(crate::mailer::start));
    Chores(chores)
}

/// Runs `job` at once and then every `period`, until the task is aborted.
async fn every<F, Fut>(period: Duration, mut job: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticks = tokio::time::interval(period);
    loop {
        ticks.tick().await;
        job().await;
    }
}

/// Deletes refresh tokens that can never be used again, so the table does not grow without
/// bound. A failure is logged and retried at the next tick.
async fn purge_refresh_tokens(auth: &Arc<AuthService>) {
    match auth.purge_refresh_tokens().await {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "purged dead refresh tokens"),
        Err(e) => tracing::warn!(error = %e.with_causes(), "could not purge refresh tokens"),
    }
}

/// Deletes the audit events past `audit.retention_days`. A failure is logged and retried at
/// the next tick.
async fn purge_audit_events(auth: &Arc<AuthService>) {
    match auth.purge_audit_events().await {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "purged audit events past their retention"),
        Err(e) => tracing::warn!(error = %e.with_causes(), "could not purge audit events"),
    }
}

/// Deletes lockout counts that protect no user (unknown usernames, deleted users) and hold no
/// lock, so that guessing random usernames cannot grow the table without bound. A failure is
/// logged and retried at the next tick.
async fn purge_lockouts(auth: &Arc<AuthService>) {
    match auth.purge_lockouts().await {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "purged lockout counts of no user"),
        Err(e) => tracing::warn!(error = %e.with_causes(), "could not purge lockout counts"),
    }
}

/// Deletes the logins that waited for a second factor past their 5 minutes. A failure is
/// logged and retried at the next tick.
async fn purge_mfa_challenges(auth: &Arc<AuthService>) {
    match auth.purge_mfa_challenges().await {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "purged expired second-factor challenges"),
        Err(e) => {
            tracing::warn!(error = %e.with_causes(), "could not purge second-factor challenges");
        }
    }
}

/// Logs what a purge did: how many of `what` went, or why it failed (retried at the next tick).
fn logged(what: &str, outcome: Result<u64, warden_domain::Error>) {
    match outcome {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "purged {what}"),
        Err(e) => tracing::warn!(error = %e.with_causes(), "could not purge {what}"),
    }
}
