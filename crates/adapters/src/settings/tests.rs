//! Tests of loading and checking the configuration, through figment's `Jail`.

// figment::Jail closures return figment::Error, which is large; that is its API.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use figment::Jail;
use secrecy::{ExposeSecret, SecretString};

use super::*;

const GOOD_SECRET: &str = "q3V8xZ1mR7tK2pW9yB4nL6cF0hJ5sD8g";

pub(super) fn load_err(jail: &mut Jail, toml: &str) -> String {
    jail.create_file("warden.toml", toml).unwrap();
    Settings::load().unwrap_err().to_string()
}

#[test]
fn no_configuration_at_all_gives_the_documented_defaults() {
    Jail::expect_with(|jail| {
        // Hermetic: no WARDEN_* variable of the caller's shell or CI leaks in.
        jail.clear_env();
        let s = Settings::load().unwrap();
        assert_eq!(s.profile, Profile::Development);
        assert_eq!(s.server.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.server.max_body_bytes, 65_536);
        assert_eq!(s.database.url, "sqlite://warden.db?mode=rwc");
        assert_eq!(s.jwt.algorithm, JwtAlgorithm::HS256);
        assert_eq!(
            (s.issuer().as_str(), s.jwt.audience.as_str()),
            ("warden", "warden")
        );
        assert_eq!(
            (s.jwt.access_ttl_seconds, s.jwt.refresh_ttl_seconds),
            (900, 2_592_000)
        );
        assert_eq!(s.rate_limit.login, Rate::new(10, RatePeriod::Minute));
        assert!(s.docs_enabled());
        assert!(s.auth.allow_registration);
        Ok(())
    });
}

#[test]
fn the_environment_overrides_the_file_which_overrides_defaults() {
    Jail::expect_with(|jail| {
        // Hermetic: no WARDEN_* variable of the caller's shell or CI leaks in.
        jail.clear_env();
        jail.create_file(
            "custom.toml",
            "[server]\nbind = \"127.0.0.1:9000\"\nmax_body_bytes = 10\n[jwt]\nissuer = \"file\"",
        )?;
        jail.set_env("WARDEN_CONFIG", "custom.toml");
        jail.set_env("WARDEN_JWT__ISSUER", "env");
        jail.set_env("WARDEN_SERVER__TRUSTED_PROXIES", "[\"10.0.0.0/8\"]");
        let s = Settings::load().unwrap();
        assert_eq!(s.server.bind.port(), 9000);
        assert_eq!(s.server.max_body_bytes, 10);
        assert_eq!(s.jwt.issuer.as_deref(), Some("env"));
        assert_eq!(s.server.trusted_proxies[0].to_string(), "10.0.0.0/8");
        Ok(())
    });
}

#[test]
fn a_numeric_secret_from_the_environment_is_still_a_secret() {
    Jail::expect_with(|jail| {
        // Hermetic: no WARDEN_* variable of the caller's shell or CI leaks in.
        jail.clear_env();
        jail.set_env("WARDEN_JWT__SECRET", "1234567890123456789");
        // Parsed as a number, then refused as too short, not as a type error.
        let err = Settings::load().unwrap_err().to_string();
        assert!(
            err.starts_with("jwt.secret: must be at least 32 bytes"),
            "{err}"
        );
        Ok(())
    });
}

