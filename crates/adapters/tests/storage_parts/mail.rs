//! The flows by mail's storage on SQLite and PostgreSQL: one token per account and purpose
//! with the throttle in the upsert, redemptions that exactly one of many concurrent calls wins,
//! a password change that drops the reset token, an address change refused whole when the
//! address was taken, and the outbox's claims, outcomes and purge.

use std::sync::Arc;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use warden_adapters::db::{SeaOrmAccountTokenRepository, SeaOrmOutbox, SeaOrmUserRepository};
use warden_domain::Error;
use warden_domain::audit::{AuditEvent, AuditKind};
use warden_domain::mail::Message;
use warden_domain::ports::{AccountTokenRepository, Outbox, UserChange, UserRepository};
use warden_domain::recovery::{AccountToken, TokenPurpose};
use warden_domain::user::{PasswordHash, Role};

use super::{audit, backends, user};

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

fn token(user_id: Uuid, purpose: TokenPurpose, email: &str, at: OffsetDateTime) -> AccountToken {
    AccountToken {
        id: Uuid::now_v7(),
        user_id,
        purpose,
        digest: format!("{:064x}", Uuid::now_v7().as_u128()),
        email: email.into(),
        session_version: 0,
        created_at: at,
        expires_at: at + Duration::minutes(30),
    }
}

fn message(to: &str) -> Message {
    Message {
        to: to.into(),
        subject: "Reset your password".into(),
        text: "https://x/account/reset?token=t".into(),
        html: "<a href=\"https://x\">x</a>".into(),
    }
}

fn event() -> AuditEvent {
    AuditEvent::new(Uuid::now_v7(), now(), AuditKind::PasswordResetRequested)
}

