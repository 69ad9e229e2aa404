//! How users and API keys are printed: a table for people, and for scripts the API's own JSON
//! (`warden_api::dto`), written once for both. Neither ever includes a password hash or a key's
//! secret.

use time::OffsetDateTime;
use warden_domain::api_key::ApiKey;
use warden_domain::user::User;

/// The users as a pretty-printed JSON array, each as the API returns it.
///
/// # Errors
/// Never in practice: a JSON value always prints.
pub(crate) fn users_json(users: &[User]) -> Result<String, String> {
    pretty(&warden_api::dto::users_json(users))
}

fn pretty(value: &serde_json::Value) -> Result<String, String> {
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
}
