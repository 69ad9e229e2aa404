//! The `client` commands, each a call of the use case `/admin/clients` calls, as the operator
//! ([`Principal::operator`]): register, list, show, change and remove OAuth clients.

use secrecy::ExposeSecret;
use warden_domain::Error;
use warden_domain::client::ClientSpec;
use warden_domain::clients::{ClientUpdate, NewClient};
use warden_domain::principal::Principal;

use crate::client_args::{ClientCommand, CreateClient, UpdateClient};
use crate::commands::{describe, load_settings, services};
use crate::output;

/// Runs one `client` command.
///
/// # Errors
/// The reason it failed, as one sentence.
pub(crate) async fn run(command: ClientCommand) -> Result<(), String> {
    let settings = load_settings()?;
    let services = services(&settings).await?;
    let clients = &services.clients;
    let operator = Principal::operator();
    match command {
        ClientCommand::Create(args) => {
            let json = args.json;
            let made = clients
                .create(&operator, spec(args))
                .await
                .map_err(|e| describe(&e, None))?;
            print_made(made, json)
        }
        ClientCommand::List { json } => {
            let list = clients
                .list(&operator)
                .await
                .map_err(|e| describe(&e, None))?;
            if json {
                println!("{}", output::clients_json(list)?);
            } else {
                print!("{}", output::clients_table(&list));
            }
            Ok(())
        }
        ClientCommand::Show { id, json } => {
            let client = clients
                .get(&operator, &id)
                .await
                .map_err(|e| refused(&e, &id))?;
            if json {
                let shown = NewClient {
                    client,
                    secret: None,
                };
                println!("{}", output::client_json(shown)?);
            } else {
                print!("{}", output::client_lines(&client)?);
            }
            Ok(())
        }
        ClientCommand::Update(args) => {
            let json = args.json;
            let (id, change) = change(args);
            let made = clients
                .update(&operator, &id, change)
                .await
                .map_err(|e| refused(&e, &id))?;
            print_made(made, json)
        }
        ClientCommand::RotateSecret { id, json } => {
            let made = clients
                .rotate_secret(&operator, &id)
                .await
                .map_err(|e| refused(&e, &id))?;
            print_made(made, json)
        }
        ClientCommand::Delete { id } => {
            clients
                .delete(&operator, &id)
                .await
                .map_err(|e| refused(&e, &id))?;
            println!("deleted {id}");
            Ok(())
        }
    }
}

/// The registration `client create` asks for.
fn spec(args: CreateClient) -> ClientSpec {
    ClientSpec {
        name: args.name,
        redirect_uris: args.redirect_uris,
        public: args.public,
        first_party: args.first_party,
        grant_types: args.grants,
        scopes: args.scopes,
        audience: args.audience,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
    }
}

/// The client id and the change `client update` asks for: each option given replaces its
/// field, a list given at least once the whole list.
fn change(args: UpdateClient) -> (String, ClientUpdate) {
    let audience = if args.no_audience {
        Some(None)
    } else {
        args.audience.map(Some)
    };
    let change = ClientUpdate {
        name: args.name,
        redirect_uris: given(args.redirect_uris),
        public: args.public,
        first_party: args.first_party,
        grant_types: given(args.grants),
        scopes: given(args.scopes),
        audience,
        post_logout_redirect_uris: given(args.post_logout_redirect_uris),
    };
    (args.id, change)
}

/// A list option: `None` (unchanged) when it was not given at all.
fn given<T>(list: Vec<T>) -> Option<Vec<T>> {
    (!list.is_empty()).then_some(list)
}

/// Prints a client just registered or changed: as `POST /admin/clients` answers with `--json`,
/// else its id; with its secret when one was made now, the only time it is shown.
fn print_made(made: NewClient, json: bool) -> Result<(), String> {
    if json {
        println!("{}", output::client_json(made)?);
        return Ok(());
    }
    let NewClient { client, secret } = made;
    let shown = secret.as_ref().map(ExposeSecret::expose_secret);
    println!("client_id: {}", client.id);
    if let Some(secret) = shown {
        println!("client_secret: {secret}");
        eprintln!("warden: the client secret is shown this once; store it now");
    }
    Ok(())
}

/// The sentence for a refused use case on the client `id`.
fn refused(error: &Error, id: &str) -> String {
    match error {
        Error::NotFound => format!("no client with id {}", id.trim()),
        other => describe(other, None),
    }
}

#[cfg(test)]
mod tests {
    use warden_domain::client::GrantType;

    use super::*;

    fn update(audience: Option<&str>, no_audience: bool) -> UpdateClient {
        UpdateClient {
            id: "c1".into(),
            name: None,
            public: Some(false),
            first_party: None,
            grants: vec![GrantType::ClientCredentials],
            scopes: Vec::new(),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: vec!["https://app.example.com/bye".into()],
            audience: audience.map(str::to_owned),
            no_audience,
            json: false,
        }
    }

    #[test]
    fn an_update_changes_only_what_was_given() {
        let (id, change) = change(update(None, false));
        assert_eq!(id, "c1");
        assert_eq!(change.name, None);
        assert_eq!(change.public, Some(false));
        assert_eq!(change.first_party, None);
        assert_eq!(change.grant_types, Some(vec![GrantType::ClientCredentials]));
        assert_eq!(change.scopes, None);
        assert_eq!(change.redirect_uris, None);
        assert_eq!(
            change.post_logout_redirect_uris,
            Some(vec!["https://app.example.com/bye".to_owned()])
        );
        assert_eq!(change.audience, None);
    }

    #[test]
    fn the_audience_is_set_cleared_or_kept() {
        assert_eq!(
            change(update(Some("https://api.example.com"), false))
                .1
                .audience,
            Some(Some("https://api.example.com".to_owned()))
        );
        assert_eq!(change(update(None, true)).1.audience, Some(None));
    }

    #[test]
    fn a_missing_client_is_named_and_other_refusals_keep_their_reasons() {
        assert_eq!(refused(&Error::NotFound, " c1 "), "no client with id c1");
        assert_eq!(
            refused(&Error::Invalid(vec!["a".into(), "b".into()]), "c1"),
            "a; b"
        );
    }
}
