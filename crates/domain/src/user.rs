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

    /// Whether it is argon2id, Warden's own algorithm, rather than a hash an import brought.
    pub fn is_argon2id(&self) -> bool {
        self.expose().starts_with("$argon2id$")
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
    /// When the address was shown to be the user's, if it was.
    pub email_verified_at: Option<OffsetDateTime>,
    /// When its second factor (TOTP) was confirmed, if it has one: a login then needs a code.
    pub mfa_enabled_at: Option<OffsetDateTime>,
}

#[cfg(test)]
#[path = "user_tests.rs"]
mod tests;
