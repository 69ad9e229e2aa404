//! Password hashes made elsewhere: argon2 by other libraries, bcrypt, PBKDF2 in passlib's,
//! Django's and werkzeug's formats, and werkzeug's scrypt. This reads which format a string is
//! and refuses any whose cost is over the bounds that keep one login from taking seconds of CPU
//! or a gigabyte of memory. Verifying is the hasher's, with the crate made for each algorithm.
//!
//! A reason never quotes the input: a "hash" may be a plaintext password.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, NO_PAD, STANDARD, STANDARD_NO_PAD};

/// The highest bcrypt cost imported (2^15 rounds, about 2 s of one core).
pub const MAX_BCRYPT_COST: u64 = 15;
/// The most PBKDF2 iterations imported.
pub const MAX_PBKDF2_ITERATIONS: u64 = 2_000_000;
/// The most argon2 memory imported, in KiB (256 MiB).
pub const MAX_ARGON2_MEMORY_KIB: u64 = 256 * 1024;
/// The most argon2 passes imported.
pub const MAX_ARGON2_TIME: u64 = 10;
/// The most argon2 lanes imported.
pub const MAX_ARGON2_LANES: u64 = 8;
/// The highest scrypt N imported (2^20).
pub const MAX_SCRYPT_N: u64 = 1 << 20;
/// The largest scrypt block size r imported: werkzeug's own.
pub const MAX_SCRYPT_R: u64 = 8;
/// The most memory one scrypt verification may take, 128 · N · r bytes: argon2's bound, so
/// that N at its bound goes with r of at most 2 (werkzeug's default, N 2^15 and r 8, takes
/// 32 MiB).
pub const MAX_SCRYPT_MEMORY: u64 = 256 * 1024 * 1024;
/// The most scrypt lanes p imported.
pub const MAX_SCRYPT_P: u64 = 4;

/// Why a hash is not imported. The message names the rule, never the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HashRefusal {
    /// No format that is imported (a plaintext password lands here).
    #[error(
        "password_hash is not a supported hash (argon2, bcrypt, PBKDF2 of passlib, Django or \
         werkzeug, or werkzeug's scrypt)"
    )]
    Unsupported,
    /// A known format with a broken part.
    #[error("password_hash is malformed: {0}")]
    Malformed(&'static str),
    /// A cost over its bound.
    #[error("password_hash is over a bound: {what} must be at most {max}")]
    OverBound {
        /// The parameter.
        what: &'static str,
        /// Its bound.
        max: u64,
    },
}

/// The argon2 variant of a PHC string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Argon2Variant {
    /// argon2d.
    D,
    /// argon2i.
    I,
    /// argon2id.
    Id,
}

/// The HMAC digest of a PBKDF2 hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pbkdf2Digest {
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Pbkdf2Digest {
    /// The length of the derived key the formats store: the digest's own.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

/// What a hash is, with what its verification needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForeignHash {
    /// An argon2 PHC string (verified as the string says).
    Argon2 {
        /// Which argon2.
        variant: Argon2Variant,
    },
    /// A bcrypt string (verified as the string says).
    Bcrypt,
    /// PBKDF2-HMAC in passlib's, Django's or werkzeug's format.
    Pbkdf2 {
        /// The HMAC digest.
        digest: Pbkdf2Digest,
        /// Its iterations.
        iterations: u32,
        /// The salt, as the derivation takes it.
        salt: Vec<u8>,
        /// The derived key to compare with.
        expected: Vec<u8>,
    },
    /// werkzeug's scrypt.
    Scrypt {
        /// log2 of N.
        log_n: u8,
        /// The block size.
        r: u32,
        /// The lanes.
        p: u32,
        /// The salt, as the derivation takes it.
        salt: Vec<u8>,
        /// The derived key to compare with.
        expected: Vec<u8>,
    },
}

/// bcrypt's own base64, unpadded.
const BCRYPT64: GeneralPurpose = GeneralPurpose::new(&alphabet::BCRYPT, NO_PAD);

