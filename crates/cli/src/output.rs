//! How users, API keys and OAuth clients are printed: a table for people, and for scripts the
//! API's own JSON (`warden_api::dto`, written once for both; a client's as `/admin/clients`
//! writes it). None ever includes a password hash or a key's secret, and a client's secret only
//! in the answer that made it.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use warden_domain::api_key::ApiKey;
use warden_domain::client::{Client, GrantType};
use warden_domain::clients::NewClient;
use warden_domain::user::User;

/// The users as a pretty-printed JSON array, each as the API returns it.
///
/// # Errors
/// Never in practice: a JSON value always prints.
pub(crate) fn users_json(users: &[User]) -> Result<String, String> {
    pretty(&warden_api::dto::users_json(users))
}

fn pretty(value: &Value) -> Result<String, String> {
    serde_json::to_string_pretty(value).map_err(|e| format!("cannot print JSON: {e}"))
}

/// The users as an aligned table with a header, one line per user.
pub(crate) fn users_table(users: &[User]) -> String {
    let rows = users.iter().map(|u| {
        [
            u.id.to_string(),
            u.email.to_string(),
            u.role.to_string(),
            if u.disabled { "yes" } else { "no" }.to_owned(),
            if u.email_verified_at.is_some() {
                "yes"
            } else {
                "no"
            }
            .to_owned(),
            u.display_name
                .as_ref()
                .map_or_else(|| "-".to_owned(), |d| d.as_str().to_owned()),
        ]
    });
    table(
        [
            "ID",
            "EMAIL",
            "ROLE",
            "DISABLED",
            "VERIFIED",
            "DISPLAY NAME",
        ],
        rows,
    )
}

/// The keys as a pretty-printed JSON array, each as `GET /api-keys` returns it.
///
/// # Errors
/// Never in practice: a JSON value always prints.
pub(crate) fn keys_json(keys: &[ApiKey]) -> Result<String, String> {
    pretty(&warden_api::dto::keys_json(keys))
}

/// The keys as an aligned table, with their owners' emails.
pub(crate) fn keys_table(keys: &[ApiKey], owners: &[User]) -> String {
    let when =
        |t: Option<OffsetDateTime>| t.map_or_else(|| "-".to_owned(), |t| t.date().to_string());
    let rows = keys.iter().map(|k| {
        let owner = owners
            .iter()
            .find(|u| u.id == k.user_id)
            .map_or_else(|| k.user_id.to_string(), |u| u.email.to_string());
        [
            k.id.to_string(),
            owner,
            k.name.clone(),
            k.prefix.clone(),
            when(k.expires_at),
            when(k.last_used_at),
        ]
    });
    table(
        ["ID", "OWNER", "NAME", "PREFIX", "EXPIRES", "LAST USED"],
        rows,
    )
}

/// A client as `/admin/clients` writes it, with its secret when one was just made.
///
/// # Errors
/// Never in practice: a JSON value always prints.
pub(crate) fn client_json(made: NewClient) -> Result<String, String> {
    pretty(&warden_api::routes::clients::client_json(made))
}

/// The clients as a pretty-printed JSON array, each as `/admin/clients` writes it.
///
/// # Errors
/// Never in practice: a JSON value always prints.
pub(crate) fn clients_json(clients: Vec<Client>) -> Result<String, String> {
    pretty(&warden_api::routes::clients::clients_json(clients))
}

/// A time as the API writes it.
fn rfc3339(at: OffsetDateTime) -> Result<String, String> {
    at.format(&Rfc3339)
        .map_err(|e| format!("cannot print the time {at}: {e}"))
}

/// The clients as an aligned table, one line per client.
pub(crate) fn clients_table(clients: &[Client]) -> String {
    let rows = clients.iter().map(|c| {
        [
            c.id.clone(),
            c.spec.name.clone(),
            kind(c).to_owned(),
            or_dash(grant_names(c).join(",")),
            or_dash(c.spec.scopes.join(",")),
        ]
    });
    table(["ID", "NAME", "TYPE", "GRANTS", "SCOPES"], rows)
}

/// One client as `key: value` lines, the keys those of its JSON; lists comma-separated, an
/// empty list or no audience as `-`.
///
/// # Errors
/// A time that RFC 3339 cannot write (a year past 9999).
pub(crate) fn client_lines(client: &Client) -> Result<String, String> {
    let spec = &client.spec;
    let lines = [
        ("client_id", client.id.clone()),
        ("name", spec.name.clone()),
        ("public", spec.public.to_string()),
        ("first_party", spec.first_party.to_string()),
        ("grant_types", or_dash(grant_names(client).join(", "))),
        ("scopes", or_dash(spec.scopes.join(", "))),
        ("redirect_uris", or_dash(spec.redirect_uris.join(", "))),
        (
            "post_logout_redirect_uris",
            or_dash(spec.post_logout_redirect_uris.join(", ")),
        ),
        (
            "audience",
            spec.audience.clone().unwrap_or_else(|| "-".to_owned()),
        ),
        ("created_at", rfc3339(client.created_at)?),
        ("updated_at", rfc3339(client.updated_at)?),
    ];
    let mut out = String::new();
    for (key, value) in lines {
        out.push_str(key);
        out.push_str(": ");
        out.push_str(&value);
        out.push('\n');
    }
    Ok(out)
}

