//! Hashes made by the Python libraries verified by the crates, and a hash over a bound never run.

use secrecy::SecretString;
use warden_domain::foreign_hash::inspect;
use warden_domain::ports::PasswordHasher as _;
use warden_domain::user::PasswordHash;

use super::*;
use crate::hasher::Argon2Hasher;

/// (label, password, hash) made by passlib, pwdlib, argon2-cffi, Django and werkzeug
/// (`tests/outside/import_hashes.py` pins them), one a line, tab-separated.
const PYTHON_HASHES: &str = include_str!("../../../tests/fixtures/python_hashes.tsv");

fn python_hashes() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    PYTHON_HASHES.lines().map(|line| {
        let mut fields = line.split('\t');
        let mut next = || fields.next().unwrap();
        (next(), next(), next())
    })
}

const WRONG: &str = "correct horse battery stapler";

#[tokio::test]
async fn every_library_s_hash_verifies_its_password_and_no_other_and_needs_an_upgrade() {
    let hasher = Argon2Hasher::new(2048, 1, 1, 2).unwrap();
    for (label, password, hash) in python_hashes() {
        assert!(inspect(hash).is_ok(), "{label}: {:?}", inspect(hash));
        let stored = PasswordHash::new(hash.to_owned());
        let right = hasher
            .verify(SecretString::from(password), stored.clone())
            .await;
        assert!(right.unwrap(), "{label}");
        let wrong = hasher
            .verify(SecretString::from(WRONG), stored.clone())
            .await;
        assert!(!wrong.unwrap(), "{label}");
        assert!(hasher.needs_rehash(&stored), "{label}");
    }
}

#[test]
fn each_algorithm_is_verified_here_and_argon2_is_not() {
    for (label, password, hash) in python_hashes() {
        let here = verify(password.as_bytes(), hash);
        if hash.starts_with("$argon2") {
            assert!(matches!(here, Err(ForeignError::Argon2)), "{label}");
        } else {
            assert!(here.unwrap(), "{label}");
            // One bit off in the stored key is a mismatch, not an error.
            let last = hash.chars().last().unwrap();
            let flipped = if last == 'a' { 'b' } else { 'a' };
            let mut other = hash[..hash.len() - 1].to_owned();
            other.push(flipped);
            assert!(
                !verify(password.as_bytes(), &other).unwrap_or(false),
                "{label}"
            );
        }
    }
}

#[test]
fn a_stored_hash_over_a_bound_is_never_run() {
    // A real cost-4 hash with its cost raised past the bound: refused before bcrypt runs
    // 2^31 rounds.
    let over = python_hashes().next().unwrap().2.replace("$04$", "$31$");
    assert!(matches!(
        verify(b"correct horse battery staple", &over),
        Err(ForeignError::Refused(_))
    ));
    assert!(matches!(
        verify(b"x", "plaintext password"),
        Err(ForeignError::Refused(_))
    ));
}

#[tokio::test]
async fn what_the_reading_accepts_at_its_edges_the_crates_verify_without_error() {
    let zeros = |n: usize| "0".repeat(n);
    let b64 = |n: usize| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(vec![7_u8; n])
    };
    let edges = [
        // argon2: the least and the most salt and output, the least memory per lane.
        format!("$argon2id$v=19$m=8,t=1,p=1${}${}", b64(8), b64(10)),
        format!("$argon2i$v=16$m=64,t=1,p=8${}${}", b64(48), b64(64)),
        format!("$argon2d$v=19$m=1024,t=1,p=1${}${}", b64(16), b64(32)),
        // bcrypt at its least cost.
        "$2y$04$..CA.uOD/eaGAOmJB.yMBuXETkX0fnYkrqZU3taFDwa1Pzblb2cVm".to_owned(),
        // PBKDF2 at one iteration, each digest and format.
        format!("$pbkdf2-sha512$1${}${}", b64(1), b64(64).replace('+', ".")),
        format!("pbkdf2_sha256$1$s${}", {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode([1_u8; 32])
        }),
        format!("pbkdf2:sha512:1$s${}", zeros(128)),
        // scrypt at N's most for r = 1 (N < 2^(16 r)), and the least N.
        format!("scrypt:32768:1:1$s${}", zeros(128)),
        format!("scrypt:2:1:4$s${}", zeros(128)),
    ];
    let hasher = Argon2Hasher::new(1024, 1, 1, 1).unwrap();
    for hash in edges {
        assert!(inspect(&hash).is_ok(), "{hash}: {:?}", inspect(&hash));
        let verified = hasher
            .verify(SecretString::from("pw"), PasswordHash::new(hash.clone()))
            .await;
        assert!(matches!(verified, Ok(false)), "{hash}: {verified:?}");
    }
}
