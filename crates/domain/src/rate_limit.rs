//! The rate-limit port: a budget of requests per client address and route group, spent one
//! request at a time. The edge asks it before any work; the adapters keep the counts (in
//! memory, or shared through Redis).

use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;

/// The route groups of `rate_limit.*`, each with its own budget per client IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteGroup {
    /// `POST /auth/token`.
    Login,
    /// `POST /auth/register`.
    Register,
    /// The requests that send mail to an address.
    Mail,
    /// Every other limited request.
    Default,
}

impl RouteGroup {
    /// The group's name in configuration keys and storage keys.
    pub fn name(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Register => "register",
            Self::Mail => "mail",
            Self::Default => "default",
        }
    }
}

/// The outcome of one check, with what the `RateLimit-*` and `Retry-After` headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may go on.
    pub allowed: bool,
    /// The budget: requests per period.
    pub limit: u32,
    /// Requests left in the budget after this one.
    pub remaining: u32,
    /// Time until the budget is whole again.
    pub reset: Duration,
    /// When refused: the time until one more request is allowed (zero when allowed).
    pub retry_after: Duration,
}

/// Budgets per client address and route group.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Spends one request of `client`'s budget in `group`. Never fails: a store that does not
    /// answer is the implementation's to work around, not the request's.
    async fn check(&self, group: RouteGroup, client: IpAddr) -> Decision;

    /// Drops what is kept of clients whose budget is whole again, so that the state cannot
    /// grow without bound. Called periodically.
    fn forget_idle_clients(&self);

    /// `None` when the budgets are kept by this instance alone; otherwise whether the shared
    /// store answers now.
    async fn shared_store_ready(&self) -> Option<bool>;
}

impl std::fmt::Debug for dyn RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RateLimiter")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_group_has_its_configuration_name() {
        assert_eq!(RouteGroup::Login.name(), "login");
        assert_eq!(RouteGroup::Register.name(), "register");
        assert_eq!(RouteGroup::Mail.name(), "mail");
        assert_eq!(RouteGroup::Default.name(), "default");
    }
}
