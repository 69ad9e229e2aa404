//! The rules of a registration, at their edges.

use super::*;

fn spec() -> ClientSpec {
    ClientSpec {
        name: "App".into(),
        redirect_uris: vec!["https://app.example/cb".into()],
        public: false,
        first_party: false,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::ClientCredentials],
        scopes: vec!["openid".into(), "read:orders".into()],
        audience: None,
        post_logout_redirect_uris: vec![],
    }
}

fn refused(spec: ClientSpec) -> Vec<String> {
    spec.validated().expect_err("refused")
}

#[test]
fn grant_names_round_trip_and_nothing_else_parses() {
    for g in GrantType::ALL {
        assert_eq!(GrantType::parse(g.as_str()), Some(g));
    }
    assert_eq!(GrantType::parse("Password"), None);
    assert_eq!(GrantType::parse("implicit"), None);
    assert_eq!(GrantType::AuthorizationCode.as_str(), "authorization_code");
    assert_eq!(GrantType::ClientCredentials.as_str(), "client_credentials");
}

#[test]
fn a_good_spec_is_trimmed_and_freed_of_repeats() {
    let mut s = spec();
    s.name = "  App  ".into();
    s.grant_types.push(GrantType::AuthorizationCode);
    s.scopes.push("openid".into());
    s.redirect_uris.push("https://app.example/cb".into());
    s.post_logout_redirect_uris = vec!["https://app.example/".into(); 2];
    let ok = s.validated().unwrap();
    assert_eq!(ok.name, "App");
    assert_eq!(ok.grant_types.len(), 2);
    assert_eq!(ok.scopes, ["openid", "read:orders"]);
    assert_eq!(ok.redirect_uris.len(), 1);
    assert_eq!(ok.post_logout_redirect_uris.len(), 1);
}

#[test]
fn the_name_is_bounded_at_100_characters() {
    let mut s = spec();
    s.name = "é".repeat(100);
    assert!(s.clone().validated().is_ok());
    s.name = "é".repeat(101);
    assert_eq!(refused(s).len(), 1);
    let mut s = spec();
    s.name = "   ".into();
    assert!(refused(s)[0].starts_with("name"));
    let mut s = spec();
    s.name = "a\u{7}b".into();
    assert!(refused(s)[0].starts_with("name"));
}

#[test]
fn grants_must_fit_the_kind_of_client() {
    let mut s = spec();
    s.grant_types.clear();
    assert!(refused(s)[0].contains("at least one grant"));
    let mut s = spec();
    s.public = true;
    assert!(refused(s)[0].contains("public client cannot use client_credentials"));
    let mut s = spec();
    s.redirect_uris.clear();
    assert!(refused(s)[0].contains("needs at least one redirect URI"));
    let mut s = spec();
    s.redirect_uris.clear();
    s.grant_types = vec![GrantType::ClientCredentials];
    assert!(s.validated().is_ok(), "a machine client needs no redirect");
    let mut s = spec();
    s.public = true;
    s.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
    assert!(s.validated().is_ok());
}

#[test]
fn every_reason_is_given_at_once() {
    let s = ClientSpec {
        name: String::new(),
        redirect_uris: vec!["http://evil.example/cb".into()],
        public: true,
        first_party: false,
        grant_types: vec![GrantType::ClientCredentials],
        scopes: vec!["a b".into()],
        audience: Some(String::new()),
        post_logout_redirect_uris: vec!["ftp".into()],
    };
    assert_eq!(refused(s).len(), 6);
}

#[test]
fn redirect_uris_are_https_loopback_http_or_a_private_scheme() {
    for good in [
        "https://app.example/cb",
        "https://app.example:8443/cb?x=1",
        "https://app.example",
        "http://127.0.0.1:8765/cb",
        "http://[::1]:9/cb",
        "http://[::1]/cb",
        "https://[2001:db8::1]/cb",
        "http://localhost/cb",
        "http://localhost:3000",
        "com.example.app:/oauth2redirect",
    ] {
        assert!(is_redirect_uri(good), "{good} refused");
    }
    for bad in [
        "",
        "app.example/cb",
        "https://app.example/cb#frag",
        "https://user@app.example/cb",
        "https://user:pw@app.example/cb",
        "https:///cb",
        "https://:443/cb",
        "https:app.example",
        "http://app.example/cb",
        "http://127.0.0.2/cb",
        "http://localhost.evil.example/cb",
        "http://127.0.0.1@evil.example/cb",
        "HTTPS://app.example/cb",
        "https://app.example/c b",
        "https://app.example/\u{e9}",
        "javascript:alert(1)",
        "myapp:/cb",
        "com.example.app:",
        "1com.example:/cb",
        "com.exa_mple:/cb",
    ] {
        assert!(!is_redirect_uri(bad), "{bad} accepted");
    }
}

#[test]
fn a_redirect_uri_is_bounded_at_2000_bytes() {
    let base = "https://app.example/";
    let at = format!("{base}{}", "a".repeat(MAX_URI_LEN - base.len()));
    assert!(is_redirect_uri(&at));
    assert!(!is_redirect_uri(&format!("{at}a")));
}

#[test]
fn at_most_20_uris_of_each_kind() {
    let uris = |n: usize| (0..n).map(|i| format!("https://a.example/{i}")).collect();
    let mut s = spec();
    s.redirect_uris = uris(20);
    s.post_logout_redirect_uris = uris(20);
    assert!(s.clone().validated().is_ok());
    s.redirect_uris = uris(21);
    assert!(refused(s.clone())[0].starts_with("redirect_uris may hold"));
    s.redirect_uris = uris(1);
    s.post_logout_redirect_uris = uris(21);
    assert!(refused(s)[0].starts_with("post_logout_redirect_uris may hold"));
}

#[test]
fn scopes_are_rfc_6749_tokens_of_at_most_64_bytes_and_50_in_all() {
    for good in ["openid", "read:orders", "!", "~", "a#[]", &"s".repeat(64)] {
        assert!(is_scope(good), "{good} refused");
    }
    for bad in ["", "a b", "a\"b", "a\\b", "é", "a\tb", &"s".repeat(65)] {
        assert!(!is_scope(bad), "{bad} accepted");
    }
    let mut s = spec();
    s.scopes = (0..50).map(|i| format!("s{i}")).collect();
    assert!(s.clone().validated().is_ok());
    s.scopes.push("s50".into());
    assert!(refused(s)[0].contains("at most 50"));
}

#[test]
fn the_audience_is_printable_ascii_up_to_200_bytes() {
    let mut s = spec();
    s.audience = Some("a".repeat(200));
    assert!(s.clone().validated().is_ok());
    s.audience = Some("a".repeat(201));
    assert!(refused(s.clone())[0].starts_with("audience"));
    s.audience = Some("an api".into());
    assert!(refused(s.clone())[0].starts_with("audience"));
    s.audience = Some("https://api.example".into());
    assert!(s.validated().is_ok());
}

#[test]
fn a_client_allows_only_its_grants() {
    let client = Client {
        id: "c".into(),
        spec: spec(),
        secret_digest: None,
        created_at: OffsetDateTime::UNIX_EPOCH,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    };
    assert!(client.allows(GrantType::ClientCredentials));
    assert!(!client.allows(GrantType::Password));
}
