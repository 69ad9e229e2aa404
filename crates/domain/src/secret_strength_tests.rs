//! Tests of the signing-secret policy: the examples that production once accepted, the
//! threshold at its edge, and the estimator's two halves.

use super::*;

/// Sixteen hexadecimal digits in an order with no run and no repeat of three characters.
const SHUFFLED_HEX: &str = "7c2e9a4f0d6b1835";

fn weak(secret: &str) -> bool {
    secret_weakness(secret).is_some()
}

#[test]
fn the_four_secrets_production_accepted_are_refused() {
    let block = "k7Qz!p2W";
    let repeated = block.repeat(5);
    for secret in [
        "a-string-secret-at-least-256-bits-long",
        "abcdefghijklmnopqrstuvwxyz012345",
        "0123456789abcdef0123456789abcdef",
        repeated.as_str(),
    ] {
        assert!(weak(secret), "{secret} passed");
    }
    assert_eq!(
        secret_weakness("a-string-secret-at-least-256-bits-long"),
        Some(SecretWeakness::PublishedExample)
    );
}

#[test]
fn published_examples_are_refused_in_any_spelling() {
    for secret in [
        "A-STRING-SECRET-AT-LEAST-256-BITS-LONG",
        "a_string_secret_at_least_256_bits_long",
        "A String Secret At Least 256 Bits Long",
        "super-secret-jwt-token-with-at-least-32-characters-long",
    ] {
        assert_eq!(
            secret_weakness(secret),
            Some(SecretWeakness::PublishedExample),
            "{secret}"
        );
    }
}

#[test]
fn a_published_example_with_a_short_suffix_is_measured_by_the_suffix() {
    let secret = "a-string-secret-at-least-256-bits-long-x7";
    assert!(
        matches!(
            secret_weakness(secret),
            Some(SecretWeakness::LowEntropy { .. })
        ),
        "{secret}"
    );
}

#[test]
fn repeated_blocks_of_any_length_are_refused() {
    for block in ["Zq", "9$kL", "k7Qz!p2W", "Hv3#nR8@wX1&"] {
        let secret = block.repeat(64 / block.len() + 1);
        assert!(weak(&secret), "{secret} passed");
    }
}

#[test]
fn runs_and_placeholders_are_refused() {
    for secret in [
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
        "zyxwvutsrqponmlkjihgfedcba987654",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "change-me-change-me-change-me-change-me",
        "secret-secret-secret-secret-secret-1234",
        "my-super-secret-jwt-key-for-testing-purposes",
        "13579135791357913579135791357913",
        "acegikmoqsuwyACEGIKMOQSUWY0246813579",
    ] {
        assert!(
            matches!(
                secret_weakness(secret),
                Some(SecretWeakness::LowEntropy { .. })
            ),
            "{secret} passed"
        );
    }
}

#[test]
fn too_short_is_its_own_reason_whatever_the_entropy() {
    assert_eq!(
        secret_weakness("q3V8xZ1mR7tK2pW9yB4nL6cF0hJ5sD8"),
        Some(SecretWeakness::TooShort)
    );
}

#[test]
fn the_threshold_holds_at_its_edge() {
    // The same sixteen hex digits twice, shuffled differently: Shannon is exactly 4 bits a
    // character and the structure adds nothing, so the estimate is 4 bits a character.
    let second_half = "b3f81e6a05d9c2742";
    let at_128 = format!("{SHUFFLED_HEX}{}", &second_half[..16]);
    let bits = estimated_entropy_bits(&at_128);
    assert!((bits - 128.0).abs() < 1e-9, "{at_128}: {bits}");
    assert_eq!(secret_weakness(&at_128), None, "exactly 128 bits passes");

    // One more digit that repeats neither a run nor a stretch: just over.
    let just_over = format!("{at_128}5");
    let over = estimated_entropy_bits(&just_over);
    assert!((128.0..132.0).contains(&over), "{just_over}: {over}");
    assert_eq!(secret_weakness(&just_over), None);

    // Thirty-two characters where one digit takes the place of another: just under.
    let just_under = format!("{SHUFFLED_HEX}{}", "b3f81e6a05d9c277");
    let under = estimated_entropy_bits(&just_under);
    assert!((124.0..128.0).contains(&under), "{just_under}: {under}");
    assert!(matches!(
        secret_weakness(&just_under),
        Some(SecretWeakness::LowEntropy { bits: 124..=127 })
    ));
}

