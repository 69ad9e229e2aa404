//! Tests of the flows by mail: what each request stores and queues, the per-account throttle
//! at its edge, links at their expiry's edge, single use, replacement, wrong purposes, the
//! address change with its races, and the events of each.

use std::sync::{Arc, Mutex};

use secrecy::{ExposeSecret, SecretString};
use time::Duration;

use super::*;
use crate::audit::{ActorKind, Outcome};
use crate::auth::AuthService;
use crate::ports::MockUserRepository;
use crate::session::tests::remembering_codec;
use crate::testing::{
    Applied, HandClock, MemAccountTokens, MemAudit, MemRefreshTokens, NOW, PlainComposer, STRONG,
    api_key, bearer, ip, policy, ports, stored_user, user_with_role,
};
use crate::user::Role;

/// The address of another account.
const TAKEN: &str = "taken@example.com";

struct Fixture {
    service: RecoveryService,
    auth: AuthService,
    clock: Arc<HandClock>,
    store: Arc<MemAccountTokens>,
    audit: Arc<MemAudit>,
    user: User,
    /// Whether the stored user is disabled, and its address verified.
    state: Arc<Mutex<(bool, bool)>>,
}

fn users(user: &User, state: &Arc<Mutex<(bool, bool)>>) -> MockUserRepository {
    let current = {
        let (user, state) = (user.clone(), state.clone());
        move || {
            let mut u = user.clone();
            let (disabled, verified) = *state.lock().unwrap();
            u.disabled = disabled;
            u.email_verified_at = verified.then_some(NOW);
            u
        }
    };
    let mut users = MockUserRepository::new();
    let by_email = current.clone();
    users.expect_find_by_email().returning(move |e| {
        let u = by_email();
        Ok(match e.normalized() {
            n if n == u.email.normalized() => Some(u),
            TAKEN => Some(user_with_role(Role::User)),
            _ => None,
        })
    });
    let by_id = current.clone();
    users
        .expect_find_by_id()
        .returning(move |id| Ok(Some(by_id()).filter(|u| u.id == id)));
    let (updated, state) = (current, state.clone());
    users.expect_update().returning(move |_, change, _| {
        // The operator's verification: the address verified, and the account changed, now.
        assert_eq!(
            (change.email_verified_at, change.at),
            (Some(NOW), Some(NOW))
        );
        state.lock().unwrap().1 = true;
        Ok(updated())
    });
    users
}

async fn fixture_with(recovery: RecoveryPolicy, require_verified: bool) -> Fixture {
    let user = stored_user(STRONG);
    let state = Arc::new(Mutex::new((false, false)));
    let clock = Arc::new(HandClock(Mutex::new(NOW)));
    let mut ports = ports(
        users(&user, &state),
        remembering_codec(),
        clock.clone(),
        Arc::new(MemRefreshTokens::default()),
    );
    let audit = Arc::new(MemAudit::default());
    ports.audit = audit.clone();
    let mut policy = policy(true);
    policy.require_verified_email = require_verified;
    let auth = AuthService::new(ports, policy).await.unwrap();
    let store = Arc::new(MemAccountTokens::with_account(
        user.id,
        user.email.as_str(),
        user.session_version,
    ));
    let mail = MailPorts {
        tokens: store.clone(),
        composer: Arc::new(PlainComposer),
    };
    Fixture {
        service: RecoveryService::new(&auth, mail, recovery),
        auth,
        clock,
        store,
        audit,
        user,
        state,
    }
}

async fn fixture() -> Fixture {
    fixture_with(RecoveryPolicy::default(), false).await
}

fn origin() -> Origin {
    Origin::new(ip(9), Some("mail-test"))
}

impl Fixture {
    fn advance(&self, by: Duration) {
        *self.clock.0.lock().unwrap() += by;
    }

    /// The token in the last message's link.
    fn last_token(&self) -> String {
        let messages = self.store.messages();
        let text = &messages.last().expect("a message").text;
        let at = text.find("token=").expect("a link") + "token=".len();
        text[at..at + TOKEN_CHARS].to_owned()
    }

    fn me(&self) -> Principal {
        let mut user = self.user.clone();
        user.email_verified_at = self.state.lock().unwrap().1.then_some(NOW);
        bearer(user).calling_from(origin())
    }

    async fn forgot(&self) {
        self.service
            .forgot_password("  ALICE@example.com ", &origin())
            .await
            .unwrap();
    }

