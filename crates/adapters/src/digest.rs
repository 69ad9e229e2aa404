//! SHA-256 digests of API keys and refresh tokens, compared in constant time (both carry 256
//! random bits, so a fast digest is enough: there is nothing to brute-force), and the keyed
//! derivation of a refresh token's successor.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use warden_domain::ports::{KeyDigester, SecretDeriver};

/// SHA-256, hex-encoded.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sha256Digester;

impl KeyDigester for Sha256Digester {
    fn digest(&self, secret: &str) -> String {
        // On every API-key request: `hex` writes the 64 characters from a table (formatting
        // each byte with `{:02x}` cost more than the hash).
        hex::encode(Sha256::digest(secret.as_bytes()))
    }

    fn matches(&self, secret: &str, digest: &str) -> bool {
        // Both sides are 64 hex characters, so comparing them leaks nothing through length.
        self.digest(secret)
            .as_bytes()
            .ct_eq(digest.as_bytes())
            .into()
    }
}

/// HMAC-SHA256 under a key derived from the token-signing key: every instance that signs
/// the same tokens derives the same successors, and nobody without the key can.
#[derive(Clone)]
pub struct HmacDeriver(Hmac<Sha256>);

impl HmacDeriver {
    /// A deriver keyed from the signing key material (the HS256 secret or the private key PEM),
    /// separated from any other use of that material by a label.
    #[expect(
        clippy::expect_used,
        reason = "HMAC takes a key of any length: new_from_slice cannot fail"
    )]
    pub fn from_signing_key(material: &[u8]) -> Self {
        let mut label = <Hmac<Sha256> as Mac>::new_from_slice(b"warden refresh successor v1")
            .expect("HMAC takes a key of any length");
        label.update(material);
        let key = label.finalize().into_bytes();
        Self(<Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes a key of any length"))
    }
}

impl std::fmt::Debug for HmacDeriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacDeriver([redacted])")
    }
}

impl SecretDeriver for HmacDeriver {
    fn derive(&self, parent: &str) -> SecretString {
        let mut mac = self.0.clone();
        mac.update(parent.as_bytes());
        SecretString::from(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn successors_are_stable_per_key_and_differ_across_keys_and_parents() {
        let a = HmacDeriver::from_signing_key(b"key one");
        let next = a.derive("parent");
        assert_eq!(next.expose_secret().len(), 43, "256 bits, URL-safe");
        assert_eq!(next.expose_secret(), a.derive("parent").expose_secret());
        assert_ne!(next.expose_secret(), a.derive("parent2").expose_secret());
        let b = HmacDeriver::from_signing_key(b"key two");
        assert_ne!(next.expose_secret(), b.derive("parent").expose_secret());
        assert_eq!(format!("{a:?}"), "HmacDeriver([redacted])");
    }

    #[test]
    fn digests_are_stable_hex_and_match_only_their_secret() {
        let d = Sha256Digester;
        let h = d.digest("wdn_abc");
        assert_eq!(h.len(), 64);
        assert_eq!(h, d.digest("wdn_abc"));
        assert!(d.matches("wdn_abc", &h));
        assert!(!d.matches("wdn_abd", &h));
        assert!(!d.matches("wdn_abc", "short"));
        assert_eq!(
            d.digest(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
