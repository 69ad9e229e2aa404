//! Every key of the configuration's schema, dotted (`server.bind`), optional ones included: what
//! `warden config example` and `docs/API.md` must each name, checked by their tests.

use secrecy::SecretString;

use super::Settings;

impl Settings {
    /// Every dotted key of the schema, in the order the schema serialises them.
    pub fn schema_keys() -> Vec<String> {
        // Every optional setting given a value, so that the serialised schema shows all its keys.
        let mut full = Self::default();
        full.redis.url = Some("redis://127.0.0.1:6379".into());
        full.jwt.secret = Some(SecretString::from("x".repeat(40)));
        full.jwt.private_key_file = Some("/k.pem".into());
        full.docs.enabled = Some(true);
        full.mfa.enabled = Some(true);
        full.mfa.encryption_key = Some(SecretString::from("x".repeat(44)));
        full.mfa.previous_encryption_keys = vec![SecretString::from("x".repeat(44))];
        full.metrics.bind = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 9090)));
        let mut keys = Vec::new();
        if let Ok(text) = full.to_redacted_toml()
            && let Ok(value) = toml::from_str::<toml::Value>(&text)
        {
            dotted_keys(&value, "", &mut keys);
        }
        keys
    }
}

/// Appends every leaf key of `value` under `prefix`.
fn dotted_keys(value: &toml::Value, prefix: &str, out: &mut Vec<String>) {
    if let toml::Value::Table(table) = value {
        for (key, inner) in table {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            if inner.is_table() {
                dotted_keys(inner, &path, out);
            } else {
                out.push(path);
            }
        }
    }
}

#[cfg(test)]
#[path = "example_tests.rs"]
mod example_tests;