/// Reads a hash made elsewhere and checks its costs against the bounds.
///
/// # Errors
/// [`HashRefusal`]: an unknown format, a malformed part, or a cost over its bound.
pub fn inspect(hash: &str) -> Result<ForeignHash, HashRefusal> {
    if let Some(rest) = hash.strip_prefix("$argon2") {
        argon2(rest)
    } else if let Some(rest) = hash.strip_prefix("$2") {
        bcrypt(rest)
    } else if let Some(rest) = hash.strip_prefix("$pbkdf2-") {
        passlib_pbkdf2(rest)
    } else if let Some(rest) = hash.strip_prefix("pbkdf2_sha256$") {
        django_pbkdf2(rest)
    } else if let Some(rest) = hash.strip_prefix("pbkdf2:") {
        werkzeug_pbkdf2(rest)
    } else if let Some(rest) = hash.strip_prefix("scrypt:") {
        werkzeug_scrypt(rest)
    } else {
        Err(HashRefusal::Unsupported)
    }
}

/// A decimal number as PHC writes one: no sign and no leading zero (argon2's parser refuses
/// `m=019456`, which would otherwise pass here and fail at every login).
/// (Zero itself is no cost either.)
fn decimal(text: &str, what: &'static str) -> Result<u64, HashRefusal> {
    if text.starts_with('0') {
        return Err(HashRefusal::Malformed(what));
    }
    number(text, what)
}

/// A decimal number, digits only (Rust's parser would take a `+`); empty, or past `u64`, is
/// malformed.
fn number(text: &str, what: &'static str) -> Result<u64, HashRefusal> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HashRefusal::Malformed(what));
    }
    text.parse().map_err(|_| HashRefusal::Malformed(what))
}

/// `value` if it is within `1..=max`: zero is malformed, over the bound is named.
fn bounded(value: u64, what: &'static str, max: u64) -> Result<u64, HashRefusal> {
    if value == 0 {
        return Err(HashRefusal::Malformed(what));
    }
    if value > max {
        return Err(HashRefusal::OverBound { what, max });
    }
    Ok(value)
}

/// [`bounded`], as a `u32` (every bound fits one).
fn within(value: u64, what: &'static str, max: u64) -> Result<u32, HashRefusal> {
    let value = bounded(value, what, max)?;
    u32::try_from(value).map_err(|_| HashRefusal::OverBound { what, max })
}

/// A [`number`] [`within`] its bound.
fn cost(text: &str, what: &'static str, max: u64) -> Result<u32, HashRefusal> {
    within(number(text, what)?, what, max)
}

/// Bytes of base64 in `engine`, of a length within `lengths`.
fn decode(
    engine: &GeneralPurpose,
    text: &str,
    lengths: std::ops::RangeInclusive<usize>,
    what: &'static str,
) -> Result<Vec<u8>, HashRefusal> {
    let bytes = engine
        .decode(text)
        .map_err(|_| HashRefusal::Malformed(what))?;
    if !lengths.contains(&bytes.len()) {
        return Err(HashRefusal::Malformed(what));
    }
    Ok(bytes)
}

/// passlib's "adapted base64": the standard alphabet with `.` for `+`, unpadded.
fn ab64(
    text: &str,
    lengths: std::ops::RangeInclusive<usize>,
    what: &'static str,
) -> Result<Vec<u8>, HashRefusal> {
    if text.contains('+') {
        return Err(HashRefusal::Malformed(what));
    }
    decode(&STANDARD_NO_PAD, &text.replace('.', "+"), lengths, what)
}

/// Lower- or upper-case hex of exactly `len` bytes.
fn hex_bytes(text: &str, len: usize, what: &'static str) -> Result<Vec<u8>, HashRefusal> {
    let bytes = hex::decode(text).map_err(|_| HashRefusal::Malformed(what))?;
    if bytes.len() != len {
        return Err(HashRefusal::Malformed(what));
    }
    Ok(bytes)
}

/// A salt that Django and werkzeug store as text and derive with as its bytes: printable
/// ASCII without `$`, 1 to 128 characters.
fn text_salt(text: &str) -> Result<Vec<u8>, HashRefusal> {
    let printable = text.bytes().all(|b| b.is_ascii_graphic() && b != b'$');
    if text.is_empty() || text.len() > 128 || !printable {
        return Err(HashRefusal::Malformed("the salt"));
    }
    Ok(text.as_bytes().to_vec())
}

