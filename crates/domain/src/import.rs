//! Users imported with the password hashes they have (JSON Lines, one user a line), written in
//! batches of one transaction each. A line is refused alone, with its number and a reason that
//! never quotes it; the lines before it stay imported, and the report counts what storage holds.
//! Import never hashes: the hash is checked for its format and its cost bounds
//! ([`crate::foreign_hash`]) and stored as it is, to be replaced by argon2id at the first login.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::str::FromStr;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Error;
use crate::audit::AuditKind;
use crate::auth::Ports;
use crate::foreign_hash;
use crate::principal::{Credential, Permission, Principal};
use crate::user::{DisplayName, Email, PasswordHash, Role, User};

/// Users written in one transaction.
pub const BATCH: usize = 500;
/// The longest line read, in bytes: a user is a few hundred.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// The fields a line may have.
const FIELDS: [&str; 7] = [
    "email",
    "password_hash",
    "role",
    "display_name",
    "disabled",
    "email_verified",
    "created_at",
];

/// What happens to a line whose email has an account already.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnConflict {
    /// The line is refused (the default: nothing is overwritten by accident).
    #[default]
    Fail,
    /// The line is skipped and counted.
    Skip,
    /// The account takes the line's hash and the fields the line gives; its sessions end.
    Update,
}

impl FromStr for OnConflict {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "fail" => Ok(Self::Fail),
            "skip" => Ok(Self::Skip),
            "update" => Ok(Self::Update),
            _ => Err("on_conflict must be skip, update or fail".to_owned()),
        }
    }
}

/// How an import runs.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImportOptions {
    /// What an existing email does.
    pub on_conflict: OnConflict,
    /// Check everything, write nothing.
    pub dry_run: bool,
}

/// Which optional fields a line gave: an update changes those and keeps the rest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "one flag per optional field of a line, each independent of the others"
)]
pub struct Given {
    /// `role`.
    pub role: bool,
    /// `display_name`.
    pub display_name: bool,
    /// `disabled`.
    pub disabled: bool,
    /// `email_verified`.
    pub email_verified: bool,
}

/// A user read from a line, ready to store.
#[derive(Clone, Debug)]
pub struct ImportedUser {
    /// The user as it would be inserted.
    pub user: User,
    /// The optional fields the line gave.
    pub given: Given,
}

/// Where storage put one imported user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// A new account.
    Inserted,
    /// An existing account took the line ([`OnConflict::Update`]).
    Updated,
    /// An existing account was left alone ([`OnConflict::Skip`]).
    Skipped,
    /// An existing account refused the line ([`OnConflict::Fail`]).
    Exists,
    /// Another account's email looks like this one.
    LookAlike,
    /// The account is an enabled admin, which an import never changes.
    AdminKept,
}

/// A refused line: its number (from 1) and why, never its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The line's number, from 1.
    pub line: u64,
    /// Why.
    pub reason: String,
}

/// What an import did (or, dry, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// New accounts.
    pub imported: u64,
    /// Accounts updated.
    pub updated: u64,
    /// Lines skipped for an existing account.
    pub skipped: u64,
    /// Lines refused.
    pub refused: u64,
    /// Nothing was written.
    pub dry_run: bool,
    /// Each refused line, in order.
    pub refusals: Vec<Refusal>,
}

/// One import in progress: lines go in one at a time, batches go to storage as they fill.
pub struct Import {
    ports: Ports,
    options: ImportOptions,
    /// Who imports, from where: the start of each placed account's event.
    caller: Principal,
    batch: Vec<(u64, ImportedUser)>,
    /// The line of each normalised email and skeleton seen so far.
    seen: HashMap<String, u64>,
    report: ImportReport,
}

