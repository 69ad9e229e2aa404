//! Every imported format read, each cost bound just inside and just outside, and every
//! broken part refused without quoting the hash.

use super::*;

const BCRYPT_TAIL: &str = "..CA.uOD/eaGAOmJB.yMBuXETkX0fnYkrqZU3taFDwa1Pzblb2cVm";
const ARGON2_SALT: &str = "AAECAwQFBgcICQoLDA0ODw";
const ARGON2_OUT: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
const AB64_SALT: &str = "AAECAwQFBgcICQoLDA0ODw";
const AB64_SHA256: &str = "LXEWQrcmsEQBYnyp.6wy9chTD7GQPMTbAiWHF5IaSIE";
const AB64_SHA512: &str =
    "pKvURIxJVi2CgRXROh/M6pJ/UrTVRZKX.LQ.QtqJI4vBNibkPcs43bCCSIkn7JBPtCBXRDmD6IWFF51QVRr.Yg";
const DJANGO_HASH: &str = "ofzkNjhU/4iM/0uOeHXWAMJoI5BBKoz3mzfQsRFIsPo=";
const HEX32: &str = "594e519ae499312b29433b7dd8a97ff068defcba9755b6d5d00e84c524d67b06";
const HEX64: &str = "5ae625665f3e0bd0a065ed07a41989e4025b79d13930a2a8c57d6b4325226707\
                     d956a082d1e91b4d96a793562df98fd03c9dcf743c9c7b4e3055d4f9f09ba015";

fn bcrypt_of(cost: &str) -> String {
    format!("$2b${cost}${BCRYPT_TAIL}")
}

fn argon2_of(m: u64, t: u64, p: u64) -> String {
    format!("$argon2id$v=19$m={m},t={t},p={p}${ARGON2_SALT}${ARGON2_OUT}")
}

fn passlib_of(iterations: u64) -> String {
    format!("$pbkdf2-sha256${iterations}${AB64_SALT}${AB64_SHA256}")
}

fn django_of(iterations: u64) -> String {
    format!("pbkdf2_sha256${iterations}$Qm9hcmRzYWx0MTIz${DJANGO_HASH}")
}

fn werkzeug_of(iterations: u64) -> String {
    format!("pbkdf2:sha256:{iterations}$ZxYw9aBc1DeF2gHi${HEX32}")
}

fn scrypt_of(n: u64, r: u64, p: u64) -> String {
    format!("scrypt:{n}:{r}:{p}$ZxYw9aBc1DeF2gHi${HEX64}")
}

fn over(what: &'static str, max: u64) -> Result<(), HashRefusal> {
    Err(HashRefusal::OverBound { what, max })
}

fn checked(hash: &str) -> Result<(), HashRefusal> {
    inspect(hash).map(|_| ())
}

#[test]
fn bcrypt_cost_is_bounded_at_15_and_floored_at_4() {
    assert_eq!(inspect(&bcrypt_of("15")), Ok(ForeignHash::Bcrypt));
    assert_eq!(checked(&bcrypt_of("16")), over("bcrypt cost", 15));
    assert_eq!(checked(&bcrypt_of("04")), Ok(()));
    assert!(matches!(
        checked(&bcrypt_of("03")),
        Err(HashRefusal::Malformed(_))
    ));
    for minor in ["a", "b", "y"] {
        let hash = format!("$2{minor}$12${BCRYPT_TAIL}");
        assert_eq!(checked(&hash), Ok(()), "{minor}");
    }
    assert_eq!(
        checked(&format!("$2x$12${BCRYPT_TAIL}")),
        Err(HashRefusal::Unsupported)
    );
}

#[test]
fn bcrypt_parts_must_be_whole() {
    for bad in [
        bcrypt_of("1"),
        bcrypt_of("123"),
        bcrypt_of("1a"),
        format!("$2b$12${}", &BCRYPT_TAIL[1..]),
        format!("$2b$12${BCRYPT_TAIL}x"),
        // A character outside bcrypt's alphabet in the salt, then in the hash.
        format!("$2b$12$!{}", &BCRYPT_TAIL[1..]),
        format!("$2b$12${}!", &BCRYPT_TAIL[..52]),
        // A salt whose last character carries bits a salt of 16 bytes cannot have.
        format!("$2b$12${}f{}", &BCRYPT_TAIL[..21], &BCRYPT_TAIL[22..]),
        format!("$2b$12${}é", &BCRYPT_TAIL[..51]),
        // 53 bytes with a two-byte character across the salt's end: refused, never split.
        format!("$2b$12${}é{}", &BCRYPT_TAIL[..21], &BCRYPT_TAIL[..30]),
    ] {
        assert!(
            matches!(checked(&bad), Err(HashRefusal::Malformed(_))),
            "{bad}: {:?}",
            checked(&bad)
        );
    }
    assert_eq!(
        checked(&format!("$2b$12$12${BCRYPT_TAIL}")),
        Err(HashRefusal::Unsupported)
    );
}

