//! Where a request came from, as a session remembers it: the client's IP, its user agent, and
//! the registered OAuth client it authenticated as.

use std::net::IpAddr;

/// The longest user agent kept, in characters; the rest is cut.
pub const USER_AGENT_MAX_CHARS: usize = 256;

/// The client behind a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The client's IP (the peer, or the right-most untrusted proxy hop).
    pub ip: IpAddr,
    /// Its `User-Agent`, cut to [`USER_AGENT_MAX_CHARS`] with control characters dropped;
    /// `None` when absent or empty.
    pub user_agent: Option<String>,
    /// The registered OAuth client the request authenticated as (its `client_id`); `None` for
    /// the built-in client. A session started for a client is refreshed by it alone.
    pub client: Option<String>,
}

impl Origin {
    /// The same origin, for the registered client `client` (`None`: the built-in client).
    #[must_use]
    pub fn for_client(mut self, client: Option<String>) -> Self {
        self.client = client;
        self
    }

    /// A client at `ip` with the `User-Agent` it sent, if any, made safe to keep and show.
    pub fn new(ip: IpAddr, user_agent: Option<&str>) -> Self {
        let user_agent = user_agent
            .map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(USER_AGENT_MAX_CHARS)
                    .collect::<String>()
                    .trim()
                    .to_owned()
            })
            .filter(|ua| !ua.is_empty());
        Self {
            ip,
            user_agent,
            client: None,
        }
    }
}

impl From<IpAddr> for Origin {
    /// A client known only by its IP.
    fn from(ip: IpAddr) -> Self {
        Self {
            ip,
            user_agent: None,
            client: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ua(raw: &str) -> Option<String> {
        Origin::new(IpAddr::from([127, 0, 0, 1]), Some(raw)).user_agent
    }

    #[test]
    fn a_user_agent_is_kept_without_control_characters_and_cut_at_its_limit() {
        assert_eq!(ua("curl/8.5.0").as_deref(), Some("curl/8.5.0"));
        assert_eq!(ua("a\u{0}b\r\nc\u{1b}[31m").as_deref(), Some("abc[31m"));
        assert_eq!(ua("  \t "), None);
        assert_eq!(ua(""), None);
        let at_limit = "é".repeat(USER_AGENT_MAX_CHARS);
        assert_eq!(ua(&at_limit).as_deref(), Some(at_limit.as_str()));
        let over = format!("{at_limit}x");
        assert_eq!(ua(&over).as_deref(), Some(at_limit.as_str()));
        assert_eq!(
            Origin::from(IpAddr::from([10, 0, 0, 1])),
            Origin::new(IpAddr::from([10, 0, 0, 1]), None)
        );
    }
}