impl std::fmt::Debug for Import {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Import")
            .field("options", &self.options)
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl Import {
    /// Starts an import as `caller`: an admin by bearer token, or the operator. Not by API
    /// key: a leaked key must not be able to plant accounts with passwords its holder knows.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for a caller who may not manage users, or who holds an API key.
    pub fn start(caller: &Principal, ports: &Ports, options: ImportOptions) -> Result<Self, Error> {
        caller.authorize(Permission::ManageUsers)?;
        if caller.credential() == Credential::ApiKey {
            return Err(Error::Forbidden);
        }
        Ok(Self {
            ports: ports.clone(),
            options,
            caller: caller.clone(),
            batch: Vec::with_capacity(BATCH),
            seen: HashMap::new(),
            report: ImportReport {
                dry_run: options.dry_run,
                ..ImportReport::default()
            },
        })
    }

    /// Takes line `number` (from 1), its bytes without the `\n`; a reader may cut a line
    /// longer than [`MAX_LINE_BYTES`] anywhere past that bound. Blank lines are passed over.
    ///
    /// # Errors
    /// Storage failures of a batch; the batches before it stay written.
    pub async fn line(&mut self, number: u64, raw: &[u8]) -> Result<(), Error> {
        let parsed = text_of(raw).and_then(|text| {
            let text = text.trim_start_matches('\u{feff}').trim();
            if text.is_empty() {
                return Ok(None);
            }
            parse_line(text, self.ports.clock.now()).map(Some)
        });
        match parsed {
            Ok(None) => Ok(()),
            Err(reason) => {
                self.refuse(number, reason);
                Ok(())
            }
            Ok(Some(mut imported)) => {
                if let Some(earlier) = self.first_sight(number, &imported.user.email) {
                    self.refuse(number, earlier);
                    return Ok(());
                }
                imported.user.id = self.ports.random.new_id();
                self.batch.push((number, imported));
                if self.batch.len() >= BATCH {
                    self.flush().await?;
                }
                Ok(())
            }
        }
    }

    /// What the import has done so far: after a storage failure, what storage holds.
    pub fn report(&self) -> &ImportReport {
        &self.report
    }

    /// Writes what is left and returns the report.
    ///
    /// # Errors
    /// Storage failures of the last batch.
    pub async fn finish(mut self) -> Result<ImportReport, Error> {
        self.flush().await?;
        Ok(self.report)
    }

    /// Records the email and its skeleton, or says which earlier line had one of them.
    fn first_sight(&mut self, number: u64, email: &Email) -> Option<String> {
        let keys = [
            format!("e:{}", email.normalized()),
            format!("s:{}", email.skeleton()),
        ];
        for (key, what) in keys
            .iter()
            .zip(["the same email as", "an email like that of"])
        {
            if let Some(earlier) = self.seen.get(key) {
                return Some(format!("{what} line {earlier} of this import"));
            }
        }
        for key in keys {
            self.seen.insert(key, number);
        }
        None
    }

    fn refuse(&mut self, line: u64, reason: String) {
        self.report.refused += 1;
        self.report.refusals.push(Refusal { line, reason });
    }

    /// Sends the batch to storage in one transaction and counts where each user went.
    async fn flush(&mut self) -> Result<(), Error> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let users: Vec<ImportedUser> = batch.iter().map(|(_, u)| u.clone()).collect();
        // Storage completes it for each account it creates or updates.
        let audit = self
            .ports
            .event(AuditKind::UserCreated)
            .by(&self.caller)
            .detail("via", "import");
        let placements = self
            .ports
            .users
            .import(
                &users,
                self.options.on_conflict,
                self.options.dry_run,
                &audit,
            )
            .await?;
        if placements.len() != batch.len() {
            return Err(Error::internal(
                "storage placed another number of users than it was given".to_owned(),
            ));
        }
        for ((line, _), placement) in batch.iter().zip(placements) {
            match placement {
                Placement::Inserted => self.report.imported += 1,
                Placement::Updated => self.report.updated += 1,
                Placement::Skipped => self.report.skipped += 1,
                Placement::Exists => self.refuse(
                    *line,
                    "an account with this email exists (import with on_conflict skip or \
                     update to take it)"
                        .to_owned(),
                ),
                Placement::LookAlike => self.refuse(
                    *line,
                    "the email looks like an existing account's".to_owned(),
                ),
                Placement::AdminKept => self.refuse(
                    *line,
                    "import does not change an enabled admin (change it with the user \
                     commands)"
                        .to_owned(),
                ),
            }
        }
        Ok(())
    }
}

