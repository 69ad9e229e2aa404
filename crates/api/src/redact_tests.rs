//! Property tests of access-log redaction: for every spelling of a credential parameter's name
//! (percent-encoding of any subset of its bytes, any case, repeated, `&` or `;` between
//! parameters), the value never appears in what is logged, decoded or not.

use proptest::prelude::*;

use super::*;

/// The names chosen to be credentials (docs/SECURITY.md lists them).
const NAMES: &[&str] = &[
    "api_key",
    "access_token",
    "refresh_token",
    "token",
    "password",
    "client_secret",
    "code",
    "id_token",
    "mfa_token",
    "otp",
    "recovery_code",
    "new_password",
    "current_password",
];

/// `name` with the bytes whose mask bit is set percent-encoded (either hex case) and the
/// letters whose case bit is set upper-cased.
fn spell(name: &str, encode: &[bool], upper: &[bool], hex_upper: bool) -> String {
    name.bytes()
        .enumerate()
        .map(|(i, b)| {
            let b = if upper[i % upper.len()] {
                b.to_ascii_uppercase()
            } else {
                b
            };
            if encode[i % encode.len()] {
                if hex_upper {
                    format!("%{b:02X}")
                } else {
                    format!("%{b:02x}")
                }
            } else {
                char::from(b).to_string()
            }
        })
        .collect()
}

#[test]
fn the_attack_spellings_are_redacted() {
    assert_eq!(
        redact_query("a=1&api%5Fkey=wdn_x1&b=2"),
        "a=1&api%5Fkey=[redacted]&b=2"
    );
    assert_eq!(redact_query("API_KEY=x"), "API_KEY=[redacted]");
    assert_eq!(redact_query("api+key=x;b=2"), "api+key=[redacted];b=2");
    assert_eq!(redact_query("q=wdn_abc"), "q=[redacted]");
    assert_eq!(redact_query("%77dn_abc"), "[redacted]");
    assert_eq!(redact_query("t=eyJhbGci.eyJzdWIi.sig"), "t=[redacted]");
    assert_eq!(redact_query("limit=10&cursor=abc"), "limit=10&cursor=abc");
    assert!(matches!(redact_query("limit=10"), Cow::Borrowed(_)));
}

#[test]
fn paths_lose_credential_shaped_segments_only() {
    let id = "0190c6a4-1b2c-7d3e-8f40-123456789abc";
    let path = format!("/admin/users/{id}");
    assert!(matches!(redact_path(&path), Cow::Borrowed(p) if p == path));
    assert_eq!(redact_path("/api-keys/wdn_abc123"), "/api-keys/[redacted]");
    assert_eq!(redact_path("/x/%57DN_abc/y"), "/x/[redacted]/y");
    assert_eq!(redact_path("/eyJhbGci.eyJzdWIi.sig"), "/[redacted]");
}

proptest! {
    #[test]
    fn a_credential_value_never_reaches_the_log_whatever_the_name_spelling(
        name in prop::sample::select(NAMES),
        encode in proptest::collection::vec(any::<bool>(), 1..12),
        upper in proptest::collection::vec(any::<bool>(), 1..12),
        hex_upper in any::<bool>(),
        encode_value in any::<bool>(),
        value in "[A-Za-z0-9_-]{4,24}".prop_map(|v| format!("Sk7{v}")),
        others in proptest::collection::vec("[a-z]{1,6}=[a-z0-9]{0,6}", 0..4),
        repeats in 1_usize..3,
        at in 0_usize..4,
        sep in prop::sample::select(vec!["&", ";"]),
    ) {
        let spelt = spell(name, &encode, &upper, hex_upper);
        let written = if encode_value { spell(&value, &[true], &[false], hex_upper) } else { value.clone() };
        let mut params = others.clone();
        for _ in 0..repeats {
            params.insert(at.min(params.len()), format!("{spelt}={written}"));
        }
        let query = params.join(sep);
        let logged = redact_query(&query);
        prop_assert!(!logged.contains(&written), "{query} -> {logged}");
        prop_assert!(!decoded(&logged).contains(&value), "{query} -> {logged}");
        // The other parameters are kept as they were.
        for other in others.iter().filter(|o| !is_secret_name(o.split('=').next().unwrap_or(""))) {
            prop_assert!(logged.contains(other.as_str()), "{query} -> {logged}");
        }
    }

    #[test]
    fn an_api_key_value_is_redacted_under_any_name(
        name in "[a-z]{1,8}",
        key in "[A-Za-z0-9]{8,40}".prop_map(|k| format!("wdn_{k}")),
        encode in proptest::collection::vec(any::<bool>(), 1..8),
    ) {
        let written = spell(&key, &encode, &[false], true);
        let query = format!("{name}={written}");
        let logged = redact_query(&query);
        prop_assert!(!decoded(&logged).contains(&key), "{query} -> {logged}");
    }
}
