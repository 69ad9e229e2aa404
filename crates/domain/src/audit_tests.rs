//! Tests of the audit trail's model (kinds, actors, the event builder), the administrator's
//! query (its bounds and pages) and retention. The events each flow writes are asserted beside
//! the flow: `session_tests.rs` (logins, sessions, refresh reuse), `admin_tests.rs`,
//! `api_key_tests.rs`.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use time::Duration;
use uuid::Uuid;

use super::*;
use crate::Error;
use crate::admin::AdminService;
use crate::auth::{AuthService, Ports};
use crate::ports::{AuditLog, MockTokenCodec, MockUserRepository};
use crate::testing::{
    HandClock, MemAudit, MemRefreshTokens, NOW, api_key, bearer, fresh_id, policy, ports,
    user_with_role,
};
use crate::user::Role;

#[test]
fn every_kind_has_one_name_and_only_that_name_parses() {
    let mut names = std::collections::HashSet::new();
    for kind in AuditKind::ALL {
        assert!(names.insert(kind.as_str()), "{kind:?} named twice");
        assert_eq!(AuditKind::parse(kind.as_str()), Some(kind));
        let upper = kind.as_str().to_uppercase();
        assert_eq!(AuditKind::parse(&upper), None, "{upper}");
        assert_eq!(AuditKind::parse(&format!(" {}", kind.as_str())), None);
    }
    for name in [
        "login.succeeded",
        "refresh.reuse_detected",
        "api_key.revoked",
    ] {
        assert!(names.contains(name), "{name}");
    }
    assert_eq!(AuditKind::parse(""), None);
    assert_eq!(AuditKind::parse("login"), None);
    for actor in [
        ActorKind::User,
        ActorKind::ApiKey,
        ActorKind::Operator,
        ActorKind::Anonymous,
    ] {
        assert_eq!(ActorKind::parse(actor.as_str()), Some(actor));
    }
    assert_eq!(ActorKind::parse("admin"), None);
    for outcome in [Outcome::Success, Outcome::Failure] {
        assert_eq!(Outcome::parse(outcome.as_str()), Some(outcome));
    }
    assert_eq!(Outcome::parse("ok"), None);
}

#[test]
fn an_event_names_its_actor_by_credential_and_keeps_where_it_came_from() {
    let user = user_with_role(Role::User);
    let origin = Origin::new(IpAddr::from([198, 51, 100, 4]), Some("cli/1"));
    let event =
        |caller: &Principal| AuditEvent::new(Uuid::nil(), NOW, AuditKind::Logout).by(caller);

    let by_token = event(&bearer(user.clone()).calling_from(origin.clone()));
    assert_eq!(by_token.actor_kind, ActorKind::User);
    assert_eq!(by_token.actor_id, Some(user.id));
    assert_eq!(by_token.ip.as_deref(), Some("198.51.100.4"));
    assert_eq!(by_token.user_agent.as_deref(), Some("cli/1"));

    let by_key = event(&api_key(user.clone()));
    assert_eq!(by_key.actor_kind, ActorKind::ApiKey);
    assert_eq!(by_key.actor_id, Some(user.id));
    assert_eq!((by_key.ip, by_key.user_agent), (None, None));

    let by_operator = event(&Principal::operator());
    assert_eq!(by_operator.actor_kind, ActorKind::Operator);
    assert_eq!(by_operator.actor_id, None);

    let plain = AuditEvent::new(Uuid::nil(), NOW, AuditKind::LoginFailed);
    assert_eq!(plain.actor_kind, ActorKind::Anonymous);
    assert_eq!(plain.outcome, Outcome::Success);
    let built = plain
        .about(user.id)
        .failed()
        .detail("reason", "wrong_password")
        .by_user(user.id);
    assert_eq!(built.subject, Some(user.id));
    assert_eq!(built.outcome, Outcome::Failure);
    assert_eq!(built.details["reason"], "wrong_password");
    assert_eq!(
        (built.actor_kind, built.actor_id),
        (ActorKind::User, Some(user.id))
    );
}

/// Ports at [`NOW`] on an in-memory trail holding `events`.
async fn ports_on_trail(events: &[AuditEvent]) -> (Ports, Arc<MemAudit>) {
    let audit = Arc::new(MemAudit::default());
    for e in events {
        audit.record(e).await.unwrap();
    }
    let mut ports = ports(
        MockUserRepository::new(),
        MockTokenCodec::new(),
        Arc::new(HandClock(Mutex::new(NOW))),
        Arc::new(MemRefreshTokens::default()),
    );
    ports.audit = audit.clone();
    (ports, audit)
}

