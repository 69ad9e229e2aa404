//! SHA-256 digests of API keys, compared in constant time. Keys carry 256 random bits, so a
//! fast digest is enough: there is nothing to brute-force.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use warden_domain::ports::KeyDigester;

/// SHA-256, hex-encoded.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sha256Digester;

impl KeyDigester for Sha256Digester {
    fn digest(&self, secret: &str) -> String {
        use std::fmt::Write as _;
        Sha256::digest(secret.as_bytes())
            .iter()
            .fold(String::with_capacity(64), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            })
    }

    fn matches(&self, secret: &str, digest: &str) -> bool {
        // Both sides are 64 hex characters, so comparing them leaks nothing through length.
        self.digest(secret)
            .as_bytes()
            .ct_eq(digest.as_bytes())
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
