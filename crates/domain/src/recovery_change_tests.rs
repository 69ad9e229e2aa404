//! Tests of the address change: the password under the lockout, the two messages, the change
//! made only by the new address's link, and a new address taken meanwhile.

use super::*;

async fn change(f: &Fixture, new: &str, password: &str) -> Result<(), Error> {
    f.service
        .change_email(&f.me(), new, SecretString::from(password), &origin())
        .await
}

#[tokio::test]
async fn a_change_mails_the_new_address_a_link_and_the_old_one_a_notice() {
    let f = fixture().await;
    change(&f, " New@Example.com ", STRONG).await.unwrap();
    let messages = f.store.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].to, "New@Example.com");
    assert!(
        messages[0]
            .text
            .starts_with("http://localhost:8080/account/verify?token=")
    );
    assert_eq!(messages[1].to, "Alice@Example.com");
    assert_eq!(
        messages[1].subject,
        "email_change_notice for Alice@Example.com"
    );
    assert_eq!(messages[1].text, "no link (0 min)");
    let t = f.store.tokens.lock().unwrap()[0].clone();
    assert_eq!(
        (t.purpose, t.email.as_str(), t.expires_at),
        (
            TokenPurpose::EmailChange,
            "New@Example.com",
            NOW + Duration::hours(24)
        )
    );
    assert_eq!(f.store.event_kinds(), ["email.change_requested"]);
    assert!(
        f.store.applied.lock().unwrap().is_empty(),
        "nothing changes before the link"
    );

    let text = &messages[0].text;
    let at = text.find("token=").unwrap() + "token=".len();
    let token = &text[at..at + TOKEN_CHARS];
    f.service.verify_email(token, &origin()).await.unwrap();
    assert_eq!(
        f.store.applied.lock().unwrap().clone(),
        [Applied::Changed(f.user.id, "New@Example.com".into())]
    );
    assert_eq!(f.store.event_kinds()[1], "email.changed");
    assert!(matches!(
        f.service.verify_email(token, &origin()).await,
        Err(Error::InvalidAccountToken)
    ));
}

#[tokio::test]
async fn a_change_drops_the_reset_link_that_went_to_the_old_address() {
    let f = fixture().await;
    f.forgot().await;
    let reset = f.last_token();
    change(&f, "new@example.com", STRONG).await.unwrap();
    let messages = f.store.messages();
    let text = &messages[1].text;
    let at = text.find("token=").unwrap() + "token=".len();
    f.service
        .verify_email(&text[at..at + TOKEN_CHARS], &origin())
        .await
        .unwrap();
    assert!(matches!(
        f.reset(&reset, "another strong pass phrase 7").await,
        Err(Error::InvalidAccountToken)
    ));
}

#[tokio::test]
async fn a_wrong_password_is_refused_counted_and_recorded() {
    let f = fixture().await;
    assert!(matches!(
        change(&f, "new@example.com", "wrong password here").await,
        Err(Error::WrongPassword)
    ));
    assert!(f.store.messages().is_empty());
    let events = f.audit.events();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].kind.as_str(), events[0].outcome),
        ("email.change_requested", Outcome::Failure)
    );
    assert_eq!(events[0].details["reason"], "wrong_password");
    for _ in 0..5 {
        let _ = change(&f, "new@example.com", "wrong password here").await;
    }
    assert!(
        matches!(
            change(&f, "new@example.com", STRONG).await,
            Err(Error::WrongPassword)
        ),
        "locked out: even the right password is refused"
    );
    assert_eq!(f.audit.events().last().unwrap().details["reason"], "locked");
    assert!(f.store.messages().is_empty());
}

