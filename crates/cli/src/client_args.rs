//! The arguments of the `client` commands: the OAuth client registry, as `/admin/clients`
//! manages it.

use clap::{Args, Subcommand};
use warden_domain::client::GrantType;

/// The `client` commands.
#[derive(Debug, Subcommand)]
pub(crate) enum ClientCommand {
    /// Register a client; a confidential one's secret is printed this once.
    Create(CreateClient),
    /// List every client, oldest first.
    List {
        /// Print a JSON array of the clients as `/admin/clients` returns them.
        #[arg(long)]
        json: bool,
    },
    /// Show one client.
    Show {
        /// The client's id.
        #[arg(long)]
        id: String,
        /// Print the client as `GET /admin/clients/{client_id}` returns it.
        #[arg(long)]
        json: bool,
    },
    /// Change a client: each option given replaces that field, and a list option given at
    /// least once replaces the whole list.
    Update(UpdateClient),
    /// Give a confidential client a new secret, printed this once; the old one stops working.
    RotateSecret {
        /// The client's id.
        #[arg(long)]
        id: String,
        /// Print the client and its new secret as `POST /admin/clients/{client_id}/secret`
        /// returns them.
        #[arg(long)]
        json: bool,
    },
    /// Remove a client: its tokens stop being active.
    Delete {
        /// The client's id.
        #[arg(long)]
        id: String,
    },
}

/// The arguments of `client create`.
#[derive(Debug, Args)]
pub(crate) struct CreateClient {
    /// A name to show: 1 to 100 characters.
    #[arg(long)]
    pub name: String,
    /// A public client (a browser or native app): it has no secret.
    #[arg(long)]
    pub public: bool,
    /// A first-party client: its users are never asked for consent.
    #[arg(long)]
    pub first_party: bool,
    /// A grant it may use (authorization_code, refresh_token, client_credentials or
    /// password); repeat for each.
    #[arg(long = "grant", value_name = "GRANT", required = true, value_parser = parse_grant)]
    pub grants: Vec<GrantType>,
    /// A scope it may ask for; repeat for each.
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// A redirect URI, matched exactly; repeat for each.
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// Where it may send a user back after logout, matched exactly; repeat for each.
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// The `aud` of its access tokens, when not the server's.
    #[arg(long)]
    pub audience: Option<String>,
    /// Print the client as `POST /admin/clients` returns it, secret included.
    #[arg(long)]
    pub json: bool,
}

/// The arguments of `client update`: what is not given stays as it is.
#[derive(Debug, Args)]
pub(crate) struct UpdateClient {
    /// The client's id.
    #[arg(long)]
    pub id: String,
    /// The new name.
    #[arg(long)]
    pub name: Option<String>,
    /// Public or confidential: a client made confidential gets a secret, printed this once;
    /// one made public loses its secret.
    #[arg(long)]
    pub public: Option<bool>,
    /// First-party or not.
    #[arg(long)]
    pub first_party: Option<bool>,
    /// The grants, replacing all of them (authorization_code, refresh_token,
    /// client_credentials or password); repeat for each.
    #[arg(long = "grant", value_name = "GRANT", value_parser = parse_grant)]
    pub grants: Vec<GrantType>,
    /// The scopes, replacing all of them; repeat for each.
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// The redirect URIs, replacing all of them; repeat for each.
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// The post-logout redirect URIs, replacing all of them; repeat for each.
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// The new audience of its access tokens.
    #[arg(long, conflicts_with = "no_audience")]
    pub audience: Option<String>,
    /// Clear the audience: its access tokens get the server's.
    #[arg(long)]
    pub no_audience: bool,
    /// Print the client as `PATCH /admin/clients/{client_id}` returns it.
    #[arg(long)]
    pub json: bool,
}

/// Parses a grant as RFC 6749 names it.
fn parse_grant(name: &str) -> Result<GrantType, String> {
    GrantType::parse(name).ok_or_else(|| {
        format!(
            "not a grant (one of {})",
            GrantType::ALL.map(GrantType::as_str).join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use clap::error::ErrorKind;

    use super::*;
    use crate::cli::{Cli, Command};

    fn client(args: &[&str]) -> Result<ClientCommand, clap::Error> {
        let mut line = vec!["warden", "client"];
        line.extend_from_slice(args);
        Cli::try_parse_from(line).map(|cli| match cli.command {
            Command::Client { command } => command,
            other => panic!("not a client command: {other:?}"),
        })
    }

    #[test]
    fn repeated_grants_and_lists_are_collected_in_order() {
        let command = client(&[
            "create",
            "--name",
            "Web",
            "--grant",
            "authorization_code",
            "--grant",
            "refresh_token",
            "--redirect-uri",
            "https://app.example.com/cb",
            "--redirect-uri",
            "https://app.example.com/cb2",
            "--scope",
            "read",
        ])
        .unwrap();
        let ClientCommand::Create(args) = command else {
            panic!("not create");
        };
        assert_eq!(
            args.grants,
            [GrantType::AuthorizationCode, GrantType::RefreshToken]
        );
        assert_eq!(
            args.redirect_uris,
            ["https://app.example.com/cb", "https://app.example.com/cb2"]
        );
        assert_eq!(args.scopes, ["read"]);
        assert!(args.post_logout_redirect_uris.is_empty());
        assert!(!args.public && !args.first_party && !args.json);
        assert_eq!(args.audience, None);
    }

    #[test]
    fn an_unknown_grant_is_refused_naming_the_four() {
        let e = client(&["create", "--name", "Web", "--grant", "implicit"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ValueValidation);
        let text = e.render().to_string();
        for grant in GrantType::ALL {
            assert!(text.contains(grant.as_str()), "{text}");
        }
        let e = client(&["update", "--id", "x", "--grant", "implicit"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ValueValidation);
    }

    #[test]
    fn create_needs_a_name_and_a_grant() {
        for args in [
            &["create", "--name", "Web"][..],
            &["create", "--grant", "password"][..],
        ] {
            let e = client(args).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MissingRequiredArgument, "{args:?}");
        }
    }

    #[test]
    fn update_takes_explicit_booleans_and_one_audience_choice() {
        let command =
            client(&["update", "--id", "c1", "--public", "false", "--no-audience"]).unwrap();
        let ClientCommand::Update(args) = command else {
            panic!("not update");
        };
        assert_eq!(args.id, "c1");
        assert_eq!(args.public, Some(false));
        assert_eq!(args.first_party, None);
        assert!(args.no_audience && args.audience.is_none());
        assert!(args.grants.is_empty() && args.scopes.is_empty());

        let e = client(&["update", "--id", "c1", "--public", "maybe"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidValue);
        let e = client(&[
            "update",
            "--id",
            "c1",
            "--audience",
            "https://api.example.com",
            "--no-audience",
        ])
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ArgumentConflict);
    }

    #[test]
    fn show_and_delete_need_an_id() {
        for args in [
            &["show"][..],
            &["delete"][..],
            &["update"][..],
            &["rotate-secret"][..],
        ] {
            let e = client(args).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MissingRequiredArgument, "{args:?}");
        }
        assert!(matches!(
            client(&["delete", "--id", "c1"]).unwrap(),
            ClientCommand::Delete { id } if id == "c1"
        ));
        assert!(matches!(
            client(&["rotate-secret", "--id", "c1", "--json"]).unwrap(),
            ClientCommand::RotateSecret { id, json: true } if id == "c1"
        ));
    }
}