/// `public` (no secret) or `confidential`.
fn kind(client: &Client) -> &'static str {
    if client.spec.public {
        "public"
    } else {
        "confidential"
    }
}

/// The names of a client's grants.
fn grant_names(client: &Client) -> Vec<&'static str> {
    client
        .spec
        .grant_types
        .iter()
        .copied()
        .map(GrantType::as_str)
        .collect()
}

/// The text, or `-` when it is empty.
fn or_dash(text: String) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text
    }
}

/// Rows under a header, columns aligned in characters.
pub(crate) fn table<const N: usize>(
    header: [&str; N],
    rows: impl Iterator<Item = [String; N]>,
) -> String {
    let header = header.map(String::from);
    let rows: Vec<[String; N]> = rows.collect();
    let mut widths = [0; N];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            let pad = width - cell.chars().count();
            line.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use uuid::Uuid;
    use warden_domain::client::ClientSpec;
    use warden_domain::user::{DisplayName, Email, PasswordHash, Role};

    use super::*;

    fn user(email: &str, name: Option<&str>) -> User {
        let t = datetime!(2026-01-02 03:04:05 UTC);
        User {
            id: Uuid::nil(),
            email: Email::parse(email).unwrap(),
            display_name: name.map(|n| DisplayName::parse(n).unwrap()),
            role: Role::Admin,
            disabled: false,
            password_hash: PasswordHash::new("$argon2id$v=19$hash".into()),
            session_version: 0,
            created_at: t,
            updated_at: t,
            email_verified_at: None,
            mfa_enabled_at: None,
        }
    }

    #[test]
    fn the_table_is_aligned_in_characters() {
        let table = users_table(&[
            user("a@example.com", Some("Zoë")),
            user("bob@example.com", None),
        ]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("ID"));
        assert_eq!(lines[0].find("ROLE"), lines[1].find("admin"));
        assert_eq!(lines[1].find("admin"), lines[2].find("admin"));
        assert_eq!(lines[0].find("DISPLAY NAME"), lines[1].find("Zoë"));
        assert!(lines[1].ends_with("Zoë") && lines[2].ends_with('-'));
    }

    fn client(public: bool) -> Client {
        let t = datetime!(2026-01-02 03:04:05 UTC);
        Client {
            id: "c1".into(),
            spec: ClientSpec {
                name: "Web app".into(),
                redirect_uris: vec!["https://app.example.com/cb".into()],
                public,
                first_party: false,
                grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
                scopes: vec!["read".into(), "write".into()],
                audience: None,
                post_logout_redirect_uris: Vec::new(),
            },
            secret_digest: (!public).then(|| "digest".into()),
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn a_client_is_written_with_the_api_keys_and_its_secret_only_when_given() {
        let made: Value = serde_json::from_str(
            &client_json(NewClient {
                client: client(false),
                secret: Some("s3cret".to_owned().into()),
            })
            .unwrap(),
        )
        .unwrap();
        let mut keys: Vec<&str> = made
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "audience",
                "client_id",
                "client_secret",
                "created_at",
                "first_party",
                "grant_types",
                "name",
                "post_logout_redirect_uris",
                "public",
                "redirect_uris",
                "scopes",
                "updated_at"
            ]
        );
        assert_eq!(made["client_secret"], "s3cret");
        assert_eq!(
            made["grant_types"],
            serde_json::json!(["authorization_code", "refresh_token"])
        );
        assert_eq!(made["audience"], Value::Null);
        assert_eq!(made["created_at"], "2026-01-02T03:04:05Z");
        assert!(!made.to_string().contains("digest"), "{made}");

        let listed: Value =
            serde_json::from_str(&clients_json(vec![client(false), client(true)]).unwrap())
                .unwrap();
        let listed = listed.as_array().unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().all(|c| c.get("client_secret").is_none()));
        assert_eq!(listed[1]["public"], true);
    }

    #[test]
    fn a_client_reads_as_a_table_row_and_as_lines() {
        let table = clients_table(&[client(false), client(true)]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].find("TYPE"), lines[1].find("confidential"));
        assert!(
            lines[1].contains("authorization_code,refresh_token"),
            "{table}"
        );
        assert!(lines[2].contains("public") && lines[2].ends_with("read,write"));

        let shown = client_lines(&client(true)).unwrap();
        assert!(
            shown.starts_with("client_id: c1\nname: Web app\npublic: true\n"),
            "{shown}"
        );
        assert!(shown.contains("\nscopes: read, write\n"), "{shown}");
        assert!(
            shown.contains("\npost_logout_redirect_uris: -\naudience: -\n"),
            "{shown}"
        );
        assert!(
            shown.ends_with("updated_at: 2026-01-02T03:04:05Z\n"),
            "{shown}"
        );
    }
}
