//! Tests of the API-key rules against mocks of the ports.

use std::sync::{Arc, Mutex};

use secrecy::ExposeSecret;
use time::macros::datetime;

use super::*;
use crate::ports::{MockApiKeyRepository, MockClock, MockKeyDigester, MockRandom};
use crate::testing::bearer;
use crate::user::{Email, PasswordHash, Role, User};

const NOW: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);
/// The id of [`owner`].
const OWNER: Uuid = Uuid::from_u128(7);

fn owner(disabled: bool) -> User {
    User {
        id: Uuid::from_u128(7),
        email: Email::parse("o@example.com").unwrap(),
        display_name: None,
        role: Role::Service,
        disabled,
        password_hash: PasswordHash::new("h".into()),
        session_version: 0,
        created_at: NOW,
        updated_at: NOW,
        email_verified_at: None,
        mfa_enabled_at: None,
    }
}

fn digester() -> MockKeyDigester {
    let mut d = MockKeyDigester::new();
    d.expect_digest().returning(|s| format!("digest({s})"));
    d.expect_matches()
        .returning(|s, d| d == format!("digest({s})"));
    d
}

fn service(keys: MockApiKeyRepository) -> ApiKeyService {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(NOW);
    let mut random = MockRandom::new();
    let n = Mutex::new(0u8);
    random.expect_secret().returning(move || {
        let mut n = n.lock().unwrap();
        *n += 1;
        SecretString::from(format!("{}", char::from(b'a' + *n)).repeat(43))
    });
    random.expect_new_id().returning(|| Uuid::from_u128(99));
    ApiKeyService::new(
        Arc::new(keys),
        Arc::new(digester()),
        Arc::new(clock),
        Arc::new(random),
    )
}

fn stored(secret: &str) -> ApiKey {
    ApiKey {
        id: Uuid::from_u128(5),
        user_id: Uuid::from_u128(7),
        name: "ci".into(),
        prefix: prefix_of(secret).unwrap().to_owned(),
        digest: format!("digest({secret})"),
        created_at: NOW,
        expires_at: None,
        revoked_at: None,
        last_used_at: None,
    }
}

const KEY: &str = "wdn_lookup123456secretsecretsecretsecretsecretsec";

#[tokio::test]
async fn a_new_key_is_shown_once_and_stored_as_a_digest() {
    let inserted = Arc::new(Mutex::new(None));
    let seen = inserted.clone();
    let mut keys = MockApiKeyRepository::new();
    keys.expect_insert().times(1).returning(move |k, audit| {
        *seen.lock().unwrap() = Some((k.clone(), audit.clone()));
        Ok(())
    });
    let svc = service(keys);
    let made = svc
        .create(&bearer(owner(false)), OWNER, " deploy bot ", Some(30))
        .await
        .unwrap();
    let secret = made.secret.expose_secret();
    assert!(secret.starts_with("wdn_"));
    assert!(
        secret.len() >= 4 + 12 + 43,
        "at least 256 random bits: {secret}"
    );
    let (stored, audit) = inserted.lock().unwrap().clone().unwrap();
    assert_eq!(audit.kind, AuditKind::ApiKeyCreated);
    assert_eq!((audit.subject, audit.actor_id), (Some(OWNER), Some(OWNER)));
    assert_eq!(audit.details["key_id"], stored.id.to_string());
    assert!(
        !format!("{audit:?}").contains(secret),
        "the key is never in its event"
    );
    assert_eq!(stored.digest, format!("digest({secret})"));
    assert_eq!(stored.prefix, prefix_of(secret).unwrap());
    assert_eq!(stored.name, "deploy bot");
    assert_eq!(stored.expires_at, Some(NOW + Duration::days(30)));
}

#[tokio::test]
async fn names_and_expiries_are_bounded() {
    let svc = service(MockApiKeyRepository::new());
    for (name, days) in [
        ("", None),
        ("ok", Some(0)),
        ("ok", Some(3651)),
        (&*"n".repeat(101), None),
    ] {
        assert!(
            matches!(
                svc.create(&bearer(owner(false)), OWNER, name, days).await,
                Err(Error::Invalid(_))
            ),
            "{name:?} {days:?}"
        );
    }
}

#[tokio::test]
async fn a_live_key_authenticates_its_enabled_owner() {
    let mut keys = MockApiKeyRepository::new();
    keys.expect_find_by_prefix()
        .withf(|p| p == "wdn_lookup123456")
        .returning(|_| Ok(Some((stored(KEY), owner(false)))));
    keys.expect_touch().times(1).returning(|_, _| Ok(()));
    let svc = service(keys);
    let principal = svc.authenticate(KEY).await.unwrap();
    assert_eq!(principal.credential(), Credential::ApiKey);
    assert_eq!(principal.role(), Role::Service, "the owner's role");
    assert_eq!(principal.user().unwrap().id, OWNER);
}

