//! `mail.*` and the settings of the flows by mail elsewhere (`server.public_url`,
//! `auth.verify_email`): which transport, and the rules that keep a deployment from mailing
//! links nobody can open.

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

use super::{ConfigError, Profile, Settings};
use crate::redact::redact_url;

/// How mail leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransportKind {
    /// Through the SMTP server of `mail.smtp_url`.
    Smtp,
    /// As `.eml` files under `mail.dir` (development only).
    File,
    /// Not at all: the flows that send mail answer 503.
    Off,
}

/// `mail.*`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    /// `smtp`, `file` or `off`; by default `smtp` when `mail.smtp_url` is set, else `file` in
    /// development and `off` in production.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<MailTransportKind>,
    /// `smtp://USER:PASS@HOST:PORT?tls=starttls` (the default for `smtp://`; `tls=none` for a
    /// relay on loopback) or `smtps://…` (implicit TLS). Its password is redacted.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "redacted_url"
    )]
    pub smtp_url: Option<SecretString>,
    /// An extra PEM trust anchor for the SMTP server's certificate (a private CA); the system's
    /// roots are trusted too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_ca_file: Option<PathBuf>,
    /// The sender, for example `Warden <no-reply@example.com>`.
    pub from: String,
    /// Where the file transport writes.
    pub dir: PathBuf,
    /// A directory whose `<kind>.subject`, `<kind>.txt`, `<kind>.html` and `mail_layout.html`
    /// replace the built-in templates of the same name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub templates_dir: Option<PathBuf>,
    /// How long a verification link works.
    pub verify_ttl_seconds: u32,
    /// How long a reset link works.
    pub reset_ttl_seconds: u32,
    /// The longest an SMTP exchange may take, connection included.
    pub timeout_seconds: u32,
    /// After this many failed attempts a message is given up.
    pub max_attempts: u32,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            transport: None,
            smtp_url: None,
            smtp_ca_file: None,
            from: "Warden <warden@localhost>".into(),
            dir: PathBuf::from("./mail"),
            templates_dir: None,
            verify_ttl_seconds: 86_400,
            reset_ttl_seconds: 1_800,
            timeout_seconds: 10,
            max_attempts: 12,
        }
    }
}

#[allow(clippy::ref_option)] // The signature serde's `serialize_with` calls.
fn redacted_url<S: Serializer>(url: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    let shown = url.as_ref().map(|u| redact_url(u.expose_secret()));
    s.serialize_str(shown.as_deref().unwrap_or_default())
}

impl Settings {
    /// The transport in effect (see [`MailSettings::transport`]).
    pub fn mail_transport(&self) -> MailTransportKind {
        self.mail
            .transport
            .unwrap_or(if self.mail.smtp_url.is_some() {
                MailTransportKind::Smtp
            } else if self.profile == Profile::Development {
                MailTransportKind::File
            } else {
                MailTransportKind::Off
            })
    }

    /// Whether mail can be sent.
    pub fn mail_enabled(&self) -> bool {
        self.mail_transport() != MailTransportKind::Off
    }

    /// Whether new accounts get a verification mail: `auth.verify_email`, by default whenever
    /// mail is on.
    pub fn verify_email(&self) -> bool {
        self.auth
            .verify_email
            .unwrap_or_else(|| self.mail_enabled())
    }

    /// The base of every link: `server.public_url` without a trailing slash, or (where it may
    /// be unset) `http://` and the listen address.
    pub fn public_url(&self) -> String {
        self.server.public_url.as_ref().map_or_else(
            || format!("http://{}", self.server.bind),
            |url| url.trim_end_matches('/').to_owned(),
        )
    }

    /// The rules of `mail.*`: an SMTP transport has a URL it can use, production sends no
    /// files and names its public URL, lifetimes and bounds are sane.
    pub(super) fn validate_mail(&self) -> Result<(), ConfigError> {
        let mail = &self.mail;
        let production = self.profile == Profile::Production;
        if let Some(url) = &self.server.public_url {
            check_public_url(url)?;
            if production && !url.starts_with("https://") {
                return Err(ConfigError::setting(
                    "server.public_url",
                    "must be https:// in production (its links carry credentials)",
                ));
            }
        }
        match self.mail_transport() {
            MailTransportKind::Smtp => {
                let url = mail.smtp_url.as_ref().ok_or_else(|| {
                    ConfigError::setting(
                        "mail.smtp_url",
                        "is required by mail.transport = \"smtp\"",
                    )
                })?;
                crate::mail::SmtpTarget::parse(url.expose_secret())?;
            }
            MailTransportKind::File if production => {
                return Err(ConfigError::setting(
                    "mail.transport",
                    "\"file\" is for development; production needs \"smtp\" (or \"off\")",
                ));
            }
            MailTransportKind::File | MailTransportKind::Off => {}
        }
        if production && self.mail_enabled() && self.server.public_url.is_none() {
            return Err(ConfigError::setting(
                "server.public_url",
                "is required in production when mail is on (the base of every link)",
            ));
        }
        if self.auth.require_verified_email && !self.mail_enabled() {
            return Err(ConfigError::setting(
                "auth.require_verified_email",
                "needs mail (nobody could verify an address)",
            ));
        }
        let bounded = [
            (
                "mail.verify_ttl_seconds",
                mail.verify_ttl_seconds,
                60..=2_592_000,
            ),
            (
                "mail.reset_ttl_seconds",
                mail.reset_ttl_seconds,
                60..=86_400,
            ),
            ("mail.timeout_seconds", mail.timeout_seconds, 1..=300),
            ("mail.max_attempts", mail.max_attempts, 1..=100),
        ];
        for (key, value, range) in bounded {
            if !range.contains(&value) {
                return Err(ConfigError::setting(
                    key,
                    format!("must be from {} to {}", range.start(), range.end()),
                ));
            }
        }
        if mail.from.trim().is_empty() || mail.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError::setting(
                "mail.from",
                "is not an address (`Name <user@example.com>` or `user@example.com`)",
            ));
        }
        Ok(())
    }
}

/// `server.public_url`: an absolute http(s) URL with a host, and no query or fragment.
fn check_public_url(text: &str) -> Result<(), ConfigError> {
    check_url("server.public_url", text)
}

/// The setting `key` is an absolute http(s) URL with a host, and no query, fragment or user.
pub(super) fn check_url(key: &str, text: &str) -> Result<(), ConfigError> {
    let fail = || {
        ConfigError::setting(
            key,
            "must be an http:// or https:// URL with a host and no query or fragment",
        )
    };
    let url = url::Url::parse(text).map_err(|_| fail())?;
    let usable = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if usable { Ok(()) } else { Err(fail()) }
}

#[cfg(test)]
#[path = "mail_tests.rs"]
mod tests;
