//! The wire shapes the CLI prints too: exactly the documented fields, RFC 3339 times, and never
//! a hash, digest or secret.

use time::macros::datetime;
use warden_domain::user::{DisplayName, Email, PasswordHash};

use super::*;

const T: OffsetDateTime = datetime!(2026-01-02 03:04:05 UTC);

fn user(name: Option<&str>) -> User {
    User {
        id: Uuid::nil(),
        email: Email::parse("Ann@Example.com").unwrap(),
        display_name: name.map(|n| DisplayName::parse(n).unwrap()),
        role: Role::Admin,
        disabled: false,
        password_hash: PasswordHash::new("$argon2id$v=19$hash".into()),
        session_version: 0,
        created_at: T,
        updated_at: T,
        email_verified_at: None,
        mfa_enabled_at: None,
    }
}

fn sorted_keys(value: &serde_json::Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[test]
fn a_user_has_the_documented_fields_and_no_hash() {
    let json = users_json(&[user(None), user(Some("Zoë"))]);
    assert_eq!(
        sorted_keys(&json[0]),
        [
            "created_at",
            "disabled",
            "display_name",
            "email",
            "email_verified",
            "email_verified_at",
            "id",
            "mfa_enabled",
            "role",
            "updated_at"
        ]
    );
    assert_eq!(json[0]["email"], "Ann@Example.com");
    assert_eq!(json[0]["role"], "admin");
    assert_eq!(json[0]["disabled"], false);
    assert_eq!(json[0]["display_name"], serde_json::Value::Null);
    assert_eq!(json[1]["display_name"], "Zoë");
    assert_eq!(json[0]["created_at"], "2026-01-02T03:04:05Z");
    assert_eq!(json[0]["id"], "00000000-0000-0000-0000-000000000000");
    assert!(!json.to_string().contains("argon2"));
}

#[test]
fn a_key_has_the_documented_fields_and_neither_digest_nor_owner() {
    let key = ApiKey {
        id: Uuid::nil(),
        user_id: Uuid::max(),
        name: "ci".into(),
        prefix: "wdn_AbCdEfGhIjKl".into(),
        digest: "the-digest-of-the-secret".into(),
        created_at: T,
        expires_at: None,
        revoked_at: None,
        last_used_at: Some(T),
    };
    let json = keys_json(&[key]);
    assert_eq!(
        sorted_keys(&json[0]),
        [
            "created_at",
            "expires_at",
            "id",
            "last_used_at",
            "name",
            "prefix"
        ]
    );
    assert_eq!(json[0]["expires_at"], serde_json::Value::Null);
    assert_eq!(json[0]["last_used_at"], "2026-01-02T03:04:05Z");
    assert!(!json.to_string().contains("digest"));
}

#[test]
fn every_audit_kind_can_be_asked_for_by_its_own_name() {
    use poem_openapi::types::ParseFromParameter as _;
    for kind in AuditKind::ALL {
        let dto = AuditTypeDto::parse_from_parameter(kind.as_str()).unwrap();
        assert_eq!(AuditKind::from(dto), kind);
    }
}
