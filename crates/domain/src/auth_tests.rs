//! Tests of the authentication rules against mocks of the ports.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use mockall::predicate::eq;
use secrecy::{ExposeSecret, SecretString};
use time::Duration;
use uuid::Uuid;

use super::*;
use crate::account::{AccountService, NewAccount};
use crate::lockout::{LockScope, LockState, LockoutPolicy};
use crate::ports::{MockPasswordHasher, MockTokenCodec, MockUserRepository};
use crate::principal::Credential;
use crate::session::SessionState;
use crate::testing::{
    HandClock, MemLockouts, MemRefreshTokens, NOW, STRONG, YieldingHasher, bearer, fake_hasher,
    fixed_clock, ip, policy, ports, stored_user, user_with_role,
};
use crate::token::{AccessClaims, TokenError};
use crate::user::{PasswordHash, Role};

#[path = "auth_lockout_tests.rs"]
mod lockout;

async fn service_with(
    users: MockUserRepository,
    hasher: MockPasswordHasher,
    tokens: MockTokenCodec,
    allow_registration: bool,
) -> AuthService {
    service_full(
        users,
        hasher,
        tokens,
        allow_registration,
        Arc::new(fixed_clock()),
        Arc::new(MemLockouts::default()),
    )
    .await
}

async fn service_full(
    users: MockUserRepository,
    hasher: MockPasswordHasher,
    tokens: MockTokenCodec,
    allow_registration: bool,
    clock: Arc<dyn Clock>,
    lockouts: Arc<dyn LockoutRepository>,
) -> AuthService {
    let mut ports = ports(users, tokens, clock, Arc::new(MemRefreshTokens::default()));
    ports.hasher = Arc::new(hasher);
    ports.lockouts = lockouts;
    AuthService::new(ports, policy(allow_registration))
        .await
        .unwrap()
}

fn account(email: &str, password: &str) -> NewAccount {
    NewAccount {
        email: email.into(),
        password: SecretString::from(password),
        display_name: None,
    }
}

#[tokio::test]
async fn register_stores_a_user_with_a_hash_not_the_password() {
    let inserted = Arc::new(Mutex::new(None));
    let seen = inserted.clone();
    let mut users = MockUserRepository::new();
    users.expect_insert().times(1).returning(move |u, audit| {
        *seen.lock().unwrap() = Some((u.clone(), audit.clone()));
        Ok(())
    });
    let svc = service_with(users, fake_hasher(), MockTokenCodec::new(), true).await;

    let user = AccountService::new(&svc)
        .register(account(" Bob@Example.com", STRONG), &ip(1).into())
        .await
        .unwrap();

    let (stored, audit) = inserted.lock().unwrap().clone().unwrap();
    assert_eq!(audit.kind, AuditKind::UserCreated);
    assert_eq!(audit.subject, Some(user.id));
    assert_eq!(audit.actor_kind, crate::audit::ActorKind::Anonymous);
    assert_eq!(audit.details["via"], "registration");
    assert_eq!(audit.details["role"], "user");
    assert_eq!(stored.id, user.id);
    assert_eq!(stored.email.as_str(), "Bob@Example.com");
    assert_eq!(stored.email.normalized(), "bob@example.com");
    assert_eq!(stored.role, Role::User);
    assert!(!stored.disabled);
    assert_eq!(stored.password_hash.expose(), format!("hash:{STRONG}"));
    assert_eq!(stored.created_at, NOW);
}

#[tokio::test]
async fn register_is_refused_when_disabled_without_touching_storage() {
    let svc = service_with(
        MockUserRepository::new(),
        fake_hasher(),
        MockTokenCodec::new(),
        false,
    )
    .await;
    let err = AccountService::new(&svc)
        .register(account("bob@example.com", STRONG), &ip(1).into())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RegistrationDisabled));
}

#[tokio::test]
async fn register_lists_every_reason_and_hashes_nothing() {
    let mut hasher = MockPasswordHasher::new();
    // Only the dummy hash at start-up.
    hasher
        .expect_hash()
        .times(1)
        .returning(|_| Ok(PasswordHash::new("dummy".into())));
    let svc = service_with(
        MockUserRepository::new(),
        hasher,
        MockTokenCodec::new(),
        true,
    )
    .await;
    let mut acc = account("not-an-email", "short");
    acc.display_name = Some("   ".into());
    let Error::Invalid(reasons) = AccountService::new(&svc)
        .register(acc, &ip(1).into())
        .await
        .unwrap_err()
    else {
        panic!("expected Invalid");
    };
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0].contains("not a valid email"));
    assert!(reasons[1].contains("display_name"));
    assert!(reasons[2].contains("at least 12 characters"));
}

