//! The templates of messages (minijinja): built-in defaults, each of which
//! a file of the same name in `mail.templates_dir` replaces. Names ending in `.html` are
//! autoescaped; a message's subject is its `.subject` template on one line.

use std::path::Path;

use minijinja::{Environment, Value, context};
use warden_domain::Error;
use warden_domain::mail::{Mail, Message};
use warden_domain::ports::MailComposer;

use crate::settings::ConfigError;

/// Every template, by name, with its built-in text.
const BUILT_IN: [(&str, &str); 16] = [
    (
        "mail_layout.html",
        include_str!("templates/mail_layout.html"),
    ),
    (
        "verify_email.subject",
        include_str!("templates/verify_email.subject"),
    ),
    (
        "verify_email.txt",
        include_str!("templates/verify_email.txt"),
    ),
    (
        "verify_email.html",
        include_str!("templates/verify_email.html"),
    ),
    (
        "password_reset.subject",
        include_str!("templates/password_reset.subject"),
    ),
    (
        "password_reset.txt",
        include_str!("templates/password_reset.txt"),
    ),
    (
        "password_reset.html",
        include_str!("templates/password_reset.html"),
    ),
    (
        "email_change.subject",
        include_str!("templates/email_change.subject"),
    ),
    (
        "email_change.txt",
        include_str!("templates/email_change.txt"),
    ),
    (
        "email_change.html",
        include_str!("templates/email_change.html"),
    ),
    (
        "email_change_notice.subject",
        include_str!("templates/email_change_notice.subject"),
    ),
    (
        "email_change_notice.txt",
        include_str!("templates/email_change_notice.txt"),
    ),
    (
        "email_change_notice.html",
        include_str!("templates/email_change_notice.html"),
    ),
    ("test.subject", include_str!("templates/test.subject")),
    ("test.txt", include_str!("templates/test.txt")),
    ("test.html", include_str!("templates/test.html")),
];

/// The loaded templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// The built-in templates, each replaced by the file of its name in `dir` when there is one.
    ///
    /// # Errors
    /// A file that cannot be read, or a template that does not parse, naming the template.
    pub fn load(dir: Option<&Path>) -> Result<Self, ConfigError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, text) in BUILT_IN {
            let text = match dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
                Some(path) => std::fs::read_to_string(&path).map_err(|e| {
                    ConfigError::setting("mail.templates_dir", format!("{name}: {e}"))
                })?,
                None => text.to_owned(),
            };
            env.add_template_owned(name, text).map_err(|e| {
                ConfigError::setting("mail.templates_dir", format!("{name}: {}", e.kind()))
            })?;
        }
        let templates = Self { env };
        templates.check()?;
        Ok(templates)
    }

    /// Renders every message template once with sample values, so that a template that
    /// cannot render fails the start rather than a request.
    fn check(&self) -> Result<(), ConfigError> {
        for kind in warden_domain::mail::MailKind::ALL {
            let sample = Mail {
                kind,
                to: "someone@example.com".into(),
                name: "Someone".into(),
                link: Some("https://example.com/account/verify?token=sample".into()),
                valid_minutes: 60,
            };
            self.compose(&sample).map_err(|e| {
                ConfigError::setting(
                    "mail.templates_dir",
                    format!("{}: {}", kind.as_str(), e.with_causes()),
                )
            })?;
        }
        Ok(())
    }

    /// Renders the template `name` with `values`.
    ///
    /// # Errors
    /// [`Error::Internal`] when it fails to render.
    pub fn render(&self, name: &str, values: Value) -> Result<String, Error> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(values))
            .map_err(|e| Error::internal(format!("template {name}: {}", e.kind())))
    }
}

/// A link as a template value: as it is when it holds nothing HTML would read as markup (ours
/// are a validated URL and URL-safe base64, so that an HTML part shows them exactly as the
/// text part does), escaped like any value otherwise.
fn link_value(link: &str) -> Value {
    if link.contains(['<', '>', '"', '\'', '&']) {
        Value::from(link)
    } else {
        Value::from_safe_string(link.to_owned())
    }
}

impl MailComposer for Templates {
    fn compose(&self, mail: &Mail) -> Result<Message, Error> {
        let kind = mail.kind.as_str();
        let values = context! {
            name => mail.name.as_str(),
            to => mail.to.as_str(),
            link => mail.link.as_deref().map(link_value),
            valid_minutes => mail.valid_minutes,
        };
        let subject = self.render(&format!("{kind}.subject"), values.clone())?;
        // One line: a template's line breaks would start the message's body early.
        let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
        Ok(Message {
            to: mail.to.clone(),
            subject,
            text: self.render(&format!("{kind}.txt"), values.clone())?,
            html: self.render(&format!("{kind}.html"), values)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use warden_domain::mail::MailKind;

    use super::*;

    fn mail(kind: MailKind, name: &str) -> Mail {
        Mail {
            kind,
            to: "a@example.com".into(),
            name: name.into(),
            link: Some("https://auth.example.com/account/reset?token=abc_-123".into()),
            valid_minutes: 30,
        }
    }

    #[test]
    fn every_kind_has_a_subject_a_text_and_an_escaped_html_part() {
        let t = Templates::load(None).unwrap();
        for kind in MailKind::ALL {
            let m = t.compose(&mail(kind, "<b>Bo & Co</b>")).unwrap();
            assert!(
                !m.subject.is_empty() && !m.subject.contains('\n'),
                "{kind:?}"
            );
            assert!(
                m.text.contains("<b>Bo & Co</b>"),
                "{kind:?}: text is not escaped"
            );
            assert!(m.html.contains("&lt;b&gt;Bo &amp; Co&lt;"), "{kind:?}");
            assert!(!m.html.contains("<b>Bo"), "{kind:?}");
        }
        let reset = t.compose(&mail(MailKind::PasswordReset, "Bo")).unwrap();
        assert_eq!(reset.subject, "Reset your password");
        assert!(
            reset
                .text
                .contains("https://auth.example.com/account/reset?token=abc_-123")
        );
        assert!(reset.text.contains("30 minutes"));
        assert!(
            reset
                .html
                .contains("href=\"https://auth.example.com/account/reset?token=abc_-123\"")
        );
        let mut odd = mail(MailKind::PasswordReset, "Bo");
        odd.link = Some("https://x/\"><script>".into());
        let odd = t.compose(&odd).unwrap();
        assert!(!odd.html.contains("<script>") && odd.html.contains("&lt;script&gt;"));
        let notice = t.compose(&mail(MailKind::EmailChangeNotice, "Bo")).unwrap();
        assert!(!notice.text.contains("token="), "a notice carries no link");
    }

    #[test]
    fn a_file_replaces_its_template_and_a_broken_one_stops_the_start() {
        let dir = std::env::temp_dir().join(format!("warden-templates-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("password_reset.subject"), "Your {{ name }}\nlink").unwrap();
        let t = Templates::load(Some(&dir)).unwrap();
        let m = t.compose(&mail(MailKind::PasswordReset, "Bo")).unwrap();
        assert_eq!(m.subject, "Your Bo link");
        std::fs::write(dir.join("test.txt"), "{{ unclosed").unwrap();
        let e = Templates::load(Some(&dir)).unwrap_err().to_string();
        assert!(e.starts_with("mail.templates_dir: test.txt"), "{e}");
        std::fs::write(dir.join("test.txt"), "{{ no_such_value }}").unwrap();
        let e = Templates::load(Some(&dir)).unwrap_err().to_string();
        assert!(e.starts_with("mail.templates_dir: test"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
