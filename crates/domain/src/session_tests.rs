//! Tests of sessions: what a login records, listing and ending them (one, the others, an
//! admin's), and that an ended session's access tokens stop at once, however it ended (its
//! owner, an admin, `/auth/revoke`, a refresh-token reuse) or when it expires.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use secrecy::{ExposeSecret, SecretString};
use time::Duration;
use uuid::Uuid;

use crate::Error;
use crate::auth::AuthService;
use crate::origin::Origin;
use crate::ports::{MockTokenCodec, MockUserRepository};
use crate::principal::Principal;
use crate::session::{Owner, SessionState};
use crate::testing::{
    HandClock, MemRefreshTokens, NOW, STRONG, api_key, bearer, bearer_in, ip, policy, ports,
    stored_user, user_with_role,
};
use crate::token::{AccessClaims, IssuedTokens};
use crate::user::{Role, User};

struct Fixture {
    svc: AuthService,
    clock: Arc<HandClock>,
    store: Arc<MemRefreshTokens>,
    user: User,
}

/// A codec that remembers what it signed, so that a token verifies to its claims.
fn remembering_codec() -> MockTokenCodec {
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
    let ports = ports(
        users(&user, &user_with_role(Role::User), &store),
        remembering_codec(),
        clock.clone(),
        store.clone(),
    );
    let svc = AuthService::new(ports, policy(true)).await.unwrap();
    Fixture {
        svc,
        clock,
        store,
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
        .refresh(pair.refresh_token.expose_secret())
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
        f.svc.refresh(first.refresh_token.expose_secret()).await,
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
        .refresh(owner.refresh_token.expose_secret())
        .await
        .unwrap()
        .1;
    assert!(f.caller(&thief).await.is_ok());
    // The owner's own refresh is a reuse: the family is revoked...
    assert!(matches!(
        f.svc.refresh(owner.refresh_token.expose_secret()).await,
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
        .revoke_refresh_token(pair.refresh_token.expose_secret())
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
        .revoke_refresh_token(pair.refresh_token.expose_secret())
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
