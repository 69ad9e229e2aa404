//! The strength policy of a symmetric signing secret (HS256): a length floor, a list of
//! published example secrets, and a conservative estimate of the entropy it carries.
//!
//! The estimate is the smaller of two figures, each an upper bound on what an attacker who
//! knows the trick would have to guess:
//! - the empirical Shannon entropy per character times the length, which sees a small or
//!   skewed alphabet;
//! - a structural estimate that walks the secret like a compressor: a character continuing
//!   an arithmetic run (`abcd`, `1234`, `aaaa`) costs one bit, a stretch repeating earlier text
//!   costs the bits of a back-reference, and any other character costs the bits of the
//!   character classes the secret uses.
//!
//! Text anyone could guess (published examples and placeholder words) is taken out before the
//! structural estimate, so a secret made of such words and a short suffix is measured by the
//! suffix.

use std::collections::BTreeMap;
use std::fmt;

/// The fewest bytes an HS256 key may have (RFC 7518 §3.2: at least the hash's 256 bits).
pub const MIN_SECRET_BYTES: usize = 32;
/// The least estimated entropy, in bits, a secret must carry.
pub const MIN_SECRET_BITS: f64 = 128.0;
/// Only this many characters are measured. Both estimates can only grow with more text, so
/// measuring a prefix underestimates, which is the safe side; it bounds the work on hostile
/// configuration.
const MEASURED_CHARS: usize = 256;
/// A repeat of at least this many characters is priced as a back-reference.
const MIN_REPEAT: usize = 3;

/// Secrets published in documentation and tutorials, compared without case and separators.
const PUBLISHED_EXAMPLES: &[&str] = &[
    // jwt.io's debugger, now and before.
    "a-string-secret-at-least-256-bits-long",
    "your-256-bit-secret",
    "your-384-bit-secret",
    "your-512-bit-secret",
    // Supabase's local and self-hosting defaults.
    "super-secret-jwt-token-with-at-least-32-characters-long",
    "your-super-secret-jwt-token-with-at-least-32-characters-long",
];

/// Words that placeholders are made of; they carry no entropy.
const PLACEHOLDER_WORDS: &[&str] = &[
    "changeme",
    "change",
    "replaceme",
    "replace",
    "secret",
    "password",
    "passwd",
    "jwt",
    "token",
    "key",
    "example",
    "default",
    "test",
    "my",
    "your",
    "super",
    "warden",
    "todo",
    "xxx",
];

/// Why a secret must not sign tokens.
#[derive(Clone, Debug, PartialEq)]
pub enum SecretWeakness {
    /// Shorter than [`MIN_SECRET_BYTES`]; refused in every profile.
    TooShort,
    /// One of the secrets published in documentation.
    PublishedExample,
    /// Under [`MIN_SECRET_BITS`] of estimated entropy.
    LowEntropy {
        /// The estimate, rounded down.
        bits: u32,
    },
}

impl fmt::Display for SecretWeakness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort => write!(f, "must be at least {MIN_SECRET_BYTES} bytes"),
            Self::PublishedExample => write!(
                f,
                "is a published example secret; make one with `warden keys generate`"
            ),
            Self::LowEntropy { bits } => write!(
                f,
                "is too predictable (about {bits} bits of estimated entropy, {MIN_SECRET_BITS} needed); make one with `warden keys generate`"
            ),
        }
    }
}

/// Why this HS256 secret is too weak to use, if it is.
pub fn secret_weakness(secret: &str) -> Option<SecretWeakness> {
    if secret.len() < MIN_SECRET_BYTES {
        return Some(SecretWeakness::TooShort);
    }
    let folded = fold(secret);
    if PUBLISHED_EXAMPLES.iter().any(|e| fold(e) == folded) {
        return Some(SecretWeakness::PublishedExample);
    }
    let bits = estimated_entropy_bits(secret);
    if bits < MIN_SECRET_BITS {
        // Truncation is meant: the figure is shown rounded down.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        return Some(SecretWeakness::LowEntropy {
            bits: bits.floor() as u32,
        });
    }
    None
}