    async fn reset(&self, token: &str, password: &str) -> Result<(), Error> {
        self.service
            .reset_password(token, SecretString::from(password), &origin())
            .await
    }
}

#[test]
fn a_token_has_exactly_43_url_safe_characters() {
    let good = "A".repeat(42) + "_";
    assert!(token_shaped(&good));
    assert!(token_shaped(&("-".repeat(21) + &"z9".repeat(11))));
    assert!(!token_shaped(&"A".repeat(42)), "one short");
    assert!(!token_shaped(&"A".repeat(44)), "one long");
    for bad in ['+', '/', '=', '.', ' ', '%', 'é'] {
        let token: String = std::iter::once(bad).chain("A".repeat(42).chars()).collect();
        assert!(!token_shaped(&token), "{bad:?}");
    }
    assert!(!token_shaped(""));
}

#[test]
fn purposes_have_names_that_read_back() {
    for p in [
        TokenPurpose::VerifyEmail,
        TokenPurpose::PasswordReset,
        TokenPurpose::EmailChange,
    ] {
        assert_eq!(TokenPurpose::parse(p.as_str()), Some(p));
    }
    assert_eq!(TokenPurpose::parse("reset"), None);
    assert_eq!(TokenPurpose::PasswordReset.as_str(), "password_reset");
    assert_eq!(TokenPurpose::VerifyEmail.as_str(), "verify_email");
    assert_eq!(TokenPurpose::EmailChange.as_str(), "email_change");
    assert_eq!(
        format!("{:?}", ResetLink(SecretString::from("x"))),
        "ResetLink([redacted])"
    );
}

#[tokio::test]
async fn a_forgotten_password_queues_one_link_and_stores_only_its_digest() {
    let f = fixture().await;
    f.forgot().await;
    let messages = f.store.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.to, "Alice@Example.com");
    assert_eq!(m.subject, "password_reset for Alice@Example.com");
    let token = f.last_token();
    assert_eq!(
        m.text,
        format!("http://localhost:8080/account/reset?token={token} (30 min)")
    );
    let stored = f.store.tokens.lock().unwrap().clone();
    assert_eq!(stored.len(), 1);
    let t = &stored[0];
    assert_eq!(
        (t.user_id, t.purpose, t.digest.clone(), t.email.as_str()),
        (
            f.user.id,
            TokenPurpose::PasswordReset,
            format!("d:{token}"),
            "Alice@Example.com"
        )
    );
    assert_eq!(
        (t.created_at, t.expires_at),
        (NOW, NOW + Duration::minutes(30))
    );
    let events = f.store.events.lock().unwrap().clone();
    assert_eq!(f.store.event_kinds(), ["password.reset_requested"]);
    assert_eq!(events[0].subject, Some(f.user.id));
    assert_eq!(events[0].ip.as_deref(), Some("192.0.2.9"));
    assert_eq!(events[0].details["via"], "mail");
}

#[tokio::test]
async fn the_service_shows_its_policy_and_hides_its_ports() {
    let policy = RecoveryPolicy {
        public_url: "https://auth.example.com".into(),
        reset_ttl: Duration::minutes(7),
        ..RecoveryPolicy::default()
    };
    let f = fixture_with(policy.clone(), false).await;
    assert_eq!(f.service.policy(), &policy);
    f.forgot().await;
    assert!(
        f.store.messages()[0]
            .text
            .starts_with("https://auth.example.com/account/reset?token=")
    );
    assert!(f.store.messages()[0].text.ends_with("(7 min)"));
    let ports = MailPorts {
        tokens: f.store.clone(),
        composer: Arc::new(PlainComposer),
    };
    assert_eq!(format!("{ports:?}"), "MailPorts { .. }");
}

#[tokio::test]
async fn unknown_malformed_and_disabled_addresses_write_nothing() {
    let f = fixture().await;
    for email in [
        "bob@example.com",
        "not an address",
        "",
        "alice@example.com\u{200b}",
    ] {
        f.service.forgot_password(email, &origin()).await.unwrap();
    }
    f.state.lock().unwrap().0 = true;
    f.forgot().await;
    assert!(f.store.messages().is_empty());
    assert!(f.store.tokens.lock().unwrap().is_empty());
    assert!(f.store.events.lock().unwrap().is_empty());
    assert!(f.audit.events().is_empty());
}

