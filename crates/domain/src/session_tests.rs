//! Tests of sessions: what a login records, listing and ending them (one, the others, an
//! admin's), and that an ended session's access tokens stop at once, however it ended (its
//! owner, an admin, `/auth/revoke`, a refresh-token reuse) or when it expires.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use secrecy::{ExposeSecret, SecretString};
use time::Duration;
use uuid::Uuid;

use crate::Error;
use crate::audit::{ActorKind, AuditKind, Outcome};
use crate::auth::AuthService;
use crate::origin::Origin;
use crate::ports::{MockTokenCodec, MockUserRepository};
use crate::principal::Principal;
use crate::session::{Owner, SessionState};
use crate::testing::{
    HandClock, MemAudit, MemRefreshTokens, NOW, STRONG, api_key, bearer, bearer_in, ip, policy,
    ports, stored_user, user_with_role,
};
use crate::token::{AccessClaims, IssuedTokens};
use crate::user::{Role, User};

struct Fixture {
    svc: AuthService,
    clock: Arc<HandClock>,
    store: Arc<MemRefreshTokens>,
    /// Events recorded on their own (failed logins).
    audit: Arc<MemAudit>,
    user: User,
}

/// A codec that remembers what it signed, so that a token verifies to its claims.
pub(crate) fn remembering_codec() -> MockTokenCodec {
    let signed: Arc<Mutex<HashMap<String, AccessClaims>>> = Arc::default();
    let mut tokens = MockTokenCodec::new();
    let on_sign = signed.clone();
    tokens.expect_sign().returning(move |c| {
        let token = format!("at:{}", c.token_id);
        on_sign.lock().unwrap().insert(token.clone(), c.clone());
        Ok(SecretString::from(token))
    });
    tokens.expect_verify().returning(move |t| {
        signed
            .lock()
            .unwrap()
            .get(t)
            .cloned()
            .ok_or(crate::token::TokenError::BadSignature)
    });
    tokens.expect_issuer().return_const("warden");
    tokens.expect_audience().return_const("warden");
    tokens
}

/// Users as storage holds them: `user` (and `other`), each joined with its session of the
/// asked id the way the bearer check's query joins them.
fn users(user: &User, other: &User, store: &Arc<MemRefreshTokens>) -> MockUserRepository {
    let known = [user.clone(), other.clone()];
    let mut users = MockUserRepository::new();
    let by_email = user.clone();
    users
        .expect_find_by_email()
        .returning(move |_| Ok(Some(by_email.clone())));
    let by_id = known.clone();
    users
        .expect_find_by_id()
        .returning(move |id| Ok(by_id.iter().find(|u| u.id == id).cloned()));
    let store = store.clone();
    users.expect_find_in_session().returning(move |id, sid| {
        let Some(user) = known.iter().find(|u| u.id == id).cloned() else {
            return Ok(None);
        };
        let session = store
            .rows()
            .into_iter()
            .find(|t| t.id == sid && t.user_id == id && t.parent_id.is_none())
            .map(|t| SessionState {
                ended: t.revoked_at.is_some(),
                expires_at: t.expires_at,
            });
        Ok(Some((user, session)))
    });
    users
}

async fn fixture() -> Fixture {
    let user = stored_user(STRONG);
    let clock = Arc::new(HandClock(Mutex::new(NOW)));
    let store = Arc::new(MemRefreshTokens::default());
    let mut ports = ports(
        users(&user, &user_with_role(Role::User), &store),
        remembering_codec(),
        clock.clone(),
        store.clone(),
    );
    let audit = Arc::new(MemAudit::default());
    ports.audit = audit.clone();
    let svc = AuthService::new(ports, policy(true)).await.unwrap();
    Fixture {
        svc,
        clock,
        store,
        audit,
        user,
    }
}

impl Fixture {
    async fn login_with(&self, user_agent: Option<&str>) -> IssuedTokens {
        let origin = Origin::new(ip(7), user_agent);
        self.svc
            .login("alice@example.com", SecretString::from(STRONG), origin)
            .await
            .unwrap()
            .1
    }

    async fn login(&self) -> IssuedTokens {
        self.login_with(Some("test-agent/1.0")).await
    }

    async fn caller(&self, pair: &IssuedTokens) -> Result<Principal, Error> {
        self.svc
            .authenticate_bearer(pair.access_token.expose_secret())
            .await
    }