#[test]
fn every_refusal_names_its_setting() {
    let cases: &[(&str, &str)] = &[
        ("[jwt]\nsecrte = \"x\"", "jwt.secrte"),
        ("profile = \"staging\"", "profile"),
        (
            "[server]\nmax_body_bytes = \"lots\"",
            "server.max_body_bytes",
        ),
        ("[server]\nbind = \"nowhere\"", "server.bind"),
        ("profile = \"production\"", "jwt.secret"),
        ("[jwt]\nsecret = \"too-short\"", "jwt.secret"),
        (
            "profile = \"production\"\n[jwt]\nsecret = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
            "jwt.secret",
        ),
        (
            "profile = \"production\"\n[jwt]\nsecret = \"change-me-change-me-change-me-change-me\"",
            "jwt.secret",
        ),
        (
            "profile = \"production\"\n[jwt]\nsecret = \"secret-secret-secret-secret-secret-1234\"",
            "jwt.secret",
        ),
        (
            "[database]\nacquire_timeout_ms = 0",
            "database.acquire_timeout_ms",
        ),
        (
            "[database]\nstatement_timeout_ms = 0",
            "database.statement_timeout_ms",
        ),
        (
            "profile = \"production\"\n[jwt]\nalgorithm = \"EdDSA\"",
            "jwt.private_key_file",
        ),
        ("[jwt]\nalgorithm = \"RS256\"", "jwt.private_key_file"),
        ("[jwt]\nalgorithm = \"RS512\"", "jwt.algorithm"),
        ("[database]\nurl = \"mysql://x\"", "database.url"),
        ("[password]\nmin_length = 4", "password.min_length"),
        (
            "[rate_limit]\nlogin = \"ten per minute\"",
            "rate_limit.login",
        ),
        ("[rate_limit]\nlogin = \"0/minute\"", "rate_limit.login"),
        ("[jwt]\naccess_ttl_seconds = 0", "jwt.access_ttl_seconds"),
        (
            "profile = \"production\"\n[jwt]\nsecret = \"q3V8xZ1mR7tK2pW9yB4nL6cF0hJ5sD8g\"\n[argon2]\nmemory_kib = 1024",
            "argon2.memory_kib",
        ),
    ];
    for (toml, key) in cases {
        Jail::expect_with(|jail| {
            // Hermetic: no WARDEN_* variable of the caller's shell or CI leaks in.
            jail.clear_env();
            let err = load_err(jail, toml);
            assert!(
                err.starts_with(key),
                "{toml:?} gave {err:?}, expected it to name {key}"
            );
            assert!(!err.contains('\n'), "one line: {err:?}");
            Ok(())
        });
    }
}

#[test]
fn an_unknown_environment_variable_is_named_but_warden_config_is_not_a_key() {
    Jail::expect_with(|jail| {
        // Hermetic: no WARDEN_* variable of the caller's shell or CI leaks in.
        jail.clear_env();
        jail.create_file("w.toml", "")?;
        jail.set_env("WARDEN_CONFIG", "w.toml");
        assert!(Settings::load().is_ok());
        jail.set_env("WARDEN_JWT__SECRTE", "x");
        let err = Settings::load().unwrap_err().to_string();
        assert!(err.starts_with("jwt.secrte"), "{err}");
        Ok(())
    });
}

#[test]
fn a_missing_config_file_named_by_warden_config_is_an_error() {
    Jail::expect_with(|jail| {
        // Hermetic: no WARDEN_* variable of the caller's shell or CI leaks in.
        jail.clear_env();
        jail.set_env("WARDEN_CONFIG", "missing.toml");
        let err = Settings::load().unwrap_err().to_string();
        assert!(err.starts_with("WARDEN_CONFIG"), "{err}");
        Ok(())
    });
}

#[test]
fn production_turns_docs_off_unless_asked() {
    Jail::expect_with(|jail| {
        // Hermetic: no WARDEN_* variable of the caller's shell or CI leaks in.
        jail.clear_env();
        jail.set_env("WARDEN_PROFILE", "production");
        jail.set_env("WARDEN_JWT__SECRET", GOOD_SECRET);
        assert!(!Settings::load().unwrap().docs_enabled());
        jail.set_env("WARDEN_DOCS__ENABLED", "true");
        assert!(Settings::load().unwrap().docs_enabled());
        Ok(())
    });
}

#[test]
fn the_printed_configuration_hides_secrets_and_omits_unset_keys() {
    Jail::expect_with(|jail| {
        // Hermetic: no WARDEN_* variable of the caller's shell or CI leaks in.
        jail.clear_env();
        jail.set_env("WARDEN_JWT__SECRET", GOOD_SECRET);
        jail.set_env(
            "WARDEN_DATABASE__URL",
            "postgres://app:hunter2hunter2@db/warden",
        );
        let out = Settings::load().unwrap().to_redacted_toml().unwrap();
        assert!(!out.contains(GOOD_SECRET), "{out}");
        assert!(!out.contains("hunter2"), "{out}");
        assert!(out.contains("secret = \"[redacted]\""), "{out}");
        assert!(
            out.contains("url = \"postgres://app:[redacted]@db/warden\""),
            "{out}"
        );
        assert!(!out.contains("private_key_file"), "{out}");
        assert!(out.contains("login = \"10/minute\""), "{out}");
        // What is printed loads back as the same configuration, secrets aside.
        let reread: Settings = toml::from_str(&out).unwrap();
        assert_eq!(reread.rate_limit.login, Rate::new(10, RatePeriod::Minute));
        Ok(())
    });
}