/// A conservative estimate of the entropy of a secret, in bits (see the module's text).
pub fn estimated_entropy_bits(secret: &str) -> f64 {
    let chars: Vec<char> = secret.chars().take(MEASURED_CHARS).collect();
    let unknown = without_known_text(&chars);
    shannon_bits(&chars)
        .min(structural_bits(&chars))
        .min(structural_bits(&unknown))
}

/// Lower-case ASCII letters and digits only, for comparing spellings of one text.
fn fold(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The secret with every published example and placeholder word cut out, ignoring case.
fn without_known_text(chars: &[char]) -> Vec<char> {
    let mut out = chars.to_vec();
    let words = PUBLISHED_EXAMPLES.iter().chain(PLACEHOLDER_WORDS);
    for word in words {
        let word: Vec<char> = word.chars().collect();
        let mut i = 0;
        while i + word.len() <= out.len() {
            let matches = out[i..i + word.len()]
                .iter()
                .zip(&word)
                .all(|(a, b)| a.eq_ignore_ascii_case(b));
            if matches {
                out.drain(i..i + word.len());
            } else {
                i += 1;
            }
        }
    }
    out
}

/// The empirical Shannon entropy of the characters, times their number.
#[allow(clippy::cast_precision_loss)] // Counts of at most MEASURED_CHARS.
fn shannon_bits(chars: &[char]) -> f64 {
    let mut counts = BTreeMap::new();
    for c in chars {
        *counts.entry(*c).or_insert(0_usize) += 1;
    }
    let n = chars.len() as f64;
    counts
        .values()
        .map(|&count| {
            let count = count as f64;
            -count * (count / n).log2()
        })
        .sum()
}

/// The bits of one character drawn from the classes this secret uses. Hexadecimal counts
/// as an alphabet of its own, so a hex string is priced at four bits a character.
fn class_bits(chars: &[char]) -> f64 {
    let has = |f: fn(&char) -> bool| chars.iter().any(f);
    let hex_only =
        |f: fn(&char) -> bool| chars.iter().filter(|c| f(c)).all(char::is_ascii_hexdigit);
    let mut pool = 0_u32;
    if has(char::is_ascii_lowercase) {
        pool += if hex_only(char::is_ascii_lowercase) {
            6
        } else {
            26
        };
    }
    if has(char::is_ascii_uppercase) {
        pool += if hex_only(char::is_ascii_uppercase) {
            6
        } else {
            26
        };
    }
    if has(char::is_ascii_digit) {
        pool += 10;
    }
    if has(|c| c.is_ascii() && !c.is_ascii_alphanumeric()) {
        pool += 33;
    }
    if has(|c| !c.is_ascii()) {
        pool += 128;
    }
    f64::from(pool.max(1)).log2()
}

/// What a compressor that knows runs and repeats would need to write the characters down.
#[allow(clippy::cast_precision_loss)] // Positions of at most MEASURED_CHARS.
fn structural_bits(chars: &[char]) -> f64 {
    let per_char = class_bits(chars);
    let delta = |i: usize| i64::from(u32::from(chars[i])) - i64::from(u32::from(chars[i - 1]));
    let mut bits = 0.0;
    let mut i = 0;
    while i < chars.len() {
        let repeat = longest_repeat(chars, i);
        if repeat >= MIN_REPEAT {
            // Where the earlier copy starts and how long it runs, plus a flag.
            bits += (i as f64).log2() + (repeat as f64).log2() + 1.0;
            i += repeat;
            continue;
        }
        let continues_run = i >= 2 && delta(i) == delta(i - 1) && delta(i).abs() <= 2;
        bits += if continues_run { 1.0 } else { per_char };
        i += 1;
    }
    bits
}

/// The longest stretch from `at` that also starts at an earlier position (overlap allowed).
fn longest_repeat(chars: &[char], at: usize) -> usize {
    (0..at)
        .map(|from| {
            chars[at..]
                .iter()
                .zip(&chars[from..])
                .take_while(|(a, b)| a == b)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
#[path = "secret_strength_tests.rs"]
mod tests;
