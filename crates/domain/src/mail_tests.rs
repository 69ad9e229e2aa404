//! Tests of the outbox's worker: what is due goes, a failure waits a doubling delay, the last
//! allowed failure makes a message dead, a claimed message is kept from another pass, and
//! housekeeping takes only what is done and old.

use std::sync::{Arc, Mutex};

use super::*;
use crate::testing::{FakeTransport, HandClock, MemOutbox, NOW, fresh_id};

struct Fixture {
    worker: MailWorker,
    outbox: Arc<MemOutbox>,
    transport: Arc<FakeTransport>,
    clock: Arc<HandClock>,
}

fn fixture(backoff: Backoff) -> Fixture {
    let outbox = Arc::new(MemOutbox::default());
    let transport = Arc::new(FakeTransport::default());
    let clock = Arc::new(HandClock(Mutex::new(NOW)));
    Fixture {
        worker: MailWorker::new(
            outbox.clone(),
            transport.clone(),
            clock.clone(),
            backoff,
            Duration::minutes(2),
        ),
        outbox,
        transport,
        clock,
    }
}

impl Fixture {
    fn advance(&self, by: Duration) {
        *self.clock.0.lock().unwrap() += by;
    }

    fn down(&self, down: bool) {
        *self.transport.down.lock().unwrap() = down;
    }
}

#[test]
fn delays_double_from_the_first_up_to_the_longest() {
    let b = Backoff::default();
    let delays: Vec<i64> = (1..=10).map(|n| b.delay(n).whole_seconds()).collect();
    assert_eq!(delays, [5, 10, 20, 40, 80, 160, 320, 600, 600, 600]);
    assert_eq!(b.delay(0), Duration::seconds(5));
    assert_eq!(b.delay(u32::MAX), Duration::minutes(10));
    let long = Backoff {
        first: Duration::seconds(1),
        max: Duration::days(100_000),
        max_attempts: 50,
    };
    assert_eq!(long.delay(31), Duration::seconds(1 << 30));
    assert_eq!(
        long.delay(40),
        Duration::seconds(1 << 30),
        "doublings stop at 30"
    );
}

#[test]
fn a_message_is_given_up_at_its_last_allowed_attempt() {
    let b = Backoff::default();
    assert!(!b.gives_up(11));
    assert!(b.gives_up(12));
    assert!(b.gives_up(13));
}

#[test]
fn kinds_have_template_names_and_messages_hide_their_bodies() {
    let names: Vec<&str> = MailKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "verify_email",
            "password_reset",
            "email_change",
            "email_change_notice",
            "test"
        ]
    );
    let m = Message {
        to: "a@example.com".into(),
        subject: "Hello".into(),
        text: "https://x/?token=secret".into(),
        html: "<a>secret</a>".into(),
    };
    let shown = format!("{m:?}");
    assert!(shown.contains("Hello") && !shown.contains("secret") && !shown.contains("a@ex"));
    let mail = Mail {
        kind: MailKind::Test,
        to: "a@example.com".into(),
        name: "A".into(),
        link: Some("https://x/?token=secret".into()),
        valid_minutes: 1,
    };
    let shown = format!("{mail:?}");
    assert!(
        shown.starts_with("Mail { kind: Test") && !shown.contains("secret"),
        "{shown}"
    );
}