#[tokio::test]
async fn one_token_per_purpose_the_throttle_holds_and_only_the_issued_are_queued() {
    for t in backends().await {
        let name = t.name;
        let users = SeaOrmUserRepository::new(t.db.clone());
        let tokens = SeaOrmAccountTokenRepository::new(t.db.clone());
        let outbox = SeaOrmOutbox::new(t.db.clone());
        let u = user("mail@example.com", Role::User);
        users.insert(&u, &audit()).await.unwrap();
        let at = now();
        let first = token(u.id, TokenPurpose::PasswordReset, "mail@example.com", at);
        let limit = Some(at - Duration::minutes(1));
        assert!(
            tokens
                .issue(&first, &[message("mail@example.com")], limit, &event())
                .await
                .unwrap(),
            "{name}"
        );
        let again = token(
            u.id,
            TokenPurpose::PasswordReset,
            "mail@example.com",
            at + Duration::seconds(59),
        );
        let limit = Some(again.created_at - Duration::minutes(1));
        assert!(
            !tokens
                .issue(&again, &[message("mail@example.com")], limit, &event())
                .await
                .unwrap(),
            "{name}: within the minute"
        );
        assert_eq!(
            tokens.find(&first.digest).await.unwrap(),
            Some(first.clone()),
            "{name}"
        );
        assert!(
            tokens.find(&again.digest).await.unwrap().is_none(),
            "{name}"
        );
        let later = token(
            u.id,
            TokenPurpose::PasswordReset,
            "mail@example.com",
            at + Duration::seconds(60),
        );
        let limit = Some(later.created_at - Duration::minutes(1));
        assert!(
            tokens
                .issue(&later, &[message("mail@example.com")], limit, &event())
                .await
                .unwrap(),
            "{name}: at the minute"
        );
        assert!(
            tokens.find(&first.digest).await.unwrap().is_none(),
            "{name}: replaced"
        );
        let verify = token(u.id, TokenPurpose::VerifyEmail, "mail@example.com", at);
        assert!(
            tokens.issue(&verify, &[], None, &event()).await.unwrap(),
            "{name}: another purpose"
        );
        let queued = outbox
            .claim(at + Duration::hours(1), at + Duration::hours(2), 50)
            .await
            .unwrap();
        assert_eq!(queued.len(), 2, "{name}: the two issued, not the throttled");
        let gone = token(
            Uuid::now_v7(),
            TokenPurpose::PasswordReset,
            "x@example.com",
            at,
        );
        assert!(
            matches!(
                tokens.issue(&gone, &[], None, &event()).await,
                Err(Error::NotFound)
            ),
            "{name}"
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn of_concurrent_resets_with_one_token_exactly_one_wins() {
    for t in backends().await {
        let name = t.name;
        let users = SeaOrmUserRepository::new(t.db.clone());
        let tokens = Arc::new(SeaOrmAccountTokenRepository::new(t.db.clone()));
        let u = user("race@example.com", Role::User);
        users.insert(&u, &audit()).await.unwrap();
        let reset = token(u.id, TokenPurpose::PasswordReset, "race@example.com", now());
        tokens.issue(&reset, &[], None, &event()).await.unwrap();
        let mut racers = Vec::new();
        for i in 0..8 {
            let (tokens, reset) = (tokens.clone(), reset.clone());
            racers.push(tokio::spawn(async move {
                let hash = PasswordHash::new(format!("$argon2id$new{i}"));
                tokens
                    .redeem_reset(&reset, &hash, now(), &event())
                    .await
                    .unwrap()
            }));
        }
        let mut wins = 0;
        for r in racers {
            wins += usize::from(r.await.unwrap());
        }
        assert_eq!(wins, 1, "{name}");
        let after = users.find_by_id(u.id).await.unwrap().unwrap();
        assert_eq!(after.session_version, 1, "{name}: sessions ended once");
        assert!(
            after.password_hash.expose().starts_with("$argon2id$new"),
            "{name}"
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn a_password_change_drops_the_reset_token_and_a_verification_needs_the_same_address() {
    for t in backends().await {
        let name = t.name;
        let users = SeaOrmUserRepository::new(t.db.clone());
        let tokens = SeaOrmAccountTokenRepository::new(t.db.clone());
        let u = user("drop@example.com", Role::User);
        users.insert(&u, &audit()).await.unwrap();
        let reset = token(u.id, TokenPurpose::PasswordReset, "drop@example.com", now());
        tokens.issue(&reset, &[], None, &event()).await.unwrap();
        let verify = token(u.id, TokenPurpose::VerifyEmail, "DROP@example.com", now());
        tokens.issue(&verify, &[], None, &event()).await.unwrap();
        let moving = token(u.id, TokenPurpose::EmailChange, "moving@example.com", now());
        tokens.issue(&moving, &[], None, &event()).await.unwrap();
        let change = UserChange {
            password_hash: Some(PasswordHash::new("$argon2id$changed".into())),
            end_sessions: true,
            ..UserChange::default()
        };
        users.update(u.id, change, &audit()).await.unwrap();
        assert!(
            tokens.find(&reset.digest).await.unwrap().is_none(),
            "{name}"
        );
        assert!(
            tokens.find(&moving.digest).await.unwrap().is_none(),
            "{name}: the address change too"
        );
        let hash = PasswordHash::new("$argon2id$late".into());
        assert!(
            !tokens
                .redeem_reset(&reset, &hash, now(), &event())
                .await
                .unwrap(),
            "{name}"
        );
        assert!(
            tokens.find(&verify.digest).await.unwrap().is_some(),
            "{name}: other purposes stay"
        );
        // The address compared as the user's, whatever its case.
        assert!(
            tokens
                .redeem_verification(&verify, now(), &event())
                .await
                .unwrap(),
            "{name}"
        );
        assert!(
            users
                .find_by_id(u.id)
                .await
                .unwrap()
                .unwrap()
                .email_verified_at
                .is_some()
        );
        let stale = token(u.id, TokenPurpose::VerifyEmail, "old@example.com", now());
        tokens.issue(&stale, &[], None, &event()).await.unwrap();
        assert!(
            !tokens
                .redeem_verification(&stale, now(), &event())
                .await
                .unwrap(),
            "{name}"
        );
        assert!(
            tokens.find(&stale.digest).await.unwrap().is_some(),
            "{name}: rolled back"
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn an_address_taken_or_looking_alike_refuses_the_change_whole() {
    for t in backends().await {
        let name = t.name;
        let users = SeaOrmUserRepository::new(t.db.clone());
        let tokens = SeaOrmAccountTokenRepository::new(t.db.clone());
        let u = user("mover@example.com", Role::User);
        users.insert(&u, &audit()).await.unwrap();
        users
            .insert(&user("admin@example.com", Role::User), &audit())
            .await
            .unwrap();
        // A Cyrillic і: looks like the account's address.
        let alike = token(
            u.id,
            TokenPurpose::EmailChange,
            "adm\u{456}n@example.com",
            now(),
        );
        tokens.issue(&alike, &[], None, &event()).await.unwrap();
        assert!(
            matches!(
                tokens.redeem_email_change(&alike, now(), &event()).await,
                Err(Error::EmailTaken)
            ),
            "{name}"
        );
        assert!(
            tokens.find(&alike.digest).await.unwrap().is_some(),
            "{name}: the link stays"
        );
        assert_eq!(
            users
                .find_by_id(u.id)
                .await
                .unwrap()
                .unwrap()
                .email
                .as_str(),
            "mover@example.com"
        );
        let fine = token(u.id, TokenPurpose::EmailChange, "Moved@Example.com", now());
        tokens.issue(&fine, &[], None, &event()).await.unwrap();
        let disable = UserChange {
            disabled: Some(true),
            ..UserChange::default()
        };
        users.update(u.id, disable, &audit()).await.unwrap();
        assert!(
            !tokens
                .redeem_email_change(&fine, now(), &event())
                .await
                .unwrap(),
            "{name}: disabled"
        );
        let enable = UserChange {
            disabled: Some(false),
            ..UserChange::default()
        };
        users.update(u.id, enable, &audit()).await.unwrap();
        assert!(
            tokens
                .redeem_email_change(&fine, now(), &event())
                .await
                .unwrap(),
            "{name}"
        );
        let after = users.find_by_id(u.id).await.unwrap().unwrap();
        assert_eq!(after.email.as_str(), "Moved@Example.com", "{name}");
        assert!(after.email_verified_at.is_some(), "{name}");
        let found = users
            .find_by_email(&warden_domain::user::Email::parse("moved@example.com").unwrap())
            .await
            .unwrap();
        assert_eq!(found.map(|f| f.id), Some(u.id), "{name}");
        assert!(
            !tokens
                .redeem_email_change(&fine, now(), &event())
                .await
                .unwrap(),
            "{name}: once"
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn the_outbox_leases_what_it_claims_and_forgets_bodies_once_done() {
    for t in backends().await {
        let name = t.name;
        let users = SeaOrmUserRepository::new(t.db.clone());
        let tokens = SeaOrmAccountTokenRepository::new(t.db.clone());
        let outbox = Arc::new(SeaOrmOutbox::new(t.db.clone()));
        let u = user("box@example.com", Role::User);
        users.insert(&u, &audit()).await.unwrap();
        let at = now();
        let t1 = token(u.id, TokenPurpose::PasswordReset, "box@example.com", at);
        tokens
            .issue(
                &t1,
                &[message("a@example.com"), message("b@example.com")],
                None,
                &event(),
            )
            .await
            .unwrap();
        // Two workers at once: each message goes to one of them.
        let (a, b) = tokio::join!(
            outbox.claim(at, at + Duration::minutes(1), 10),
            outbox.claim(at, at + Duration::minutes(1), 10)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.len() + b.len(), 2, "{name}");
        let claimed: Vec<_> = a.into_iter().chain(b).collect();
        assert_eq!(claimed[0].message.subject, "Reset your password", "{name}");
        assert!(
            outbox
                .claim(at, at + Duration::minutes(1), 10)
                .await
                .unwrap()
                .is_empty(),
            "{name}: leased"
        );
        outbox.sent(claimed[0].id, at).await.unwrap();
        outbox
            .failed(
                claimed[1].id,
                1,
                at + Duration::seconds(5),
                &"x".repeat(900),
            )
            .await
            .unwrap();
        let retried = outbox
            .claim(at + Duration::seconds(5), at + Duration::minutes(2), 10)
            .await
            .unwrap();
        assert_eq!(
            (retried.len(), retried[0].attempts),
            (1, 1),
            "{name}: only the failed one"
        );
        outbox.dead(retried[0].id, at, "gone").await.unwrap();
        assert!(
            outbox
                .claim(at + Duration::days(1), at + Duration::days(2), 10)
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
        assert_eq!(outbox.purge(at).await.unwrap(), 0, "{name}: not before");
        assert_eq!(
            outbox.purge(at + Duration::seconds(1)).await.unwrap(),
            2,
            "{name}"
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn a_reset_revokes_every_key_and_needs_the_enabled_account_at_its_address() {
    use warden_adapters::db::SeaOrmApiKeyRepository;
    use warden_domain::api_key::ApiKey;
    use warden_domain::ports::ApiKeyRepository;
    for t in backends().await {
        let name = t.name;
        let users = SeaOrmUserRepository::new(t.db.clone());
        let tokens = SeaOrmAccountTokenRepository::new(t.db.clone());
        let keys = SeaOrmApiKeyRepository::new(t.db.clone());
        let u = user("keys@example.com", Role::User);
        users.insert(&u, &audit()).await.unwrap();
        let key = ApiKey {
            id: Uuid::now_v7(),
            user_id: u.id,
            name: "planted".into(),
            prefix: "wdn_plantedkey01".into(),
            digest: "d".repeat(64),
            created_at: now(),
            expires_at: None,
            revoked_at: None,
            last_used_at: None,
        };
        keys.insert(&key, &audit()).await.unwrap();
        let hash = PasswordHash::new("$argon2id$reset".into());

        // Disabled: nothing changes, the link stays.
        let reset = token(u.id, TokenPurpose::PasswordReset, "keys@example.com", now());
        tokens.issue(&reset, &[], None, &event()).await.unwrap();
        let disable = UserChange {
            disabled: Some(true),
            ..UserChange::default()
        };
        users.update(u.id, disable, &audit()).await.unwrap();
        assert!(
            !tokens
                .redeem_reset(&reset, &hash, now(), &event())
                .await
                .unwrap(),
            "{name}"
        );
        assert!(
            tokens.find(&reset.digest).await.unwrap().is_some(),
            "{name}"
        );
        let enable = UserChange {
            disabled: Some(false),
            ..UserChange::default()
        };
        users.update(u.id, enable, &audit()).await.unwrap();

        // A link to an address the account no longer has.
        let elsewhere = token(u.id, TokenPurpose::PasswordReset, "old@example.com", now());
        tokens.issue(&elsewhere, &[], None, &event()).await.unwrap();
        assert!(
            !tokens
                .redeem_reset(&elsewhere, &hash, now(), &event())
                .await
                .unwrap(),
            "{name}"
        );

        let reset = token(u.id, TokenPurpose::PasswordReset, "KEYS@example.com", now());
        tokens.issue(&reset, &[], None, &event()).await.unwrap();
        assert!(
            tokens
                .redeem_reset(&reset, &hash, now(), &event())
                .await
                .unwrap(),
            "{name}"
        );
        let after = keys.find_by_id(key.id).await.unwrap().unwrap();
        assert!(
            after.revoked_at.is_some(),
            "{name}: the planted key is revoked"
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn an_address_change_dies_with_the_session_version_it_was_asked_under() {
    for t in backends().await {
        let name = t.name;
        let users = SeaOrmUserRepository::new(t.db.clone());
        let tokens = SeaOrmAccountTokenRepository::new(t.db.clone());
        let u = user("versions@example.com", Role::User);
        users.insert(&u, &audit()).await.unwrap();
        let stale = token(
            u.id,
            TokenPurpose::EmailChange,
            "taken-over@example.com",
            now(),
        );
        // Sessions end (a logout of every session) and then the link is stored, as a request
        // in flight during a reset would store it.
        let logout = UserChange {
            end_sessions: true,
            ..UserChange::default()
        };
        users.update(u.id, logout, &audit()).await.unwrap();
        tokens.issue(&stale, &[], None, &event()).await.unwrap();
        assert!(
            !tokens
                .redeem_email_change(&stale, now(), &event())
                .await
                .unwrap(),
            "{name}"
        );
        let fresh = AccountToken {
            session_version: 1,
            ..token(
                u.id,
                TokenPurpose::EmailChange,
                "moved-on@example.com",
                now(),
            )
        };
        tokens.issue(&fresh, &[], None, &event()).await.unwrap();
        assert!(
            tokens
                .redeem_email_change(&fresh, now(), &event())
                .await
                .unwrap(),
            "{name}"
        );
        t.finish().await;
    }
}
