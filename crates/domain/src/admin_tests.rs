//! Tests of the administration use cases against mocks of the ports (who may call them is
//! tested in `principal_tests.rs`).

use std::sync::Arc;

use mockall::predicate::eq;
use time::macros::datetime;

use super::*;
use crate::audit::{AuditEvent, AuditKind};
use crate::ports::{MockClock, MockLockoutRepository, MockTokenCodec, MockUserRepository};
use crate::testing::{MemRefreshTokens, bearer, policy, ports};
use crate::user::PasswordHash;

fn user(role: Role) -> User {
    let t = datetime!(2026-01-01 00:00 UTC);
    User {
        id: crate::testing::fresh_id(),
        email: Email::parse("a@example.com").unwrap(),
        display_name: None,
        role,
        disabled: false,
        password_hash: PasswordHash::new("h".into()),
        session_version: 0,
        created_at: t,
        updated_at: t,
        email_verified_at: None,
        mfa_enabled_at: None,
    }
}

fn service(users: MockUserRepository) -> AdminService {
    service_with_lockouts(users, MockLockoutRepository::new())
}

fn service_with_lockouts(
    users: MockUserRepository,
    lockouts: MockLockoutRepository,
) -> AdminService {
    let mut clock = MockClock::new();
    clock
        .expect_now()
        .return_const(datetime!(2026-01-01 00:00 UTC));
    let mut ports = ports(
        users,
        MockTokenCodec::new(),
        Arc::new(clock),
        Arc::new(MemRefreshTokens::default()),
    );
    ports.lockouts = Arc::new(lockouts);
    AdminService::new(ports, policy(true).password)
}

/// An administrator, calling by bearer token.
fn admin() -> Principal {
    bearer(user(Role::Admin))
}

#[tokio::test]
async fn list_asks_one_more_to_find_the_next_cursor() {
    let people: Vec<User> = (0..3).map(|_| user(Role::User)).collect();
    let second = people[1].id;
    let mut repo = MockUserRepository::new();
    repo.expect_list()
        .with(eq(None), eq(3))
        .returning(move |_, _| Ok(people.clone()));
    let page = service(repo).list(&admin(), None, 2).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.next_cursor, Some(second));
}

#[tokio::test]
async fn a_page_exactly_full_has_no_next_cursor_and_the_edges_of_the_limit_are_taken() {
    let mut repo = MockUserRepository::new();
    // Exactly as many users as asked for: storage found no extra one, so no next page.
    repo.expect_list()
        .returning(|_, limit| Ok((1..limit).map(|_| user(Role::User)).collect()));
    let svc = service(repo);
    for limit in [1, 2, 200] {
        let page = svc.list(&admin(), None, limit).await.unwrap();
        assert_eq!(page.items.len() as u64, limit);
        assert_eq!(page.next_cursor, None, "limit {limit}");
    }
}

#[test]
fn the_service_debugs_without_its_ports() {
    let text = format!("{:?}", service(MockUserRepository::new()));
    assert_eq!(text, "AdminService { .. }");
}

#[tokio::test]
async fn a_short_page_has_no_next_cursor_and_limits_are_bounded() {
    let mut repo = MockUserRepository::new();
    repo.expect_list()
        .returning(|_, _| Ok(vec![user(Role::User)]));
    let svc = service(repo);
    assert!(
        svc.list(&admin(), None, 50)
            .await
            .unwrap()
            .next_cursor
            .is_none()
    );
    assert!(matches!(
        svc.list(&admin(), None, 0).await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        svc.list(&admin(), None, 201).await,
        Err(Error::Invalid(_))
    ));
}

