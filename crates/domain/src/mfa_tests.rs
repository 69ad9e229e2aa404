//! Tests of the second factor: enrolment and its confirmation, the login's challenge, skew and
//! replay at the edges, recovery codes, the lockout on wrong codes, removal and reset, the
//! admins' policy, and the audit events of each.

use std::sync::{Arc, Mutex};

use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};

use super::*;
use crate::audit::{ActorKind, AuditKind, Outcome};
use crate::origin::Origin;
use crate::ports::{MfaRepository, MockUserRepository};
use crate::session::SessionState;
use crate::session::tests::remembering_codec;
use crate::testing::{
    HandClock, MemAudit, MemMfa, MemRefreshTokens, NOW, STRONG, api_key, bearer, code_at, ip,
    policy, ports, stored_user, user_with_role,
};
use crate::user::Role;

struct Fixture {
    auth: AuthService,
    mfa: MfaService,
    admin: crate::admin::AdminService,
    clock: Arc<HandClock>,
    store: Arc<MemMfa>,
    audit: Arc<MemAudit>,
    user: User,
}

/// Storage of `user`, whose second factor is on while the store says so (what the
/// confirmation's transaction writes on the user's row).
fn users(user: &User, store: &Arc<MemMfa>) -> MockUserRepository {
    let current = {
        let (user, store) = (user.clone(), store.clone());
        move || {
            let mut u = user.clone();
            u.mfa_enabled_at = store.enabled.lock().unwrap().contains(&u.id).then_some(NOW);
            u
        }
    };
    let mut users = MockUserRepository::new();
    let by_email = current.clone();
    users
        .expect_find_by_email()
        .returning(move |_| Ok(Some(by_email())));
    let by_id = current.clone();
    users.expect_find_by_id().returning(move |id| {
        let u = by_id();
        Ok((u.id == id).then_some(u))
    });
    // Every session live: what is tested here is the user's factor, not its sessions.
    users.expect_find_in_session().returning(move |id, _| {
        let u = current();
        let live = SessionState {
            ended: false,
            expires_at: NOW + Duration::days(1),
        };
        Ok((u.id == id).then_some((u, Some(live))))
    });
    users
}

async fn fixture_with(mfa_policy: MfaPolicy, max_failures: u32) -> Fixture {
    let user = stored_user(STRONG);
    let clock = Arc::new(HandClock(Mutex::new(NOW)));
    let store = Arc::new(MemMfa::default());
    let mut ports = ports(
        users(&user, &store),
        remembering_codec(),
        clock.clone(),
        Arc::new(MemRefreshTokens::default()),
    );
    let audit = Arc::new(MemAudit::default());
    ports.audit = audit.clone();
    ports.mfa = store.clone();
    let mut policy = policy(true);
    policy.mfa = mfa_policy;
    policy.lockout.max_failures = max_failures;
    let admin = crate::admin::AdminService::new(ports.clone(), policy.password.clone());
    let auth = AuthService::new(ports, policy).await.unwrap();
    Fixture {
        mfa: MfaService::new(&auth),
        auth,
        admin,
        clock,
        store,
        audit,
        user,
    }
}

/// A fixture whose lockout lets many attempts through (the lockout's own tests lower it).
async fn fixture() -> Fixture {
    fixture_with(MfaPolicy::default(), 50).await
}

/// A fixture with the default lockout: 5 attempts from one IP.
async fn strict() -> Fixture {
    fixture_with(MfaPolicy::default(), 5).await
}

fn pw(text: &str) -> SecretString {
    SecretString::from(text)
}

fn origin() -> Origin {
    Origin::new(ip(7), Some("test-agent"))
}

impl Fixture {
    /// The caller, as a bearer token of the user with its factor as stored now.
    fn me(&self) -> Principal {
        let mut user = self.user.clone();
        user.mfa_enabled_at = self
            .store
            .enabled
            .lock()
            .unwrap()
            .contains(&user.id)
            .then_some(NOW);
        bearer(user).calling_from(origin())
    }

    fn now_step(&self) -> i64 {
        step_at(*self.clock.0.lock().unwrap())
    }

    fn advance(&self, by: Duration) {
        *self.clock.0.lock().unwrap() += by;
    }

