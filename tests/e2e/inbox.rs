//! The messages an app's file transport wrote, read back: who they went to, their subject,
//! and the link in their text (quoted-printable decoded).

use std::time::Duration;

use crate::helpers::TestApp;

/// One delivered message.
#[derive(Debug, Clone)]
pub(crate) struct Delivered {
    /// The raw message.
    pub raw: String,
    /// Its body, quoted-printable undone.
    pub decoded: String,
}

impl Delivered {
    /// Whether it went to `to`.
    pub(crate) fn is_to(&self, to: &str) -> bool {
        self.raw
            .lines()
            .any(|l| l.to_ascii_lowercase().starts_with("to:") && l.contains(to))
    }

    /// The value of its `Subject:` header.
    pub(crate) fn subject(&self) -> String {
        self.raw
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_default()
            .to_owned()
    }

    /// The token of the first link to `/account/<page>` it carries.
    pub(crate) fn token(&self, page: &str) -> Option<String> {
        let marker = format!("/account/{page}?token=");
        let at = self.decoded.find(&marker)? + marker.len();
        let token: String = self.decoded[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        Some(token)
    }
}

/// Undoes quoted-printable: soft line breaks and `=XX` escapes.
fn unquote(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| {
            std::str::from_utf8(h)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        });
        match (bytes[i], hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every message delivered so far.
pub(crate) fn delivered(app: &TestApp) -> Vec<Delivered> {
    let Ok(entries) = std::fs::read_dir(app.mail_dir()) else {
        return Vec::new();
    };
    // Named by random ids: in the order they were written.
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|(_, p)| std::fs::read_to_string(p).ok())
        .map(|raw| Delivered {
            decoded: unquote(&raw),
            raw,
        })
        .collect()
}

/// The messages to `to`, once there are at least `count` of them (the worker looks at the
/// outbox every second); fails after 15 s.
pub(crate) async fn wait_for(app: &TestApp, to: &str, count: usize) -> Vec<Delivered> {
    for _ in 0..150 {
        let mine: Vec<_> = delivered(app).into_iter().filter(|m| m.is_to(to)).collect();
        if mine.len() >= count {
            return mine;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {count} messages to {to} within 15 s");
}

/// The token of the newest link to `/account/<page>` that went to `to`, waiting for the
/// `count`-th message.
pub(crate) async fn link_token(app: &TestApp, to: &str, page: &str, count: usize) -> String {
    let mine = wait_for(app, to, count).await;
    mine.iter()
        .rev()
        .find_map(|m| m.token(page))
        .unwrap_or_else(|| panic!("no /account/{page} link to {to}"))
}
