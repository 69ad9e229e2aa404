//! Tests of the JWT codec: what it accepts and every way a token is refused.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::ExposeSecret;
use time::Duration;

use super::*;
use crate::keys::generate_ed25519;

pub(super) const SECRET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCD";

pub(super) fn claims(expires_in: Duration) -> AccessClaims {
    let now = OffsetDateTime::now_utc();
    AccessClaims {
        subject: Uuid::now_v7(),
        role: Role::User,
        issued_at: now,
        expires_at: now + expires_in,
        session_version: 7,
        token_id: Uuid::now_v7(),
        session_id: Uuid::now_v7(),
        second_factor: false,
    }
}

pub(super) fn sign(codec: &JwtCodec, c: &AccessClaims) -> String {
    codec.sign(c).unwrap().expose_secret().to_owned()
}

/// A token with a hand-made header and payload, signed with HS256 and `key`.
pub(super) fn hand_made(
    header: &serde_json::Value,
    payload: &serde_json::Value,
    key: &[u8],
) -> String {
    let h = URL_SAFE_NO_PAD.encode(header.to_string());
    let p = URL_SAFE_NO_PAD.encode(payload.to_string());
    let input = format!("{h}.{p}");
    let sig = jsonwebtoken::crypto::sign(
        input.as_bytes(),
        &EncodingKey::from_secret(key),
        Algorithm::HS256,
    )
    .unwrap();
    format!("{input}.{sig}")
}

pub(super) fn payload(iss: &str, aud: &str, exp_offset: i64) -> serde_json::Value {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    serde_json::json!({
        "iss": iss, "aud": aud, "sub": Uuid::now_v7().to_string(), "exp": now + exp_offset,
        "iat": now, "jti": Uuid::now_v7().to_string(), "role": "admin", "sv": 0,
        "sid": Uuid::now_v7().to_string()
    })
}

