//! The second factor's algorithm: RFC 6238 codes (totp-rs: HMAC-SHA1, six digits, 30-second
//! steps), the enrolment's `otpauth://` URI and its QR code (qrcode, as SVG), and the sealing of
//! the secrets at rest with XChaCha20-Poly1305 under `mfa.encryption_key`.
//!
//! A sealed secret is `base64url(nonce ‖ ciphertext)` with a random 192-bit nonce, bound to its
//! user by the associated data, so that a secret copied onto another user's row does not
//! open. It names its key by an id (a digest of the key), so that keys can rotate: secrets
//! sealed under `mfa.previous_encryption_keys` still open.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{Key, KeyInit, XChaCha20Poly1305, XNonce};
use qrcode::QrCode;
use qrcode::render::svg;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Builder, Secret, Totp};
use uuid::Uuid;
use warden_domain::Error;
use warden_domain::mfa::{Provisioning, STEP_SECONDS, SealedSecret};
use warden_domain::ports::Authenticator;

/// Bytes of a new secret: 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;
/// Bytes of the nonce.
const NONCE_BYTES: usize = 24;
/// The alphabet of recovery codes (RFC 4648 base32, lower case).
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A key of the sealing, with its id.
struct SealingKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl SealingKey {
    fn new(key: &[u8; 32]) -> Self {
        let digest = Sha256::digest([b"warden mfa key id v1\n".as_slice(), key].concat());
        Self {
            id: hex::encode(&digest[..8]),
            cipher: XChaCha20Poly1305::new(&Key::from(*key)),
        }
    }
}

/// TOTP over sealed secrets.
pub struct TotpAuthenticator {
    /// Seals every new secret; opens those it sealed.
    current: SealingKey,
    /// Open what they sealed.
    previous: Vec<SealingKey>,
    /// The issuer an authenticator app shows.
    issuer: String,
}

impl std::fmt::Debug for TotpAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpAuthenticator")
            .field("key_id", &self.current.id)
            .finish_non_exhaustive()
    }
}

impl TotpAuthenticator {
    /// Seals under `current`, opens under it and under each of `previous`; `issuer` names the
    /// service in authenticator apps.
    pub fn new(current: &[u8; 32], previous: &[[u8; 32]], issuer: &str) -> Self {
        Self {
            current: SealingKey::new(current),
            previous: previous.iter().map(SealingKey::new).collect(),
            issuer: issuer.replace(':', " "),
        }
    }

    fn seal(&self, user_id: Uuid, plain: &[u8]) -> Result<SealedSecret, Error> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|e| Error::internal(e.to_string()))?;
        let sealed = self
            .current
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: user_id.as_bytes(),
                },
            )
            .map_err(|_| Error::internal("sealing a TOTP secret failed"))?;
        Ok(SealedSecret {
            key_id: self.current.id.clone(),
            sealed: URL_SAFE_NO_PAD.encode([nonce.as_slice(), &sealed].concat()),
        })
    }

    fn open(&self, user_id: Uuid, secret: &SealedSecret) -> Result<Vec<u8>, Error> {
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == secret.key_id)
            .ok_or_else(|| Error::internal("a TOTP secret is sealed under a key that is gone"))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(&secret.sealed)
            .map_err(|_| Error::internal("a sealed TOTP secret is not base64"))?;
        let (nonce, sealed) = bytes
            .split_at_checked(NONCE_BYTES)
            .ok_or_else(|| Error::internal("a sealed TOTP secret is too short"))?;
        let nonce: [u8; NONCE_BYTES] = nonce
            .try_into()
            .map_err(|_| Error::internal("a sealed TOTP secret is too short"))?;
        key.cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: user_id.as_bytes(),
                },
            )
            .map_err(|_| Error::internal("a TOTP secret does not open"))
    }

    fn totp(&self, secret: Vec<u8>, account: &str) -> Result<Totp, Error> {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_skew(0)
            .with_step_duration(STEP_SECONDS.unsigned_abs())
            .with_secret(Secret::from(secret))
            .with_issuer(Some(self.issuer.as_str()))
            .with_account_name(account.replace(':', " "))
            .build()
            .map_err(|e| Error::internal(e.to_string()))
    }
}

impl Authenticator for TotpAuthenticator {
    fn new_factor(
        &self,
        user_id: Uuid,
        account: &str,
    ) -> Result<(SealedSecret, Provisioning), Error> {
        let mut secret = vec![0u8; SECRET_BYTES];
        getrandom::fill(&mut secret).map_err(|e| Error::internal(e.to_string()))?;
        let sealed = self.seal(user_id, &secret)?;
        let totp = self.totp(secret, account)?;
        let uri = totp.to_url().map_err(|e| Error::internal(e.to_string()))?;
        let qr = QrCode::new(uri.as_bytes()).map_err(|e| Error::internal(e.to_string()))?;
        let svg = qr
            .render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build();
        Ok((
            sealed,
            Provisioning {
                secret: SecretString::from(totp.secret().to_base32()),
                uri: SecretString::from(uri),
                qr_svg: SecretString::from(svg),
            },
        ))
    }

    fn matching_step(
        &self,
        user_id: Uuid,
        secret: &SealedSecret,
        code: &str,
        steps: &[i64],
    ) -> Result<Option<i64>, Error> {
        let totp = self.totp(self.open(user_id, secret)?, "")?;
        let period = STEP_SECONDS.unsigned_abs();
        // Each step checked without skew: the domain chose them.
        Ok(steps.iter().copied().find(|&step| {
            u64::try_from(step).is_ok_and(|s| totp.check(code, s.saturating_mul(period)).is_some())
        }))
    }

    fn recovery_code(&self) -> Result<SecretString, Error> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| Error::internal(e.to_string()))?;
        // 32 divides 256: each character is uniform over the alphabet, 16 of them 80 bits.
        let chars: Vec<char> = bytes
            .iter()
            .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b % 32)]))
            .collect();
        let groups: Vec<String> = chars.chunks(4).map(|g| g.iter().collect()).collect();
        Ok(SecretString::from(groups.join("-")))
    }
}

#[cfg(test)]
#[path = "authenticator_tests.rs"]
mod tests;