#[tokio::test]
async fn without_mail_every_address_is_refused_alike() {
    let off = RecoveryPolicy {
        mail_enabled: false,
        ..RecoveryPolicy::default()
    };
    let f = fixture_with(off, false).await;
    for email in ["alice@example.com", "bob@example.com"] {
        assert!(matches!(
            f.service.forgot_password(email, &origin()).await,
            Err(Error::MailOff)
        ));
    }
    assert!(matches!(
        f.service.resend_verification(&f.me()).await,
        Err(Error::MailOff)
    ));
    let admin = bearer(user_with_role(Role::Admin));
    assert!(matches!(
        f.service.send_reset(&admin, f.user.id).await,
        Err(Error::MailOff)
    ));
    assert!(!f.service.welcome(&f.user, None).await.unwrap());
    assert!(f.store.messages().is_empty());
}

#[tokio::test]
async fn one_reset_mail_a_minute_per_account() {
    let f = fixture().await;
    f.forgot().await;
    f.forgot().await;
    f.advance(Duration::seconds(59));
    f.forgot().await;
    assert_eq!(f.store.messages().len(), 1, "within the minute");
    let first = f.last_token();
    f.advance(Duration::seconds(1));
    f.forgot().await;
    assert_eq!(f.store.messages().len(), 2, "a minute after");
    assert_eq!(
        f.store.tokens.lock().unwrap().len(),
        1,
        "the newer replaced the older"
    );
    assert!(matches!(
        f.reset(&first, "another strong pass phrase 7").await,
        Err(Error::InvalidAccountToken)
    ));
    f.reset(&f.last_token(), "another strong pass phrase 7")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_reset_sets_the_password_once() {
    let f = fixture().await;
    f.forgot().await;
    let token = f.last_token();
    f.reset(&token, "another strong pass phrase 7")
        .await
        .unwrap();
    assert_eq!(
        f.store.applied.lock().unwrap().clone(),
        [Applied::Reset(
            f.user.id,
            "hash:another strong pass phrase 7".into()
        )]
    );
    let events = f.store.events.lock().unwrap().clone();
    assert_eq!(
        f.store.event_kinds(),
        ["password.reset_requested", "password.reset"]
    );
    assert_eq!(
        (events[1].subject, events[1].actor_kind, events[1].outcome),
        (Some(f.user.id), ActorKind::Anonymous, Outcome::Success)
    );
    assert_eq!(events[1].ip.as_deref(), Some("192.0.2.9"));
    assert!(matches!(
        f.reset(&token, "yet another strong pass phrase 8").await,
        Err(Error::InvalidAccountToken)
    ));
    assert_eq!(f.store.applied.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_refused_password_leaves_the_link_usable() {
    let f = fixture().await;
    f.forgot().await;
    let token = f.last_token();
    match f.reset(&token, "short").await {
        Err(Error::Invalid(reasons)) => assert!(!reasons.is_empty()),
        other => panic!("{other:?}"),
    }
    // The address is a word the password may not lean on.
    assert!(matches!(
        f.reset(&token, "alice@example.com").await,
        Err(Error::Invalid(_))
    ));
    assert!(f.store.applied.lock().unwrap().is_empty());
    f.reset(&token, "another strong pass phrase 7")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_reset_link_works_until_just_before_its_end() {
    let f = fixture().await;
    f.forgot().await;
    f.advance(Duration::minutes(30) - Duration::seconds(1));
    f.reset(&f.last_token(), "another strong pass phrase 7")
        .await
        .unwrap();

    let f = fixture().await;
    f.forgot().await;
    f.advance(Duration::minutes(30));
    assert!(matches!(
        f.reset(&f.last_token(), "another strong pass phrase 7")
            .await,
        Err(Error::InvalidAccountToken)
    ));
    assert!(f.store.applied.lock().unwrap().is_empty());
}

#[tokio::test]
async fn tokens_work_only_for_their_purpose_and_shape() {
    let f = fixture().await;
    f.service.welcome(&f.user, None).await.unwrap();
    let verify = f.last_token();
    assert!(matches!(
        f.reset(&verify, "another strong pass phrase 7").await,
        Err(Error::InvalidAccountToken)
    ));
    f.forgot().await;
    let reset = f.last_token();
    assert!(matches!(
        f.service.verify_email(&reset, &origin()).await,
        Err(Error::InvalidAccountToken)
    ));
    for bad in [
        &reset[..42],
        &format!("{reset}A"),
        &reset.replace('-', "+"),
        "",
        "%41",
    ] {
        assert!(matches!(
            f.reset(bad, "another strong pass phrase 7").await,
            Err(Error::InvalidAccountToken)
        ));
    }
    assert!(f.store.applied.lock().unwrap().is_empty());
    f.service.verify_email(&verify, &origin()).await.unwrap();
    f.reset(&reset, "another strong pass phrase 7")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_disabled_account_cannot_use_its_link() {
    let f = fixture().await;
    f.forgot().await;
    f.state.lock().unwrap().0 = true;
    assert!(matches!(
        f.reset(&f.last_token(), "another strong pass phrase 7")
            .await,
        Err(Error::InvalidAccountToken)
    ));
}

#[tokio::test]
async fn a_new_account_is_sent_a_day_long_verification_link_when_asked() {
    let f = fixture().await;
    assert!(f.service.welcome(&f.user, Some(&origin())).await.unwrap());
    let token = f.last_token();
    let m = f.store.messages().pop().unwrap();
    assert_eq!(m.subject, "verify_email for Alice@Example.com");
    assert_eq!(
        m.text,
        format!("http://localhost:8080/account/verify?token={token} (1440 min)")
    );
    let t = f.store.tokens.lock().unwrap()[0].clone();
    assert_eq!(
        (t.purpose, t.expires_at),
        (TokenPurpose::VerifyEmail, NOW + Duration::hours(24))
    );
    assert_eq!(f.store.event_kinds(), ["email.verification_sent"]);
    assert_eq!(
        f.store.events.lock().unwrap()[0].ip.as_deref(),
        Some("192.0.2.9")
    );

    let quiet = fixture_with(
        RecoveryPolicy {
            verify_email: false,
            ..RecoveryPolicy::default()
        },
        false,
    )
    .await;
    assert!(!quiet.service.welcome(&quiet.user, None).await.unwrap());
    assert!(quiet.store.messages().is_empty());
}

#[tokio::test]
async fn a_verification_link_verifies_once_and_only_the_address_it_was_sent_to() {
    let f = fixture().await;
    f.service.welcome(&f.user, None).await.unwrap();
    let token = f.last_token();
    f.service.verify_email(&token, &origin()).await.unwrap();
    assert_eq!(
        f.store.applied.lock().unwrap().clone(),
        [Applied::Verified(f.user.id)]
    );
    let event = f.store.events.lock().unwrap()[1].clone();
    assert_eq!(
        (event.kind.as_str(), event.subject),
        ("email.verified", Some(f.user.id))
    );
    assert_eq!(event.details["via"], "link");
    assert!(matches!(
        f.service.verify_email(&token, &origin()).await,
        Err(Error::InvalidAccountToken)
    ));

    let f = fixture().await;
    f.service.welcome(&f.user, None).await.unwrap();
    f.store
        .addresses
        .lock()
        .unwrap()
        .insert(f.user.id, "other@example.com".into());
    assert!(matches!(
        f.service.verify_email(&f.last_token(), &origin()).await,
        Err(Error::InvalidAccountToken)
    ));
    assert!(f.store.applied.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_verification_link_expires_at_24_hours() {
    let f = fixture().await;
    f.service.welcome(&f.user, None).await.unwrap();
    f.advance(Duration::hours(24) - Duration::seconds(1));
    f.service
        .verify_email(&f.last_token(), &origin())
        .await
        .unwrap();
    let f = fixture().await;
    f.service.welcome(&f.user, None).await.unwrap();
    f.advance(Duration::hours(24));
    assert!(matches!(
        f.service.verify_email(&f.last_token(), &origin()).await,
        Err(Error::InvalidAccountToken)
    ));
}

#[tokio::test]
async fn a_resend_is_the_owners_alone_and_once_a_minute() {
    let f = fixture().await;
    f.service.resend_verification(&f.me()).await.unwrap();
    assert_eq!(f.store.messages().len(), 1);
    let event = f.store.events.lock().unwrap()[0].clone();
    assert_eq!(
        (event.actor_kind, event.actor_id),
        (ActorKind::User, Some(f.user.id))
    );
    f.advance(Duration::seconds(59));
    assert!(matches!(
        f.service.resend_verification(&f.me()).await,
        Err(Error::MailThrottled)
    ));
    f.advance(Duration::seconds(1));
    f.service.resend_verification(&f.me()).await.unwrap();
    assert_eq!(f.store.messages().len(), 2);
    assert!(matches!(
        f.service
            .resend_verification(&api_key(f.user.clone()))
            .await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        f.service.resend_verification(&Principal::operator()).await,
        Err(Error::Forbidden)
    ));
    f.state.lock().unwrap().1 = true;
    f.advance(Duration::minutes(5));
    f.service.resend_verification(&f.me()).await.unwrap();
    assert_eq!(
        f.store.messages().len(),
        2,
        "a verified address gets nothing"
    );
}

#[tokio::test]
async fn an_admin_sends_a_reset_and_the_operator_prints_one() {
    let f = fixture().await;
    let admin = bearer(user_with_role(Role::Admin));
    f.service.send_reset(&admin, f.user.id).await.unwrap();
    f.service.send_reset(&admin, f.user.id).await.unwrap();
    assert_eq!(
        f.store.messages().len(),
        2,
        "an admin's request is not throttled"
    );
    let event = f.store.events.lock().unwrap()[0].clone();
    assert_eq!(
        (event.actor_kind, event.subject),
        (ActorKind::User, Some(f.user.id))
    );
    assert!(matches!(
        f.service.send_reset(&f.me(), f.user.id).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        f.service
            .send_reset(&admin, crate::testing::fresh_id())
            .await,
        Err(Error::NotFound)
    ));

    let link = f
        .service
        .reset_link(&Principal::operator(), "alice@example.com")
        .await
        .unwrap();
    assert_eq!(f.store.messages().len(), 2, "a printed link is not mailed");
    let link = link.0.expose_secret().to_owned();
    let token = link
        .strip_prefix("http://localhost:8080/account/reset?token=")
        .unwrap();
    assert_eq!(f.store.events.lock().unwrap()[2].details["via"], "link");
    assert!(matches!(
        f.service.reset_link(&admin, "alice@example.com").await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        f.service
            .reset_link(&Principal::operator(), "bob@example.com")
            .await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        f.service.reset_link(&Principal::operator(), "bob").await,
        Err(Error::NotFound)
    ));
    f.reset(token, "another strong pass phrase 7")
        .await
        .unwrap();
}

#[tokio::test]
async fn the_operator_marks_an_address_verified() {
    let f = fixture().await;
    assert!(matches!(
        f.service.mark_verified(&f.me(), "alice@example.com").await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        f.service
            .mark_verified(&Principal::operator(), "bob@example.com")
            .await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        f.service.mark_verified(&Principal::operator(), "no").await,
        Err(Error::NotFound)
    ));
    let user = f
        .service
        .mark_verified(&Principal::operator(), "alice@example.com")
        .await
        .unwrap();
    assert_eq!(user.email_verified_at, Some(NOW));
}

#[tokio::test]
async fn expired_tokens_are_purged() {
    let f = fixture().await;
    f.forgot().await;
    f.service.welcome(&f.user, None).await.unwrap();
    f.advance(Duration::minutes(30) - Duration::seconds(1));
    assert_eq!(f.service.purge_tokens().await.unwrap(), 0);
    f.advance(Duration::seconds(1));
    assert_eq!(f.service.purge_tokens().await.unwrap(), 1);
    assert_eq!(
        f.store.tokens.lock().unwrap()[0].purpose,
        TokenPurpose::VerifyEmail
    );
}

#[tokio::test]
async fn a_login_needs_a_verified_address_only_when_required_and_says_so_only_to_the_owner() {
    let f = fixture_with(RecoveryPolicy::default(), true).await;
    let login = |password: &'static str| {
        f.auth
            .login("alice@example.com", SecretString::from(password), ip(3))
    };
    assert!(matches!(login(STRONG).await, Err(Error::EmailNotVerified(id)) if id == f.user.id));
    assert!(matches!(
        login("wrong password here").await,
        Err(Error::InvalidCredentials)
    ));
    let refused = f.audit.events();
    assert_eq!(refused[0].details["reason"], "unverified");
    f.state.lock().unwrap().1 = true;
    login(STRONG).await.unwrap();

    let f = fixture().await;
    f.auth
        .login("alice@example.com", SecretString::from(STRONG), ip(3))
        .await
        .unwrap();
}

#[path = "recovery_change_tests.rs"]
mod change;