    /// Enrols and confirms with the code of the current step; the recovery codes.
    async fn enrolled(&self) -> Vec<String> {
        self.mfa.enrol(&self.me(), pw(STRONG)).await.unwrap();
        let codes = self
            .mfa
            .confirm(&self.me(), &code_at(self.now_step()))
            .await
            .unwrap();
        codes
            .0
            .iter()
            .map(|c| c.expose_secret().to_owned())
            .collect()
    }

    /// A right password of the account: its challenge's `mfa_token`.
    async fn challenge(&self) -> String {
        match self
            .auth
            .login("alice@example.com", pw(STRONG), origin())
            .await
        {
            Err(Error::MfaRequired(token)) => token.expose_secret().to_owned(),
            other => panic!("expected a challenge, got {other:?}"),
        }
    }

    async fn finish(&self, proof: Proof) -> Result<(User, crate::token::IssuedTokens), Error> {
        let token = self.challenge().await;
        self.auth.complete_login(&token, proof, &origin()).await
    }

    /// The kinds of every event: written with changes, and recorded on their own.
    fn kinds(&self) -> Vec<&'static str> {
        let mut kinds = self.store.event_kinds();
        kinds.extend(self.audit.events().iter().map(|e| e.kind.as_str()));
        kinds
    }

    fn failures(&self) -> usize {
        self.audit
            .events()
            .iter()
            .filter(|e| e.kind == AuditKind::MfaFailed && e.outcome == Outcome::Failure)
            .count()
    }
}

fn otp(step: i64) -> Proof {
    Proof::Otp(code_at(step))
}

#[tokio::test]
async fn an_enrolment_is_pending_until_confirmed_and_confirmed_once() {
    let f = fixture().await;
    let provisioning = f.mfa.enrol(&f.me(), pw(STRONG)).await.unwrap();
    assert!(
        provisioning
            .uri
            .expose_secret()
            .starts_with("otpauth://totp/")
    );
    assert_eq!(format!("{provisioning:?}"), "Provisioning([redacted])");
    let factor = f.store.factor(f.user.id).await.unwrap().unwrap();
    assert_eq!(factor.confirmed_at, None);
    assert!(f.kinds().is_empty(), "a pending enrolment records nothing");
    // Not active yet: a login needs the password only.
    assert!(
        f.auth
            .login("alice@example.com", pw(STRONG), origin())
            .await
            .is_ok()
    );

    let step = f.now_step();
    let codes = f.mfa.confirm(&f.me(), &code_at(step)).await.unwrap();
    assert_eq!(codes.0.len(), RECOVERY_CODES);
    assert_eq!(format!("{codes:?}"), "RecoveryCodes(10 [redacted])");
    let factor = f.store.factor(f.user.id).await.unwrap().unwrap();
    assert_eq!(factor.last_step, step, "the confirming code is spent");
    assert_eq!(f.store.codes.lock().unwrap().len(), RECOVERY_CODES);
    assert_eq!(f.kinds(), ["mfa.enrolled"]);
    let event = f.store.events.lock().unwrap()[0].clone();
    assert_eq!(
        (event.actor_kind, event.subject),
        (ActorKind::User, Some(f.user.id))
    );

    assert!(matches!(
        f.mfa.confirm(&f.me(), &code_at(step + 1)).await,
        Err(Error::MfaActive)
    ));
    assert!(matches!(
        f.mfa.enrol(&f.me(), pw(STRONG)).await,
        Err(Error::MfaActive)
    ));
}