#[test]
fn argon2_costs_are_bounded_each() {
    assert_eq!(
        inspect(&argon2_of(262_144, 10, 8)),
        Ok(ForeignHash::Argon2 {
            variant: Argon2Variant::Id
        })
    );
    assert_eq!(
        checked(&argon2_of(262_145, 1, 1)),
        over("argon2 memory (KiB)", 262_144)
    );
    assert_eq!(
        checked(&argon2_of(1024, 11, 1)),
        over("argon2 time (passes)", 10)
    );
    assert_eq!(
        checked(&argon2_of(1024, 1, 9)),
        over("argon2 parallelism (lanes)", 8)
    );
    // argon2's own floor: 8 KiB per lane.
    assert_eq!(checked(&argon2_of(64, 1, 8)), Ok(()));
    assert!(matches!(
        checked(&argon2_of(63, 1, 8)),
        Err(HashRefusal::Malformed(_))
    ));
    for zero in [
        argon2_of(0, 1, 1),
        argon2_of(1024, 0, 1),
        argon2_of(1024, 1, 0),
    ] {
        assert!(matches!(checked(&zero), Err(HashRefusal::Malformed(_))));
    }
}

#[test]
fn argon2_variants_versions_and_parts() {
    for (name, variant) in [
        ("id", Argon2Variant::Id),
        ("i", Argon2Variant::I),
        ("d", Argon2Variant::D),
    ] {
        for version in ["v=19", "v=16"] {
            let hash = format!("$argon2{name}${version}$m=1024,t=2,p=1${ARGON2_SALT}${ARGON2_OUT}");
            assert_eq!(inspect(&hash), Ok(ForeignHash::Argon2 { variant }));
        }
    }
    for bad in [
        format!("$argon2x$v=19$m=1024,t=2,p=1${ARGON2_SALT}${ARGON2_OUT}"),
        format!("$argon2id$v=18$m=1024,t=2,p=1${ARGON2_SALT}${ARGON2_OUT}"),
        format!("$argon2id$m=1024,t=2,p=1${ARGON2_SALT}${ARGON2_OUT}"),
        format!("$argon2id$v=19$t=2,m=1024,p=1${ARGON2_SALT}${ARGON2_OUT}"),
        format!("$argon2id$v=19$m=1024,t=2${ARGON2_SALT}${ARGON2_OUT}"),
        format!("$argon2id$v=19$m=1024,t=2,p=1,k=1${ARGON2_SALT}${ARGON2_OUT}"),
        format!("$argon2id$v=19$m=+1024,t=2,p=1${ARGON2_SALT}${ARGON2_OUT}"),
        // A leading zero, which argon2's own parser refuses.
        format!("$argon2id$v=19$m=01024,t=2,p=1${ARGON2_SALT}${ARGON2_OUT}"),
        format!("$argon2id$v=19$m=1024,t=02,p=1${ARGON2_SALT}${ARGON2_OUT}"),
        format!("$argon2id$v=19$m=1024,t=2,p=01${ARGON2_SALT}${ARGON2_OUT}"),
        format!("$argon2id$v=19$m=1024,t=2,p=1$!{ARGON2_SALT}${ARGON2_OUT}"),
        format!("$argon2id$v=19$m=1024,t=2,p=1${ARGON2_SALT}=${ARGON2_OUT}"),
        // A salt of 7 bytes, an output of 9.
        format!("$argon2id$v=19$m=1024,t=2,p=1$AAECAwQFBg${ARGON2_OUT}"),
        format!("$argon2id$v=19$m=1024,t=2,p=1${ARGON2_SALT}$AAECAwQFBgcI"),
        format!("$argon2id$v=19$m=1024,t=2,p=1${ARGON2_SALT}"),
    ] {
        assert!(
            matches!(checked(&bad), Err(HashRefusal::Malformed(_))),
            "{bad}: {:?}",
            checked(&bad)
        );
    }
    // Eight bytes of salt and ten of output are the least.
    let least = "$argon2id$v=19$m=1024,t=2,p=1$AAECAwQFBgc$AAECAwQFBgcICQ";
    assert_eq!(checked(least), Ok(()));
}

