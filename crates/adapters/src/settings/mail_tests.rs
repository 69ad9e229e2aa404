//! Tests of `mail.*` and the settings of the flows by mail: refusals that name their key and
//! never quote a password, and the defaults of each profile.

// figment::Jail closures return figment::Error, which is large; that is its API.
#![allow(clippy::result_large_err)]

use figment::Jail;

use super::super::tests::load_err;
use super::super::{MailTransportKind, Rate, RatePeriod, Settings};

/// A production configuration that starts: a strong HS256 key, the rest as given.
const PRODUCTION: &str =
    "profile = \"production\"\n[jwt]\nsecret = \"q3V8xZ1mR7tK2pW9yB4nL6cF0hJ5sD8g\"\n";

#[test]
fn mail_refusals_name_their_setting_and_never_quote_a_password() {
    let cases: &[(String, &str)] = &[
        (
            format!("{PRODUCTION}[mail]\ntransport = \"file\""),
            "mail.transport",
        ),
        (
            format!("{PRODUCTION}[mail]\nsmtp_url = \"smtp://u:pw@mail.example.com\""),
            "server.public_url",
        ),
        ("[mail]\ntransport = \"smtp\"".into(), "mail.smtp_url"),
        (
            "[mail]\nsmtp_url = \"http://u:sekrit@h\"".into(),
            "mail.smtp_url",
        ),
        (
            "[mail]\nsmtp_url = \"smtps://u:sekrit@h?tls=none\"".into(),
            "mail.smtp_url",
        ),
        (
            "[server]\npublic_url = \"ftp://auth.example.com\"".into(),
            "server.public_url",
        ),
        (
            format!("{PRODUCTION}[server]\npublic_url = \"http://auth.example.com\""),
            "server.public_url",
        ),
        (
            "[server]\npublic_url = \"https://auth.example.com/?a=b\"".into(),
            "server.public_url",
        ),
        (
            "[server]\npublic_url = \"https://u:p@auth.example.com\"".into(),
            "server.public_url",
        ),
        (
            "[server]\npublic_url = \"auth.example.com\"".into(),
            "server.public_url",
        ),
        (
            "[mail]\ntransport = \"off\"\n[auth]\nrequire_verified_email = true".into(),
            "auth.require_verified_email",
        ),
        (
            "[mail]\nreset_ttl_seconds = 59".into(),
            "mail.reset_ttl_seconds",
        ),
        (
            "[mail]\nreset_ttl_seconds = 86401".into(),
            "mail.reset_ttl_seconds",
        ),
        (
            "[mail]\nverify_ttl_seconds = 59".into(),
            "mail.verify_ttl_seconds",
        ),
        ("[mail]\ntimeout_seconds = 0".into(), "mail.timeout_seconds"),
        ("[mail]\nmax_attempts = 101".into(), "mail.max_attempts"),
        ("[mail]\nfrom = \"not an address\"".into(), "mail.from"),
        ("[mail]\nfrom = \"\"".into(), "mail.from"),
    ];
    for (toml, key) in cases {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let err = load_err(jail, toml);
            assert!(
                err.starts_with(key),
                "{toml:?} gave {err:?}, expected {key}"
            );
            assert!(!err.contains("sekrit") && !err.contains('\n'), "{err:?}");
            Ok(())
        });
    }
}

#[test]
fn mail_defaults_follow_the_profile_and_the_edges_are_accepted() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        let s = Settings::load().unwrap();
        assert_eq!(s.mail_transport(), MailTransportKind::File);
        assert!(s.mail_enabled() && s.verify_email());
        assert_eq!(s.public_url(), "http://127.0.0.1:8080");
        assert_eq!(s.rate_limit.mail, Rate::new(5, RatePeriod::Hour));
        assert_eq!(
            (s.mail.verify_ttl_seconds, s.mail.reset_ttl_seconds),
            (86_400, 1_800)
        );

        jail.create_file("warden.toml", PRODUCTION)?;
        let s = Settings::load().unwrap();
        assert_eq!(
            s.mail_transport(),
            MailTransportKind::Off,
            "production without SMTP"
        );
        assert!(!s.mail_enabled() && !s.verify_email());

        let edges = format!(
            "{PRODUCTION}[server]\npublic_url = \"https://auth.example.com/\"\n[mail]\nsmtp_url = \"smtps://u:sekrit@mail.example.com\"\nreset_ttl_seconds = 86400\nverify_ttl_seconds = 60\ntimeout_seconds = 300\nmax_attempts = 1\n[auth]\nverify_email = false\nrequire_verified_email = true"
        );
        jail.create_file("warden.toml", &edges)?;
        let s = Settings::load().unwrap();
        assert_eq!(s.mail_transport(), MailTransportKind::Smtp);
        assert_eq!(s.public_url(), "https://auth.example.com");
        assert!(!s.verify_email());
        let printed = s.to_redacted_toml().unwrap();
        assert!(
            !printed.contains("sekrit") && printed.contains("smtps://"),
            "{printed}"
        );
        Ok(())
    });
}
