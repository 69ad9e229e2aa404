//! Tests of the TOTP authenticator: RFC 6238 vectors, sealing bound to the user and to known keys, provisioning, recovery codes.
use secrecy::ExposeSecret;
use uuid::Uuid;
use warden_domain::mfa::normalize_recovery_code;
use warden_domain::ports::Authenticator;

use super::TotpAuthenticator;

const KEY: [u8; 32] = [7; 32];
const OLD_KEY: [u8; 32] = [9; 32];
/// The secret of RFC 6238's SHA-1 test vectors.
const RFC_SECRET: &[u8] = b"12345678901234567890";

fn authenticator() -> TotpAuthenticator {
    TotpAuthenticator::new(&KEY, &[], "Warden")
}

#[test]
fn codes_are_those_of_rfc_6238_appendix_b() {
    let auth = authenticator();
    let user = Uuid::now_v7();
    let sealed = auth.seal(user, RFC_SECRET).unwrap();
    // T = 59 s is step 1: 94287082, of which six digits are 287082; T = 1111111109 s is step
    // 37037036: 07081804.
    for (step, code) in [(1, "287082"), (37_037_036, "081804")] {
        assert_eq!(
            auth.matching_step(user, &sealed, code, &[step - 1, step, step + 1])
                .unwrap(),
            Some(step)
        );
        assert_eq!(
            auth.matching_step(user, &sealed, code, &[step + 1])
                .unwrap(),
            None,
            "a code of another step"
        );
    }
    for malformed in ["28708", "2870822", "28708a", "+87082", " 287082", ""] {
        assert_eq!(
            auth.matching_step(user, &sealed, malformed, &[1]).unwrap(),
            None
        );
    }
}

#[test]
fn a_secret_opens_only_for_its_user_and_under_a_known_key() {
    let user = Uuid::now_v7();
    let old = TotpAuthenticator::new(&OLD_KEY, &[], "Warden");
    let sealed = old.seal(user, RFC_SECRET).unwrap();
    assert!(
        old.matching_step(Uuid::now_v7(), &sealed, "287082", &[1])
            .is_err()
    );
    let rotated = TotpAuthenticator::new(&KEY, &[OLD_KEY], "Warden");
    assert_eq!(
        rotated
            .matching_step(user, &sealed, "287082", &[1])
            .unwrap(),
        Some(1),
        "a previous key still opens"
    );
    assert!(
        authenticator()
            .matching_step(user, &sealed, "287082", &[1])
            .is_err()
    );
    let mut tampered = sealed.clone();
    tampered.sealed.replace_range(
        40..41,
        if &sealed.sealed[40..41] == "A" {
            "B"
        } else {
            "A"
        },
    );
    assert!(
        rotated
            .matching_step(user, &tampered, "287082", &[1])
            .is_err()
    );
    let resealed = rotated.seal(user, RFC_SECRET).unwrap();
    assert_ne!(
        resealed.key_id, sealed.key_id,
        "new secrets use the current key"
    );
}

#[test]
fn a_new_factor_provisions_an_otpauth_uri_and_its_qr_code() {
    let auth = authenticator();
    let user = Uuid::now_v7();
    let (sealed, provisioning) = auth.new_factor(user, "alice@example.com").unwrap();
    let secret = provisioning.secret.expose_secret();
    assert_eq!(secret.len(), 32, "160 bits in base32");
    let uri = provisioning.uri.expose_secret();
    assert!(
        uri.starts_with("otpauth://totp/Warden:alice%40example.com?"),
        "{uri}"
    );
    assert!(uri.contains(&format!("secret={secret}")));
    assert!(uri.contains("issuer=Warden"));
    assert!(!sealed.sealed.contains(secret));
    let svg = provisioning.qr_svg.expose_secret();
    assert!(svg.contains("<svg") && svg.contains("</svg>"));
    let other = auth.new_factor(user, "alice@example.com").unwrap().1;
    assert_ne!(other.secret.expose_secret(), secret);
}

#[test]
fn recovery_codes_are_four_groups_of_four_base32_characters() {
    let auth = authenticator();
    let code = auth.recovery_code().unwrap();
    let code = code.expose_secret();
    assert_eq!(code.len(), 19);
    assert_eq!(code.matches('-').count(), 3);
    assert!(normalize_recovery_code(code).is_some());
    assert_ne!(auth.recovery_code().unwrap().expose_secret(), code);
}
