//! Checks of [`Settings`] kept out of the section structs: the signing secret's strength, the
//! database timeouts, the warnings a start-up logs, and loading errors that name the key and
//! the position but never the value.

use std::ops::RangeInclusive;
use std::time::Duration;

use secrecy::ExposeSecret;
use warden_domain::secret_strength::{SecretWeakness, secret_weakness};

use super::{ConfigError, JwtAlgorithm, Profile, Settings};
use crate::db::Timeouts;

/// `database.acquire_timeout_ms`: from a tenth of a second to a minute.
pub const ACQUIRE_TIMEOUT_MS: RangeInclusive<u64> = 100..=60_000;
/// `database.statement_timeout_ms`: from a tenth of a second to an hour.
pub const STATEMENT_TIMEOUT_MS: RangeInclusive<u64> = 100..=3_600_000;

/// Refuses an HS256 secret too short in any profile, and a published or predictable one in
/// production (development only warns, through [`Settings::warnings`]).
pub(super) fn refuse_weak_secret(secret: &str, production: bool) -> Result<(), ConfigError> {
    match secret_weakness(secret) {
        Some(why @ SecretWeakness::TooShort) => Err(ConfigError(format!("jwt.secret: {why}"))),
        Some(why) if production => Err(ConfigError(format!("jwt.secret: {why}"))),
        _ => Ok(()),
    }
}

impl Settings {
    /// Settings that are allowed but unwise, one line each naming the setting; the server
    /// logs them at start.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.jwt.algorithm == JwtAlgorithm::HS256
            && let Some(secret) = &self.jwt.secret
            && let Some(why) = secret_weakness(secret.expose_secret())
        {
            out.push(format!(
                "jwt.secret: {why} (refused in production, allowed in {})",
                profile_name(self.profile)
            ));
        }
        for net in &self.server.trusted_proxies {
            if net.prefix_len() == 0 {
                out.push(format!(
                    "server.trusted_proxies: {net} trusts every address, so any client can choose the IP that rate limits and the lockout count"
                ));
            }
        }
        out
    }

    /// The database waits of `database.acquire_timeout_ms` and `database.statement_timeout_ms`.
    pub fn database_timeouts(&self) -> Timeouts {
        Timeouts {
            acquire: Duration::from_millis(self.database.acquire_timeout_ms),
            statement: Duration::from_millis(self.database.statement_timeout_ms),
        }
    }

    pub(super) fn validate_database_timeouts(&self) -> Result<(), ConfigError> {
        for (key, value, range) in [
            (
                "database.acquire_timeout_ms",
                self.database.acquire_timeout_ms,
                ACQUIRE_TIMEOUT_MS,
            ),
            (
                "database.statement_timeout_ms",
                self.database.statement_timeout_ms,
                STATEMENT_TIMEOUT_MS,
            ),
        ] {
            if !range.contains(&value) {
                return Err(ConfigError(format!(
                    "{key}: must be between {} and {} milliseconds",
                    range.start(),
                    range.end()
                )));
            }
        }
        Ok(())
    }
}

fn profile_name(profile: Profile) -> &'static str {
    match profile {
        Profile::Development => "development",
        Profile::Production => "production",
    }
}

/// One line from a figment error, naming the key (lower-cased, dotted) where it knows it, and
/// never quoting a value: a value put under the wrong key, or given the wrong type, may be a
/// secret.
pub(super) fn describe(e: &figment::Error) -> String {
    use figment::error::Kind;
    let key = e.path.join(".").to_lowercase();
    let kind = match &e.kind {
        Kind::UnknownField(field, _) => format!("unknown setting `{field}`"),
        Kind::InvalidType(actual, expected) => {
            format!(
                "invalid type: found {}, expected {expected}",
                kind_of(actual)
            )
        }
        Kind::InvalidValue(actual, expected) => {
            format!(
                "invalid value: found {}, expected {expected}",
                kind_of(actual)
            )
        }
        Kind::UnknownVariant(_, expected) => {
            format!("unknown value, expected one of {}", expected.join(", "))
        }
        Kind::Message(message) if message.starts_with("TOML parse error") => {
            return toml_syntax_error(message, e.metadata.as_ref());
        }
        other => other.to_string(),
    };
    let source = e
        .metadata
        .as_ref()
        .map(|m| format!(" (from {})", m.name))
        .unwrap_or_default();
    if key.is_empty() {
        format!("configuration: {kind}{source}")
    } else {
        format!("{key}: {kind}{source}")
    }
}

