//! The command line: every command and argument, parsed by clap.
//!
//! No argument takes a password: `user create` reads it from stdin or asks on the terminal.

use std::path::PathBuf;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, Parser, Subcommand, ValueEnum};
use warden_domain::import::OnConflict;
use warden_domain::user::{Role, UnknownRole};

use crate::client_args::ClientCommand;

/// Warden's admin tool: migrations, users, keys, OAuth clients and configuration.
///
/// It reads the same configuration as `warden-api`: `$WARDEN_CONFIG` or `./warden.toml`, then
/// `WARDEN_*` variables.
#[derive(Debug, Parser)]
#[command(name = "warden", version)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Apply pending database migrations.
    Migrate,
    /// Create, list and change user accounts.
    User {
        /// What to do with users.
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Create, list and revoke API keys.
    Apikey {
        /// What to do with API keys.
        #[command(subcommand)]
        command: ApikeyCommand,
    },
    /// Register, list, change and remove OAuth clients.
    Client {
        /// What to do with clients.
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Housekeeping of login sessions.
    Sessions {
        /// What to do with sessions.
        #[command(subcommand)]
        command: SessionsCommand,
    },
    /// Read the audit trail.
    Audit {
        /// What to do with the trail.
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Make signing keys.
    Keys {
        /// What to do with keys.
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Check that mail goes out.
    Mail {
        /// What to do with mail.
        #[command(subcommand)]
        command: MailCommand,
    },
    /// Inspect the configuration.
    Config {
        /// What to do with the configuration.
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

/// The `user` commands.
#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Create an account; the password comes from stdin or a prompt, never from an argument.
    Create(CreateUser),
    /// List every account.
    List {
        /// Print a JSON array with the fields the API returns.
        #[arg(long)]
        json: bool,
    },
    /// Change an account's role.
    SetRole {
        /// The account's email address.
        #[arg(long)]
        email: String,
        /// The new role.
        #[arg(long, value_name = "admin|service|user", value_parser = parse_role)]
        role: Role,
    },
    /// Disable an account: it can no longer log in, and its tokens stop working at once.
    Disable(ByEmail),
    /// Enable a disabled account.
    Enable(ByEmail),
    /// Delete an account.
    Delete(ByEmail),
    /// Clear every lockout of an account (per client IP and account-wide).
    Unlock(ByEmail),
    /// Remove an account's second factor and recovery codes (a user who lost both): its
    /// logins need only the password again.
    MfaReset(ByEmail),
    /// Print a single-use password reset link for an account (for operators without mail); it
    /// replaces any earlier reset link of the account.
    ResetLink(ByEmail),
    /// Mark an account's email address verified.
    VerifyEmail(ByEmail),
    /// Import users with the password hashes they have, from JSON Lines (one user a line:
    /// email, password_hash, and optionally role, display_name, disabled, email_verified,
    /// created_at); each is rehashed with argon2id at its first login.
    Import(ImportUsers),
    /// Write every user, password hash included, as JSON Lines (the import's format) to a new
    /// file readable by its owner only.
    Export {
        /// Where to write; an existing file is replaced whole.
        #[arg(long)]
        file: PathBuf,
    },
}

/// The arguments of `user import`.
#[derive(Debug, Args)]
pub(crate) struct ImportUsers {
    /// The JSON Lines file, or `-` for stdin.
    #[arg(long)]
    pub file: PathBuf,
    /// Check every line and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// What a line whose email has an account does: refused (fail), skipped, or the account
    /// takes the line's hash and fields, and its sessions end (update).
    #[arg(long, value_name = "skip|update|fail", default_value = "fail", value_parser = parse_on_conflict)]
    pub on_conflict: OnConflict,
    /// Print the report as JSON instead of the one-line summary.
    #[arg(long)]
    pub json: bool,
}

/// The `apikey` commands.
#[derive(Debug, Subcommand)]
pub(crate) enum ApikeyCommand {
    /// Make a key for an account; prints the key alone, once.
    Create {
        /// The owner's email address.
        #[arg(long)]
        email: String,
        /// A label for the key.
        #[arg(long)]
        name: String,
        /// Days until the key stops working (1 to 3650); never, if absent.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List live keys (neither revoked nor expired), of one account or of all.
    List {
        /// Only this account's keys.
        #[arg(long)]
        email: Option<String>,
        /// Print a JSON array with the fields the API returns.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by id: it fails at once.
    Revoke {
        /// The key's id.
        id: uuid::Uuid,
    },
}

/// The arguments of `user create`.
#[derive(Debug, Args)]
pub(crate) struct CreateUser {
    /// The new account's email address.
    #[arg(long)]
    pub email: String,
    /// The new account's role.
    #[arg(long, value_name = "admin|service|user", value_parser = parse_role)]
    pub role: Role,
    /// An optional name to show.
    #[arg(long)]
    pub display_name: Option<String>,
    /// Read the password from the first line of stdin instead of asking for it.
    #[arg(long)]
    pub password_stdin: bool,
}

/// An account named by its email address.
#[derive(Debug, Args)]
pub(crate) struct ByEmail {
    /// The account's email address.
    #[arg(long)]
    pub email: String,
}

/// The `sessions` commands.
#[derive(Debug, Subcommand)]
pub(crate) enum SessionsCommand {
    /// Delete the refresh tokens that can never be used again (expired, revoked, or of a
    /// session that was ended); the server also does this every hour.
    Purge,
}

/// The `audit` commands.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// List audit events, newest first, as `GET /admin/audit` does.
    List(AuditList),
}

/// `warden audit list`: the filters of `GET /admin/audit`.
#[derive(Debug, clap::Args)]
pub(crate) struct AuditList {
    /// Events whose actor or subject is the account with this email address.
    #[arg(long)]
    pub email: Option<String>,
    /// Events whose actor or subject is this user id (kept after the account is deleted).
    #[arg(long, conflicts_with = "email")]
    pub user_id: Option<uuid::Uuid>,
    /// Events of this type, for example `login.failed`.
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// At or after this time (RFC 3339).
    #[arg(long, value_parser = rfc3339)]
    pub since: Option<time::OffsetDateTime>,
    /// Before this time (RFC 3339).
    #[arg(long, value_parser = rfc3339)]
    pub until: Option<time::OffsetDateTime>,
    /// The `next_cursor` of the previous page.
    #[arg(long)]
    pub cursor: Option<uuid::Uuid>,
    /// 1 to 200.
    #[arg(long, default_value_t = 50)]
    pub limit: u64,
    /// Print the page as `GET /admin/audit` returns it.
    #[arg(long)]
    pub json: bool,
}

/// An RFC 3339 time.
fn rfc3339(raw: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map_err(|_| "not an RFC 3339 time (e.g. 2026-12-07T18:00:00Z)".to_owned())
}

/// The `keys` commands.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Print a new signing key: an HS256 secret, or an Ed25519 private and public key as PEM.
    Generate {
        /// The algorithm the key is for.
        #[arg(long, value_enum, default_value_t = Algorithm::Hs256)]
        algorithm: Algorithm,
    },
}

/// The algorithms `keys generate` makes keys for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Algorithm {
    /// A random HS256 secret on one line.
    Hs256,
    /// A PKCS#8 private key PEM followed by its SPKI public key PEM.
    Eddsa,
}

/// The `config` commands.
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Validate the configuration and print it as TOML, secrets redacted.
    Check,
    /// Print a commented warden.toml with every setting at its default.
    Example,
}

/// Parses a conflict policy as the domain names it.
fn parse_on_conflict(s: &str) -> Result<OnConflict, String> {
    s.parse()
}

/// Parses a role as the domain names it.
fn parse_role(s: &str) -> Result<Role, UnknownRole> {
    s.parse()
}

impl Cli {
    /// Parses the process arguments. Help and version are printed by clap, which then exits;
    /// any other problem comes back as the one-line reason clap gives first.
    pub(crate) fn from_args() -> Result<Self, String> {
        Self::try_parse().map_err(|e| match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
            _ => hide_stray_values(&e, first_paragraph(&e.render().to_string())),
        })
    }
}

/// Leaves out a stray value clap would quote back: it may be a password typed where none is
/// taken, and the one line on stderr may end up in a log.
fn hide_stray_values(e: &clap::Error, mut reason: String) -> String {
    if !matches!(
        e.kind(),
        ErrorKind::UnknownArgument | ErrorKind::TooManyValues
    ) {
        return reason;
    }
    for kind in [ContextKind::InvalidArg, ContextKind::InvalidValue] {
        if let Some(ContextValue::String(value)) = e.get(kind)
            && !value.starts_with('-')
        {
            reason = reason.replace(&format!("'{value}'"), "(value not shown)");
        }
    }
    reason
}

/// The first paragraph of a clap error on one line, without its `error: ` label: the reason,
/// with the missing arguments or the possible values when clap lists them, but not the usage.
fn first_paragraph(rendered: &str) -> String {
    let text = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    match text.strip_prefix("error: ") {
        Some(reason) => reason.to_owned(),
        None if text.is_empty() => "invalid arguments".to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_bad_role_is_one_line_naming_the_roles() {
        let e = Cli::try_parse_from([
            "warden", "user", "set-role", "--email", "a@b.co", "--role", "root",
        ])
        .unwrap_err();
        let reason = first_paragraph(&e.render().to_string());
        assert!(
            reason.contains("'root' is not a role (admin, service or user)"),
            "{reason}"
        );
        assert!(!reason.starts_with("error"), "{reason}");
    }

    #[test]
    fn other_argument_errors_keep_what_clap_lists_on_one_line() {
        let missing = Cli::try_parse_from(["warden", "user", "create"]).unwrap_err();
        let reason = first_paragraph(&missing.render().to_string());
        assert!(
            reason.contains("--email") && reason.contains("--role"),
            "{reason}"
        );
        let bad =
            Cli::try_parse_from(["warden", "keys", "generate", "--algorithm", "rsa"]).unwrap_err();
        let reason = first_paragraph(&bad.render().to_string());
        assert!(
            reason.contains("hs256, eddsa") && !reason.contains('\n'),
            "{reason}"
        );
    }

    #[test]
    fn no_argument_takes_a_password() {
        for args in [
            &[
                "warden",
                "user",
                "create",
                "--email",
                "a@b.co",
                "--role",
                "user",
                "--password",
                "x",
            ][..],
            &[
                "warden", "user", "create", "--email", "a@b.co", "--role", "user", "x",
            ][..],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn a_stray_value_is_not_quoted_back() {
        for args in [
            &[
                "warden",
                "user",
                "create",
                "--email",
                "a@b.co",
                "--role",
                "user",
                "hunter2-hunter2",
            ][..],
            &[
                "warden",
                "user",
                "create",
                "--email",
                "a@b.co",
                "--role",
                "user",
                "--password-stdin=hunter2-hunter2",
            ][..],
        ] {
            let e = Cli::try_parse_from(args).unwrap_err();
            let reason = hide_stray_values(&e, first_paragraph(&e.render().to_string()));
            assert!(!reason.contains("hunter2"), "{reason}");
            assert!(reason.contains("(value not shown)"), "{reason}");
        }
    }

    #[test]
    fn keys_default_to_hs256() {
        let cli = Cli::try_parse_from(["warden", "keys", "generate"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Keys {
                command: KeysCommand::Generate {
                    algorithm: Algorithm::Hs256
                }
            }
        ));
    }
}

/// `warden mail …`.
#[derive(Debug, Subcommand)]
pub(crate) enum MailCommand {
    /// Send a test message through the configured transport, now (not through the outbox),
    /// and report the outcome in one line.
    Test {
        /// The recipient.
        #[arg(long)]
        to: String,
    },
}