/// An admin service on an in-memory trail holding `events`.
async fn trail_with(events: &[AuditEvent]) -> (AdminService, Arc<MemAudit>) {
    let (ports, audit) = ports_on_trail(events).await;
    (AdminService::new(ports, policy(true).password), audit)
}

fn query(limit: u64) -> AuditQuery {
    AuditQuery {
        limit,
        ..AuditQuery::default()
    }
}

#[tokio::test]
async fn only_a_user_manager_reads_the_trail() {
    let (svc, _) = trail_with(&[]).await;
    for caller in [
        bearer(user_with_role(Role::User)),
        bearer(user_with_role(Role::Service)),
        api_key(user_with_role(Role::User)),
    ] {
        assert!(matches!(
            svc.audit_trail(&caller, &query(10)).await,
            Err(Error::Forbidden)
        ));
    }
    for caller in [
        bearer(user_with_role(Role::Admin)),
        api_key(user_with_role(Role::Admin)),
        Principal::operator(),
    ] {
        assert!(svc.audit_trail(&caller, &query(10)).await.is_ok());
    }
}

#[tokio::test]
async fn the_limit_is_one_to_two_hundred_and_a_range_ending_before_it_starts_is_empty() {
    let (svc, _) = trail_with(&[AuditEvent::new(fresh_id(), NOW, AuditKind::Logout)]).await;
    let admin = Principal::operator();
    for (limit, ok) in [(0, false), (1, true), (200, true), (201, false)] {
        let got = svc.audit_trail(&admin, &query(limit)).await;
        assert_eq!(got.is_ok(), ok, "limit {limit}");
        if let Err(Error::Invalid(reasons)) = got {
            assert_eq!(reasons, ["limit must be between 1 and 200"]);
        }
    }
    for (since, until, found) in [
        (NOW, NOW + Duration::seconds(1), 1),
        (NOW, NOW, 0),
        (NOW, NOW - Duration::seconds(1), 0),
    ] {
        let range = AuditQuery {
            since: Some(since),
            until: Some(until),
            ..query(10)
        };
        let page = svc.audit_trail(&admin, &range).await.unwrap();
        assert_eq!(page.items.len(), found, "{since} to {until}");
    }
}

#[tokio::test]
async fn pages_run_newest_first_and_the_cursor_ends_on_the_last_page() {
    let events: Vec<AuditEvent> = (0..5)
        .map(|i| AuditEvent::new(fresh_id(), NOW + Duration::seconds(i), AuditKind::Logout))
        .collect();
    let (svc, _) = trail_with(&events).await;
    let admin = Principal::operator();
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = svc
            .audit_trail(
                &admin,
                &AuditQuery {
                    before: cursor,
                    ..query(2)
                },
            )
            .await
            .unwrap();
        pages += 1;
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|e| e.id));
        match page.next_cursor {
            Some(next) => {
                assert_eq!(Some(next), page.items.last().map(|e| e.id));
                cursor = Some(next);
            }
            None => break,
        }
    }
    let newest_first: Vec<Uuid> = events.iter().rev().map(|e| e.id).collect();
    assert_eq!(seen, newest_first);
    assert_eq!(pages, 3);
    // A page exactly full with nothing after it has no cursor.
    let page = svc.audit_trail(&admin, &query(5)).await.unwrap();
    assert_eq!((page.items.len(), page.next_cursor), (5, None));
}

#[tokio::test]
async fn retention_purges_what_is_older_than_it_and_keeps_the_rest() {
    let (ports, audit) = ports_on_trail(&[]).await;
    let svc = AuthService::new(ports, policy(true)).await.unwrap();
    let edge = NOW - Duration::days(90);
    for at in [
        edge - Duration::seconds(1),
        edge,
        edge + Duration::seconds(1),
    ] {
        audit
            .record(&AuditEvent::new(fresh_id(), at, AuditKind::LoginFailed))
            .await
            .unwrap();
    }
    assert_eq!(svc.purge_audit_events().await.unwrap(), 1);
    let kept: Vec<_> = audit.events().iter().map(|e| e.at).collect();
    assert_eq!(kept, [edge, edge + Duration::seconds(1)]);
}
