//! Property tests of URL redaction: whatever the spelling of the password or of a credential
//! parameter, neither the printed URL nor a scrubbed driver message shows it.

use proptest::prelude::*;

use super::*;

/// Percent-encodes the bytes of `s` whose bit in `mask` is set (cycling through the mask).
fn encode_some(s: &str, mask: &[bool]) -> String {
    s.bytes()
        .enumerate()
        .map(|(i, b)| {
            if mask[i % mask.len()] || !b.is_ascii_alphanumeric() && b != b'-' {
                format!("%{b:02X}")
            } else {
                char::from(b).to_string()
            }
        })
        .collect()
}

/// Flips the case of the letters whose bit in `mask` is set.
fn recase(s: &str, mask: &[bool]) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask[i % mask.len()] {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

/// A password: a marker no host, user or other value contains, then any printable ASCII,
/// including `@`, `:`, `/`, `?`, `#`, `&` and `%`.
fn password() -> impl Strategy<Value = String> {
    "[ -~]{0,16}".prop_map(|tail| format!("Pw7{tail}"))
}

fn contains_secret(out: &str, raw: &str, written: &str) -> bool {
    out.contains(raw) || out.contains(written) || out.contains("Pw7")
}

#[test]
fn the_spellings_seen_in_the_attack_are_redacted() {
    assert_eq!(
        redact_url("postgres://app:p@ss@db:5432/warden"),
        "postgres://app:[redacted]@db:5432/warden"
    );
    assert_eq!(
        redact_url("postgres://app@db/warden?sslmode=require&password=hunter2"),
        "postgres://app@db/warden?sslmode=require&password=[redacted]"
    );
    assert_eq!(
        redact_url("postgres://db/w?PassWord=a;sslpassword=b&pass=c&p%61ss=d"),
        "postgres://db/w?PassWord=[redacted];sslpassword=[redacted]&pass=[redacted]&p%61ss=[redacted]"
    );
    assert_eq!(
        redact_url("redis://:hunter2@cache:6379/0"),
        "redis://:[redacted]@cache:6379/0"
    );
    assert_eq!(
        redact_url("sqlite://warden.db?mode=rwc"),
        "sqlite://warden.db?mode=rwc"
    );
    assert_eq!(
        redact_url("postgres://app@db/warden"),
        "postgres://app@db/warden"
    );
}

#[test]
fn percent_decoding_keeps_malformed_escapes() {
    assert_eq!(percent_decode("api%5Fkey"), "api_key");
    assert_eq!(percent_decode("a+b%2"), "a b%2");
    assert_eq!(percent_decode("%zz%"), "%zz%");
}

proptest! {
    #[test]
    fn a_userinfo_password_never_shows(
        user in "[a-z]{1,8}",
        pw in password(),
        mask in proptest::collection::vec(any::<bool>(), 1..8),
        host in "[a-z]{1,8}(:[0-9]{2,5})?",
        tail in "(/[a-z]{0,8})?(\\?sslmode=[a-z]{1,8})?",
        scheme in prop::sample::select(vec!["postgres", "postgresql", "redis", "rediss"]),
    ) {
        let written = if mask[0] { encode_some(&pw, &mask) } else { pw.clone() };
        let url = format!("{scheme}://{user}:{written}@{host}{tail}");
        let out = redact_url(&url);
        prop_assert!(!contains_secret(&out, &pw, &written), "{url} -> {out}");
        let message = format!("cannot connect to {url}: password {pw} / {written} refused");
        let scrubbed = scrub(&message, &url);
        prop_assert!(!contains_secret(&scrubbed, &pw, &written), "{message} -> {scrubbed}");
    }

    #[test]
    fn a_credential_parameter_never_shows_whatever_its_name_spelling(
        name in prop::sample::select(vec!["password", "pass", "sslpassword", "pwd", "auth_token", "client_secret"]),
        case_mask in proptest::collection::vec(any::<bool>(), 1..8),
        enc_mask in proptest::collection::vec(any::<bool>(), 1..8),
        pw in "[A-Za-z0-9._~!$'()*,-]{0,12}".prop_map(|t| format!("Pw7{t}")),
        before in proptest::collection::vec("[a-z]{1,6}=[a-z]{0,6}", 0..3),
        sep in prop::sample::select(vec!["&", ";"]),
        userinfo in prop::sample::select(vec!["", "app@", "app:Pw7x@"]),
    ) {
        let name = recase(name, &case_mask);
        let name = if enc_mask[0] { encode_some(&name, &enc_mask) } else { name };
        let mut params = before.clone();
        params.push(format!("{name}={pw}"));
        let url = format!("postgres://{userinfo}db/warden?{}", params.join(sep));
        let out = redact_url(&url);
        prop_assert!(!out.contains("Pw7"), "{url} -> {out}");
        let scrubbed = scrub(&format!("bad option in {url}: {pw}"), &url);
        prop_assert!(!scrubbed.contains("Pw7"), "{url} -> {scrubbed}");
    }
}

#[test]
fn a_redacted_error_keeps_the_error_and_shows_only_its_scrubbed_first_line() {
    let url = "postgres://app:hunter2@db/warden";
    let inner = std::io::Error::other(format!("cannot use {url}\nsecond line hunter2"));
    let e = Redacted::new(inner, url);
    assert_eq!(
        e.to_string(),
        "cannot use postgres://app:[redacted]@db/warden"
    );
    assert!(!format!("{e:?}").contains("hunter2"), "{e:?}");
    assert!(std::error::Error::source(&e).is_none());
    assert!(e.get_ref().to_string().contains("hunter2"));
}
