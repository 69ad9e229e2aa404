//! Tests of loading and checking the configuration, through figment's `Jail`.

// figment::Jail closures return figment::Error, which is large; that is its API.
#![allow(clippy::result_large_err)]

use figment::Jail;

use super::*;

const GOOD_SECRET: &str = "q3V8xZ1mR7tK2pW9yB4nL6cF0hJ5sD8g";

fn load_err(jail: &mut Jail, toml: &str) -> String {
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
            (s.jwt.issuer.as_str(), s.jwt.audience.as_str()),
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
        assert_eq!(s.jwt.issuer, "env");
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
            "[jwt]\nsecret = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
            "jwt.secret",
        ),
        (
            "[jwt]\nsecret = \"change-me-change-me-change-me-change-me\"",
            "jwt.secret",
        ),
        (
            "[jwt]\nsecret = \"secret-secret-secret-secret-secret-1234\"",
            "jwt.secret",
        ),
        (
            "profile = \"production\"\n[jwt]\nalgorithm = \"EdDSA\"",
            "jwt.private_key_file",
        ),
        ("[jwt]\nalgorithm = \"RS256\"", "jwt.algorithm"),
        (
            "profile = \"production\"\n[jwt]\nsecret = \"q3V8xZ1mR7tK2pW9yB4nL6cF0hJ5sD8g\"\n[cors]\nallowed_origins = [\"*\"]",
            "cors.allowed_origins",
        ),
        ("[database]\nurl = \"mysql://x\"", "database.url"),
        (
            "[cors]\nallowed_origins = [\"https://app.example/\"]",
            "cors.allowed_origins",
        ),
        (
            "[cors]\nallowed_origins = [\"app.example\"]",
            "cors.allowed_origins",
        ),
        (
            "[cors]\nallowed_methods = [\"get\"]",
            "cors.allowed_methods",
        ),
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
fn a_good_random_secret_is_accepted() {
    assert_eq!(hs256_secret_weakness(GOOD_SECRET), None);
    assert_eq!(
        hs256_secret_weakness(&"ab".repeat(20)),
        Some("is trivially weak (too few distinct characters)")
    );
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
fn edge_timeouts_and_the_connection_cap_are_refused_at_zero_and_taken_at_one() {
    for key in [
        "header_timeout_seconds",
        "body_timeout_seconds",
        "keep_alive_timeout_seconds",
        "max_connections",
    ] {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let err = load_err(jail, &format!("[server]\n{key} = 0"));
            assert!(err.starts_with(&format!("server.{key}")), "{err}");
            jail.create_file("warden.toml", &format!("[server]\n{key} = 1"))?;
            Settings::load().unwrap();
            Ok(())
        });
    }
    for key in [
        "header_timeout_seconds",
        "body_timeout_seconds",
        "keep_alive_timeout_seconds",
    ] {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file("warden.toml", &format!("[server]\n{key} = 3600"))?;
            Settings::load().unwrap();
            let err = load_err(jail, &format!("[server]\n{key} = 3601"));
            assert!(err.starts_with(&format!("server.{key}")), "{err}");
            Ok(())
        });
    }
    Jail::expect_with(|jail| {
        jail.clear_env();
        let err = load_err(jail, "[server]\nmax_connections = -1");
        assert!(err.starts_with("server.max_connections"), "{err}");
        Ok(())
    });
}

#[test]
fn cors_allowed_headers_must_be_header_names_and_are_never_echoed() {
    for bad in ["", "X Requested", "X-Evil:\\u0000", "Authorizatión", "a,b"] {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let err = load_err(
                jail,
                &format!("[cors]\nallowed_headers = [\"Authorization\", \"{bad}\"]"),
            );
            assert!(err.starts_with("cors.allowed_headers"), "{err}");
            assert!(err.contains("entry 2"), "{err}");
            if !bad.is_empty() {
                assert!(!err.contains(bad), "the value is echoed: {err}");
            }
            Ok(())
        });
    }
    Jail::expect_with(|jail| {
        jail.clear_env();
        jail.create_file(
            "warden.toml",
            "[cors]\nallowed_headers = [\"x-custom_header\", \"X-Requested-With\"]",
        )?;
        let s = Settings::load().unwrap();
        assert_eq!(s.cors.allowed_headers.len(), 2);
        Ok(())
    });
}