#[test]
fn the_structural_estimate_prices_runs_and_repeats() {
    let chars: Vec<char> = "abcdefgh".chars().collect();
    // Two characters at the class price, then six run steps at one bit each.
    let per = 26_f64.log2();
    assert!((structural_bits(&chars) - (2.0 * per + 6.0)).abs() < 1e-9);
    let chars: Vec<char> = "xq7xq7xq7xq7".chars().collect();
    assert!(structural_bits(&chars) < 3.0 * 36_f64.log2() + 8.0);
}

#[test]
fn the_shannon_estimate_sees_a_small_alphabet() {
    let chars: Vec<char> = "abababababababababababababababab".chars().collect();
    assert!((shannon_bits(&chars) - 32.0).abs() < 1e-9);
}

#[test]
fn long_secrets_are_measured_on_a_bounded_prefix() {
    let long: String = std::iter::repeat_n("Kq8", 100_000).collect();
    assert!(weak(&long));
}

#[test]
fn a_good_random_secret_passes() {
    for secret in [
        "q3V8xZ1mR7tK2pW9yB4nL6cF0hJ5sD8g",
        "zJ4w_hT9xQ-2mLc8vN0rPbK7yF5sEa1uGd3oWi6HtX",
    ] {
        assert_eq!(secret_weakness(secret), None, "{secret}");
    }
}

#[test]
fn each_reason_says_what_to_do_without_quoting_the_secret() {
    assert_eq!(
        SecretWeakness::TooShort.to_string(),
        format!("must be at least {MIN_SECRET_BYTES} bytes")
    );
    assert_eq!(
        SecretWeakness::PublishedExample.to_string(),
        "is a published example secret; make one with `warden keys generate`"
    );
    assert_eq!(
        SecretWeakness::LowEntropy { bits: 77 }.to_string(),
        format!(
            "is too predictable (about 77 bits of estimated entropy, {MIN_SECRET_BITS} needed); make one with `warden keys generate`"
        )
    );
}

#[test]
fn each_character_class_adds_its_own_alphabet() {
    let bits = |s: &str| class_bits(&s.chars().collect::<Vec<_>>());
    let log2 = |n: u32| f64::from(n).log2();
    for (secret, pool) in [
        ("", 1),
        ("qz", 26),
        ("QZ", 26),
        ("ab", 6),
        ("AB", 6),
        ("07", 10),
        ("!~", 33),
        ("é", 128),
        ("qZ", 52),
        ("aZ", 32),
        ("qz07", 36),
        ("Qz7!é", 223),
    ] {
        assert!(
            (bits(secret) - log2(pool)).abs() < 1e-9,
            "{secret:?}: {} bits, not log2({pool})",
            bits(secret)
        );
    }
}

#[test]
fn a_repeat_costs_where_it_starts_how_long_it_runs_and_a_flag() {
    let chars: Vec<char> = "qxzk7qxzk7".chars().collect();
    // Five characters at the class price, then one repeat of five from position 5.
    let per = 36_f64.log2();
    let expected = 5.0 * per + 5_f64.log2() + 5_f64.log2() + 1.0;
    assert!((structural_bits(&chars) - expected).abs() < 1e-9);
    // A repeat of two is no repeat: each character is priced.
    let chars: Vec<char> = "qxzqxk".chars().collect();
    assert!((structural_bits(&chars) - 6.0 * 26_f64.log2()).abs() < 1e-9);
    // A repeat of exactly three is one.
    let chars: Vec<char> = "qxzqxz".chars().collect();
    let expected = 3.0 * 26_f64.log2() + 3_f64.log2() + 3_f64.log2() + 1.0;
    assert!((structural_bits(&chars) - expected).abs() < 1e-9);
    // Characters after a repeat are priced from where the repeat ends.
    let chars: Vec<char> = "qxzqxzm".chars().collect();
    assert!((structural_bits(&chars) - (expected + 26_f64.log2())).abs() < 1e-9);
}
