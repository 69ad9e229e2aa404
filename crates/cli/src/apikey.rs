//! The `apikey` commands, each a call of the use case `/api-keys` calls; `revoke` acts as the
//! operator, so it may revoke any account's key.

use secrecy::ExposeSecret;
use warden_domain::api_key::ApiKey;

use crate::cli::ApikeyCommand;
use crate::commands::{describe, load_settings, services};
use crate::output;
use crate::user::find;

/// Runs one `apikey` command.
///
/// # Errors
/// The reason it failed, as one sentence.
pub async fn run(command: ApikeyCommand) -> Result<(), String> {
    let settings = load_settings()?;
    let services = services(&settings).await?;
    match command {
        ApikeyCommand::Create {
            email,
            name,
            expires_in_days,
        } => {
            let owner = find(&services, &email).await?;
            let made = services
                .keys
                .create(&owner, &name, expires_in_days)
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
                    .list_all()
                    .await
                    .map_err(|e| describe(&e, None))?,
            };
            let mut keys: Vec<ApiKey> = Vec::new();
            for owner in &owners {
                keys.extend(
                    services
                        .keys
                        .list(owner.id)
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
            services.keys.revoke(None, id).await.map_err(|e| match e {
                warden_domain::Error::NotFound => format!("no live API key with id {id}"),
                other => describe(&other, None),
            })?;
            println!("revoked {id}");
            Ok(())
        }
    }
}
