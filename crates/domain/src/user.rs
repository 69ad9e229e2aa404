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

/// An email address as registered, compared case-insensitively through its normalised form.
#[derive(Clone)]
pub struct Email {
    original: String,
    normalized: String,
}

impl Email {
    /// Parses an address: one `@`, a non-empty local part, a dotted domain, no spaces or
    /// control characters, at most 254 bytes. Surrounding white space is dropped.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        // The message never quotes the input: it may be a password typed in the wrong field.
        let invalid = || "email is not a valid email address".to_owned();
        if s.is_empty() || s.len() > MAX_EMAIL_LEN {
            return Err(invalid());
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = s.split_once('@').ok_or_else(invalid)?;
        let domain_ok = !domain.contains('@')
            && domain.contains('.')
            && domain
                .split('.')
                .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid());
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

/// A display name: 1 to 100 characters, no control characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Parses a display name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("display_name must not be empty".into());
        }
        if s.chars().count() > MAX_DISPLAY_NAME_CHARS {
            return Err(format!(
                "display_name must be at most {MAX_DISPLAY_NAME_CHARS} characters"
            ));
        }
        if s.chars().any(char::is_control) {
            return Err("display_name must not contain control characters".into());
        }
        Ok(Self(s.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

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
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Self::Admin),
            "service" => Ok(Self::Service),
            "user" => Ok(Self::User),
            other => Err(format!(
                "'{}' is not a role (admin, service or user)",
                truncate(other, 32)
            )),
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
