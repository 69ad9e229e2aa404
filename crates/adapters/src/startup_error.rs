//! Why the service cannot start: [`StartupError`], one line naming the setting at fault, with
//! the error underneath kept as its source.

use crate::jwt::KeyError;
use crate::redact::Redacted;
use crate::settings::ConfigError;

/// A reason the service cannot start. The message names the setting at fault and says why in
/// one line (the binaries print only it); the error underneath is also its `source()`, a
/// driver's wrapped in [`Redacted`] because its text may quote a URL's password.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The configuration is refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `database.url` cannot be opened (`action` "open") or migrated ("migrate"). The message
    /// gives the cause in words when it is known (`hint`), else the driver's.
    #[error(
        "database.url: cannot {action} {shown}: {}",
        hint.as_deref().map_or_else(|| source.to_string(), str::to_owned)
    )]
    Database {
        /// What failed.
        action: &'static str,
        /// The URL without its secrets.
        shown: String,
        /// The cause, found by looking (see `db::diagnose`), when it is one of the known ones.
        hint: Option<String>,
        /// The driver's error.
        #[source]
        source: Box<Redacted<sea_orm::DbErr>>,
    },
    /// The SQLite file cannot be opened for the held readers.
    #[error("database.url: {0}")]
    Readers(#[source] Redacted<rusqlite::Error>),
    /// A key file cannot be read.
    #[error("{key}: cannot read {}: {source}", .path.display())]
    KeyFile {
        /// The setting naming the file.
        key: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// Why it cannot be read.
        #[source]
        source: std::io::Error,
    },
    /// A key file does not hold a usable key.
    #[error("jwt.private_key_file / jwt.public_key_files: {0}")]
    Key(#[source] KeyError),
    /// argon2 refuses `argon2.*`, or the hashing threads cannot start.
    #[error("argon2: {0}")]
    Argon2(#[source] argon2::Error),
    /// The use cases cannot be built.
    #[error("cannot start the use cases: {0}")]
    UseCases(#[source] warden_domain::Error),
    /// `redis.url` cannot be used.
    #[error("redis.url: {0}")]
    Redis(#[source] Redacted<redis::RedisError>),
}