#[tokio::test]
async fn a_change_to_a_bad_the_same_or_a_taken_address_is_refused() {
    let f = fixture().await;
    assert!(matches!(
        change(&f, "no address", STRONG).await,
        Err(Error::Invalid(_))
    ));
    match change(&f, "ALICE@example.COM", STRONG).await {
        Err(Error::Invalid(reasons)) => {
            assert_eq!(reasons, ["new_email must differ from the current address"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        change(&f, TAKEN, STRONG).await,
        Err(Error::EmailTaken)
    ));
    assert!(f.store.messages().is_empty());
    assert!(matches!(
        f.service
            .change_email(
                &api_key(f.user.clone()),
                "n@example.com",
                SecretString::from(STRONG),
                &origin()
            )
            .await,
        Err(Error::Forbidden)
    ));
}

#[tokio::test]
async fn an_address_taken_before_the_link_is_used_changes_nothing() {
    let f = fixture().await;
    change(&f, "new@example.com", STRONG).await.unwrap();
    let token = f.last_token_of(0);
    f.store.taken.lock().unwrap().push("new@example.com".into());
    assert!(matches!(
        f.service.verify_email(&token, &origin()).await,
        Err(Error::EmailTaken)
    ));
    assert!(f.store.applied.lock().unwrap().is_empty());
    assert_eq!(f.store.tokens.lock().unwrap().len(), 1, "the link stays");
}

#[tokio::test]
async fn one_change_mail_a_minute() {
    let f = fixture().await;
    change(&f, "new@example.com", STRONG).await.unwrap();
    f.advance(Duration::seconds(59));
    assert!(matches!(
        change(&f, "newer@example.com", STRONG).await,
        Err(Error::MailThrottled)
    ));
    f.advance(Duration::seconds(1));
    change(&f, "newer@example.com", STRONG).await.unwrap();
    assert_eq!(f.store.messages().len(), 4);
}

impl Fixture {
    /// The token in the `index`-th message's link.
    fn last_token_of(&self, index: usize) -> String {
        let text = self.store.messages()[index].text.clone();
        let at = text.find("token=").unwrap() + "token=".len();
        text[at..at + TOKEN_CHARS].to_owned()
    }
}

#[tokio::test]
async fn a_password_reset_cancels_an_address_change_asked_for_before_it() {
    let f = fixture().await;
    change(&f, "new@example.com", STRONG).await.unwrap();
    let link = f.last_token_of(0);
    f.forgot().await;
    f.reset(&f.last_token(), "another strong pass phrase 7")
        .await
        .unwrap();
    assert!(matches!(
        f.service.verify_email(&link, &origin()).await,
        Err(Error::InvalidAccountToken)
    ));
}

#[tokio::test]
async fn a_refused_login_of_an_unverified_address_sends_a_link_once_a_minute() {
    let f = fixture().await;
    assert!(f.service.remind(f.user.id, &origin()).await.unwrap());
    let event = f.store.events.lock().unwrap()[0].clone();
    assert_eq!(
        (event.kind.as_str(), event.details["via"].as_str()),
        ("email.verification_sent", Some("login"))
    );
    assert_eq!(event.ip.as_deref(), Some("192.0.2.9"));
    f.advance(Duration::seconds(59));
    assert!(
        !f.service.remind(f.user.id, &origin()).await.unwrap(),
        "throttled"
    );
    f.advance(Duration::seconds(1));
    assert!(f.service.remind(f.user.id, &origin()).await.unwrap());
    assert!(
        !f.service
            .remind(crate::testing::fresh_id(), &origin())
            .await
            .unwrap(),
        "no such user"
    );
    f.state.lock().unwrap().1 = true;
    f.advance(Duration::minutes(5));
    assert!(
        !f.service.remind(f.user.id, &origin()).await.unwrap(),
        "verified"
    );
    assert_eq!(f.store.messages().len(), 2);
    let off = fixture_with(
        RecoveryPolicy {
            mail_enabled: false,
            ..RecoveryPolicy::default()
        },
        false,
    )
    .await;
    assert!(!off.service.remind(off.user.id, &origin()).await.unwrap());
}

#[tokio::test]
async fn a_change_link_dies_with_the_session_version_it_was_asked_under() {
    let f = fixture().await;
    change(&f, "new@example.com", STRONG).await.unwrap();
    let stored = f.store.tokens.lock().unwrap()[0].clone();
    assert_eq!(stored.session_version, f.user.session_version);
    // A reset (or password change, or logout of every session) that committed while the
    // request was in flight: the link was stored after it, under the old version.
    *f.store
        .versions
        .lock()
        .unwrap()
        .get_mut(&f.user.id)
        .unwrap() += 1;
    assert!(matches!(
        f.service.verify_email(&f.last_token_of(0), &origin()).await,
        Err(Error::InvalidAccountToken)
    ));
    assert!(f.store.applied.lock().unwrap().is_empty());
}

#[tokio::test]
async fn mail_greets_by_the_address_never_by_a_chosen_name() {
    let mut f = fixture().await;
    f.user.display_name = Some(
        crate::user::DisplayName::parse("Your account is locked, visit evil.example").unwrap(),
    );
    change(&f, "new@example.com", STRONG).await.unwrap();
    f.advance(Duration::minutes(1));
    f.service.welcome(&f.user, None).await.unwrap();
    for m in f.store.messages() {
        assert!(!m.subject.contains("evil"), "{}", m.subject);
        assert!(
            m.subject.ends_with(&format!("for {}", m.to)),
            "{}",
            m.subject
        );
    }
}