#[test]
fn a_good_random_secret_is_accepted_in_production() {
    let mut s = Settings {
        profile: Profile::Production,
        ..Settings::default()
    };
    s.jwt.secret = Some(SecretString::from(GOOD_SECRET));
    s.validate().unwrap();
    assert!(s.warnings().is_empty(), "{:?}", s.warnings());
}

/// The secrets production accepted before (issue 11): jwt.io's published example, a run, a
/// hex run twice, and a repeated 8-character block.
const ONCE_ACCEPTED: &[&str] = &[
    "a-string-secret-at-least-256-bits-long",
    "abcdefghijklmnopqrstuvwxyz012345",
    "0123456789abcdef0123456789abcdef",
    "Xk9#mQ2vXk9#mQ2vXk9#mQ2vXk9#mQ2v",
];

#[test]
fn weak_secrets_are_refused_in_production_and_warned_of_in_development() {
    for weak in ONCE_ACCEPTED {
        let mut s = Settings::default();
        s.jwt.secret = Some(SecretString::from(*weak));
        s.validate().unwrap();
        let warnings = s.warnings();
        assert!(
            warnings.len() == 1 && warnings[0].starts_with("jwt.secret: "),
            "{weak}: {warnings:?}"
        );
        assert!(!warnings[0].contains(weak), "the warning quotes the secret");
        s.profile = Profile::Production;
        let err = s.validate().unwrap_err().to_string();
        assert!(err.starts_with("jwt.secret: "), "{weak}: {err}");
        assert!(!err.contains(weak), "the refusal quotes the secret: {err}");
    }
}

#[test]
fn a_short_secret_is_refused_in_every_profile() {
    let mut s = Settings::default();
    s.jwt.secret = Some(SecretString::from("q3V8xZ1mR7tK2pW9yB4nL6cF0hJ5sD8"));
    assert!(
        s.validate()
            .unwrap_err()
            .to_string()
            .starts_with("jwt.secret: must be at least 32 bytes")
    );
}

#[test]
fn every_generated_key_passes_in_production() {
    let mut s = Settings {
        profile: Profile::Production,
        ..Settings::default()
    };
    for _ in 0..2_000 {
        let key = crate::keys::generate_hs256_secret();
        let bits = warden_domain::secret_strength::estimated_entropy_bits(key.expose_secret());
        assert!(bits > 200.0, "a generated key is estimated at {bits} bits");
        s.jwt.secret = Some(key);
        s.validate().unwrap();
    }
}

#[test]
fn database_timeouts_are_bounded_at_both_ends() {
    let at = |acquire: u64, statement: u64| {
        let mut s = Settings::default();
        s.database.acquire_timeout_ms = acquire;
        s.database.statement_timeout_ms = statement;
        s.validate().map_err(|e| e.to_string())
    };
    let d = Settings::default();
    assert_eq!(
        (
            d.database.acquire_timeout_ms,
            d.database.statement_timeout_ms
        ),
        (2_000, 5_000)
    );
    for ok in [(100, 100), (60_000, 3_600_000)] {
        assert!(at(ok.0, ok.1).is_ok(), "{ok:?}");
    }
    for (acquire, statement, key) in [
        (0, 5_000, "database.acquire_timeout_ms"),
        (99, 5_000, "database.acquire_timeout_ms"),
        (60_001, 5_000, "database.acquire_timeout_ms"),
        (u64::MAX, 5_000, "database.acquire_timeout_ms"),
        (2_000, 0, "database.statement_timeout_ms"),
        (2_000, 99, "database.statement_timeout_ms"),
        (2_000, 3_600_001, "database.statement_timeout_ms"),
    ] {
        let err = at(acquire, statement).unwrap_err();
        assert!(err.starts_with(key), "{acquire}/{statement}: {err}");
    }
    let mut s = Settings::default();
    s.database.acquire_timeout_ms = 250;
    s.database.statement_timeout_ms = 750;
    assert_eq!(
        s.database_timeouts(),
        crate::db::Timeouts {
            acquire: Duration::from_millis(250),
            statement: Duration::from_millis(750),
        }
    );
}

