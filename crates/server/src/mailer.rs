//! The outbox's worker beside the server: a pass every second, more at once while passes come
//! back full. A failure of storage is logged and the next pass tries again; a request never
//! waits on it.

use std::time::Duration;

use tokio::task::JoinHandle;
use warden_domain::mail::{BATCH, MailWorker};

/// How often the outbox is looked at.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Starts delivering the outbox.
pub(crate) fn start(worker: MailWorker) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(POLL_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            // A full pass may have left more behind it: go on at once.
            loop {
                match worker.tick().await {
                    Ok(report)
                        if u64::from(report.sent + report.retried + report.dead) >= BATCH => {}
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e.with_causes(), "could not read the outbox");
                        break;
                    }
                }
            }
        }
    })
}
