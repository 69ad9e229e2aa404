//! Key material: HS256 secrets and Ed25519 key pairs (PKCS#8 v1 private, SPKI public, PEM).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, EncodingKey};
use secrecy::SecretString;

use crate::system::random_bytes;

/// DER prefix of a PKCS#8 v1 Ed25519 private key; the 32-byte seed follows.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// DER prefix of an SPKI Ed25519 public key; the 32-byte key follows.
const SPKI_ED25519_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// A new HS256 secret: 384 random bits, URL-safe base64 (64 characters).
pub fn generate_hs256_secret() -> SecretString {
    SecretString::from(URL_SAFE_NO_PAD.encode(random_bytes::<48>()))
}

/// An Ed25519 key pair as PEM: the PKCS#8 private key and its SPKI public key.
#[derive(Debug)]
pub struct Ed25519Pem {
    /// `-----BEGIN PRIVATE KEY-----` …
    pub private: SecretString,
    /// `-----BEGIN PUBLIC KEY-----` …
    pub public: String,
}

/// A new Ed25519 key pair.
///
/// # Panics
/// Never in practice: a freshly made PKCS#8 v1 key always has a public half.
#[expect(
    clippy::expect_used,
    reason = "a fresh Ed25519 seed in a fixed PKCS#8 v1 prefix always yields its public half"
)]
pub fn generate_ed25519() -> Ed25519Pem {
    let mut der = PKCS8_ED25519_PREFIX.to_vec();
    der.extend_from_slice(&random_bytes::<32>());
    let jwk = Jwk::from_encoding_key(&EncodingKey::from_ed_der(&der), Algorithm::EdDSA)
        .expect("a fresh Ed25519 seed always has a public key");
    let AlgorithmParameters::OctetKeyPair(okp) = jwk.algorithm else {
        unreachable!("an Ed25519 key yields an OKP JWK");
    };
    let x = URL_SAFE_NO_PAD
        .decode(okp.x)
        .expect("jsonwebtoken encodes x as base64url");
    let mut spki = SPKI_ED25519_PREFIX.to_vec();
    spki.extend_from_slice(&x);
    Ed25519Pem {
        private: SecretString::from(pem("PRIVATE KEY", &der)),
        public: pem("PUBLIC KEY", &spki),
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}