#[test]
fn pbkdf2_iterations_are_bounded_in_every_format() {
    for format in [passlib_of, django_of, werkzeug_of] {
        assert_eq!(checked(&format(2_000_000)), Ok(()));
        assert_eq!(checked(&format(1)), Ok(()));
        assert_eq!(
            checked(&format(2_000_001)),
            over("PBKDF2 iterations", 2_000_000)
        );
        assert!(matches!(
            checked(&format(0)),
            Err(HashRefusal::Malformed(_))
        ));
        // Digits past any bound are over it, and past u64 malformed, never a wrapped number.
        assert_eq!(
            checked(&format(99_999_999_999)),
            over("PBKDF2 iterations", 2_000_000)
        );
        let huge = format(1).replacen("$1$", &format!("${}$", "9".repeat(21)), 1);
        let huge = huge.replacen(":1$", &format!(":{}$", "9".repeat(21)), 1);
        assert!(
            matches!(checked(&huge), Err(HashRefusal::Malformed(_))),
            "{huge}"
        );
    }
}

#[test]
fn pbkdf2_formats_give_the_salt_and_key_their_derivation_takes() {
    let Ok(ForeignHash::Pbkdf2 {
        digest,
        iterations,
        salt,
        expected,
    }) = inspect(&passlib_of(29_000))
    else {
        panic!("passlib")
    };
    assert_eq!(
        (digest, iterations, salt),
        (Pbkdf2Digest::Sha256, 29_000, (0..16).collect::<Vec<u8>>())
    );
    assert_eq!(expected.len(), 32);
    let sha512 = format!("$pbkdf2-sha512$1000${AB64_SALT}${AB64_SHA512}");
    assert!(matches!(
        inspect(&sha512),
        Ok(ForeignHash::Pbkdf2 { digest: Pbkdf2Digest::Sha512, ref expected, .. }) if expected.len() == 64
    ));
    // Django and werkzeug derive with the salt's text as bytes.
    let Ok(ForeignHash::Pbkdf2 { salt, .. }) = inspect(&django_of(1000)) else {
        panic!("django")
    };
    assert_eq!(salt, b"Qm9hcmRzYWx0MTIz");
    let Ok(ForeignHash::Pbkdf2 {
        salt,
        expected,
        digest,
        ..
    }) = inspect(&werkzeug_of(1000))
    else {
        panic!("werkzeug")
    };
    assert_eq!(
        (salt.as_slice(), digest),
        (&b"ZxYw9aBc1DeF2gHi"[..], Pbkdf2Digest::Sha256)
    );
    assert_eq!(hex::encode(expected), HEX32);
    let sha512 = format!("pbkdf2:sha512:1000$salt${HEX64}");
    assert!(matches!(
        inspect(&sha512),
        Ok(ForeignHash::Pbkdf2 {
            digest: Pbkdf2Digest::Sha512,
            ..
        })
    ));
}

