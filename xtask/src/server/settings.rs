//! The environment a task's server starts with: nothing of the caller's own `WARDEN_*`
//! configuration, its address, database file and a random JWT secret, then the task's own
//! settings, of which [`UNLIMITED`] and [`CHEAP_HASHING`] are the common ones.

use std::env;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::Result;

/// Rate limits and lockout bounds no task's load reaches: tasks measure or probe the work, not
/// refusals.
pub(crate) const UNLIMITED: [(&str, &str); 6] = [
    ("WARDEN_RATE_LIMIT__LOGIN", "1000000000/second"),
    ("WARDEN_RATE_LIMIT__REGISTER", "1000000000/second"),
    ("WARDEN_RATE_LIMIT__MAIL", "1000000000/second"),
    ("WARDEN_RATE_LIMIT__DEFAULT", "1000000000/second"),
    // Every attempt is still counted in storage before it is verified (the cost stays in the
    // figures); only the bound on attempts at once, which many clients logging in as one
    // account from one address would meet, is out of reach.
    ("WARDEN_LOCKOUT__MAX_FAILURES", "1000000000"),
    ("WARDEN_LOCKOUT__ACCOUNT_MAX_FAILURES", "1000000000"),
];
/// The lowest argon2id cost, for tasks whose logins are a means, not the subject.
pub(crate) const CHEAP_HASHING: [(&str, &str); 2] = [
    ("WARDEN_ARGON2__MEMORY_KIB", "1024"),
    ("WARDEN_ARGON2__ITERATIONS", "1"),
];

/// Sets the environment of the server `command` that will listen on `addr` and keep its
/// database in `dir`; `vars` (`WARDEN_*` settings) come last and win.
pub(super) fn apply(
    command: &mut Command,
    addr: SocketAddr,
    dir: &Path,
    vars: &[(&str, &str)],
) -> Result {
    // The caller's own configuration must not leak into a run that should be reproducible.
    for (key, _) in env::vars_os() {
        if key.to_str().is_some_and(|key| key.starts_with("WARDEN_")) {
            command.env_remove(&key);
        }
    }
    command
        .env("WARDEN_SERVER__BIND", addr.to_string())
        .env(
            "WARDEN_DATABASE__URL",
            format!("sqlite://{}?mode=rwc", dir.join("warden.db").display()),
        )
        .env("WARDEN_JWT__SECRET", random_secret()?)
        .env("WARDEN_DOCS__ENABLED", "true")
        .env("RUST_LOG", "warn")
        .envs(vars.iter().copied());
    Ok(())
}

/// A new HS256 secret: 384 random bits from the OS, URL-safe base64 (64 characters).
fn random_secret() -> Result<String> {
    let mut bytes = [0_u8; 48];
    getrandom::fill(&mut bytes).map_err(|e| format!("no random bytes for the JWT secret: {e}"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_long_random_and_url_safe() {
        let secret = random_secret().unwrap();
        assert_eq!(secret.len(), 64);
        assert!(
            secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(secret, random_secret().unwrap());
    }
}