#[tokio::test]
async fn a_second_enrolment_replaces_a_pending_one() {
    let f = fixture().await;
    f.mfa.enrol(&f.me(), pw(STRONG)).await.unwrap();
    f.mfa.enrol(&f.me(), pw(STRONG)).await.unwrap();
    assert_eq!(f.store.factors.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn enrolment_takes_the_owner_in_person_with_its_password() {
    let f = fixture().await;
    let err = f.mfa.enrol(&f.me(), pw("wrong")).await.unwrap_err();
    assert!(matches!(err, Error::WrongPassword));
    assert_eq!(f.failures(), 1);
    assert!(f.store.factors.lock().unwrap().is_empty());
    for caller in [api_key(f.user.clone()), Principal::operator()] {
        assert!(matches!(
            f.mfa.enrol(&caller, pw(STRONG)).await,
            Err(Error::Forbidden)
        ));
        assert!(matches!(
            f.mfa.confirm(&caller, "123456").await,
            Err(Error::Forbidden)
        ));
    }
    assert!(matches!(
        f.mfa.confirm(&f.me(), "123456").await,
        Err(Error::NotFound)
    ));
    let off = fixture_with(
        MfaPolicy {
            enabled: false,
            ..MfaPolicy::default()
        },
        5,
    )
    .await;
    assert!(matches!(
        off.mfa.enrol(&off.me(), pw(STRONG)).await,
        Err(Error::MfaDisabled)
    ));
    assert!(matches!(
        off.mfa.confirm(&off.me(), "123456").await,
        Err(Error::MfaDisabled)
    ));
}

#[tokio::test]
async fn a_wrong_code_does_not_confirm() {
    let f = fixture().await;
    f.mfa.enrol(&f.me(), pw(STRONG)).await.unwrap();
    let step = f.now_step();
    for wrong in [
        code_at(step + 2),
        code_at(step - 2),
        "12345".into(),
        "abcdef".into(),
    ] {
        assert!(matches!(
            f.mfa.confirm(&f.me(), &wrong).await,
            Err(Error::InvalidCode)
        ));
    }
    assert_eq!(f.failures(), 4);
    assert!(f.store.enabled.lock().unwrap().is_empty());
    assert!(f.store.events.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_right_password_of_an_account_with_a_factor_opens_a_challenge() {
    let f = fixture().await;
    f.enrolled().await;
    let token = f.challenge().await;
    assert_eq!(f.store.challenges.lock().unwrap().len(), 1);
    let stored = f.store.challenges.lock().unwrap()[0].clone();
    assert_ne!(stored.digest, token, "only a digest is stored");
    assert_eq!(stored.expires_at, NOW + CHALLENGE_TTL);
    // A wrong password is the ordinary refusal: no challenge.
    let wrong = f
        .auth
        .login("alice@example.com", pw("wrong"), origin())
        .await;
    assert!(matches!(wrong, Err(Error::InvalidCredentials)));
    assert_eq!(f.store.challenges.lock().unwrap().len(), 1);

    f.advance(Duration::seconds(STEP_SECONDS));
    let (_, pair) = f
        .auth
        .complete_login(&token, otp(f.now_step()), &origin())
        .await
        .unwrap();
    let claims = f
        .auth
        .authenticate_bearer(pair.access_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(claims.user().unwrap().id, f.user.id);
    let introspected = f
        .auth
        .introspect(&Principal::operator(), pair.access_token.expose_secret())
        .await
        .unwrap()
        .unwrap();
    assert!(introspected.claims.second_factor, "amr says otp");
    // The token works once, whatever the outcome.
    let again = f
        .auth
        .complete_login(&token, otp(f.now_step()), &origin())
        .await;
    assert!(matches!(again, Err(Error::InvalidCode)));
}

#[tokio::test]
async fn a_password_alone_says_amr_pwd() {
    let f = fixture().await;
    let (_, pair) = f
        .auth
        .login("alice@example.com", pw(STRONG), origin())
        .await
        .unwrap();
    let seen = f
        .auth
        .introspect(&Principal::operator(), pair.access_token.expose_secret())
        .await
        .unwrap()
        .unwrap();
    assert!(!seen.claims.second_factor);
    assert_eq!(crate::refresh::amr(false), ["pwd"]);
    assert_eq!(crate::refresh::amr(true), ["pwd", "otp"]);
}

#[tokio::test]
async fn codes_are_accepted_one_step_either_side_and_no_further() {
    let f = fixture().await;
    f.enrolled().await;
    // Far from the confirming step, so that only the skew decides.
    f.advance(Duration::minutes(10));
    let now = f.now_step();
    for refused in [now - 2, now + 2] {
        assert!(
            matches!(f.finish(otp(refused)).await, Err(Error::InvalidCode)),
            "{refused}"
        );
    }
    assert!(f.finish(otp(now - 1)).await.is_ok(), "one step behind");
    assert!(f.finish(otp(now + 1)).await.is_ok(), "one step ahead");
    assert_eq!(
        f.store.factor(f.user.id).await.unwrap().unwrap().last_step,
        now + 1
    );
}

#[tokio::test]
async fn a_code_is_accepted_once_and_no_older_one_after_it() {
    let f = fixture().await;
    f.enrolled().await;
    f.advance(Duration::minutes(10));
    let now = f.now_step();
    assert!(f.finish(otp(now)).await.is_ok());
    assert!(
        matches!(f.finish(otp(now)).await, Err(Error::InvalidCode)),
        "a replay"
    );
    assert!(
        matches!(f.finish(otp(now - 1)).await, Err(Error::InvalidCode)),
        "a code older than the one accepted"
    );
    assert!(f.finish(otp(now + 1)).await.is_ok(), "a later one");
    let refused = f.audit.events();
    let refused: Vec<_> = refused
        .iter()
        .filter(|e| e.kind == AuditKind::MfaFailed)
        .collect();
    assert_eq!(refused.len(), 2);
    assert_eq!(refused[0].subject, Some(f.user.id));
    assert_eq!(refused[0].ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(refused[0].details["reason"], "wrong_code");
}

#[tokio::test]
async fn the_challenge_lives_five_minutes_and_ends_with_a_password_change() {
    let f = fixture().await;
    f.enrolled().await;
    let token = f.challenge().await;
    f.advance(CHALLENGE_TTL - Duration::seconds(1));
    let step = f.now_step();
    assert!(
        f.auth
            .complete_login(&token, otp(step), &origin())
            .await
            .is_ok()
    );
    let token = f.challenge().await;
    f.advance(CHALLENGE_TTL);
    let late = f
        .auth
        .complete_login(&token, otp(f.now_step()), &origin())
        .await;
    assert!(matches!(late, Err(Error::InvalidCode)));
    assert!(matches!(
        f.auth
            .complete_login("never issued", otp(f.now_step()), &origin())
            .await,
        Err(Error::InvalidCode)
    ));
}

#[tokio::test]
async fn the_code_may_come_with_the_password() {
    let f = fixture().await;
    f.enrolled().await;
    f.advance(Duration::minutes(1));
    let step = f.now_step();
    let one_step = f
        .auth
        .login_with("alice@example.com", pw(STRONG), Some(otp(step)), origin())
        .await;
    assert!(one_step.is_ok());
    let wrong = f
        .auth
        .login_with(
            "alice@example.com",
            pw(STRONG),
            Some(otp(step + 5)),
            origin(),
        )
        .await;
    assert!(matches!(wrong, Err(Error::InvalidCode)));
    // With a wrong password, a code changes nothing: the ordinary refusal.
    let wrong_password = f
        .auth
        .login_with(
            "alice@example.com",
            pw("nope"),
            Some(otp(step + 1)),
            origin(),
        )
        .await;
    assert!(matches!(wrong_password, Err(Error::InvalidCredentials)));
    assert!(f.store.challenges.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_recovery_code_works_once_however_it_is_typed() {
    let f = fixture().await;
    let codes = f.enrolled().await;
    let typed = codes[3].to_uppercase().replace('-', " ");
    let (_, pair) = f
        .finish(Proof::RecoveryCode(typed.clone().into()))
        .await
        .unwrap();
    assert!(!pair.access_token.expose_secret().is_empty());
    assert!(matches!(
        f.finish(Proof::RecoveryCode(codes[3].clone().into())).await,
        Err(Error::InvalidCode)
    ));
    for malformed in [
        "",
        "aaaa-aaaa-aaaa-aaa",
        "aaaa-aaaa-aaaa-aaa1",
        "aaaa-aaaa-aaaa-aaaaa",
    ] {
        assert!(matches!(
            f.finish(Proof::RecoveryCode(malformed.into())).await,
            Err(Error::InvalidCode)
        ));
    }
    let kinds = f.store.event_kinds();
    assert_eq!(
        kinds.iter().filter(|k| **k == "mfa.recovery_used").count(),
        1
    );
    let used = f.store.events.lock().unwrap()[1].clone();
    assert_eq!(
        (used.kind, used.subject),
        (AuditKind::MfaRecoveryUsed, Some(f.user.id))
    );
    assert_eq!(used.ip.as_deref(), Some("192.0.2.7"));
}

#[tokio::test]
async fn wrong_codes_count_toward_the_lockout_and_a_right_password_does_not_reset_it() {
    let f = strict().await;
    f.enrolled().await;
    f.advance(Duration::minutes(10));
    let now = f.now_step();
    // Each round: a right password (which clears only the passwords' count) and a wrong
    // code. The IP's limit is 5: the sixth code is refused, right or not.
    for _ in 0..5 {
        assert!(matches!(
            f.finish(otp(now + 9)).await,
            Err(Error::InvalidCode)
        ));
    }
    let token = f.challenge().await;
    let locked = f.auth.complete_login(&token, otp(now), &origin()).await;
    assert!(
        matches!(locked, Err(Error::InvalidCode)),
        "a right code under the lock"
    );
    assert!(
        f.audit
            .events()
            .iter()
            .any(|e| e.kind == AuditKind::MfaFailed && e.details["reason"] == "locked")
    );
    assert_eq!(
        f.store.factor(f.user.id).await.unwrap().unwrap().last_step,
        step_at(NOW),
        "the refused right code was not spent"
    );
    // Once it has passed, a right code clears the count.
    f.advance(Duration::hours(2));
    let step = f.now_step();
    assert!(f.finish(otp(step)).await.is_ok());
    assert!(f.finish(otp(step + 1)).await.is_ok());
}

#[tokio::test]
async fn codes_from_many_addresses_meet_an_account_wide_limit_of_twice_one_address() {
    let f = strict().await;
    f.enrolled().await;
    f.advance(Duration::minutes(10));
    let now = f.now_step();
    let from = |last| Origin::new(ip(last), None);
    // Four wrong codes from each of two addresses, then two from a third: the tenth
    // account-wide sets the lock, under each address's own limit of five.
    for (last, wrong) in [(20, 4), (21, 4), (22, 2)] {
        for _ in 0..wrong {
            let token = f.challenge().await;
            let refused = f
                .auth
                .complete_login(&token, otp(now + 9), &from(last))
                .await;
            assert!(matches!(refused, Err(Error::InvalidCode)));
        }
    }
    let token = f.challenge().await;
    let locked = f.auth.complete_login(&token, otp(now), &from(23)).await;
    assert!(
        matches!(locked, Err(Error::InvalidCode)),
        "the account's codes are locked"
    );
    let at_nine = strict().await;
    at_nine.enrolled().await;
    at_nine.advance(Duration::minutes(10));
    let now = at_nine.now_step();
    for (last, wrong) in [(20, 4), (21, 4), (22, 1)] {
        for _ in 0..wrong {
            let token = at_nine.challenge().await;
            let _ = at_nine
                .auth
                .complete_login(&token, otp(now + 9), &from(last))
                .await;
        }
    }
    let token = at_nine.challenge().await;
    let through = at_nine
        .auth
        .complete_login(&token, otp(now), &from(23))
        .await;
    assert!(through.is_ok(), "nine account-wide: not yet");
}

#[tokio::test]
async fn a_wrong_code_at_confirmation_counts_too() {
    let f = strict().await;
    f.mfa.enrol(&f.me(), pw(STRONG)).await.unwrap();
    let step = f.now_step();
    for _ in 0..5 {
        let _ = f.mfa.confirm(&f.me(), "000000").await;
    }
    assert!(
        matches!(
            f.mfa.confirm(&f.me(), &code_at(step)).await,
            Err(Error::InvalidCode)
        ),
        "locked: even the right code is refused"
    );
    let reasons: Vec<String> = f
        .audit
        .events()
        .iter()
        .map(|e| e.details["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(reasons.iter().filter(|r| *r == "wrong_code").count(), 5);
    assert_eq!(reasons.last().map(String::as_str), Some("locked"));
}

#[tokio::test]
async fn removing_the_factor_takes_the_password_and_a_code() {
    let f = fixture().await;
    let codes = f.enrolled().await;
    f.advance(Duration::minutes(1));
    let step = f.now_step();
    let wrong_password = f.mfa.disable(&f.me(), pw("nope"), otp(step)).await;
    assert!(matches!(wrong_password, Err(Error::WrongPassword)));
    let wrong_code = f.mfa.disable(&f.me(), pw(STRONG), otp(step + 4)).await;
    assert!(matches!(wrong_code, Err(Error::InvalidCode)));
    let key = api_key(f.me().user().unwrap().clone());
    assert!(matches!(
        f.mfa.disable(&key, pw(STRONG), otp(step)).await,
        Err(Error::Forbidden)
    ));
    f.mfa
        .disable(&f.me(), pw(STRONG), Proof::from_code(codes[0].clone()))
        .await
        .unwrap();
    assert!(f.store.factors.lock().unwrap().is_empty());
    assert!(f.store.codes.lock().unwrap().is_empty());
    let disabled = f.store.events.lock().unwrap().last().unwrap().clone();
    assert_eq!(disabled.kind, AuditKind::MfaDisabled);
    assert_eq!(disabled.details["by"], "owner");
    assert!(
        f.auth
            .login("alice@example.com", pw(STRONG), origin())
            .await
            .is_ok()
    );
    assert!(matches!(
        f.mfa.disable(&f.me(), pw(STRONG), otp(step)).await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn new_recovery_codes_replace_the_old_ones() {
    let f = fixture().await;
    let old = f.enrolled().await;
    f.advance(Duration::minutes(1));
    let fresh = f
        .mfa
        .replace_recovery_codes(&f.me(), pw(STRONG), otp(f.now_step()))
        .await
        .unwrap();
    assert_eq!(fresh.0.len(), RECOVERY_CODES);
    assert_eq!(
        f.store.event_kinds().last(),
        Some(&"mfa.recovery_codes_replaced")
    );
    assert!(matches!(
        f.finish(Proof::RecoveryCode(old[0].clone().into())).await,
        Err(Error::InvalidCode)
    ));
    let new = fresh.0[0].expose_secret().to_owned();
    assert!(f.finish(Proof::RecoveryCode(new.into())).await.is_ok());
}

#[tokio::test]
async fn an_admin_or_the_operator_resets_a_factor() {
    let f = fixture().await;
    f.enrolled().await;
    let member = bearer(user_with_role(Role::User));
    assert!(matches!(
        f.admin.reset_mfa(&member, f.user.id).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        f.admin
            .reset_mfa(&Principal::operator(), crate::testing::fresh_id())
            .await,
        Err(Error::NotFound)
    ));
    let admin = bearer(user_with_role(Role::Admin));
    let own = admin.user().unwrap().id;
    assert!(
        matches!(f.admin.reset_mfa(&admin, own).await, Err(Error::Forbidden)),
        "an admin's own factor goes with its password and a code"
    );
    f.admin.reset_mfa(&admin, f.user.id).await.unwrap();
    let reset = f.store.events.lock().unwrap().last().unwrap().clone();
    assert_eq!(
        (reset.kind, reset.details["by"].as_str()),
        (AuditKind::MfaDisabled, Some("admin"))
    );
    assert!(
        f.auth
            .login("alice@example.com", pw(STRONG), origin())
            .await
            .is_ok()
    );
    // Nothing to reset: nothing recorded.
    f.admin
        .reset_mfa(&Principal::operator(), f.user.id)
        .await
        .unwrap();
    assert_eq!(f.store.event_kinds(), ["mfa.enrolled", "mfa.disabled"]);
}

#[test]
fn admins_without_a_factor_may_only_enrol_when_the_policy_says_so() {
    let strict = MfaPolicy {
        require_for_admins: true,
        ..MfaPolicy::default()
    };
    let admin = user_with_role(Role::Admin);
    assert!(strict.must_enrol(&admin));
    assert!(bearer(admin.clone()).under(&strict).enrolment_only());
    assert!(api_key(admin.clone()).under(&strict).enrolment_only());
    assert!(
        !bearer(admin.clone())
            .under(&MfaPolicy::default())
            .enrolment_only()
    );
    let mut enrolled = admin;
    enrolled.mfa_enabled_at = Some(NOW);
    assert!(!strict.must_enrol(&enrolled));
    // Enrolled, its token must be of a session that proved the factor.
    let sid = crate::testing::fresh_id();
    let unproved = Principal::bearer(enrolled.clone(), sid, false);
    assert!(
        unproved.under(&strict).enrolment_only(),
        "a login from before the enrolment"
    );
    let proved = Principal::bearer(enrolled.clone(), sid, true);
    assert!(!proved.under(&strict).enrolment_only());
    assert!(
        !api_key(enrolled.clone()).under(&strict).enrolment_only(),
        "a key: the account"
    );
    assert!(
        !Principal::bearer(enrolled, sid, false)
            .under(&MfaPolicy::default())
            .enrolment_only()
    );
    let member = Principal::bearer(user_with_role(Role::User), sid, false);
    assert!(!member.under(&strict).enrolment_only());
    assert!(!strict.must_enrol(&user_with_role(Role::User)));
    assert!(!strict.must_enrol(&user_with_role(Role::Service)));
    assert!(!Principal::operator().under(&strict).enrolment_only());
}

#[test]
fn the_shapes_of_codes() {
    assert!(is_totp_code("012345"));
    for not in ["01234", "0123456", "01234a", "+12345", "０１２３４５", ""] {
        assert!(!is_totp_code(not), "{not}");
    }
    assert_eq!(
        normalize_recovery_code("ABCD-efgh 2345-6777").as_deref(),
        Some("abcdefgh23456777")
    );
    for not in [
        "abcd-efgh-2345-677",
        "abcd-efgh-2345-67771",
        "abcd-efgh-2345-6781",
        "abcd_efgh_2345_6777",
    ] {
        assert_eq!(normalize_recovery_code(not), None, "{not}");
    }
    assert!(matches!(Proof::from_code("123456".into()), Proof::Otp(_)));
    assert_eq!(
        format!("{:?}", Proof::from_code("123456".into())),
        "Otp([redacted])"
    );
    assert_eq!(
        format!("{:?}", Proof::from_code("abcd-efgh".into())),
        "RecoveryCode([redacted])"
    );
    assert!(matches!(
        Proof::from_code("1234567".into()),
        Proof::RecoveryCode(_)
    ));
}

#[test]
fn steps_are_thirty_seconds_and_the_window_skips_what_was_accepted() {
    let at = OffsetDateTime::from_unix_timestamp(59).unwrap();
    assert_eq!(step_at(at), 1);
    assert_eq!(step_at(at + Duration::seconds(1)), 2);
    assert_eq!(
        step_at(OffsetDateTime::from_unix_timestamp(-1).unwrap()),
        -1
    );
    assert_eq!(candidate_steps(at, i64::MIN), [0, 1, 2]);
    assert_eq!(candidate_steps(at, 0), [1, 2]);
    assert_eq!(candidate_steps(at, 1), [2]);
    assert!(candidate_steps(at, 2).is_empty());
}

#[tokio::test]
async fn a_pending_enrolment_proves_nothing() {
    let f = fixture().await;
    f.mfa.enrol(&f.me(), pw(STRONG)).await.unwrap();
    let step = f.now_step();
    // Not confirmed: nothing to replace or remove with its code.
    let replace = f
        .mfa
        .replace_recovery_codes(&f.me(), pw(STRONG), otp(step))
        .await;
    assert!(matches!(replace, Err(Error::NotFound)));
    let remove = f.mfa.disable(&f.me(), pw(STRONG), otp(step)).await;
    assert!(matches!(remove, Err(Error::NotFound)));
    // Nor at a login, should the user's row say its factor is on.
    f.store.enabled.lock().unwrap().push(f.user.id);
    let login = f.finish(otp(step)).await;
    assert!(matches!(login, Err(Error::InvalidCode)));
    assert_eq!(
        f.store.factor(f.user.id).await.unwrap().unwrap().last_step,
        i64::MIN
    );
}

#[tokio::test]
async fn expired_challenges_are_purged_and_live_ones_kept() {
    let f = fixture().await;
    f.enrolled().await;
    f.challenge().await;
    f.advance(Duration::minutes(1));
    f.challenge().await;
    f.advance(CHALLENGE_TTL - Duration::seconds(30));
    assert_eq!(f.auth.purge_mfa_challenges().await.unwrap(), 1);
    assert_eq!(f.store.challenges.lock().unwrap().len(), 1);
    f.advance(Duration::minutes(1));
    assert_eq!(f.auth.purge_mfa_challenges().await.unwrap(), 1);
}

#[test]
fn a_sealed_secret_shows_its_key_and_never_itself() {
    let sealed = SealedSecret {
        key_id: "k1".into(),
        sealed: "the-sealed-bytes".into(),
    };
    let shown = format!("{sealed:?}");
    assert_eq!(shown, r#"SealedSecret { key_id: "k1", .. }"#);
}
