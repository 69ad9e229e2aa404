//! Verification of imported hashes that are not argon2 (argon2 of any library is the
//! hasher's own PHC path): bcrypt by the bcrypt crate, PBKDF2-HMAC by the pbkdf2 crate and
//! werkzeug's scrypt by the scrypt crate, each derived key compared in constant time. The
//! format and the bounds on its costs are the domain's ([`warden_domain::foreign_hash`]), read
//! again here, so a stored hash over a bound is never run whatever wrote it.

use pbkdf2::pbkdf2_hmac;
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq as _;
use warden_domain::foreign_hash::{self, ForeignHash, HashRefusal, Pbkdf2Digest};

/// Why a foreign hash could not be verified.
#[derive(Debug, thiserror::Error)]
pub enum ForeignError {
    /// The domain refused the hash's format or cost.
    #[error(transparent)]
    Refused(#[from] HashRefusal),
    /// The bcrypt crate refused the hash.
    #[error("bcrypt refused the hash")]
    Bcrypt,
    /// The scrypt crate refused the parameters.
    #[error("scrypt refused the parameters")]
    Scrypt,
    /// An argon2 hash, which is not this module's.
    #[error("an argon2 hash is verified as PHC")]
    Argon2,
}

/// Whether `password` matches a foreign hash that is not argon2.
///
/// # Errors
/// [`ForeignError`] when the hash is refused by the domain or by its crate.
pub(crate) fn verify(password: &[u8], hash: &str) -> Result<bool, ForeignError> {
    match foreign_hash::inspect(hash)? {
        ForeignHash::Bcrypt => bcrypt::verify(password, hash).map_err(|_| ForeignError::Bcrypt),
        ForeignHash::Pbkdf2 {
            digest,
            iterations,
            salt,
            expected,
        } => {
            let mut derived = vec![0_u8; expected.len()];
            match digest {
                Pbkdf2Digest::Sha256 => {
                    pbkdf2_hmac::<Sha256>(password, &salt, iterations, &mut derived);
                }
                Pbkdf2Digest::Sha512 => {
                    pbkdf2_hmac::<Sha512>(password, &salt, iterations, &mut derived);
                }
            }
            Ok(derived.ct_eq(&expected).into())
        }
        ForeignHash::Scrypt {
            log_n,
            r,
            p,
            salt,
            expected,
        } => {
            let params = scrypt::Params::new(log_n, r, p, expected.len())
                .map_err(|_| ForeignError::Scrypt)?;
            let mut derived = vec![0_u8; expected.len()];
            scrypt::scrypt(password, &salt, &params, &mut derived)
                .map_err(|_| ForeignError::Scrypt)?;
            Ok(derived.ct_eq(&expected).into())
        }
        ForeignHash::Argon2 { .. } => Err(ForeignError::Argon2),
    }
}

#[cfg(test)]
#[path = "foreign_tests.rs"]
mod tests;
