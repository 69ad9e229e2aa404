//! Users and their parts: email, display name, role.

use std::fmt;
use std::str::FromStr;

use secrecy::SecretString;
use time::OffsetDateTime;
use uuid::Uuid;

/// The longest email address accepted (RFC 5321 path limit).
const MAX_EMAIL_LEN: usize = 254;
/// The longest display name accepted, in characters.
const MAX_DISPLAY_NAME_CHARS: usize = 100;

/// Why an email address was refused. The message never quotes the input: it may be a password
/// typed in the wrong field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Not one `@` between a local part of 1 to 64 bytes and a dotted domain, or white space,
    /// or over 254 bytes.
    #[error("email is not a valid email address")]
    Malformed,
    /// A control or format character ([`invisible_character`]).
    #[error(
        "email must not contain control or invisible formatting characters \
         (such as zero-width or bidi characters)"
    )]
    Invisible,
}

/// An email address as registered, compared case-insensitively through its normalised form.
#[derive(Clone)]
pub struct Email {
    original: String,
    normalized: String,
}

impl Email {
    /// Parses an address: one `@`, a non-empty local part, a dotted domain, no spaces, no
    /// control or format characters ([`invisible_character`]), at most 254 bytes. Surrounding
    /// white space is dropped. A reason never quotes the input.
    ///
    /// # Errors
    /// [`EmailError`], the invisible characters' reason before any other.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let s = raw.trim();
        if s.chars().any(invisible_character) {
            return Err(EmailError::Invisible);
        }
        if s.is_empty() || s.len() > MAX_EMAIL_LEN || s.chars().any(char::is_whitespace) {
            return Err(EmailError::Malformed);
        }
        let (local, domain) = s.split_once('@').ok_or(EmailError::Malformed)?;
        let domain_ok = !domain.contains('@')
            && domain.contains('.')
            && domain
                .split('.')
                .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(EmailError::Malformed);
        }
        Ok(Self {
            original: s.to_owned(),
            normalized: s.to_lowercase(),
        })
    }

    /// Rebuilds an address read back from storage, which was parsed when it was written.
    pub fn from_stored(original: String) -> Self {
        let normalized = original.to_lowercase();
        Self {
            original,
            normalized,
        }
    }

    /// The address as the user registered it.
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// The lower-cased form used for look-ups and uniqueness.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// The confusable skeleton (Unicode TS #39) of the normalised form: two addresses that
    /// look alike (`admin@` and `adm\u{456}n@` with a Cyrillic `і`, fullwidth letters, a Greek
    /// `ο`) have the same skeleton, and no two accounts may. Computed on the lower-cased form,
    /// so addresses equal but for case always share one; computed on demand, because only a
    /// new account needs it.
    pub fn skeleton(&self) -> String {
        unicode_security::skeleton(&self.normalized).collect()
    }
}

/// Whether a character is a control (general category Cc) or format (Cf) character: bidi
/// embeddings, overrides and isolates (U+202A to U+202E, U+2066 to U+2069), zero-width
/// characters (U+200B to U+200D, U+2060, U+FEFF), soft hyphens and their kin. None of them shows
/// on screen, so a name holding one can look exactly like another name.
pub fn invisible_character(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    matches!(
        c.general_category(),
        GeneralCategory::Control | GeneralCategory::Format
    )
}

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        self.normalized == other.normalized
    }
}

impl Eq for Email {}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Email").field(&self.original).finish()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

/// Why a display name was refused; the message never quotes the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DisplayNameError {
    /// Nothing but white space.
    #[error("display_name must not be empty")]
    Empty,
    /// More characters than allowed.
    #[error("display_name must be at most {max} characters")]
    TooLong {
        /// The most characters allowed.
        max: usize,
    },
    /// A control or format character ([`invisible_character`]).
    #[error(
        "display_name must not contain control or invisible formatting \
         characters (such as zero-width or bidi characters)"
    )]
    Invisible,
}

/// A display name: 1 to 100 characters, no control or format characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Parses a display name. A reason never quotes the input.
    ///
    /// # Errors
    /// [`DisplayNameError`].
    pub fn parse(raw: &str) -> Result<Self, DisplayNameError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(DisplayNameError::Empty);
        }
        if s.chars().count() > MAX_DISPLAY_NAME_CHARS {
            return Err(DisplayNameError::TooLong {
                max: MAX_DISPLAY_NAME_CHARS,
            });
        }
        if s.chars().any(invisible_character) {
            return Err(DisplayNameError::Invisible);
        }
        Ok(Self(s.to_owned()))
    }

    /// Rebuilds a name read back from storage as it was stored, without the checks of
    /// [`DisplayName::parse`]: a name stored under older rules still reads (every request
    /// reads its user), and the rules apply to every name written.
    pub fn from_stored(name: String) -> Self {
        Self(name)
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name that is no role. It shows the name's first 32 characters at most.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a role (admin, service or user)")]
pub struct UnknownRole(String);

/// What a user may do; checked by the policies of [`crate::admin`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Manages users and keys.
    Admin,
    /// A machine caller: may introspect tokens.
    Service,
    /// An ordinary account.
    User,
}

impl Role {
    /// The wire and storage name of the role.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Service => "service",
            Self::User => "user",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Self::Admin),
            "service" => Ok(Self::Service),
            "user" => Ok(Self::User),
            other => Err(UnknownRole(truncate(other, 32))),
        }
    }
}

/// A password hash in PHC string form; never shown in `Debug` output.
#[derive(Clone)]
pub struct PasswordHash(SecretString);

impl PasswordHash {
    /// Wraps a PHC string.
    pub fn new(phc: String) -> Self {
        Self(SecretString::from(phc))
    }

    /// The PHC string, for the hasher and for storage only.
    pub fn expose(&self) -> &str {
        secrecy::ExposeSecret::expose_secret(&self.0)
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

/// An account.
#[derive(Clone, Debug)]
pub struct User {
    /// Stable identifier; the `sub` of its tokens.
    pub id: Uuid,
    /// Login name.
    pub email: Email,
    /// Optional name to show.
    pub display_name: Option<DisplayName>,
    /// What the user may do.
    pub role: Role,
    /// A disabled user can neither log in nor use earlier tokens or keys.
    pub disabled: bool,
    /// The argon2id hash of the password.
    pub password_hash: PasswordHash,
    /// Bumped whenever every earlier session must end (logout, password change, disable);
    /// an access token carries the value it was issued under.
    pub session_version: i64,
    /// When the account was made.
    pub created_at: OffsetDateTime,
    /// When the account last changed.
    pub updated_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
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
}
