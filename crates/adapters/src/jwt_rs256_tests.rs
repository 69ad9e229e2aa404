//! Tests of RS256: the JWKS an OpenID Connect relying party reads, PKCS#8 and PKCS#1 keys,
//! rotation, weak keys refused, and no confusion with the other algorithms.
//!
//! The keys under `testdata/` were made for these tests alone (`openssl genpkey -algorithm RSA`)
//! and sign nothing anywhere else.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::ExposeSecret;
use time::Duration;

use super::tests::{claims, hand_made, payload, sign};
use super::*;

const A: &[u8] = include_bytes!("testdata/rsa_a.pem");
const A_PKCS1: &[u8] = include_bytes!("testdata/rsa_a.pkcs1.pem");
const B: &[u8] = include_bytes!("testdata/rsa_b.pem");
const B_PUBLIC: &[u8] = include_bytes!("testdata/rsa_b.pub.pem");
const WEAK: &[u8] = include_bytes!("testdata/rsa_weak.pem");

fn rs256(private: &[u8], public: &[Vec<u8>]) -> Result<JwtCodec, KeyError> {
    JwtCodec::asymmetric(Asymmetric::Rs256, private, public, "warden", "warden")
}

#[test]
fn rs256_tokens_name_a_kid_whose_jwk_verifies_them_alone() {
    let codec = rs256(A, &[]).unwrap();
    let token = sign(&codec, &claims(Duration::minutes(5)));
    let header = decode_header(&token).unwrap();
    assert_eq!(
        (header.alg, header.typ.as_deref()),
        (Algorithm::RS256, Some("at+jwt"))
    );
    let jwks: serde_json::Value = serde_json::from_str(codec.jwks_json()).unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kid"], header.kid.unwrap().as_str());
    assert_eq!(
        (
            key["kty"].as_str(),
            key["alg"].as_str(),
            key["use"].as_str()
        ),
        (Some("RSA"), Some("RS256"), Some("sig"))
    );
    assert_eq!(key["e"], "AQAB");
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(key["n"].as_str().unwrap())
            .unwrap()
            .len(),
        256
    );
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(key.get(private).is_none(), "{private} in the JWKS");
    }
    assert!(codec.verify(&token).is_ok());
    // The JWK alone, as a relying party would use it.
    let jwk: Jwk = serde_json::from_value(key.clone()).unwrap();
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&["warden"]);
    let decoded = decode::<serde_json::Value>(&token, &DecodingKey::from_jwk(&jwk).unwrap(), &v);
    assert!(decoded.is_ok());
}

#[test]
fn a_pkcs1_key_signs_as_its_pkcs8_form_does() {
    let pkcs8 = rs256(A, &[]).unwrap();
    let pkcs1 = rs256(A_PKCS1, &[]).unwrap();
    assert_eq!(pkcs8.jwks_json(), pkcs1.jwks_json());
    let token = sign(&pkcs1, &claims(Duration::minutes(5)));
    assert!(pkcs8.verify(&token).is_ok());
}

#[test]
fn rotation_keeps_the_old_key_while_it_is_listed() {
    let old = rs256(B, &[]).unwrap();
    let token = sign(&old, &claims(Duration::minutes(5)));
    let rotated = rs256(A, &[B_PUBLIC.to_vec()]).unwrap();
    assert!(rotated.verify(&token).is_ok());
    let jwks: serde_json::Value = serde_json::from_str(rotated.jwks_json()).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    let dropped = rs256(A, &[]).unwrap();
    assert_eq!(dropped.verify(&token), Err(TokenError::BadSignature));
    // The same key listed twice is published once.
    let twice = rs256(B, &[B_PUBLIC.to_vec()]).unwrap();
    let jwks: serde_json::Value = serde_json::from_str(twice.jwks_json()).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
}

#[test]
fn weak_and_foreign_keys_are_refused_naming_the_key() {
    let e = rs256(WEAK, &[]).err().unwrap().to_string();
    assert_eq!(
        e,
        "the signing key: an RSA key must have at least 2048 bits, not 1024"
    );
    let weak_public = {
        let codec = rs256(WEAK, &[]);
        assert!(codec.is_err());
        // The weak key's public half, taken from its JWK by hand.
        let encoding = EncodingKey::from_rsa_pem(WEAK).unwrap();
        let jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).unwrap();
        DecodingKey::from_jwk(&jwk).unwrap();
        jwk
    };
    assert!(matches!(
        public_jwk(weak_public, Asymmetric::Rs256, &|| "public key 1"
            .to_owned()),
        Err(KeyError::WeakRsa { bits: 1024, .. })
    ));
    let e = rs256(A, &[b"junk".to_vec()]).err().unwrap().to_string();
    assert!(e.starts_with("public key 1: not an RSA SPKI PEM"), "{e}");
    let ed = crate::keys::generate_ed25519();
    let e = rs256(ed.private.expose_secret().as_bytes(), &[])
        .err()
        .unwrap()
        .to_string();
    assert!(e.starts_with("not an RSA private key PEM"), "{e}");
    let e = JwtCodec::asymmetric(Asymmetric::EdDsa, A, &[], "w", "w")
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.starts_with("not an Ed25519 PKCS#8 private key PEM"),
        "{e}"
    );
}

#[test]
fn no_other_algorithm_passes_for_rs256() {
    let codec = rs256(A, &[]).unwrap();
    let jwks: serde_json::Value = serde_json::from_str(codec.jwks_json()).unwrap();
    let n = jwks["keys"][0]["n"].as_str().unwrap();
    // HS256 keyed with the public modulus or the PEM (the confusion attack), and `none`.
    for key in [n.as_bytes(), B_PUBLIC] {
        let at =
            serde_json::json!({"alg": "HS256", "typ": "at+jwt", "kid": jwks["keys"][0]["kid"]});
        let forged = hand_made(&at, &payload("warden", "warden", 600), key);
        assert_eq!(codec.verify(&forged), Err(TokenError::BadSignature));
    }
    let token = sign(&codec, &claims(Duration::minutes(5)));
    let (head, rest) = token.split_once('.').unwrap();
    let none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#);
    let (body, _) = rest.split_once('.').unwrap();
    assert!(codec.verify(&format!("{none}.{body}.")).is_err());
    assert!(!head.is_empty());
    // A token of another RSA key is refused.
    let other = rs256(B, &[]).unwrap();
    let theirs = sign(&other, &claims(Duration::minutes(5)));
    assert_eq!(codec.verify(&theirs), Err(TokenError::BadSignature));
}
