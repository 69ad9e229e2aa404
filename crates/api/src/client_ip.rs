//! The client's IP: the peer, or, only when the peer is a trusted proxy, the right-most
//! `X-Forwarded-For` entry that is not itself a trusted proxy. Never poem's `RealIp`, which
//! believes whatever the client sends.

use std::net::IpAddr;

use ipnet::IpNet;

/// The client IP of a request, put in its extensions by the edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Works out the client IP from the peer and the `X-Forwarded-For` values, in order.
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded_for: impl Iterator<Item = &'a str>,
    trusted: &[IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // An entry that is not an address cannot be believed, nor anything left of it.
        let Ok(ip) = hop.parse::<IpAddr>() else {
            return client;
        };
        client = ip;
        if !is_trusted(&ip) {
            return ip;
        }
    }
    // Every hop is a trusted proxy: the left-most one is the best there is.
    client
}

/// Where a request came from: its client IP (as the edge worked it out; `0.0.0.0` if the edge
/// did not run) and its `User-Agent`.
pub fn origin(req: &poem::Request) -> warden_domain::origin::Origin {
    let ip = req
        .extensions()
        .get::<ClientIp>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0);
    let user_agent = req
        .headers()
        .get(poem::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    warden_domain::origin::Origin::new(ip, user_agent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let got = client_ip(
            ip("198.51.100.7"),
            ["1.2.3.4"].into_iter(),
            &nets(&["10.0.0.0/8"]),
        );
        assert_eq!(got, ip("198.51.100.7"));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        // The client forged the first entry; the proxy appended the real address.
        let got = client_ip(
            ip("10.0.0.2"),
            ["6.6.6.6, 203.0.113.9, 10.0.0.1"].into_iter(),
            &trusted,
        );
        assert_eq!(got, ip("203.0.113.9"));
        // Several headers are read as one list, in order.
        let got = client_ip(
            ip("10.0.0.2"),
            ["6.6.6.6", "203.0.113.9"].into_iter(),
            &trusted,
        );
        assert_eq!(got, ip("203.0.113.9"));
    }

    #[test]
    fn all_trusted_gives_the_left_most_and_none_gives_the_peer() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), ["10.1.1.1, 10.0.0.1"].into_iter(), &trusted),
            ip("10.1.1.1")
        );
        assert_eq!(
            client_ip(ip("10.0.0.2"), std::iter::empty(), &trusted),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn garbage_stops_the_walk_at_the_last_believable_hop() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), ["evil, 10.0.0.1"].into_iter(), &trusted),
            ip("10.0.0.1")
        );
    }
}