#[test]
fn a_trusted_proxy_of_everything_is_warned_of() {
    for everything in ["0.0.0.0/0", "::/0"] {
        let mut s = Settings::default();
        s.server.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap(), everything.parse().unwrap()];
        let warnings = s.warnings();
        assert!(
            warnings.len() == 1 && warnings[0].starts_with("server.trusted_proxies: "),
            "{everything}: {warnings:?}"
        );
    }
    let mut s = Settings::default();
    s.server.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
    assert!(s.warnings().is_empty());
}

#[test]
fn a_toml_syntax_error_names_the_key_and_position_never_the_line() {
    let secret = "Zq8-hunter2-unterminated-TOPSECRET-value";
    for (toml, key, line) in [
        (format!("[jwt]\nsecret = \"{secret}\n"), "jwt.secret", 2),
        (
            format!("[jwt]\nissuer = \"x\"\nsecret = {secret}\n"),
            "jwt.secret",
            3,
        ),
        (
            format!("[database]\nurl = \"postgres://u:{secret}@db/w\" x\n"),
            "database.url",
            2,
        ),
        (
            format!("profile = \"development\"\nsecret = \"{secret}\n"),
            "secret",
            2,
        ),
    ] {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let err = load_err(jail, &toml);
            assert!(
                !err.contains("TOPSECRET") && !err.contains("hunter2"),
                "{err}"
            );
            assert!(
                err.contains(&format!("line {line}")) && err.contains("column"),
                "{err}"
            );
            assert!(err.contains(&format!("`{key}`")), "{toml:?} gave {err}");
            assert!(!err.contains('\n'), "one line: {err:?}");
            Ok(())
        });
    }
}

#[test]
fn a_wrong_typed_value_is_never_quoted() {
    for (toml, key) in [
        ("[database]\nurl = 123456789012345", "database.url"),
        (
            "[database]\nmax_connections = \"TOPSECRET-hunter2\"",
            "database.max_connections",
        ),
        ("[redis]\nurl = 987654321987654", "redis.url"),
        ("[jwt]\nsecret = [\"TOPSECRET-hunter2\"]", "jwt.secret"),
        (
            "[jwt]\nsecret = { v = \"TOPSECRET-hunter2\" }",
            "jwt.secret",
        ),
        ("profile = \"TOPSECRET-hunter2\"", "profile"),
        ("[server]\nbind = \"TOPSECRET-hunter2\"", "server.bind"),
        (
            "[rate_limit]\nlogin = \"TOPSECRET-hunter2\"",
            "rate_limit.login",
        ),
    ] {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let err = load_err(jail, toml);
            assert!(err.starts_with(key), "{toml:?} gave {err}");
            for quoted in ["TOPSECRET", "hunter2", "123456789012345", "987654321987654"] {
                assert!(!err.contains(quoted), "{toml:?} gave {err}");
            }
            Ok(())
        });
    }
}

#[test]
fn the_edge_defaults_guard_against_slow_clients() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        let s = Settings::load().unwrap();
        assert_eq!(s.server.header_timeout_seconds, 10);
        assert_eq!(s.server.body_timeout_seconds, 10);
        assert_eq!(s.server.keep_alive_timeout_seconds, 30);
        assert_eq!(s.server.max_connections, 1024);
        assert_eq!(
            s.cors.allowed_headers,
            [
                "Authorization",
                "Content-Type",
                "X-API-Key",
                "X-Requested-With"
            ]
        );
        Ok(())
    });
}

#[test]
fn a_negative_connection_cap_is_a_type_error_naming_the_key() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        let err = load_err(jail, "[server]\nmax_connections = -1");
        assert!(err.starts_with("server.max_connections"), "{err}");
        Ok(())
    });
}