/// `$argon2{id,i,d}$v=19$m=…,t=…,p=…$salt$hash`, after `$argon2`.
fn argon2(rest: &str) -> Result<ForeignHash, HashRefusal> {
    let parts: Vec<&str> = rest.split('$').collect();
    let [variant, version, params, salt, output] = parts[..] else {
        return Err(HashRefusal::Malformed(
            "an argon2 hash has a variant, a version, parameters, a salt and an output",
        ));
    };
    let variant = match variant {
        "id" => Argon2Variant::Id,
        "i" => Argon2Variant::I,
        "d" => Argon2Variant::D,
        _ => return Err(HashRefusal::Malformed("the argon2 variant")),
    };
    if version != "v=19" && version != "v=16" {
        return Err(HashRefusal::Malformed("the argon2 version (v=19 or v=16)"));
    }
    let mut costs = params.split(',');
    let mut next = |key: &str, what: &'static str, max: u64| match costs.next() {
        Some(pair) => match pair.strip_prefix(key) {
            Some(value) => within(decimal(value, what)?, what, max),
            None => Err(HashRefusal::Malformed("the argon2 parameters (m, t, p)")),
        },
        None => Err(HashRefusal::Malformed("the argon2 parameters (m, t, p)")),
    };
    let memory = next("m=", "argon2 memory (KiB)", MAX_ARGON2_MEMORY_KIB)?;
    next("t=", "argon2 time (passes)", MAX_ARGON2_TIME)?;
    let lanes = next("p=", "argon2 parallelism (lanes)", MAX_ARGON2_LANES)?;
    if costs.next().is_some() {
        return Err(HashRefusal::Malformed("the argon2 parameters (m, t, p)"));
    }
    if memory < 8 * lanes {
        return Err(HashRefusal::Malformed(
            "the argon2 memory (at least 8 KiB per lane)",
        ));
    }
    decode(&STANDARD_NO_PAD, salt, 8..=48, "the argon2 salt")?;
    decode(&STANDARD_NO_PAD, output, 10..=64, "the argon2 output")?;
    Ok(ForeignHash::Argon2 { variant })
}

/// `$2a$`, `$2b$` or `$2y$`, two digits of cost, `$`, 22 characters of salt and 31 of hash,
/// after `$2`.
fn bcrypt(rest: &str) -> Result<ForeignHash, HashRefusal> {
    let parts: Vec<&str> = rest.split('$').collect();
    let [minor, rounds, salted] = parts[..] else {
        return Err(HashRefusal::Unsupported);
    };
    if !matches!(minor, "a" | "b" | "y") {
        return Err(HashRefusal::Unsupported);
    }
    if rounds.len() != 2 {
        return Err(HashRefusal::Malformed("the bcrypt cost (two digits)"));
    }
    let rounds = number(rounds, "the bcrypt cost (two digits)")?;
    if rounds < 4 {
        return Err(HashRefusal::Malformed("the bcrypt cost (at least 4)"));
    }
    bounded(rounds, "bcrypt cost", MAX_BCRYPT_COST)?;
    if salted.len() != 53 || !salted.is_ascii() {
        return Err(HashRefusal::Malformed(
            "the bcrypt salt and hash (53 characters)",
        ));
    }
    let (salt, hash) = salted.split_at(22);
    decode(&BCRYPT64, salt, 16..=16, "the bcrypt salt")?;
    decode(&BCRYPT64, hash, 23..=23, "the bcrypt hash")?;
    Ok(ForeignHash::Bcrypt)
}

/// A PBKDF2 digest name as the formats write it.
fn pbkdf2_digest(name: &str) -> Result<Pbkdf2Digest, HashRefusal> {
    match name {
        "sha256" => Ok(Pbkdf2Digest::Sha256),
        "sha512" => Ok(Pbkdf2Digest::Sha512),
        _ => Err(HashRefusal::Unsupported),
    }
}

/// PBKDF2 iterations, within their bound.
fn iterations(text: &str) -> Result<u32, HashRefusal> {
    cost(text, "PBKDF2 iterations", MAX_PBKDF2_ITERATIONS)
}

