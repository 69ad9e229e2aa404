use secrecy::SecretString;
use warden_domain::foreign_hash::inspect;
use warden_domain::ports::PasswordHasher as _;
use warden_domain::user::PasswordHash;

use super::*;
use crate::hasher::Argon2Hasher;

/// (label, password, hash) made by the Python libraries; see /work/vectors.txt.
const PYTHON_HASHES: &[(&str, &str, &str)] = &[
    (
        "passlib_bcrypt_2b_cost4",
        "correct horse battery staple",
        r"$2b$04$76b/syOEPwyP82YJkmT.mO47Ko.C9N6gLh/su51kBejLqQqWLk9bm",
    ),
    (
        "passlib_bcrypt_2a_cost4",
        "correct horse battery staple",
        r"$2a$04$4Le8FvyxsD8dorUYrn5VUOOh2uHrSqTvYDKu/W9DTh5bLj4e1Xt3G",
    ),
    (
        "passlib_bcrypt_2y_cost4",
        "correct horse battery staple",
        r"$2y$04$xCPK51CkbFUNJaS.OMTv0u7fVNIBszkXwA.UT43N0skNvPlu7Rotm",
    ),
    (
        "passlib_pbkdf2_sha256_1000",
        "correct horse battery staple",
        r"$pbkdf2-sha256$1000$5Dxn7P0fw5gTgjBmLOW8dw$Pc/02E0Z1Bidas99YoP68OGNLNeXmo/wI.wAJEJ0UFI",
    ),
    (
        "passlib_pbkdf2_sha512_1000",
        "correct horse battery staple",
        r"$pbkdf2-sha512$1000$5zyHcE4pJQTg3DsH4Pyfsw$pbW1FyaRPRCXoELdi0DpA9pEeegMd5W9MZApJXhX77Dqfz6VklnPSbPk1Q3cNIakJm2tunBEt11wyl86EVwFcw",
    ),
    (
        "passlib_argon2id_m1024_t1_p1",
        "correct horse battery staple",
        r"$argon2id$v=19$m=1024,t=1,p=1$2ttby5kTIqT03tv7Pweg9A$WCMC3gef6niLGkoomL5UZMx7ofNtOE5AJAAsayqhTM8",
    ),
    (
        "argon2cffi_argon2i_m1024_t2_p1",
        "correct horse battery staple",
        r"$argon2i$v=19$m=1024,t=2,p=1$wBN/dzENAuzml3QoH3XMRw$YrZ5htjaJ5/BKY3k9Rwcu+gehYVfpBOlJkXprHe6Avw",
    ),
    (
        "argon2cffi_argon2d_m1024_t2_p1",
        "correct horse battery staple",
        r"$argon2d$v=19$m=1024,t=2,p=1$rul2j22luuz0+Ol5mlEJEQ$4LvFtTwCS/CEHAuj9wM4bs4y5ieUfJpvisitLr2Uww4",
    ),
    (
        "pwdlib_argon2_default_m65536_t3_p4",
        "correct horse battery staple",
        r"$argon2id$v=19$m=65536,t=3,p=4$OUxZJhsg/k/yUOEzYw+p7A$qtk+tZJ1VZW5QrKtjSJrlqAL7G703ArcCL+d2z2e5Wo",
    ),
    (
        "pwdlib_bcrypt_default_2b_cost12",
        "correct horse battery staple",
        r"$2b$12$2oUvhuKfRv.WD/NSw9/W/uPZ/nEcgrJ19CqWdxvslqkFgU2cl4Kym",
    ),
    (
        "django_pbkdf2_sha256_1000",
        "correct horse battery staple",
        r"pbkdf2_sha256$1000$S8Ch4wF8vLDieuiOMCwYoa$iPmLoDIaBv8Cp/cBTukQyJkTsMioaGLJIlB4ADhOut4=",
    ),
    (
        "werkzeug_pbkdf2_sha256_1000",
        "correct horse battery staple",
        r"pbkdf2:sha256:1000$AbVMUtni8Q0sz1vd$46d21c39a1e357807231fd570ad7dae5bb9421312322a62a9c38bb944d69f025",
    ),
    (
        "werkzeug_pbkdf2_sha512_1000",
        "correct horse battery staple",
        r"pbkdf2:sha512:1000$aw7UjZJuSWnaZAq4$b053416e403a1163e4c98aa2d0412b6907fd91c16a7883f0ec6eca5e3aa039dca4ce9ebb610ccea24d4853c6a76eb0233457fd5e624903c576ac9ab06050bbf2",
    ),
    (
        "werkzeug_scrypt_16384_8_1",
        "correct horse battery staple",
        r"scrypt:16384:8:1$ZGz9ORrBHaqaKirz$c3dc65aadba9d869fd75b8888c359b329e94012f98d8cfae397d2dbfab54dc8e01c5f8235cff1a52c75a5a258d3ec68bef91f2e1af47ff237580f20361c6da55",
    ),
];

const WRONG: &str = "correct horse battery stapler";

#[tokio::test]
async fn every_library_s_hash_verifies_its_password_and_no_other_and_needs_an_upgrade() {
    let hasher = Argon2Hasher::new(2048, 1, 1, 2).unwrap();
    for (label, password, hash) in PYTHON_HASHES {
        assert!(inspect(hash).is_ok(), "{label}: {:?}", inspect(hash));
        let stored = PasswordHash::new((*hash).to_owned());
        let right = hasher
            .verify(SecretString::from(*password), stored.clone())
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
    for (label, password, hash) in PYTHON_HASHES {
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
    let over = PYTHON_HASHES[0].2.replace("$04$", "$31$");
    assert!(matches!(
        verify(b"correct horse battery staple", &over),
        Err(ForeignError::Refused(_))
    ));
    assert!(matches!(
        verify(b"x", "plaintext password"),
        Err(ForeignError::Refused(_))
    ));
}