#[tokio::test]
async fn register_refuses_a_password_built_from_the_email() {
    let svc = service_with(
        MockUserRepository::new(),
        fake_hasher(),
        MockTokenCodec::new(),
        true,
    )
    .await;
    let err = AccountService::new(&svc)
        .register(
            account("wonderland.alice.1987@example.com", "wonderland.alice.1987"),
            &ip(1).into(),
        )
        .await
        .unwrap_err();
    let Error::Invalid(reasons) = err else {
        panic!("expected Invalid, got {err:?}")
    };
    assert!(reasons[0].contains("too easy to guess"), "{reasons:?}");
}

#[tokio::test]
async fn register_reports_a_taken_email() {
    let mut users = MockUserRepository::new();
    users
        .expect_insert()
        .returning(|_, _| Err(Error::EmailTaken));
    let svc = service_with(users, fake_hasher(), MockTokenCodec::new(), true).await;
    let err = AccountService::new(&svc)
        .register(account("bob@example.com", STRONG), &ip(1).into())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EmailTaken));
}

#[tokio::test]
async fn login_with_the_right_password_signs_a_token_for_the_user() {
    let user = stored_user(STRONG);
    let id = user.id;
    let mut users = MockUserRepository::new();
    let found = user.clone();
    users
        .expect_find_by_email()
        .withf(|e| e.normalized() == "alice@example.com")
        .returning(move |_| Ok(Some(found.clone())));
    let mut tokens = MockTokenCodec::new();
    tokens
        .expect_sign()
        .withf(move |c| {
            c.subject == id
                && c.session_version == 3
                && c.issued_at == NOW
                && c.expires_at == NOW + Duration::seconds(900)
                && c.role == Role::User
        })
        .times(1)
        .returning(|_| Ok(SecretString::from("signed")));
    let svc = service_with(users, fake_hasher(), tokens, true).await;

    let (_, token) = svc
        .login("ALICE@example.com", SecretString::from(STRONG), ip(1))
        .await
        .unwrap();
    assert_eq!(token.access_token.expose_secret(), "signed");
    assert_eq!(token.expires_in, 900);
    assert!(token.refresh_token.expose_secret().starts_with("secret-"));
}

#[tokio::test]
async fn wrong_password_unknown_user_and_disabled_user_all_fail_alike() {
    let mut disabled = stored_user(STRONG);
    disabled.disabled = true;
    let cases: Vec<(&str, Option<User>, &str)> = vec![
        (
            "wrong password",
            Some(stored_user(STRONG)),
            "not the password 123",
        ),
        ("unknown user", None, STRONG),
        ("disabled user", Some(disabled), STRONG),
    ];
    for (name, found, password) in cases {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_email()
            .returning(move |_| Ok(found.clone()));
        let mut hasher = fake_hasher();
        // Exactly one verification per attempt, known user or not: the same cost.
        hasher.checkpoint();
        hasher
            .expect_hash()
            .returning(|p| Ok(PasswordHash::new(format!("hash:{}", p.expose_secret()))));
        hasher
            .expect_verify()
            .times(1)
            .returning(|p, h| Ok(h.expose() == format!("hash:{}", p.expose_secret())));
        let svc = service_with(users, hasher, MockTokenCodec::new(), true).await;
        let err = svc
            .login("alice@example.com", SecretString::from(password), ip(1))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidCredentials), "{name}: {err:?}");
    }
}

#[tokio::test]
async fn a_malformed_username_still_costs_one_verification() {
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_hash()
        .returning(|_| Ok(PasswordHash::new("dummy".into())));
    hasher
        .expect_verify()
        .withf(|_, h| h.expose() == "dummy")
        .times(1)
        .returning(|_, _| Ok(false));
    let mut users = MockUserRepository::new();
    users.expect_find_by_email().returning(|_| Ok(None));
    let svc = service_with(users, hasher, MockTokenCodec::new(), true).await;
    let err = svc
        .login("no at sign", SecretString::from(STRONG), ip(1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials));
}

