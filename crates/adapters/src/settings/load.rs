//! Loading: defaults, then a TOML file, then `WARDEN_*` variables (figment), and loading
//! errors that name the key and the position but never the value.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};

use super::{ConfigError, Settings};

/// The variable naming the configuration file; not itself a configuration key.
pub const CONFIG_PATH_VAR: &str = "WARDEN_CONFIG";
/// The file read when [`CONFIG_PATH_VAR`] is unset, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "warden.toml";

impl Settings {
    /// Loads from `$WARDEN_CONFIG` (or `./warden.toml` if present) and `WARDEN_*` variables,
    /// then checks the result.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the setting at fault.
    pub fn load() -> Result<Self, ConfigError> {
        let settings = Self::load_unchecked()?;
        settings.validate()?;
        Ok(settings)
    }

    /// [`Self::load`] for the admin commands, which sign nothing: every check but the signing
    /// key's ([`Self::validate_signing_key`]).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the setting at fault.
    pub fn load_for_admin() -> Result<Self, ConfigError> {
        let settings = Self::load_unchecked()?;
        settings.validate_except_signing_key()?;
        Ok(settings)
    }

    /// The settings from the file and the environment, their types checked, their rules not.
    fn load_unchecked() -> Result<Self, ConfigError> {
        let file = match std::env::var_os(CONFIG_PATH_VAR) {
            Some(path) => {
                let path = PathBuf::from(path);
                if !path.is_file() {
                    return Err(ConfigError::Invalid(format!(
                        "{CONFIG_PATH_VAR}: no configuration file at {}",
                        path.display()
                    )));
                }
                Some(path)
            }
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.is_file()),
        };
        Self::extract(file.as_deref())
    }

    /// Loads from an optional TOML file and `WARDEN_*` variables, then checks the result.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the setting at fault.
    pub fn load_from(file: Option<&Path>) -> Result<Self, ConfigError> {
        let settings = Self::extract(file)?;
        settings.validate()?;
        Ok(settings)
    }

    /// The settings from an optional file and the environment, their types checked.
    fn extract(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(Env::prefixed("WARDEN_").split("__").ignore(&["config"]));
        figment
            .extract()
            .map_err(|e| ConfigError::Invalid(describe(&e)))
    }
}

/// One line from a figment error, naming the key (lower-cased, dotted) where it knows it, and
/// never quoting a value: a value put under the wrong key, or given the wrong type, may be a
/// secret.
fn describe(e: &figment::Error) -> String {
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