/// passlib's `$pbkdf2-sha256$rounds$salt$checksum` (ab64), after `$pbkdf2-`.
fn passlib_pbkdf2(rest: &str) -> Result<ForeignHash, HashRefusal> {
    let parts: Vec<&str> = rest.split('$').collect();
    let [digest, rounds, salt, checksum] = parts[..] else {
        return Err(HashRefusal::Malformed(
            "a passlib PBKDF2 hash has a digest, rounds, a salt and a checksum",
        ));
    };
    let digest = pbkdf2_digest(digest)?;
    let iterations = iterations(rounds)?;
    let salt = ab64(salt, 1..=1024, "the salt")?;
    let len = digest.output_len();
    let expected = ab64(checksum, len..=len, "the checksum")?;
    Ok(ForeignHash::Pbkdf2 {
        digest,
        iterations,
        salt,
        expected,
    })
}

/// Django's `pbkdf2_sha256$iterations$salt$hash` (standard base64), after the algorithm.
fn django_pbkdf2(rest: &str) -> Result<ForeignHash, HashRefusal> {
    let parts: Vec<&str> = rest.split('$').collect();
    let [rounds, salt, hash] = parts[..] else {
        return Err(HashRefusal::Malformed(
            "a Django PBKDF2 hash has iterations, a salt and a hash",
        ));
    };
    let iterations = iterations(rounds)?;
    let salt = text_salt(salt)?;
    let expected = decode(&STANDARD, hash, 32..=32, "the hash")?;
    Ok(ForeignHash::Pbkdf2 {
        digest: Pbkdf2Digest::Sha256,
        iterations,
        salt,
        expected,
    })
}

/// werkzeug's `method$salt$hash`, after the algorithm's name.
fn werkzeug_parts(rest: &str) -> Result<[&str; 3], HashRefusal> {
    let parts: Vec<&str> = rest.split('$').collect();
    <[&str; 3]>::try_from(parts)
        .map_err(|_| HashRefusal::Malformed("a werkzeug hash has a method, a salt and a hash"))
}

/// werkzeug's `pbkdf2:sha256:iterations$salt$hex`, after `pbkdf2:`.
fn werkzeug_pbkdf2(rest: &str) -> Result<ForeignHash, HashRefusal> {
    let [method, salt, hash] = werkzeug_parts(rest)?;
    let Some((digest, rounds)) = method.split_once(':') else {
        return Err(HashRefusal::Malformed(
            "the werkzeug method (pbkdf2:sha256:iterations)",
        ));
    };
    let digest = pbkdf2_digest(digest)?;
    let iterations = iterations(rounds)?;
    let salt = text_salt(salt)?;
    let expected = hex_bytes(hash, digest.output_len(), "the hash")?;
    Ok(ForeignHash::Pbkdf2 {
        digest,
        iterations,
        salt,
        expected,
    })
}

/// werkzeug's `scrypt:N:r:p$salt$hex` (a 64-byte key), after `scrypt:`.
fn werkzeug_scrypt(rest: &str) -> Result<ForeignHash, HashRefusal> {
    let [method, salt, hash] = werkzeug_parts(rest)?;
    let costs: Vec<&str> = method.split(':').collect();
    let [n, r, p] = costs[..] else {
        return Err(HashRefusal::Malformed("the werkzeug method (scrypt:N:r:p)"));
    };
    let n = bounded(number(n, "scrypt N")?, "scrypt N", MAX_SCRYPT_N)?;
    if n < 2 || !n.is_power_of_two() {
        return Err(HashRefusal::Malformed(
            "scrypt N (a power of two, at least 2)",
        ));
    }
    let log_n = u8::try_from(n.trailing_zeros()).map_err(|_| HashRefusal::Malformed("scrypt N"))?;
    let r = cost(r, "scrypt r", MAX_SCRYPT_R)?;
    let p = cost(p, "scrypt p", MAX_SCRYPT_P)?;
    // scrypt itself requires N < 2^(16 r); the crate refuses the rest at every login.
    if u32::from(log_n) >= 16 * r {
        return Err(HashRefusal::Malformed("scrypt N (below 2^(16 r))"));
    }
    if 128 * n * u64::from(r) > MAX_SCRYPT_MEMORY {
        return Err(HashRefusal::OverBound {
            what: "scrypt memory (128 N r bytes)",
            max: MAX_SCRYPT_MEMORY,
        });
    }
    let salt = text_salt(salt)?;
    let expected = hex_bytes(hash, 64, "the hash")?;
    Ok(ForeignHash::Scrypt {
        log_n,
        r,
        p,
        salt,
        expected,
    })
}

#[cfg(test)]
#[path = "foreign_hash_tests.rs"]
mod tests;