#[test]
fn an_hs256_token_round_trips_with_typ_at_jwt() {
    let codec = JwtCodec::hs256(SECRET, "warden", "warden");
    let c = claims(Duration::minutes(15));
    let token = sign(&codec, &c);
    let header = decode_header(&token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, Algorithm::HS256);
    let back = codec.verify(&token).unwrap();
    assert_eq!(back.subject, c.subject);
    assert_eq!(back.session_version, 7);
    assert_eq!(back.session_id, c.session_id);
    assert_eq!(back.token_id, c.token_id);
    assert_eq!(
        back.expires_at.unix_timestamp(),
        c.expires_at.unix_timestamp()
    );
    assert_eq!(codec.jwks_json(), r#"{"keys":[]}"#);
}

#[test]
fn every_forgery_and_mismatch_is_refused_for_its_reason() {
    let codec = JwtCodec::hs256(SECRET, "warden", "warden");
    let at = serde_json::json!({"alg": "HS256", "typ": "at+jwt"});
    let cases = [
        (
            "wrong key",
            hand_made(
                &at,
                &payload("warden", "warden", 600),
                b"another-secret-of-enough-length-1234",
            ),
            TokenError::BadSignature,
        ),
        (
            "wrong issuer",
            hand_made(&at, &payload("evil", "warden", 600), SECRET),
            TokenError::WrongIssuerOrAudience,
        ),
        (
            "wrong audience",
            hand_made(&at, &payload("warden", "other", 600), SECRET),
            TokenError::WrongIssuerOrAudience,
        ),
        (
            "expired beyond leeway",
            hand_made(&at, &payload("warden", "warden", -120), SECRET),
            TokenError::Expired,
        ),
        (
            "plain JWT typ",
            hand_made(
                &serde_json::json!({"alg": "HS256", "typ": "JWT"}),
                &payload("warden", "warden", 600),
                SECRET,
            ),
            TokenError::WrongType,
        ),
        (
            "no typ",
            hand_made(
                &serde_json::json!({"alg": "HS256"}),
                &payload("warden", "warden", 600),
                SECRET,
            ),
            TokenError::WrongType,
        ),
        ("not a JWT", "abc.def".to_owned(), TokenError::Malformed),
    ];
    for (name, token, want) in cases {
        assert_eq!(codec.verify(&token), Err(want), "{name}");
    }
    // Within the 30 s leeway an expired token still passes.
    assert!(
        codec
            .verify(&hand_made(&at, &payload("warden", "warden", -10), SECRET))
            .is_ok()
    );
    // `application/at+jwt` is accepted too.
    let app = serde_json::json!({"alg": "HS256", "typ": "application/at+jwt"});
    assert!(
        codec
            .verify(&hand_made(&app, &payload("warden", "warden", 600), SECRET))
            .is_ok()
    );
}

#[test]
fn alg_none_and_a_missing_claim_are_refused() {
    let codec = JwtCodec::hs256(SECRET, "warden", "warden");
    let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt"}"#);
    let p = URL_SAFE_NO_PAD.encode(payload("warden", "warden", 600).to_string());
    assert!(codec.verify(&format!("{h}.{p}.")).is_err());
    let mut no_iat = payload("warden", "warden", 600);
    no_iat.as_object_mut().unwrap().remove("iat");
    let at = serde_json::json!({"alg": "HS256", "typ": "at+jwt"});
    assert_eq!(
        codec.verify(&hand_made(&at, &no_iat, SECRET)),
        Err(TokenError::Malformed)
    );
}

#[test]
fn eddsa_tokens_carry_the_kid_published_in_the_jwks() {
    let pair = generate_ed25519();
    let codec = JwtCodec::asymmetric(
        Asymmetric::EdDsa,
        pair.private.expose_secret().as_bytes(),
        &[],
        "warden",
        "warden",
    )
    .unwrap();
    let token = sign(&codec, &claims(Duration::minutes(5)));
    let kid = decode_header(&token).unwrap().kid.unwrap();
    let jwks: serde_json::Value = serde_json::from_str(codec.jwks_json()).unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kid"], kid.as_str());
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    assert!(key.get("d").is_none(), "no private part in the JWKS");
    assert!(codec.verify(&token).is_ok());
    // The published public key verifies the token on its own.
    let public = DecodingKey::from_ed_pem(pair.public.as_bytes()).unwrap();
    let mut v = Validation::new(Algorithm::EdDSA);
    v.set_audience(&["warden"]);
    assert!(decode::<serde_json::Value>(&token, &public, &v).is_ok());
}

#[test]
fn the_header_never_chooses_the_algorithm() {
    let pair = generate_ed25519();
    let eddsa = JwtCodec::asymmetric(
        Asymmetric::EdDsa,
        pair.private.expose_secret().as_bytes(),
        &[],
        "warden",
        "warden",
    )
    .unwrap();
    // An HS256 token signed with the public key's bytes (the classic confusion attack).
    let at = serde_json::json!({"alg": "HS256", "typ": "at+jwt"});
    let forged = hand_made(
        &at,
        &payload("warden", "warden", 600),
        pair.public.as_bytes(),
    );
    assert_eq!(eddsa.verify(&forged), Err(TokenError::BadSignature));
    // And an EdDSA token is refused by an HS256 codec.
    let token = sign(&eddsa, &claims(Duration::minutes(5)));
    assert_eq!(
        JwtCodec::hs256(SECRET, "warden", "warden").verify(&token),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn a_token_of_a_retired_signing_key_verifies_while_its_public_key_is_listed() {
    let old = generate_ed25519();
    let new = generate_ed25519();
    let old_codec = JwtCodec::asymmetric(
        Asymmetric::EdDsa,
        old.private.expose_secret().as_bytes(),
        &[],
        "warden",
        "warden",
    )
    .unwrap();
    let token = sign(&old_codec, &claims(Duration::minutes(5)));
    let rotated = JwtCodec::asymmetric(
        Asymmetric::EdDsa,
        new.private.expose_secret().as_bytes(),
        &[old.public.as_bytes().to_vec()],
        "warden",
        "warden",
    )
    .unwrap();
    assert!(rotated.verify(&token).is_ok());
    let jwks: serde_json::Value = serde_json::from_str(rotated.jwks_json()).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    let dropped = JwtCodec::asymmetric(
        Asymmetric::EdDsa,
        new.private.expose_secret().as_bytes(),
        &[],
        "warden",
        "warden",
    )
    .unwrap();
    assert_eq!(dropped.verify(&token), Err(TokenError::BadSignature));
}

#[test]
fn a_bad_key_file_is_refused() {
    assert!(
        JwtCodec::asymmetric(Asymmetric::EdDsa, b"not a pem", &[], "warden", "warden").is_err()
    );
    let pair = generate_ed25519();
    assert!(
        JwtCodec::asymmetric(
            Asymmetric::EdDsa,
            pair.private.expose_secret().as_bytes(),
            &[b"junk".to_vec()],
            "w",
            "w"
        )
        .is_err()
    );
}

#[test]
fn a_crit_header_parameter_is_refused_even_on_a_valid_signature() {
    let codec = JwtCodec::hs256(SECRET, "warden", "warden");
    let body = payload("warden", "warden", 600);
    let plain = hand_made(
        &serde_json::json!({"alg": "HS256", "typ": "at+jwt"}),
        &body,
        SECRET,
    );
    assert!(codec.verify(&plain).is_ok(), "the control token verifies");
    for crit in [
        serde_json::json!({"alg": "HS256", "typ": "at+jwt", "crit": ["exp"], "exp": 1}),
        serde_json::json!({"alg": "HS256", "typ": "at+jwt", "crit": ["b64"], "b64": true}),
        serde_json::json!({"alg": "HS256", "typ": "at+jwt", "crit": []}),
    ] {
        let token = hand_made(&crit, &body, SECRET);
        assert_eq!(
            codec.verify(&token).map(|_| ()),
            Err(TokenError::Malformed),
            "{crit}"
        );
    }
}

/// Runs `check` with the current second until that second did not change while it ran, so a
/// tick of the clock cannot move an edge case to the other side of its edge.
fn within_one_second(mut check: impl FnMut(i64) -> bool) -> bool {
    loop {
        let before = jsonwebtoken::get_current_timestamp();
        let verdict = check(i64::try_from(before).unwrap());
        if jsonwebtoken::get_current_timestamp() == before {
            return verdict;
        }
    }
}

#[test]
fn an_iat_in_the_future_is_accepted_up_to_the_leeway_and_refused_past_it() {
    let codec = JwtCodec::hs256(SECRET, "warden", "warden");
    let at = serde_json::json!({"alg": "HS256", "typ": "at+jwt"});
    let leeway = i64::try_from(LEEWAY_SECONDS).unwrap();
    let verifies_with_iat_ahead_by = |ahead: i64| {
        within_one_second(|now| {
            let mut body = payload("warden", "warden", 600);
            body["iat"] = serde_json::json!(now + ahead);
            codec.verify(&hand_made(&at, &body, SECRET)).is_ok()
        })
    };
    assert!(verifies_with_iat_ahead_by(0));
    assert!(verifies_with_iat_ahead_by(leeway), "just inside the leeway");
    assert!(
        !verifies_with_iat_ahead_by(leeway + 1),
        "just outside the leeway"
    );
    assert!(!verifies_with_iat_ahead_by(3600), "an hour ahead");
    // And through the codec's own signing, as a real token minted ahead would come.
    let mut c = claims(Duration::minutes(15));
    c.issued_at += Duration::seconds(leeway + 5);
    assert_eq!(
        codec.verify(&sign(&codec, &c)).map(|_| ()),
        Err(TokenError::Malformed)
    );
}

#[test]
fn a_token_seen_again_is_answered_from_memory_and_an_altered_one_still_checked() {
    let codec = JwtCodec::hs256(SECRET, "warden", "warden");
    let token = sign(&codec, &claims(Duration::minutes(15)));
    let first = codec.verify(&token).unwrap();
    assert_eq!(codec.verified.len(), 1);
    assert_eq!(codec.verify(&token).unwrap(), first);
    assert_eq!(codec.verified.len(), 1);
    // One character of the signature changed: not the remembered token, so checked and refused.
    let mut altered = token.clone().into_bytes();
    let last = altered.len() - 2;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    assert_eq!(codec.verify(&altered), Err(TokenError::BadSignature));
    // Refused tokens are not remembered.
    assert_eq!(codec.verified.len(), 1);
    // Another codec (another key) remembers nothing of this one's tokens.
    let other = JwtCodec::hs256(
        b"another key of forty bytes, just as long",
        "warden",
        "warden",
    );
    assert_eq!(other.verify(&token), Err(TokenError::BadSignature));
}

#[test]
fn a_remembered_token_expires_on_time() {
    let codec = JwtCodec::hs256(SECRET, "warden", "warden");
    let leeway = i64::try_from(LEEWAY_SECONDS).unwrap();
    // Valid for one more second at most, counting the leeway.
    let mut c = claims(Duration::ZERO);
    c.expires_at -= Duration::seconds(leeway - 1);
    let token = sign(&codec, &c);
    assert!(codec.verify(&token).is_ok());
    assert_eq!(codec.verified.len(), 1);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(codec.verify(&token), Err(TokenError::Expired));
}

#[test]
fn many_threads_at_once_with_the_token_and_its_variants_each_get_their_own_verdict() {
    let codec = std::sync::Arc::new(JwtCodec::hs256(SECRET, "warden", "warden"));
    let token = sign(&codec, &claims(Duration::minutes(15)));
    let threads: Vec<_> = (0..16)
        .map(|n| {
            let (codec, token) = (codec.clone(), token.clone());
            std::thread::spawn(move || {
                for round in 0..200 {
                    // Odd threads alter one character of the signature, in a different place each time.
                    let presented = if n % 2 == 1 {
                        let mut bytes = token.clone().into_bytes();
                        let at = bytes.len() - 1 - (n + round) % 20;
                        bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
                        String::from_utf8(bytes).unwrap()
                    } else {
                        token.clone()
                    };
                    assert_eq!(codec.verify(&presented).is_ok(), n % 2 == 0, "thread {n}");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    // Only the real token was remembered.
    assert_eq!(codec.verified.len(), 1);
}

#[test]
fn a_token_without_a_well_formed_session_id_is_malformed() {
    let codec = JwtCodec::hs256(SECRET, "warden", "warden");
    let header = serde_json::json!({"alg": "HS256", "typ": "at+jwt"});
    let mut body = payload("warden", "warden", 600);
    assert!(codec.verify(&hand_made(&header, &body, SECRET)).is_ok());
    for sid in [
        serde_json::Value::Null,
        serde_json::json!("not-a-uuid"),
        serde_json::json!(7),
    ] {
        body["sid"] = sid.clone();
        let token = hand_made(&header, &body, SECRET);
        assert_eq!(
            codec.verify(&token).map(|_| ()),
            Err(TokenError::Malformed),
            "{sid}"
        );
    }
    body.as_object_mut().unwrap().remove("sid");
    let token = hand_made(&header, &body, SECRET);
    assert_eq!(codec.verify(&token).map(|_| ()), Err(TokenError::Malformed));
}
