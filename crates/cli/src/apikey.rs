//! The `apikey` commands, each a call of the use case `/api-keys` calls, as the operator
//! ([`Principal::operator`]), so they may make, list and revoke any account's keys.

use secrecy::ExposeSecret;
use warden_domain::api_key::ApiKey;
use warden_domain::principal::Principal;

use crate::cli::ApikeyCommand;
use crate::commands::{describe, load_settings, services};
use crate::output;
use crate::user::find;

/// Runs one `apikey` command.
///
/// # Errors
/// The reason it failed, as one sentence.
pub(crate) async fn run(command: ApikeyCommand) -> Result<(), String> {
    let settings = load_settings()?;
    let services = services(&settings).await?;
    let operator = Principal::operator();
    match command {
        ApikeyCommand::Create {
            email,
            name,
            expires_in_days,
        } => {
            let owner = find(&services, &email).await?;
            let made = services
                .keys
                .create(&operator, owner.id, &name, expires_in_days)
                .await
                .map_err(|e| describe(&e, Some(&email)))?;
            // The key alone on stdout, so scripts can capture it.
            println!("{}", made.secret.expose_secret());
            Ok(())
        }
        ApikeyCommand::List { email, json } => {
            let owners = match email {
                Some(email) => vec![find(&services, &email).await?],
                None => services
                    .admin
                    .list_all(&operator)
                    .await
                    .map_err(|e| describe(&e, None))?,
            };
            let mut keys: Vec<ApiKey> = Vec::new();
            for owner in &owners {
                keys.extend(
                    services
                        .keys
                        .list(&operator, owner.id)
                        .await
                        .map_err(|e| describe(&e, None))?,
                );
            }
            if json {
                println!("{}", output::keys_json(&keys)?);
            } else {
                print!("{}", output::keys_table(&keys, &owners));
            }
            Ok(())
        }
        ApikeyCommand::Revoke { id } => {
            services
                .keys
                .revoke(&operator, id)
                .await
                .map_err(|e| match e {
                    warden_domain::Error::NotFound => format!("no live API key with id {id}"),
                    other => describe(&other, None),
                })?;
            println!("revoked {id}");
            Ok(())
        }
    }
}
