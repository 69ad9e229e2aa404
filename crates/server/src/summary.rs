//! What the start-up line tells an operator: where the server answers, in which profile, on
//! which database (its kind and location, never its credentials), where the docs are, and
//! whether the rate limits are shared.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use warden_adapters::settings::redact_url;
use warden_adapters::{Profile, Settings};

/// The facts of one start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The base URL to call, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    /// `development` or `production`.
    pub profile: &'static str,
    /// `sqlite ./warden.db` or `postgres postgres://warden:[redacted]@db/warden`.
    pub database: String,
    /// The Swagger UI's URL, when the docs are served.
    pub docs: Option<String>,
    /// `shared (redis)` or `this instance`.
    pub rate_limits: &'static str,
}

impl Summary {
    /// The summary of these settings, listening on `port`.
    pub fn of(settings: &Settings, port: u16) -> Self {
        let url = format!(
            "http://{}",
            SocketAddr::new(reachable(settings.server.bind.ip()), port)
        );
        let db = &settings.database.url;
        let database = match db.strip_prefix("sqlite:") {
            Some(rest) => {
                let path = rest.trim_start_matches("//");
                let path = path.split('?').next().unwrap_or(path);
                format!("sqlite {}", if path.is_empty() { ":memory:" } else { path })
            }
            None => format!("postgres {}", redact_url(db)),
        };
        Self {
            docs: settings.docs_enabled().then(|| format!("{url}/docs")),
            url,
            profile: match settings.profile {
                Profile::Development => "development",
                Profile::Production => "production",
            },
            database,
            rate_limits: if settings.redis.url.is_some() {
                "shared (redis)"
            } else {
                "this instance"
            },
        }
    }
}

/// An address a client can call: a wildcard bind is reached on loopback.
fn reachable(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_say_where_what_and_how() {
        let summary = Summary::of(&Settings::default(), 8080);
        assert_eq!(
            summary,
            Summary {
                url: "http://127.0.0.1:8080".into(),
                profile: "development",
                database: format!(
                    "sqlite {}",
                    Settings::default()
                        .database
                        .url
                        .trim_start_matches("sqlite:")
                        .trim_start_matches("//")
                        .split('?')
                        .next()
                        .unwrap()
                ),
                docs: Some("http://127.0.0.1:8080/docs".into()),
                rate_limits: "this instance",
            }
        );
    }

    #[test]
    fn a_database_password_is_never_shown_and_a_wildcard_bind_is_called_on_loopback() {
        let mut settings = Settings {
            profile: Profile::Production,
            ..Settings::default()
        };
        settings.server.bind = "0.0.0.0:9000".parse().unwrap();
        settings.database.url = "postgres://warden:Pw7-secret@db.internal:5432/warden".into();
        settings.redis.url = Some("redis://:Pw7-redis@cache:6379".into());
        let summary = Summary::of(&settings, 9000);
        assert_eq!(summary.url, "http://127.0.0.1:9000");
        assert_eq!(summary.profile, "production");
        assert!(summary.database.starts_with("postgres postgres://warden:"));
        assert!(summary.database.contains("db.internal:5432/warden"));
        assert!(!format!("{summary:?}").contains("Pw7"), "{summary:?}");
        assert_eq!(summary.docs, None);
        assert_eq!(summary.rate_limits, "shared (redis)");
        settings.server.bind = "[::]:9000".parse().unwrap();
        assert_eq!(Summary::of(&settings, 9000).url, "http://[::1]:9000");
    }
}
