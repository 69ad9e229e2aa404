//! Mail: the transports (lettre), the templates of messages and account pages (minijinja),
//! and the building of both from [`Settings`].

mod templates;
mod transport;

use std::sync::Arc;
use std::time::Duration;

use warden_domain::ports::MailTransport;

pub use templates::Templates;
pub use transport::{FileMailer, SmtpMailer, SmtpSecurity, SmtpTarget};

use crate::settings::{ConfigError, MailTransportKind, Settings};

/// A transport, with a line for the log saying where mail goes.
pub type Delivery = (Arc<dyn MailTransport>, String);

/// The transport the settings ask for, with a line saying where mail goes; `None` when mail
/// is off.
///
/// # Errors
/// A [`ConfigError`] naming the setting at fault.
pub fn build_transport(settings: &Settings) -> Result<Option<Delivery>, ConfigError> {
    let mail = &settings.mail;
    let from = || {
        mail.from
            .parse()
            .map_err(|_| ConfigError::setting("mail.from", "is not an address"))
    };
    match settings.mail_transport() {
        MailTransportKind::Off => Ok(None),
        MailTransportKind::File => {
            let mailer = FileMailer::new(mail.dir.clone(), from()?);
            let shown = format!(
                "mail is written as .eml files under {} (mail.transport = \"file\")",
                mailer.dir().display()
            );
            Ok(Some((Arc::new(mailer), shown)))
        }
        MailTransportKind::Smtp => {
            let url = mail.smtp_url.as_ref().ok_or_else(|| {
                ConfigError::setting("mail.smtp_url", "is required by mail.transport = \"smtp\"")
            })?;
            let target = SmtpTarget::parse(secrecy::ExposeSecret::expose_secret(url))?;
            let root = mail
                .smtp_ca_file
                .as_ref()
                .map(|p| {
                    std::fs::read(p).map_err(|e| {
                        ConfigError::setting("mail.smtp_ca_file", format!("cannot be read: {e}"))
                    })
                })
                .transpose()?;
            let timeout = Duration::from_secs(u64::from(mail.timeout_seconds));
            let mailer = SmtpMailer::new(&target, from()?, root.as_deref(), timeout)?;
            let shown = format!(
                "mail goes through SMTP at {}:{} ({:?})",
                target.host, target.port, target.security
            );
            Ok(Some((Arc::new(mailer), shown)))
        }
    }
}
