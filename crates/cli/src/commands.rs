//! Running a parsed command: migrations, keys and configuration here, users in [`crate::user`],
//! OAuth clients in [`crate::client`]; and the one translation of failures into the sentence
//! the operator reads.

use secrecy::ExposeSecret;
use warden_adapters::{Services, Settings, build_codec, keys, open_database};
use warden_domain::Error;

use crate::cli::{
    Algorithm, AuditCommand, Cli, Command, ConfigCommand, KeysCommand, MailCommand, SessionsCommand,
};

/// Runs one command.
///
/// # Errors
/// The reason it failed, as one sentence for the operator.
pub(crate) async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Migrate => migrate().await,
        Command::User { command } => Box::pin(crate::user::run(command)).await,
        Command::Apikey { command } => crate::apikey::run(command).await,
        Command::Client { command } => Box::pin(crate::client::run(command)).await,
        Command::Mail {
            command: MailCommand::Test { to },
        } => crate::mail::test(&to).await,
        Command::Audit {
            command: AuditCommand::List(list),
        } => crate::audit::list(list).await,
        Command::Sessions {
            command: SessionsCommand::Purge,
        } => purge_sessions().await,
        Command::Keys {
            command: KeysCommand::Generate { algorithm },
        } => {
            generate_key(algorithm);
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Check,
        } => check_config(),
        Command::Config {
            command: ConfigCommand::Example,
        } => {
            // Reads no configuration: it is what one starts from.
            print!("{}", warden_adapters::settings::EXAMPLE);
            Ok(())
        }
    }
}

/// Loads and validates the configuration, all but the signing key: no admin command signs or
/// verifies a token.
///
/// # Errors
/// The reason, naming the setting at fault.
pub(crate) fn load_settings() -> Result<Settings, String> {
    Settings::load_for_admin().map_err(|e| e.to_string())
}

/// Builds the same use cases the API runs on, after migrating the database. A SQLite file that
/// does not exist is refused rather than created: run elsewhere than the server, the tool would
/// otherwise work on a new, empty database of its own. Only `warden migrate` creates one.
///
/// # Errors
/// The reason, naming the setting at fault.
pub(crate) async fn services(settings: &Settings) -> Result<Services, String> {
    if let Some(path) = warden_adapters::db::missing_sqlite_file(&settings.database.url) {
        return Err(format!(
            "database.url: there is no database at {}; point WARDEN_CONFIG (or \
             WARDEN_DATABASE__URL) at the server's, or create it with `warden migrate`",
            path.display()
        ));
    }
    Services::build(settings).await.map_err(|e| e.to_string())
}

/// `warden migrate`.
async fn migrate() -> Result<(), String> {
    let settings = load_settings()?;
    open_database(&settings).await.map_err(|e| e.to_string())?;
    println!("migrations applied");
    Ok(())
}

/// `warden sessions purge`.
async fn purge_sessions() -> Result<(), String> {
    let settings = load_settings()?;
    let purged = services(&settings)
        .await?
        .auth
        .purge_refresh_tokens()
        .await
        .map_err(|e| describe(&e, None))?;
    println!("purged {purged} refresh tokens");
    Ok(())
}

/// `warden keys generate`: needs neither configuration nor database.
fn generate_key(algorithm: Algorithm) {
    match algorithm {
        Algorithm::Hs256 => println!("{}", keys::generate_hs256_secret().expose_secret()),
        Algorithm::Eddsa => {
            let pair = keys::generate_ed25519();
            print!("{}{}", pair.private.expose_secret(), pair.public);
        }
    }
}

/// `warden config check`: the settings validate as they load, the API's as the server checks
/// them; the JWT keys are then loaded as the server would, so that an unreadable or malformed
/// key file is reported here too. What is allowed but unwise is printed on stderr as warnings.
fn check_config() -> Result<(), String> {
    // Everything the server checks, the signing key included.
    let settings = Settings::load().map_err(|e| e.to_string())?;
    // The settings the API owns are checked by the API's own rules, as the server does.
    warden_server::api_config(&settings)
        .validate()
        .map_err(|e| e.to_string())?;
    build_codec(&settings).map_err(|e| e.to_string())?;
    for warning in settings.warnings() {
        eprintln!("warden: warning: {warning}");
    }
    print!(
        "{}",
        settings.to_redacted_toml().map_err(|e| e.to_string())?
    );
    Ok(())
}

/// The sentence for a refused or failed use case; `email` names the account asked for.
pub(crate) fn describe(error: &Error, email: Option<&str>) -> String {
    match error {
        Error::EmailTaken => "a user with this email already exists".into(),
        Error::LastAdmin => "refused: it would leave no enabled admin".into(),
        Error::NotFound => match email {
            Some(email) => format!("no user with email {}", email.trim()),
            None => "not found".into(),
        },
        Error::Invalid(reasons) => reasons.join("; "),
        // The operator runs this tool on their own deployment: show every cause.
        other => other.with_causes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_errors_read_as_sentences() {
        assert_eq!(
            describe(&Error::EmailTaken, Some("a@b.co")),
            "a user with this email already exists"
        );
        assert_eq!(
            describe(&Error::LastAdmin, Some("a@b.co")),
            "refused: it would leave no enabled admin"
        );
        assert_eq!(
            describe(&Error::NotFound, Some(" a@b.co ")),
            "no user with email a@b.co"
        );
        assert_eq!(
            describe(
                &Error::Invalid(vec!["too short".into(), "too common".into()]),
                None
            ),
            "too short; too common"
        );
        assert_eq!(
            describe(&Error::Forbidden, None),
            "insufficient permissions"
        );
    }

    #[test]
    fn internal_errors_keep_their_causes() {
        let e = Error::internal(std::io::Error::other("disk full"));
        assert_eq!(describe(&e, None), "internal error: disk full");
    }
}
