//! Tests of the user model: the email and display-name parsers, roles, and hashes kept out of
//! debug output.

use super::*;

#[test]
fn an_email_is_bounded_at_254_bytes_and_its_local_part_at_64() {
    let domain = "@example.com";
    let local = |n: usize| "a".repeat(n);
    assert!(Email::parse(&format!("{}{domain}", local(64))).is_ok());
    assert!(Email::parse(&format!("{}{domain}", local(65))).is_err());
    let label = "b".repeat(60);
    let long = |extra: usize| {
        let head = format!("{}@{label}.{label}.{label}.", local(10));
        let tail = "c".repeat(254 - head.len() - 4 + extra);
        format!("{head}{tail}.com")
    };
    assert_eq!(long(0).len(), 254);
    assert!(Email::parse(&long(0)).is_ok(), "254 bytes pass");
    assert!(Email::parse(&long(1)).is_err(), "255 bytes do not");
    assert!(Email::parse("").is_err());
    assert!(Email::parse("a b@example.com").is_err());
}

#[test]
fn emails_compare_by_their_normal_form_and_show_as_written() {
    let a = Email::parse("Bob@Example.com").unwrap();
    assert_eq!(a, Email::parse("bob@example.COM").unwrap());
    assert_ne!(a, Email::parse("rob@example.com").unwrap());
    assert_eq!(a.to_string(), "Bob@Example.com");
    assert_eq!(format!("{a:?}"), "Email(\"Bob@Example.com\")");
}

#[test]
fn roles_show_their_names_and_an_unknown_one_is_cut_short() {
    assert_eq!(Role::Admin.to_string(), "admin");
    assert_eq!(Role::Service.to_string(), "service");
    assert_eq!(Role::User.to_string(), "user");
    let err = Role::from_str(&"x".repeat(40)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "'{}' is not a role (admin, service or user)",
            "x".repeat(32)
        )
    );
}