#[tokio::test]
async fn what_is_due_is_sent_once_and_what_is_not_waits() {
    let f = fixture(Backoff::default());
    let (due, later) = (fresh_id(), fresh_id());
    f.outbox.push(due, "due@example.com", NOW);
    f.outbox
        .push(later, "later@example.com", NOW + Duration::seconds(1));
    let report = f.worker.tick().await.unwrap();
    assert_eq!(
        report,
        TickReport {
            sent: 1,
            retried: 0,
            dead: 0
        }
    );
    assert_eq!(
        f.transport.sent.lock().unwrap().clone(),
        ["due@example.com"]
    );
    let rows = f.outbox.rows();
    assert_eq!((rows[0].state, rows[0].done_at), ("sent", Some(NOW)));
    assert!(
        rows[0].queued.message.text.is_empty(),
        "a sent message keeps no body"
    );
    assert_eq!(f.worker.tick().await.unwrap(), TickReport::default());
    f.advance(Duration::seconds(1));
    assert_eq!(f.worker.tick().await.unwrap().sent, 1);
    assert_eq!(f.transport.sent.lock().unwrap().len(), 2);
    let leases = f.outbox.1.lock().unwrap().clone();
    assert_eq!(
        leases[0],
        NOW + Duration::minutes(2),
        "a claim leases from now"
    );
    assert_eq!(
        leases.last(),
        Some(&(NOW + Duration::seconds(1) + Duration::minutes(2)))
    );
    let shown = format!("{:?}", f.worker);
    assert!(
        shown.starts_with("MailWorker { backoff: Backoff"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_failure_is_tried_again_after_its_delay_and_then_delivered_once() {
    let f = fixture(Backoff::default());
    f.outbox.push(fresh_id(), "a@example.com", NOW);
    f.down(true);
    assert_eq!(f.worker.tick().await.unwrap().retried, 1);
    let row = f.outbox.rows()[0].clone();
    assert_eq!(
        (
            row.queued.attempts,
            row.due,
            row.error.as_deref(),
            row.state
        ),
        (
            1,
            NOW + Duration::seconds(5),
            Some("421 service not available"),
            "queued"
        )
    );
    f.down(false);
    f.advance(Duration::seconds(4));
    assert_eq!(
        f.worker.tick().await.unwrap(),
        TickReport::default(),
        "before its delay"
    );
    f.advance(Duration::seconds(1));
    assert_eq!(f.worker.tick().await.unwrap().sent, 1);
    f.advance(Duration::hours(1));
    assert_eq!(f.worker.tick().await.unwrap(), TickReport::default());
    assert_eq!(f.transport.sent.lock().unwrap().clone(), ["a@example.com"]);
}

#[tokio::test]
async fn a_message_that_keeps_failing_dies_at_its_last_attempt() {
    let f = fixture(Backoff {
        first: Duration::seconds(1),
        max: Duration::seconds(1),
        max_attempts: 3,
    });
    f.outbox.push(fresh_id(), "a@example.com", NOW);
    f.down(true);
    for _ in 0..2 {
        assert_eq!(f.worker.tick().await.unwrap().retried, 1);
        f.advance(Duration::seconds(1));
    }
    assert_eq!(f.worker.tick().await.unwrap().dead, 1);
    let row = f.outbox.rows()[0].clone();
    assert_eq!(
        (row.state, row.done_at),
        ("dead", Some(NOW + Duration::seconds(2)))
    );
    assert!(
        row.queued.message.html.is_empty(),
        "a dead message keeps no body"
    );
    f.down(false);
    f.advance(Duration::hours(1));
    assert_eq!(f.worker.tick().await.unwrap(), TickReport::default());
}

#[tokio::test]
async fn a_claimed_message_is_leased_and_a_pass_takes_at_most_a_batch() {
    let f = fixture(Backoff::default());
    for _ in 0..=BATCH {
        f.outbox.push(fresh_id(), "a@example.com", NOW);
    }
    let claimed = f
        .outbox
        .claim(NOW, NOW + Duration::minutes(2), BATCH)
        .await
        .unwrap();
    assert_eq!(claimed.len() as u64, BATCH);
    assert_eq!(f.outbox.rows()[0].due, NOW + Duration::minutes(2));
    assert_eq!(
        f.worker.tick().await.unwrap().sent,
        1,
        "only the one not leased"
    );
    f.advance(Duration::minutes(2));
    assert_eq!(u64::from(f.worker.tick().await.unwrap().sent), BATCH);
}

#[tokio::test]
async fn housekeeping_deletes_only_what_is_done_and_old() {
    let f = fixture(Backoff::default());
    f.outbox.push(fresh_id(), "a@example.com", NOW);
    f.worker.tick().await.unwrap();
    f.outbox
        .push(fresh_id(), "b@example.com", NOW + Duration::days(9));
    f.advance(Duration::days(1) - Duration::seconds(1));
    assert_eq!(f.worker.purge(Duration::days(1)).await.unwrap(), 0);
    f.advance(Duration::seconds(1));
    assert_eq!(
        f.worker.purge(Duration::days(1)).await.unwrap(),
        0,
        "at the edge it stays"
    );
    f.advance(Duration::seconds(1));
    assert_eq!(f.worker.purge(Duration::days(1)).await.unwrap(), 1);
    assert_eq!(f.outbox.rows().len(), 1, "the queued one stays");
}