#[tokio::test]
async fn unknown_wrong_revoked_expired_and_disabled_keys_are_refused() {
    let mut revoked = stored(KEY);
    revoked.revoked_at = Some(NOW - Duration::hours(1));
    let mut expired = stored(KEY);
    expired.expires_at = Some(NOW);
    let wrong_secret = format!("{}X", &KEY[..KEY.len() - 1]);
    let cases: Vec<(&str, Option<ApiKey>, bool, String)> = vec![
        ("unknown", None, false, KEY.into()),
        ("wrong secret", Some(stored(KEY)), false, wrong_secret),
        ("revoked", Some(revoked), false, KEY.into()),
        ("expired", Some(expired), false, KEY.into()),
        ("disabled owner", Some(stored(KEY)), true, KEY.into()),
        ("not a key", None, false, "Bearer abc".into()),
    ];
    for (name, found, disabled, presented) in cases {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_by_prefix()
            .returning(move |_| Ok(found.clone().map(|k| (k, owner(disabled)))));
        keys.expect_touch().never();
        let svc = service(keys);
        assert!(
            matches!(svc.authenticate(&presented).await, Err(Error::InvalidToken)),
            "{name}"
        );
    }
}

#[tokio::test]
async fn last_use_is_written_at_most_once_a_minute() {
    let mut recent = stored(KEY);
    recent.last_used_at = Some(NOW - Duration::seconds(59));
    let mut keys = MockApiKeyRepository::new();
    keys.expect_find_by_prefix()
        .returning(move |_| Ok(Some((recent.clone(), owner(false)))));
    keys.expect_touch().never();
    let svc = service(keys);
    svc.authenticate(KEY).await.unwrap();
}

#[tokio::test]
async fn another_users_key_is_not_found_and_listing_shows_live_keys_only() {
    let mut revoked = stored(KEY);
    revoked.id = Uuid::from_u128(6);
    revoked.revoked_at = Some(NOW);
    let mut keys = MockApiKeyRepository::new();
    keys.expect_find_by_id()
        .returning(|_| Ok(Some(stored(KEY))));
    keys.expect_revoke()
        .withf(|id, at, audit| {
            audit.kind == AuditKind::ApiKeyRevoked
                && audit.details["key_id"] == id.to_string()
                && audit.subject == Some(OWNER)
                && audit.at == *at
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    let all = vec![stored(KEY), revoked];
    keys.expect_list_for_user()
        .returning(move |_| Ok(all.clone()));
    let svc = service(keys);
    let mut stranger = owner(false);
    stranger.id = Uuid::from_u128(8);
    stranger.role = Role::Admin;
    assert!(
        matches!(
            svc.revoke(&bearer(stranger), Uuid::from_u128(5)).await,
            Err(Error::NotFound)
        ),
        "not even an admin's"
    );
    let caller = bearer(owner(false));
    svc.revoke(&caller, Uuid::from_u128(5)).await.unwrap();
    assert_eq!(svc.list(&caller, OWNER).await.unwrap().len(), 1);
}

#[test]
fn only_key_shaped_strings_have_a_prefix() {
    assert_eq!(prefix_of(KEY), Some("wdn_lookup123456"));
    for bad in [
        "",
        "wdn_",
        "wdn_short",
        "xyz_lookup123456secretsecretsecretsecret",
        "wdn_lookup123456 secret secret secret secret",
    ] {
        assert_eq!(prefix_of(bad), None, "{bad:?}");
    }
}

#[test]
fn a_key_is_live_until_its_expiry_and_never_once_revoked() {
    let mut key = stored(KEY);
    key.expires_at = Some(NOW);
    assert!(key.is_live(NOW - Duration::seconds(1)));
    assert!(!key.is_live(NOW), "expired at its expiry");
    assert!(!key.is_live(NOW + Duration::seconds(1)));
    key.expires_at = None;
    assert!(key.is_live(NOW + Duration::days(10_000)));
    key.revoked_at = Some(NOW);
    assert!(!key.is_live(NOW - Duration::seconds(1)));
}

#[test]
fn a_prefix_is_read_from_url_safe_characters_only() {
    let lookup = "ab-_CD12ef34";
    let secret = "s".repeat(21);
    for (key, ok) in [
        (format!("wdn_{lookup}{secret}-"), true),
        (format!("wdn_{lookup}{secret}_"), true),
        (format!("wdn_{lookup}{secret}9"), true),
        (format!("wdn_{lookup}{secret}."), false),
        (format!("wdn_{lookup}{secret}="), false),
        (format!("wdn_{lookup}{secret}"), false),
        (format!("wdn_ab.-CD12ef34{secret}x"), false),
    ] {
        assert_eq!(prefix_of(&key).is_some(), ok, "{key}");
    }
    assert_eq!(
        prefix_of(&format!("wdn_{lookup}{secret}-")),
        Some(&*format!("wdn_{lookup}"))
    );
}

#[tokio::test]
async fn a_name_of_exactly_the_limit_is_taken() {
    let mut keys = MockApiKeyRepository::new();
    keys.expect_insert().times(1).returning(|_, _| Ok(()));
    let svc = service(keys);
    let name = "é".repeat(100);
    let made = svc
        .create(&bearer(owner(false)), OWNER, &name, None)
        .await
        .unwrap();
    assert_eq!(made.key.name, name);
}

#[test]
fn the_service_debugs_without_its_ports() {
    assert_eq!(
        format!("{:?}", service(MockApiKeyRepository::new())),
        "ApiKeyService { .. }"
    );
}