/// What was found, without the value.
fn kind_of(actual: &figment::error::Actual) -> &'static str {
    use figment::error::Actual;
    match actual {
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) => "an integer",
        Actual::Float(_) => "a float",
        Actual::Char(_) | Actual::Str(_) => "a string",
        Actual::Bytes(_) => "bytes",
        Actual::Unit | Actual::Option => "nothing",
        Actual::Seq => "a list",
        Actual::Map => "a table",
        _ => "a value of another type",
    }
}

/// A TOML syntax error as the key and the position: the parser's message quotes the offending
/// line, and that line may hold a secret, so only its line and column, the key it starts with
/// (under the table it sits in) and the parser's reason are kept, and the reason only if it
/// quotes nothing of the line.
fn toml_syntax_error(message: &str, metadata: Option<&figment::Metadata>) -> String {
    let position = message
        .lines()
        .next()
        .and_then(|first| first.split_once(" at "))
        .map(|(_, at)| at.trim().to_owned());
    let path = metadata
        .and_then(|m| m.source.as_ref())
        .and_then(figment::Source::file_path);
    let file = path.map_or_else(
        || "the configuration file".to_owned(),
        |p| p.display().to_string(),
    );
    let line_no = position
        .as_deref()
        .and_then(|p| p.strip_prefix("line "))
        .and_then(|p| p.split(',').next())
        .and_then(|n| n.trim().parse::<usize>().ok());
    let source_text = path.and_then(|path| std::fs::read_to_string(path).ok());
    let offending = source_text
        .as_deref()
        .zip(line_no)
        .and_then(|(text, n)| text.lines().nth(n.saturating_sub(1)));
    let key = source_text
        .as_deref()
        .zip(line_no)
        .and_then(|(text, n)| key_at(text, n));
    // The parser's reason is what follows the snippet: the lines after the caret line.
    let reason = message
        .lines()
        .skip_while(|l| !l.trim_start().starts_with('|') || !l.contains('^'))
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let quotes_the_line = offending.is_some_and(|line| quotes_any_of(&reason, line));
    let mut out = String::from("configuration: TOML syntax error");
    if let Some(position) = position {
        out.push_str(" at ");
        out.push_str(&position);
    }
    out.push_str(" of ");
    out.push_str(&file);
    if let Some(key) = key {
        out.push_str(" (key `");
        out.push_str(&key);
        out.push_str("`)");
    }
    if !reason.is_empty() && !quotes_the_line {
        out.push_str(": ");
        out.push_str(&reason);
    }
    out
}

/// The dotted key that line `n` (1-based) of a TOML text assigns, under the last table header
/// above it, if the line starts with a bare key.
fn key_at(text: &str, n: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let line = lines.get(n.checked_sub(1)?)?;
    let (name, _) = line.split_once('=')?;
    let name = name.trim();
    let bare = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    if !bare(name) {
        return None;
    }
    let table = lines[..n - 1]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(['[', ']']).trim())
        .filter(|t| bare(t));
    Some(match table {
        Some(table) => format!("{table}.{name}"),
        None => name.to_owned(),
    })
}

/// Whether `text` contains any four consecutive characters of the value part of `line`.
fn quotes_any_of(text: &str, line: &str) -> bool {
    let value = line.split_once('=').map_or(line, |(_, v)| v).trim();
    let chars: Vec<char> = value.chars().collect();
    chars
        .windows(4)
        .any(|w| text.contains(&w.iter().collect::<String>()))
}
