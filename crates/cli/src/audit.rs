//! `warden audit list`: the use case `GET /admin/audit` calls, as the operator, with its
//! filters and its JSON.

use time::format_description::well_known::Rfc3339;
use warden_domain::admin::AuditPage;
use warden_domain::audit::{AuditKind, AuditQuery};
use warden_domain::principal::Principal;

use crate::cli::AuditList;
use crate::commands::{describe, load_settings, services};
use crate::output::table;
use crate::user::find;

/// Prints one page of the audit trail, newest first.
///
/// # Errors
/// The reason it failed, as one sentence.
pub(crate) async fn list(args: AuditList) -> Result<(), String> {
    let kind = match args.kind.as_deref() {
        None => None,
        Some(name) => Some(AuditKind::parse(name).ok_or_else(|| {
            let known: Vec<&str> = AuditKind::ALL.iter().map(|k| k.as_str()).collect();
            format!(
                "--type: not a known event type; one of {}",
                known.join(", ")
            )
        })?),
    };
    let settings = load_settings()?;
    let services = services(&settings).await?;
    let user = match (&args.email, args.user_id) {
        (Some(email), _) => Some(find(&services, email).await?.id),
        (None, id) => id,
    };
    let query = AuditQuery {
        user,
        kind,
        since: args.since,
        until: args.until,
        before: args.cursor,
        limit: args.limit,
    };
    let page = services
        .admin
        .audit_trail(&Principal::operator(), &query)
        .await
        .map_err(|e| describe(&e, None))?;
    if args.json {
        let json = warden_api::dto::audit_page_json(page);
        let text =
            serde_json::to_string_pretty(&json).map_err(|e| format!("cannot print JSON: {e}"))?;
        println!("{text}");
    } else {
        print!("{}", page_table(&page));
    }
    Ok(())
}

/// The events as an aligned table, then the cursor of the next page, if any.
fn page_table(page: &AuditPage) -> String {
    let dash = || "-".to_owned();
    let rows = page.items.iter().map(|e| {
        let actor = match e.actor_id {
            Some(id) => format!("{} {id}", e.actor_kind.as_str()),
            None => e.actor_kind.as_str().to_owned(),
        };
        [
            e.at.format(&Rfc3339).unwrap_or_else(|_| dash()),
            e.kind.as_str().to_owned(),
            e.outcome.as_str().to_owned(),
            actor,
            e.subject.map_or_else(dash, |s| s.to_string()),
            e.ip.clone().unwrap_or_else(dash),
            serde_json::Value::Object(e.details.clone()).to_string(),
        ]
    });
    let mut out = table(
        ["AT", "TYPE", "OUTCOME", "ACTOR", "SUBJECT", "IP", "DETAILS"],
        rows,
    );
    if let Some(next) = page.next_cursor {
        out.push_str("next page: --cursor ");
        out.push_str(&next.to_string());
        out.push('\n');
    }
    out
}
