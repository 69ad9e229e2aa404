//! Tests of `oauth.*` and the issuer: the issuer's default and its rules, and the default
//! client's id at its edges.

// figment::Jail closures return figment::Error, which is large; that is its API.
#![allow(clippy::result_large_err)]

use figment::Jail;

use super::super::tests::load_err;
use super::super::{Profile, Settings};

const PRODUCTION: &str =
    "profile = \"production\"\n[jwt]\nsecret = \"q3V8xZ1mR7tK2pW9yB4nL6cF0hJ5sD8g\"\n";

#[test]
fn the_issuer_is_jwt_issuer_else_the_public_url_else_warden() {
    let mut s = Settings::default();
    assert_eq!(s.issuer(), "warden");
    s.server.public_url = Some("https://id.example.com/".into());
    assert_eq!(s.issuer(), "https://id.example.com", "no trailing slash");
    s.jwt.issuer = Some("https://other.example/".into());
    assert_eq!(s.issuer(), "https://other.example/", "as written");
    s.jwt.issuer = Some("warden".into());
    assert_eq!(s.issuer(), "warden");
}

#[test]
fn an_issuer_that_names_a_url_must_be_one_and_https_in_production() {
    let mut s = Settings::default();
    for good in [
        "warden",
        "urn:example:issuer",
        "http://127.0.0.1:8080",
        "https://id.example.com/tenant",
    ] {
        s.jwt.issuer = Some(good.into());
        assert!(s.validate_oauth().is_ok(), "{good}");
    }
    for bad in [
        "",
        "  ",
        "https://",
        "https://id.example.com?x=1",
        "https://id.example.com#f",
        "https://u:p@id.example.com",
    ] {
        s.jwt.issuer = Some(bad.into());
        let refused = s.validate_oauth().unwrap_err().to_string();
        assert!(refused.contains("jwt.issuer"), "{bad}: {refused}");
        assert!(!refused.contains("u:p"), "never quoted");
    }
    s.profile = Profile::Production;
    s.jwt.issuer = Some("http://id.example.com".into());
    assert!(
        s.validate_oauth()
            .unwrap_err()
            .to_string()
            .contains("https")
    );
    s.jwt.issuer = Some("https://id.example.com".into());
    assert!(s.validate_oauth().is_ok());
}

#[test]
fn the_default_client_is_1_to_64_unreserved_characters_and_no_uuid() {
    let mut s = Settings::default();
    for good in ["warden", "a", "A-b.c_d~9", &"x".repeat(64)] {
        s.oauth.default_client = good.into();
        assert!(s.validate_oauth().is_ok(), "{good}");
    }
    for bad in [
        "",
        "a b",
        "a/b",
        "é",
        &"x".repeat(65),
        "01970000-0000-7000-8000-000000000000",
    ] {
        s.oauth.default_client = bad.into();
        let refused = s.validate_oauth().unwrap_err().to_string();
        assert!(refused.contains("oauth.default_client"), "{bad}: {refused}");
    }
}

#[test]
fn a_bad_issuer_stops_the_load_in_production_too() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        let refused = load_err(
            jail,
            &format!("{PRODUCTION}issuer = \"http://id.example.com\""),
        );
        // `issuer` above lands in [jwt], the section PRODUCTION ends with.
        assert!(refused.contains("jwt.issuer"), "{refused}");
        Ok(())
    });
}
