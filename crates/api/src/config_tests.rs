//! Tests of the API's configuration: every bound at its edge, and errors that name the setting
//! but never show its value.

use super::*;

fn valid() -> ApiConfig {
    ApiConfig {
        production: false,
        docs: true,
        api_keys_in_query: true,
        server: ServerConfig {
            trusted_proxies: Vec::new(),
            max_body_bytes: 1024,
            body_timeout_seconds: 10,
            header_timeout_seconds: 10,
            keep_alive_timeout_seconds: 30,
            max_connections: 1024,
        },
        cors: CorsConfig {
            allowed_origins: vec!["https://app.example.com".into()],
            allow_credentials: false,
            allowed_methods: vec!["GET".into(), "POST".into()],
            allowed_headers: ["Authorization", "Content-Type", "X-API-Key"]
                .map(String::from)
                .to_vec(),
        },
        work_deadline: Duration::from_secs(10),
    }
}

fn key_of(config: &ApiConfig) -> Option<&'static str> {
    config.validate().err().map(|e| e.key)
}

#[test]
fn the_defaults_of_a_deployment_validate() {
    assert_eq!(valid().validate(), Ok(()));
}

#[test]
fn every_timeout_accepts_one_second_to_an_hour_and_nothing_beyond() {
    type Field = fn(&mut ServerConfig) -> &mut u64;
    let fields: [(&str, Field); 3] = [
        ("server.header_timeout_seconds", |s| {
            &mut s.header_timeout_seconds
        }),
        ("server.body_timeout_seconds", |s| {
            &mut s.body_timeout_seconds
        }),
        ("server.keep_alive_timeout_seconds", |s| {
            &mut s.keep_alive_timeout_seconds
        }),
    ];
    for (key, field) in fields {
        for (value, ok) in [(0, false), (1, true), (3_600, true), (3_601, false)] {
            let mut config = valid();
            *field(&mut config.server) = value;
            let expected = if ok { None } else { Some(key) };
            assert_eq!(key_of(&config), expected, "{key} = {value}");
        }
    }
}

#[test]
fn the_body_limit_is_at_least_one_byte() {
    let mut config = valid();
    config.server.max_body_bytes = 1;
    assert_eq!(key_of(&config), None);
    config.server.max_body_bytes = 0;
    assert_eq!(key_of(&config), Some("server.max_body_bytes"));
}

#[test]
fn the_connection_cap_accepts_one_to_a_million() {
    for (value, ok) in [(0, false), (1, true), (1_000_000, true), (1_000_001, false)] {
        let mut config = valid();
        config.server.max_connections = value;
        let expected = if ok {
            None
        } else {
            Some("server.max_connections")
        };
        assert_eq!(key_of(&config), expected, "{value}");
    }
}

#[test]
fn any_origin_is_allowed_in_development_and_refused_in_production() {
    let mut config = valid();
    config.cors.allowed_origins = vec![" * ".into()];
    config.production = true;
    assert_eq!(key_of(&config), Some("cors.allowed_origins"));
    config.cors.allowed_origins = vec!["*".into()];
    config.production = false;
    assert_eq!(key_of(&config), None);
}

#[test]
fn an_origin_is_a_scheme_and_a_host_with_no_path_and_its_value_is_never_shown() {
    for good in [
        "http://localhost:3000",
        "https://app.example.com",
        "https://[::1]:8443",
    ] {
        let mut config = valid();
        config.cors.allowed_origins = vec![good.into()];
        assert_eq!(key_of(&config), None, "{good}");
    }
    for bad in [
        "bare.example.org",
        "ftp://example.com",
        "https://",
        "https://example.com/",
        "https://example.com?x",
        "https://example.com#x",
        "https://user@example.com",
        "https://exa mple.com",
        "https://exämple.com",
    ] {
        let mut config = valid();
        config.cors.allowed_origins = vec!["https://ok.example.com".into(), bad.into()];
        let error = config.validate().unwrap_err();
        assert_eq!(error.key, "cors.allowed_origins", "{bad}");
        // A fixed text naming the position: whatever was written is not in it.
        assert_eq!(
            error.why,
            "entry 2 is not an origin like \"https://app.example.com\" (scheme and host, optional port, no path)"
        );
    }
}

#[test]
fn methods_are_the_http_methods_a_preflight_may_name() {
    for good in CORS_METHODS {
        let mut config = valid();
        config.cors.allowed_methods = vec![(*good).into()];
        assert_eq!(key_of(&config), None, "{good}");
    }
    for bad in ["get", "TRACE", "CONNECT", ""] {
        let mut config = valid();
        config.cors.allowed_methods = vec![bad.into()];
        let error = config.validate().unwrap_err();
        assert_eq!(error.key, "cors.allowed_methods");
        assert!(error.why.starts_with("entry 1 "), "{error}");
    }
}

#[test]
fn request_headers_are_field_names_and_their_value_is_never_shown() {
    let mut config = valid();
    config.cors.allowed_headers = vec!["X-Custom_1!#$%&'*+-.^`|~".into()];
    assert_eq!(key_of(&config), None);
    for bad in ["", "X Custom", "X-Custom:", "X-Ä", "X-(a)"] {
        let mut config = valid();
        config.cors.allowed_headers = vec!["Authorization".into(), bad.into()];
        let error = config.validate().unwrap_err();
        assert_eq!(error.key, "cors.allowed_headers", "{bad:?}");
        assert!(error.why.starts_with("entry 2 "), "{error}");
        if !bad.is_empty() {
            assert!(!error.to_string().contains(bad), "{error}");
        }
    }
}

#[test]
fn the_limits_follow_the_seconds_configured() {
    let config = valid();
    let body = config.body_limits();
    assert_eq!(body.max_bytes, 1024);
    assert_eq!(body.timeout, Duration::from_secs(10));
    let connection = config.connection_timeouts();
    assert_eq!(connection.header, Duration::from_secs(10));
    assert_eq!(connection.keep_alive, Duration::from_secs(30));
}