#[test]
fn pbkdf2_parts_must_be_whole() {
    for bad in [
        // passlib: a '+' is not in its alphabet, a short checksum, a sha512 of sha256's length.
        format!("$pbkdf2-sha256$1000$AA+C${AB64_SHA256}"),
        format!("$pbkdf2-sha256$1000${AB64_SALT}${}", &AB64_SHA256[1..]),
        format!("$pbkdf2-sha512$1000${AB64_SALT}${AB64_SHA256}"),
        format!("$pbkdf2-sha256$1000$${AB64_SHA256}"),
        format!("$pbkdf2-sha256$1000${AB64_SALT}"),
        // Django: padding missing, a salt with a space, no salt.
        format!(
            "pbkdf2_sha256$1000$salt${}",
            DJANGO_HASH.trim_end_matches('=')
        ),
        format!("pbkdf2_sha256$1000$sa lt${DJANGO_HASH}"),
        format!("pbkdf2_sha256$1000$${DJANGO_HASH}"),
        "pbkdf2_sha256$1000$salt".to_owned(),
        // werkzeug: odd hex, no iterations, a long salt, sha512's length for sha256.
        format!("pbkdf2:sha256:1000$salt${}", &HEX32[1..]),
        format!("pbkdf2:sha256$salt${HEX32}"),
        format!("pbkdf2:sha256:1000${}${HEX32}", "s".repeat(129)),
        format!("pbkdf2:sha256:1000$salt${HEX64}"),
        format!("pbkdf2:sha256:10:00$salt${HEX32}"),
    ] {
        assert!(
            matches!(checked(&bad), Err(HashRefusal::Malformed(_))),
            "{bad}: {:?}",
            checked(&bad)
        );
    }
    assert_eq!(
        checked(&format!("pbkdf2:sha256:1000${}${HEX32}", "s".repeat(128))),
        Ok(())
    );
    for unsupported in [
        format!("$pbkdf2-sha1$1000${AB64_SALT}${AB64_SHA256}"),
        format!("pbkdf2:md5:1000$salt${HEX32}"),
        format!("pbkdf2_sha1$1000$salt${DJANGO_HASH}"),
    ] {
        assert_eq!(checked(&unsupported), Err(HashRefusal::Unsupported));
    }
}

#[test]
fn scrypt_costs_are_bounded_each() {
    assert_eq!(checked(&scrypt_of(1 << 20, 2, 4)), Ok(()));
    assert_eq!(checked(&scrypt_of(2, 1, 1)), Ok(()));
    assert_eq!(
        checked(&scrypt_of(1 << 21, 1, 1)),
        over("scrypt N", 1 << 20)
    );
    // Memory, 128 N r: 256 MiB is the most.
    let memory = "scrypt memory (128 N r bytes)";
    assert_eq!(checked(&scrypt_of(1 << 20, 3, 1)), over(memory, 1 << 28));
    assert_eq!(checked(&scrypt_of(1 << 18, 8, 1)), Ok(()));
    assert_eq!(checked(&scrypt_of(1 << 19, 8, 1)), over(memory, 1 << 28));
    // scrypt's own rule, N < 2^(16 r): 2^15 with r 1 is the most.
    assert_eq!(checked(&scrypt_of(1 << 15, 1, 1)), Ok(()));
    assert!(matches!(
        checked(&scrypt_of(1 << 16, 1, 1)),
        Err(HashRefusal::Malformed(_))
    ));
    assert_eq!(checked(&scrypt_of(32_768, 9, 1)), over("scrypt r", 8));
    assert_eq!(checked(&scrypt_of(32_768, 8, 5)), over("scrypt p", 4));
    let Ok(ForeignHash::Scrypt {
        log_n, r, p, salt, ..
    }) = inspect(&scrypt_of(32_768, 8, 1))
    else {
        panic!("scrypt")
    };
    assert_eq!((log_n, r, p), (15, 8, 1));
    assert_eq!(salt, b"ZxYw9aBc1DeF2gHi");
    for bad in [
        scrypt_of(1, 8, 1),
        scrypt_of(3, 8, 1),
        scrypt_of(32_767, 8, 1),
        scrypt_of(0, 8, 1),
        scrypt_of(32_768, 0, 1),
        scrypt_of(32_768, 8, 0),
        format!("scrypt:32768:8$salt${HEX64}"),
        format!("scrypt:32768:8:1$salt${HEX32}"),
        "scrypt:32768:8:1$salt".to_owned(),
    ] {
        assert!(
            matches!(checked(&bad), Err(HashRefusal::Malformed(_))),
            "{bad}: {:?}",
            checked(&bad)
        );
    }
}

#[test]
fn anything_else_is_refused_without_quoting_it() {
    for plain in [
        "",
        "hunter2 correct horse",
        "$1$md5crypt$abcdefghijklmnop",
        "$6$rounds=5000$salt$hash",
        "sha1$salt$hash",
        "{SSHA}abcdef",
        "$argon2",
        "$2",
    ] {
        let refusal = inspect(plain).unwrap_err();
        if !plain.is_empty() {
            assert!(!refusal.to_string().contains(plain), "{refusal}");
        }
    }
    assert_eq!(
        inspect("hunter2 correct horse"),
        Err(HashRefusal::Unsupported)
    );
    let message = inspect(&bcrypt_of("16")).unwrap_err().to_string();
    assert_eq!(
        message,
        "password_hash is over a bound: bcrypt cost must be at most 15"
    );
}
