//! The transports (lettre): SMTP with STARTTLS, implicit TLS or (to a relay on loopback)
//! none, with optional authentication and bounded timeouts, one connection per message; and
//! `.eml` files for development.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use percent_encoding::percent_decode_str;
use secrecy::{ExposeSecret, SecretString};
use warden_domain::mail::{Message, SendError};
use warden_domain::ports::MailTransport;

use crate::settings::ConfigError;

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// STARTTLS, required (`smtp://`, the default).
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Implicit,
    /// None (`smtp://…?tls=none`): only for a relay the connection never leaves the host for.
    None,
}

/// `mail.smtp_url`, parsed.
#[derive(Clone)]
pub struct SmtpTarget {
    /// The server's host name (also the name its certificate must carry).
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The protection.
    pub security: SmtpSecurity,
    /// The user and password, when it asks for authentication.
    pub credentials: Option<(String, SecretString)>,
}

impl std::fmt::Debug for SmtpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .finish_non_exhaustive()
    }
}

impl SmtpTarget {
    /// Parses `smtp://[USER:PASS@]HOST[:PORT][?tls=starttls|none]` or
    /// `smtps://[USER:PASS@]HOST[:PORT]`; the ports default to 587 and 465. A refusal never
    /// quotes the URL (it holds a password).
    ///
    /// # Errors
    /// A [`ConfigError`] naming `mail.smtp_url` and what is wrong.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let fail = |why: &str| ConfigError::setting("mail.smtp_url", why);
        let url = url::Url::parse(text).map_err(|_| fail("is not a URL"))?;
        let mut security = match url.scheme() {
            "smtp" => SmtpSecurity::StartTls,
            "smtps" => SmtpSecurity::Implicit,
            _ => return Err(fail("must start with smtp:// or smtps://")),
        };
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref(), security) {
                ("tls", "starttls" | "required", SmtpSecurity::StartTls) => {}
                ("tls", "none", SmtpSecurity::StartTls) => security = SmtpSecurity::None,
                ("tls", _, _) => {
                    return Err(fail(
                        "tls must be starttls or none for smtp:// (smtps:// is always TLS)",
                    ));
                }
                _ => return Err(fail("takes no parameter but tls")),
            }
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| fail("has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if security == SmtpSecurity::None && !loopback(&host) {
            return Err(fail(
                "tls=none is only for a relay on loopback (127.0.0.1, ::1 or localhost): \
                 anything else needs STARTTLS or smtps://",
            ));
        }
        let port = url.port().unwrap_or(match security {
            SmtpSecurity::Implicit => 465,
            SmtpSecurity::StartTls | SmtpSecurity::None => 587,
        });
        let decode = |s: &str| {
            percent_decode_str(s)
                .decode_utf8()
                .map(std::borrow::Cow::into_owned)
                .map_err(|_| fail("has a user or password that is not UTF-8"))
        };
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            (user, Some(pass)) if !user.is_empty() => {
                Some((decode(user)?, SecretString::from(decode(pass)?)))
            }
            _ => return Err(fail("needs both a user and a password, or neither")),
        };
        Ok(Self {
            host,
            port,
            security,
            credentials,
        })
    }
}

/// Whether `host` is this machine: plain SMTP may go there and nowhere else.
fn loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Sends each message over its own SMTP connection.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The bound on one whole exchange.
    deadline: Duration,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer").finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer to `target` from `from`, trusting the system's roots and `extra_root` (PEM),
    /// each command within `timeout` and the whole exchange within three times it.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the setting: a CA file that does not parse, or TLS that cannot
    /// be set up.
    pub fn new(
        target: &SmtpTarget,
        from: Mailbox,
        extra_root: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Self, ConfigError> {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&target.host)
            .port(target.port)
            .timeout(Some(timeout));
        if target.security != SmtpSecurity::None {
            let mut tls = TlsParameters::builder(target.host.clone());
            if let Some(pem) = extra_root {
                let cert = Certificate::from_pem(pem).map_err(|_| {
                    ConfigError::setting("mail.smtp_ca_file", "is not a PEM certificate")
                })?;
                tls = tls.add_root_certificate(cert);
            }
            let tls = tls
                .build_rustls()
                .map_err(|e| ConfigError::setting("mail.smtp_url", format!("TLS: {e}")))?;
            builder = builder.tls(if target.security == SmtpSecurity::Implicit {
                Tls::Wrapper(tls)
            } else {
                Tls::Required(tls)
            });
        }
        if let Some((user, pass)) = &target.credentials {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                pass.expose_secret().to_owned(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from,
            deadline: timeout * 3,
        })
    }
}

/// The message as lettre builds it: from, to, subject, and the text and HTML parts as
/// alternatives.
fn build(from: &Mailbox, message: &Message) -> Result<lettre::Message, SendError> {
    // A bare address, never `name <address>`: an account's address such as `x<a@b.c>` must not
    // reach the mailbox it names.
    let to = Mailbox::new(
        None,
        message
            .to
            .parse::<lettre::Address>()
            .map_err(|_| SendError("the recipient is not an address lettre accepts".into()))?,
    );
    lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(message.subject.clone())
        .multipart(MultiPart::alternative_plain_html(
            message.text.clone(),
            message.html.clone(),
        ))
        .map_err(|e| SendError(format!("the message could not be built: {e}")))
}

#[async_trait]
impl MailTransport for SmtpMailer {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let email = build(&self.from, message)?;
        match tokio::time::timeout(self.deadline, self.transport.send(email)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(SendError(e.to_string())),
            Err(_) => Err(SendError(format!(
                "no answer within {} s",
                self.deadline.as_secs()
            ))),
        }
    }
}

/// Writes each message as an `.eml` file (development).
#[derive(Debug)]
pub struct FileMailer {
    transport: AsyncFileTransport<Tokio1Executor>,
    from: Mailbox,
    dir: PathBuf,
}

impl FileMailer {
    /// A mailer into `dir`, which its first message creates.
    pub fn new(dir: PathBuf, from: Mailbox) -> Self {
        Self {
            transport: AsyncFileTransport::new(&dir),
            from,
            dir,
        }
    }

    /// Where it writes.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

#[async_trait]
impl MailTransport for FileMailer {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let email = build(&self.from, message)?;
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| SendError(format!("mail.dir cannot be created: {e}")))?;
        self.transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| SendError(e.to_string()))
    }
}

#[cfg(test)]
#[path = "transport_tests.rs"]
mod tests;