/// A bearer check's case: its name, the stored user, the token's session version, the
/// session's state, and whether it passes.
type BearerCase = (&'static str, Option<User>, i64, Option<SessionState>, bool);

/// A session live until a day after [`NOW`].
fn live_session() -> SessionState {
    SessionState {
        ended: false,
        expires_at: NOW + Duration::days(1),
    }
}

fn claims_for(user: &User, session_version: i64) -> AccessClaims {
    AccessClaims {
        subject: user.id,
        role: user.role,
        issued_at: NOW,
        expires_at: NOW + Duration::seconds(900),
        session_version,
        token_id: crate::testing::fresh_id(),
        session_id: crate::testing::fresh_id(),
        second_factor: false,
    }
}

#[tokio::test]
async fn a_bearer_token_authenticates_only_a_live_user_of_the_same_session() {
    let user = stored_user(STRONG);
    let mut disabled = user.clone();
    disabled.disabled = true;
    let ended = SessionState {
        ended: true,
        ..live_session()
    };
    let expired = SessionState {
        expires_at: NOW,
        ..live_session()
    };
    let cases: Vec<BearerCase> = vec![
        (
            "live user",
            Some(user.clone()),
            3,
            Some(live_session()),
            true,
        ),
        ("deleted user", None, 3, Some(live_session()), false),
        (
            "disabled user",
            Some(disabled),
            3,
            Some(live_session()),
            false,
        ),
        (
            "sessions ended after issue",
            Some(user.clone()),
            2,
            Some(live_session()),
            false,
        ),
        ("no such session", Some(user.clone()), 3, None, false),
        ("session ended", Some(user.clone()), 3, Some(ended), false),
        (
            "session expired",
            Some(user.clone()),
            3,
            Some(expired),
            false,
        ),
    ];
    for (name, found, version, session, ok) in cases {
        let claims = claims_for(&user, version);
        let sid = claims.session_id;
        let mut tokens = MockTokenCodec::new();
        tokens
            .expect_verify()
            .with(eq("tok"))
            .returning(move |_| Ok(claims.clone()));
        let mut users = MockUserRepository::new();
        users
            .expect_find_in_session()
            .with(eq(user.id), eq(sid))
            .returning(move |_, _| Ok(found.clone().map(|u| (u, session))));
        let svc = service_with(users, fake_hasher(), tokens, true).await;
        let result = svc.authenticate_bearer("tok").await;
        if ok {
            let principal = result.unwrap();
            assert_eq!(principal.credential(), Credential::Bearer, "{name}");
            assert_eq!(principal.role(), Role::User, "{name}");
            assert_eq!(principal.user().unwrap().id, user.id, "{name}");
            assert_eq!(principal.session(), Some(sid), "{name}");
        } else {
            assert!(matches!(result, Err(Error::InvalidToken)), "{name}");
        }
    }
}

#[tokio::test]
async fn a_token_the_codec_refuses_never_reaches_storage() {
    for refusal in [
        TokenError::Malformed,
        TokenError::BadSignature,
        TokenError::WrongType,
        TokenError::Expired,
        TokenError::WrongIssuerOrAudience,
    ] {
        let mut tokens = MockTokenCodec::new();
        tokens
            .expect_verify()
            .returning(move |_| Err(refusal.clone()));
        let svc = service_with(MockUserRepository::new(), fake_hasher(), tokens, true).await;
        assert!(matches!(
            svc.authenticate_bearer("x").await,
            Err(Error::InvalidToken)
        ));
    }
}

#[tokio::test]
async fn change_password_checks_the_current_one_then_ends_sessions() {
    let user = stored_user(STRONG);
    let id = user.id;
    let new = "a different passphrase entirely 7";
    let mut users = MockUserRepository::new();
    let updated = user.clone();
    users
        .expect_update()
        .withf(move |uid, c, audit| {
            *uid == id
                && c.end_sessions
                && c.at == Some(NOW)
                && c.password_hash.as_ref().map(PasswordHash::expose)
                    == Some(&format!("hash:{new}"))
                && c.role.is_none()
                && c.disabled.is_none()
                && audit.kind == AuditKind::PasswordChanged
                && audit.outcome == crate::audit::Outcome::Success
                && audit.subject == Some(id)
                && !format!("{audit:?}").contains(new)
        })
        .times(1)
        .returning(move |_, _, _| Ok(updated.clone()));
    let svc =
        AccountService::new(&service_with(users, fake_hasher(), MockTokenCodec::new(), true).await);
    let caller = bearer(user.clone());

    let wrong = svc
        .change_password(
            &caller,
            SecretString::from("not it at all 99"),
            SecretString::from(new),
            ip(1),
        )
        .await;
    assert!(matches!(wrong, Err(Error::WrongPassword)));
    let weak = svc
        .change_password(
            &caller,
            SecretString::from(STRONG),
            SecretString::from("password1234"),
            ip(1),
        )
        .await;
    assert!(matches!(weak, Err(Error::Invalid(_))));
    svc.change_password(
        &caller,
        SecretString::from(STRONG),
        SecretString::from(new),
        ip(1),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn introspection_is_active_only_for_a_token_that_would_be_accepted() {
    let user = stored_user(STRONG);
    let good = claims_for(&user, 3);
    let stale = claims_for(&user, 2);
    let mut tokens = MockTokenCodec::new();
    tokens
        .expect_verify()
        .with(eq("good"))
        .returning(move |_| Ok(good.clone()));
    tokens
        .expect_verify()
        .with(eq("stale"))
        .returning(move |_| Ok(stale.clone()));
    tokens
        .expect_verify()
        .with(eq("forged"))
        .returning(|_| Err(TokenError::BadSignature));
    let mut users = MockUserRepository::new();
    let found = user.clone();
    users
        .expect_find_in_session()
        .returning(move |_, _| Ok(Some((found.clone(), Some(live_session())))));
    tokens
        .expect_issuer()
        .return_const("https://issuer.example");
    tokens.expect_audience().return_const("the-audience");
    let svc = service_with(users, fake_hasher(), tokens, true).await;
    let service = bearer(user_with_role(Role::Service));
    let seen = svc.introspect(&service, "good").await.unwrap().unwrap();
    assert_eq!(
        (seen.claims.subject, seen.user.id),
        (user.id, user.id),
        "the claims and the user as stored now"
    );
    assert_eq!(
        (seen.issuer.as_str(), seen.audience.as_str()),
        ("https://issuer.example", "the-audience"),
        "the codec's issuer and audience"
    );
    assert!(svc.introspect(&service, "stale").await.unwrap().is_none());
    assert!(svc.introspect(&service, "forged").await.unwrap().is_none());
}

async fn lockout_service(user: &User) -> (AuthService, Arc<HandClock>, Arc<MemLockouts>) {
    let mut users = MockUserRepository::new();
    let found = user.clone();
    users
        .expect_find_by_email()
        .returning(move |_| Ok(Some(found.clone())));
    let mut tokens = MockTokenCodec::new();
    tokens
        .expect_sign()
        .returning(|_| Ok(SecretString::from("t")));
    let clock = Arc::new(HandClock(Mutex::new(NOW)));
    let lockouts = Arc::new(MemLockouts::default());
    let svc = service_full(
        users,
        fake_hasher(),
        tokens,
        true,
        clock.clone(),
        lockouts.clone(),
    )
    .await;
    (svc, clock, lockouts)
}

async fn attempt(svc: &AuthService, password: &str, from: IpAddr) -> bool {
    svc.login("alice@example.com", SecretString::from(password), from)
        .await
        .is_ok()
}

#[tokio::test]
async fn five_failures_from_one_ip_lock_that_ip_only_and_the_lock_ends() {
    let user = stored_user(STRONG);
    let (svc, clock, _) = lockout_service(&user).await;
    for _ in 0..5 {
        assert!(!attempt(&svc, "wrong guess 1234", ip(1)).await);
    }
    // Locked: even the right password fails, exactly like a wrong one.
    let locked = svc
        .login("alice@example.com", SecretString::from(STRONG), ip(1))
        .await;
    assert!(matches!(locked, Err(Error::InvalidCredentials)));
    // An attacker elsewhere cannot lock the victim out.
    assert!(attempt(&svc, STRONG, ip(2)).await);
    *clock.0.lock().unwrap() = NOW + Duration::seconds(60);
    assert!(
        attempt(&svc, STRONG, ip(1)).await,
        "the lock ends after lockout.base_seconds"
    );
}

#[tokio::test]
async fn attempts_during_a_lock_are_not_counted_and_a_second_lock_doubles() {
    let user = stored_user(STRONG);
    let (svc, clock, lockouts) = lockout_service(&user).await;
    for _ in 0..5 {
        attempt(&svc, "wrong guess 1234", ip(1)).await;
    }
    let first = lockouts.get(user.id, &LockScope::Ip(ip(1))).await.unwrap();
    for _ in 0..10 {
        attempt(&svc, "wrong guess 1234", ip(1)).await;
    }
    assert_eq!(
        lockouts.get(user.id, &LockScope::Ip(ip(1))).await.unwrap(),
        first,
        "not counted"
    );
    *clock.0.lock().unwrap() = NOW + Duration::seconds(60);
    for _ in 0..5 {
        attempt(&svc, "wrong guess 1234", ip(1)).await;
    }
    let second = lockouts.get(user.id, &LockScope::Ip(ip(1))).await.unwrap();
    assert_eq!(second.locked_until, Some(NOW + Duration::seconds(60 + 120)));
}

#[tokio::test]
async fn a_success_resets_its_own_ip_and_the_account_count() {
    let user = stored_user(STRONG);
    let (svc, _, lockouts) = lockout_service(&user).await;
    for _ in 0..4 {
        attempt(&svc, "wrong guess 1234", ip(1)).await;
    }
    for _ in 0..3 {
        attempt(&svc, "wrong guess 1234", ip(2)).await;
    }
    assert!(attempt(&svc, STRONG, ip(1)).await);
    assert_eq!(
        lockouts.get(user.id, &LockScope::Ip(ip(1))).await.unwrap(),
        LockState::default()
    );
    assert_eq!(
        lockouts.get(user.id, &LockScope::Account).await.unwrap(),
        LockState::default()
    );
    // The other IP keeps its own count.
    assert_eq!(
        lockouts
            .get(user.id, &LockScope::Ip(ip(2)))
            .await
            .unwrap()
            .failures,
        3
    );
}

#[tokio::test]
async fn failures_from_many_ips_lock_the_account_itself() {
    let user = stored_user(STRONG);
    let (svc, _, _) = lockout_service(&user).await;
    // 100 failures from 25 IPs: none reaches its own limit of 5, together they lock the account.
    for n in 0..99 {
        attempt(&svc, "wrong guess 1234", ip(10 + n % 25)).await;
    }
    assert!(
        attempt(&svc, STRONG, ip(99)).await,
        "99 failures do not lock the account"
    );
    // The success cleared the account count (not the other IPs' counts): start again from
    // fresh IPs, since attempts during an IP's lock count for nothing.
    for n in 0..100 {
        attempt(&svc, "wrong guess 1234", ip(100 + n % 25)).await;
    }
    assert!(
        !attempt(&svc, STRONG, ip(99)).await,
        "the account is locked for every IP"
    );
}

#[tokio::test]
async fn logout_ends_every_session_and_changes_nothing_else() {
    let user = stored_user(STRONG);
    let id = user.id;
    let mut users = MockUserRepository::new();
    let updated = user.clone();
    users
        .expect_update()
        .withf(move |uid, c, audit| {
            *uid == id
                && c.end_sessions
                && c.at == Some(NOW)
                && c.password_hash.is_none()
                && c.role.is_none()
                && c.disabled.is_none()
                && c.display_name.is_none()
                && audit.kind == AuditKind::Logout
                && audit.subject == Some(id)
                && audit.actor_id == Some(id)
        })
        .times(1)
        .returning(move |_, _, _| Ok(updated.clone()));
    let svc = service_with(users, fake_hasher(), MockTokenCodec::new(), true).await;
    svc.logout(&bearer(user)).await.unwrap();
}

#[tokio::test]
async fn the_ports_show_no_adapter_in_debug_output() {
    let svc = service_with(
        MockUserRepository::new(),
        fake_hasher(),
        MockTokenCodec::new(),
        true,
    )
    .await;
    assert_eq!(format!("{:?}", svc.ports()), "Ports { .. }");
}

#[tokio::test]
async fn a_refusal_that_cannot_be_recorded_is_still_the_same_refusal() {
    let user = stored_user(STRONG);
    let mut users = MockUserRepository::new();
    let found = user.clone();
    users
        .expect_find_by_email()
        .returning(move |_| Ok(Some(found.clone())));
    let mut ports = ports(
        users,
        MockTokenCodec::new(),
        Arc::new(fixed_clock()),
        Arc::new(MemRefreshTokens::default()),
    );
    let mut audit = crate::ports::MockAuditLog::new();
    audit
        .expect_record()
        .times(2)
        .returning(|_| Err(Error::Unavailable("audit store away".into())));
    ports.audit = Arc::new(audit);
    let svc = AuthService::new(ports, policy(true)).await.unwrap();
    let wrong = svc
        .login(
            "alice@example.com",
            SecretString::from("wrong one 12"),
            ip(1),
        )
        .await;
    assert!(matches!(wrong, Err(Error::InvalidCredentials)));
    let change = AccountService::new(&svc)
        .change_password(
            &bearer(user),
            SecretString::from("wrong one 12"),
            SecretString::from("a brand new passphrase 77"),
            ip(1),
        )
        .await;
    assert!(matches!(change, Err(Error::WrongPassword)));
}

#[tokio::test]
async fn the_guard_shows_nothing_of_its_dummy_hash() {
    let svc = service_with(
        MockUserRepository::new(),
        fake_hasher(),
        MockTokenCodec::new(),
        false,
    )
    .await;
    assert_eq!(format!("{:?}", svc.guard), "Guard { .. }");
}