/// A user as a line of the import format, hash included (`warden user export`).
pub fn export_line(user: &User) -> String {
    let created_at = user.created_at.format(&Rfc3339).unwrap_or_default();
    serde_json::json!({
        "email": user.email.as_str(),
        "password_hash": user.password_hash.expose(),
        "role": user.role.as_str(),
        "display_name": user.display_name.as_ref().map(DisplayName::as_str),
        "disabled": user.disabled,
        "email_verified": user.email_verified_at.is_some(),
        "created_at": created_at,
    })
    .to_string()
}

/// The text of a line within its bound, or why it cannot be read.
fn text_of(raw: &[u8]) -> Result<&str, String> {
    if raw.len() > MAX_LINE_BYTES {
        return Err(format!("the line is longer than {MAX_LINE_BYTES} bytes"));
    }
    std::str::from_utf8(raw).map_err(|_| "the line is not UTF-8".to_owned())
}

/// A line as a user, or why not; `now` is the default creation time and the latest allowed.
fn parse_line(text: &str, now: OffsetDateTime) -> Result<ImportedUser, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        if e.is_eof() {
            "the line is truncated JSON".to_owned()
        } else {
            "the line is not valid JSON".to_owned()
        }
    })?;
    let Value::Object(fields) = value else {
        return Err("the line is not a JSON object".to_owned());
    };
    if fields.keys().any(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "the line has a field that is none of {}",
            FIELDS.join(", ")
        ));
    }
    let email = text_field(&fields, "email")?.ok_or("email is missing")?;
    let email = Email::parse(email).map_err(|e| e.to_string())?;
    let hash = text_field(&fields, "password_hash")?.ok_or("password_hash is missing")?;
    foreign_hash::inspect(hash).map_err(|e| e.to_string())?;
    let role = text_field(&fields, "role")?
        .map(|r| Role::from_str(r).map_err(|_| "role must be admin, service or user"))
        .transpose()?;
    let display_name = text_field(&fields, "display_name")?
        .map(|n| DisplayName::parse(n).map_err(|e| e.to_string()))
        .transpose()?;
    let disabled = bool_field(&fields, "disabled")?;
    let verified = bool_field(&fields, "email_verified")?;
    let created_at = text_field(&fields, "created_at")?
        .map(|t| {
            OffsetDateTime::parse(t, &Rfc3339)
                .map_err(|_| "created_at must be an RFC 3339 time".to_owned())
        })
        .transpose()?;
    if created_at.is_some_and(|t| t > now) {
        return Err("created_at must not be in the future".to_owned());
    }
    let given = Given {
        role: role.is_some(),
        display_name: fields.contains_key("display_name"),
        disabled: disabled.is_some(),
        email_verified: verified.is_some(),
    };
    let created_at = created_at.unwrap_or(now);
    Ok(ImportedUser {
        user: User {
            id: uuid::Uuid::nil(),
            email,
            display_name,
            role: role.unwrap_or(Role::User),
            disabled: disabled.unwrap_or(false),
            password_hash: PasswordHash::new(hash.to_owned()),
            session_version: 0,
            created_at,
            updated_at: now,
            email_verified_at: verified.unwrap_or(false).then_some(now),
            mfa_enabled_at: None,
        },
        given,
    })
}

/// A string field, `None` when absent or null.
fn text_field<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, String> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{name} must be a string")),
    }
}

/// A boolean field, `None` when absent or null.
fn bool_field(fields: &Map<String, Value>, name: &str) -> Result<Option<bool>, String> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(format!("{name} must be true or false")),
    }
}

#[cfg(test)]
#[path = "import_tests.rs"]
mod tests;
