//! The `user` commands, each a call of the use case the API calls for the same change, as the
//! operator ([`Principal::operator`]): the local administrator, with full rights.

use secrecy::SecretString;
use warden_adapters::Services;
use warden_domain::account::NewAccount;
use warden_domain::admin::UserUpdate;
use warden_domain::principal::Principal;
use warden_domain::user::User;

use crate::cli::{CreateUser, UserCommand};
use crate::commands::{describe, load_settings, services};
use crate::{output, password};

/// Runs one `user` command.
///
/// # Errors
/// The reason it failed, as one sentence.
pub(crate) async fn run(command: UserCommand) -> Result<(), String> {
    let settings = load_settings()?;
    let services = || services(&settings);
    match command {
        UserCommand::Create(args) => {
            // The password is asked for before storage is opened, so a prompt never waits on it.
            let password = password::read_new(args.password_stdin)?;
            create(&services().await?, args, password).await
        }
        UserCommand::List { json } => list(&services().await?, json).await,
        UserCommand::SetRole { email, role } => {
            let update = UserUpdate {
                role: Some(role),
                ..UserUpdate::default()
            };
            let user = change(&services().await?, &email, update).await?;
            println!("{} is now {}", user.email, user.role);
            Ok(())
        }
        UserCommand::Disable(who) => {
            let user = change(&services().await?, &who.email, enabled(false)).await?;
            println!("{} is disabled", user.email);
            Ok(())
        }
        UserCommand::Enable(who) => {
            let user = change(&services().await?, &who.email, enabled(true)).await?;
            println!("{} is enabled", user.email);
            Ok(())
        }
        UserCommand::Delete(who) => delete(&services().await?, &who.email).await,
        UserCommand::Import(args) => crate::transfer::import(&services().await?, args).await,
        UserCommand::Export { file } => crate::transfer::export(&services().await?, &file).await,
        UserCommand::Unlock(who) => {
            let services = services().await?;
            let user = find(&services, &who.email).await?;
            services
                .admin
                .unlock(&Principal::operator(), user.id)
                .await
                .map_err(|e| describe(&e, Some(&who.email)))?;
            println!("{} is unlocked", user.email);
            Ok(())
        }
        UserCommand::MfaReset(who) => {
            let services = services().await?;
            let user = find(&services, &who.email).await?;
            services
                .admin
                .reset_mfa(&Principal::operator(), user.id)
                .await
                .map_err(|e| describe(&e, Some(&who.email)))?;
            println!("{} has no second factor now", user.email);
            Ok(())
        }
        UserCommand::ResetLink(who) => {
            let services = services().await?;
            let link = services
                .recovery
                .reset_link(&Principal::operator(), &who.email)
                .await
                .map_err(|e| describe(&e, Some(&who.email)))?;
            // The link is the one thing printed, so that a script can take it as it is.
            println!("{}", secrecy::ExposeSecret::expose_secret(&link.0));
            Ok(())
        }
        UserCommand::VerifyEmail(who) => {
            let services = services().await?;
            let user = services
                .recovery
                .mark_verified(&Principal::operator(), &who.email)
                .await
                .map_err(|e| describe(&e, Some(&who.email)))?;
            println!("{} is verified", user.email);
            Ok(())
        }
    }
}

/// `user create`: the same use case as `POST /admin/users`; prints the new id.
async fn create(
    services: &Services,
    args: CreateUser,
    password: SecretString,
) -> Result<(), String> {
    let account = NewAccount {
        email: args.email,
        password,
        display_name: args.display_name,
    };
    let user = services
        .admin
        .create_user(&Principal::operator(), account, args.role)
        .await
        .map_err(|e| describe(&e, None))?;
    println!("{}", user.id);
    Ok(())
}

/// `user list`: every account, as a table or as JSON.
async fn list(services: &Services, json: bool) -> Result<(), String> {
    let users = services
        .admin
        .list_all(&Principal::operator())
        .await
        .map_err(|e| describe(&e, None))?;
    if json {
        println!("{}", output::users_json(&users)?);
    } else {
        print!("{}", output::users_table(&users));
    }
    Ok(())
}

/// An update that only enables or disables.
fn enabled(enabled: bool) -> UserUpdate {
    UserUpdate {
        disabled: Some(!enabled),
        ..UserUpdate::default()
    }
}

/// Finds the account by email and applies the update, as `PATCH /admin/users/{id}` does.
async fn change(services: &Services, email: &str, update: UserUpdate) -> Result<User, String> {
    let user = find(services, email).await?;
    services
        .admin
        .update(&Principal::operator(), user.id, update)
        .await
        .map_err(|e| describe(&e, Some(email)))
}

/// `user delete`.
async fn delete(services: &Services, email: &str) -> Result<(), String> {
    let user = find(services, email).await?;
    services
        .admin
        .delete(&Principal::operator(), user.id)
        .await
        .map_err(|e| describe(&e, Some(email)))?;
    println!("deleted {}", user.email);
    Ok(())
}

/// The account with this email, or the one-line reason there is none.
pub(crate) async fn find(services: &Services, email: &str) -> Result<User, String> {
    services
        .admin
        .get_by_email(&Principal::operator(), email)
        .await
        .map_err(|e| describe(&e, Some(email)))
}
