//! What the access log may show of a request target: credential-shaped query parameters are
//! redacted by their *decoded* name (percent-escapes and `+` undone, any case, `_`, `-`, `.`
//! and spaces ignored), as the server decodes names before it reads them; and any query
//! component or path segment that looks like a credential (an API key's `wdn_` prefix or a
//! JWT) is redacted whatever its name.

use std::borrow::Cow;

use warden_domain::api_key::KEY_PREFIX;

/// What replaces a credential.
const REDACTED: &str = "[redacted]";

/// A parameter whose folded name contains one of these carries a credential: `api_key`,
/// `access_token`, `refresh_token`, `id_token`, `mfa_token`, `token`, `password`,
/// `new_password`, `current_password`, `client_secret`, `authorization`, `signature`…
const SECRET_NAME_PARTS: &[&str] = &[
    "key",
    "token",
    "secret",
    "pass",
    "pwd",
    "auth",
    "cred",
    "sig",
    "session",
    "assertion",
];
/// A parameter whose folded name ends with one of these also does: `code`, `recovery_code`,
/// `otp`, `totp`, `nonce`.
const SECRET_NAME_ENDINGS: &[&str] = &["code", "otp", "nonce"];

/// The query string as the access log shows it: parameters separated by `&` or `;`, each
/// credential's value replaced. Borrowed when nothing needed replacing.
pub fn redact_query(query: &str) -> Cow<'_, str> {
    if !query.split(['&', ';']).any(pair_is_secret) {
        return Cow::Borrowed(query);
    }
    let mut out = String::with_capacity(query.len());
    let mut rest = query;
    loop {
        let end = rest.find(['&', ';']).unwrap_or(rest.len());
        let pair = &rest[..end];
        if pair_is_secret(pair) {
            match pair.split_once('=') {
                Some((name, _)) if !looks_like_credential(name) => {
                    out.push_str(name);
                    out.push('=');
                    out.push_str(REDACTED);
                }
                _ => out.push_str(REDACTED),
            }
        } else {
            out.push_str(pair);
        }
        if end == rest.len() {
            return Cow::Owned(out);
        }
        out.push_str(&rest[end..=end]);
        rest = &rest[end + 1..];
    }
}

/// The path as the access log shows it: a segment that looks like a credential is replaced.
/// Warden's own routes carry only UUIDs, so this matters only for a client that put a key or
/// a token where it does not belong. Borrowed when nothing needed replacing.
pub fn redact_path(path: &str) -> Cow<'_, str> {
    if !path.split('/').any(looks_like_credential) {
        return Cow::Borrowed(path);
    }
    Cow::Owned(
        path.split('/')
            .map(|segment| {
                if looks_like_credential(segment) {
                    REDACTED
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/"),
    )
}

/// Whether a `name=value` pair (or a bare component) holds a credential, by its name or by
/// the shape of either half.
fn pair_is_secret(pair: &str) -> bool {
    match pair.split_once('=') {
        Some((name, value)) => {
            is_secret_name(name) || looks_like_credential(name) || looks_like_credential(value)
        }
        None => looks_like_credential(pair),
    }
}

/// Whether a parameter name, decoded, lower-cased and without separators, names a credential.
fn is_secret_name(name: &str) -> bool {
    let decoded = if name.contains(['%', '+']) {
        Cow::Owned(decoded(name))
    } else {
        Cow::Borrowed(name)
    };
    let folded: String = decoded
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_NAME_PARTS.iter().any(|part| folded.contains(part))
        || SECRET_NAME_ENDINGS.iter().any(|end| folded.ends_with(end))
}

/// Whether a text, decoded, has the shape of an API key (`wdn_…`, any case) or of a JWT
/// (`eyJ…` with a dot).
fn looks_like_credential(text: &str) -> bool {
    if text.len() < 4 {
        return false;
    }
    // Most paths and queries have nothing to decode: look at them in place.
    if text.contains(['%', '+']) {
        has_credential_shape(decoded(text).trim())
    } else {
        has_credential_shape(text)
    }
}

fn has_credential_shape(text: &str) -> bool {
    text.get(..KEY_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(KEY_PREFIX))
        || (text.starts_with("eyJ") && text.contains('.'))
}

/// A query component as the server reads it: percent-escapes and `+` undone (a malformed
/// escape is kept as it is), invalid UTF-8 replaced.
fn decoded(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
