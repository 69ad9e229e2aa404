//! Connection URLs made safe to print: the password of `user:pass@`, however it is spelt, and
//! every credential-shaped query parameter are replaced, and a driver's message that may quote
//! the URL is scrubbed of what the URL holds secret.

/// What replaces a secret.
const REDACTED: &str = "[redacted]";

/// Query parameter names (decoded, lower-cased) that hold a credential when they contain one
/// of these: `password`, `pass`, `sslpassword`, `pwd`, `auth`, `token`, `secret`, `sslkey`…
const SECRET_NAME_PARTS: &[&str] = &["pass", "pwd", "secret", "token", "key", "auth", "cred"];

/// Shows a URL with its password and credential parameters replaced, so it can be printed.
///
/// The user information runs to the last `@`, because a password may hold a raw `@`, `:` or
/// `/`: when an `@` sits in the path or query instead, more is hidden than needed, never less.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let (userinfo, after) = match rest.rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let mut out = String::with_capacity(url.len());
    if let Some(scheme) = scheme {
        out.push_str(scheme);
        out.push_str("://");
    }
    if let Some(userinfo) = userinfo {
        match userinfo.split_once(':') {
            Some((user, _)) => {
                out.push_str(user);
                out.push(':');
                out.push_str(REDACTED);
            }
            // No colon: a user name alone, which is not a secret.
            None => out.push_str(userinfo),
        }
        out.push('@');
    }
    match after.split_once('?') {
        Some((base, query)) => {
            out.push_str(base);
            out.push('?');
            out.push_str(&redact_query(query));
        }
        None => out.push_str(after),
    }
    out
}

/// The query with the value of every credential-shaped parameter replaced; `&` and `;` both
/// separate parameters.
fn redact_query(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    let mut rest = query;
    loop {
        let end = rest.find(['&', ';']).unwrap_or(rest.len());
        let pair = &rest[..end];
        match pair.split_once('=') {
            Some((name, _)) if is_secret_name(name) => {
                out.push_str(name);
                out.push('=');
                out.push_str(REDACTED);
            }
            _ => out.push_str(pair),
        }
        if end == rest.len() {
            return out;
        }
        out.push_str(&rest[end..=end]);
        rest = &rest[end + 1..];
    }
}

/// Whether a query parameter name, decoded and in any case, names a credential.
fn is_secret_name(name: &str) -> bool {
    let decoded = percent_decode(name).to_lowercase();
    SECRET_NAME_PARTS.iter().any(|part| decoded.contains(part))
}

/// Percent-decoding with `+` as a space; a malformed escape is kept as it is.
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The texts in a URL that must never be printed: the password as written and decoded, the
/// values of credential parameters as written and decoded, and the whole URL. Longest first,
/// so that a scrub replaces the longest spelling before its parts.
fn secrets_of(url: &str) -> Vec<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let mut secrets = vec![url.to_owned()];
    if let Some(at) = rest.rfind('@')
        && let Some((_, password)) = rest[..at].split_once(':')
    {
        secrets.push(password.to_owned());
        secrets.push(percent_decode(password));
    }
    if let Some((_, query)) = rest[rest.rfind('@').map_or(0, |at| at + 1)..].split_once('?') {
        for pair in query.split(['&', ';']) {
            if let Some((name, value)) = pair.split_once('=')
                && is_secret_name(name)
            {
                secrets.push(value.to_owned());
                secrets.push(percent_decode(value));
            }
        }
    }
    secrets.retain(|s| !s.is_empty());
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    secrets
}

/// A driver's message with everything secret in `url` replaced: drivers may quote the URL or
/// a part of it when they refuse it.
pub fn scrub(message: &str, url: &str) -> String {
    let mut out = message.to_owned();
    for secret in secrets_of(url) {
        if secret == url {
            out = out.replace(&secret, &redact_url(url));
        } else {
            out = out.replace(&secret, REDACTED);
        }
    }
    out
}

/// An error of a driver that was handed a URL, kept whole for code (`get_ref`, or
/// `downcast_ref::<Redacted<E>>()` on a source chain) but shown only as its first line scrubbed
/// of the URL's secrets. Its own causes are not offered as `source()`: the driver's inner
/// errors may quote the URL too, and a log that walks the chain must not print them.
pub struct Redacted<E> {
    shown: String,
    error: E,
}

impl<E: std::fmt::Display> Redacted<E> {
    /// `error`, to be shown scrubbed of what `url` holds secret.
    pub fn new(error: E, url: &str) -> Self {
        let text = error.to_string();
        let first = text.lines().next().unwrap_or_default();
        Self {
            shown: scrub(first, url),
            error,
        }
    }
}

impl<E> Redacted<E> {
    /// The driver's error itself; its text may hold a secret.
    pub fn get_ref(&self) -> &E {
        &self.error
    }

    /// The driver's error itself; its text may hold a secret.
    pub fn into_inner(self) -> E {
        self.error
    }
}

impl<E> std::fmt::Display for Redacted<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl<E> std::fmt::Debug for Redacted<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Debug output of a driver error may quote the URL as well.
        f.debug_tuple("Redacted").field(&self.shown).finish()
    }
}

impl<E> std::error::Error for Redacted<E> {}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
