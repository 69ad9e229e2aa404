//! The settings the API reads reach its rules under their own names: each `server.*` and
//! `cors.*` key, written in a configuration file, is refused by the API's validation under that
//! key (just outside its bound) and taken at its edge (just inside), and production refuses
//! `"*"` as an origin.

use std::io::Write as _;

use warden_adapters::Settings;
use warden_server::api_config;

/// The key the API refuses for this file, or `None` when it takes it.
fn refused_key(toml: &str) -> Option<&'static str> {
    let mut file = tempfile();
    file.1.write_all(toml.as_bytes()).unwrap();
    let settings = Settings::load_from(Some(&file.0)).expect("the adapters take the file");
    let refused = api_config(&settings).validate().err().map(|e| e.key);
    std::fs::remove_file(&file.0).unwrap();
    refused
}

fn tempfile() -> (std::path::PathBuf, std::fs::File) {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!(
        "warden-api-settings-{}-{n}.toml",
        std::process::id()
    ));
    let file = std::fs::File::create(&path).unwrap();
    (path, file)
}

const STRONG_SECRET: &str = "q3V8xZ1mR7tK2pW9yB4nL6cF0hJ5sD8g";

#[test]
fn each_server_key_is_checked_under_its_own_name() {
    for key in [
        "header_timeout_seconds",
        "body_timeout_seconds",
        "keep_alive_timeout_seconds",
    ] {
        assert_eq!(refused_key(&format!("[server]\n{key} = 1")), None, "{key}");
        assert_eq!(refused_key(&format!("[server]\n{key} = 3600")), None);
        for bad in [0, 3601] {
            let expected = format!("server.{key}");
            assert_eq!(
                refused_key(&format!("[server]\n{key} = {bad}")).map(str::to_owned),
                Some(expected),
                "{key} = {bad}"
            );
        }
    }
    assert_eq!(refused_key("[server]\nmax_connections = 1"), None);
    assert_eq!(
        refused_key("[server]\nmax_connections = 0"),
        Some("server.max_connections")
    );
    assert_eq!(refused_key("[server]\nmax_body_bytes = 1"), None);
    assert_eq!(
        refused_key("[server]\nmax_body_bytes = 0"),
        Some("server.max_body_bytes")
    );
}

#[test]
fn each_cors_key_is_checked_under_its_own_name() {
    for (toml, key) in [
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
        (
            "[cors]\nallowed_headers = [\"Authorization\", \"X Requested\"]",
            "cors.allowed_headers",
        ),
    ] {
        assert_eq!(refused_key(toml), Some(key), "{toml}");
    }
    assert_eq!(
        refused_key(
            "[cors]\nallowed_origins = [\"https://app.example\"]\nallowed_methods = [\"GET\"]\nallowed_headers = [\"x-custom_header\"]"
        ),
        None
    );
}

#[test]
fn any_origin_is_refused_in_production_only() {
    assert_eq!(refused_key("[cors]\nallowed_origins = [\"*\"]"), None);
    assert_eq!(
        refused_key(&format!(
            "profile = \"production\"\n[jwt]\nsecret = \"{STRONG_SECRET}\"\n[cors]\nallowed_origins = [\"*\"]"
        )),
        Some("cors.allowed_origins")
    );
}

#[test]
fn docs_hsts_and_query_keys_follow_the_profile_and_their_settings() {
    let development = Settings::default();
    let config = api_config(&development);
    assert!(config.docs && !config.production && config.api_keys_in_query);
    let mut production = Settings {
        profile: warden_adapters::Profile::Production,
        ..Settings::default()
    };
    production.api_keys.allow_query_param = false;
    let config = api_config(&production);
    assert!(!config.docs && config.production && !config.api_keys_in_query);
    production.docs.enabled = Some(true);
    assert!(api_config(&production).docs);
}

#[test]
fn the_work_deadline_is_one_pool_wait_one_statement_and_three_seconds() {
    let mut settings = Settings::default();
    settings.database.acquire_timeout_ms = 1_500;
    settings.database.statement_timeout_ms = 4_000;
    assert_eq!(
        api_config(&settings).work_deadline,
        std::time::Duration::from_millis(8_500)
    );
}