#[test]
fn a_password_hash_never_shows_in_debug_output() {
    let hash = PasswordHash::new("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into());
    assert_eq!(format!("{hash:?}"), "PasswordHash([redacted])");
}

#[test]
fn email_is_trimmed_kept_as_written_and_compared_lowercase() {
    let e = Email::parse("  Alice.Smith@Example.COM ").unwrap();
    assert_eq!(e.as_str(), "Alice.Smith@Example.COM");
    assert_eq!(e.normalized(), "alice.smith@example.com");
    assert_eq!(e, Email::parse("alice.smith@example.com").unwrap());
}

#[test]
fn bad_emails_are_refused() {
    for bad in [
        "",
        "plain",
        "@example.com",
        "a@",
        "a@b",
        "a@@b.com",
        "a b@c.com",
        "a@b..com",
        "a@-b.com",
        "a\u{0}@b.com",
    ] {
        assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
    }
    let long = format!("{}@example.com", "a".repeat(250));
    assert!(Email::parse(&long).is_err());
}

#[test]
fn display_names_are_bounded_in_characters() {
    assert!(DisplayName::parse(&"é".repeat(100)).is_ok());
    assert!(DisplayName::parse(&"é".repeat(101)).is_err());
    assert!(DisplayName::parse("   ").is_err());
    assert!(DisplayName::parse("a\u{7}b").is_err());
}

/// Every code point the issue names, and the rest of their blocks' format characters.
fn forbidden() -> Vec<char> {
    let ranges = [
        (0x00, 0x1f),
        (0x7f, 0x9f),
        (0xad, 0xad),
        (0x61c, 0x61c),
        (0x180e, 0x180e),
        (0x200b, 0x200f),
        (0x202a, 0x202e),
        (0x2060, 0x2064),
        (0x2066, 0x206f),
        (0xfeff, 0xfeff),
        (0xfff9, 0xfffb),
        (0xe0001, 0xe0001),
        (0xe0020, 0xe007f),
    ];
    ranges
        .iter()
        .flat_map(|&(a, b)| (a..=b).filter_map(char::from_u32))
        .collect()
}

#[test]
fn plain_addresses_and_names_pass() {
    for ok in [
        "admin@example.com",
        "a.b-c_d+tag@sub.example.co.uk",
        "zoë@exämple.com",
        "用户@例子.公司",
    ] {
        assert!(Email::parse(ok).is_ok(), "{ok:?} is a valid address");
    }
    for ok in [
        "Ada Lovelace",
        "Zoë O'Brien-Smith",
        "李小龙",
        "محمد",
        "Renée 🎉",
    ] {
        assert!(DisplayName::parse(ok).is_ok(), "{ok:?} is a valid name");
    }
}

#[test]
fn every_control_and_format_character_is_refused_without_echoing_the_input() {
    for c in forbidden() {
        assert!(invisible_character(c), "U+{:04X} is Cc or Cf", u32::from(c));
        for email in [
            format!("adm{c}in@example.com"),
            format!("admin@exa{c}mple.com"),
        ] {
            let reason = Email::parse(&email).unwrap_err().to_string();
            assert!(!reason.contains("adm"), "{reason} quotes the input");
            assert!(!reason.contains("exa"), "{reason} quotes the input");
        }
        let reason = DisplayName::parse(&format!("Ada{c}Lovelace"))
            .unwrap_err()
            .to_string();
        assert!(!reason.contains("Ada"), "{reason} quotes the input");
    }
    // The neighbours of those ranges are ordinary characters: the bans end where they should.
    for c in [
        '\u{a0}', '\u{ae}', '\u{2010}', '\u{2030}', '\u{2070}', '\u{fefe}', '\u{fffc}',
    ] {
        assert!(!invisible_character(c), "U+{:04X}", u32::from(c));
        assert!(DisplayName::parse(&format!("Ada{c}Lovelace")).is_ok());
    }
    assert!(Email::parse("admin@example.com").is_ok());
}

#[test]
fn the_reasons_read_as_one_sentence_each() {
    assert_eq!(
        EmailError::Invisible.to_string(),
        "email must not contain control or invisible formatting characters (such as \
         zero-width or bidi characters)"
    );
    assert_eq!(
        DisplayNameError::Invisible.to_string(),
        "display_name must not contain control or invisible formatting characters (such as \
         zero-width or bidi characters)"
    );
    assert_eq!(
        DisplayName::parse(&"a".repeat(101)),
        Err(DisplayNameError::TooLong { max: 100 })
    );
    assert_eq!(
        DisplayNameError::TooLong { max: 100 }.to_string(),
        "display_name must be at most 100 characters"
    );
}

#[test]
fn the_generic_email_reason_does_not_quote_the_input() {
    for bad in ["secretlocal@", "secretlocal", "a b@secretdomain.com"] {
        let reason = Email::parse(bad).unwrap_err().to_string();
        assert!(!reason.contains("secret"), "{reason}");
    }
}

#[test]
fn look_alike_addresses_share_a_skeleton_and_different_ones_do_not() {
    let skeleton = |s: &str| Email::parse(s).unwrap().skeleton();
    let admin = skeleton("admin@example.com");
    for alike in [
        "adm\u{456}n@example.com",                              // Cyrillic і
        "\u{430}dmin@example.com",                              // Cyrillic а
        "admin@ex\u{430}mple.com",                              // Cyrillic а in the domain
        "\u{ff41}\u{ff44}\u{ff4d}\u{ff49}\u{ff4e}@example.com", // fullwidth
        "ADMIN@Example.COM",                                    // case
        "\u{ff21}DMIN@example.com",                             // fullwidth capital
    ] {
        assert_eq!(
            skeleton(alike),
            admin,
            "{alike:?} looks like admin@example.com"
        );
    }
    assert_eq!(
        skeleton("b\u{3bf}b@example.com"), // Greek ο
        skeleton("bob@example.com")
    );
    for other in [
        "admins@example.com",
        "admin@example.org",
        "adnim@example.com",
    ] {
        assert_ne!(skeleton(other), admin, "{other:?}");
    }
}

#[test]
fn stored_names_read_back_as_stored() {
    let old = "\u{202e}evil".to_owned();
    assert!(DisplayName::parse(&old).is_err());
    assert_eq!(DisplayName::from_stored(old.clone()).as_str(), old);
}

#[test]
fn roles_round_trip_and_unknown_roles_fail() {
    for r in [Role::Admin, Role::Service, Role::User] {
        assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
    }
    assert!("root".parse::<Role>().is_err());
    assert!("Admin".parse::<Role>().is_err());
}

#[test]
fn hashes_are_redacted_in_debug() {
    let h = PasswordHash::new("$argon2id$v=19$secret".into());
    assert!(!format!("{h:?}").contains("argon2id"));
}