#[tokio::test]
async fn disabling_ends_sessions_and_role_changes_do_not() {
    let target = user(Role::User);
    let id = target.id;
    let mut repo = MockUserRepository::new();
    let t = target.clone();
    repo.expect_update()
        .withf(move |uid, c, _| *uid == id && c.disabled == Some(true) && c.end_sessions)
        .times(1)
        .returning(move |_, _, _| Ok(t.clone()));
    let t = target.clone();
    repo.expect_update()
        .withf(move |uid, c, _| *uid == id && c.role == Some(Role::Service) && !c.end_sessions)
        .times(1)
        .returning(move |_, _, _| Ok(t.clone()));
    let svc = service(repo);
    svc.update(
        &admin(),
        id,
        UserUpdate {
            disabled: Some(true),
            ..UserUpdate::default()
        },
    )
    .await
    .unwrap();
    svc.update(
        &admin(),
        id,
        UserUpdate {
            role: Some(Role::Service),
            ..UserUpdate::default()
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn an_empty_update_writes_nothing() {
    let target = user(Role::User);
    let id = target.id;
    let mut repo = MockUserRepository::new();
    repo.expect_find_by_id()
        .returning(move |_| Ok(Some(target.clone())));
    repo.expect_update().never();
    assert_eq!(
        service(repo)
            .update(&admin(), id, UserUpdate::default())
            .await
            .unwrap()
            .id,
        id
    );
}

#[tokio::test]
async fn the_last_admin_refusal_of_storage_reaches_the_caller() {
    let mut repo = MockUserRepository::new();
    repo.expect_update()
        .returning(|_, _, _| Err(Error::LastAdmin));
    repo.expect_delete().returning(|_, _| Err(Error::LastAdmin));
    let svc = service(repo);
    let id = crate::testing::fresh_id();
    let demote = svc
        .update(
            &admin(),
            id,
            UserUpdate {
                role: Some(Role::User),
                ..UserUpdate::default()
            },
        )
        .await;
    assert!(matches!(demote, Err(Error::LastAdmin)));
    assert!(matches!(
        svc.delete(&admin(), id).await,
        Err(Error::LastAdmin)
    ));
}

#[tokio::test]
async fn a_bad_display_name_is_invalid_before_storage() {
    let mut repo = MockUserRepository::new();
    repo.expect_update().never();
    let r = service(repo)
        .update(
            &admin(),
            crate::testing::fresh_id(),
            UserUpdate {
                display_name: Some(Some(String::new())),
                ..UserUpdate::default()
            },
        )
        .await;
    assert!(matches!(r, Err(Error::Invalid(_))));
}

#[tokio::test]
async fn unlock_clears_every_scope_of_an_existing_user_only() {
    let target = user(Role::User);
    let id = target.id;
    let mut repo = MockUserRepository::new();
    repo.expect_find_by_id()
        .with(eq(id))
        .returning(move |_| Ok(Some(target.clone())));
    repo.expect_find_by_id().returning(|_| Ok(None));
    let mut lockouts = MockLockoutRepository::new();
    lockouts
        .expect_clear_all()
        .with(eq(id), mockall::predicate::always())
        .times(1)
        .returning(|_, _| Ok(()));
    let svc = service_with_lockouts(repo, lockouts);
    svc.unlock(&admin(), id).await.unwrap();
    assert!(matches!(
        svc.unlock(&admin(), crate::testing::fresh_id()).await,
        Err(Error::NotFound)
    ));
}

/// Events a mock repository was handed, in order.
type Seen = Arc<std::sync::Mutex<Vec<AuditEvent>>>;

#[tokio::test]
async fn each_administrative_change_hands_storage_its_event_naming_fields_never_values() {
    use crate::audit::ActorKind;
    use crate::testing::{MemLockouts, STRONG};

    let target = user(Role::User);
    let id = target.id;
    let seen: Seen = Arc::default();
    let mut repo = MockUserRepository::new();
    let (t, s) = (target.clone(), seen.clone());
    repo.expect_update().returning(move |_, _, audit| {
        s.lock().unwrap().push(audit.clone());
        Ok(t.clone())
    });
    let s = seen.clone();
    repo.expect_delete().returning(move |_, audit| {
        s.lock().unwrap().push(audit.clone());
        Ok(())
    });
    let s = seen.clone();
    repo.expect_insert().returning(move |_, audit| {
        s.lock().unwrap().push(audit.clone());
        Ok(())
    });
    let t = target.clone();
    repo.expect_find_by_id()
        .returning(move |_| Ok(Some(t.clone())));
    let lockouts = Arc::new(MemLockouts::default());
    let mut svc = service(repo);
    svc.ports.lockouts = lockouts.clone();
    let caller = admin();

    svc.update(
        &caller,
        id,
        UserUpdate {
            role: Some(Role::Service),
            display_name: Some(Some("Secret Agent Name".into())),
            ..UserUpdate::default()
        },
    )
    .await
    .unwrap();
    svc.delete(&caller, id).await.unwrap();
    let made = svc
        .create_user(
            &caller,
            NewAccount {
                email: "new@example.com".into(),
                password: secrecy::SecretString::from(STRONG),
                display_name: None,
            },
            Role::Admin,
        )
        .await
        .unwrap();
    svc.unlock(&caller, id).await.unwrap();

    let events = seen.lock().unwrap().clone();
    let kinds: Vec<AuditKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            AuditKind::UserUpdated,
            AuditKind::UserDeleted,
            AuditKind::UserCreated
        ]
    );
    for e in &events {
        assert_eq!(
            (e.actor_kind, e.actor_id),
            (ActorKind::User, caller.user().map(|u| u.id))
        );
    }
    assert_eq!(events[0].subject, Some(id));
    assert_eq!(
        events[0].details["fields"],
        serde_json::json!(["role", "display_name"])
    );
    let text = format!("{events:?}");
    assert!(
        !text.contains("Secret Agent Name") && !text.contains(STRONG),
        "{text}"
    );
    assert_eq!(events[1].subject, Some(id));
    assert_eq!(events[2].subject, Some(made.id));
    assert_eq!(events[2].details["role"], "admin");
    let unlocked = lockouts.events.lock().unwrap().clone();
    assert_eq!(unlocked.len(), 1);
    assert_eq!(unlocked[0].kind, AuditKind::UserUnlocked);
    assert_eq!(unlocked[0].subject, Some(id));
    // The operator is named as such.
    svc.delete(&Principal::operator(), id).await.unwrap();
    let last = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        (last.actor_kind, last.actor_id),
        (ActorKind::Operator, None)
    );
}
