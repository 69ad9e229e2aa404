//! Rate limits at the edge: which group a request spends from, the `RateLimit-*` headers of a
//! limited route, and the 429 problem with `Retry-After`.

use std::time::Duration;

use poem::Response;
use poem::http::header::{self, HeaderName, HeaderValue};
use poem::http::{HeaderMap, Method};
use warden_domain::rate_limit::{Decision, RouteGroup};

use crate::middleware::problem_response;
use crate::problem::Problem;

const LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// The budget a request spends from, or `None` for the health probes, which are never limited
/// (CORS preflights never get this far).
pub fn route_group(method: &Method, path: &str) -> Option<RouteGroup> {
    if path.starts_with("/health/") {
        return None;
    }
    Some(match (method, path) {
        (&Method::POST, "/auth/token") => RouteGroup::Login,
        (&Method::POST, "/auth/register") => RouteGroup::Register,
        (&Method::POST, "/auth/password/forgot" | "/auth/email/verify/resend")
        | (&Method::PUT, "/users/me/email") => RouteGroup::Mail,
        _ => RouteGroup::Default,
    })
}

/// The 429 for a refused request.
pub fn too_many_requests(decision: &Decision) -> Response {
    let wait = retry_after_secs(decision);
    let mut resp = problem_response(&Problem::new(
        429,
        format!("Too many requests from this address; retry in {wait} s"),
    ));
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    resp
}

/// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`, all integers.
pub fn set_headers(headers: &mut HeaderMap, decision: &Decision) {
    headers.insert(LIMIT, HeaderValue::from(decision.limit));
    headers.insert(REMAINING, HeaderValue::from(decision.remaining));
    headers.insert(RESET, HeaderValue::from(whole_seconds(decision.reset)));
}

/// `Retry-After` in whole seconds, rounded up and at least 1.
fn retry_after_secs(decision: &Decision) -> u64 {
    whole_seconds(decision.retry_after).max(1)
}

/// Seconds rounded up, so that a client that waits this long is never early.
fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_follow_the_method_and_the_exact_path() {
        assert_eq!(
            route_group(&Method::POST, "/auth/token"),
            Some(RouteGroup::Login)
        );
        assert_eq!(
            route_group(&Method::GET, "/auth/token"),
            Some(RouteGroup::Default)
        );
        assert_eq!(
            route_group(&Method::POST, "/auth/register"),
            Some(RouteGroup::Register)
        );
        assert_eq!(
            route_group(&Method::POST, "/auth/token/"),
            Some(RouteGroup::Default)
        );
        for (method, path) in [
            (Method::POST, "/auth/password/forgot"),
            (Method::POST, "/auth/email/verify/resend"),
            (Method::PUT, "/users/me/email"),
        ] {
            assert_eq!(route_group(&method, path), Some(RouteGroup::Mail), "{path}");
        }
        assert_eq!(
            route_group(&Method::GET, "/users/me/email"),
            Some(RouteGroup::Default)
        );
        assert_eq!(route_group(&Method::GET, "/health/live"), None);
        assert_eq!(route_group(&Method::GET, "/health/ready"), None);
        assert_eq!(
            route_group(&Method::GET, "/no/such/path"),
            Some(RouteGroup::Default)
        );
    }

    #[test]
    fn seconds_round_up_and_retry_after_is_at_least_one() {
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::from_secs(6)), 6);
        assert_eq!(whole_seconds(Duration::from_millis(6001)), 7);
        let refused = Decision {
            allowed: false,
            limit: 10,
            remaining: 0,
            reset: Duration::from_mins(1),
            retry_after: Duration::ZERO,
        };
        assert_eq!(retry_after_secs(&refused), 1);
    }
}