    async fn session_of(&self, pair: &IssuedTokens) -> Uuid {
        self.caller(pair).await.unwrap().session().unwrap()
    }

    /// The kinds of the events written with the sessions' changes, in order.
    fn kinds(&self) -> Vec<AuditKind> {
        self.store.events().iter().map(|e| e.kind).collect()
    }

    fn advance(&self, by: Duration) {
        *self.clock.0.lock().unwrap() += by;
    }
}

#[tokio::test]
async fn a_login_starts_a_session_that_records_its_origin_and_its_refreshes() {
    let f = fixture().await;
    let pair = f.login().await;
    let caller = f.caller(&pair).await.unwrap();
    let sid = caller.session().unwrap();
    assert_eq!(f.store.rows()[0].family_id, sid);
    assert_eq!(
        f.store.origin(sid),
        Some(Origin::new(ip(7), Some("test-agent/1.0")))
    );

    let listed = f.svc.sessions(&caller, Owner::Caller).await.unwrap();
    assert_eq!(listed.len(), 1);
    let s = &listed[0];
    assert_eq!(s.id, sid);
    assert_eq!(s.created_at, NOW);
    assert_eq!(s.last_used_at, None);
    assert_eq!(s.expires_at, NOW + Duration::days(30));
    assert_eq!(s.client_ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(s.user_agent.as_deref(), Some("test-agent/1.0"));

    f.advance(Duration::minutes(5));
    let next = f
        .svc
        .refresh(pair.refresh_token.expose_secret(), &ip(1).into())
        .await
        .unwrap()
        .1;
    // The refreshed pair is of the same session.
    assert_eq!(f.session_of(&next).await, sid);
    let listed = f.svc.sessions(&caller, Owner::Caller).await.unwrap();
    assert_eq!(listed[0].last_used_at, Some(NOW + Duration::minutes(5)));
}

#[tokio::test]
async fn ending_a_session_stops_its_access_and_refresh_tokens_at_once_and_no_other() {
    let f = fixture().await;
    let first = f.login().await;
    let second = f.login_with(None).await;
    let caller = f.caller(&second).await.unwrap();
    let doomed = f.session_of(&first).await;

    f.svc
        .end_session(&caller, Owner::Caller, doomed)
        .await
        .unwrap();

    assert!(matches!(f.caller(&first).await, Err(Error::InvalidToken)));
    assert!(matches!(
        f.svc
            .refresh(first.refresh_token.expose_secret(), &ip(1).into())
            .await,
        Err(Error::InvalidRefreshToken)
    ));
    assert!(f.caller(&second).await.is_ok());
    let left = f.svc.sessions(&caller, Owner::Caller).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(Some(left[0].id), caller.session());
    // Once ended it is gone: ending it again is the 404 of an unknown id.
    assert!(matches!(
        f.svc.end_session(&caller, Owner::Caller, doomed).await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn a_session_id_that_is_not_the_callers_is_not_found_and_changes_nothing() {
    let f = fixture().await;
    let pair = f.login().await;
    let sid = f.session_of(&pair).await;
    let before = f.store.rows();

    // Another user asking to end Alice's session, and Alice naming an id she has not.
    let stranger = bearer(user_with_role(Role::User));
    let alice = f.caller(&pair).await.unwrap();
    for (caller, id) in [(&stranger, sid), (&alice, Uuid::from_u128(42))] {
        assert!(matches!(
            f.svc.end_session(caller, Owner::Caller, id).await,
            Err(Error::NotFound)
        ));
    }
    assert_eq!(f.store.rows(), before);
    assert!(f.caller(&pair).await.is_ok());
    assert!(
        f.svc
            .sessions(&stranger, Owner::Caller)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn ending_the_others_keeps_the_current_session_only() {
    let f = fixture().await;
    let pairs = [f.login().await, f.login().await, f.login().await];
    let current = f.caller(&pairs[1]).await.unwrap();

    assert_eq!(f.svc.end_other_sessions(&current).await.unwrap(), 2);

    assert!(f.caller(&pairs[0]).await.is_err());
    assert!(f.caller(&pairs[1]).await.is_ok());
    assert!(f.caller(&pairs[2]).await.is_err());
    assert_eq!(f.svc.end_other_sessions(&current).await.unwrap(), 0);
}

#[tokio::test]
async fn an_api_key_has_no_session_so_ending_the_others_ends_them_all() {
    let f = fixture().await;
    let pairs = [f.login().await, f.login().await];
    let key = api_key(f.user.clone());
    assert_eq!(key.session(), None);

    assert_eq!(f.svc.end_other_sessions(&key).await.unwrap(), 2);
    for pair in &pairs {
        assert!(f.caller(pair).await.is_err());
    }
}

#[tokio::test]
async fn the_operator_has_no_sessions_of_its_own() {
    let f = fixture().await;
    let operator = Principal::operator();
    assert!(matches!(
        f.svc.sessions(&operator, Owner::Caller).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        f.svc.end_other_sessions(&operator).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        f.svc
            .end_session(&operator, Owner::Caller, Uuid::from_u128(1))
            .await,
        Err(Error::Forbidden)
    ));
}

#[tokio::test]
async fn only_a_user_manager_sees_and_ends_another_users_sessions() {
    let f = fixture().await;
    let pair = f.login().await;
    let sid = f.session_of(&pair).await;
    let target = Owner::User(f.user.id);

    for role in [Role::User, Role::Service] {
        let caller = bearer(user_with_role(role));
        assert!(matches!(
            f.svc.sessions(&caller, target).await,
            Err(Error::Forbidden)
        ));
        assert!(matches!(
            f.svc.end_session(&caller, target, sid).await,
            Err(Error::Forbidden)
        ));
    }
    assert!(f.caller(&pair).await.is_ok());

    let admin = bearer_in(user_with_role(Role::Admin), Uuid::from_u128(9));
    let listed = f.svc.sessions(&admin, target).await.unwrap();
    assert_eq!(listed.iter().map(|s| s.id).collect::<Vec<_>>(), [sid]);
    assert!(matches!(
        f.svc
            .sessions(&admin, Owner::User(Uuid::from_u128(77)))
            .await,
        Err(Error::NotFound)
    ));
    f.svc.end_session(&admin, target, sid).await.unwrap();
    assert!(f.caller(&pair).await.is_err());

    // The operator may too.
    let again = f.login().await;
    let sid = f.session_of(&again).await;
    f.svc
        .end_session(&Principal::operator(), target, sid)
        .await
        .unwrap();
    assert!(f.caller(&again).await.is_err());
}

#[tokio::test]
async fn a_stolen_refresh_token_used_first_by_the_thief_loses_the_thief_its_access_token() {
    let f = fixture().await;
    let owner = f.login().await;
    // The thief refreshes first with the stolen token, and gets a working pair.
    let thief = f
        .svc
        .refresh(owner.refresh_token.expose_secret(), &ip(1).into())
        .await
        .unwrap()
        .1;
    assert!(f.caller(&thief).await.is_ok());
    // The owner's own refresh is a reuse: the family is revoked...
    assert!(matches!(
        f.svc
            .refresh(owner.refresh_token.expose_secret(), &ip(1).into())
            .await,
        Err(Error::InvalidRefreshToken)
    ));
    // ...and the thief's access token is refused on its next request, long before it expires.
    assert!(matches!(f.caller(&thief).await, Err(Error::InvalidToken)));
    assert!(matches!(f.caller(&owner).await, Err(Error::InvalidToken)));
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_sessions_access_tokens() {
    let f = fixture().await;
    let pair = f.login().await;
    let other = f.login().await;
    f.svc
        .revoke_refresh_token(pair.refresh_token.expose_secret(), &ip(1).into())
        .await
        .unwrap();
    assert!(matches!(f.caller(&pair).await, Err(Error::InvalidToken)));
    assert!(f.caller(&other).await.is_ok());
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_end_to_the_second() {
    let f = fixture().await;
    let pair = f.login().await;
    f.advance(Duration::days(30) - Duration::seconds(1));
    assert!(f.caller(&pair).await.is_ok());
    f.advance(Duration::seconds(1));
    assert!(matches!(f.caller(&pair).await, Err(Error::InvalidToken)));
}

#[tokio::test]
async fn introspection_answers_inactive_for_a_token_of_an_ended_session() {
    let f = fixture().await;
    let pair = f.login().await;
    let admin = bearer(user_with_role(Role::Admin));
    let token = pair.access_token.expose_secret().to_owned();
    let seen = f.svc.introspect(&admin, &token).await.unwrap().unwrap();
    assert_eq!(seen.claims.session_id, f.session_of(&pair).await);
    f.svc
        .revoke_refresh_token(pair.refresh_token.expose_secret(), &ip(1).into())
        .await
        .unwrap();
    assert!(f.svc.introspect(&admin, &token).await.unwrap().is_none());
}

#[test]
fn a_session_state_is_live_only_unended_and_before_its_end() {
    let state = |ended| SessionState {
        ended,
        expires_at: NOW,
    };
    assert!(state(false).live_at(NOW - Duration::seconds(1)));
    assert!(!state(false).live_at(NOW));
    assert!(!state(true).live_at(NOW - Duration::seconds(1)));
}

#[tokio::test]
async fn a_login_records_its_success_with_the_session_and_where_it_came_from() {
    let f = fixture().await;
    let pair = f.login().await;
    let sid = f.session_of(&pair).await;
    let events = f.store.events();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.kind, AuditKind::LoginSucceeded);
    assert_eq!(
        (e.actor_kind, e.actor_id),
        (ActorKind::User, Some(f.user.id))
    );
    assert_eq!(e.subject, Some(f.user.id));
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(e.ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(e.user_agent.as_deref(), Some("test-agent/1.0"));
    assert_eq!(e.details["session_id"], sid.to_string());
    assert_eq!(e.at, NOW);
    assert!(f.audit.events().is_empty(), "nothing recorded on its own");
}

#[tokio::test]
async fn failed_and_locked_logins_are_recorded_without_the_username_or_password() {
    let f = fixture().await;
    let origin = Origin::new(ip(9), Some("guesser"));
    for _ in 0..5 {
        let wrong = f
            .svc
            .login(
                "alice@example.com",
                SecretString::from("wrong guess 1"),
                origin.clone(),
            )
            .await;
        assert!(matches!(wrong, Err(Error::InvalidCredentials)));
    }
    // The sixth from the same IP meets the lock.
    let locked = f
        .svc
        .login("alice@example.com", SecretString::from(STRONG), origin)
        .await;
    assert!(matches!(locked, Err(Error::InvalidCredentials)));
    let events = f.audit.events();
    let kinds: Vec<AuditKind> = events.iter().map(|e| e.kind).collect();
    let mut expected = vec![AuditKind::LoginFailed; 5];
    expected.push(AuditKind::LoginLocked);
    assert_eq!(kinds, expected);
    for e in &events {
        assert_eq!(e.subject, Some(f.user.id));
        assert_eq!((e.actor_kind, e.actor_id), (ActorKind::Anonymous, None));
        assert_eq!(e.outcome, Outcome::Failure);
        assert_eq!(e.ip.as_deref(), Some("192.0.2.9"));
        assert_eq!(e.user_agent.as_deref(), Some("guesser"));
    }
    assert_eq!(events[0].details["reason"], "wrong_password");
    assert_eq!(events[5].details["reason"], "locked");
    let text = format!("{events:?}");
    for secret in ["wrong guess 1", STRONG, "alice@example.com"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(f.store.events().is_empty(), "no session started");
}

#[tokio::test]
async fn ending_sessions_records_who_ended_which_only_when_one_ended() {
    let f = fixture().await;
    let first = f.login().await;
    let second = f.login().await;
    let third = f.login().await;
    let caller = f.caller(&third).await.unwrap();
    let doomed = f.session_of(&first).await;
    f.svc
        .end_session(&caller, Owner::Caller, doomed)
        .await
        .unwrap();
    // Refused ends record nothing.
    let _ = f.svc.end_session(&caller, Owner::Caller, doomed).await;
    let _ = f
        .svc
        .end_session(&caller, Owner::Caller, Uuid::from_u128(5))
        .await;
    let events = f.store.events();
    assert_eq!(events.len(), 4, "three logins and one end");
    let ended = &events[3];
    assert_eq!(ended.kind, AuditKind::SessionEnded);
    assert_eq!(ended.details["session_id"], doomed.to_string());
    assert_eq!(ended.details["by"], "owner");
    assert_eq!(
        (ended.actor_kind, ended.actor_id),
        (ActorKind::User, Some(f.user.id))
    );
    assert_eq!(ended.subject, Some(f.user.id));

    let admin = bearer(user_with_role(Role::Admin));
    let sid = f.session_of(&second).await;
    f.svc
        .end_session(&admin, Owner::User(f.user.id), sid)
        .await
        .unwrap();
    let by_admin = f.store.events().pop().unwrap();
    assert_eq!(by_admin.details["by"], "admin");
    assert_eq!(by_admin.actor_id, admin.user().map(|u| u.id));

    // The others: one event for the lot, naming the session kept; none when none ended.
    f.login().await;
    f.svc.end_other_sessions(&caller).await.unwrap();
    let others = f.store.events().pop().unwrap();
    assert_eq!(others.kind, AuditKind::SessionEnded);
    assert_eq!(others.details["others"], true);
    assert_eq!(
        others.details["kept"],
        caller.session().unwrap().to_string()
    );
    let before = f.store.events().len();
    f.svc.end_other_sessions(&caller).await.unwrap();
    assert_eq!(f.store.events().len(), before);
}

#[tokio::test]
async fn a_reuse_and_a_revocation_are_recorded_with_their_session() {
    let f = fixture().await;
    let pair = f.login().await;
    let sid = f.session_of(&pair).await;
    f.svc
        .refresh(pair.refresh_token.expose_secret(), &ip(1).into())
        .await
        .unwrap();
    let thief = Origin::new(ip(66), Some("stolen/1"));
    let _ = f
        .svc
        .refresh(pair.refresh_token.expose_secret(), &thief)
        .await;
    let reuse = f.store.events().pop().unwrap();
    assert_eq!(
        reuse.ip.as_deref(),
        Some("192.0.2.66"),
        "where the reuse came from"
    );
    assert_eq!(reuse.user_agent.as_deref(), Some("stolen/1"));
    // Presented yet again: the session is over already, so nothing new is recorded.
    let recorded = f.store.events().len();
    let again = f
        .svc
        .refresh(pair.refresh_token.expose_secret(), &thief)
        .await;
    assert!(matches!(again, Err(Error::InvalidRefreshToken)));
    assert_eq!(f.store.events().len(), recorded);
    assert_eq!(reuse.kind, AuditKind::RefreshReuseDetected);
    assert_eq!(reuse.outcome, Outcome::Failure);
    assert_eq!(reuse.subject, Some(f.user.id));
    assert_eq!(reuse.details["session_id"], sid.to_string());

    let other = f.login().await;
    let other_sid = f.session_of(&other).await;
    f.svc
        .revoke_refresh_token(other.refresh_token.expose_secret(), &ip(1).into())
        .await
        .unwrap();
    let revoked = f.store.events().pop().unwrap();
    assert_eq!(revoked.kind, AuditKind::SessionEnded);
    assert_eq!(revoked.details["by"], "revocation");
    assert_eq!(
        revoked.ip.as_deref(),
        Some("192.0.2.1"),
        "where the revocation came from"
    );
    assert_eq!(revoked.details["session_id"], other_sid.to_string());
    // An unknown or already revoked token records nothing.
    let count = f.store.events().len();
    for token in ["made-up", other.refresh_token.expose_secret()] {
        f.svc
            .revoke_refresh_token(token, &ip(1).into())
            .await
            .unwrap();
    }
    assert_eq!(f.store.events().len(), count);
    assert_eq!(
        f.kinds(),
        [
            AuditKind::LoginSucceeded,
            AuditKind::RefreshReuseDetected,
            AuditKind::LoginSucceeded,
            AuditKind::SessionEnded
        ]
    );
}

#[tokio::test]
async fn a_refresh_stores_a_new_row_of_the_same_session_and_the_purge_counts_what_went() {
    let f = fixture().await;
    let pair = f.login().await;
    f.advance(Duration::minutes(1));
    f.svc
        .refresh(pair.refresh_token.expose_secret(), &ip(1).into())
        .await
        .unwrap();
    let rows = f.store.rows();
    let (parent, child) = (&rows[0], &rows[1]);
    assert_ne!(child.id, parent.id);
    assert_eq!(child.parent_id, Some(parent.id));
    assert_eq!(
        (child.family_id, child.user_id, child.session_version),
        (parent.family_id, parent.user_id, parent.session_version)
    );
    assert_eq!(
        child.expires_at, parent.expires_at,
        "the family's end stays"
    );
    assert_eq!(child.issued_at, NOW + Duration::minutes(1));
    assert_eq!((child.rotated_at, child.revoked_at), (None, None));

    let other = f.login().await;
    f.svc
        .revoke_refresh_token(other.refresh_token.expose_secret(), &ip(1).into())
        .await
        .unwrap();
    assert_eq!(f.svc.purge_refresh_tokens().await.unwrap(), 1);
    assert_eq!(f.svc.purge_refresh_tokens().await.unwrap(), 0);
    assert_eq!(f.store.rows().len(), 2);
}
