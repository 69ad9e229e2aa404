//! `warden mail test`: one message through the configured transport, sent at once rather than
//! through the outbox, and its outcome in one line.

use warden_adapters::mail::{Templates, build_transport};
use warden_domain::mail::{Mail, MailKind};
use warden_domain::ports::MailComposer;
use warden_domain::user::Email;

use crate::commands::load_settings;

/// Sends the test message to `to`.
///
/// # Errors
/// The reason, in one line: a setting, an address, or what the mail server said.
pub(crate) async fn test(to: &str) -> Result<(), String> {
    let settings = load_settings()?;
    settings
        .validate_except_signing_key()
        .map_err(|e| e.to_string())?;
    let to = Email::parse(to).map_err(|e| format!("--to: {e}"))?;
    let (transport, shown) = build_transport(&settings)
        .map_err(|e| e.to_string())?
        .ok_or("mail is off (mail.transport = \"off\"): nothing to test")?;
    let templates =
        Templates::load(settings.mail.templates_dir.as_deref()).map_err(|e| e.to_string())?;
    let message = templates
        .compose(&Mail {
            kind: MailKind::Test,
            to: to.as_str().to_owned(),
            name: to.as_str().to_owned(),
            link: None,
            valid_minutes: 0,
        })
        .map_err(|e| e.with_causes())?;
    transport
        .send(&message)
        .await
        .map_err(|e| format!("the test message to {to} was not sent: {e}"))?;
    println!("sent a test message to {to}; {shown}");
    Ok(())
}
